// The upstream client on Asio + Beast: Beast parses the responses (status, headers, chunked
// framing, trailers, interim 1xx), Asio does sockets, TLS and DNS. See proxy/upstream.hpp.
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_map>
#include <vector>

#include "proxy/net/socket_io.hpp"
#include "proxy/net/watchdog.hpp"
#include "proxy/upstream.hpp"

namespace aigw::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

// A framing error found by Beast's parser (as opposed to a socket error).
static bool isHttpError(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category();
}

class TlsSettings {
 public:
  asio::ssl::context ctx{asio::ssl::context::tls_client};
  bool verify = true;
};

Result<std::shared_ptr<TlsSettings>> makeTlsSettings(const UpstreamClientOptions& options) {
  auto tls = std::make_shared<TlsSettings>();
  tls->verify = options.verify_tls;
  SSL_CTX* c = tls->ctx.native_handle();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  // No compression (CRIME); a peer that closes without close_notify ends the body like EOF
  // would, and the HTTP framing decides whether that was complete.
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(c, kAlpn, sizeof kAlpn);
  SSL_CTX_set_default_verify_paths(c);
  if (!options.ca_file.empty() &&
      SSL_CTX_load_verify_locations(c, options.ca_file.c_str(), nullptr) != 1) {
    return Result<std::shared_ptr<TlsSettings>>::failure("cannot load the CA file " +
                                                         options.ca_file);
  }
  SSL_CTX_set_verify(c, tls->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  return tls;
}

namespace {

constexpr std::size_t kPiece = 8 * 1024;                 // body bytes handed over per read
constexpr std::size_t kConnBuffer = 4 * 1024;            // a connection's read buffer to start with
constexpr auto kRecentlyIdle = std::chrono::seconds(1);  // see Conn::idleAndOpen()
constexpr std::chrono::milliseconds kNoDescriptorsPause{25};  // between connects at the fd limit
constexpr std::size_t kHeaderLimit = 64 * 1024;               // upstream response head
constexpr std::size_t kCoalesceBody = 16 * 1024;  // small bodies leave in the head's write
constexpr std::size_t kMaxHeaderFields = 100;

UpstreamError makeError(UpstreamFailure kind, std::string message) {
  return UpstreamError{kind, std::move(message)};
}

bool isIpLiteral(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

std::string hostHeader(const http::ParsedUrl& url) {
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  const int default_port = url.scheme == "https" ? 443 : 80;
  if (url.port != default_port) host += ":" + std::to_string(url.port);
  return host;
}

// Request line, Host, the caller's headers minus those the client owns, framing. False if the
// method or a header could corrupt the message.
bool buildHead(const UpstreamRequest& req, const http::ParsedUrl& url, std::string& head) {
  if (!http::isToken(req.method)) return false;
  std::size_t size = req.method.size() + url.target.size() + url.host.size() + 96;
  for (const Header& h : req.headers) size += h.name.size() + h.value.size() + 4;
  head.reserve(size + (req.body.size() < kCoalesceBody ? req.body.size() : 0));
  head += req.method;
  head += ' ';
  head += url.target;
  head += " HTTP/1.1\r\nHost: ";
  head += req.host.empty() ? hostHeader(url) : req.host;
  head += "\r\n";
  for (const Header& h : req.headers) {
    if (!http::isToken(h.name) || http::hasCtl(h.value)) return false;
    // Upgrade is dropped too: a 101 would hand us a protocol this client cannot speak.
    if (http::iequals(h.name, "host") || http::iequals(h.name, "content-length") ||
        http::iequals(h.name, "connection") || http::iequals(h.name, "transfer-encoding") ||
        http::iequals(h.name, "upgrade"))
      continue;
    head += h.name;
    head += ": ";
    head += h.value;
    head += "\r\n";
  }
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    head += "Content-Length: ";
    head += std::to_string(req.body.size());
    head += "\r\n";
  }
  head += "Connection: keep-alive\r\n\r\n";
  return true;
}

// Which limit a wait is under, for the timeout message.
struct Phase {
  const char* waiting_for;
  int limit_ms;
  bool is_total;
  Clock::time_point at;
};

Phase phase(int phase_ms, const char* waiting_for, Clock::time_point total_end, int total_ms) {
  const auto phase_end =
      phase_ms > 0 ? Clock::now() + std::chrono::milliseconds(phase_ms) : Clock::time_point::max();
  if (total_end < phase_end) return {waiting_for, total_ms, true, total_end};
  return {waiting_for, phase_ms, false, phase_end};
}

std::string timeoutMessage(const Phase& p, const std::string& label) {
  if (p.is_total)
    return "upstream timed out after the total limit of " + std::to_string(p.limit_ms) +
           " ms while " + p.waiting_for + " (" + label + ")";
  return std::string("upstream timed out ") + p.waiting_for + " after " +
         std::to_string(p.limit_ms) + " ms (" + label + ")";
}

}  // namespace

// One upstream connection: a socket, TLS when https, the read buffer and a watchdog that closes
// the socket when the current phase's deadline passes.
class Conn {
 public:
  Conn(const net::Executor& ex, std::string key, std::string label)
      : socket(ex),
        watchdog(ex, [this] { abort(); }),
        key_(std::move(key)),
        label_(std::move(label)) {}

  tcp::socket& lowest() { return tls ? tls->next_layer() : socket; }
  void abort() {
    error_code ignored;
    lowest().close(ignored);
  }
  // Zero-wait check for a pooled connection: false if the peer closed it or sent something.
  // One idle for less than kRecentlyIdle is not probed with a recv(): upstreams close idle
  // connections after seconds, not at once, and a reused connection that turns out closed is
  // retried on a fresh one all the same (UpstreamClient::send). Under load that is a system
  // call fewer per request.
  bool idleAndOpen(Clock::time_point now) {
    if (!lowest().is_open() || buffer.size() > 0) return false;
    if (tls && SSL_pending(tls->native_handle()) > 0) return false;
    if (now - idle_since < kRecentlyIdle) return true;
    char byte;
    const ssize_t n = ::recv(lowest().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  // Writes what a plain socket takes at once (proxy/net/socket_io.hpp); true when all went.
  bool sendNow(std::array<asio::const_buffer, 2>& buffers, error_code& ec) {
    return !tls && net::sendNow(socket, buffers, ec);
  }
  template <typename Buffers>
  net::Task<std::size_t> write(const Buffers& buffers, error_code& ec) {
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    if (tls) co_return co_await asio::async_write(*tls, buffers, token);
    co_return co_await asio::async_write(socket, buffers, token);
  }
  // Reads up to the end of a response head. A plain connection holds no buffer while it waits
  // (thousands of requests waiting for their upstreams' first byte keep none); over TLS Beast
  // reads into one that holds a whole head (a smaller one is read 512 bytes at a time).
  template <typename Parser>
  net::Task<void> readHeader(Parser& parser, error_code& ec) {
    if (!tls) {
      co_await net::parseFrom(
          socket, buffer, read, parser, [](const Parser& p) { return p.is_header_done(); }, ec);
      co_return;
    }
    if (buffer.capacity() < kConnBuffer) buffer.reserve(kConnBuffer);
    co_await bhttp::async_read_header(*tls, buffer, parser,
                                      asio::redirect_error(asio::use_awaitable, ec));
  }
  // A plain connection's read buffer, once parsed empty, is given back (the next read takes
  // only what comes); over TLS it stays (see fillTls()).
  void releaseBuffer() {
    if (!tls && buffer.size() == 0 && buffer.capacity() > 0) buffer.shrink_to_fit();
  }
  // Reads more bytes of a TLS connection into `buffer` (eof: the peer closed), into a small
  // buffer: proxy/net/socket_io.hpp says why TLS is not read like a plain socket.
  net::Task<void> fillTls(error_code& ec) {
    const std::size_t n = co_await tls->async_read_some(
        buffer.prepare(kConnBuffer), asio::redirect_error(asio::use_awaitable, ec));
    buffer.commit(n);
  }

  const std::string& key() const { return key_; }
  const std::string& label() const { return label_; }

  tcp::socket socket;                                   // moved into `tls` for https
  std::unique_ptr<asio::ssl::stream<tcp::socket>> tls;  // boxed: most upstreams are plain
  beast::flat_buffer buffer;
  net::ReadState read;  // how the socket was last read (see net::parseFrom())
  net::Watchdog watchdog;
  Clock::time_point idle_since{};
  bool reused = false;

 private:
  std::string key_;
  std::string label_;
};

struct UpstreamClient::Impl {
  net::Executor executor;
  std::shared_ptr<TlsSettings> tls;
  UpstreamClientOptions options;
  tcp::resolver resolver;
  std::unordered_map<std::string, std::vector<std::unique_ptr<Conn>>> idle;

  Impl(net::Executor ex, std::shared_ptr<TlsSettings> t, UpstreamClientOptions o)
      : executor(ex), tls(std::move(t)), options(std::move(o)), resolver(ex) {}

  // Lists are in return order, so expired connections are at the front.
  void prune(std::vector<std::unique_ptr<Conn>>& list, Clock::time_point now) {
    if (options.idle_keepalive_ms <= 0) return;
    const auto limit = std::chrono::milliseconds(options.idle_keepalive_ms);
    std::size_t n = 0;
    while (n < list.size() && now - list[n]->idle_since > limit) ++n;
    list.erase(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(n));
  }

  std::unique_ptr<Conn> take(const std::string& key) {
    auto it = idle.find(key);
    if (it == idle.end()) return nullptr;
    const auto now = Clock::now();
    prune(it->second, now);
    while (!it->second.empty()) {
      std::unique_ptr<Conn> conn = std::move(it->second.back());
      it->second.pop_back();
      if (conn->idleAndOpen(now)) {
        conn->reused = true;
        return conn;
      }
    }
    return nullptr;
  }

  void put(std::unique_ptr<Conn> conn) {
    if (options.max_idle_per_host <= 0) return;
    const auto now = Clock::now();
    conn->idle_since = now;
    conn->watchdog.disarm();
    // Sweeping every host keeps connections to hosts no longer used from lingering.
    for (auto it = idle.begin(); it != idle.end();) {
      prune(it->second, now);
      it = it->second.empty() ? idle.erase(it) : std::next(it);
    }
    auto& list = idle[conn->key()];
    if (list.size() >= static_cast<std::size_t>(options.max_idle_per_host))
      list.erase(list.begin());
    list.push_back(std::move(conn));
  }

  // Closes the longest-idle pooled connection, to any host; false when there is none.
  bool dropOneIdle() {
    std::vector<std::unique_ptr<Conn>>* oldest = nullptr;
    for (auto& [key, list] : idle)
      if (!list.empty() && (!oldest || list.front()->idle_since < oldest->front()->idle_since))
        oldest = &list;
    if (!oldest) return false;
    oldest->erase(oldest->begin());
    return true;
  }

  // A new connection, or at the descriptor limit a pooled one that became free.
  net::Task<std::unique_ptr<Conn>> open(const http::ParsedUrl& url, const std::string& key,
                                        const Phase& ph, UpstreamError& err);
};

namespace {

class Response : public UpstreamResponse {
 public:
  Response(std::weak_ptr<UpstreamClient::Impl> client, std::unique_ptr<Conn> conn,
           const UpstreamTimeouts& timeouts, Clock::time_point total_end)
      : client_(std::move(client)),
        conn_(std::move(conn)),
        timeouts_(timeouts),
        total_end_(total_end) {}

  // Reads up to the final (non-1xx) response head. Sets `stale` when a reused connection died
  // before sending anything, so the caller may retry on a fresh one.
  net::Task<bool> start(bool head_request, bool& stale) {
    const Phase ph = phase(timeouts_.first_byte_ms, "waiting for the first byte", total_end_,
                           timeouts_.total_ms);
    conn_->watchdog.arm(ph.at);
    for (;;) {
      parser_.emplace();
      parser_->header_limit(kHeaderLimit);
      // The proxy bounds what it keeps. Not boost::none: Beast 1.74 compares a Content-Length
      // against an empty optional as if the limit were below it.
      parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
      if (head_request) parser_->skip(true);
      error_code ec;
      co_await conn_->readHeader(*parser_, ec);
      if (ec) {
        if (conn_->watchdog.expired()) {
          fail(UpstreamFailure::Timeout, timeoutMessage(ph, conn_->label()));
        } else if (ec == asio::error::eof || ec == asio::error::connection_reset ||
                   ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
                   ec == asio::error::broken_pipe) {
          stale = conn_->reused && !parser_->got_some();
          fail(UpstreamFailure::Closed,
               "upstream closed the connection before answering (" + conn_->label() + ")");
        } else if (isHttpError(ec)) {
          fail(UpstreamFailure::Protocol,
               "upstream sent a malformed response: " + ec.message() + " (" + conn_->label() + ")");
        } else {
          fail(UpstreamFailure::Closed, "upstream I/O error while waiting for the answer: " +
                                            ec.message() + " (" + conn_->label() + ")");
        }
        co_return false;
      }
      const int status = static_cast<int>(parser_->get().result_int());
      if (status == 101) {
        fail(UpstreamFailure::Protocol,
             "upstream switched protocols, which the gateway never asks for (" + conn_->label() +
                 ")");
        co_return false;
      }
      if (status >= 100 && status < 200) continue;  // interim answer; the real one follows
      status_ = status;
      for (const auto& f : parser_->get())
        headers_.push_back({http::lowered(f.name_string()), std::string(f.value())});
      if (headers_.size() > kMaxHeaderFields) {
        fail(UpstreamFailure::Protocol, "upstream sent more than " +
                                            std::to_string(kMaxHeaderFields) + " header fields (" +
                                            conn_->label() + ")");
        co_return false;
      }
      co_return true;
    }
  }

  int status() const override { return status_; }
  const Headers& headers() const override { return headers_; }
  const UpstreamError& error() const override { return error_; }
  bool exhausted() const override { return !conn_; }

  net::Task<bool> read(std::string& out) override {
    if (!conn_) co_return false;
    if (parser_->is_done()) {
      finish();
      co_return false;
    }
    const Phase ph =
        phase(timeouts_.idle_ms, "waiting for body data", total_end_, timeouts_.total_ms);
    conn_->watchdog.arm(ph.at);
    for (;;) {
      error_code ec;
      const std::size_t before = out.size();
      parseBuffered(out, ec);
      conn_->releaseBuffer();  // the caller may now await its client for a while
      const bool got = out.size() > before;
      if (ec) {
        failRead(ec, ph);
        co_return got;  // data first; the next read reports the failure
      }
      if (parser_->is_done()) {
        finish();
        co_return got;
      }
      if (got) co_return true;
      if (conn_->tls) {
        co_await conn_->fillTls(ec);
      } else {
        // Waits here rather than in a helper coroutine: each event of a stream is read here,
        // and a coroutine frame fewer per read counts.
        conn_->releaseBuffer();
        // Between a stream's events the wait holds no buffer (thousands of streams wait here
        // at once), so it is a readiness wait rather than net::waitingRead(); a socket the
        // last read emptied is waited for first.
        auto& c = *conn_;
        for (;;) {
          if (!c.read.drained && net::readNow(c.socket, c.buffer, ec, c.read.drained)) break;
          c.read.drained = false;
          co_await c.socket.async_wait(tcp::socket::wait_read,
                                       asio::redirect_error(asio::use_awaitable, ec));
          if (ec) break;
        }
      }
      if (ec == asio::error::eof) {
        // The peer closed: that ends a body delimited by the close; any other is cut short.
        error_code end;
        parser_->put_eof(end);
        if (!end && parser_->is_done()) {
          finish();
          co_return false;
        }
        failRead(end ? end : make_error_code(bhttp::error::partial_message), ph);
        co_return false;
      }
      if (ec) {
        failRead(ec, ph);
        co_return false;
      }
    }
  }

 private:
  void failRead(const error_code& ec, const Phase& ph) {
    if (conn_->watchdog.expired())
      fail(UpstreamFailure::Timeout, timeoutMessage(ph, conn_->label()));
    else if (isHttpError(ec) && ec != bhttp::error::partial_message)
      fail(UpstreamFailure::Protocol,
           "upstream sent a malformed body: " + ec.message() + " (" + conn_->label() + ")");
    else if (const auto left = parser_->content_length_remaining(); left && *left > 0)
      fail(UpstreamFailure::Closed, "upstream closed the connection with " + std::to_string(*left) +
                                        " bytes of the body missing (" + conn_->label() + ")");
    else
      fail(UpstreamFailure::Closed,
           "upstream closed the connection before the end of the body (" + conn_->label() + ")");
  }

  // Parses the bytes already read into `out`, without waiting: every chunk of a chunked body
  // that arrived together, so a stream's events that came in one segment leave in one write.
  // The body passes through the loop thread's piece, free again before anything is awaited.
  void parseBuffered(std::string& out, error_code& ec) {
    thread_local std::array<char, kPiece> piece;
    while (!parser_->is_done() && conn_->buffer.size() > 0) {
      auto& body = parser_->get().body();
      body.data = piece.data();
      body.size = piece.size();
      const std::size_t used = parser_->put(conn_->buffer.data(), ec);
      conn_->buffer.consume(used);
      out.append(piece.data(), piece.size() - body.size);
      if (ec == bhttp::error::need_buffer) {
        ec = {};
        continue;
      }
      if (ec == bhttp::error::need_more) {
        ec = {};
        return;
      }
      if (ec || used == 0) return;
    }
  }

  void fail(UpstreamFailure kind, std::string message) {
    error_ = makeError(kind, std::move(message));
    conn_.reset();  // closes the socket: nothing more can be read or reused
  }
  // The body ended cleanly: the connection goes back to its loop's pool if it may be reused.
  void finish() {
    if (!conn_) return;
    auto client = client_.lock();
    if (client && parser_->keep_alive() && conn_->lowest().is_open()) client->put(std::move(conn_));
    conn_.reset();
  }

  std::weak_ptr<UpstreamClient::Impl> client_;
  std::unique_ptr<Conn> conn_;
  UpstreamTimeouts timeouts_;
  Clock::time_point total_end_;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> parser_;
  int status_ = 0;
  Headers headers_;
  UpstreamError error_;
};

}  // namespace

net::Task<std::unique_ptr<Conn>> UpstreamClient::Impl::open(const http::ParsedUrl& url,
                                                            const std::string& key, const Phase& ph,
                                                            UpstreamError& err) {
  const std::string label =
      (url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host) + ":" +
      std::to_string(url.port);
  auto conn = std::make_unique<Conn>(executor, key, label);
  // The resolver cannot interrupt getaddrinfo, but cancel() abandons it, so a slow DNS server
  // is bounded by the same deadline.
  net::Watchdog dns_watch(executor, [this] { resolver.cancel(); });
  conn->watchdog.arm(ph.at);
  dns_watch.arm(ph.at);
  error_code ec;
  std::vector<tcp::endpoint> endpoints;
  if (isIpLiteral(url.host)) {
    endpoints.emplace_back(asio::ip::make_address(url.host), static_cast<unsigned short>(url.port));
  } else {
    auto results = co_await resolver.async_resolve(url.host, std::to_string(url.port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      err = dns_watch.expired()
                ? makeError(UpstreamFailure::Timeout, timeoutMessage(ph, label))
                : makeError(UpstreamFailure::Connect,
                            "upstream DNS lookup for " + url.host + " failed: " + ec.message());
      co_return nullptr;
    }
    for (const auto& r : results) endpoints.push_back(r.endpoint());
  }
  dns_watch.disarm();
  if (endpoints.empty()) ec = asio::error::host_not_found;
  // Each address in turn (Asio's range connect would report a socket it could not open as
  // "Operation canceled").
  for (std::size_t i = 0; i < endpoints.size();) {
    error_code ignored;
    conn->socket.close(ignored);
    conn->socket.open(endpoints[i].protocol(), ec);
    // Out of file descriptors: rather than fail a request that a moment later would succeed,
    // take a connection to this host that came back to the pool meanwhile, or close an idle
    // one to another host, or wait for a descriptor to be freed (an answer that ends frees
    // its client's or returns its upstream's) within the connect deadline.
    if (ec == asio::error::no_descriptors || ec.value() == ENFILE) {
      if (auto pooled = take(key)) co_return pooled;
      if (dropOneIdle()) continue;
      if (Clock::now() + kNoDescriptorsPause >= ph.at) break;
      asio::steady_timer pause(executor, kNoDescriptorsPause);
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (!ec)
      co_await conn->socket.async_connect(endpoints[i],
                                          asio::redirect_error(asio::use_awaitable, ec));
    if (!ec || conn->watchdog.expired()) break;
    ++i;
  }
  if (ec) {
    err = conn->watchdog.expired()
              ? makeError(UpstreamFailure::Timeout, timeoutMessage(ph, label))
              : makeError(UpstreamFailure::Connect,
                          "upstream connect to " + label + " failed: " + ec.message());
    co_return nullptr;
  }
  conn->socket.set_option(tcp::no_delay(true), ec);
  if (url.scheme == "https") {
    conn->tls = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(conn->socket), tls->ctx);
    SSL* ssl = conn->tls->native_handle();
    const bool ip = isIpLiteral(url.host);
    if (!ip) SSL_set_tlsext_host_name(ssl, url.host.c_str());  // SNI must not carry an IP
    if (tls->verify) {
      if (ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url.host.c_str());
      } else {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        SSL_set1_host(ssl, url.host.c_str());
      }
    }
    co_await conn->tls->async_handshake(asio::ssl::stream_base::client,
                                        asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      const long verify_result = SSL_get_verify_result(ssl);
      if (conn->watchdog.expired())
        err = makeError(UpstreamFailure::Timeout, timeoutMessage(ph, label));
      else if (tls->verify && verify_result != X509_V_OK)
        err = makeError(UpstreamFailure::Connect,
                        "upstream TLS certificate verification failed for " + label + ": " +
                            X509_verify_cert_error_string(verify_result));
      else
        err = makeError(UpstreamFailure::Connect,
                        "upstream TLS handshake with " + label + " failed: " + ec.message());
      co_return nullptr;
    }
  }
  co_return conn;
}

std::string UpstreamResponse::header(std::string_view name) const {
  const std::string* v = http::findHeader(headers(), name);
  return v ? *v : std::string();
}

net::Task<bool> UpstreamResponse::readAll(std::string& out, std::size_t limit) {
  const std::size_t start = out.size();
  while (co_await read(out)) {
    if (out.size() - start > limit) co_return false;
  }
  co_return error().kind == UpstreamFailure::None;
}

UpstreamClient::UpstreamClient(net::Executor executor, std::shared_ptr<TlsSettings> tls,
                               UpstreamClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(tls), std::move(options))) {}

UpstreamClient::~UpstreamClient() = default;

std::size_t UpstreamClient::idleConnections() const {
  std::size_t n = 0;
  for (const auto& [key, list] : impl_->idle) n += list.size();
  return n;
}

bool UpstreamClient::dropOneIdle() {
  return impl_->dropOneIdle();
}

net::Task<Result<std::unique_ptr<UpstreamResponse>, UpstreamError>> UpstreamClient::send(
    const UpstreamRequest& request, const UpstreamTimeouts& timeouts) {
  using R = Result<std::unique_ptr<UpstreamResponse>, UpstreamError>;
  const auto started = Clock::now();
  const auto total_end = timeouts.total_ms > 0
                             ? started + std::chrono::milliseconds(timeouts.total_ms)
                             : Clock::time_point::max();
  // The URL is not echoed: a query string may carry an API key.
  http::ParsedUrl url;
  if (!http::parseUrl(request.url, url)) {
    UpstreamError invalid = makeError(UpstreamFailure::Connect, "invalid upstream URL");
    invalid.sent = false;
    co_return R::failure(std::move(invalid));
  }
  std::string head;
  if (!buildHead(request, url, head))
    co_return R::failure(makeError(UpstreamFailure::Protocol,
                                   "invalid upstream request method or header name/value"));
  std::string_view body = request.body;
  if (body.size() < kCoalesceBody) {
    head += body;
    body = {};
  }
  const std::string key = url.scheme + "://" + url.host + ":" + std::to_string(url.port);
  const bool head_request = request.method == "HEAD";

  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Conn> conn = attempt == 0 ? impl_->take(key) : nullptr;
    if (!conn) {
      UpstreamError err;
      conn = co_await impl_->open(
          url, key, phase(timeouts.connect_ms, "connecting", total_end, timeouts.total_ms), err);
      if (!conn) {
        err.sent = false;  // nothing was written: another upstream may safely take it
        co_return R::failure(std::move(err));
      }
    }
    const Phase ph =
        phase(timeouts.first_byte_ms, "sending the request", total_end, timeouts.total_ms);
    conn->watchdog.arm(ph.at);
    error_code ec;
    std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(body)};
    if (!conn->sendNow(buffers, ec) && !ec) co_await conn->write(buffers, ec);
    if (ec) {
      if (conn->reused && attempt == 0 && !conn->watchdog.expired()) continue;
      UpstreamError failed =
          conn->watchdog.expired()
              ? makeError(UpstreamFailure::Timeout, timeoutMessage(ph, conn->label()))
              : makeError(UpstreamFailure::Closed,
                          "upstream connection failed while sending "
                          "the request: " +
                              ec.message() + " (" + conn->label() + ")");
      co_return R::failure(std::move(failed));
    }
    const bool reused = conn->reused;
    auto response = std::make_unique<Response>(impl_, std::move(conn), timeouts, total_end);
    bool stale = false;
    if (co_await response->start(head_request, stale)) co_return R(std::move(response));
    if (stale && reused && attempt == 0) continue;
    co_return R::failure(response->error());
  }
}

}  // namespace aigw::proxy
