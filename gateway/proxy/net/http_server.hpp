// A strict HTTP/1.1 server on the event loops (Boost.Beast's parser, our limits): every
// connection is a coroutine on one loop; a request's handler is a coroutine too, so a stream
// or a slow upstream holds no thread.
//
// Limits, each refused cleanly: header size and field count (431), a deadline for the whole
// request head (408, then close), the body limit the handler asks for, checked against
// Content-Length before reading and as chunks arrive (413), conflicting or duplicate
// Content-Length and Content-Length with Transfer-Encoding (400, close), an idle keep-alive
// timeout, a gap timeout while reading a body or writing a response, and caps on connections
// (global and per client address). At a cap the connection waiting longest for its request head
// is dropped first, so idle or trickling clients cannot lock out one that is ready to talk.
// Pipelined requests are answered in order.
//
// Thread-safety: listen()/start()/stop() from one controlling thread. An Exchange belongs to the
// loop thread of its connection.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "http/message.hpp"
#include "proxy/net/event_loops.hpp"
#include "proxy/net/task.hpp"

namespace boost::asio::ssl {
class context;
}

namespace aigw::net {

struct ServerLimits {
  std::size_t max_header_bytes = 32 * 1024;  // request line + all header lines
  std::size_t max_header_fields = 100;
  std::size_t max_body_bytes = 64u << 20;      // hard cap; a handler may ask for less
  int header_timeout_ms = 30000;               // first request: from accept to the end of its head
  int keepalive_timeout_ms = 60000;            // later requests: idle + head
  int body_timeout_ms = 60000;                 // longest gap while reading a body
  int write_timeout_ms = 60000;                // longest wait for the client to take a write
  std::size_t max_connections = 65536;         // per server, across its loops
  std::size_t max_connections_per_client = 0;  // per client address; 0 = no cap
  bool reuse_port = false;                     // SO_REUSEPORT: only when asked for
};

enum class BodyStatus {
  Ok,
  TooLarge,  // over the limit: answer 413; the connection will be closed
  Invalid,   // malformed framing: answer 400; the connection will be closed
  TimedOut,  // the client stopped sending: answer 408; the connection will be closed
  Closed,    // the client went away
};

class Connection;

// One request on one connection, as the handler sees it.
class Exchange {
 public:
  Exchange(Connection& conn, http::Request& request, std::size_t loop);

  http::Request& request() { return request_; }
  const http::Request& request() const { return request_; }
  // The loop this exchange runs on (index into the server's EventLoops).
  std::size_t loop() const { return loop_; }
  Executor executor() const;

  // Reads the whole body into request().body, refusing more than `limit` bytes (and never more
  // than the server's max_body_bytes). Sends "100 Continue" when the client asked for it and
  // the body is acceptable. Reading twice is a no-op.
  Task<BodyStatus> readBody(std::size_t limit);

  // A whole response. Content-Length is added; the handler's headers must not carry framing.
  Task<bool> respond(int status, const http::Headers& headers, std::string_view body,
                     std::string_view content_type = "application/json");
  // A streamed response (chunked on HTTP/1.1): head, then pieces as they come, then the end.
  // Each returns false once the client has gone. A piece already at hand leaves with the head
  // (`first`), and the end with the last piece (`last`): a short stream is one or two writes.
  Task<bool> startStream(int status, const http::Headers& headers, std::string_view content_type,
                         std::string_view first = {}, bool last = false);
  Task<bool> writeStream(std::string_view data, bool last = false);
  // The same as writeStream({}, true); nothing once the stream has ended.
  Task<bool> endStream();

  // Ends the connection at once, e.g. when a streamed body cannot be completed: the client
  // sees the response cut short instead of a complete-looking one.
  void abort();

  bool responded() const { return responded_; }
  // No keep-alive after this response (e.g. the request was refused before its body was read).
  void closeAfter() { close_after_ = true; }
  bool closing() const { return close_after_; }

 private:
  friend class Connection;
  Connection& conn_;
  http::Request& request_;
  std::size_t loop_;
  bool body_read_ = false;
  bool responded_ = false;
  bool streaming_ = false;
  bool close_after_ = false;
};

using Handler = std::function<Task<void>(Exchange&)>;

class HttpServer {
 public:
  // `name` appears in messages ("proxy", "admin"). With `tls`, connections speak HTTPS.
  HttpServer(EventLoops& loops, Handler handler, ServerLimits limits, std::string name,
             std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  // Destroy it after its loops have stopped running and before they are destroyed.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens; port 0 picks a free port. The error names the address
  // ("address already in use: 127.0.0.1:8000").
  Status listen(const std::string& host, int port);
  int port() const { return port_; }
  // Called on a loop's thread when it cannot accept for want of a file descriptor: returns
  // true when it closed something of that loop's (an idle upstream connection) to make room.
  // Otherwise the loop stops accepting for a moment; without this, connections kept for
  // reuse could hold every descriptor while clients wait to be accepted. Set before start().
  void setDescriptorReclaimer(std::function<bool(std::size_t loop)> reclaim);
  // Starts accepting on every loop.
  void start();
  // Stops accepting and closes connections that are between requests; requests in flight
  // finish (their connections close afterwards).
  void stop();
  // Open connections (all loops).
  std::size_t connections() const;

  struct Shared;

 private:
  EventLoops& loops_;
  std::shared_ptr<Shared> shared_;
  int port_ = 0;
};

}  // namespace aigw::net
