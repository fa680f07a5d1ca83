// ai-rate-limiting-advanced through the real binary: token and cost limits per consumer, the
// estimate that refuses a prompt before the provider is called, streams charged with their
// usage, and the Redis strategy: three gateways sharing one redis-server (started here on a
// port of its own) under 50 concurrent clients, Redis going away (fault_tolerant) and coming
// back.
#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
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

const std::string kConsumers = R"(consumers:
- username: alice
  keyauth_credentials: [{key: alice-key}]
- username: bob
  keyauth_credentials: [{key: bob-key}]
)";

std::string limitedRoute(const std::string& name, const std::string& limiter,
                         const std::string& model_options = "") {
  return "- name: " + name + "\n  paths: [/" + name +
         "]\n  plugins:\n  - name: key-auth\n  - name: ai-rate-limiting-advanced\n    config: " +
         limiter +
         "\n  - name: ai-proxy\n    config:\n      route_type: llm/v1/chat\n"
         "      auth: {header_name: Authorization, header_value: \"Bearer sk-fake\"}\n"
         "      model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "
         "\"{FAKE}/v1/chat/completions\"" +
         model_options + "}}\n";
}

// "hi there": 2 prompt words at the fake; estimated (8 chars + 3) / 4 + 4 = 6 tokens.
const std::string kBody = R"({"messages":[{"role":"user","content":"hi there"}]})";
constexpr double kEstimate = 6;

httplib::Headers as(const std::string& key) {
  return {{"apikey", key}};
}

}  // namespace

