// ai-proxy-advanced through the real binary: balancing, failover by Kong's criteria,
// Retry-After, passive health, streams that fail over before their first byte, attempts in the
// access log and /metrics, and one of two providers killed under load.
#include <doctest/doctest.h>

#include <csignal>
#include <map>
#include <thread>

#include "integration/gateway_harness.hpp"

using namespace aigw::test;
using Json = nlohmann::json;

namespace {

FakeProvider& fake() {
  static FakeProvider instance(FAKE_PROVIDER_BINARY);
  return instance;
}

// A target of the fake under a fault scenario ("" = healthy), with its own model name so the
// test can tell which one answered.
std::string target(const std::string& scenario, const std::string& model, int weight = 100) {
  const std::string prefix = scenario.empty() ? "" : "/scenario/" + scenario;
  return "      - route_type: llm/v1/chat\n"
         "        weight: " +
         std::to_string(weight) +
         "\n"
         "        auth: {header_name: Authorization, header_value: \"Bearer sk-fake\"}\n"
         "        model: {provider: openai, name: " +
         model + ", options: {upstream_url: \"{FAKE}" + prefix + "/v1/chat/completions\"}}\n";
}

std::string route(const std::string& name, const std::string& balancer,
                  const std::string& targets) {
  return "- name: " + name + "\n  paths: [/" + name +
         "]\n  plugins:\n  - name: ai-proxy-advanced\n    config:\n      balancer: " + balancer +
         "\n      targets:\n" + targets;
}

const std::string kAll =
    "[error, timeout, invalid_header, http_429, http_500, http_502, http_503, http_504, "
    "non_idempotent]";

std::string config() {
  return "_format_version: \"3.0\"\nroutes:\n" +
         route("rr", "{algorithm: round-robin}",
               target("", "model-a", 3) + target("", "model-b", 1)) +
         route("failover", "{algorithm: priority, failover_criteria: " + kAll + "}",
               target("fake-error-503", "model-a", 100) + target("", "model-b", 50)) +
         route("kong-default", "{algorithm: priority}",
               target("fake-error-503", "model-a", 100) + target("", "model-b", 50)) +
         route("ratelimited", "{algorithm: priority, failover_criteria: " + kAll + "}",
               target("fake-error-429", "model-a", 100) + target("", "model-b", 50)) +
         route("badrequest", "{algorithm: priority, failover_criteria: " + kAll + "}",
               target("fake-context-length", "model-a", 100) + target("", "model-b", 50)) +
         route("breaker",
               "{max_fails: 2, fail_timeout: 60000, failover_criteria: [error, http_500]}",
               target("fake-error-500", "model-a")) +
         route("stream-failover", "{algorithm: priority, failover_criteria: " + kAll + "}",
               target("fake-reset-headers", "model-a", 100) + target("", "model-b", 50)) +
         route("hashed", "{algorithm: consistent-hashing, hash_on_header: X-User}",
               target("", "model-a") + target("", "model-b") + target("", "model-c")) +
         route("fastest", "{algorithm: lowest-latency, latency_strategy: e2e}",
               target("fake-slow-200", "model-a") + target("", "model-b")) +
         route("by-model", "{algorithm: round-robin}",
               target("", "model-a") + target("", "model-b"));
}

const std::string kBody = R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]})";

std::string modelHeader(const HttpResult& r) {
  return r.header("X-Kong-LLM-Model");
}

int countPath(const Json& requests, const std::string& needle) {
  int n = 0;
  for (const auto& r : requests)
    if (r["path"].get<std::string>().find(needle) != std::string::npos) ++n;
  return n;
}

}  // namespace

