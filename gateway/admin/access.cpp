#include "admin/access.hpp"

#include <arpa/inet.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace aigw::admin {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A header value inside an error message: short and printable.
std::string quoted(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) out += (c >= 0x20 && c < 0x7F) ? c : '?';
  if (s.size() > 80) out += "...";
  return "\"" + out + "\"";
}

AccessDecision refuse(int status, const std::string& message) {
  AccessDecision d;
  d.allowed = false;
  d.status = status;
  d.body = nlohmann::json{{"message", message}}.dump();
  return d;
}

// "name:port", "[v6]:port", "name" -> lower-case name without brackets or port.
std::string hostName(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    return lower(
        host.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
  }
  const auto colon = host.find(':');
  if (colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos)
    host = host.substr(0, colon);
  std::string out = lower(host);
  if (!out.empty() && out.back() == '.') out.pop_back();  // "localhost." is localhost
  return out;
}

bool isIpLiteral(const std::string& name) {
  unsigned char buf[16];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

bool tokenMatches(std::string_view given, const std::string& token) {
  if (given.size() != token.size()) return false;
  return CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
}

}  // namespace

bool isLoopbackHost(std::string_view host) {
  const std::string name = hostName(host);
  if (name == "localhost" || name == "::1") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, name.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  return false;
}

AccessDecision checkAdminAccess(const AccessRequest& r, const AdminAccessOptions& o) {
  // 1. Host (DNS rebinding): a name the operator did not list is somebody else's domain.
  if (!r.host.empty()) {
    const std::string name = hostName(r.host);
    const bool listed = std::any_of(o.allow_hosts.begin(), o.allow_hosts.end(),
                                    [&](const std::string& h) { return lower(h) == name; });
    if (!(name == "localhost" || isIpLiteral(name) || listed))
      return refuse(403, "Forbidden: Host " + quoted(r.host) +
                             " is not allowed to use the admin API (allow it with "
                             "--admin-allow-host)");
  }
  // 2. Origin: a web page's request. Sec-Fetch-Site covers browsers that omit Origin.
  bool origin_allowed = false;
  if (r.has_origin) {
    const std::string origin = lower(r.origin);
    origin_allowed = std::any_of(o.allow_origins.begin(), o.allow_origins.end(),
                                 [&](const std::string& a) { return lower(a) == origin; });
    if (!origin_allowed)
      return refuse(403, "Forbidden: Origin " + quoted(r.origin) +
                             " is not allowed to use the admin API (allow it with "
                             "--admin-allow-origin)");
  } else if (lower(r.sec_fetch_site) == "cross-site" || lower(r.sec_fetch_site) == "same-site") {
    return refuse(403, "Forbidden: requests from web pages are not allowed to use the admin API");
  }
  AccessDecision ok;
  if (origin_allowed) {
    ok.headers = {{"Access-Control-Allow-Origin", std::string(r.origin)},
                  {"Vary", "Origin"},
                  {"Access-Control-Allow-Credentials", "true"}};
    if (r.method == "OPTIONS") {  // the preflight itself carries no token
      ok.status = 204;
      ok.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE");
      ok.headers.emplace_back("Access-Control-Allow-Headers",
                              "Content-Type, Kong-Admin-Token, Authorization");
      ok.headers.emplace_back("Access-Control-Max-Age", "600");
      return ok;
    }
  }
  // 3. Token.
  if (!o.token.empty()) {
    std::string_view bearer;
    if (r.authorization.size() > 7 && lower(r.authorization.substr(0, 7)) == "bearer ")
      bearer = r.authorization.substr(7);
    if (!tokenMatches(r.admin_token, o.token) && !tokenMatches(bearer, o.token)) {
      AccessDecision d = refuse(401, "Invalid credentials. Token or User credentials required");
      d.headers = ok.headers;
      return d;
    }
  }
  return ok;
}

Status checkAdminListen(const std::string& host, int port, const AdminAccessOptions& o) {
  if (isLoopbackHost(host) || !o.token.empty() || o.insecure) return {};
  return Status::error("refusing to serve the admin API on " + host + ":" + std::to_string(port) +
                       " (not loopback) without a token: set --admin-token or AIGW_ADMIN_TOKEN, "
                       "or pass --admin-insecure if something else protects that address");
}

}  // namespace aigw::admin
