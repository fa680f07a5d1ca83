// The gemini stream decoder: GenerateContentResponse SSE events (?alt=sse) -> OpenAI chunks,
// fed through the proxy's real SSE framer, split at every byte offset.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "providers/provider.hpp"
#include "proxy/framing.hpp"

using namespace aigw::providers;
using Json = nlohmann::json;

namespace {

const Provider& gemini() {
  const Provider* p = findProvider("gemini");
  REQUIRE(p);
  return *p;
}

Json fixture(const std::string& rel) {
  std::ifstream in(std::string(AIGW_FIXTURES_DIR) + "/" + rel);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return Json::parse(ss.str());
}

ProxyCall makeCall(const Json& body, RouteType type) {
  ProxyCall c;
  c.route_type = type;
  c.stream = true;
  c.model = "gemini-2.0-flash";
  c.body = &body;
  return c;
}

Json candidate(Json parts, const char* finish = "STOP") {
  Json c = {{"content", {{"role", "model"}, {"parts", std::move(parts)}}}, {"index", 0}};
  if (finish) c["finishReason"] = finish;
  return c;
}

}  // namespace

namespace {

struct Collect : ChunkSink {
  std::vector<Json> chunks;
  bool emit(std::string_view c) override {
    chunks.push_back(Json::parse(c));
    return true;
  }
};

struct StreamRun {
  std::vector<Json> chunks;
  aigw::Status status;
  Usage usage;
};

// Feeds `sse` in the given pieces through the real SSE framer into a fresh decoder.
StreamRun runStream(const std::vector<std::string_view>& pieces, RouteType type = RouteType::Chat) {
  const Json body = Json::object();
  auto decoder =
      gemini().newStreamDecoder(makeCall(body, type), Target{"gemini", "gemini-2.0-flash", {}, {}});
  auto framer = aigw::proxy::newFramer(Framing::Sse);
  Collect out;
  auto on_event = [&](std::string_view event, std::string_view data) {
    return decoder->onEvent(event, data, out);
  };
  StreamRun run;
  for (auto piece : pieces) {
    run.status = framer->feed(piece, on_event);
    if (!run.status) break;
  }
  if (run.status) run.status = framer->finish(on_event);
  if (run.status) run.status = decoder->onEnd(out);
  run.chunks = std::move(out.chunks);
  run.usage = decoder->usage();
  return run;
}

std::string sse(const std::vector<Json>& events) {
  std::string text;
  for (const auto& e : events) text += "data: " + e.dump() + "\r\n\r\n";
  return text;
}

// Chunks without the fields that are fresh per decoder (ids, created).
Json normalized(std::vector<Json> chunks) {
  for (auto& c : chunks) {
    c.erase("id");
    c.erase("created");
    for (auto& choice : c["choices"])
      if (choice.contains("delta") && choice["delta"].contains("tool_calls"))
        for (auto& tc : choice["delta"]["tool_calls"]) tc.erase("id");
  }
  return chunks;
}

std::string streamedText(const std::vector<Json>& chunks) {
  std::string text;
  for (const auto& c : chunks)
    for (const auto& choice : c["choices"])
      if (choice.contains("delta") && choice["delta"].contains("content"))
        text += choice["delta"]["content"].get<std::string>();
  return text;
}

Json textEvent(const std::string& text, const char* finish, int candidates_tokens) {
  Json c = candidate({{{"text", text}}}, finish);
  c.erase("index");
  return {{"candidates", {c}},
          {"usageMetadata",
           {{"promptTokenCount", 4},
            {"candidatesTokenCount", candidates_tokens},
            {"totalTokenCount", 4 + candidates_tokens}}},
          {"modelVersion", "gemini-2.0-flash-001"}};
}

}  // namespace

TEST_CASE("gemini stream: split at every byte offset, the chunks are the same") {
  const std::string text = sse(
      {textEvent("Hel", nullptr, 1), textEvent("lo, wor", nullptr, 3), textEvent("ld", "STOP", 4)});
  const StreamRun whole = runStream({text});
  REQUIRE(whole.status);
  REQUIRE(whole.chunks.size() == 3);
  for (const auto& c : whole.chunks) {
    CHECK(c["object"] == "chat.completion.chunk");
    CHECK(c["model"] == "gemini-2.0-flash");
    CHECK(c["id"] == whole.chunks[0]["id"]);
    CHECK(c["created"].is_number());
  }
  CHECK(whole.chunks[0]["choices"][0]["delta"] == Json{{"role", "assistant"}, {"content", "Hel"}});
  CHECK_FALSE(whole.chunks[1]["choices"][0]["delta"].contains("role"));
  CHECK(streamedText(whole.chunks) == "Hello, world");
  CHECK(whole.chunks[2]["choices"][0]["finish_reason"] == "stop");
  CHECK(whole.chunks[2]["usage"] ==
        Json::parse(R"({"prompt_tokens":4,"completion_tokens":4,"total_tokens":8})"));
  CHECK_FALSE(whole.chunks[0].contains("usage"));
  CHECK(whole.usage.prompt_tokens == 4);
  CHECK(whole.usage.completion_tokens == 4);

  const Json reference = normalized(whole.chunks);
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    const std::string_view all(text);
    const StreamRun split = runStream({all.substr(0, cut), all.substr(cut)});
    CAPTURE(cut);
    REQUIRE(split.status);
    REQUIRE(normalized(split.chunks) == reference);
  }
}

