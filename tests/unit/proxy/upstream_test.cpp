#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "proxy/upstream.hpp"
#include "support/sync_upstream.hpp"

using namespace aigw::proxy;
using aigw::http::ParsedUrl;
using aigw::http::parseUrl;
using aigw::testing::SyncClient;
using aigw::testing::SyncResponse;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

void ignoreSigpipe() {
  std::signal(SIGPIPE, SIG_IGN);
}

// A one-shot latch a server handler blocks on until the test releases it. The wait is bounded so
// a failing test cannot hang the server's shutdown.
class Gate {
 public:
  void open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool wait(std::chrono::milliseconds limit = 5000ms) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Declared after the server so it opens the gate before the server joins its handlers.
struct GateGuard {
  Gate& gate;
  ~GateGuard() { gate.open(); }
};

// httplib server on 127.0.0.1:<ephemeral port>, running on its own thread.
class TestServer {
 public:
  explicit TestServer(std::unique_ptr<httplib::Server> server = std::make_unique<httplib::Server>())
      : svr(std::move(server)) {
    ignoreSigpipe();
    // httplib writes head and body separately; with Nagle each response would wait for a
    // delayed ACK.
    svr->set_tcp_nodelay(true);
  }
  ~TestServer() { stop(); }

  void start() {
    port = svr->bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    startBound();
  }
  // For a server the test bound itself.
  void startBound() {
    thread_ = std::thread([this] { svr->listen_after_bind(); });
    auto limit = Clock::now() + 5s;
    while (!svr->is_running() && Clock::now() < limit) std::this_thread::sleep_for(1ms);
    REQUIRE(svr->is_running());
  }
  void stop() {
    if (!thread_.joinable()) return;
    svr->stop();
    thread_.join();
  }
  std::string url(const std::string& path, const std::string& scheme = "http",
                  const std::string& host = "127.0.0.1") const {
    return scheme + "://" + host + ":" + std::to_string(port) + path;
  }

  std::unique_ptr<httplib::Server> svr;
  int port = 0;

 private:
  std::thread thread_;
};

// Records the client ports a server saw, i.e. how many TCP connections were used.
class ConnCounter {
 public:
  void add(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mu_);
    ports_.insert(req.remote_port);
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return ports_.size();
  }

 private:
  std::mutex mu_;
  std::set<int> ports_;
};

// A scripted raw TCP server for misbehaviour httplib cannot produce. Connections are accepted
// one at a time and handed to the script with their index.
class RawServer {
 public:
  using Script = std::function<void(int index, int fd)>;

