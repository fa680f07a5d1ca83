// failoverbench's 16 faults (peer-gateways.md §4) against a two-target ai-proxy-advanced route,
// each non-streamed and streamed: target 0 has the fault, target 1 is healthy. Every outcome is
// one of
//   rescued   the healthy target's complete answer (failover)
//   served    the faulty target's complete answer (a slow trickle within the idle timeout)
//   error     a clean error: an OpenAI-shaped error status, or a stream that ends with an
//             error event and no [DONE] (the fault came after its first byte reached the client)
// and never a truncated answer presented as a success, nor a wait past the configured timeouts.
// The table is printed (and is README's "Fault table").
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <sstream>

#include "integration/gateway_harness.hpp"

using namespace aigw::test;
using Json = nlohmann::json;

namespace {

// A loopback port bound but never listening: a connection to it is refused, and nothing else
// can take the port while the test runs.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("cannot bind a loopback port");
    port_ = ntohs(a.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

struct Fault {
  const char* name;      // failoverbench's
  const char* scenario;  // the fake's ("" = the refusing port)
  const char* plain;     // expected outcome, non-streamed
  const char* streamed;  // expected outcome, streamed
};

// Expected outcomes. After its first byte a stream cannot move to another target (the client
// already has part of an answer): it ends with an error event.
constexpr Fault kFaults[] = {
    {"S01 connection refused", "", "rescued", "rescued"},
    {"S02 reset before headers", "fake-reset-headers", "rescued", "rescued"},
    {"S03 reset mid-body", "fake-truncate", "rescued", "error"},
    {"S04 reset mid-stream", "fake-truncate", "rescued", "error"},
    {"S05 stall before first byte", "fake-stall-headers", "rescued", "rescued"},
    {"S06 stall mid-stream", "fake-stall", "rescued", "error"},
    {"S07 stream ends without [DONE]", "fake-clean-close", "rescued", "error"},
    {"S08 429 with Retry-After", "fake-error-429", "rescued", "rescued"},
    {"S09 500", "fake-error-500", "rescued", "rescued"},
    {"S09 502", "fake-error-502", "rescued", "rescued"},
    {"S09 503", "fake-error-503", "rescued", "rescued"},
    {"S09 504", "fake-error-504", "rescued", "rescued"},
    {"S10 HTML error page", "fake-html-500", "rescued", "rescued"},
    {"S11 invalid JSON 200", "fake-garbage", "rescued", "rescued"},
    {"S12 garbage SSE", "fake-garbage-sse", "rescued", "rescued"},
    {"S13 content-filter 400", "fake-content-filter", "error", "error"},
    {"S14 context-length 400", "fake-context-length", "error", "error"},
    {"S15 slow trickle", "fake-pace-100", "served", "served"},
    {"S16 empty 200", "fake-empty-200", "rescued", "rescued"},
};

constexpr int kConnectTimeoutMs = 1000;
constexpr int kReadTimeoutMs = 1500;
// A request may wait for one timed-out attempt and then the healthy target's answer.
constexpr double kBoundMs = kConnectTimeoutMs + kReadTimeoutMs + 2500;

std::string routeFor(std::size_t i, bool stream, const std::string& faulty_url) {
  const std::string name = "f" + std::to_string(i) + (stream ? "s" : "p");
  return "- name: " + name + "\n  paths: [/" + name +
         "]\n  plugins:\n  - name: ai-proxy-advanced\n    config:\n"
         "      balancer: {algorithm: priority, retries: 1, connect_timeout: " +
         std::to_string(kConnectTimeoutMs) + ", read_timeout: " + std::to_string(kReadTimeoutMs) +
         ", failover_criteria: [error, timeout, invalid_header, http_429, http_500, http_502, "
         "http_503, http_504, non_idempotent]}\n"
         "      targets:\n"
         "      - route_type: llm/v1/chat\n        weight: 100\n"
         "        auth: {header_name: Authorization, header_value: \"Bearer sk-fake\"}\n"
         "        model: {provider: openai, name: model-a, options: {upstream_url: \"" +
         faulty_url +
         "\"}}\n"
         "      - route_type: llm/v1/chat\n        weight: 50\n"
         "        auth: {header_name: Authorization, header_value: \"Bearer sk-fake\"}\n"
         "        model: {provider: openai, name: model-b, options: {upstream_url: "
         "\"{FAKE}/v1/chat/completions\"}}\n";
}

double msSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

const char* kPrompt = "one two three four five six seven eight";
const std::string kExpected = std::string("Hello from fake openai: ") + kPrompt;

}  // namespace

TEST_CASE("fault table: failoverbench's faults against a two-target route, streamed and not") {
  FakeProvider fake(FAKE_PROVIDER_BINARY);
  RefusingPort refusing;
  std::string cfg = "_format_version: \"3.0\"\nroutes:\n";
  for (std::size_t i = 0; i < std::size(kFaults); ++i)
    for (bool stream : {false, true}) {
      const std::string s = kFaults[i].scenario;
      const std::string url =
          s.empty() ? "http://127.0.0.1:" + std::to_string(refusing.port()) + "/v1/chat/completions"
                    : "{FAKE}/scenario/" + s + "/v1/chat/completions";
      cfg += routeFor(i, stream, url);
    }
  Gateway gw(withFake(cfg, fake.baseUrl()));
  const std::string plain_body =
      Json{{"messages", {{{"role", "user"}, {"content", kPrompt}}}}}.dump();
  const std::string stream_body =
      Json{{"messages", {{{"role", "user"}, {"content", kPrompt}}}}, {"stream", true}}.dump();

  std::ostringstream table;
  table << "| fault | non-streamed | streamed |\n|---|---|---|\n";
  int handled = 0;
  for (std::size_t i = 0; i < std::size(kFaults); ++i) {
    const Fault& f = kFaults[i];
    const std::string fault_name = f.name;
    CAPTURE(fault_name);
    std::string got[2];
    double took[2] = {0, 0};
    for (bool stream : {false, true}) {
      CAPTURE(stream);
      const std::string path = "/f" + std::to_string(i) + (stream ? "s" : "p");
      fake.clear();
      const auto start = std::chrono::steady_clock::now();
      std::string outcome, model;
      if (!stream) {
        auto r = gw.post(path, plain_body);
        model = r.header("X-Kong-LLM-Model");
        const Json j = r.json();
        if (r.status == 200) {
          // A 200 must carry the whole answer: a truncated one is never a success.
          REQUIRE(j["choices"][0]["message"]["content"] == kExpected);
          outcome = model == "openai/model-b" ? "rescued" : "served";
        } else {
          CHECK(r.status >= 400);
          CHECK(j["error"]["message"].is_string());
          outcome = "error";
        }
      } else {
        auto s = gw.stream(path, stream_body);
        if (s.done()) {
          REQUIRE(s.text() == kExpected);
          // Which target answered: the fake recorded the requests; only one has the whole text.
          outcome = "served";
          for (const auto& req : fake.requests())
            if (req["path"] == "/v1/chat/completions") outcome = "rescued";
        } else if (s.status == 200) {
          // Ended after its first byte: an error event last, never [DONE].
          REQUIRE(!s.events.empty());
          CHECK(s.events.back().find("\"error\"") != std::string::npos);
          CHECK(std::find(s.events.begin(), s.events.end(), "[DONE]") == s.events.end());
          outcome = "error";
        } else {
          CHECK(s.status >= 400);
          REQUIRE(s.events.size() == 1);
          CHECK(Json::parse(s.events[0], nullptr, false)["error"]["message"].is_string());
          outcome = "error";
        }
      }
      took[stream] = msSince(start);
      CHECK(took[stream] < kBoundMs);
      got[stream] = outcome;
      CHECK(outcome == (stream ? f.streamed : f.plain));
      // A request the provider refused as bad is never sent again (to any target).
      if (std::string(f.name).find("400") != std::string::npos) CHECK(fake.requests().size() == 1);
    }
    if (got[0] == f.plain && got[1] == f.streamed) ++handled;
    char times[64];
    std::snprintf(times, sizeof times, "%.0f ms", took[0]);
    table << "| " << f.name << " | " << got[0] << " (" << times << ") | ";
    std::snprintf(times, sizeof times, "%.0f ms", took[1]);
    table << got[1] << " (" << times << ") |\n";
  }
  MESSAGE("connect_timeout " << kConnectTimeoutMs << " ms, read_timeout " << kReadTimeoutMs
                             << " ms\n"
                             << table.str());
  CHECK(handled == static_cast<int>(std::size(kFaults)));
}
