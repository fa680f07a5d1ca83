#include "core/api_error.hpp"

#include <nlohmann/json.hpp>

namespace aigw {

std::string ApiError::toJson() const {
  nlohmann::json err = {{"message", message}, {"type", type}};
  err["param"] = param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param);
  err["code"] = code.empty() ? nlohmann::json(nullptr) : nlohmann::json(code);
  return nlohmann::json{{"error", std::move(err)}}.dump(-1, ' ', false,
                                                        nlohmann::json::error_handler_t::replace);
}

ApiError ApiError::badRequest(std::string message, std::string param) {
  return {400, std::move(message), "invalid_request_error", std::move(param), {}, -1};
}
ApiError ApiError::notFound(std::string message) {
  return {404, std::move(message), "invalid_request_error", {}, "not_found", -1};
}
ApiError ApiError::payloadTooLarge(std::string message) {
  return {413, std::move(message), "invalid_request_error", {}, "request_too_large", -1};
}
ApiError ApiError::badGateway(std::string message) {
  return {502, std::move(message), "upstream_error", {}, "bad_gateway", -1};
}
ApiError ApiError::gatewayTimeout(std::string message) {
  return {504, std::move(message), "upstream_error", {}, "upstream_timeout", -1};
}
ApiError ApiError::internal(std::string message) {
  return {500, std::move(message), "api_error", {}, {}, -1};
}

}  // namespace aigw