  explicit RawServer(Script script) : script_(std::move(script)) {
    ignoreSigpipe();
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listen_fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listen_fd_, 16) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    REQUIRE(::pipe(wake_) == 0);
    thread_ = std::thread([this] { run(); });
  }
  ~RawServer() {
    char c = 0;
    (void)!::write(wake_[1], &c, 1);
    thread_.join();
    ::close(listen_fd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int accepted() const { return accepted_; }

 private:
  void run() {
    for (;;) {
      pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (::poll(p, 2, -1) < 0) continue;
      if (p[1].revents) return;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      script_(accepted_++, fd);
      ::close(fd);
    }
  }

  Script script_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  int port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// One request (head + content-length body), read within 2 s; empty on EOF or timeout.
std::string readRequest(int fd) {
  std::string data;
  auto limit = Clock::now() + 2s;
  for (;;) {
    auto head_end = data.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      std::size_t length = 0;
      auto at = data.find("Content-Length: ");
      if (at != std::string::npos && at < head_end) length = std::stoul(data.substr(at + 16));
      if (data.size() >= head_end + 4 + length) return data;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(limit - Clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return {};
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return {};
    data.append(buf, static_cast<std::size_t>(n));
  }
}

void sendAll(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

UpstreamRequest get(std::string url) {
  UpstreamRequest req;
  req.method = "GET";
  req.url = std::move(url);
  return req;
}

UpstreamTimeouts shortTimeouts() {
  UpstreamTimeouts t;
  t.connect_ms = 2000;
  t.first_byte_ms = 2000;
  t.idle_ms = 2000;
  t.total_ms = 5000;
  return t;
}

// Sends and reads the whole body; "" with a failed CHECK on any error.
std::string fetch(SyncClient& client, const UpstreamRequest& req, int expect_status = 200) {
  auto res = client.send(req, shortTimeouts());
  REQUIRE_MESSAGE(res.ok(), (res.ok() ? "" : res.error().message));
  CHECK((*res)->status() == expect_status);
  std::string body;
  CHECK((*res)->readAll(body, 1 << 20));
  CHECK((*res)->error().kind == UpstreamFailure::None);
  return body;
}

}  // namespace

TEST_CASE("parseUrl") {
  ParsedUrl u;
  REQUIRE(parseUrl("https://api.openai.com/v1/chat/completions", u));
  CHECK(u.scheme == "https");
  CHECK(u.host == "api.openai.com");
  CHECK(u.port == 443);
  CHECK(u.target == "/v1/chat/completions");

  REQUIRE(parseUrl("http://example.com", u));
  CHECK(u.port == 80);
  CHECK(u.target == "/");

  REQUIRE(parseUrl("http://example.com:8080/a/b?x=1&y=2", u));
  CHECK(u.port == 8080);
  CHECK(u.target == "/a/b?x=1&y=2");

  REQUIRE(parseUrl("http://example.com?key=v", u));
  CHECK(u.target == "/?key=v");

  REQUIRE(parseUrl("HTTPS://Example.COM/Path#frag", u));
  CHECK(u.scheme == "https");
  CHECK(u.host == "example.com");
  CHECK(u.target == "/Path");

  REQUIRE(parseUrl("http://[::1]:9000/x", u));
  CHECK(u.host == "::1");
  CHECK(u.port == 9000);
  CHECK(u.target == "/x");

  REQUIRE(parseUrl("https://[2001:db8::1]", u));
  CHECK(u.host == "2001:db8::1");
  CHECK(u.port == 443);
  CHECK(u.target == "/");

  for (const char* bad :
       {"ftp://example.com/", "example.com/path", "http://", "http:///path", "http://:80/",
        "http://host:0/", "http://host:65536/", "http://host:8a/", "http://user@host/",
        "http://[::1/", "http://[zz]/", "http://ho st/", "http://host/pa th", "http://host/\r\n"}) {
    CAPTURE(bad);
    CHECK_FALSE(parseUrl(bad, u));
  }
}

TEST_CASE("content-length response and request framing") {
  TestServer server;
  std::mutex mu;
  std::string seen_host, seen_length, seen_custom, seen_body;
  server.svr->Post("/echo", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    seen_host = req.get_header_value("Host");
    seen_length = req.get_header_value("Content-Length");
    seen_custom = req.get_header_value("X-Custom");
    seen_body = req.body;
    res.set_content("echo:" + req.body, "application/json");
  });
  server.start();
  SyncClient client;

  UpstreamRequest req;
  req.url = server.url("/echo");
  req.body = R"({"hello":"world"})";
  req.headers = {{"X-Custom", "abc"},
                 {"Host", "evil.example"},
                 {"content-length", "999"},
                 {"Connection", "close"},
                 {"Transfer-Encoding", "chunked"}};
  CHECK(fetch(client, req) == std::string("echo:") + req.body);
  {
    std::lock_guard<std::mutex> lock(mu);
    CHECK(seen_host == "127.0.0.1:" + std::to_string(server.port));
    CHECK(seen_length == std::to_string(req.body.size()));
    CHECK(seen_custom == "abc");
    CHECK(seen_body == req.body);
  }

  auto res = client.send(req, shortTimeouts());
  REQUIRE(res.ok());
  CHECK((*res)->header("CONTENT-TYPE") == "application/json");
  CHECK((*res)->header("x-missing").empty());
  for (const Header& h : (*res)->headers()) {
    for (char c : h.name) CHECK_FALSE((c >= 'A' && c <= 'Z'));
  }
  std::string body;
  CHECK_FALSE((*res)->readAll(body, 3));  // over the limit
}

TEST_CASE("large request body is written in full") {
  TestServer server;
  server.svr->Post("/size", [&](const httplib::Request& req, httplib::Response& res) {
    res.set_content(std::to_string(req.body.size()), "text/plain");
  });
  server.start();
  SyncClient client;
  UpstreamRequest req;
  req.url = server.url("/size");
  req.body.assign(3 * 1024 * 1024 + 7, 'x');
  CHECK(fetch(client, req) == std::to_string(req.body.size()));
}

TEST_CASE("chunked response is streamed as it arrives") {
  Gate second_chunk;
  TestServer server;
  GateGuard guard{second_chunk};
  server.svr->Get("/stream", [&](const httplib::Request&, httplib::Response& res) {
    auto step = std::make_shared<int>(0);
    res.set_chunked_content_provider("text/event-stream",
                                     [&second_chunk, step](std::size_t, httplib::DataSink& sink) {
                                       if ((*step)++ == 0) return sink.write("data: first\n\n", 13);
                                       second_chunk.wait();
                                       sink.write("data: second\n\n", 14);
                                       sink.done();
                                       return true;
                                     });
  });
  server.start();
  SyncClient client;

  auto res = client.send(get(server.url("/stream")), shortTimeouts());
  REQUIRE(res.ok());
  CHECK((*res)->status() == 200);
  CHECK((*res)->header("transfer-encoding") == "chunked");
  std::string out;
  // The server cannot send the second chunk until the gate opens, which happens only after
  // read() returned: a buffering client would time out here instead.
  REQUIRE((*res)->read(out));
  CHECK(out == "data: first\n\n");
  second_chunk.open();
  while ((*res)->read(out)) {
  }
  CHECK((*res)->error().kind == UpstreamFailure::None);
  CHECK(out == "data: first\n\ndata: second\n\n");
}

TEST_CASE("chunks that arrived together are returned by one read") {
  Gate go;
  Gate both_sent;
  Gate finish;
  TestServer server;
  GateGuard guard_go{go};
  GateGuard guard_finish{finish};
  server.svr->Get("/burst", [&](const httplib::Request&, httplib::Response& res) {
    auto step = std::make_shared<int>(0);
    res.set_chunked_content_provider(
        "text/event-stream",
        [&go, &both_sent, &finish, step](std::size_t, httplib::DataSink& sink) {
          const int at = (*step)++;
          if (at == 0) return sink.write("data: 0\n\n", 9);
          if (at == 1) {
            go.wait();
            sink.write("data: a\n\n", 9);
            sink.write("data: b\n\n", 9);
            both_sent.open();
            return true;
          }
          finish.wait();
          sink.done();
          return true;
        });
  });
  server.start();
  SyncClient client;
  auto res = client.send(get(server.url("/burst")), shortTimeouts());
  REQUIRE(res.ok());
  std::string out;
  REQUIRE((*res)->read(out));
  CHECK(out == "data: 0\n\n");
  go.open();
  REQUIRE(both_sent.wait());
  // Both chunks sit in the socket (loopback delivers during send): one read returns them
  // together, and without waiting for the last chunk, which the server holds back.
  out.clear();
  REQUIRE((*res)->read(out));
  CHECK(out == "data: a\n\ndata: b\n\n");
  CHECK_FALSE((*res)->exhausted());
  finish.open();
  while ((*res)->read(out)) {
  }
  CHECK((*res)->error().kind == UpstreamFailure::None);
  CHECK((*res)->exhausted());
}

TEST_CASE("non-200 status with a body") {
  TestServer server;
  server.svr->Post("/limited", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 429;
    res.set_header("Retry-After", "3");
    res.set_content(R"({"error":"slow down"})", "application/json");
  });
  server.start();
  SyncClient client;
  UpstreamRequest req;
  req.url = server.url("/limited");
  CHECK(fetch(client, req, 429) == R"({"error":"slow down"})");
  auto res = client.send(req, shortTimeouts());
  REQUIRE(res.ok());
  CHECK((*res)->header("retry-after") == "3");
}

TEST_CASE("HEAD and 204 have no body") {
  TestServer server;
  server.svr->Get("/data", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content("0123456789", "text/plain");
  });
  server.svr->Delete("/gone",
                     [&](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  server.start();
  SyncClient client;
  UpstreamRequest head = get(server.url("/data"));
  head.method = "HEAD";
  auto res = client.send(head, shortTimeouts());
  REQUIRE(res.ok());
  CHECK((*res)->status() == 200);
  std::string body;
  CHECK_FALSE((*res)->read(body));
  CHECK((*res)->error().kind == UpstreamFailure::None);
  CHECK(body.empty());

  UpstreamRequest del = get(server.url("/gone"));
  del.method = "DELETE";
  CHECK(fetch(client, del, 204).empty());
  // The connection survived both bodiless responses.
  CHECK(fetch(client, get(server.url("/data"))) == "0123456789");
}

TEST_CASE("connection refused is a Connect failure") {
  // A bound socket that never listens refuses connections, and nobody else can take the port.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const int port = ntohs(addr.sin_port);

  SyncClient client;
  auto res = client.send(get("http://127.0.0.1:" + std::to_string(port) + "/"), shortTimeouts());
  ::close(fd);
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().kind == UpstreamFailure::Connect);
  CHECK(res.error().message.find("refused") != std::string::npos);

  auto bad = client.send(get("notaurl"), shortTimeouts());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == UpstreamFailure::Connect);
}

