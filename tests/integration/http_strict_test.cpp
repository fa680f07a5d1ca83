// The proxy listener as an attacker or a careless client sees it, over raw sockets: header
// limits, the head deadline, body limits before the body is read, request-smuggling framing,
// 100-continue, pipelining, connection caps, slow clients and a second gateway on the same port.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "integration/gateway_harness.hpp"

using namespace aigw::test;
using Clock = std::chrono::steady_clock;

namespace {

const char* kConfig = R"(_format_version: "3.0"
routes:
- name: mock
  paths: ["/mock/chat"]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      model: {provider: mock, name: mock-model}
- name: small
  paths: ["/small/chat"]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      max_request_body_size: 1000
      model: {provider: mock, name: mock-model}
)";

const std::string kChat = R"({"messages":[{"role":"user","content":"hi"}]})";

// A blocking TCP client with bounded waits.
class Raw {
 public:
  explicit Raw(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Raw() {
    if (fd_ >= 0) ::close(fd_);
  }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;

  bool connected() const { return connected_; }
  bool send(std::string_view s) {
    while (!s.empty()) {
      const ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // Reads until `done(received)` holds, the peer closes, or `timeout_ms` passes.
  template <typename Done>
  std::string readUntil(Done done, int timeout_ms) {
    const auto until = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!done(received_) && !closed_) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      if (left <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
      char buf[16384];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      received_.append(buf, static_cast<std::size_t>(n));
    }
    return received_;
  }
  // Everything until the peer closes (bounded).
  std::string readAll(int timeout_ms) {
    return readUntil([](const std::string&) { return false; }, timeout_ms);
  }
  // One whole response (head + Content-Length body) has arrived.
  std::string readResponse(int timeout_ms) {
    return readUntil([](const std::string& r) { return responses(r) >= 1; }, timeout_ms);
  }
  bool closed() const { return closed_; }

  // Complete responses with a Content-Length body in `data`.
  static int responses(const std::string& data) {
    int count = 0;
    std::size_t at = 0;
    for (;;) {
      const std::size_t head_end = data.find("\r\n\r\n", at);
      if (head_end == std::string::npos) return count;
      const std::string head = data.substr(at, head_end - at);
      std::size_t length = 0;
      if (auto cl = head.find("Content-Length: "); cl != std::string::npos)
        length = std::stoul(head.substr(cl + 16));
      if (data.size() < head_end + 4 + length) return count;
      if (head.rfind("HTTP/1.1 100", 0) != 0) ++count;
      at = head_end + 4 + length;
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string received_;
};

std::string post(const std::string& path, const std::string& body,
                 const std::string& extra_headers = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

int statusOf(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

Gateway& gateway() {
  static Gateway gw(kConfig, {}, {"--client-header-timeout", "1", "--client-body-timeout", "1"});
  return gw;
}

}  // namespace

TEST_SUITE("http strict") {
  TEST_CASE("a request head over 32 KiB or over 100 fields is a 431, then the connection closes") {
    Raw big(gateway().port());
    REQUIRE(big.send("GET /mock/chat HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(40000, 'a') +
                     "\r\n\r\n"));
    const std::string r = big.readAll(5000);
    CHECK(statusOf(r) == 431);
    CHECK(big.closed());

    Raw many(gateway().port());
    std::string head = "GET /mock/chat HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 101; ++i) head += "X-H" + std::to_string(i) + ": v\r\n";
    REQUIRE(many.send(head + "\r\n"));
    CHECK(statusOf(many.readAll(5000)) == 431);
    CHECK(many.closed());
  }

  TEST_CASE("framing that could smuggle a request is refused and the connection closed") {
    const std::string cases[] = {
        // Content-Length and Transfer-Encoding together
        "POST /mock/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: "
        "chunked\r\n\r\n0\r\n\r\n",
        // two Content-Length values, equal or not
        "POST /mock/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
        "POST /mock/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        // a transfer coding that is not chunked
        "POST /mock/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n{}",
    };
    for (const auto& request : cases) {
      CAPTURE(request);
      Raw c(gateway().port());
      REQUIRE(c.send(request + post("/mock/chat", kChat)));
      const std::string r = c.readAll(5000);
      CHECK(statusOf(r) == 400);
      CHECK(Raw::responses(r) == 1);  // the request smuggled behind it is never answered
      CHECK(c.closed());
    }
  }

  TEST_CASE("a body over the route's limit is refused from its Content-Length, before it is sent") {
    Raw c(gateway().port());
    REQUIRE(c.send("POST /small/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n"));
    const std::string r = c.readAll(5000);
    CHECK(statusOf(r) == 413);
    CHECK(r.find("max_request_body_size (1000 bytes)") != std::string::npos);
    CHECK(c.closed());

    // Chunked: refused as soon as the chunks pass the limit.
    Raw chunked(gateway().port());
    REQUIRE(
        chunked.send("POST /small/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "800\r\n" +
                     std::string(0x800, 'x') + "\r\n"));
    CHECK(statusOf(chunked.readAll(5000)) == 413);
  }

  TEST_CASE("Expect: 100-continue gets 100 Continue for an acceptable body, a 413 otherwise") {
    Raw ok(gateway().port());
    REQUIRE(
        ok.send("POST /mock/chat HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                "Content-Length: " +
                std::to_string(kChat.size()) + "\r\n\r\n"));
    const std::string interim = ok.readUntil(
        [](const std::string& r) { return r.find("\r\n\r\n") != std::string::npos; }, 5000);
    CHECK(interim.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0) == 0);
    REQUIRE(ok.send(kChat));
    const std::string r = ok.readResponse(5000);
    CHECK(r.find("HTTP/1.1 200 OK") != std::string::npos);

    Raw big(gateway().port());
    REQUIRE(
        big.send("POST /small/chat HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                 "Content-Length: 5000\r\n\r\n"));
    const std::string refused = big.readAll(5000);
    CHECK(statusOf(refused) == 413);
    CHECK(refused.find("100 Continue") == std::string::npos);
  }

  TEST_CASE("pipelined requests are answered in order on one connection") {
    Raw c(gateway().port());
    std::string burst;
    for (int i = 0; i < 10; ++i) {
      burst += post("/mock/chat", kChat);
      burst += "GET /nowhere/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
    }
    REQUIRE(c.send(burst));
    const std::string r =
        c.readUntil([](const std::string& d) { return Raw::responses(d) >= 20; }, 10000);
    REQUIRE(Raw::responses(r) == 20);
    std::size_t at = 0;
    for (int i = 0; i < 20; ++i) {
      at = r.find("HTTP/1.1 ", at);
      REQUIRE(at != std::string::npos);
      CHECK(r.substr(at + 9, 3) == (i % 2 == 0 ? "200" : "404"));
      at += 9;
    }
    CHECK_FALSE(c.closed());
  }

  TEST_CASE("a head not complete within --client-header-timeout is a 408; a silent one is closed") {
    Raw slow(gateway().port());
    REQUIRE(slow.send("POST /mock/chat HTTP/1.1\r\nHost: x\r\n"));
    const auto t0 = Clock::now();
    const std::string r = slow.readAll(10000);
    CHECK(statusOf(r) == 408);
    CHECK(slow.closed());
    // The deadline is the whole head's, not a per-byte one: it came after about one second.
    CHECK(Clock::now() - t0 < std::chrono::seconds(8));

    Raw silent(gateway().port());
    CHECK(silent.readAll(10000).empty());
    CHECK(silent.closed());
  }

  TEST_CASE("a body that stalls is a 408 after --client-body-timeout") {
    Raw c(gateway().port());
    REQUIRE(c.send("POST /mock/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"mes"));
    CHECK(statusOf(c.readAll(10000)) == 408);
    CHECK(c.closed());
  }

  TEST_CASE("trickling clients do not stop a normal request") {
    // 300 connections that each sent half a head and then nothing (slowloris).
    std::vector<std::unique_ptr<Raw>> loris;
    for (int i = 0; i < 300; ++i) {
      loris.push_back(std::make_unique<Raw>(gateway().port()));
      REQUIRE(loris.back()->connected());
      loris.back()->send("POST /mock/chat HTTP/1.1\r\nHost: x\r\nX-A: ");
    }
    const auto t0 = Clock::now();
    auto r = gateway().post("/mock/chat", kChat);
    CHECK(r.status == 200);
    MESSAGE("a request among 300 trickling connections took "
            << std::chrono::duration<double, std::milli>(Clock::now() - t0).count() << " ms");
  }

  TEST_CASE("at --max-connections the longest-idle connection makes room for a new one") {
    Gateway capped(kConfig, {}, {"--max-connections", "8"});
    std::vector<std::unique_ptr<Raw>> idle;
    for (int i = 0; i < 8; ++i) idle.push_back(std::make_unique<Raw>(capped.port()));
    // Each idle connection is accepted before the next: wait until the gateway has them all
    // (the first one still answers a request).
    REQUIRE(idle[7]->send(post("/mock/chat", kChat)));
    REQUIRE(statusOf(idle[7]->readResponse(5000)) == 200);
    auto r = capped.post("/mock/chat", kChat);
    CHECK(r.status == 200);
    // An idle one (the oldest of an event loop's, maybe another loop's, which closes it when
    // its turn comes) was dropped to make room: look until one is seen closed, for 10 s at most.
    int dropped = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (dropped == 0 && std::chrono::steady_clock::now() < deadline) {
      for (int i = 0; i < 8; ++i) {
        idle[i]->readAll(20);
        dropped += idle[i]->closed() ? 1 : 0;
      }
    }
    CHECK(dropped >= 1);
  }

  TEST_CASE("at the open-file limit an upstream connect waits for a descriptor, not a 502") {
    // 40 requests at once whose upstream answers after 300 ms need 80 descriptors besides the
    // gateway's own dozen; it may hold 64. Those that find none wait for the first answers to
    // free theirs (within the connect timeout) instead of failing.
    FakeProvider fake(FAKE_PROVIDER_BINARY);
    const std::string dir = tempDir();
    writeFile(dir + "/aigw.yaml", withFake(R"(_format_version: "3.0"
routes:
- name: slow
  paths: ["/slow/chat"]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      auth: {header_name: Authorization, header_value: "Bearer sk-test"}
      model: {provider: openai, name: gpt-4o-mini,
              options: {upstream_url: "{FAKE}/scenario/fake-slow-300/v1/chat/completions"}}
)",
                                           fake.baseUrl()));
    Process serve({"prlimit", "--nofile=64:64", AIGW_BINARY, "serve", "-c", dir + "/aigw.yaml",
                   "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir",
                   dir + "/data", "--workers", "1"});
    const auto ports = waitForServePorts(serve, 10000);
    REQUIRE_MESSAGE(ports.has_value(), serve.log());
    std::vector<std::unique_ptr<Raw>> clients;
    for (int i = 0; i < 40; ++i) {
      clients.push_back(std::make_unique<Raw>(ports->proxy));
      REQUIRE(clients.back()->send(post("/slow/chat", kChat)));
    }
    int ok = 0;
    std::string failure;
    for (auto& c : clients) {
      const std::string r = c->readResponse(15000);
      if (statusOf(r) == 200)
        ++ok;
      else if (failure.empty())
        failure = r;
    }
    CHECK_MESSAGE(ok == 40, failure);
    CHECK(fake.requests().size() == 40);
    // The answered upstream connections now wait in the pool for reuse, holding what
    // descriptors the clients left: new clients are still accepted (an idle one is closed to
    // make room) and answered, one after another.
    for (int i = 0; i < 4; ++i) {
      Raw late(ports->proxy);
      REQUIRE(late.send(post("/slow/chat", kChat)));
      const std::string r = late.readResponse(5000);
      CHECK_MESSAGE(statusOf(r) == 200, "late client " << i << ": " << r);
    }
    removeTempDir(dir);
  }

  TEST_CASE("a second gateway on the same ports fails at once, naming the address") {
    Process second({AIGW_BINARY, "serve", "-c", gateway().configPath(), "--listen",
                    "127.0.0.1:" + std::to_string(gateway().port()), "--admin-listen",
                    "127.0.0.1:0", "--data-dir", gateway().dir() + "/second"});
    const auto code = second.wait(10000);
    REQUIRE(code.has_value());
    CHECK(*code == 1);
    CHECK(second.log().find("address already in use: 127.0.0.1:" +
                            std::to_string(gateway().port())) != std::string::npos);
    // The first one is untouched.
    CHECK(gateway().post("/mock/chat", kChat).status == 200);
  }

  TEST_CASE("issue #8 - 1,000 trickling clients on the admin port leave /status answering") {
    rlimit lim{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &lim) == 0);
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    REQUIRE(lim.rlim_cur >= 1200);
    std::vector<std::unique_ptr<Raw>> loris;
    for (int i = 0; i < 1000; ++i) {
      loris.push_back(std::make_unique<Raw>(gateway().adminPort()));
      REQUIRE(loris.back()->connected());
      loris.back()->send("GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
    }
    const auto t0 = Clock::now();
    auto status = gateway().admin("/status");
    CHECK(status.status == 200);
    MESSAGE("/status among 1,000 trickling admin connections took "
            << std::chrono::duration<double, std::milli>(Clock::now() - t0).count() << " ms");
    // The proxy is not affected either.
    CHECK(gateway().post("/mock/chat", kChat).status == 200);
  }
}
