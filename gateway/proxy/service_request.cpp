#include "proxy/service_request.hpp"

#include <cctype>

#include "config/model.hpp"
#include "proxy/request_context.hpp"

namespace aigw::proxy {

namespace {

// Unreserved characters, sub-delims, ':' '@' (pchar) and '/' stay as they are in a path.
bool keepUnencoded(unsigned char c) {
  static constexpr std::string_view kKept = "-._~!$&'()*+,;=:@/";
  return std::isalnum(c) || kKept.find(static_cast<char>(c)) != std::string_view::npos;
}

// A decoded path back into a path that is safe on the request line.
std::string encodePath(std::string_view decoded) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(decoded.size());
  for (const unsigned char c : decoded) {
    if (keepUnencoded(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// What is left of the request path once strip_path has taken the part the route matched, as
// the client wrote it when the matched part had no escapes (so the rest goes on byte for
// byte), else re-encoded from the decoded path.
std::string pathRemainder(const http::Request& req, const config::Route& route, std::size_t matched,
                          std::string& stripped) {
  const std::string_view raw = std::string_view(req.target).substr(0, req.target.find('?'));
  if (!route.strip_path || matched == 0 || matched > req.path.size()) return std::string(raw);
  const std::string_view prefix = std::string_view(req.path).substr(0, matched);
  stripped = encodePath(prefix);
  if (raw.compare(0, matched, prefix) == 0) return std::string(raw.substr(matched));
  return encodePath(std::string_view(req.path).substr(matched));
}

std::string hostOnly(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    return std::string(host.substr(0, close == std::string_view::npos ? host.size() : close + 1));
  }
  return std::string(host.substr(0, host.find(':')));
}

// Header names a client listed in its Connection header are hop-by-hop for this request.
bool listedInConnection(const http::Headers& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (!http::iequals(h.name, "connection")) continue;
    std::string_view rest = h.value;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      std::string_view token = rest.substr(0, comma);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
        token.remove_prefix(1);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
        token.remove_suffix(1);
      if (http::iequals(token, name)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

}  // namespace

bool isHopByHop(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "connection", "keep-alive", "proxy-connection", "te",    "trailer", "transfer-encoding",
      "upgrade",    "host",       "content-length",   "expect"};
  for (const auto n : kNames)
    if (http::iequals(name, n)) return true;
  return false;
}

std::string joinServicePath(std::string_view service_path, std::string_view remainder) {
  if (remainder.empty()) return service_path.empty() ? "/" : std::string(service_path);
  std::string out(service_path);
  const bool slash_before = !out.empty() && out.back() == '/';
  const bool slash_after = remainder.front() == '/';
  if (slash_before && slash_after) {
    remainder.remove_prefix(1);
  } else if (!slash_before && !slash_after) {
    out += '/';
  }
  out += remainder;
  return out;
}

Result<ServiceCall, ApiError> buildServiceRequest(const config::Service& service,
                                                  const config::Route& route,
                                                  const RequestContext& ctx) {
  using R = Result<ServiceCall, ApiError>;
  if (service.protocol != "http" && service.protocol != "https")
    return R::failure(ApiError{
        502,
        "service protocol " + service.protocol + " is not proxied by aigw (http and https are)",
        "api_error",
        {},
        "unsupported_protocol",
        -1});
  const http::Request& req = ctx.request;
  ServiceCall call;
  http::UpstreamRequest& up = call.request;
  up.method = req.method;

  std::string stripped;
  const std::string path =
      joinServicePath(service.path, pathRemainder(req, route, ctx.route_matched, stripped));
  const bool ipv6 = service.host.find(':') != std::string::npos;
  up.url = service.protocol + "://" + (ipv6 ? "[" + service.host + "]" : service.host) + ":" +
           std::to_string(service.port) + path;
  const std::string_view query = ctx.hide_credential ? ctx.clientQuery()
                                 : req.query.empty() ? std::string_view()
                                                     : std::string_view(req.query);
  if (!query.empty()) {
    up.url += '?';
    up.url += query;
  }

  std::string forwarded_for;
  const std::string* client_host = http::findHeader(req.headers, "host");
  for (const auto& h : req.headers) {
    if (isHopByHop(h.name) || listedInConnection(req.headers, h.name)) continue;
    if (ctx.hide_credential && !ctx.credential_header.empty() &&
        http::iequals(h.name, ctx.credential_header))
      continue;
    if (http::iequals(h.name, "x-forwarded-for")) {
      forwarded_for += forwarded_for.empty() ? "" : ", ";
      forwarded_for += h.value;
      continue;
    }
    // Kong sets these from the connection (it trusts no client's by default).
    if (http::iequals(h.name, "x-real-ip") || http::iequals(h.name, "x-forwarded-proto") ||
        http::iequals(h.name, "x-forwarded-host") || http::iequals(h.name, "x-forwarded-port") ||
        http::iequals(h.name, "x-forwarded-path") || http::iequals(h.name, "x-forwarded-prefix"))
      continue;
    up.headers.push_back(h);
  }
  forwarded_for += forwarded_for.empty() ? "" : ", ";
  forwarded_for += req.remote_addr;
  up.headers.push_back({"X-Forwarded-For", std::move(forwarded_for)});
  up.headers.push_back({"X-Forwarded-Proto", req.secure ? "https" : "http"});
  if (client_host) up.headers.push_back({"X-Forwarded-Host", hostOnly(*client_host)});
  up.headers.push_back({"X-Forwarded-Port", std::to_string(req.local_port)});
  up.headers.push_back({"X-Forwarded-Path",
                        std::string(std::string_view(req.target).substr(0, req.target.find('?')))});
  if (!stripped.empty()) up.headers.push_back({"X-Forwarded-Prefix", stripped});
  up.headers.push_back({"X-Real-IP", req.remote_addr});
  if (route.preserve_host && client_host) up.host = *client_host;
  up.body = ctx.upstreamBody();

  // Kong's read_timeout bounds every wait for the service (the first byte and each later
  // one); it has no limit on a whole exchange, so neither does this (streams may be long).
  call.timeouts.connect_ms = service.connect_timeout_ms;
  call.timeouts.first_byte_ms = service.read_timeout_ms;
  call.timeouts.idle_ms = service.read_timeout_ms;
  call.timeouts.total_ms = 0;  // none
  return call;
}

}  // namespace aigw::proxy
