// The real aigw binary against the fake Anthropic Messages API: what went upstream (system,
// max_tokens, anthropic-version, tool_use/tool_result blocks) and what came back (OpenAI chat,
// SSE chunks, tool calls, errors with their status).
#include <doctest/doctest.h>

#include <map>

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
- name: anthropic-fake
  url: {FAKE}
  routes:
  - name: claude-chat
    paths: ["/anthropic/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: x-api-key, header_value: "sk-ant-configured"}
        model:
          provider: anthropic
          name: claude-3-5-sonnet
          options: {max_tokens: 256, temperature: 0.5, upstream_url: "{FAKE}/v1/messages"}
  - name: claude-any
    paths: ["/anthropic/any"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: x-api-key, header_value: "sk-ant-configured"}
        model:
          provider: anthropic
          options: {anthropic_version: "2023-01-01", upstream_url: "{FAKE}/v1/messages"}
  - name: claude-completions
    paths: ["/anthropic/completions"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/completions
        auth: {header_name: x-api-key, header_value: "sk-ant-configured"}
        model: {provider: anthropic, name: claude-3-5-haiku, options: {upstream_url: "{FAKE}/v1/messages"}}
)";

Gateway& gw() {
  static Gateway instance(withFake(kConfig, fake().baseUrl()));
  return instance;
}

const Json kWeatherTool = {
    {"type", "function"},
    {"function",
     {{"name", "get_weather"},
      {"description", "Current weather"},
      {"parameters", {{"type", "object"}, {"properties", {{"query", {{"type", "string"}}}}}}}}}};

std::string chatBody(const Json& messages, Json extra = Json::object()) {
  extra["messages"] = messages;
  return extra.dump();
}

Json userMsg(const std::string& text) {
  return {{"role", "user"}, {"content", text}};
}

}  // namespace

TEST_CASE("anthropic: chat is translated to /v1/messages and back to an OpenAI completion") {
  fake().clear();
  const Json messages = {{{"role", "system"}, {"content", "Be brief."}},
                         {{"role", "system"}, {"content", "Be kind."}},
                         userMsg("hello there")};
  auto r = gw().post("/anthropic/chat", chatBody(messages), {{"x-api-key", "client-key"}});
  REQUIRE(r.status == 200);
  const Json body = r.json();
  CHECK(body["object"] == "chat.completion");
  CHECK(body["id"].get<std::string>().rfind("msg_fake", 0) == 0);
  CHECK(body["model"] == "claude-3-5-sonnet");
  CHECK(body["choices"][0]["message"] ==
        Json{{"role", "assistant"}, {"content", "Hello from fake anthropic: hello there"}});
  CHECK(body["choices"][0]["finish_reason"] == "stop");
  CHECK(body["usage"] ==
        Json{{"prompt_tokens", 6}, {"completion_tokens", 6}, {"total_tokens", 12}});
  CHECK(r.header("X-Kong-LLM-Model") == "anthropic/claude-3-5-sonnet");

  const Json up = fake().lastRequest();
  CHECK(up["path"] == "/v1/messages");
  CHECK(up["headers"]["x-api-key"] == "sk-ant-configured");  // the client's key never goes upstream
  CHECK(up["headers"]["anthropic-version"] == "2023-06-01");
  CHECK(up["json"]["system"] == "Be brief.\n\nBe kind.");
  CHECK(up["json"]["messages"] == Json::array({userMsg("hello there")}));
  CHECK(up["json"]["max_tokens"] == 256);
  CHECK(up["json"]["temperature"] == 0.5);
  CHECK(up["json"]["stream"] == false);
}