TEST_CASE("first-byte timeout") {
  Gate release;
  TestServer server;
  GateGuard guard{release};
  server.svr->Post("/slow", [&](const httplib::Request&, httplib::Response& res) {
    release.wait();
    res.set_content("late", "text/plain");
  });
  server.start();
  SyncClient client;
  UpstreamTimeouts t = shortTimeouts();
  t.first_byte_ms = 200;
  UpstreamRequest req;
  req.url = server.url("/slow");
  req.headers = {{"Authorization", "Bearer sk-secret"}};
  req.body = "secret body";
  auto started = Clock::now();
  auto res = client.send(req, t);
  auto elapsed = Clock::now() - started;
  release.open();
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().kind == UpstreamFailure::Timeout);
  CHECK(res.error().message ==
        "upstream timed out waiting for the first byte after 200 ms (127.0.0.1:" +
            std::to_string(server.port) + ")");
  CHECK(res.error().message.find("secret") == std::string::npos);
  CHECK(elapsed >= 190ms);
  // The gate stays shut until the call returns, so only the timer can have ended it (the
  // message says which); the upper bound only turns a timer that never fires into a failure,
  // and is loose because a loaded CI machine can delay any thread by seconds.
  CHECK(elapsed < 20s);
}

TEST_CASE("total timeout bounds the whole exchange") {
  Gate release;
  TestServer server;
  GateGuard guard{release};
  server.svr->Get("/slow", [&](const httplib::Request&, httplib::Response& res) {
    release.wait();
    res.set_content("late", "text/plain");
  });
  server.start();
  SyncClient client;
  UpstreamTimeouts t = shortTimeouts();
  t.total_ms = 150;
  auto res = client.send(get(server.url("/slow")), t);
  release.open();
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().kind == UpstreamFailure::Timeout);
  CHECK(res.error().message.find("total limit of 150 ms") != std::string::npos);
}

