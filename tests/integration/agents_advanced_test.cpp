// Client formats through ai-proxy-advanced: an Anthropic client (llm_format anthropic) on a
// route that balances and fails over between targets. Every target translates from the client's
// own request (never from the previous target's hub body), a native target after a translated
// one still gets the client's bytes, and the targets' models are listed by GET /v1/models and
// GET <route>/v1/models.
#include <doctest/doctest.h>

#include "integration/gateway_harness.hpp"

using namespace aigw::test;
using Json = nlohmann::json;

namespace {

FakeProvider& fake() {
  static FakeProvider instance(FAKE_PROVIDER_BINARY);
  return instance;
}

const char* kConfig = R"(_format_version: "3.0"
routes:
- name: claude-failover
  paths: ["/claude-failover"]
  plugins:
  - name: ai-proxy-advanced
    config:
      llm_format: anthropic
      balancer: {algorithm: priority, failover_criteria: [error, timeout, http_503, non_idempotent]}
      targets:
      - route_type: llm/v1/chat
        weight: 100
        auth: {header_name: Authorization, header_value: "Bearer sk-fake"}
        model: {provider: openai, name: model-a, options: {upstream_url: "{FAKE}/scenario/fake-error-503/v1/chat/completions"}}
      - route_type: llm/v1/chat
        weight: 50
        auth: {header_name: Authorization, header_value: "Bearer sk-fake"}
        model: {provider: openai, name: model-b, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
- name: claude-mixed
  paths: ["/claude-mixed"]
  plugins:
  - name: ai-proxy-advanced
    config:
      llm_format: anthropic
      balancer: {algorithm: priority, failover_criteria: [error, timeout, http_503, non_idempotent]}
      targets:
      - route_type: llm/v1/chat
        weight: 100
        auth: {header_name: Authorization, header_value: "Bearer sk-fake"}
        model: {provider: openai, name: model-c, options: {upstream_url: "{FAKE}/scenario/fake-error-503/v1/chat/completions"}}
      - route_type: llm/v1/chat
        weight: 50
        auth: {header_name: x-api-key, header_value: "sk-ant-fake"}
        model: {provider: anthropic, name: claude-d, options: {upstream_url: "{FAKE}/v1/messages"}}
)";

const std::string kBody =
    R"({"model":"claude-sonnet-4-5","max_tokens":64,)"
    R"("system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],)"
    R"("messages":[{"role":"user","content":"hello there"}]})";

}  // namespace

TEST_CASE("llm_format anthropic through ai-proxy-advanced: failover and models") {
  Gateway gw(withFake(kConfig, fake().baseUrl()));

  SUBCASE("each target translates the client's request, not the previous target's") {
    fake().clear();
    auto r = gw.post("/claude-failover/v1/messages", kBody);
    INFO(r.body);
    REQUIRE(r.status == 200);
    const Json body = r.json();
    CHECK(body["type"] == "message");
    CHECK(body["model"] == "claude-sonnet-4-5");  // the client's model, echoed
    CHECK(r.header("X-Kong-LLM-Model") == "openai/model-b");
    const Json requests = fake().requests();
    REQUIRE(requests.size() == 2);
    Json first = requests[0]["json"], second = requests[1]["json"];
    CHECK(first["model"] == "model-a");
    CHECK(second["model"] == "model-b");
    // The same hub body both times: the system block became a system message once.
    REQUIRE(second["messages"].is_array());
    CHECK(second["messages"].size() == 2);
    CHECK(second["messages"][0]["role"] == "system");
    CHECK(second["messages"][1]["role"] == "user");
    first.erase("model");
    second.erase("model");
    CHECK(first == second);
  }

  SUBCASE("a native target after a translated one gets the client's bytes") {
    fake().clear();
    auto r = gw.post("/claude-mixed/v1/messages", kBody);
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(r.json()["type"] == "message");
    CHECK(r.header("X-Kong-LLM-Model") == "anthropic/claude-d");
    const Json requests = fake().requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[0]["json"]["messages"][0]["role"] == "system");
    std::string expected = kBody;
    expected.replace(expected.find("claude-sonnet-4-5"), 17, "claude-d");
    CHECK(requests[1]["path"] == "/v1/messages");
    CHECK(requests[1]["body"] == expected);  // cache_control and all, byte for byte
  }

  SUBCASE("the targets' models are listed") {
    auto all = gw.get("/v1/models");
    INFO(all.body);
    REQUIRE(all.status == 200);
    const Json listed = all.json();  // (a temporary's ["data"] would dangle in the loop)
    std::string ids;
    for (const auto& m : listed["data"]) ids += m["id"].get<std::string>() + " ";
    CHECK(ids == "model-a model-b model-c claude-d ");
    // On the route, in the route's (Anthropic's) shape.
    auto route = gw.get("/claude-mixed/v1/models");
    REQUIRE(route.status == 200);
    const Json list = route.json();
    REQUIRE(list["data"].size() == 2);
    CHECK(list["data"][0]["id"] == "model-c");
    CHECK(list["data"][0]["type"] == "model");
    CHECK(list["last_id"] == "claude-d");
    CHECK(gw.get("/claude-mixed/v1/models/claude-d").json()["id"] == "claude-d");
    CHECK(gw.get("/claude-mixed/v1/models/model-a").status == 404);
  }
}