TEST_CASE("anthropic: streamed answer as chat.completion.chunk events ending in [DONE]") {
  fake().clear();
  auto s = gw().stream("/anthropic/chat",
                       chatBody(Json::array({userMsg("one two three")}), {{"stream", true}}));
  CHECK(s.status == 200);
  CHECK(s.content_type.rfind("text/event-stream", 0) == 0);
  REQUIRE(s.done());
  CHECK(s.text() == "Hello from fake anthropic: one two three");
  REQUIRE(s.events.size() >= 3);
  std::string id;
  for (std::size_t i = 0; i + 1 < s.events.size(); ++i) {
    const Json c = Json::parse(s.events[i]);
    CHECK(c["object"] == "chat.completion.chunk");
    CHECK(c["created"].is_number());
    CHECK(c["model"] == "claude-3-5-sonnet");
    if (id.empty()) id = c["id"];
    CHECK(c["id"] == id);
  }
  CHECK(Json::parse(s.events[0])["choices"][0]["delta"]["role"] == "assistant");
  const Json last = Json::parse(s.events[s.events.size() - 2]);
  CHECK(last["choices"][0]["finish_reason"] == "stop");
  CHECK(last["usage"]["completion_tokens"] == 7);
  CHECK(fake().lastRequest()["headers"]["accept"] == "text/event-stream");
  CHECK(fake().lastRequest()["json"]["stream"] == true);
}

TEST_CASE("anthropic: tool call round trip, plain and streamed") {
  fake().clear();
  auto first =
      gw().post("/anthropic/chat", chatBody(Json::array({userMsg("please use tool for Paris")}),
                                            {{"tools", {kWeatherTool}}, {"tool_choice", "auto"}}));
  REQUIRE(first.status == 200);
  const Json answer = first.json()["choices"][0];
  CHECK(answer["finish_reason"] == "tool_calls");
  REQUIRE(answer["message"]["tool_calls"].size() == 1);
  const Json tool_call = answer["message"]["tool_calls"][0];
  CHECK(tool_call["type"] == "function");
  CHECK(tool_call["function"]["name"] == "get_weather");
  CHECK(Json::parse(tool_call["function"]["arguments"].get<std::string>()) ==
        Json{{"query", "please use tool for Paris"}});
  const Json sent_tools = fake().lastRequest()["json"]["tools"];
  CHECK(sent_tools[0]["name"] == "get_weather");
  CHECK(sent_tools[0]["input_schema"]["properties"].contains("query"));
  CHECK(fake().lastRequest()["json"]["tool_choice"] == Json{{"type", "auto"}});

  // The client sends the assistant turn back with the tool's result, as OpenAI clients do.
  const Json follow = {
      userMsg("please use tool for Paris"),
      answer["message"],
      {{"role", "tool"}, {"tool_call_id", tool_call["id"]}, {"content", "18 degrees, sunny"}}};
  auto second = gw().post("/anthropic/chat", chatBody(follow, {{"tools", {kWeatherTool}}}));
  REQUIRE(second.status == 200);
  CHECK(second.json()["choices"][0]["message"]["content"] ==
        "Hello from fake anthropic: tool result 18 degrees, sunny");
  CHECK(second.json()["choices"][0]["finish_reason"] == "stop");
  const Json upstream = fake().lastRequest()["json"]["messages"];
  REQUIRE(upstream.size() == 3);
  CHECK(upstream[1]["role"] == "assistant");
  CHECK(upstream[1]["content"] ==
        Json::array({{{"type", "text"}, {"text", "Let me use a tool."}},
                     {{"type", "tool_use"},
                      {"id", tool_call["id"]},
                      {"name", "get_weather"},
                      {"input", {{"query", "please use tool for Paris"}}}}}));
  CHECK(upstream[2] == Json{{"role", "user"},
                            {"content",
                             {{{"type", "tool_result"},
                               {"tool_use_id", tool_call["id"]},
                               {"content", "18 degrees, sunny"}}}}});

  auto s = gw().stream("/anthropic/chat", chatBody(Json::array({userMsg("use tool now")}),
                                                   {{"tools", {kWeatherTool}}, {"stream", true}}));
  REQUIRE(s.done());
  std::map<int, Json> calls;
  for (std::size_t i = 0; i + 1 < s.events.size(); ++i) {
    const Json delta = Json::parse(s.events[i])["choices"][0]["delta"];
    if (!delta.contains("tool_calls")) continue;
    for (const auto& tc : delta["tool_calls"]) {
      Json& acc = calls[tc["index"].get<int>()];
      if (tc.contains("id"))
        acc = {{"id", tc["id"]}, {"name", tc["function"]["name"]}, {"arguments", ""}};
      acc["arguments"] =
          acc["arguments"].get<std::string>() + tc["function"]["arguments"].get<std::string>();
    }
  }
  REQUIRE(calls.size() == 1);
  CHECK(calls[0]["name"] == "get_weather");
  CHECK(Json::parse(calls[0]["arguments"].get<std::string>()) == Json{{"query", "use tool now"}});
  CHECK(Json::parse(s.events[s.events.size() - 2])["choices"][0]["finish_reason"] == "tool_calls");
}

