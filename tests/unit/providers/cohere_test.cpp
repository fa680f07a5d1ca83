// Cohere v2 translation: chat and embed requests, responses, finish reasons, usage, streams.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "providers/cohere.hpp"
#include "providers/provider.hpp"
#include "proxy/framing.hpp"

using namespace aigw::providers;
using Json = nlohmann::json;

namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ProxyCall call(RouteType type, const Json& body, bool stream = false) {
  ProxyCall c;
  c.route_type = type;
  c.stream = stream;
  c.model = "command-a-03-2025";
  c.body = &body;
  return c;
}

const Provider& cohereProvider() {
  const Provider* p = findProvider("cohere");
  REQUIRE(p);
  return *p;
}

Target target() {
  Target t;
  t.provider = "cohere";
  t.model = "command-a-03-2025";
  return t;
}

Json sent(const Json& body, const Target& t = target(), RouteType type = RouteType::Chat) {
  auto req = cohereProvider().buildRequest(call(type, body), t);
  REQUIRE_MESSAGE(req, (req ? "" : req.error().message));
  return Json::parse(req->body);
}

aigw::ApiError refused(const Json& body, RouteType type = RouteType::Chat) {
  auto req = cohereProvider().buildRequest(call(type, body), target());
  REQUIRE_FALSE(req);
  return req.error();
}

Json user(const std::string& text) {
  return {{"role", "user"}, {"content", text}};
}

Json parsed(const std::string& upstream, RouteType type = RouteType::Chat, Json body = {}) {
  if (body.is_null()) body = {{"messages", Json::array({user("x")})}};
  std::string raw = upstream;
  auto reply = cohereProvider().parseResponse(call(type, body), raw, target());
  REQUIRE_MESSAGE(reply, (reply ? "" : reply.error().message));
  return Json::parse(reply->body);
}

struct Collect : ChunkSink {
  std::vector<Json> chunks;
  bool emit(std::string_view c) override {
    chunks.push_back(Json::parse(c));
    return true;
  }
};

struct StreamRun {
  std::vector<Json> chunks;  // "created" removed so runs compare equal
  aigw::Status status;
  Usage usage;
};

StreamRun runStream(const std::string& text, const std::vector<std::size_t>& cuts,
                    RouteType type = RouteType::Chat) {
  Json body = {{"messages", Json::array({user("x")})}};
  auto decoder = cohereProvider().newStreamDecoder(call(type, body, true), target());
  auto framer = aigw::proxy::newFramer(Framing::Sse);
  Collect out;
  StreamRun run;
  auto on_event = [&](std::string_view event, std::string_view data) {
    return decoder->onEvent(event, data, out);
  };
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    if (run.status)
      run.status = framer->feed(std::string_view(text).substr(from, cut - from), on_event);
    from = cut;
  }
  if (run.status) run.status = framer->feed(std::string_view(text).substr(from), on_event);
  if (run.status) run.status = framer->finish(on_event);
  if (run.status) run.status = decoder->onEnd(out);
  for (auto& c : out.chunks) {
    CHECK(c["created"].is_number());
    c.erase("created");
  }
  run.chunks = std::move(out.chunks);
  run.usage = decoder->usage();
  return run;
}

// The same stream fed whole, cut once at every offset, and in pieces of every size.
StreamRun sameForEverySplit(const std::string& text) {
  const StreamRun whole = runStream(text, {});
  for (std::size_t i = 1; i < text.size(); ++i) {
    CAPTURE(i);
    CHECK(runStream(text, {i}).chunks == whole.chunks);
    std::vector<std::size_t> cuts;
    for (std::size_t at = i; at < text.size(); at += i) cuts.push_back(at);
    const StreamRun stepped = runStream(text, cuts);
    CHECK(stepped.chunks == whole.chunks);
    CHECK(stepped.status.message() == whole.status.message());
  }
  return whole;
}

std::string streamedText(const StreamRun& run) {
  std::string text;
  for (const auto& c : run.chunks)
    for (const auto& choice : c["choices"]) {
      if (choice.contains("delta") && choice["delta"].contains("content"))
        text += choice["delta"]["content"].get<std::string>();
      if (choice.contains("text")) text += choice["text"].get<std::string>();
    }
  return text;
}

}  // namespace