TEST_CASE("ai-rate-limiting-advanced: token limits per consumer, estimate, streams, cost") {
  const std::string cfg =
      "_format_version: \"3.0\"\n" + kConsumers + "routes:\n" +
      limitedRoute("tokens",
                   "{window_type: fixed, llm_providers: [{name: openai, limit: [60], "
                   "window_size: [3600]}]}") +
      limitedRoute("small", "{llm_providers: [{name: openai, limit: [50], window_size: [60]}]}") +
      limitedRoute("streamed",
                   "{window_type: fixed, llm_providers: [{name: openai, limit: [1000], "
                   "window_size: [3600]}]}") +
      limitedRoute("cost",
                   "{tokens_count_strategy: cost, llm_providers: [{name: openai, limit: [5], "
                   "window_size: [3600]}]}",
                   ", input_cost: 1000000, output_cost: 0") +
      limitedRoute("other-provider",
                   "{llm_providers: [{name: anthropic, limit: [1], window_size: [60]}]}");
  Gateway gw(withFake(cfg, fake().baseUrl()));

  SUBCASE("the request that crosses is answered, the next is refused; others keep theirs") {
    double used = 0, last = 0;
    int answered = 0;
    // The real usage replaces a request's estimate once its answer has gone out, which can be
    // just after the client has it: the next request may see the last one still at its estimate.
    auto remainingIs = [&](const std::string& header, double left) {
      const double unsettled = left + last - kEstimate;
      return header == std::to_string(static_cast<int>(std::max(0.0, left))) ||
             (answered > 0 && header == std::to_string(static_cast<int>(std::max(0.0, unsettled))));
    };
    for (int i = 0; i < 20; ++i) {
      fake().clear();
      auto r = gw.post("/tokens", kBody, as("alice-key"));
      if (r.status == 429) {
        CHECK(used + kEstimate > 60);  // nothing (or too little) was left
        CHECK(fake().requests().empty());
        const std::string message = r.json()["error"]["message"];
        CHECK(message.rfind("AI token rate limit exceeded for provider(s): openai", 0) == 0);
        const int retry = std::stoi(r.header("Retry-After"));
        CHECK(retry >= 1);
        CHECK(retry <= 3600);
        CHECK(r.header("X-AI-RateLimit-Limit-3600-openai") == "60");
        CHECK(remainingIs(r.header("X-AI-RateLimit-Remaining-3600-openai"), 60 - used));
        break;
      }
      REQUIRE(r.status == 200);
      CHECK(used + kEstimate <= 60);
      CHECK(r.header("X-AI-RateLimit-Limit-3600-openai") == "60");
      CHECK(remainingIs(r.header("X-AI-RateLimit-Remaining-3600-openai"), 60 - used - kEstimate));
      last = r.json()["usage"]["total_tokens"].get<double>();
      used += last;
      ++answered;
    }
    CHECK(answered >= 2);
    CHECK(gw.post("/tokens", kBody, as("alice-key")).status == 429);
    CHECK(gw.post("/tokens", kBody, as("bob-key")).status == 200);
  }

  SUBCASE("a prompt estimated above what is left is refused before the provider") {
    fake().clear();
    const std::string big =
        Json{{"messages", {{{"role", "user"}, {"content", std::string(400, 'x')}}}}}.dump();
    auto r = gw.post("/small", big, as("alice-key"));
    CHECK(r.status == 429);
    CHECK(r.json()["error"]["message"].get<std::string>().find(
              "estimated 104 prompt tokens exceed the 50 left") != std::string::npos);
    CHECK(fake().requests().empty());
    CHECK(gw.post("/small", kBody, as("alice-key")).status == 200);
  }

  SUBCASE("a stream is charged with the usage read from it") {
    auto plain = gw.post("/streamed", kBody, as("alice-key"));
    REQUIRE(plain.status == 200);
    const int first = plain.json()["usage"]["total_tokens"];
    auto s = gw.stream("/streamed",
                       R"({"messages":[{"role":"user","content":"hi there"}],"stream":true})",
                       as("alice-key"));
    REQUIRE(s.done());
    // The stream is charged once its last byte has gone, which can be just after the client
    // has it: wait (bounded) until the gateway has counted it, plain answer and stream.
    CHECK(waitUntil(
        [&] {
          return gw.admin("/metrics")
                     .body.find(R"(aigw_http_requests_total{route="streamed",ai_provider="openai",)"
                                R"(ai_model="gpt-4o-mini",code="200"} 2)") != std::string::npos;
        },
        5000));
    auto after = gw.post("/streamed", kBody, as("alice-key"));
    REQUIRE(after.status == 200);
    // Both answers are the same text, so the stream used what the plain answer did.
    CHECK(after.header("X-AI-RateLimit-Remaining-3600-openai") ==
          std::to_string(1000 - 2 * first - static_cast<int>(kEstimate)));
  }

  SUBCASE("cost: prompt tokens at input_cost per 1M") {
    // $1 per prompt token, 2 tokens a request, $5 a window: 0 -> 2 -> 4 -> 6, then refused.
    for (int i = 0; i < 3; ++i) CHECK(gw.post("/cost", kBody, as("alice-key")).status == 200);
    // Cost is charged once an answer has gone out, which can be just after the client has it:
    // the next request may still find the third one uncharged and pass; the one after cannot.
    auto r = gw.post("/cost", kBody, as("alice-key"));
    if (r.status == 200) r = gw.post("/cost", kBody, as("alice-key"));
    CHECK(r.status == 429);
    CHECK(r.header("X-AI-RateLimit-Remaining-3600-openai") == "0");
    CHECK(gw.post("/cost", kBody, as("bob-key")).status == 200);
  }

  SUBCASE("limits of a provider the route does not call do not apply") {
    for (int i = 0; i < 3; ++i) {
      auto r = gw.post("/other-provider", kBody, as("alice-key"));
      CHECK(r.status == 200);
      CHECK(r.header("X-AI-RateLimit-Limit-60-anthropic").empty());
    }
  }
}

TEST_CASE("ai-rate-limiting-advanced: config errors name the field") {
  const std::string dir = tempDir();
  auto check = [&](const std::string& plugin_config, const std::string& expected) {
    writeFile(dir + "/c.yaml",
              "_format_version: \"3.0\"\nplugins:\n- name: ai-rate-limiting-advanced\n"
              "  config: " +
                  plugin_config + "\n");
    Process p({AIGW_BINARY, "validate", dir + "/c.yaml"});
    REQUIRE(p.wait(20000));
    INFO(p.log());
    CHECK(p.log().find(expected) != std::string::npos);
  };
  check("{llm_providers: [{name: openai, limit: [10, 20], window_size: [60]}]}",
        "plugins[0].config.llm_providers[0]: limit and window_size must be");
  check("{llm_providers: [{name: opneai, limit: [10], window_size: [60]}]}",
        "plugins[0].config.llm_providers[0].name: unknown provider \"opneai\"");
  check("{identifier: header, llm_providers: [{name: openai, limit: [1], window_size: [60]}]}",
        "plugins[0].config.header_name: required when identifier is header");
  check(
      "{strategy: redis, redis: {ssl: true}, llm_providers: [{name: openai, limit: [1], "
      "window_size: [60]}]}",
      "plugins[0].config.redis.ssl: TLS to Redis needs hiredis 1.0");
  removeTempDir(dir);
}

