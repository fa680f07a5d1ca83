// Plain HTTP values shared by every layer: headers, the request a provider builds for its
// upstream, the client request as the proxy received it, URLs. No I/O and no library types,
// so providers, plugins, config and the network code can all depend on this and on nothing
// above it.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace aigw::http {

struct Header {
  std::string name;
  std::string value;
};
using Headers = std::vector<Header>;

// ASCII case-insensitive comparison, as header names compare.
bool iequals(std::string_view a, std::string_view b);
std::string lowered(std::string_view s);
// RFC 9110 token (method, header name).
bool isToken(std::string_view s);
// CR, LF or NUL: bytes that would let a value break out of its header line.
bool hasCtl(std::string_view s);
// Up to 18 decimal digits, nothing else.
bool parseDecimal(std::string_view s, std::uint64_t& out);

// First header with this name (case-insensitive), or null.
const std::string* findHeader(const Headers& headers, std::string_view name);

// What a provider asks the proxy to send upstream.
struct UpstreamRequest {
  std::string method = "POST";
  std::string url;   // absolute: http(s)://host[:port]/path[?query]
  Headers headers;   // Host, Content-Length and Connection are added by the client
  std::string host;  // the Host header to send instead of the url's (Kong's preserve_host)
  std::string body;
};

// The client's request as the proxy received it. The method names follow cpp-httplib's
// Request, which plugins were first written against.
struct Request {
  std::string method;
  std::string target;  // as sent: path and query
  std::string path;    // percent-decoded path, without the query
  std::string query;   // raw query string without '?', may be empty
  Headers headers;     // in arrival order, names as sent
  std::string body;
  std::string remote_addr;
  int local_port = 0;   // the port the request came in on
  bool secure = false;  // it came over TLS
  int version = 11;     // 10 or 11

  bool has_header(std::string_view name) const { return findHeader(headers, name) != nullptr; }
  // First value, or empty.
  std::string get_header_value(std::string_view name) const;
  bool has_param(std::string_view name) const;
  // First value of a query parameter, percent-decoded, or empty.
  std::string get_param_value(std::string_view name) const;
};

// Splits an absolute URL; false if it is not http(s)://host[:port][/path][?query].
struct ParsedUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6
  int port = 0;
  std::string target;  // path + query, at least "/"
};
bool parseUrl(std::string_view url, ParsedUrl& out);

// Percent-decoding ('+' stays '+' in paths; is a space in query values when `plus_as_space`).
std::string percentDecode(std::string_view s, bool plus_as_space);
// Encodes everything but unreserved characters (RFC 3986 §2.3).
std::string percentEncode(std::string_view s);

// Reason phrase for a status code ("OK", "Not Found", ...); "Unknown" when not listed.
std::string_view reasonPhrase(int status);

}  // namespace aigw::http
