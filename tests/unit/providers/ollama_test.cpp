#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "providers/provider.hpp"

using namespace aigw::providers;
using Json = nlohmann::json;

namespace {

struct Collect : ChunkSink {
  std::vector<Json> chunks;
  bool emit(std::string_view c) override {
    chunks.push_back(Json::parse(c));
    return true;
  }
};

ProxyCall call(RouteType type, const Json& body, bool stream = false) {
  ProxyCall c;
  c.route_type = type;
  c.stream = stream;
  c.model = "llama3.2";
  c.body = &body;
  return c;
}

}  // namespace

TEST_CASE("ollama: OpenAI chat -> /api/chat with options, images, tools and JSON mode") {
  const Provider* p = findProvider("ollama");
  Target t{"ollama", "llama3.2", {}};
  t.options.max_tokens = 256;
  t.options.top_k = 40;
  Json body = {
      {"messages",
       {{{"role", "system"}, {"content", "be brief"}},
        {{"role", "user"},
         {"content",
          {{{"type", "text"}, {"text", "what is this?"}},
           {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,AAAA"}}}}}}},
        {{"role", "assistant"},
         {"content", nullptr},
         {"tool_calls",
          {{{"id", "call_1"},
            {"type", "function"},
            {"function", {{"name", "f"}, {"arguments", "{\"x\":1}"}}}}}}},
        {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "42"}}}},
      {"temperature", 0.1},
      {"stop", "END"},
      {"response_format", {{"type", "json_object"}}},
      {"tools", Json::array({{{"type", "function"}, {"function", {{"name", "f"}}}}})}};
  auto req = p->buildRequest(call(RouteType::Chat, body), t);
  REQUIRE(req);
  CHECK(req->url == "http://localhost:11434/api/chat");
  Json sent = Json::parse(req->body);
  CHECK(sent["model"] == "llama3.2");
  CHECK(sent["stream"] == false);
  CHECK(sent["options"]["num_predict"] == 256);
  CHECK(sent["options"]["top_k"] == 40);
  CHECK(sent["options"]["temperature"] == 0.1);
  CHECK(sent["options"]["stop"] == Json::array({"END"}));
  CHECK(sent["format"] == "json");
  CHECK(sent["messages"][1]["content"] == "what is this?");
  CHECK(sent["messages"][1]["images"] == Json::array({"AAAA"}));
  CHECK(sent["messages"][2]["tool_calls"][0]["function"]["arguments"]["x"] == 1);
  CHECK(sent["messages"][3]["role"] == "tool");
  CHECK(sent["tools"].size() == 1);
}

TEST_CASE("ollama: an http image URL and n > 1 are refused with the field named") {
  const Provider* p = findProvider("ollama");
  Json body = {
      {"messages",
       {{{"role", "user"},
         {"content", {{{"type", "image_url"}, {"image_url", {{"url", "https://x/y.png"}}}}}}}}}};
  auto req = p->buildRequest(call(RouteType::Chat, body), Target{"ollama", "", {}});
  REQUIRE_FALSE(req);
  CHECK(req.error().status == 400);
  CHECK(req.error().param == "messages[0].content[0].image_url.url");
  Json n = {{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"n", 2}};
  CHECK(p->buildRequest(call(RouteType::Chat, n), Target{"ollama", "", {}}).error().param == "n");
}

TEST_CASE("ollama: native response -> chat.completion with usage and mapped finish reasons") {
  const Provider* p = findProvider("ollama");
  Json body = {{"messages", {{{"role", "user"}, {"content", "x"}}}}};
  std::string up =
      R"({"model":"llama3.2","created_at":"2024-01-01T00:00:00Z","message":{"role":"assistant","content":"Hello"},"done":true,"done_reason":"length","prompt_eval_count":7,"eval_count":3})";
  auto reply = p->parseResponse(call(RouteType::Chat, body), up, Target{});
  REQUIRE(reply);
  Json out = Json::parse(reply->body);
  CHECK(out["object"] == "chat.completion");
  CHECK(out["choices"][0]["message"]["content"] == "Hello");
  CHECK(out["choices"][0]["finish_reason"] == "length");
  CHECK(out["usage"] == Json{{"prompt_tokens", 7}, {"completion_tokens", 3}, {"total_tokens", 10}});
  CHECK(out["id"].get<std::string>().rfind("chatcmpl-", 0) == 0);
  CHECK(out["created"].is_number());

  std::string tool =
      R"({"model":"m","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":{"a":1}}}]},"done":true})";
  Json t = Json::parse(p->parseResponse(call(RouteType::Chat, body), tool, Target{})->body);
  CHECK(t["choices"][0]["finish_reason"] == "tool_calls");
  CHECK(t["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == "{\"a\":1}");
}

TEST_CASE("ollama: NDJSON stream -> chunks with id/object/created/model, usage on the last") {
  const Provider* p = findProvider("ollama");
  Json body = {{"messages", {{{"role", "user"}, {"content", "x"}}}}};
  auto dec = p->newStreamDecoder(call(RouteType::Chat, body, true), Target{});
  Collect out;
  CHECK(dec->onEvent(
      "", R"({"model":"llama3.2","message":{"role":"assistant","content":"Hel"},"done":false})",
      out));
  CHECK(dec->onEvent(
      "", R"({"model":"llama3.2","message":{"role":"assistant","content":"lo"},"done":false})",
      out));
  CHECK(dec->onEvent(
      "",
      R"({"model":"llama3.2","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":4,"eval_count":2})",
      out));
  CHECK(dec->onEnd(out));
  REQUIRE(out.chunks.size() == 3);
  for (const auto& c : out.chunks) {
    CHECK(c["object"] == "chat.completion.chunk");
    CHECK(c["id"] == out.chunks[0]["id"]);
    CHECK(c["model"] == "llama3.2");
    CHECK(c.contains("created"));
  }
  CHECK(out.chunks[0]["choices"][0]["delta"]["role"] == "assistant");
  CHECK(out.chunks[0]["choices"][0]["delta"]["content"] == "Hel");
  CHECK(out.chunks[2]["choices"][0]["finish_reason"] == "stop");
  CHECK(out.chunks[2]["usage"]["total_tokens"] == 6);
  CHECK(dec->usage().completion_tokens == 2);

  auto cut = p->newStreamDecoder(call(RouteType::Chat, body, true), Target{});
  CHECK(cut->onEvent("", R"({"message":{"content":"a"},"done":false})", out));
  CHECK_FALSE(cut->onEnd(out));
  CHECK_FALSE(cut->onEvent("", R"({"error":"model not found"})", out));
}

TEST_CASE("ollama: embeddings via /api/embed") {
  const Provider* p = findProvider("ollama");
  Json body = {{"input", {"a", "b"}}};
  auto c = call(RouteType::Embeddings, body);
  auto req = p->buildRequest(c, Target{"ollama", "", {}});
  CHECK(req->url == "http://localhost:11434/api/embed");
  std::string up = R"({"model":"nomic","embeddings":[[0.1,0.2],[0.3,0.4]],"prompt_eval_count":2})";
  Json out = Json::parse(p->parseResponse(c, up, Target{})->body);
  CHECK(out["object"] == "list");
  CHECK(out["data"][1]["embedding"] == Json::array({0.3, 0.4}));
  CHECK(out["data"][1]["index"] == 1);
}