TEST_CASE("gemini stream: Kong's function-call fixture becomes a tool_calls delta with args") {
  // Kong's mock is the JSON-array stream (no alt=sse); its one element is sent here as the
  // SSE event Gemini sends for the same answer with alt=sse.
  const Json element =
      fixture("kong/_extracted/streaming-spec-mocks/gemini-chat-functions.chunks.json");
  std::string raw;
  for (const auto& piece : element) raw += piece.get<std::string>();
  Json array = Json::parse(raw);
  REQUIRE(array.is_array());
  const Json second_call = {
      {"candidates",
       {candidate({{{"functionCall", {{"name", "mul"}, {"args", {{"a", 3}}}}}}}, "STOP")}}};
  Json first = array[0];
  first["candidates"][0].erase("finishReason");  // two events, the finish on the second
  const std::string text = sse({first, second_call});
  const StreamRun run = runStream({text});
  REQUIRE(run.status);
  REQUIRE(run.chunks.size() == 2);
  const Json& d0 = run.chunks[0]["choices"][0]["delta"];
  CHECK(d0["role"] == "assistant");
  REQUIRE(d0["tool_calls"].size() == 1);
  CHECK(d0["tool_calls"][0]["index"] == 0);
  CHECK(d0["tool_calls"][0]["type"] == "function");
  CHECK(d0["tool_calls"][0]["id"].get<std::string>().rfind("call_", 0) == 0);
  CHECK(d0["tool_calls"][0]["function"]["name"] == "add");
  CHECK(Json::parse(d0["tool_calls"][0]["function"]["arguments"].get<std::string>()) ==
        Json{{"a", 2}, {"b", 12}});
  const Json& last = run.chunks[1];
  CHECK(last["choices"][0]["delta"]["tool_calls"][0]["index"] == 1);
  CHECK(last["choices"][0]["finish_reason"] == "tool_calls");
  CHECK(last["usage"] ==
        Json::parse(R"({"prompt_tokens":47,"completion_tokens":3,"total_tokens":50})"));

  const StreamRun single = runStream({sse({array[0]})});
  REQUIRE(single.status);
  REQUIRE(single.chunks.size() == 1);
  CHECK(single.chunks[0]["choices"][0]["finish_reason"] == "tool_calls");
}

TEST_CASE("gemini stream: truncation, mid-stream errors, usage after the finish, blocked prompts") {
  const StreamRun truncated =
      runStream({sse({textEvent("Hel", nullptr, 1), textEvent("lo", nullptr, 2)})});
  CHECK_FALSE(truncated.status);
  CHECK(truncated.status.message() ==
        "upstream gemini stream ended before a finishReason; the answer is incomplete");
  CHECK(truncated.chunks.size() == 2);

  const StreamRun error = runStream({sse(
      {textEvent("Hel", nullptr, 1),
       Json::parse(
           R"({"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}})")})});
  CHECK_FALSE(error.status);
  CHECK(error.status.message() == "upstream error mid-stream: The model is overloaded.");

  const StreamRun garbage = runStream({"data: {oops\n\n"});
  CHECK_FALSE(garbage.status);

  // A trailing usage-only event still lands on the final chunk.
  const Json usage_only = {
      {"usageMetadata",
       {{"promptTokenCount", 4}, {"candidatesTokenCount", 9}, {"totalTokenCount", 13}}}};
  const StreamRun late = runStream({sse({textEvent("Hi", "MAX_TOKENS", 1), usage_only})});
  REQUIRE(late.status);
  REQUIRE(late.chunks.size() == 1);
  CHECK(late.chunks[0]["choices"][0]["finish_reason"] == "length");
  CHECK(late.chunks[0]["usage"]["completion_tokens"] == 9);

  const StreamRun blocked =
      runStream({sse({Json::parse(R"({"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"}})")})});
  REQUIRE(blocked.status);
  REQUIRE(blocked.chunks.size() == 1);
  CHECK(blocked.chunks[0]["choices"][0]["finish_reason"] == "content_filter");

  const StreamRun completion = runStream(
      {sse({textEvent("a", nullptr, 1), textEvent("b", "STOP", 2)})}, RouteType::Completions);
  REQUIRE(completion.status);
  REQUIRE(completion.chunks.size() == 2);
  CHECK(completion.chunks[0]["choices"][0]["text"] == "a");
  CHECK(completion.chunks[1]["choices"][0]["finish_reason"] == "stop");
  CHECK(completion.chunks[1]["usage"]["total_tokens"] == 6);
}

TEST_CASE("gemini stream: with several candidates, each must finish") {
  Json c0 = candidate({{{"text", "a"}}}, "STOP");
  Json c1 = candidate({{{"text", "b"}}}, nullptr);
  c1["index"] = 1;
  const StreamRun half = runStream({sse({{{"candidates", {c0, c1}}}})});
  CHECK_FALSE(half.status);
  c1["finishReason"] = "MAX_TOKENS";
  const StreamRun both = runStream({sse({{{"candidates", {c0, c1}}}})});
  REQUIRE(both.status);
  REQUIRE(both.chunks.size() == 1);
  CHECK(both.chunks[0]["choices"][1]["index"] == 1);
  CHECK(both.chunks[0]["choices"][1]["finish_reason"] == "length");
}
