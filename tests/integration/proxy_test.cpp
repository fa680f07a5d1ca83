// The real aigw binary against fake providers on loopback: what went upstream, what came back.
#include <doctest/doctest.h>

#include <csignal>

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
  - name: chat
    paths: ["/openai/chat"]
    methods: [POST]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: Authorization, header_value: "Bearer sk-configured"}
        model:
          provider: openai
          name: gpt-4o-mini
          options: {max_tokens: 64, temperature: 0.5, upstream_url: "{FAKE}/v1/chat/completions"}
  - name: any-model
    paths: ["/any/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: Authorization, header_value: "Bearer sk-configured"}
        timeouts: {first_byte_ms: 1500, idle_ms: 1500}
        model:
          provider: openai
          options: {upstream_url: "{FAKE}/v1/chat/completions"}
  - name: override
    paths: ["/override/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: Authorization, header_value: "Bearer sk-configured", allow_override: true}
        model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
  - name: query-auth
    paths: ["/query/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {param_name: key, param_value: "q-secret", param_location: query, header_name: Authorization, header_value: "Bearer sk-fake"}
        model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
  - name: body-auth
    paths: ["/body/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {param_name: api_key, param_value: "b-secret", param_location: body, header_name: Authorization, header_value: "Bearer sk-fake"}
        model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
  - name: body-auth-override
    paths: ["/body-override/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {param_name: api_key, param_value: "b-secret", param_location: body, allow_override: true, header_name: Authorization, header_value: "Bearer sk-fake"}
        model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
  - name: nostream
    paths: ["/nostream/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: Authorization, header_value: "Bearer sk-fake"}
        response_streaming: deny
        model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
  - name: alwaysstream
    paths: ["/always/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: Authorization, header_value: "Bearer sk-fake"}
        response_streaming: always
        model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
  - name: small
    paths: ["/small/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: Authorization, header_value: "Bearer sk-fake"}
        max_request_body_size: 200
        model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
  - name: completions
    paths: ["/openai/completions"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/completions
        auth: {header_name: Authorization, header_value: "Bearer sk-fake"}
        model: {provider: openai, name: gpt-3.5-turbo-instruct, options: {upstream_url: "{FAKE}/v1/completions"}}
  - name: embeddings
    paths: ["/openai/embeddings"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/embeddings
        auth: {header_name: Authorization, header_value: "Bearer sk-fake"}
        model: {provider: openai, name: text-embedding-3-small, options: {upstream_url: "{FAKE}/v1/embeddings"}}
  - name: azure
    paths: ["/azure/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: api-key, header_value: "az-key"}
        model:
          provider: azure
          name: gpt-4o
          options: {azure_instance: inst, azure_deployment_id: dep, upstream_url: "{FAKE}/openai/deployments/dep/chat/completions?api-version=2024-10-21"}
  - name: mistral
    paths: ["/mistral/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: Authorization, header_value: "Bearer m-key"}
        model: {provider: mistral, name: mistral-small, options: {mistral_format: openai, upstream_url: "{FAKE}/v1/chat/completions"}}
  - name: ollama
    paths: ["/ollama/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        model: {provider: ollama, name: llama3.2, options: {upstream_url: "{FAKE}/api/chat", max_tokens: 100}}
  - name: llama2-ollama
    paths: ["/llama2/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        model: {provider: llama2, name: llama3.2, options: {llama2_format: ollama, upstream_url: "{FAKE}/api/chat"}}
  - name: dead
    paths: ["/dead/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        timeouts: {connect_ms: 1000}
        model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "http://127.0.0.1:{DEADPORT}/v1/chat/completions"}}
- name: mockservice
  routes:
  - name: mock
    paths: ["/mock/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        model: {provider: mock, name: mock-1}
)";

Gateway& gw() {
  // Held (bound, never listening) for the whole run, so a connect there is always refused.
  static const ReservedPort dead;
  static Gateway instance([] {
    std::string cfg = withFake(kConfig, fake().baseUrl());
    cfg.replace(cfg.find("{DEADPORT}"), 10, std::to_string(dead.port()));
    return cfg;
  }());
  return instance;
}

const std::string kHello = R"({"messages":[{"role":"user","content":"hello"}]})";

Json lastUpstream() {
  return fake().lastRequest();
}

}  // namespace

TEST_CASE("chat: translated request upstream, OpenAI answer back, credential injected") {
  fake().clear();
  auto r = gw().post("/openai/chat",
                     R"({"messages":[{"role":"user","content":"hello"}],"temperature":0.9})",
                     {{"Authorization", "Bearer client-key"}, {"x-api-key", "client-x"}});
  REQUIRE(r.status == 200);
  auto body = r.json();
  CHECK(body["object"] == "chat.completion");
  CHECK(body["choices"][0]["message"]["content"].get<std::string>().find("hello") !=
        std::string::npos);
  CHECK(body["usage"]["total_tokens"].is_number());
  CHECK(r.header("X-Kong-LLM-Model") == "openai/gpt-4o-mini");
  auto up = lastUpstream();
  CHECK(up["path"] == "/v1/chat/completions");
  CHECK(up["headers"]["authorization"] == "Bearer sk-configured");
  CHECK_FALSE(up["headers"].contains("x-api-key"));
  CHECK(up["json"]["model"] == "gpt-4o-mini");
  CHECK(up["json"]["max_tokens"] == 64);    // filled from options
  CHECK(up["json"]["temperature"] == 0.9);  // the client's own value wins
  CHECK(up["json"]["stream"] == false);
}

TEST_CASE("model rules: configured name enforced, otherwise the request's, and required") {
  auto own =
      gw().post("/openai/chat", R"({"model":"gpt-4","messages":[{"role":"user","content":"x"}]})");
  CHECK(own.status == 400);
  CHECK(own.json()["error"]["message"] == "cannot use own model - must be: gpt-4o-mini");
  CHECK(own.json()["error"]["param"] == "model");
  auto same = gw().post("/openai/chat",
                        R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}]})");
  CHECK(same.status == 200);
  auto any =
      gw().post("/any/chat", R"({"model":"my-model","messages":[{"role":"user","content":"x"}]})");
  CHECK(any.status == 200);
  CHECK(any.header("X-Kong-LLM-Model") == "openai/my-model");
  CHECK(lastUpstream()["json"]["model"] == "my-model");
  auto none = gw().post("/any/chat", kHello);
  CHECK(none.status == 400);
  CHECK(none.json()["error"]["message"] ==
        "model parameter not found in request, nor in gateway configuration");
}

TEST_CASE(
    "streaming: SSE chunks, usage requested upstream but not forwarded unasked, [DONE] last") {
  fake().clear();
  auto s = gw().stream("/openai/chat",
                       R"({"messages":[{"role":"user","content":"one two three"}],"stream":true})");
  CHECK(s.status == 200);
  CHECK(s.content_type.rfind("text/event-stream", 0) == 0);
  REQUIRE(s.done());
  CHECK(s.text().find("one two three") != std::string::npos);
  for (std::size_t i = 0; i + 1 < s.events.size(); ++i) {
    auto c = Json::parse(s.events[i]);
    CHECK(c["object"] == "chat.completion.chunk");
    CHECK(!c["choices"].empty());
  }
  CHECK(lastUpstream()["json"]["stream_options"]["include_usage"] == true);

  auto with_usage = gw().stream(
      "/openai/chat",
      R"({"messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true}})");
  REQUIRE(with_usage.done());
  auto usage_chunk = Json::parse(with_usage.events[with_usage.events.size() - 2]);
  CHECK(usage_chunk["usage"]["total_tokens"].is_number());
}

TEST_CASE(
    "streaming reaches the client before the upstream finishes; a stall ends in an error, not "
    "[DONE]") {
  auto s = gw().stream(
      "/any/chat",
      R"({"model":"fake-stall","messages":[{"role":"user","content":"x"}],"stream":true})");
  CHECK(s.status == 200);
  REQUIRE(s.events.size() >= 3);
  CHECK_FALSE(s.done());
  auto last = Json::parse(s.events.back());
  CHECK(last["error"]["message"].get<std::string>().find("timed out") != std::string::npos);
  // The first chunks were delivered while the upstream was still open (idle timeout 1.5 s).
  CHECK(s.arrival_ms.back() - s.arrival_ms.front() > 1000);
  CHECK(gw().post("/openai/chat", kHello).status == 200);
}

TEST_CASE("a truncated upstream stream ends with an error event and no [DONE]") {
  auto s = gw().stream(
      "/any/chat",
      R"({"model":"fake-truncate","messages":[{"role":"user","content":"x"}],"stream":true})");
  REQUIRE_FALSE(s.events.empty());
  CHECK_FALSE(s.done());
  const Json last = Json::parse(s.events.back());
  REQUIRE(last.contains("error"));
  // The error names the broken upstream connection, not only the missing [DONE] that follows
  // from it (end_of_stream_test covers a clean close, where there is nothing else to name).
  CHECK(last["error"]["message"].get<std::string>().rfind("upstream openai: ", 0) == 0);
  CHECK(gw().post("/openai/chat", kHello).status == 200);
}

TEST_CASE(
    "upstream errors keep their status and message; garbage is 502; unreachable 502; slow 504") {
  auto e503 = gw().post("/any/chat",
                        R"({"model":"fake-error-503","messages":[{"role":"user","content":"x"}]})");
  CHECK(e503.status == 503);
  CHECK(e503.header("Retry-After") == "7");
  CHECK(e503.json()["error"]["message"] == "fake upstream error 503");
  auto e401 = gw().post("/any/chat",
                        R"({"model":"fake-error-401","messages":[{"role":"user","content":"x"}]})");
  CHECK(e401.status == 401);
  auto s429 = gw().stream(
      "/any/chat",
      R"({"model":"fake-error-429","messages":[{"role":"user","content":"x"}],"stream":true})");
  CHECK(s429.status == 429);
  auto garbage = gw().post(
      "/any/chat", R"({"model":"fake-garbage","messages":[{"role":"user","content":"x"}]})");
  CHECK(garbage.status == 502);
  CHECK(garbage.json()["error"]["message"] ==
        "upstream openai returned a response that is not a JSON object");
  auto html = gw().post("/any/chat",
                        R"({"model":"fake-html-500","messages":[{"role":"user","content":"x"}]})");
  CHECK(html.status == 500);
  CHECK(html.json()["error"]["message"].get<std::string>().rfind(
            "upstream openai returned HTTP 500", 0) == 0);
  auto dead = gw().post("/dead/chat", kHello);
  CHECK(dead.status == 502);
  CHECK(dead.json()["error"]["type"] == "upstream_error");
  auto slow = gw().post("/any/chat",
                        R"({"model":"fake-slow-4000","messages":[{"role":"user","content":"x"}]})");
  CHECK(slow.status == 504);
  CHECK(gw().post("/openai/chat", kHello).status == 200);
}

TEST_CASE("bad client input: clear 4xx with the field, then the gateway still works") {
  auto not_json = gw().post("/openai/chat", "{not json");
  CHECK(not_json.status == 400);
  CHECK(not_json.json()["error"]["message"].get<std::string>().rfind(
            "request body is not valid JSON", 0) == 0);
  auto no_messages = gw().post("/openai/chat", R"({"messages":[]})");
  CHECK(no_messages.status == 400);
  CHECK(no_messages.json()["error"]["message"] == "request body doesn't contain valid prompts");
  auto bad_role = gw().post("/openai/chat", R"({"messages":[{"content":"x"}]})");
  CHECK(bad_role.json()["error"]["param"] == "messages[0].role");
  auto both =
      gw().post("/openai/chat", R"({"messages":[{"role":"user","content":"x"}],"prompt":"y"})");
  CHECK(both.json()["error"]["message"] == "request matches multiple LLM request formats");
  auto chat_on_completions = gw().post("/openai/completions", kHello);
  CHECK(chat_on_completions.json()["error"]["message"] ==
        "[llm/v1/chat] message format is not compatible with [llm/v1/completions] route type");
  auto big = gw().post("/small/chat", R"({"messages":[{"role":"user","content":")" +
                                          std::string(300, 'x') + "\"}]}");
  CHECK(big.status == 413);
  auto deep = gw().post("/openai/chat", std::string(5000, '[') + std::string(5000, ']'));
  CHECK(deep.status == 400);
  auto bad_stream =
      gw().post("/openai/chat", R"({"messages":[{"role":"user","content":"x"}],"stream":"yes"})");
  CHECK(bad_stream.json()["error"]["param"] == "stream");
  // Wrong types in OpenAI's own fields are 400s naming the field, for every provider alike.
  const std::pair<const char*, const char*> typed[] = {
      {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":"x"})", "max_tokens"},
      {R"({"messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":"yes"}})",
       "stream_options.include_usage"},
      {R"({"messages":[{"role":"user","content":[{"type":5}]}]})", "messages[0].content[0].type"},
      {R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":7}]}]})",
       "messages[0].content[0].image_url.url"},
      {R"({"messages":[{"role":"user","content":"x"}],"stop":[1]})", "stop"},
      {R"({"messages":[{"role":"user","content":"x"}],"tools":{}})", "tools"},
  };
  for (const auto& [body, param] : typed) {
    CAPTURE(body);
    auto r = gw().post("/mock/chat", body);
    CHECK(r.status == 400);
    CHECK(r.json()["error"]["param"] == param);
  }
  auto missing = gw().post("/nowhere", kHello);
  CHECK(missing.status == 404);
  CHECK(missing.json()["error"]["message"] == "no Route matched with those values");
  auto wrong_method = gw().get("/openai/chat");
  CHECK(wrong_method.status == 404);
  CHECK(gw().post("/openai/chat", kHello).status == 200);
}

TEST_CASE("response_streaming deny and always") {
  auto denied =
      gw().post("/nostream/chat", R"({"messages":[{"role":"user","content":"x"}],"stream":true})");
  CHECK(denied.status == 400);
  CHECK(denied.json()["error"]["message"] == "response streaming is not enabled for this LLM");
  auto forced = gw().stream("/always/chat", kHello);
  CHECK(forced.content_type.rfind("text/event-stream", 0) == 0);
  CHECK(forced.done());
}

TEST_CASE("auth: a body parameter replaces the client's own, unless allow_override is set") {
  fake().clear();
  const std::string with_key =
      R"({"messages":[{"role":"user","content":"hello"}],"api_key":"client-body-key"})";
  // Without allow_override the configured key is what goes upstream, whatever the client sent.
  REQUIRE(gw().post("/body/chat", with_key).status == 200);
  CHECK(lastUpstream()["json"]["api_key"] == "b-secret");
  CHECK(lastUpstream()["body"].get<std::string>().find("client-body-key") == std::string::npos);
  // With allow_override the client's own key is kept; without one, the configured key is set.
  REQUIRE(gw().post("/body-override/chat", with_key).status == 200);
  CHECK(lastUpstream()["json"]["api_key"] == "client-body-key");
  REQUIRE(gw().post("/body-override/chat", kHello).status == 200);
  CHECK(lastUpstream()["json"]["api_key"] == "b-secret");
}

TEST_CASE("options fill only what the client left out; a client null counts as left out") {
  fake().clear();
  // /openai/chat configures max_tokens 64 and temperature 0.5.
  REQUIRE(gw().post("/openai/chat", R"({"messages":[{"role":"user","content":"x"}],
      "temperature":null,"max_tokens":null})")
              .status == 200);
  Json up = lastUpstream()["json"];
  CHECK(up["temperature"] == 0.5);
  CHECK(up["max_tokens"] == 64);
  REQUIRE(gw().post("/openai/chat", R"({"messages":[{"role":"user","content":"x"}],
      "temperature":0,"max_tokens":7})")
              .status == 200);
  up = lastUpstream()["json"];
  CHECK(up["temperature"] == 0);  // a falsy value is still the client's
  CHECK(up["max_tokens"] == 7);
}

TEST_CASE("auth: query and body parameters; allow_override keeps the client's header") {
  fake().clear();
  CHECK(gw().post("/query/chat", kHello).status == 200);
  CHECK(lastUpstream()["query"].get<std::string>().find("key=q-secret") != std::string::npos);
  CHECK(gw().post("/body/chat", kHello).status == 200);
  CHECK(lastUpstream()["json"]["api_key"] == "b-secret");
  CHECK(gw().post("/override/chat", kHello, {{"Authorization", "Bearer client-own"}}).status ==
        200);
  CHECK(lastUpstream()["headers"]["authorization"] == "Bearer client-own");
  CHECK(gw().post("/override/chat", kHello).status == 200);
  CHECK(lastUpstream()["headers"]["authorization"] == "Bearer sk-configured");
}

TEST_CASE("completions and embeddings") {
  auto c = gw().post("/openai/completions", R"({"prompt":"say hi"})");
  REQUIRE(c.status == 200);
  CHECK(c.json()["object"] == "text_completion");
  CHECK(lastUpstream()["json"]["model"] == "gpt-3.5-turbo-instruct");
  auto e = gw().post("/openai/embeddings", R"({"input":["a","b"]})");
  REQUIRE(e.status == 200);
  CHECK(e.json()["data"].size() == 2);
  CHECK(lastUpstream()["path"] == "/v1/embeddings");
}

TEST_CASE("azure and mistral speak OpenAI at their own endpoints") {
  fake().clear();
  REQUIRE(gw().post("/azure/chat", kHello).status == 200);
  auto up = lastUpstream();
  CHECK(up["path"] == "/openai/deployments/dep/chat/completions");
  CHECK(up["query"].get<std::string>().find("api-version=2024-10-21") != std::string::npos);
  CHECK(up["headers"]["api-key"] == "az-key");
  auto s =
      gw().stream("/azure/chat", R"({"messages":[{"role":"user","content":"x"}],"stream":true})");
  CHECK(s.done());
  CHECK_FALSE(lastUpstream()["json"].contains("stream_options"));
  REQUIRE(gw().post("/mistral/chat", kHello).status == 200);
  CHECK(lastUpstream()["headers"]["authorization"] == "Bearer m-key");
  CHECK(
      gw().stream("/mistral/chat", R"({"messages":[{"role":"user","content":"x"}],"stream":true})")
          .done());
}

TEST_CASE("ollama native: /api/chat JSON and NDJSON stream become OpenAI chat and SSE") {
  fake().clear();
  auto r = gw().post("/ollama/chat", kHello);
  REQUIRE(r.status == 200);
  CHECK(r.json()["object"] == "chat.completion");
  CHECK(r.json()["usage"]["prompt_tokens"].is_number());
  auto up = lastUpstream();
  CHECK(up["path"] == "/api/chat");
  CHECK(up["json"]["options"]["num_predict"] == 100);
  auto s = gw().stream("/ollama/chat",
                       R"({"messages":[{"role":"user","content":"a b c"}],"stream":true})");
  REQUIRE(s.done());
  CHECK(s.text().find("a b c") != std::string::npos);
  auto last = Json::parse(s.events[s.events.size() - 2]);
  CHECK(last["choices"][0]["finish_reason"] == "stop");
  CHECK(last["usage"]["completion_tokens"].is_number());
  CHECK(gw().stream("/llama2/chat", R"({"messages":[{"role":"user","content":"x"}],"stream":true})")
            .done());
}

TEST_CASE("mock provider answers offline, streamed and not") {
  auto r = gw().post("/mock/chat", kHello);
  REQUIRE(r.status == 200);
  CHECK(r.json()["model"] == "mock-1");
  auto s =
      gw().stream("/mock/chat", R"({"messages":[{"role":"user","content":"x"}],"stream":true})");
  CHECK(s.done());
}

TEST_CASE("admin status counts the config") {
  auto st = gw().admin("/status");
  REQUIRE(st.status == 200);
  CHECK(st.json()["configuration"]["routes"] == 17);
}