TEST_CASE("idle timeout in the middle of the body") {
  Gate release;
  TestServer server;
  GateGuard guard{release};
  server.svr->Get("/stall", [&](const httplib::Request&, httplib::Response& res) {
    auto step = std::make_shared<int>(0);
    res.set_chunked_content_provider("text/plain",
                                     [&release, step](std::size_t, httplib::DataSink& sink) {
                                       if ((*step)++ == 0) return sink.write("part", 4);
                                       release.wait();
                                       sink.done();
                                       return true;
                                     });
  });
  server.start();
  SyncClient client;
  UpstreamTimeouts t = shortTimeouts();
  t.idle_ms = 200;
  auto res = client.send(get(server.url("/stall")), t);
  REQUIRE(res.ok());
  std::string out;
  REQUIRE((*res)->read(out));
  CHECK(out == "part");
  auto started = Clock::now();
  CHECK_FALSE((*res)->read(out));
  auto elapsed = Clock::now() - started;
  release.open();
  CHECK((*res)->error().kind == UpstreamFailure::Timeout);
  CHECK((*res)->error().message.find("waiting for body data after 200 ms") != std::string::npos);
  CHECK(elapsed >= 190ms);
  // The gate stays shut until the call returns, so only the timer can have ended it (the
  // message says which); the upper bound only turns a timer that never fires into a failure,
  // and is loose because a loaded CI machine can delay any thread by seconds.
  CHECK(elapsed < 20s);
  CHECK_FALSE((*res)->read(out));  // stays failed
}