TEST_CASE("cohere: Kong's chat request -> v2 chat, system kept as system, options renamed") {
  Target t = target();
  t.options.max_tokens = 512;
  t.options.temperature = 0.5;
  t.options.top_p = 1.0;
  t.options.top_k = 5;
  const Json in = Json::parse(readFile(AIGW_FIXTURES_DIR "/kong/unit/requests/llm-v1-chat.json"));
  auto req = cohereProvider().buildRequest(call(RouteType::Chat, in), t);
  REQUIRE(req);
  CHECK(req->url == "https://api.cohere.com/v2/chat");
  const Json out = Json::parse(req->body);
  // v2 takes OpenAI's roles as they are; Kong's v1 driver turns system into a USER turn.
  CHECK(out["messages"] == in["messages"]);
  CHECK(out["model"] == "command-a-03-2025");
  CHECK(out["max_tokens"] == 512);
  CHECK(out["temperature"] == 0.5);
  CHECK(out["p"] == 1.0);
  CHECK(out["k"] == 5);
  CHECK(out["stream"] == false);
  CHECK_FALSE(out.contains("top_p"));
}

TEST_CASE("cohere: parameters, stop, tools, tool_choice and JSON mode") {
  Target t = target();
  t.options.top_p = 0.5;
  const Json tools = {
      {{"type", "function"},
       {"function", {{"name", "get_weather"}, {"parameters", {{"type", "object"}}}}}},
      {{"type", "function"}, {"function", {{"name", "get_time"}}}}};
  Json body = {{"messages", {user("hi")}},
               {"top_p", 0.9},
               {"top_k", 3},
               {"max_completion_tokens", 20},
               {"seed", 7},
               {"stop", "END"},
               {"tools", tools},
               {"tool_choice", "required"},
               {"response_format", {{"type", "json_object"}}}};
  Json out = sent(body, t);
  CHECK(out["p"] == 0.9);
  CHECK(out["k"] == 3);
  CHECK(out["max_tokens"] == 20);
  CHECK(out["seed"] == 7);
  CHECK(out["stop_sequences"] == Json::array({"END"}));
  CHECK(out["tools"] == tools);  // v2 tools are OpenAI's shape
  CHECK(out["tool_choice"] == "REQUIRED");
  CHECK(out["response_format"] == Json{{"type", "json_object"}});

  body["tool_choice"] = "none";
  CHECK(sent(body)["tool_choice"] == "NONE");
  body["tool_choice"] = "auto";
  CHECK_FALSE(sent(body).contains("tool_choice"));
  // One named function: only that tool, and a call is required.
  body["tool_choice"] = {{"type", "function"}, {"function", {{"name", "get_time"}}}};
  out = sent(body);
  CHECK(out["tools"] == Json::array({tools[1]}));
  CHECK(out["tool_choice"] == "REQUIRED");
  body["response_format"] = {{"type", "json_schema"},
                             {"json_schema", {{"name", "x"}, {"schema", {{"type", "object"}}}}}};
  CHECK(sent(body)["response_format"] ==
        Json{{"type", "json_object"}, {"json_schema", {{"type", "object"}}}});
}

