// ApiError: an error the client sees, rendered as OpenAI's error object:
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
// Thread-safety: plain value.
#pragma once

#include <string>

namespace aigw {

struct ApiError {
  int status = 500;
  std::string message;
  std::string type = "api_error";  // invalid_request_error, authentication_error, ...
  std::string param;               // dotted field path, empty when none
  std::string code;                // machine-readable code, empty when none
  int retry_after_seconds = -1;    // >= 0 adds a Retry-After header

  std::string toJson() const;

  static ApiError badRequest(std::string message, std::string param = {});
  static ApiError notFound(std::string message);
  static ApiError payloadTooLarge(std::string message);
  static ApiError badGateway(std::string message);
  static ApiError gatewayTimeout(std::string message);
  static ApiError internal(std::string message);
};

}  // namespace aigw
