#include "proxy/net/http_server.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <limits>
#include <list>
#include <optional>
#include <unordered_map>

#include "proxy/net/socket_io.hpp"
#include "proxy/net/watchdog.hpp"

namespace aigw::net {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

// A framing error found by Beast's parser (as opposed to a socket error).
static bool isHttpError(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category();
}

namespace {

// A TLS connection's read buffer to start with (it grows up to the header limit when a head
// needs it). Plain connections keep only the bytes that came.
constexpr std::size_t kReadBuffer = 4 * 1024;

std::string jsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// The body of an error the server itself answers (before any handler ran): OpenAI's shape,
// which Kong-style clients read as well ("message" is inside "error").
std::string errorBody(std::string_view message) {
  return R"({"error":{"message":")" + jsonEscape(message) +
         R"(","type":"invalid_request_error","param":null,"code":null}})";
}

bool validHeader(const http::Header& h) {
  return http::isToken(h.name) && !http::hasCtl(h.value);
}

// Framing and hop-by-hop headers are the server's to write.
bool ownedByServer(std::string_view name) {
  return http::iequals(name, "content-length") || http::iequals(name, "transfer-encoding") ||
         http::iequals(name, "connection") || http::iequals(name, "keep-alive");
}

}  // namespace

struct LoopState;

// One client connection: a coroutine that reads request heads, hands each request to the
// handler and writes what it answers, until the client or a limit ends it.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<HttpServer::Shared> shared, LoopState& loop,
             std::size_t loop_index, std::string client)
      : socket_(std::move(socket)),
        executor_(socket_.get_executor()),
        shared_(std::move(shared)),
        loop_(loop),
        loop_index_(loop_index),
        client_(std::move(client)),
        // A deadline cancels the pending operation but keeps the socket, so the server can still
        // answer 408 before it closes.
        watchdog_(executor_, [this] { cancel(); }) {
    error_code ec;
    local_port_ = socket_.local_endpoint(ec).port();
  }

  static Task<void> run(std::shared_ptr<Connection> self);
  void abort() {
    error_code ignored;
    lowest().close(ignored);
  }
  void cancel() {
    error_code ignored;
    lowest().cancel(ignored);
  }
  const std::string& client() const { return client_; }
  // Dropped to make room (a cap was reached) or because the server stops.
  void evict() {
    leaveWaiting();
    abort();
  }

  // --- used by Exchange
  Task<BodyStatus> readBody(Exchange& ex, std::size_t limit);
  Task<bool> write(std::string_view head, std::string_view body);
  std::string& scratch() { return scratch_; }
  // A long response has begun: the read buffer is released unless it holds the next request
  // (it grows again for the next read), so idle streams keep no request-sized buffer.
  void releaseReadBuffer() {
    if (buffer_.size() == 0) buffer_.shrink_to_fit();
  }
  bool http10() const { return version_ == 10; }
  bool headRequest() const { return head_request_; }
  Executor executor() { return executor_; }

  std::list<Connection*>::iterator waiting_it;  // position in LoopState::waiting, when waiting
  bool in_waiting = false;

 private:
  Task<void> serve();
  Task<void> refuse(int status, std::string_view message);
  void enterWaiting();
  void leaveWaiting();

  tcp::socket& lowest() { return tls_ ? tls_->next_layer() : socket_; }
  // The operations on the connection's stream, plain or TLS.
  // A plain connection is read through the loop's area (proxy/net/socket_io.hpp), so a
  // connection waiting for its next request, or for its upstream, holds no read buffer. Beast
  // reads a TLS one into a buffer that holds a whole head (a smaller one is read 512 bytes at a
  // time).
  template <typename Parser>
  Task<void> readHeader(Parser& parser, error_code& ec) {
    if (!tls_) {
      co_await parseFrom(
          socket_, buffer_, read_, parser, [](const Parser& p) { return p.is_header_done(); }, ec);
      co_return;
    }
    if (buffer_.capacity() < kReadBuffer) buffer_.reserve(kReadBuffer);
    co_await bhttp::async_read_header(*tls_, buffer_, parser,
                                      asio::redirect_error(asio::use_awaitable, ec));
  }
  // Parses some more of a body.
  template <typename Parser>
  Task<void> readSome(Parser& parser, error_code& ec) {
    if (!tls_) {
      co_await parseFrom(
          socket_, buffer_, read_, parser, [](const Parser&) { return true; }, ec);
      co_return;
    }
    co_await bhttp::async_read_some(*tls_, buffer_, parser,
                                    asio::redirect_error(asio::use_awaitable, ec));
  }
  template <typename Buffers>
  Task<std::size_t> writeAll(const Buffers& buffers, error_code& ec) {
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    if (tls_) co_return co_await asio::async_write(*tls_, buffers, token);
    co_return co_await asio::async_write(socket_, buffers, token);
  }
  // TLS servers: the handshake, within the head's deadline.
  Task<bool> handshake();

  tcp::socket socket_;  // moved into tls_ for a TLS server
  Executor executor_;
  // Boxed: most connections are plain, and the stream is 400 bytes.
  std::unique_ptr<asio::ssl::stream<tcp::socket>> tls_;
  std::shared_ptr<HttpServer::Shared> shared_;
  LoopState& loop_;
  std::size_t loop_index_;
  std::string client_;
  int local_port_ = 0;
  Watchdog watchdog_;
  boost::beast::flat_buffer buffer_;
  ReadState read_;  // how the socket was last read (see parseFrom())
  std::optional<bhttp::request_parser<bhttp::empty_body>> head_parser_;
  Clock::time_point waiting_since_{};
  std::string scratch_;  // response head being written
  int version_ = 11;
  bool head_request_ = false;
};