TEST_CASE("cohere: assistant tool calls, tool results and images in v2 messages") {
  const Json body = {
      {"messages",
       {{{"role", "user"},
         {"content",
          {{{"type", "text"}, {"text", "what is this?"}},
           {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,AAAA"}}}}}}},
        {{"role", "assistant"},
         {"content", "I will check."},
         {"tool_calls",
          {{{"id", "c1"},
            {"type", "function"},
            {"function", {{"name", "f"}, {"arguments", "{\"a\":1}"}}}}}}},
        {{"role", "tool"}, {"tool_call_id", "c1"}, {"content", "42"}},
        {{"role", "assistant"}, {"content", nullptr}}}}};
  const Json out = sent(body);
  REQUIRE(out["messages"].size() == 3);  // the empty assistant turn is left out
  CHECK(out["messages"][0]["content"][1] ==
        Json{{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,AAAA"}}}});
  CHECK(out["messages"][1] ==
        Json{{"role", "assistant"},
             {"tool_plan", "I will check."},
             {"tool_calls",
              {{{"id", "c1"},
                {"type", "function"},
                {"function", {{"name", "f"}, {"arguments", "{\"a\":1}"}}}}}}});
  CHECK(out["messages"][2] == Json{{"role", "tool"}, {"tool_call_id", "c1"}, {"content", "42"}});
}

TEST_CASE("cohere: what v2 cannot do is a 400 naming the field") {
  struct Case {
    const char* name;
    Json body;
    const char* param;
    const char* message;
  };
  const Json hi = Json::array({user("hi")});
  const Case cases[] = {
      {"n", {{"messages", hi}, {"n", 2}}, "n", "n > 1 is not supported by provider cohere"},
      {"logprobs", {{"messages", hi}, {"logprobs", true}}, "logprobs", nullptr},
      {"parallel",
       {{"messages", hi}, {"parallel_tool_calls", false}},
       "parallel_tool_calls",
       nullptr},
      {"tool_choice unknown fn",
       {{"messages", hi},
        {"tools", {{{"type", "function"}, {"function", {{"name", "a"}}}}}},
        {"tool_choice", {{"type", "function"}, {"function", {{"name", "b"}}}}}},
       "tool_choice.function.name",
       "tool_choice names a function that is not in tools"},
      {"format",
       {{"messages", hi}, {"response_format", {{"type", "xml"}}}},
       "response_format.type",
       nullptr},
      {"tool role id",
       {{"messages", {{{"role", "tool"}, {"content", "x"}}}}},
       "messages[0].tool_call_id",
       nullptr},
      {"role",
       {{"messages", {{{"role", "function"}, {"content", "x"}}}}},
       "messages[0].role",
       nullptr},
      {"audio",
       {{"messages", {{{"role", "user"}, {"content", {{{"type", "input_audio"}}}}}}}},
       "messages[0].content[0].type",
       "content part type 'input_audio' is not supported by cohere"},
      {"stop", {{"messages", hi}, {"stop", {1, 2}}}, "stop", nullptr},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto e = refused(c.body);
    CHECK(e.status == 400);
    CHECK(e.param == c.param);
    if (c.message) CHECK(e.message == c.message);
  }
}

TEST_CASE("cohere: v2 response -> chat.completion; tool plan as content; usage from billed_units") {
  const Json out = parsed(R"({"id":"c14c80c3","finish_reason":"COMPLETE",
    "message":{"role":"assistant","content":[{"type":"text","text":"Hello "},{"type":"text","text":"world"}]},
    "usage":{"billed_units":{"input_tokens":5,"output_tokens":2},"tokens":{"input_tokens":71,"output_tokens":2}}})");
  CHECK(out["id"] == "c14c80c3");
  CHECK(out["object"] == "chat.completion");
  CHECK(out["model"] == "command-a-03-2025");
  CHECK(out["choices"][0]["message"] == Json{{"role", "assistant"}, {"content", "Hello world"}});
  CHECK(out["choices"][0]["finish_reason"] == "stop");
  CHECK(out["usage"] ==  // billed_units (as Kong reports), not tokens (71 with the template)
        Json{{"prompt_tokens", 5}, {"completion_tokens", 2}, {"total_tokens", 7}});

  const Json tool = parsed(R"({"id":"x","finish_reason":"TOOL_CALL",
    "message":{"role":"assistant","tool_plan":"I will look it up.",
      "tool_calls":[{"id":"get_weather_1","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Toronto\"}"}}]},
    "usage":{"billed_units":{"input_tokens":37,"output_tokens":28}}})");
  const Json& message = tool["choices"][0]["message"];
  CHECK(message["content"] == "I will look it up.");
  CHECK(message["tool_calls"] ==
        Json::array({{{"id", "get_weather_1"},
                      {"type", "function"},
                      {"function",
                       {{"name", "get_weather"}, {"arguments", "{\"location\":\"Toronto\"}"}}}}}));
  CHECK(tool["choices"][0]["finish_reason"] == "tool_calls");
  CHECK(tool["usage"] ==
        Json{{"prompt_tokens", 37}, {"completion_tokens", 28}, {"total_tokens", 65}});

  const Json no_usage =
      parsed(R"({"finish_reason":"MAX_TOKENS","message":{"role":"assistant","content":[]}})");
  CHECK(no_usage["usage"] ==
        Json{{"prompt_tokens", 0}, {"completion_tokens", 0}, {"total_tokens", 0}});
  CHECK(no_usage["choices"][0]["finish_reason"] == "length");

  std::string bad =
      readFile(AIGW_FIXTURES_DIR "/kong/cohere/llm-v1-chat/responses/bad_upstream_response.json");
  Json body = {{"messages", Json::array({user("x")})}};
  auto r = cohereProvider().parseResponse(call(RouteType::Chat, body), bad, target());
  REQUIRE_FALSE(r);
  CHECK(r.error().status == 502);
  CHECK(r.error().message == "upstream cohere returned a response without a 'message'");
}

TEST_CASE("cohere: finish_reason table") {
  // https://docs.cohere.com/reference/chat#response.body.finish_reason
  const std::pair<const char*, const char*> table[] = {
      {"COMPLETE", "stop"},        {"STOP_SEQUENCE", "stop"},         {"MAX_TOKENS", "length"},
      {"TOOL_CALL", "tool_calls"}, {"ERROR_TOXIC", "content_filter"}, {"ERROR", "stop"},
      {"ERROR_LIMIT", "length"},   {"SOMETHING_NEW", "stop"},         {"", "stop"},
  };
  for (const auto& [in, out] : table) {
    CAPTURE(in);
    CHECK(cohere::finishReason(in) == out);
  }
}

TEST_CASE("cohere: completions and embeddings") {
  Json prompt = {{"prompt", "What are you?"}};
  Json out = sent(prompt, target(), RouteType::Completions);
  CHECK(out["messages"] == Json::array({user("What are you?")}));
  const Json reply = parsed(
      R"({"id":"g1","finish_reason":"COMPLETE","message":{"role":"assistant","content":[{"type":"text","text":"1 + 1 is 2."}]}})",
      RouteType::Completions, prompt);
  CHECK(reply["object"] == "text_completion");
  CHECK(reply["choices"][0]["text"] == "1 + 1 is 2.");

  Json input = {{"input", {"a", "b c"}}, {"dimensions", 256}};
  auto req = cohereProvider().buildRequest(call(RouteType::Embeddings, input), target());
  REQUIRE(req);
  CHECK(req->url == "https://api.cohere.com/v2/embed");
  CHECK(Json::parse(req->body) == Json{{"model", "command-a-03-2025"},
                                       {"texts", {"a", "b c"}},
                                       {"input_type", "search_document"},
                                       {"embedding_types", {"float"}},
                                       {"output_dimension", 256}});
  const std::string up =
      R"({"id":"e1","embeddings":{"float":[[0.5,-1.0],[0.25,2.0]]},"texts":["a","b c"],
    "meta":{"api_version":{"version":"2"},"billed_units":{"input_tokens":3}}})";
  const Json emb = parsed(up, RouteType::Embeddings, input);
  CHECK(emb["object"] == "list");
  CHECK(emb["data"][1] == Json{{"object", "embedding"}, {"index", 1}, {"embedding", {0.25, 2.0}}});
  CHECK(emb["usage"] == Json{{"prompt_tokens", 3}, {"total_tokens", 3}});
  // The openai SDKs ask for base64 by default: little-endian float32s.
  Json b64 = {{"input", "a"}, {"encoding_format", "base64"}};
  CHECK(parsed(up, RouteType::Embeddings, b64)["data"][0]["embedding"] == "AAAAPwAAgL8=");
  CHECK(refused({{"input", {1, 2}}}, RouteType::Embeddings).param == "input");
}

TEST_CASE("cohere stream: text answer, same chunks at every split, usage from billed_units") {
  const std::string text = readFile(AIGW_FIXTURES_DIR "/cohere/streams/chat.sse.txt");
  REQUIRE(!text.empty());
  const StreamRun run = sameForEverySplit(text);
  REQUIRE(run.status);
  CHECK(streamedText(run) == "Large Language Models (LLMs) are neural networks.");
  REQUIRE(run.chunks.size() == 11);  // role, nine deltas, final
  for (const auto& c : run.chunks) {
    CHECK(c["id"] == "29f14a5a-11de-4cae-9800-25e4747408ea");
    CHECK(c["object"] == "chat.completion.chunk");
    CHECK(c["model"] == "command-a-03-2025");
  }
  CHECK(run.chunks[0]["choices"][0]["delta"] == Json{{"role", "assistant"}, {"content", ""}});
  CHECK(run.chunks.back()["choices"][0]["finish_reason"] == "stop");
  CHECK(run.chunks.back()["usage"] ==
        Json{{"prompt_tokens", 6}, {"completion_tokens", 9}, {"total_tokens", 15}});
  CHECK(run.usage.prompt_tokens == 6);
}

TEST_CASE("cohere stream: parallel tool calls reassemble; the tool plan streams as content") {
  const std::string text = readFile(AIGW_FIXTURES_DIR "/cohere/streams/tool-use.sse.txt");
  REQUIRE(!text.empty());
  const StreamRun run = sameForEverySplit(text);
  REQUIRE(run.status);
  CHECK(streamedText(run) == "I will search for the weather in Madrid and Brasilia.");
  std::map<int, Json> calls;
  for (const auto& c : run.chunks) {
    const Json& delta = c["choices"][0]["delta"];
    if (!delta.contains("tool_calls")) continue;
    for (const auto& tc : delta["tool_calls"]) {
      Json& acc = calls[tc["index"].get<int>()];
      if (tc.contains("id"))
        acc = {{"id", tc["id"]}, {"name", tc["function"]["name"]}, {"arguments", ""}};
      acc["arguments"] =
          acc["arguments"].get<std::string>() + tc["function"]["arguments"].get<std::string>();
    }
  }
  REQUIRE(calls.size() == 2);
  CHECK(calls[0]["id"] == "get_weather_p0dage9q1nv4");
  CHECK(Json::parse(calls[0]["arguments"].get<std::string>()) == Json{{"location", "Madrid"}});
  CHECK(calls[1]["name"] == "get_weather");
  CHECK(Json::parse(calls[1]["arguments"].get<std::string>()) == Json{{"location", "Brasilia"}});
  CHECK(run.chunks.back()["choices"][0]["finish_reason"] == "tool_calls");
  CHECK(run.chunks.back()["usage"]["prompt_tokens"] == 37);
}

TEST_CASE("cohere stream: truncation, an error in message-end and garbage fail the stream") {
  const std::string text = readFile(AIGW_FIXTURES_DIR "/cohere/streams/chat.sse.txt");
  const auto end = text.find("event: message-end");
  REQUIRE(end != std::string::npos);
  const StreamRun cut = runStream(text.substr(0, end), {});
  CHECK(cut.status.message() ==
        "upstream cohere stream ended before message-end; the answer is incomplete");
  const std::string failed_end =
      text.substr(0, end) +
      "event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"error\":\"internal server "
      "error\",\"finish_reason\":\"ERROR\"}}\n\n";
  CHECK(runStream(failed_end, {}).status.message() ==
        "upstream error mid-stream: internal server error");
  CHECK(runStream("event: content-delta\ndata: {oops\n\n", {}).status.message() ==
        "upstream cohere sent a stream event that is not a JSON object");
  // A trailing [DONE] after message-end is tolerated.
  CHECK(runStream(text + "data: [DONE]\n\n", {}).status);
  const StreamRun completions = runStream(text, {}, RouteType::Completions);
  CHECK(completions.chunks.front()["object"] == "text_completion");
  CHECK(streamedText(completions) == "Large Language Models (LLMs) are neural networks.");
}

TEST_CASE("cohere: error bodies keep status and message") {
  const auto e = cohereProvider().parseError(
      401, readFile(AIGW_FIXTURES_DIR "/kong/cohere/llm-v1-chat/responses/unauthorized.json"));
  CHECK(e.status == 401);
  CHECK(e.message == "invalid api token");
  CHECK(e.type == "authentication_error");
  const auto busy =
      cohereProvider().parseError(429, R"({"id":"abc","message":"too many requests"})");
  CHECK(busy.status == 429);
  CHECK(busy.message == "too many requests");
}
