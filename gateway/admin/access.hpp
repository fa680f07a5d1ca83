// Who may use the admin API. Checked for every request before routing, as a pure function of
// the request's headers and the operator's options, so any HTTP server can call it:
//   1. Host: an IP literal, `localhost`, or a name in --admin-allow-host. A browser tricked by
//      DNS rebinding sends the attacker's domain name as Host, so it is refused (403).
//   2. Origin / Sec-Fetch-Site: a request a web page makes carries the page's Origin (a plain
//      HTML form POST included, which needs no CORS preflight); it is refused (403) unless the
//      origin is in --admin-allow-origin (empty by default). curl, decK-style clients and the
//      aigw commands send no Origin.
//   3. Token: with --admin-token / AIGW_ADMIN_TOKEN set, `Kong-Admin-Token: T` (Kong
//      Enterprise's header) or `Authorization: Bearer T` is required (401 otherwise).
// And at start: an admin listener on a non-loopback address needs a token, or --admin-insecure.
// Refusals are Kong-shaped JSON bodies ({"message": ...}), short, never echoing a token.
// Thread-safety: pure functions over immutable options.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace aigw::admin {

struct AdminAccessOptions {
  std::vector<std::string> allow_origins;  // exact origins, e.g. "https://admin.example.com"
  std::vector<std::string> allow_hosts;    // extra Host names (no port), e.g. "gw.internal"
  std::string token;                       // empty: no token required
  bool insecure = false;                   // allow a non-loopback listener without a token
};

// The parts of a request the checks look at (header values; empty when absent).
struct AccessRequest {
  std::string_view method;
  std::string_view host;
  std::string_view origin;
  bool has_origin = false;
  std::string_view sec_fetch_site;
  std::string_view admin_token;    // Kong-Admin-Token
  std::string_view authorization;  // Authorization
};

struct AccessDecision {
  bool allowed = true;
  int status = 200;  // 401 or 403 when refused; 204 for an allowed CORS preflight
  std::string body;  // Kong-shaped JSON when refused
  // Response headers to add (CORS for an allowed origin).
  std::vector<std::pair<std::string, std::string>> headers;
  bool answered() const { return !allowed || status == 204; }
};

AccessDecision checkAdminAccess(const AccessRequest& request, const AdminAccessOptions& options);

// Before binding: refuses a non-loopback admin listener without a token unless insecure.
Status checkAdminListen(const std::string& host, int port, const AdminAccessOptions& options);

// "127.0.0.1", "::1", "localhost" (and 127.x.y.z).
bool isLoopbackHost(std::string_view host);

}  // namespace aigw::admin