struct LoopState {
  explicit LoopState(asio::io_context& c) : ctx(c) {}
  asio::io_context& ctx;
  std::optional<tcp::acceptor> acceptor;
  std::list<Connection*> waiting;  // connections waiting for a request head, oldest first
  // waiting.size(), readable from other loops (which may ask this one to drop one).
  std::atomic<std::size_t> waiting_count{0};
  std::unordered_map<std::string, std::size_t> per_client;
  std::size_t open = 0;
};

struct HttpServer::Shared {
  Handler handler;
  std::shared_ptr<asio::ssl::context> tls;  // null: plain HTTP
  ServerLimits limits;
  std::string name;
  std::vector<std::unique_ptr<LoopState>> loops;
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> stopping{false};
  std::size_t per_client_cap_per_loop = 0;
  std::function<bool(std::size_t loop)> reclaim_descriptor;  // may be empty
};

// --- Connection

void Connection::enterWaiting() {
  waiting_since_ = Clock::now();
  waiting_it = loop_.waiting.insert(loop_.waiting.end(), this);
  loop_.waiting_count.fetch_add(1, std::memory_order_relaxed);
  in_waiting = true;
}

void Connection::leaveWaiting() {
  if (!in_waiting) return;
  loop_.waiting.erase(waiting_it);
  loop_.waiting_count.fetch_sub(1, std::memory_order_relaxed);
  in_waiting = false;
}

Task<void> Connection::run(std::shared_ptr<Connection> self) {
  try {
    co_await self->serve();
  } catch (const std::exception&) {
    // A failed write or an I/O error thrown by a library: the connection ends, the loop goes on.
  }
  self->leaveWaiting();
  self->abort();
  LoopState& loop = self->loop_;
  --loop.open;
  if (auto it = loop.per_client.find(self->client_); it != loop.per_client.end())
    if (--it->second == 0) loop.per_client.erase(it);
  self->shared_->connections.fetch_sub(1, std::memory_order_relaxed);
}

// Answers an error the server found itself, then the connection closes. (Callers pass named
// strings: GCC 12 mishandles temporaries with destructors inside co_await expressions.)
Task<void> Connection::refuse(int status, std::string_view message) {
  const std::string body = errorBody(message);
  scratch_ =
      "HTTP/1.1 " + std::to_string(status) + " " + std::string(http::reasonPhrase(status)) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n";
  co_await write(scratch_, body);
}

Task<bool> Connection::handshake() {
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(socket_), *shared_->tls);
  error_code ec;
  co_await tls_->async_handshake(asio::ssl::stream_base::server,
                                 asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec;
}