TEST_CASE("ai-proxy-advanced: balancing and failover by Kong's criteria") {
  const std::string dir = tempDir();
  Gateway gw(withFake(config(), fake().baseUrl()), {}, {"--access-log", dir + "/access.log"});

  SUBCASE("weighted round-robin, each target sends its own model") {
    std::map<std::string, int> count;
    for (int i = 0; i < 40; ++i) {
      auto r = gw.post("/rr", kBody);
      REQUIRE(r.status == 200);
      ++count[modelHeader(r)];
      CHECK(fake().lastRequest()["json"]["model"] == modelHeader(r).substr(7));
    }
    CHECK(count["openai/model-a"] == 30);
    CHECK(count["openai/model-b"] == 10);
  }

  SUBCASE("a 503 moves to the next target; the log and /metrics record both attempts") {
    fake().clear();
    auto r = gw.post("/failover", kBody);
    REQUIRE(r.status == 200);
    CHECK(modelHeader(r) == "openai/model-b");
    CHECK(fake().requests().size() == 2);
    std::string log;
    REQUIRE(waitUntil(
        [&] {
          log = readFile(dir + "/access.log");
          return log.find("\"route\":\"failover\"") != std::string::npos;
        },
        5000));
    CHECK(log.find(R"("outcome":"http_503")") != std::string::npos);
    CHECK(log.find(R"("outcome":"ok")") != std::string::npos);
    const std::string metrics = gw.admin("/metrics").body;
    CHECK(
        metrics.find(
            R"(aigw_upstream_attempts_total{route="failover",ai_provider="openai",ai_model="model-a",outcome="http_503"} 1)") !=
        std::string::npos);
    CHECK(
        metrics.find(
            R"(aigw_upstream_attempts_total{route="failover",ai_provider="openai",ai_model="model-b",outcome="ok"} 1)") !=
        std::string::npos);
  }

  SUBCASE("Kong's default criteria (error, timeout): a POST that got a 503 is not retried") {
    fake().clear();
    auto r = gw.post("/kong-default", kBody);
    CHECK(r.status == 503);
    CHECK(r.header("Retry-After") == "7");
    CHECK(fake().requests().size() == 1);
  }

  SUBCASE("Retry-After: the 429 target is not called again before it") {
    fake().clear();
    auto first = gw.post("/ratelimited", kBody);
    REQUIRE(first.status == 200);
    CHECK(modelHeader(first) == "openai/model-b");
    for (int i = 0; i < 3; ++i) REQUIRE(gw.post("/ratelimited", kBody).status == 200);
    CHECK(countPath(fake().requests(), "fake-error-429") == 1);
  }

  SUBCASE("a context-length 400 is the answer: no other target is tried") {
    fake().clear();
    auto r = gw.post("/badrequest", kBody);
    CHECK(r.status == 400);
    CHECK(r.json()["error"]["message"].get<std::string>().find("maximum context length") !=
          std::string::npos);
    CHECK(fake().requests().size() == 1);
  }

  SUBCASE("max_fails: after two failures the target is skipped for fail_timeout") {
    fake().clear();
    CHECK(gw.post("/breaker", kBody).status == 500);
    CHECK(gw.post("/breaker", kBody).status == 500);
    auto r = gw.post("/breaker", kBody);
    CHECK(r.status == 503);
    CHECK(r.json()["error"]["code"] == "no_healthy_target");
    CHECK(!r.header("Retry-After").empty());
    CHECK(fake().requests().size() == 2);
  }

  SUBCASE("a stream reset before its first byte fails over; the client sees one clean stream") {
    fake().clear();
    auto s = gw.stream("/stream-failover",
                       R"({"messages":[{"role":"user","content":"one two"}],"stream":true})");
    CHECK(s.status == 200);
    CHECK(s.done());
    CHECK(s.text() == "Hello from fake openai: one two");
    CHECK(fake().requests().size() == 2);
  }

  SUBCASE("consistent-hashing keeps a user on one target") {
    std::map<std::string, std::string> seen;
    for (int round = 0; round < 3; ++round)
      for (int u = 0; u < 12; ++u) {
        auto r = gw.post("/hashed", kBody, {{"X-User", "user-" + std::to_string(u)}});
        REQUIRE(r.status == 200);
        auto [it, inserted] = seen.emplace("user-" + std::to_string(u), modelHeader(r));
        if (!inserted) CHECK(it->second == modelHeader(r));
      }
    std::map<std::string, int> spread;
    for (auto& [u, m] : seen) ++spread[m];
    CHECK(spread.size() >= 2);
  }

  SUBCASE("lowest-latency prefers the faster target once both are measured") {
    std::map<std::string, int> count;
    for (int i = 0; i < 12; ++i) ++count[modelHeader(gw.post("/fastest", kBody))];
    CHECK(count["openai/model-b"] >= 10);
  }

  SUBCASE("the client's model picks the targets that serve it") {
    for (int i = 0; i < 4; ++i) {
      auto r =
          gw.post("/by-model", R"({"model":"model-b","messages":[{"role":"user","content":"x"}]})");
      CHECK(modelHeader(r) == "openai/model-b");
    }
  }
  removeTempDir(dir);
}

