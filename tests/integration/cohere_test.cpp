// The real aigw binary against the fake Cohere v2 API: chat, SSE stream, tool round trip,
// embeddings, completions and error mapping.
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
- name: cohere-fake
  url: {FAKE}
  routes:
  - name: cohere-chat
    paths: ["/cohere/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: Authorization, header_value: "Bearer co-configured"}
        model:
          provider: cohere
          name: command-a-03-2025
          options: {max_tokens: 256, top_p: 0.75, upstream_url: "{FAKE}/v2/chat"}
  - name: cohere-any
    paths: ["/cohere/any"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: Authorization, header_value: "Bearer co-configured"}
        model: {provider: cohere, options: {upstream_url: "{FAKE}/v2/chat"}}
  - name: cohere-completions
    paths: ["/cohere/completions"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/completions
        auth: {header_name: Authorization, header_value: "Bearer co-fake"}
        model: {provider: cohere, name: command-r, options: {upstream_url: "{FAKE}/v2/chat"}}
  - name: cohere-embeddings
    paths: ["/cohere/embeddings"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/embeddings
        auth: {header_name: Authorization, header_value: "Bearer co-fake"}
        model: {provider: cohere, name: embed-v4.0, options: {upstream_url: "{FAKE}/v2/embed"}}
  - name: cohere-v1-chat
    paths: ["/cohere-v1/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: Authorization, header_value: "Bearer co-fake"}
        model: {provider: cohere, name: command-r, options: {max_tokens: 100, upstream_url: "{FAKE}/v1/chat"}}
  - name: cohere-v1-generate
    paths: ["/cohere-v1/completions"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/completions
        auth: {header_name: Authorization, header_value: "Bearer co-fake"}
        model: {provider: cohere, name: command, options: {upstream_url: "{FAKE}/v1/generate"}}
)";

Gateway& gw() {
  static Gateway instance(withFake(kConfig, fake().baseUrl()));
  return instance;
}

const Json kSearchTool = {
    {"type", "function"},
    {"function",
     {{"name", "search"},
      {"description", "Search the web"},
      {"parameters", {{"type", "object"}, {"properties", {{"query", {{"type", "string"}}}}}}}}}};

std::string chatBody(const Json& messages, Json extra = Json::object()) {
  extra["messages"] = messages;
  return extra.dump();
}

Json userMsg(const std::string& text) {
  return {{"role", "user"}, {"content", text}};
}

}  // namespace

TEST_CASE("cohere: chat goes to /v2/chat and comes back as an OpenAI completion") {
  fake().clear();
  const Json messages = {{{"role", "system"}, {"content", "Be brief."}}, userMsg("hello there")};
  auto r = gw().post("/cohere/chat", chatBody(messages), {{"Authorization", "Bearer client-key"}});
  REQUIRE(r.status == 200);
  const Json body = r.json();
  CHECK(body["object"] == "chat.completion");
  CHECK(body["id"].get<std::string>().rfind("fake-cohere-", 0) == 0);
  CHECK(body["model"] == "command-a-03-2025");
  CHECK(body["choices"][0]["message"] ==
        Json{{"role", "assistant"}, {"content", "Hello from fake cohere: hello there"}});
  CHECK(body["choices"][0]["finish_reason"] == "stop");
  // usage.billed_units (4 words; what Cohere charges, as Kong reports), not usage.tokens (7)
  CHECK(body["usage"] ==
        Json{{"prompt_tokens", 4}, {"completion_tokens", 6}, {"total_tokens", 10}});
  const Json up = fake().lastRequest();
  CHECK(up["path"] == "/v2/chat");
  CHECK(up["headers"]["authorization"] == "Bearer co-configured");
  CHECK(up["json"]["messages"] == messages);
  CHECK(up["json"]["max_tokens"] == 256);
  CHECK(up["json"]["p"] == 0.75);
  CHECK(up["json"]["stream"] == false);
}

TEST_CASE("cohere: streamed answer as chat.completion.chunk events ending in [DONE]") {
  auto s = gw().stream("/cohere/chat",
                       chatBody(Json::array({userMsg("one two three")}), {{"stream", true}}));
  CHECK(s.status == 200);
  REQUIRE(s.done());
  CHECK(s.text() == "Hello from fake cohere: one two three");
  std::string id;
  for (std::size_t i = 0; i + 1 < s.events.size(); ++i) {
    const Json c = Json::parse(s.events[i]);
    CHECK(c["object"] == "chat.completion.chunk");
    CHECK(c["created"].is_number());
    CHECK(c["model"] == "command-a-03-2025");
    if (id.empty()) id = c["id"];
    CHECK(c["id"] == id);
  }
  const Json last = Json::parse(s.events[s.events.size() - 2]);
  CHECK(last["choices"][0]["finish_reason"] == "stop");
  CHECK(last["usage"] ==
        Json{{"prompt_tokens", 3}, {"completion_tokens", 7}, {"total_tokens", 10}});
  CHECK(fake().lastRequest()["json"]["stream"] == true);
}

TEST_CASE("cohere: tool call round trip, plain and streamed") {
  fake().clear();
  auto first =
      gw().post("/cohere/chat", chatBody(Json::array({userMsg("please use tool for news")}),
                                         {{"tools", {kSearchTool}}, {"tool_choice", "required"}}));
  REQUIRE(first.status == 200);
  const Json answer = first.json()["choices"][0];
  CHECK(answer["finish_reason"] == "tool_calls");
  CHECK(answer["message"]["content"] == "I will use a tool.");  // Cohere's tool plan
  REQUIRE(answer["message"]["tool_calls"].size() == 1);
  const Json tool_call = answer["message"]["tool_calls"][0];
  CHECK(tool_call["function"]["name"] == "search");
  CHECK(Json::parse(tool_call["function"]["arguments"].get<std::string>()) ==
        Json{{"query", "please use tool for news"}});
  CHECK(fake().lastRequest()["json"]["tool_choice"] == "REQUIRED");
  CHECK(fake().lastRequest()["json"]["tools"] == Json::array({kSearchTool}));

  const Json follow = {
      userMsg("please use tool for news"),
      answer["message"],
      {{"role", "tool"}, {"tool_call_id", tool_call["id"]}, {"content", "nothing new"}}};
  auto second = gw().post("/cohere/chat", chatBody(follow, {{"tools", {kSearchTool}}}));
  REQUIRE(second.status == 200);
  CHECK(second.json()["choices"][0]["message"]["content"] ==
        "Hello from fake cohere: tool result nothing new");
  const Json upstream = fake().lastRequest()["json"]["messages"];
  REQUIRE(upstream.size() == 3);
  CHECK(upstream[1] == Json{{"role", "assistant"},
                            {"tool_plan", "I will use a tool."},
                            {"tool_calls", {tool_call}}});
  CHECK(upstream[2] ==
        Json{{"role", "tool"}, {"tool_call_id", tool_call["id"]}, {"content", "nothing new"}});

  auto s = gw().stream("/cohere/chat", chatBody(Json::array({userMsg("use tool now")}),
                                                {{"tools", {kSearchTool}}, {"stream", true}}));
  REQUIRE(s.done());
  CHECK(s.text() == "I will use a tool.");
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
  CHECK(Json::parse(calls[0]["arguments"].get<std::string>()) == Json{{"query", "use tool now"}});
  CHECK(Json::parse(s.events[s.events.size() - 2])["choices"][0]["finish_reason"] == "tool_calls");
}

TEST_CASE("cohere: upstream errors keep status and message; the gateway keeps working") {
  for (int status : {400, 401, 429, 503}) {
    CAPTURE(status);
    const std::string model = "fake-error-" + std::to_string(status);
    auto r = gw().post("/cohere/any", chatBody(Json::array({userMsg("x")}), {{"model", model}}));
    CHECK(r.status == status);
    CHECK(r.json()["error"]["message"] == "fake upstream error " + std::to_string(status));
  }
  auto garbage =
      gw().post("/cohere/any", chatBody(Json::array({userMsg("x")}), {{"model", "fake-garbage"}}));
  CHECK(garbage.status == 502);
  CHECK(garbage.json()["error"]["message"] ==
        "upstream cohere returned a response that is not a JSON object");
  auto cut = gw().stream("/cohere/any", chatBody(Json::array({userMsg("a b c d")}),
                                                 {{"model", "fake-truncate"}, {"stream", true}}));
  REQUIRE_FALSE(cut.events.empty());
  CHECK_FALSE(cut.done());
  CHECK(Json::parse(cut.events.back()).contains("error"));
  auto n = gw().post("/cohere/chat", chatBody(Json::array({userMsg("x")}), {{"n", 2}}));
  CHECK(n.status == 400);
  CHECK(n.json()["error"]["param"] == "n");

  auto length = gw().post(
      "/cohere/chat", chatBody(Json::array({userMsg("one two three four")}), {{"max_tokens", 2}}));
  REQUIRE(length.status == 200);
  CHECK(length.json()["choices"][0]["finish_reason"] == "length");
  auto ok = gw().post("/cohere/chat", chatBody(Json::array({userMsg("still here")})));
  CHECK(ok.status == 200);
  CHECK(ok.json()["choices"][0]["message"]["content"] == "Hello from fake cohere: still here");
}

TEST_CASE("cohere: completions via v2 chat, embeddings via /v2/embed") {
  fake().clear();
  auto c = gw().post("/cohere/completions", R"({"prompt":"say hi"})");
  REQUIRE(c.status == 200);
  CHECK(c.json()["object"] == "text_completion");
  CHECK(c.json()["choices"][0]["text"] == "Hello from fake cohere: say hi");
  CHECK(fake().lastRequest()["json"]["messages"] == Json::array({userMsg("say hi")}));
  auto s = gw().stream("/cohere/completions", R"({"prompt":"say hi","stream":true})");
  REQUIRE(s.done());
  CHECK(s.text() == "Hello from fake cohere: say hi");

  auto e = gw().post("/cohere/embeddings", R"({"input":["a","b c"]})");
  REQUIRE(e.status == 200);
  CHECK(e.json()["object"] == "list");
  REQUIRE(e.json()["data"].size() == 2);
  CHECK(e.json()["data"][1]["embedding"].size() == 8);
  CHECK(e.json()["usage"]["prompt_tokens"] == 3);
  const Json up = fake().lastRequest();
  CHECK(up["path"] == "/v2/embed");
  CHECK(up["json"]["texts"] == Json::array({"a", "b c"}));
  CHECK(up["json"]["input_type"] == "search_document");
  CHECK(up["json"]["embedding_types"] == Json::array({"float"}));
}

TEST_CASE(
    "cohere v1: an upstream_url at /v1/chat or /v1/generate speaks v1, NDJSON streams included") {
  fake().clear();
  const Json messages = {{{"role", "system"}, {"content", "Be brief."}},
                         userMsg("first"),
                         {{"role", "assistant"}, {"content", "ok"}},
                         userMsg("second question")};
  auto r = gw().post("/cohere-v1/chat", chatBody(messages));
  REQUIRE(r.status == 200);
  CHECK(r.json()["choices"][0]["message"]["content"] == "Hello from fake cohere: second question");
  CHECK(r.json()["choices"][0]["finish_reason"] == "stop");
  CHECK(r.json()["usage"]["prompt_tokens"] == 6);  // meta.billed_units: 6 words (tokens: 9)
  const Json up = fake().lastRequest();
  CHECK(up["path"] == "/v1/chat");
  CHECK(up["json"]["preamble"] == "Be brief.");
  CHECK(up["json"]["message"] == "second question");
  CHECK(up["json"]["chat_history"] == Json::array({{{"role", "USER"}, {"message", "first"}},
                                                   {{"role", "CHATBOT"}, {"message", "ok"}}}));
  CHECK(up["json"]["max_tokens"] == 100);

  auto s =
      gw().stream("/cohere-v1/chat", chatBody(Json::array({userMsg("a b c")}), {{"stream", true}}));
  REQUIRE(s.done());
  CHECK(s.text() == "Hello from fake cohere: a b c");
  const Json last = Json::parse(s.events[s.events.size() - 2]);
  CHECK(last["choices"][0]["finish_reason"] == "stop");
  CHECK(last["usage"]["completion_tokens"] == 7);

  auto tools = gw().post("/cohere-v1/chat",
                         chatBody(Json::array({userMsg("x")}), {{"tools", {kSearchTool}}}));
  CHECK(tools.status == 400);
  CHECK(tools.json()["error"]["param"] == "tools");

  auto g = gw().post("/cohere-v1/completions", R"({"prompt":"say hi"})");
  REQUIRE(g.status == 200);
  CHECK(g.json()["object"] == "text_completion");
  CHECK(g.json()["choices"][0]["text"] == "Hello from fake cohere: say hi");
  CHECK(fake().lastRequest()["json"]["prompt"] == "say hi");
  auto gs =
      gw().stream("/cohere-v1/completions", R"({"prompt":"say hi","stream":true,"max_tokens":3})");
  REQUIRE(gs.done());
  CHECK(gs.text() == "Hello from fake");
  CHECK(Json::parse(gs.events[gs.events.size() - 2])["choices"][0]["finish_reason"] == "length");
}