Task<void> Connection::serve() {
  const ServerLimits& limits = shared_->limits;
  const auto accepted = Clock::now();
  if (shared_->tls) {
    watchdog_.arm(accepted + std::chrono::milliseconds(limits.header_timeout_ms));
    const bool ok = co_await handshake();
    watchdog_.disarm();
    if (!ok) co_return;
  }
  bool first = true;
  http::Request request;
  while (!shared_->stopping.load(std::memory_order_relaxed)) {
    enterWaiting();
    watchdog_.arm(first ? accepted + std::chrono::milliseconds(limits.header_timeout_ms)
                        : Clock::now() + std::chrono::milliseconds(limits.keepalive_timeout_ms));
    head_parser_.emplace();
    head_parser_->header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    // The body's limit depends on the route, known only after the head: readBody() sets it.
    // (Beast would otherwise refuse a Content-Length over its 1 MB default while parsing the
    // head; and boost::none compares as below any length in Beast 1.74.)
    head_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    error_code ec;
    co_await readHeader(*head_parser_, ec);
    const bool expired = watchdog_.expired();
    watchdog_.disarm();
    leaveWaiting();
    if (ec) {
      const bool started = head_parser_->got_some() || buffer_.size() > 0;
      int status = 0;
      std::string why;
      if (expired && started) {
        status = 408;
        why = "timed out waiting for the request header";
      } else if (ec == bhttp::error::header_limit) {
        status = 431;
        why = "request header fields too large";
      } else if (isHttpError(ec) && ec != bhttp::error::end_of_stream &&
                 ec != bhttp::error::partial_message) {
        status = 400;
        why = "malformed HTTP request: " + ec.message();
      }
      if (status != 0) co_await refuse(status, why);
      co_return;
    }
    first = false;
    auto& msg = head_parser_->get();
    std::size_t fields = 0, content_lengths = 0;
    for (const auto& f : msg) {
      ++fields;
      if (f.name() == bhttp::field::content_length) ++content_lengths;
    }
    if (fields > limits.max_header_fields) {
      co_await refuse(431, "too many request header fields");
      co_return;
    }
    // Beast already refuses Content-Length with Transfer-Encoding and differing lengths; a
    // repeated one, even equal, and a transfer coding that is not chunked are refused too, so a
    // front proxy that reads the framing differently can never be handed a smuggled request.
    if (content_lengths > 1) {
      co_await refuse(400, "duplicate Content-Length header");
      co_return;
    }
    if (msg.find(bhttp::field::transfer_encoding) != msg.end() && !head_parser_->chunked()) {
      co_await refuse(400, "unsupported Transfer-Encoding (only chunked is accepted)");
      co_return;
    }
    if (msg.version() != 11 && msg.version() != 10) {
      co_await refuse(505, "HTTP version not supported");
      co_return;
    }
    version_ = msg.version();
    head_request_ = msg.method() == bhttp::verb::head;
    const bool keep_alive = head_parser_->keep_alive();

    request.method.assign(msg.method_string().data(), msg.method_string().size());
    request.target.assign(msg.target().data(), msg.target().size());
    const std::size_t q = request.target.find('?');
    const std::string_view raw_path = std::string_view(request.target).substr(0, q);
    request.path = http::percentDecode(raw_path, false);
    request.query = q == std::string::npos ? std::string() : request.target.substr(q + 1);
    request.headers.clear();
    for (const auto& f : msg)
      request.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    request.body.clear();
    request.remote_addr = client_;
    request.local_port = local_port_;
    request.secure = shared_->tls != nullptr;
    request.version = version_;

    Exchange ex(*this, request, loop_index_);
    co_await shared_->handler(ex);
    if (!ex.responded_) {
      ex.close_after_ = true;
      const std::string body = errorBody("internal error while handling the request");
      co_await ex.respond(500, {}, body);
    }
    if (!lowest().is_open()) co_return;
    // A body the handler did not read must leave the connection before the next request can be
    // parsed; small ones are drained, larger ones end the connection.
    if (!ex.body_read_ && !ex.close_after_) {
      if (co_await ex.readBody(64 * 1024) != BodyStatus::Ok) co_return;
    }
    if (ex.close_after_ || !keep_alive || version_ == 10) co_return;
  }
}