TEST_CASE("keep-alive reuses one connection") {
  TestServer server;
  ConnCounter conns;
  server.svr->Get("/ping", [&](const httplib::Request& req, httplib::Response& res) {
    conns.add(req);
    res.set_content("pong", "text/plain");
  });
  server.start();
  SyncClient client;
  CHECK(fetch(client, get(server.url("/ping"))) == "pong");
  CHECK(fetch(client, get(server.url("/ping"))) == "pong");
  CHECK(fetch(client, get(server.url("/ping"))) == "pong");
  CHECK(conns.count() == 1);
}

TEST_CASE("pool limits: max_idle_per_host and idle_keepalive_ms") {
  TestServer server;
  ConnCounter conns;
  server.svr->Get("/ping", [&](const httplib::Request& req, httplib::Response& res) {
    conns.add(req);
    res.set_content("pong", "text/plain");
  });
  server.start();

  SUBCASE("pooling disabled") {
    UpstreamClientOptions options;
    options.max_idle_per_host = 0;
    SyncClient client(options);
    CHECK(fetch(client, get(server.url("/ping"))) == "pong");
    CHECK(fetch(client, get(server.url("/ping"))) == "pong");
    CHECK(conns.count() == 2);
  }
  SUBCASE("idle connections expire") {
    UpstreamClientOptions options;
    options.idle_keepalive_ms = 10;
    SyncClient client(options);
    CHECK(fetch(client, get(server.url("/ping"))) == "pong");
    // Not synchronisation: the pooled connection has to age past idle_keepalive_ms.
    std::this_thread::sleep_for(30ms);
    CHECK(fetch(client, get(server.url("/ping"))) == "pong");
    CHECK(conns.count() == 2);
  }
}

TEST_CASE("IPv6 literal") {
  TestServer server;
  std::string seen_host;
  std::mutex mu;
  server.svr->Get("/v6", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    seen_host = req.get_header_value("Host");
    res.set_content("six", "text/plain");
  });
  server.port = server.svr->bind_to_any_port("::1");
  if (server.port <= 0) {
    MESSAGE("no IPv6 loopback here; skipped");
    return;
  }
  server.startBound();
  SyncClient client;
  CHECK(fetch(client, get("http://[::1]:" + std::to_string(server.port) + "/v6")) == "six");
  std::lock_guard<std::mutex> lock(mu);
  CHECK(seen_host == "[::1]:" + std::to_string(server.port));
}