TEST_CASE("ai-proxy-advanced: config errors name the field") {
  const std::string dir = tempDir();
  auto check = [&](const std::string& plugin_config, const std::string& expected) {
    writeFile(dir + "/c.yaml",
              "_format_version: \"3.0\"\nroutes:\n- name: r\n  paths: [/r]\n"
              "  plugins:\n  - name: ai-proxy-advanced\n    config:\n" +
                  plugin_config);
    Process p({AIGW_BINARY, "validate", dir + "/c.yaml"});
    REQUIRE(p.wait(20000));
    INFO(p.log());
    CHECK(p.log().find(expected) != std::string::npos);
  };
  const std::string t = "      targets:\n" + target("", "m");
  check("      balancer: {algorithm: semantic}\n" + t,
        "routes[0].plugins[0].config.balancer.algorithm: the semantic algorithm needs");
  check("      balancer: {failover_criteria: [error, http_418]}\n" + t,
        "unknown criterion \"http_418\"");
  check("      targets: []\n", "config.targets: at least one target is required");
  check("      targets:\n" + target("", "m") +
            "      - route_type: llm/v1/embeddings\n        model: {provider: openai, name: e}\n",
        "config.targets[1].route_type: every target must have the same route_type");
  check("      targets:\n      - route_type: llm/v1/chat\n        model: {provider: opneai}\n",
        "config.targets[0].model.provider");
  removeTempDir(dir);
}

TEST_CASE("ai-proxy-advanced: one of two providers killed under load loses no request") {
  // A provider of its own, to kill.
  auto victim = std::make_unique<FakeProvider>(FAKE_PROVIDER_BINARY);
  const std::string cfg =
      std::string("_format_version: \"3.0\"\nroutes:\n") +
      "- name: pair\n  paths: [/pair]\n  plugins:\n"
      "  - name: ai-proxy-advanced\n    config:\n"
      "      balancer: {algorithm: round-robin, max_fails: 1, fail_timeout: "
      "30000, connect_timeout: 2000, read_timeout: 5000, failover_criteria: " +
      kAll + "}\n      targets:\n" +
      "      - route_type: llm/v1/chat\n"
      "        auth: {header_name: Authorization, header_value: \"Bearer x\"}\n"
      "        model: {provider: openai, name: victim, options: {upstream_url: \"" +
      victim->baseUrl() + "/scenario/fake-pace-20/v1/chat/completions\"}}\n" +
      target("fake-pace-20", "survivor");
  Gateway gw(withFake(cfg, fake().baseUrl()));
  std::atomic<int> ok{0}, failed{0}, streams_done{0}, streams_error{0}, streams_fake{0};
  std::atomic<bool> killed{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c)
    clients.emplace_back([&, c] {
      for (int i = 0; i < 12; ++i) {
        if (c % 2 == 0) {
          auto r = gw.post("/pair", R"({"messages":[{"role":"user","content":"a b c d e f"}]})");
          (r.status == 200 ? ok : failed)++;
        } else {
          auto s = gw.stream(
              "/pair", R"({"messages":[{"role":"user","content":"a b c d e f"}],"stream":true})");
          if (s.done() && s.text() == "Hello from fake openai: a b c d e f")
            streams_done++;
          else if (s.done())
            streams_fake++;  // [DONE] after a broken answer: must never happen
          else if (!s.events.empty() && s.events.back().find("\"error\"") != std::string::npos)
            streams_error++;
          else
            failed++;
        }
        if (c == 0 && i == 3) {
          victim->process().signal(SIGKILL);
          killed = true;
        }
      }
    });
  for (auto& t : clients) t.join();
  CHECK(killed);
  CHECK(failed == 0);
  CHECK(ok == 48);
  CHECK(streams_fake == 0);
  CHECK(streams_done + streams_error == 48);
  MESSAGE("streams: " << streams_done.load() << " complete, " << streams_error.load()
                      << " ended with an error event after their first byte");
}
