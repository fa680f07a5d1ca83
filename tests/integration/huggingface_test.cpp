// The real aigw binary with provider huggingface against the fake: the router's OpenAI chat
// route (served by the fake's openai dialect), text-generation for completions,
// feature-extraction for embeddings, the x-use-cache / x-wait-for-model headers, tool calls
// passed through whole, Hugging Face's error shape ({"error": "..."}, 503 while a model loads),
// truncation.
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
- name: hf
  url: {FAKE}
  routes:
  - name: hf-chat
    paths: ["/hf/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: Authorization, header_value: "Bearer hf_secret"}
        model:
          provider: huggingface
          name: meta-llama/Llama-3.1-8B-Instruct
          options:
            max_tokens: 32
            upstream_url: "{FAKE}/v1/chat/completions"
            huggingface: {use_cache: false, wait_for_model: true}
  - name: hf-completions
    paths: ["/hf/completions"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/completions
        auth: {header_name: Authorization, header_value: "Bearer hf_secret"}
        model: {provider: huggingface, name: gpt2, options: {upstream_url: "{FAKE}/hf-inference/models/gpt2"}}
  - name: hf-embeddings
    paths: ["/hf/embeddings"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/embeddings
        auth: {header_name: Authorization, header_value: "Bearer hf_fake"}
        model:
          provider: huggingface
          name: BAAI/bge-small-en-v1.5
          options: {upstream_url: "{FAKE}/hf-inference/models/BAAI/bge-small-en-v1.5/pipeline/feature-extraction"}
  - name: hf-error
    paths: ["/hf/error"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/completions
        auth: {header_name: Authorization, header_value: "Bearer hf_fake"}
        model: {provider: huggingface, name: gpt2, options: {upstream_url: "{FAKE}/scenario/fake-error-429/hf-inference/models/gpt2"}}
  - name: hf-truncate
    paths: ["/hf/truncate"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: Authorization, header_value: "Bearer hf_fake"}
        model: {provider: huggingface, name: m, options: {upstream_url: "{FAKE}/scenario/fake-truncate/v1/chat/completions"}}
)";

Gateway& gw() {
  static Gateway instance(withFake(kConfig, fake().baseUrl()));
  return instance;
}

}  // namespace

TEST_CASE("huggingface: chat on the OpenAI route, with the configured token and HF headers") {
  fake().clear();
  auto r = gw().post("/hf/chat", R"({"messages":[{"role":"user","content":"hello there"}]})",
                     {{"Authorization", "Bearer client-token"}});
  REQUIRE(r.status == 200);
  const Json body = r.json();
  CHECK(body["object"] == "chat.completion");
  CHECK(body["choices"][0]["message"] ==
        Json::parse(R"({"role":"assistant","content":"Hello from fake openai: hello there"})"));
  CHECK(body["choices"][0]["finish_reason"] == "stop");
  CHECK(body["usage"]["total_tokens"].is_number());
  CHECK(r.header("X-Kong-LLM-Model") == "huggingface/meta-llama/Llama-3.1-8B-Instruct");
  const Json up = fake().lastRequest();
  CHECK(up["path"] == "/v1/chat/completions");
  CHECK(up["headers"]["authorization"] == "Bearer hf_secret");
  CHECK(up["headers"]["x-use-cache"] == "false");
  CHECK(up["headers"]["x-wait-for-model"] == "true");
  CHECK(up["json"]["model"] == "meta-llama/Llama-3.1-8B-Instruct");
  CHECK(up["json"]["max_tokens"] == 32);
}

TEST_CASE("huggingface: chat streams end in usage and [DONE]") {
  auto s = gw().stream("/hf/chat",
                       R"({"messages":[{"role":"user","content":"one two three"}],"stream":true})");
  CHECK(s.status == 200);
  REQUIRE(s.done());
  CHECK(s.text() == "Hello from fake openai: one two three");
  for (std::size_t i = 0; i + 1 < s.events.size(); ++i) {
    const Json c = Json::parse(s.events[i]);
    CHECK(c["object"] == "chat.completion.chunk");
    CHECK_FALSE(c["choices"].empty());  // the usage-only chunk was not asked for
  }
  CHECK(fake().lastRequest()["json"]["stream_options"]["include_usage"] == true);
}

TEST_CASE("huggingface: tool calls and tool results reach the router whole") {
  fake().clear();
  const Json ask = Json::parse(R"({"messages":[
    {"role":"user","content":"weather and time?"},
    {"role":"assistant","content":null,"tool_calls":[
      {"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
      {"id":"c2","type":"function","function":{"name":"get_time","arguments":"{\"tz\":\"CET\"}"}}]},
    {"role":"tool","tool_call_id":"c1","content":"21C"},
    {"role":"tool","tool_call_id":"c2","content":"noon"},
    {"role":"user","content":"thanks"}],
    "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}},
             {"type":"function","function":{"name":"get_time","parameters":{"type":"object"}}}]})");
  auto r = gw().post("/hf/chat", ask.dump());
  REQUIRE(r.status == 200);
  const Json up = fake().lastRequest();
  CHECK(up["json"]["messages"] == ask["messages"]);
  CHECK(up["json"]["tools"] == ask["tools"]);
}