TEST_CASE("a response dropped before its end closes the connection") {
  TestServer server;
  ConnCounter conns;
  server.svr->Get("/big", [&](const httplib::Request& req, httplib::Response& res) {
    conns.add(req);
    res.set_content(std::string(200000, 'b'), "text/plain");
  });
  server.start();
  SyncClient client;
  {
    auto res = client.send(get(server.url("/big")), shortTimeouts());
    REQUIRE(res.ok());
    std::string some;
    REQUIRE((*res)->read(some));
  }
  CHECK(fetch(client, get(server.url("/big"))).size() == 200000);
  CHECK(conns.count() == 2);
}

TEST_CASE("a pooled connection the server closed is not used") {
  std::promise<void> closed;
  RawServer server([&](int index, int fd) {
    if (readRequest(fd).empty()) return;
    sendAll(fd, index == 0 ? "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
                           : "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond");
    if (index == 0) {
      ::shutdown(fd, SHUT_RDWR);
      closed.set_value();
    }
  });
  SyncClient client;
  CHECK(fetch(client, get(server.url("/"))) == "first");
  REQUIRE(closed.get_future().wait_for(2s) == std::future_status::ready);
  CHECK(fetch(client, get(server.url("/"))) == "second");
  CHECK(server.accepted() == 2);
}

TEST_CASE("a reused connection that dies before answering is retried once") {
  std::atomic<int> requests{0};
  RawServer server([&](int index, int fd) {
    if (readRequest(fd).empty()) return;
    ++requests;
    if (index == 0) {
      sendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
      // Takes the second request, then closes without a word, as a server closing an idle
      // connection at the same moment would.
      if (!readRequest(fd).empty()) ++requests;
      return;
    }
    sendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond");
  });
  SyncClient client;
  UpstreamRequest req;
  req.url = server.url("/v1/chat");
  req.body = "{}";
  CHECK(fetch(client, req) == "first");
  CHECK(fetch(client, req) == "second");
  CHECK(server.accepted() == 2);
  CHECK(requests == 3);
}

TEST_CASE("a fresh connection that dies before answering is not retried") {
  RawServer server([&](int, int fd) { (void)readRequest(fd); });
  SyncClient client;
  auto res = client.send(get(server.url("/")), shortTimeouts());
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().kind == UpstreamFailure::Closed);
  CHECK(server.accepted() == 1);
}

TEST_CASE("an answer that fills a waiting read exactly, then the close, is whole") {
  // A fresh connection's waiting read takes 512 bytes: an answer of exactly that size followed
  // at once by the close must be parsed before the end is seen, whatever read sees the end.
  for (const std::size_t size : {std::size_t{512}, std::size_t{1024}}) {
    const std::string head = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: ";
    std::string answer;
    for (std::size_t body = 1; body < size; ++body) {
      answer = head + std::to_string(body) + "\r\n\r\n" + std::string(body, 'x');
      if (answer.size() == size) break;
    }
    REQUIRE(answer.size() == size);
    RawServer server([&](int, int fd) {
      if (readRequest(fd).empty()) return;
      sendAll(fd, answer);
    });
    SyncClient client;
    auto res = client.send(get(server.url("/")), shortTimeouts());
    REQUIRE_MESSAGE(res.ok(), res.error().message);
    std::string body;
    (*res)->readAll(body, 4096);
    CHECK(body.size() == answer.size() - answer.find("\r\n\r\n") - 4);
    CHECK((*res)->error().kind == UpstreamFailure::None);
  }
}

