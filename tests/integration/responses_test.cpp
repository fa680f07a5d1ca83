// route_type llm/v1/responses (the OpenAI Responses API) through the real binary: passed
// through to OpenAI as written, translated through the chat hub for Anthropic and the mock
// (input items, instructions, function tools and their outputs, the streamed event types,
// usage), and what a gateway without storage refuses.
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
- name: responses
  url: {FAKE}
  routes:
  - name: responses-openai
    paths: ["/openai"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/responses
        auth: {header_name: Authorization, header_value: "Bearer sk-openai-configured"}
        model:
          provider: openai
          options: {max_tokens: 300, upstream_url: "{FAKE}/v1/responses"}
  - name: responses-anthropic
    paths: ["/anthropic"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/responses
        auth: {header_name: x-api-key, header_value: "sk-ant-configured"}
        model:
          provider: anthropic
          options: {max_tokens: 200, upstream_url: "{FAKE}/v1/messages"}
  - name: responses-mock
    paths: ["/mock"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/responses
        model: {provider: mock}
)";

Gateway& gw() {
  static Gateway instance(withFake(kConfig, fake().baseUrl()));
  return instance;
}

const Json kTools = Json::array({{{"type", "function"},
                                  {"name", "get_weather"},
                                  {"description", "Weather now"},
                                  {"parameters",
                                   {{"type", "object"},
                                    {"properties", {{"query", {{"type", "string"}}}}},
                                    {"required", {"query"}}}}}});

// The text of a Responses object's message items.
std::string outputText(const Json& response) {
  std::string text;
  for (const auto& item : response["output"])
    if (item["type"] == "message")
      for (const auto& part : item["content"])
        if (part["type"] == "output_text") text += part["text"].get<std::string>();
  return text;
}

}  // namespace

TEST_CASE("responses to OpenAI: passed through byte for byte, usage read") {
  fake().clear();
  const std::string body =
      R"({"model":"gpt-4.1-mini","input":"hello there","store":false,  "text":{"format":{"type":"text"}}})";
  auto r = gw().post("/openai/v1/responses", body, {{"Authorization", "Bearer sk-client"}});
  REQUIRE(r.status == 200);
  const Json up = fake().lastRequest();
  CHECK(up["path"] == "/v1/responses");
  // Only the configured option was added (max_output_tokens, the Responses API's name).
  std::string expected = body;
  expected.insert(expected.size() - 1, R"(,"max_output_tokens":300)");
  CHECK(up["body"] == expected);
  CHECK(up["headers"]["authorization"] == "Bearer sk-openai-configured");
  CHECK(r.json()["object"] == "response");
  CHECK(r.json()["id"].get<std::string>().rfind("resp_fake", 0) == 0);
  CHECK(outputText(r.json()) == "Hello from fake openai: hello there");
}

TEST_CASE("responses to OpenAI: the stream is relayed event for event") {
  auto s = gw().stream("/openai/v1/responses",
                       R"({"model":"gpt-4.1-mini","input":"one two","stream":true})");
  REQUIRE(s.status == 200);
  REQUIRE(!s.event_types.empty());
  CHECK(s.event_types.front() == "response.created");
  CHECK(s.event_types.back() == "response.completed");
  CHECK(s.raw.find("[DONE]") == std::string::npos);
}

TEST_CASE("responses to Anthropic: input and instructions in, a Response object out") {
  fake().clear();
  auto r = gw().post(
      "/anthropic/v1/responses",
      R"({"model":"claude-haiku","instructions":"Be brief.",)"
      R"("input":[{"role":"user","content":[{"type":"input_text","text":"hello there"}]}],)"
      R"("max_output_tokens":64,"temperature":0.3})");
  REQUIRE(r.status == 200);
  const Json up = fake().lastRequest()["json"];
  CHECK(up["system"] == "Be brief.");
  CHECK(up["messages"] == Json::array({{{"role", "user"}, {"content", "hello there"}}}));
  CHECK(up["max_tokens"] == 64);
  CHECK(up["temperature"] == 0.3);
  const Json out = r.json();
  CHECK(out["object"] == "response");
  CHECK(out["status"] == "completed");
  CHECK(out["model"] == "claude-haiku");
  CHECK(out["instructions"] == "Be brief.");
  CHECK(out["store"] == false);
  CHECK(outputText(out) == "Hello from fake anthropic: hello there");
  CHECK(out["usage"]["input_tokens"] == 4);
  CHECK(out["usage"]["output_tokens"] == 6);
  CHECK(out["usage"]["total_tokens"] == 10);
}

TEST_CASE("responses to Anthropic: a function tool round trip") {
  Json req = {
      {"model", "claude-haiku"},
      {"tools", kTools},
      {"input", Json::array({{{"role", "user"}, {"content", "please use tool for Paris"}}})}};
  auto first = gw().post("/anthropic/v1/responses", req.dump());
  REQUIRE(first.status == 200);
  const Json out = first.json();
  Json call;
  for (const auto& item : out["output"])
    if (item["type"] == "function_call") call = item;
  REQUIRE(call.is_object());
  CHECK(call["name"] == "get_weather");
  CHECK(Json::parse(call["arguments"].get<std::string>()) ==
        Json{{"query", "please use tool for Paris"}});
  CHECK(call["call_id"].get<std::string>().rfind("toolu_fake", 0) == 0);

  fake().clear();
  req["input"].push_back(call);
  req["input"].push_back(
      {{"type", "function_call_output"}, {"call_id", call["call_id"]}, {"output", "sunny, 21C"}});
  auto second = gw().post("/anthropic/v1/responses", req.dump());
  REQUIRE(second.status == 200);
  CHECK(outputText(second.json()) == "Hello from fake anthropic: tool result sunny, 21C");
  const Json msgs = fake().lastRequest()["json"]["messages"];
  REQUIRE(msgs.size() == 3);
  CHECK(msgs[1]["content"].back()["type"] == "tool_use");
  CHECK(msgs[2]["content"][0]["type"] == "tool_result");
}

TEST_CASE("responses to Anthropic: streamed text and function calls as Responses events") {
  auto s = gw().stream("/anthropic/v1/responses",
                       R"({"model":"claude-haiku","input":"one two three","stream":true})");
  REQUIRE(s.status == 200);
  REQUIRE(s.events.size() == s.event_types.size());
  REQUIRE(!s.event_types.empty());
  CHECK(s.event_types[0] == "response.created");
  CHECK(s.event_types[1] == "response.in_progress");
  CHECK(s.event_types.back() == "response.completed");
  std::string text;
  long long seq = -1;
  for (std::size_t i = 0; i < s.events.size(); ++i) {
    const Json e = Json::parse(s.events[i]);
    CHECK(e["type"] == s.event_types[i]);
    CHECK(e["sequence_number"] == seq + 1);
    seq = e["sequence_number"];
    if (e["type"] == "response.output_text.delta") text += e["delta"].get<std::string>();
  }
  CHECK(text == "Hello from fake anthropic: one two three");
  const Json done = Json::parse(s.events.back())["response"];
  CHECK(done["status"] == "completed");
  CHECK(outputText(done) == text);
  CHECK(done["usage"]["output_tokens"] == 7);

  const Json req = {{"model", "claude-haiku"},
                    {"tools", kTools},
                    {"stream", true},
                    {"input", "please use tool for Paris"}};
  auto calls = gw().stream("/anthropic/v1/responses", req.dump());
  REQUIRE(!calls.events.empty());
  std::string args;
  Json added;
  for (const auto& data : calls.events) {
    const Json e = Json::parse(data);
    if (e["type"] == "response.output_item.added" && e["item"]["type"] == "function_call")
      added = e["item"];
    if (e["type"] == "response.function_call_arguments.delta")
      args += e["delta"].get<std::string>();
  }
  CHECK(added["name"] == "get_weather");
  CHECK(Json::parse(args) == Json{{"query", "please use tool for Paris"}});
  const Json completed = Json::parse(calls.events.back());
  CHECK(completed["type"] == "response.completed");
  CHECK(completed["response"]["output"].back()["type"] == "function_call");
  CHECK(completed["response"]["output"].back()["arguments"] == args);
}

TEST_CASE("responses translated: what needs stored state or a JSON mode is a clear 400") {
  auto r = gw().post("/anthropic/v1/responses",
                     R"({"model":"m","input":"x","previous_response_id":"resp_123"})");
  CHECK(r.status == 400);
  CHECK(r.json()["error"]["param"] == "previous_response_id");
  auto ref = gw().post("/anthropic/v1/responses",
                       R"({"model":"m","input":[{"type":"item_reference","id":"msg_1"}]})");
  CHECK(ref.status == 400);
  CHECK(ref.json()["error"]["param"] == "input[0].type");
  auto schema = gw().post(
      "/anthropic/v1/responses",
      R"({"model":"m","input":"x","text":{"format":{"type":"json_schema","name":"x","schema":{"type":"object"}}}})");
  CHECK(schema.status == 400);
  CHECK(schema.json()["error"]["param"] == "response_format");
  auto tool = gw().post("/anthropic/v1/responses",
                        R"({"model":"m","input":"x","tools":[{"type":"web_search"}]})");
  CHECK(tool.status == 400);
  CHECK(tool.json()["error"]["param"] == "tools[0].type");
}

TEST_CASE("responses to the mock: a tool call, then an answer quoting the tool's output") {
  Json req = {{"model", "mock-1"}, {"tools", kTools}, {"input", "weather in Paris?"}};
  auto first = gw().post("/mock/v1/responses", req.dump());
  REQUIRE(first.status == 200);
  const Json call = first.json()["output"][0];
  REQUIRE(call["type"] == "function_call");
  CHECK(Json::parse(call["arguments"].get<std::string>()) == Json{{"query", "weather in Paris?"}});
  req["input"] = Json::array(
      {{{"role", "user"}, {"content", "weather in Paris?"}},
       call,
       {{"type", "function_call_output"}, {"call_id", call["call_id"]}, {"output", "sunny"}}});
  auto second = gw().post("/mock/v1/responses", req.dump());
  REQUIRE(second.status == 200);
  CHECK(outputText(second.json()).find("The tool returned: sunny") != std::string::npos);
}