TEST_CASE("anthropic: upstream errors keep status, message and type; the gateway keeps working") {
  struct Case {
    int status;
    const char* type;
  };
  for (const Case c : {Case{529, "overloaded_error"}, Case{400, "invalid_request_error"},
                       Case{401, "authentication_error"}, Case{429, "rate_limit_error"}}) {
    CAPTURE(c.status);
    const std::string model = "fake-error-" + std::to_string(c.status);
    auto r = gw().post("/anthropic/any", chatBody(Json::array({userMsg("x")}), {{"model", model}}));
    CHECK(r.status == c.status);
    CHECK(r.json()["error"]["message"] == "fake upstream error " + std::to_string(c.status));
    CHECK(r.json()["error"]["type"] == c.type);
  }
  CHECK(fake().lastRequest()["headers"]["anthropic-version"] ==
        "2023-01-01");  // configured version
  auto streamed = gw().stream(
      "/anthropic/any",
      chatBody(Json::array({userMsg("x")}), {{"model", "fake-error-529"}, {"stream", true}}));
  CHECK(streamed.status == 529);

  auto cut = gw().stream(
      "/anthropic/any",
      chatBody(Json::array({userMsg("a b c d")}), {{"model", "fake-truncate"}, {"stream", true}}));
  REQUIRE_FALSE(cut.events.empty());
  CHECK_FALSE(cut.done());
  CHECK(Json::parse(cut.events.back())["error"]["message"].get<std::string>().rfind(
            "upstream anthropic", 0) == 0);

  auto ok = gw().post("/anthropic/chat", chatBody(Json::array({userMsg("still here")})));
  CHECK(ok.status == 200);
  CHECK(ok.json()["choices"][0]["message"]["content"] == "Hello from fake anthropic: still here");
}

TEST_CASE(
    "anthropic: unsupported features are a 400 before any upstream call; max_tokens maps to "
    "length") {
  fake().clear();
  auto json_mode = gw().post(
      "/anthropic/chat",
      chatBody(Json::array({userMsg("x")}), {{"response_format", {{"type", "json_object"}}}}));
  CHECK(json_mode.status == 400);
  CHECK(json_mode.json()["error"]["param"] == "response_format");
  CHECK(json_mode.json()["error"]["message"].get<std::string>().rfind(
            "response_format 'json_object' is not supported by provider anthropic", 0) == 0);
  auto n = gw().post("/anthropic/chat", chatBody(Json::array({userMsg("x")}), {{"n", 3}}));
  CHECK(n.status == 400);
  CHECK(n.json()["error"]["param"] == "n");
  CHECK(fake().requests().empty());

  auto cut =
      gw().post("/anthropic/chat",
                chatBody(Json::array({userMsg("one two three four five")}), {{"max_tokens", 2}}));
  REQUIRE(cut.status == 200);
  CHECK(cut.json()["choices"][0]["finish_reason"] == "length");
  CHECK(cut.json()["choices"][0]["message"]["content"] == "Hello from");
  CHECK(fake().lastRequest()["json"]["max_tokens"] == 2);
}

TEST_CASE("anthropic: completions route uses the Messages API and answers text_completion") {
  fake().clear();
  auto r = gw().post("/anthropic/completions", R"({"prompt":"say hi"})");
  REQUIRE(r.status == 200);
  CHECK(r.json()["object"] == "text_completion");
  CHECK(r.json()["choices"][0]["text"] == "Hello from fake anthropic: say hi");
  CHECK(fake().lastRequest()["path"] == "/v1/messages");
  CHECK(fake().lastRequest()["json"]["max_tokens"] == 4096);
  auto s = gw().stream("/anthropic/completions", R"({"prompt":"say hi","stream":true})");
  REQUIRE(s.done());
  CHECK(s.text() == "Hello from fake anthropic: say hi");
  CHECK(Json::parse(s.events[0])["object"] == "text_completion");
}