TEST_CASE("truncated content-length body is Closed") {
  RawServer server([&](int, int fd) {
    if (readRequest(fd).empty()) return;
    sendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  });
  SyncClient client;
  auto res = client.send(get(server.url("/")), shortTimeouts());
  REQUIRE(res.ok());
  std::string body;
  CHECK_FALSE((*res)->readAll(body, 1024));
  CHECK(body == "abc");
  CHECK((*res)->error().kind == UpstreamFailure::Closed);
  CHECK((*res)->error().message.find("7 bytes") != std::string::npos);
}

TEST_CASE("interim responses, chunk extensions, trailers and read-until-close") {
  RawServer server([&](int index, int fd) {
    if (readRequest(fd).empty()) return;
    if (index == 0) {
      sendAll(fd,
              "HTTP/1.1 100 Continue\r\n\r\n"
              "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
              "5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n");
      if (readRequest(fd).empty()) return;  // the connection was kept
      sendAll(fd, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close");
    }
  });
  SyncClient client;
  CHECK(fetch(client, get(server.url("/"))) == "hello world");
  CHECK(fetch(client, get(server.url("/"))) == "until close");
  CHECK(server.accepted() == 1);
}

TEST_CASE("malformed responses are Protocol failures") {
  struct Case {
    const char* name;
    std::string response;
    bool fails_in_send;
  };
  std::string many_headers = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 101; ++i) many_headers += "X-H" + std::to_string(i) + ": v\r\n";
  many_headers += "Content-Length: 0\r\n\r\n";
  std::vector<Case> cases = {
      {"bad status line", "HTTP/2 200 OK\r\n\r\n", true},
      {"bad header", "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", true},
      {"too many headers", many_headers, true},
      {"huge head", "HTTP/1.1 200 OK\r\nX-Big: " + std::string(70000, 'a') + "\r\n\r\n", true},
      {"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
       true},
      {"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false},
      {"missing chunk CRLF",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX\r\n0\r\n\r\n", false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    RawServer server([&](int, int fd) {
      if (readRequest(fd).empty()) return;
      sendAll(fd, c.response);
    });
    SyncClient client;
    auto res = client.send(get(server.url("/")), shortTimeouts());
    if (c.fails_in_send) {
      REQUIRE_FALSE(res.ok());
      CHECK(res.error().kind == UpstreamFailure::Protocol);
    } else {
      REQUIRE(res.ok());
      std::string body;
      CHECK_FALSE((*res)->readAll(body, 1024));
      CHECK((*res)->error().kind == UpstreamFailure::Protocol);
    }
  }
}

TEST_CASE("concurrent requests on one loop share the pool") {
  TestServer server;
  ConnCounter conns;
  server.svr->new_task_queue = [] { return new httplib::ThreadPool(16); };
  server.svr->set_keep_alive_max_count(1000);
  server.svr->Get("/n", [&](const httplib::Request& req, httplib::Response& res) {
    conns.add(req);
    res.set_content("n=" + req.get_param_value("i"), "text/plain");
  });
  server.start();
  SyncClient client;
  // httplib listens with a backlog of 5, so 8 simultaneous connects can overflow it and cost a
  // 1 s SYN retransmit. Open the 8 connections one by one first (each response holds its
  // connection until its body is read); the coroutines then only ever reuse them.
  {
    std::vector<std::unique_ptr<SyncResponse>> warm;
    for (int i = 0; i < 8; ++i) {
      auto res = client.send(get(server.url("/n?i=warm")), shortTimeouts());
      REQUIRE(res.ok());
      warm.push_back(std::move(*res));
    }
    for (auto& res : warm) {
      std::string body;
      CHECK(res->readAll(body, 1024));
    }
  }
  REQUIRE(conns.count() == 8);
  // Eight coroutines interleave on the one loop, 50 requests each.
  int ok = 0, finished = 0;
  for (int t = 0; t < 8; ++t) {
    boost::asio::co_spawn(
        client.context(),
        [&, t]() -> aigw::net::Task<void> {
          for (int i = 0; i < 50; ++i) {
            const std::string id = std::to_string(t * 1000 + i);
            auto res =
                co_await client.client().send(get(server.url("/n?i=" + id)), shortTimeouts());
            if (!res.ok() || (*res)->status() != 200) continue;
            std::string body;
            if (co_await (*res)->readAll(body, 1024) && body == "n=" + id) ++ok;
          }
          ++finished;
        },
        boost::asio::detached);
  }
  client.context().restart();
  while (finished < 8) client.context().run_one();
  CHECK(ok == 400);
  CHECK(conns.count() == 8);
}

