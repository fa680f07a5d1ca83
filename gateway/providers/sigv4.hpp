// AWS Signature Version 4 for request headers, written against OpenSSL (SHA-256, HMAC-SHA256).
//   https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
//   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
// Each stage (canonical request, string to sign, signing key, signature) is exposed so tests can
// check every one of them against AWS's published test suite, not just the final signature.
// The time is a parameter: callers pass a clock reading, tests pass the suite's fixed date.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace aigw::providers::sigv4 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty = long-term keys
};

struct Request {
  std::string method = "POST";
  // The path exactly as it goes on the wire (already percent-encoded once by the caller). The
  // canonical URI encodes it once more, as every AWS service but S3 expects.
  std::string path = "/";
  std::string query;      // raw query string without '?', may be empty
  http::Headers headers;  // headers to sign; must include Host
  std::string_view payload;
};

struct Signed {
  std::string amz_date;  // 20150830T123600Z
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // host;x-amz-date
  std::string signature;       // lower-case hex
  std::string authorization;   // the Authorization header value
  // What the caller adds to the request: X-Amz-Date, X-Amz-Security-Token (with a session
  // token) and Authorization.
  http::Headers headers;
};

// Signs `request` for `service` in `region` at time `now`. X-Amz-Date (and X-Amz-Security-Token)
// are added to the signed headers here; the request must not carry them already.
Signed sign(const Request& request, const Credentials& credentials, std::string_view region,
            std::string_view service, std::chrono::system_clock::time_point now);

// The pieces, for tests and for callers that sign something else.
std::string amzDate(std::chrono::system_clock::time_point t);  // yyyymmddThhmmssZ
// RFC 3986 percent-encoding of everything but A-Z a-z 0-9 - _ . ~ ('/' kept when !encode_slash).
std::string uriEncode(std::string_view s, bool encode_slash = true);
// Every path segment encoded (so an already encoded path ends up encoded twice); "" -> "/".
std::string canonicalUri(std::string_view path);
// Parameters decoded, re-encoded with uriEncode, sorted by name then value; "a" -> "a=".
std::string canonicalQuery(std::string_view query);
std::string sha256Hex(std::string_view data);
// HMAC chain "AWS4"+secret -> date -> region -> service -> "aws4_request" (raw 32 bytes).
std::string signingKey(std::string_view secret, std::string_view date8, std::string_view region,
                       std::string_view service);
std::string hex(std::string_view bytes);

}  // namespace aigw::providers::sigv4