Task<BodyStatus> Connection::readBody(Exchange& ex, std::size_t limit) {
  const ServerLimits& limits = shared_->limits;
  limit = std::min(limit, limits.max_body_bytes);
  auto& hp = *head_parser_;
  if (hp.is_done()) co_return BodyStatus::Ok;
  const auto declared = hp.content_length();
  if (declared && *declared > limit) {
    ex.close_after_ = true;
    co_return BodyStatus::TooLarge;
  }
  const auto& msg = hp.get();
  if (version_ == 11) {
    const auto expect = msg.find(bhttp::field::expect);
    if (expect != msg.end() && http::iequals(expect->value(), "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      if (!co_await write(kContinue, {})) co_return BodyStatus::Closed;
    }
  }
  bhttp::request_parser<bhttp::string_body> bp(std::move(hp));
  bp.body_limit(limit);
  if (declared) bp.get().body().reserve(*declared);
  while (!bp.is_done()) {
    watchdog_.armAfter(std::chrono::milliseconds(limits.body_timeout_ms));
    error_code ec;
    co_await readSome(bp, ec);
    const bool expired = watchdog_.expired();
    watchdog_.disarm();
    if (ec) {
      ex.close_after_ = true;
      if (ec == bhttp::error::body_limit) co_return BodyStatus::TooLarge;
      if (expired) co_return BodyStatus::TimedOut;
      if (isHttpError(ec) && ec != bhttp::error::partial_message &&
          ec != bhttp::error::end_of_stream)
        co_return BodyStatus::Invalid;
      co_return BodyStatus::Closed;
    }
  }
  ex.request_.body = std::move(bp.get().body());
  releaseReadBuffer();  // the answer may be long in coming
  co_return BodyStatus::Ok;
}

Task<bool> Connection::write(std::string_view head, std::string_view body) {
  if (!lowest().is_open()) co_return false;
  error_code ec;
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head.data(), head.size()),
                                            asio::buffer(body.data(), body.size())};
  if (!tls_) {
    if (sendNow(socket_, buffers, ec)) co_return true;
    if (ec) {
      abort();
      co_return false;
    }
  }
  watchdog_.armAfter(std::chrono::milliseconds(shared_->limits.write_timeout_ms));
  co_await writeAll(buffers, ec);
  watchdog_.disarm();
  if (ec) {
    abort();
    co_return false;
  }
  co_return true;
}

// --- Exchange

Exchange::Exchange(Connection& conn, http::Request& request, std::size_t loop)
    : conn_(conn), request_(request), loop_(loop) {}

Executor Exchange::executor() const {
  return conn_.executor();
}

Task<BodyStatus> Exchange::readBody(std::size_t limit) {
  if (body_read_) co_return BodyStatus::Ok;
  body_read_ = true;
  co_return co_await conn_.readBody(*this, limit);
}