// --- HTTPS against an in-memory self-signed certificate

namespace {

struct SelfSigned {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  std::string pem_path;

  SelfSigned(const std::string& dir, const char* san) {
    key = EVP_EC_gen("P-256");
    REQUIRE(key);
    cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("aigw test"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_subject_alt_name, san},
                              std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
      REQUIRE(ext);
      X509_add_ext(cert, ext, -1);
      X509_EXTENSION_free(ext);
    }
    REQUIRE(X509_sign(cert, key, EVP_sha256()) > 0);
    pem_path = dir + "/cert-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)) + ".pem";
    FILE* f = std::fopen(pem_path.c_str(), "w");
    REQUIRE(f);
    PEM_write_X509(f, cert);
    std::fclose(f);
  }
  ~SelfSigned() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "aigw-upstream-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()));
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

TEST_CASE("https with certificate and host name verification") {
  TempDir dir;
  SelfSigned good(dir.path, "DNS:localhost,IP:127.0.0.1");
  SelfSigned other(dir.path, "DNS:other.example");

  TestServer server(std::make_unique<httplib::SSLServer>(good.cert, good.key));
  REQUIRE(server.svr->is_valid());
  ConnCounter conns;
  server.svr->Post("/v1/chat", [&](const httplib::Request& req, httplib::Response& res) {
    conns.add(req);
    res.set_content("secure:" + req.body, "text/plain");
  });
  server.start();

  TestServer mismatched(std::make_unique<httplib::SSLServer>(other.cert, other.key));
  mismatched.svr->Get("/", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content("x", "text/plain");
  });
  mismatched.start();

  UpstreamRequest req;
  req.url = server.url("/v1/chat", "https");
  req.body = "hi";

  SUBCASE("system store only: verification fails") {
    SyncClient client;
    auto res = client.send(req, shortTimeouts());
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == UpstreamFailure::Connect);
    CHECK(res.error().message.find("certificate verification failed") != std::string::npos);
  }
  SUBCASE("trusted CA: by IP and by name, with reuse") {
    UpstreamClientOptions options;
    options.ca_file = good.pem_path;
    SyncClient client(options);
    CHECK(fetch(client, req) == "secure:hi");
    CHECK(fetch(client, req) == "secure:hi");
    // Reuse also proves the pool's liveness check is not fooled by TLS 1.3 session tickets.
    CHECK(conns.count() == 1);
    req.url = server.url("/v1/chat", "https", "localhost");
    CHECK(fetch(client, req) == "secure:hi");
  }
  SUBCASE("trusted CA but wrong host name") {
    UpstreamClientOptions options;
    options.ca_file = other.pem_path;
    SyncClient client(options);
    auto res = client.send(get(mismatched.url("/", "https")), shortTimeouts());
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().kind == UpstreamFailure::Connect);
    CHECK(res.error().message.find("mismatch") != std::string::npos);
  }
  SUBCASE("verification disabled") {
    UpstreamClientOptions options;
    options.verify_tls = false;
    SyncClient client(options);
    CHECK(fetch(client, get(mismatched.url("/", "https"))) == "x");
  }
  SUBCASE("unreadable CA file") {
    UpstreamClientOptions options;
    options.ca_file = dir.path + "/missing.pem";
    auto tls = makeTlsSettings(options);
    REQUIRE_FALSE(tls);
    CHECK(tls.error().find("CA file") != std::string::npos);
  }
}