TEST_CASE("ai-rate-limiting-advanced: three gateways sharing Redis hold one limit") {
  Redis redis;
  // 9 one-letter words: the fake counts 9 prompt tokens, the estimate is (17 + 3) / 4 + 4 = 9,
  // so each admitted request takes 9 of the 90: exactly 10 may pass, across all processes.
  const std::string body = R"({"messages":[{"role":"user","content":"a a a a a a a a a"}]})";
  const std::string redis_block =
      "redis: {host: 127.0.0.1, port: " + std::to_string(redis.port()) + ", timeout: 500}";
  const std::string cfg =
      "_format_version: \"3.0\"\n" + kConsumers + "routes:\n" +
      limitedRoute("shared", "{strategy: redis, " + redis_block +
                                 ", tokens_count_strategy: prompt_tokens, window_type: fixed, "
                                 "llm_providers: [{name: openai, limit: [90], window_size: "
                                 "[3600]}]}") +
      limitedRoute("tolerant", "{strategy: redis, " + redis_block +
                                   ", llm_providers: [{name: openai, limit: [1000000], "
                                   "window_size: [60]}]}") +
      limitedRoute("strict", "{strategy: redis, fault_tolerant: false, " + redis_block +
                                 ", window_type: fixed, llm_providers: [{name: openai, limit: "
                                 "[20], window_size: [3600]}]}");
  std::vector<std::unique_ptr<Gateway>> gws;
  for (int i = 0; i < 3; ++i)
    gws.push_back(std::make_unique<Gateway>(withFake(cfg, fake().baseUrl())));

  std::atomic<int> ok{0}, limited{0}, other{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 50; ++c)
    clients.emplace_back([&, c] {
      for (int i = 0; i < 2; ++i) {
        const int status = gws[(c + i) % 3]->post("/shared", body, as("alice-key")).status;
        (status == 200 ? ok : status == 429 ? limited : other)++;
      }
    });
  for (auto& t : clients) t.join();
  MESSAGE("3 gateways, 50 clients, 100 requests: " << ok.load() << " answered, " << limited.load()
                                                   << " refused (429)");
  CHECK(ok == 10);
  CHECK(limited == 90);
  CHECK(other == 0);
  CHECK(gws[1]->post("/shared", body, as("bob-key")).status == 200);  // bob has his own

  // Redis goes away: fault_tolerant lets traffic through, the strict route answers 503; neither
  // waits past redis.timeout (500 ms).
  redis.kill();
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    CHECK(gws[i]->post("/tolerant", kBody, as("alice-key")).status == 200);
    auto strict = gws[i]->post("/strict", kBody, as("alice-key"));
    CHECK(strict.status == 503);
    CHECK(strict.json()["error"]["message"].get<std::string>().find(
              "rate-limit counters are unavailable") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(3000));
  }
  CHECK(gws[0]->process().log().find("rate-limit counters unavailable") != std::string::npos);

  // Redis comes back (empty): counting resumes, and the strict limit holds again.
  redis.start();
  REQUIRE(waitUntil([&] { return gws[0]->post("/strict", kBody, as("alice-key")).status == 200; },
                    10000));
  int answered = 1;
  for (int i = 0; i < 10 && gws[i % 3]->post("/strict", kBody, as("alice-key")).status == 200; ++i)
    ++answered;
  CHECK(answered >= 2);
  CHECK(answered < 10);
  CHECK(gws[2]->post("/strict", kBody, as("alice-key")).status == 429);
  CHECK(gws[0]->process().log().find("reachable again") != std::string::npos);
}
