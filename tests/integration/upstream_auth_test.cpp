// A credential the provider refuses comes back to the client with the provider's status and
// message (in OpenAI's error shape), for every provider; the fakes refuse keys the way each
// provider does (see tests/fakes). And a route without credentials never borrows the
// client's: the provider sees none.
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
services:
- name: fake
  url: {FAKE}
  routes:
  - name: openai
    paths: ["/openai"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: Authorization, header_value: "Bearer sk-wrong-key"}
        model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
  - name: openai-none
    paths: ["/openai-none"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
  - name: anthropic
    paths: ["/anthropic"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: x-api-key, header_value: "sk-ant-wrong"}
        model: {provider: anthropic, name: claude-3-5-haiku-latest, options: {upstream_url: "{FAKE}/v1/messages"}}
  - name: gemini
    paths: ["/gemini"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {param_name: key, param_value: "wrong-key", param_location: query}
        model: {provider: gemini, name: gemini-2.0-flash, options: {upstream_url: "{FAKE}"}}
  - name: cohere
    paths: ["/cohere"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: Authorization, header_value: "Bearer wrong"}
        model: {provider: cohere, name: command-r, options: {upstream_url: "{FAKE}/v2/chat"}}
  - name: bedrock
    paths: ["/bedrock"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {aws_access_key_id: AKIDwrong, aws_secret_access_key: s}
        model: {provider: bedrock, name: m1, options: {upstream_url: "{FAKE}", bedrock: {aws_region: us-east-1}}}
  - name: huggingface
    paths: ["/huggingface"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: Authorization, header_value: "Bearer hf_wrong"}
        model: {provider: huggingface, name: m, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
)";

Gateway& gw() {
  static Gateway instance(withFake(kConfig, fake().baseUrl()));
  return instance;
}

const std::string kHello = R"({"messages":[{"role":"user","content":"hello"}]})";

}  // namespace

TEST_CASE("a refused credential keeps the provider's status and message, for every provider") {
  const struct {
    const char* path;
    int status;
    const char* message;
  } cases[] = {
      {"/openai", 401, "Incorrect API key provided"},
      {"/anthropic", 401, "invalid x-api-key"},
      {"/gemini", 400, "API key not valid"},
      {"/cohere", 401, "invalid api token"},
      {"/bedrock", 403, "The security token included in the request is invalid."},
      {"/huggingface", 401, "Incorrect API key provided"},  // HF's router speaks OpenAI
  };
  for (const auto& c : cases) {
    CAPTURE(c.path);
    const HttpResult r = gw().post(c.path, kHello, {{"Authorization", "Bearer client-key"}});
    CHECK(r.status == c.status);
    const Json err = r.json()["error"];
    REQUIRE(err.is_object());
    CHECK(err["message"].get<std::string>().find(c.message) != std::string::npos);
    CHECK(r.body.find("wrong") == std::string::npos);  // the refused key is not echoed back
    // Streamed, the refusal arrives before any event: a plain error answer, not a stream.
    Json streamed = Json::parse(kHello);
    streamed["stream"] = true;
    const StreamResult s = gw().stream(c.path, streamed.dump());
    CHECK(s.status == c.status);
    CHECK_FALSE(s.done());
  }
}

TEST_CASE("a route without credentials sends none: the client's key never goes upstream") {
  fake().clear();
  const HttpResult r = gw().post("/openai-none", kHello, {{"Authorization", "Bearer client-key"}});
  CHECK(r.status == 401);
  CHECK(r.json()["error"]["message"].get<std::string>().find("didn't provide an API key") !=
        std::string::npos);
  const Json up = fake().lastRequest();
  CHECK_FALSE(up["headers"].contains("authorization"));
}
