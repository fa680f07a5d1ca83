// Upstream HTTP/1.1 client with a pull interface: send() returns once the status line and
// headers have arrived, so the proxy can decide its own status before streaming a body, then
// read() hands over body bytes as they arrive (chunked, content-length or until-close).
//
// Connections are kept alive and pooled per scheme://host:port (sharded locks held only to
// take/return a connection, never across I/O). HTTPS uses OpenSSL with certificate and host
// name verification against the system CA store. Every wait is bounded by UpstreamTimeouts.
//
// Thread-safety: UpstreamClient is thread-safe and meant to be shared by all workers.
// An UpstreamResponse belongs to one thread; destroying it before the body is fully read
// closes the connection (it is returned to the pool only after a clean, complete body).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace aigw::proxy {

struct Header {
  std::string name;
  std::string value;
};
using Headers = std::vector<Header>;

struct UpstreamRequest {
  std::string method = "POST";
  std::string url;  // absolute: http(s)://host[:port]/path[?query]
  Headers headers;  // Host, Content-Length and Connection are added by the client
  std::string body;
};

struct UpstreamTimeouts {
  int connect_ms = 10000;      // TCP connect + TLS handshake
  int first_byte_ms = 120000;  // request written -> status line received
  int idle_ms = 60000;         // longest gap between two body reads
  int total_ms = 600000;       // whole exchange, from send() to the end of the body
};

enum class UpstreamFailure {
  None,
  Connect,   // DNS, refused, unreachable, TLS handshake or certificate failure
  Timeout,   // any of the timeouts above
  Protocol,  // malformed status line, headers or chunk framing
  Closed,    // peer closed before the body's declared end
};

struct UpstreamError {
  UpstreamFailure kind = UpstreamFailure::None;
  std::string message;  // human readable, never contains request headers or body
};

class UpstreamResponse {
 public:
  virtual ~UpstreamResponse() = default;
  virtual int status() const = 0;
  // Response headers in arrival order; names lower-cased.
  virtual const Headers& headers() const = 0;
  // Appends the next piece of the (de-chunked) body to `out`. Returns false at the end of the
  // body or on failure; error().kind tells which (None = clean end).
  virtual bool read(std::string& out) = 0;
  virtual const UpstreamError& error() const = 0;

  // First header with this (case-insensitive) name, or empty.
  std::string header(std::string_view name) const;
  // Reads the rest of the body into `out`; false on failure or when it exceeds `limit` bytes.
  bool readAll(std::string& out, std::size_t limit);
};

struct UpstreamClientOptions {
  bool verify_tls = true;
  std::string ca_file;            // extra CA bundle (PEM), e.g. for tests; empty = none
  int max_idle_per_host = 64;     // pooled idle connections per scheme://host:port
  int idle_keepalive_ms = 30000;  // pooled connections older than this are dropped
};

class UpstreamClient {
 public:
  explicit UpstreamClient(UpstreamClientOptions options = {});
  ~UpstreamClient();
  UpstreamClient(const UpstreamClient&) = delete;
  UpstreamClient& operator=(const UpstreamClient&) = delete;

  // Writes the request and waits for the status line and headers. A pooled connection that
  // turns out to be stale (closed by the peer while idle) is retried once on a new one.
  Result<std::unique_ptr<UpstreamResponse>, UpstreamError> send(const UpstreamRequest& request,
                                                                const UpstreamTimeouts& timeouts);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Splits an absolute URL; false if it is not http(s)://host[:port][/path][?query].
struct ParsedUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6
  int port = 0;
  std::string target;  // path + query, at least "/"
};
bool parseUrl(std::string_view url, ParsedUrl& out);

}  // namespace aigw::proxy
