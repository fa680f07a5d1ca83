// The request a route without ai-proxy sends to its Kong service, built the way Kong builds
// it: the service's scheme, host, port and path; the route's strip_path and preserve_host
// (path_handling v0, Kong's default); the client's method, query, headers (minus hop-by-hop
// ones) and body as the access phase left it; Kong's X-Forwarded-* and X-Real-IP headers; the
// service's connect/read/write timeouts.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/api_error.hpp"
#include "core/result.hpp"
#include "http/message.hpp"
#include "proxy/upstream.hpp"

namespace aigw::config {
struct Service;
struct Route;
}  // namespace aigw::config

namespace aigw::proxy {

struct RequestContext;

struct ServiceCall {
  http::UpstreamRequest request;
  UpstreamTimeouts timeouts;
};

Result<ServiceCall, ApiError> buildServiceRequest(const config::Service& service,
                                                  const config::Route& route,
                                                  const RequestContext& ctx);

// Kong's path_handling v0: the service path joined to what is left of the request path
// (after strip_path took the matched part) with exactly one "/" between non-empty parts; an
// empty remainder leaves the service path as it is ("/" when it has none).
std::string joinServicePath(std::string_view service_path, std::string_view remainder);

// Hop-by-hop headers (RFC 9110 §7.6.1) and the ones the proxy sets itself: never forwarded
// in either direction.
bool isHopByHop(std::string_view name);

}  // namespace aigw::proxy
