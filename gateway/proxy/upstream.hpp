// Upstream HTTP/1.1 client on the event loop, with a pull interface: send() completes once the
// status line and headers have arrived, so the proxy can decide its own status before it
// streams a body; read() then hands over body bytes as they arrive (chunked, content-length or
// until-close).
//
// One UpstreamClient per event-loop thread: its keep-alive pool (per scheme://host:port) is
// touched by that thread only, so there is no lock anywhere. HTTPS verifies certificates and
// host names against the system CA store (plus --ca-file). Every wait is bounded by
// UpstreamTimeouts; DNS runs off the loop (Asio's resolver thread).
//
// Thread-safety: an UpstreamClient and the responses it returns belong to their loop's thread.
// Destroying a response before its body was fully read closes the connection, which is how a
// call is cancelled; only a cleanly finished connection goes back to the pool.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "http/message.hpp"
#include "proxy/net/task.hpp"

namespace aigw::proxy {

using http::Header;
using http::Headers;
using http::UpstreamRequest;

struct UpstreamTimeouts {
  int connect_ms = 10000;      // DNS + TCP connect + TLS handshake
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
  // The request may have reached the upstream (false: it failed before anything was written,
  // e.g. refused or a connect timeout), for retry decisions (proxy/retry_policy.hpp).
  bool sent = true;
};

class UpstreamResponse {
 public:
  virtual ~UpstreamResponse() = default;
  virtual int status() const = 0;
  // Response headers in arrival order; names lower-cased.
  virtual const Headers& headers() const = 0;
  // Appends the next piece of the (de-chunked) body to `out`. Completes with false at the end
  // of the body or on failure; error().kind tells which (None = clean end).
  virtual net::Task<bool> read(std::string& out) = 0;
  virtual const UpstreamError& error() const = 0;
  // True once the next read() would return false without waiting (the body has ended or
  // failed): the caller can send the last piece together with the end of its own response.
  virtual bool exhausted() const { return false; }

  // First header with this (case-insensitive) name, or empty.
  std::string header(std::string_view name) const;
  // Reads the rest of the body into `out`; false on failure or when it exceeds `limit` bytes.
  net::Task<bool> readAll(std::string& out, std::size_t limit);
};

struct UpstreamClientOptions {
  bool verify_tls = true;
  std::string ca_file;            // extra CA bundle (PEM), e.g. for tests; empty = none
  int max_idle_per_host = 64;     // pooled idle connections per scheme://host:port
  int idle_keepalive_ms = 30000;  // pooled connections older than this are dropped
};

// The TLS settings all loops share (OpenSSL's SSL_CTX is safe to share between threads).
class TlsSettings;
// Builds them; the error says why (e.g. the CA file could not be loaded).
Result<std::shared_ptr<TlsSettings>> makeTlsSettings(const UpstreamClientOptions& options);

class UpstreamClient {
 public:
  UpstreamClient(net::Executor executor, std::shared_ptr<TlsSettings> tls,
                 UpstreamClientOptions options = {});
  ~UpstreamClient();
  UpstreamClient(const UpstreamClient&) = delete;
  UpstreamClient& operator=(const UpstreamClient&) = delete;

  // Writes the request and waits for the final status line and headers. A pooled connection
  // that turns out to be stale (closed by the peer while idle) is retried once on a new one.
  net::Task<Result<std::unique_ptr<UpstreamResponse>, UpstreamError>> send(
      const UpstreamRequest& request, const UpstreamTimeouts& timeouts);

  // Idle pooled connections, for tests.
  std::size_t idleConnections() const;
  // Closes the longest-idle pooled connection, to make room at the file-descriptor limit; false
  // when there is none. On the client's loop thread only.
  bool dropOneIdle();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace aigw::proxy