TEST_CASE("huggingface: completions use text-generation; embeddings feature-extraction") {
  fake().clear();
  auto c = gw().post("/hf/completions", R"({"prompt":"say hi","max_tokens":5})");
  REQUIRE(c.status == 200);
  const Json body = c.json();
  CHECK(body["object"] == "text_completion");
  CHECK(body["model"] == "gpt2");
  CHECK(body["choices"][0]["text"] == "Hello from fake huggingface: say hi");
  CHECK(body["choices"][0]["finish_reason"] == "stop");  // TGI's eos_token, mapped
  Json up = fake().lastRequest();
  CHECK(up["path"] == "/hf-inference/models/gpt2");
  CHECK(up["json"]["inputs"] == "say hi");
  CHECK(up["json"]["parameters"]["max_new_tokens"] == 5);
  CHECK(up["json"]["parameters"]["return_full_text"] == false);

  auto s = gw().stream("/hf/completions", R"({"prompt":"say hi","stream":true})");
  REQUIRE(s.done());
  CHECK(s.text() == "Hello from fake huggingface: say hi");
  CHECK(Json::parse(s.events[s.events.size() - 2])["choices"][0]["finish_reason"] == "stop");

  auto e = gw().post("/hf/embeddings", R"({"input":["a","b"]})");
  REQUIRE(e.status == 200);
  CHECK(e.json()["data"].size() == 2);
  CHECK(e.json()["data"][1]["index"] == 1);
  CHECK(e.json()["data"][0]["embedding"].size() == 8);
  up = fake().lastRequest();
  CHECK(up["path"] == "/hf-inference/models/BAAI/bge-small-en-v1.5/pipeline/feature-extraction");
  CHECK(up["json"] == Json::parse(R"({"inputs":["a","b"]})"));
}

TEST_CASE("huggingface: errors keep status and message; truncation is an error; then all is well") {
  auto loading = gw().post("/hf/completions", R"({"prompt":"model loading please"})");
  CHECK(loading.status == 503);
  CHECK(loading.json()["error"]["message"] == "Model gpt2 is currently loading");

  auto e = gw().post("/hf/error", R"({"prompt":"x"})");
  CHECK(e.status == 429);
  CHECK(e.header("Retry-After") == "7");
  CHECK(e.json()["error"]["message"] == "fake upstream error 429");
  CHECK(e.json()["error"]["type"] == "rate_limit_error");

  auto t = gw().stream("/hf/truncate",
                       R"({"messages":[{"role":"user","content":"a b c d"}],"stream":true})");
  CHECK(t.status == 200);
  REQUIRE_FALSE(t.events.empty());
  CHECK_FALSE(t.done());
  CHECK(Json::parse(t.events.back()).contains("error"));

  CHECK(gw().post("/hf/chat", R"({"messages":[{"role":"user","content":"x"}]})").status == 200);
}
