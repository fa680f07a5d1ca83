// rate-limiting (Kong's plain request limiter) through the real binary: a per-minute limit
// admits N then answers Kong's 429 with its headers, per consumer (key-auth) separately, on an
// ai-proxy route and on a route proxied to a service; with policy redis, three gateways
// sharing one redis-server (started here on a port of its own) under 50 concurrent clients
// admit exactly the limit.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "integration/gateway_harness.hpp"
#include "integration/redis_server.hpp"

using namespace aigw::test;
using Json = nlohmann::json;

namespace {

FakeProvider& fake() {
  static FakeProvider instance(FAKE_PROVIDER_BINARY);
  return instance;
}

const std::string kBody = R"({"messages":[{"role":"user","content":"hi there"}]})";

httplib::Headers as(const std::string& key) {
  return {{"apikey", key}};
}

// The limits are per minute: a test that started in a minute's last seconds could see the
// window turn over half-way and admit more. Start it in a fresh minute instead (waits at most
// 5 s; this waits for the wall clock, not for another process).
void startAwayFromMinuteEnd() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto into =
      std::chrono::duration_cast<std::chrono::milliseconds>(now) % std::chrono::milliseconds(60000);
  if (into > std::chrono::milliseconds(55000))
    std::this_thread::sleep_for(std::chrono::milliseconds(60100) - into);
}

const std::string kAiProxy =
    "  - name: ai-proxy\n    config:\n      route_type: llm/v1/chat\n"
    "      auth: {header_name: Authorization, header_value: \"Bearer sk-fake\"}\n"
    "      model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "
    "\"{FAKE}/v1/chat/completions\"}}\n";

const std::string kConsumers = R"(consumers:
- username: alice
  keyauth_credentials: [{key: alice-key}]
- username: bob
  keyauth_credentials: [{key: bob-key}]
)";

}  // namespace

TEST_CASE("rate-limiting: N a minute, then Kong's 429; per consumer; AI and service routes") {
  const std::string cfg = "_format_version: \"3.0\"\n" + kConsumers +
                          "services:\n- name: echo\n  url: \"{FAKE}/svc/base\"\n  routes:\n"
                          "  - name: api\n    paths: [/api]\n    plugins:\n"
                          "    - name: rate-limiting\n      config: {minute: 2, limit_by: ip}\n"
                          "routes:\n- name: chat\n  paths: [/chat]\n  plugins:\n"
                          "  - name: key-auth\n"
                          "  - name: rate-limiting\n    config: {minute: 3, hour: 100}\n" +
                          kAiProxy;
  Gateway gw(withFake(cfg, fake().baseUrl()));
  startAwayFromMinuteEnd();

  SUBCASE("an ai-proxy route, per consumer") {
    fake().clear();
    for (int i = 0; i < 3; ++i) {
      auto r = gw.post("/chat", kBody, as("alice-key"));
      REQUIRE(r.status == 200);
      CHECK(r.header("X-RateLimit-Limit-Minute") == "3");
      CHECK(r.header("X-RateLimit-Remaining-Minute") == std::to_string(2 - i));
      CHECK(r.header("X-RateLimit-Limit-Hour") == "100");
      CHECK(r.header("X-RateLimit-Remaining-Hour") == std::to_string(99 - i));
      CHECK(r.header("RateLimit-Limit") == "3");
      CHECK(r.header("RateLimit-Remaining") == std::to_string(2 - i));
      CHECK(std::stoi(r.header("RateLimit-Reset")) >= 1);
      CHECK(r.header("Retry-After").empty());
    }
    auto refused = gw.post("/chat", kBody, as("alice-key"));
    CHECK(refused.status == 429);
    CHECK(refused.json()["error"]["message"] == "API rate limit exceeded");
    const int retry = std::stoi(refused.header("Retry-After"));
    CHECK(retry >= 1);
    CHECK(retry <= 60);
    CHECK(refused.header("RateLimit-Reset") == refused.header("Retry-After"));
    CHECK(refused.header("X-RateLimit-Remaining-Minute") == "0");
    CHECK(refused.header("RateLimit-Remaining") == "0");
    CHECK(fake().requests().size() == 3);  // the refused request never reached the provider

    // bob has a count of his own.
    auto bob = gw.post("/chat", kBody, as("bob-key"));
    CHECK(bob.status == 200);
    CHECK(bob.header("X-RateLimit-Remaining-Minute") == "2");
    // Authentication (1250) runs before the limiter (910): no key is 401, not counted.
    CHECK(gw.post("/chat", kBody).status == 401);
  }

  SUBCASE("a route proxied to a service, per client address") {
    for (int i = 0; i < 2; ++i) {
      auto r = gw.post("/api/items", R"({"a":1})");
      REQUIRE(r.status == 200);
      CHECK(r.json()["path"] == "/svc/base/items");  // the service's own answer
      CHECK(r.header("X-RateLimit-Remaining-Minute") == std::to_string(1 - i));
    }
    auto refused = gw.post("/api/items", R"({"a":1})");
    CHECK(refused.status == 429);
    CHECK(refused.json()["error"]["message"] == "API rate limit exceeded");
    CHECK(!refused.header("Retry-After").empty());
  }
}

TEST_CASE("rate-limiting: policy redis, three gateways sharing one Redis hold one limit") {
  Redis redis;
  const std::string redis_block =
      "redis: {host: 127.0.0.1, port: " + std::to_string(redis.port()) + ", timeout: 500}";
  const std::string cfg = "_format_version: \"3.0\"\n" + kConsumers +
                          "routes:\n- name: shared\n  paths: [/shared]\n  plugins:\n"
                          "  - name: key-auth\n"
                          "  - name: rate-limiting\n    config: {minute: 10, policy: redis, " +
                          redis_block + "}\n" + kAiProxy +
                          "- name: strict\n  paths: [/strict]\n  plugins:\n"
                          "  - name: rate-limiting\n    config: {minute: 1000, policy: redis, "
                          "fault_tolerant: false, " +
                          redis_block + "}\n" + kAiProxy;
  std::vector<std::unique_ptr<Gateway>> gws;
  for (int i = 0; i < 3; ++i)
    gws.push_back(std::make_unique<Gateway>(withFake(cfg, fake().baseUrl())));
  startAwayFromMinuteEnd();

  std::atomic<int> ok{0}, limited{0}, other{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 50; ++c)
    clients.emplace_back([&, c] {
      for (int i = 0; i < 2; ++i) {
        const int status = gws[(c + i) % 3]->post("/shared", kBody, as("alice-key")).status;
        (status == 200 ? ok : status == 429 ? limited : other)++;
      }
    });
  for (auto& t : clients) t.join();
  MESSAGE("rate-limiting, 3 gateways, 50 clients, 100 requests, limit 10/minute: "
          << ok.load() << " answered, " << limited.load() << " refused (429)");
  CHECK(ok == 10);
  CHECK(limited == 90);
  CHECK(other == 0);
  auto bob = gws[2]->post("/shared", kBody, as("bob-key"));
  CHECK(bob.status == 200);
  CHECK(bob.header("X-RateLimit-Remaining-Minute") == "9");

  // Redis goes away: the tolerant route lets traffic through (no headers), the strict one
  // answers 503; neither waits past redis.timeout.
  redis.kill();
  const auto start = std::chrono::steady_clock::now();
  auto tolerant = gws[0]->post("/shared", kBody, as("bob-key"));
  CHECK(tolerant.status == 200);
  CHECK(tolerant.header("X-RateLimit-Limit-Minute").empty());
  CHECK(gws[1]->post("/strict", kBody).status == 503);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(3000));
}