namespace {

void appendHead(std::string& out, int status, const http::Headers& headers,
                std::string_view content_type) {
  out.clear();
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += http::reasonPhrase(status);
  out += "\r\n";
  if (!content_type.empty()) {
    out += "Content-Type: ";
    out += content_type;
    out += "\r\n";
  }
  for (const auto& h : headers) {
    if (!validHeader(h) || ownedByServer(h.name)) continue;
    if (!content_type.empty() && http::iequals(h.name, "content-type")) continue;
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
}

}  // namespace

Task<bool> Exchange::respond(int status, const http::Headers& headers, std::string_view body,
                             std::string_view content_type) {
  responded_ = true;
  std::string& head = conn_.scratch();
  // 1xx, 204 and 304 answers have neither a body nor a Content-Length of their own.
  const bool no_body = status < 200 || status == 204 || status == 304;
  if (no_body) body = {};
  appendHead(head, status, headers, no_body ? std::string_view() : content_type);
  if (!no_body) {
    head += "Content-Length: ";
    head += std::to_string(body.size());
    head += "\r\n";
  }
  if (close_after_ || conn_.http10()) head += "Connection: close\r\n";
  head += "\r\n";
  // Small answers leave in one segment.
  if (!conn_.headRequest() && body.size() <= 4096) {
    head += body;
    co_return co_await conn_.write(head, {});
  }
  co_return co_await conn_.write(head, conn_.headRequest() ? std::string_view{} : body);
}

void Exchange::abort() {
  close_after_ = true;
  conn_.abort();
}

namespace {

void appendChunk(std::string& out, std::string_view data, bool last) {
  if (!data.empty()) {
    char size_line[24];
    const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
    out.append(size_line, static_cast<std::size_t>(n));
    out += data;
    out += "\r\n";
  }
  if (last) out += "0\r\n\r\n";
}

}  // namespace

Task<bool> Exchange::startStream(int status, const http::Headers& headers,
                                 std::string_view content_type, std::string_view first, bool last) {
  responded_ = true;
  streaming_ = !last;
  if (!last) conn_.releaseReadBuffer();
  std::string& out = conn_.scratch();
  appendHead(out, status, headers, content_type);
  // HTTP/1.0 has no chunked coding: the end of the stream is the end of the connection.
  if (conn_.http10()) {
    close_after_ = true;
    out += "Connection: close\r\n\r\n";
    out += first;
  } else {
    out += "Transfer-Encoding: chunked\r\n";
    if (close_after_) out += "Connection: close\r\n";
    out += "\r\n";
    appendChunk(out, first, last);
  }
  co_return co_await conn_.write(out, {});
}

Task<bool> Exchange::writeStream(std::string_view data, bool last) {
  if (!streaming_) co_return true;
  if (last) streaming_ = false;
  if (conn_.http10()) co_return data.empty() || co_await conn_.write(data, {});
  if (data.empty() && !last) co_return true;
  // The data is copied behind its size line (one write, one segment); streams' pieces are small.
  std::string& out = conn_.scratch();
  out.clear();
  appendChunk(out, data, last);
  co_return co_await conn_.write(out, {});
}

Task<bool> Exchange::endStream() {
  co_return co_await writeStream({}, true);
}

// --- HttpServer

namespace {

Result<tcp::endpoint> resolveListen(const std::string& host, int port) {
  error_code ec;
  auto address = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (!ec) return tcp::endpoint(address, static_cast<unsigned short>(port));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res)
    return Result<tcp::endpoint>::failure("cannot resolve listen address " + host);
  tcp::endpoint ep;
  ep.resize(res->ai_addrlen);
  std::memcpy(ep.data(), res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  ep.port(static_cast<unsigned short>(port));
  return ep;
}

std::string label(const std::string& host, int port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

// Drops the connection that has waited longest for a request head (of `client`, when given);
// false when there is none to drop.
bool evictOldestWaiting(LoopState& loop, const std::string* client) {
  for (Connection* c : loop.waiting) {
    if (client && c->client() != *client) continue;
    c->evict();
    return true;
  }
  return false;
}

// At the global cap with nobody idle on this loop: asks another loop that has an idle
// connection to drop its oldest. The new connection is admitted now (the count goes one over
// the cap until that loop has done so).
bool evictElsewhere(HttpServer::Shared& shared, std::size_t self) {
  for (std::size_t i = 0; i < shared.loops.size(); ++i) {
    if (i == self) continue;
    LoopState* other = shared.loops[i].get();
    if (other->waiting_count.load(std::memory_order_relaxed) == 0) continue;
    asio::post(other->ctx, [other] { evictOldestWaiting(*other, nullptr); });
    return true;
  }
  return false;
}

// Takes an accepted connection unless a cap refuses it (the socket then closes as it goes).
void admit(HttpServer::Shared& shared, const std::shared_ptr<HttpServer::Shared>& keep,
           std::size_t index, tcp::socket socket) {
  LoopState& loop = *shared.loops[index];
  error_code ec;
  tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return;
  std::string client = peer.address().to_string();
  if (shared.connections.load(std::memory_order_relaxed) >= shared.limits.max_connections &&
      !evictOldestWaiting(loop, nullptr) && !evictElsewhere(shared, index))
    return;
  if (shared.per_client_cap_per_loop > 0) {
    auto it = loop.per_client.find(client);
    if (it != loop.per_client.end() && it->second >= shared.per_client_cap_per_loop &&
        !evictOldestWaiting(loop, &client))
      return;
  }
  socket.set_option(tcp::no_delay(true), ec);
  ++loop.per_client[client];
  ++loop.open;
  shared.connections.fetch_add(1, std::memory_order_relaxed);
  auto conn = std::make_shared<Connection>(std::move(socket), keep, loop, index, std::move(client));
  asio::co_spawn(loop.ctx, Connection::run(std::move(conn)), asio::detached);
}

// Connections queued at once are taken together (as nginx's multi_accept), up to this many per
// turn of the loop: taking one per turn, behind every other ready handler, let a burst of
// thousands overflow the listen queue, and a client whose handshake the kernel dropped waits
// seconds for the retransmission.
constexpr int kAcceptBurst = 128;

Task<void> acceptLoop(std::shared_ptr<HttpServer::Shared> shared, std::size_t index) {
  LoopState& loop = *shared->loops[index];
  asio::steady_timer backoff(loop.ctx);
  {
    error_code ec;
    loop.acceptor->non_blocking(true, ec);  // the burst's accepts below never wait
  }
  for (;;) {
    error_code ec;
    tcp::socket socket =
        co_await loop.acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (shared->stopping.load(std::memory_order_relaxed)) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
      // Out of file descriptors: close an idle upstream connection of this loop and accept
      // again, or when there is none stop accepting briefly instead of spinning on the error.
      if (ec == asio::error::no_descriptors || ec.value() == ENFILE) {
        if (shared->reclaim_descriptor && shared->reclaim_descriptor(index)) continue;
        backoff.expires_after(std::chrono::milliseconds(50));
        co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      continue;
    }
    admit(*shared, shared, index, std::move(socket));
    for (int taken = 1; taken < kAcceptBurst; ++taken) {
      tcp::socket more = loop.acceptor->accept(ec);
      if (ec) break;  // none queued (would_block), or an error the awaited accept will see
      admit(*shared, shared, index, std::move(more));
    }
  }
}

}  // namespace

HttpServer::HttpServer(EventLoops& loops, Handler handler, ServerLimits limits, std::string name,
                       std::shared_ptr<boost::asio::ssl::context> tls)
    : loops_(loops), shared_(std::make_shared<Shared>()) {
  shared_->handler = std::move(handler);
  shared_->tls = std::move(tls);
  shared_->limits = limits;
  shared_->name = std::move(name);
  for (std::size_t i = 0; i < loops.size(); ++i)
    shared_->loops.push_back(std::make_unique<LoopState>(loops.context(i)));
  if (limits.max_connections_per_client > 0)
    shared_->per_client_cap_per_loop =
        (limits.max_connections_per_client + loops.size() - 1) / loops.size();
}

void HttpServer::setDescriptorReclaimer(std::function<bool(std::size_t loop)> reclaim) {
  shared_->reclaim_descriptor = std::move(reclaim);
}

HttpServer::~HttpServer() {
  stop();
  // The acceptors of every loop live in Shared, which coroutines still pending on the loops keep
  // alive; whichever loop is destroyed last would release them after another loop's reactor is
  // gone. Close them now (the loops are stopped, see the header), while every loop still exists.
  for (auto& loop : shared_->loops) loop->acceptor.reset();
}

Status HttpServer::listen(const std::string& host, int port) {
  auto endpoint = resolveListen(host, port);
  if (!endpoint) return Status::error(endpoint.error());
  const bool reuse_port = shared_->limits.reuse_port;
  auto open = [&](LoopState& loop, int bind_port) -> Status {
    error_code ec;
    tcp::endpoint ep = *endpoint;
    ep.port(static_cast<unsigned short>(bind_port));
    tcp::acceptor acceptor(loop.ctx);
    acceptor.open(ep.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && reuse_port) {
      const int one = 1;
      if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        ec = error_code(errno, boost::system::system_category());
    }
    if (!ec) acceptor.bind(ep, ec);
    if (ec == asio::error::address_in_use)
      return Status::error("address already in use: " + label(host, bind_port));
    if (!ec) acceptor.listen(4096, ec);
    if (ec)
      return Status::error("cannot listen on " + label(host, bind_port) + ": " + ec.message());
    loop.acceptor.emplace(std::move(acceptor));
    return {};
  };
  LoopState& first = *shared_->loops[0];
  if (Status s = open(first, port); !s) return s;
  port_ = first.acceptor->local_endpoint().port();
  for (std::size_t i = 1; i < shared_->loops.size(); ++i) {
    LoopState& loop = *shared_->loops[i];
    if (reuse_port) {
      if (Status s = open(loop, port_); !s) return s;
      continue;
    }
    // Every loop accepts from the one listening socket (a duplicate descriptor per loop).
    const int fd = ::dup(first.acceptor->native_handle());
    if (fd < 0)
      return Status::error("cannot share the listening socket: " + std::string(strerror(errno)));
    error_code ec;
    loop.acceptor.emplace(loop.ctx);
    loop.acceptor->assign(endpoint->protocol(), fd, ec);
    if (ec) return Status::error("cannot share the listening socket: " + ec.message());
  }
  return {};
}

void HttpServer::start() {
  for (std::size_t i = 0; i < shared_->loops.size(); ++i)
    if (shared_->loops[i]->acceptor)
      asio::co_spawn(shared_->loops[i]->ctx, acceptLoop(shared_, i), asio::detached);
}

void HttpServer::stop() {
  shared_->stopping = true;
  for (auto& loop_ptr : shared_->loops) {
    LoopState* loop = loop_ptr.get();
    asio::post(loop->ctx, [loop, keep = shared_] {
      error_code ignored;
      if (loop->acceptor) loop->acceptor->close(ignored);
      // Connections between requests close now; those in a request finish it first.
      while (!loop->waiting.empty()) evictOldestWaiting(*loop, nullptr);
    });
  }
}

std::size_t HttpServer::connections() const {
  return shared_->connections.load(std::memory_order_relaxed);
}

}  // namespace aigw::net
