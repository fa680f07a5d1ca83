// Every provider's stream decoder must notice a stream that ends early. The fake's
// "fake-clean-close" scenario sends every event but the end marker ([DONE], message_stop,
// done:true, the finishReason event, messageStop, message-end, stream-end, TGI's final event)
// and then ends the HTTP response properly, so nothing at the transport level gives the
// truncation away: only the decoder's end-of-stream check does. The client must get an error
// event and no [DONE]. In-stream errors (Bedrock's exception frames, Anthropic's error event)
// must reach the client the same way.
#include <doctest/doctest.h>

#include "integration/gateway_harness.hpp"

using namespace aigw::test;
using Json = nlohmann::json;

namespace {

FakeProvider& fake() {
  static FakeProvider instance(FAKE_PROVIDER_BINARY);
  return instance;
}

// One route per provider, each with the scenario as a path prefix of its upstream, so the
// gateway builds the provider's real request and the fake answers it in the provider's wire
// format, minus the end marker.
const char* kRoutes = R"(
  - name: openai-{S}
    paths: ["/{S}/openai"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: Authorization, header_value: "Bearer sk-fake"}
        model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "{FAKE}/scenario/{S}/v1/chat/completions"}}
  - name: anthropic-{S}
    paths: ["/{S}/anthropic"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: x-api-key, header_value: "sk-ant-fake"}
        model: {provider: anthropic, name: claude-3-5-haiku-latest, options: {max_tokens: 64, upstream_url: "{FAKE}/scenario/{S}/v1/messages"}}
  - name: gemini-{S}
    paths: ["/{S}/gemini"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: x-goog-api-key, header_value: "g-fake"}
        model: {provider: gemini, name: gemini-2.0-flash, options: {upstream_url: "{FAKE}/scenario/{S}"}}
  - name: cohere-{S}
    paths: ["/{S}/cohere"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: Authorization, header_value: "Bearer co-fake"}
        model: {provider: cohere, name: command-r, options: {upstream_url: "{FAKE}/scenario/{S}/v2/chat"}}
  - name: cohere-v1-{S}
    paths: ["/{S}/cohere-v1"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: Authorization, header_value: "Bearer co-fake"}
        model: {provider: cohere, name: command-r, options: {upstream_url: "{FAKE}/scenario/{S}/v1/chat"}}
  - name: bedrock-{S}
    paths: ["/{S}/bedrock"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {aws_access_key_id: AKIDFAKE, aws_secret_access_key: fake-secret}
        model: {provider: bedrock, name: "anthropic.claude-3-haiku-20240307-v1:0", options: {upstream_url: "{FAKE}/scenario/{S}", bedrock: {aws_region: us-east-1}}}
  - name: ollama-{S}
    paths: ["/{S}/ollama"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        model: {provider: ollama, name: llama3.2, options: {upstream_url: "{FAKE}/scenario/{S}/api/chat"}}
  - name: huggingface-{S}
    paths: ["/{S}/huggingface"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/completions
        auth: {header_name: Authorization, header_value: "Bearer hf_fake"}
        model: {provider: huggingface, name: gpt2, options: {upstream_url: "{FAKE}/scenario/{S}/hf-inference/models/gpt2"}}
)";

std::string routesFor(const std::string& scenario) {
  std::string routes = kRoutes;
  for (auto pos = routes.find("{S}"); pos != std::string::npos; pos = routes.find("{S}", pos))
    routes.replace(pos, 3, scenario);
  return routes;
}

Gateway& gw() {
  static Gateway instance([] {
    std::string cfg = "_format_version: \"3.0\"\nservices:\n- name: fake\n  url: {FAKE}\n  routes:";
    for (const char* s : {"fake-clean-close", "fake-stream-error-throttling",
                          "fake-stream-error-model", "fake-corrupt-frame", "ok"})
      cfg += routesFor(s);
    // "ok" routes have no scenario: "/scenario/ok/..." is served normally.
    return withFake(cfg, fake().baseUrl());
  }());
  return instance;
}

std::string bodyFor(const std::string& provider, bool stream) {
  Json body = provider == "huggingface"
                  ? Json{{"prompt", "one two three"}}
                  : Json{{"messages", {{{"role", "user"}, {"content", "one two three"}}}}};
  body["stream"] = stream;
  return body.dump();
}

// The client saw some of the answer, then an error event naming the cut, and no [DONE]; the
// response itself ended properly (the gateway is not the one that broke).
void checkEndsInError(const std::string& path, const std::string& provider,
                      const std::string& expected_message) {
  CAPTURE(path);
  const StreamResult s = gw().stream(path, bodyFor(provider, true));
  CHECK(s.status == 200);
  CHECK(s.content_type.rfind("text/event-stream", 0) == 0);
  CHECK(s.complete);
  CHECK(s.partial.empty());
  REQUIRE_FALSE(s.events.empty());
  for (const auto& e : s.events) CHECK(e != "[DONE]");
  CHECK_FALSE(s.done());
  const Json last = Json::parse(s.events.back(), nullptr, false);
  REQUIRE(last.is_object());
  REQUIRE(last.contains("error"));
  CAPTURE(last.dump());
  CHECK(last["error"]["message"].get<std::string>().find(expected_message) != std::string::npos);
}

void checkCleanClose(const std::string& provider, const std::string& marker) {
  fake().clear();
  // The same route without the scenario ends normally: the fake's answer is whole there.
  CHECK(gw().stream("/ok/" + provider, bodyFor(provider, true)).done());
  checkEndsInError("/fake-clean-close/" + provider, provider, "ended before " + marker);
  const Json up = fake().lastRequest();
  REQUIRE(up.contains("stream"));
  CHECK(up["stream"]["outcome"] == "clean close");
  // Not streamed: half a body with a Content-Length that matches it is not an answer.
  const HttpResult r = gw().post("/fake-clean-close/" + provider, bodyFor(provider, false));
  CHECK(r.status == 502);
  CHECK(r.json()["error"]["message"].is_string());
}

}  // namespace

TEST_CASE("clean close before the end marker: openai (no [DONE])") {
  checkCleanClose("openai", "[DONE]");
}

TEST_CASE("clean close before the end marker: anthropic (no message_stop)") {
  checkCleanClose("anthropic", "message_stop");
}

TEST_CASE("clean close before the end marker: gemini (no finishReason)") {
  checkCleanClose("gemini", "a finishReason");
}

TEST_CASE("clean close before the end marker: cohere v2 (no message-end)") {
  checkCleanClose("cohere", "message-end");
}

TEST_CASE("clean close before the end marker: cohere v1 (no stream-end)") {
  checkCleanClose("cohere-v1", "stream-end");
}

TEST_CASE("clean close before the end marker: bedrock (no messageStop)") {
  checkCleanClose("bedrock", "messageStop");
}

TEST_CASE("clean close before the end marker: ollama (no done:true)") {
  checkCleanClose("ollama", "done:true");
}

TEST_CASE("clean close before the end marker: huggingface TGI (no final event)") {
  checkCleanClose("huggingface", "the final event");
}

TEST_CASE("bedrock exception frames mid-stream become error events, no [DONE]") {
  checkEndsInError("/fake-stream-error-throttling/bedrock", "bedrock",
                   "throttlingException: fake throttling mid-stream");
  checkEndsInError("/fake-stream-error-model/bedrock", "bedrock",
                   "modelStreamErrorException: fake model error mid-stream");
  CHECK(gw().stream("/ok/bedrock", bodyFor("bedrock", true)).done());
}

TEST_CASE("a bedrock frame whose CRC does not match ends the stream in an error, no [DONE]") {
  // One payload byte flipped in the third frame: only the CRC check can tell.
  checkEndsInError("/fake-corrupt-frame/bedrock", "bedrock", "CRC mismatch");
}

TEST_CASE("anthropic error events mid-stream become error events, no [DONE]") {
  checkEndsInError("/fake-stream-error-throttling/anthropic", "anthropic",
                   "fake throttling mid-stream");
  checkEndsInError("/fake-stream-error-model/anthropic", "anthropic",
                   "fake model error mid-stream");
}
