// Anthropic Messages API translation: requests, responses, finish reasons, usage and streams.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "providers/anthropic.hpp"
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

Json readJson(const std::string& path) {
  return Json::parse(readFile(path));
}

ProxyCall call(RouteType type, const Json& body, bool stream = false) {
  ProxyCall c;
  c.route_type = type;
  c.stream = stream;
  c.model = "claude-3-5-sonnet";
  c.body = &body;
  return c;
}

const Provider& anthropicProvider() {
  const Provider* p = findProvider("anthropic");
  REQUIRE(p);
  return *p;
}

Target target() {
  Target t;
  t.provider = "anthropic";
  t.model = "claude-3-5-sonnet";
  return t;
}

// Builds the upstream request and returns its body; fails the test on an error.
Json sent(const Json& body, const Target& t = target()) {
  auto req = anthropicProvider().buildRequest(call(RouteType::Chat, body), t);
  REQUIRE_MESSAGE(req, (req ? "" : req.error().message));
  return Json::parse(req->body);
}

aigw::ApiError refused(const Json& body) {
  auto req = anthropicProvider().buildRequest(call(RouteType::Chat, body), target());
  REQUIRE_FALSE(req);
  return req.error();
}

Json user(const std::string& text) {
  return {{"role", "user"}, {"content", text}};
}

Json parsed(const std::string& upstream, RouteType type = RouteType::Chat) {
  Json body = {{"messages", Json::array({user("x")})}};
  std::string raw = upstream;
  auto reply = anthropicProvider().parseResponse(call(type, body), raw, target());
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
  std::vector<Json> chunks;  // "created" removed, so runs at different seconds compare equal
  aigw::Status status;       // first failure from an event, or onEnd's verdict
  Usage usage;
};

// Frames `text` as SSE, fed in pieces cut at the given offsets, through a fresh decoder.
StreamRun runStream(const std::string& text, const std::vector<std::size_t>& cuts,
                    RouteType type = RouteType::Chat) {
  Json body = {{"messages", Json::array({user("x")})}};
  auto decoder = anthropicProvider().newStreamDecoder(call(type, body, true), target());
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
    const StreamRun once = runStream(text, {i});
    CHECK(once.chunks == whole.chunks);
    CHECK(once.status.ok() == whole.status.ok());
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

TEST_CASE(
    "anthropic: Kong's request fixture -> Messages API body (system lifted, options filled)") {
  Target t = target();
  t.model = "claude-2.1";
  t.options.max_tokens = 512;
  t.options.temperature = 0.5;
  const Json in = readJson(AIGW_FIXTURES_DIR "/kong/unit/requests/llm-v1-chat.json");
  Json body = in;
  body["model"] = "claude-2.1";
  ProxyCall c = call(RouteType::Chat, body);
  c.model = "claude-2.1";
  auto req = anthropicProvider().buildRequest(c, t);
  REQUIRE(req);
  CHECK(req->url == "https://api.anthropic.com/v1/messages");
  const Json out = Json::parse(req->body);
  const Json expected =
      readJson(AIGW_FIXTURES_DIR "/kong/unit/expected-requests/anthropic/llm-v1-chat.json");
  CHECK(out == expected);
  bool has_version = false;
  for (const auto& h : req->headers)
    if (h.name == "anthropic-version") has_version = h.value == "2023-06-01";
  CHECK(has_version);
  t.options.anthropic_version = "2024-01-01";
  auto versioned = anthropicProvider().buildRequest(c, t);  // kept alive for the loop
  REQUIRE(versioned);
  for (const auto& h : versioned->headers)
    if (h.name == "anthropic-version") CHECK(h.value == "2024-01-01");
}

TEST_CASE("anthropic: every system message kept, same-role turns merged, tool results batched") {
  const Json body = {
      {"messages",
       {{{"role", "system"}, {"content", "Be brief."}},
        {{"role", "developer"}, {"content", {{{"type", "text"}, {"text", "Answer in French."}}}}},
        user("hi"),
        user("there"),
        {{"role", "assistant"},
         {"content", ""},
         {"tool_calls",
          {{{"id", "call_1"},
            {"type", "function"},
            {"function", {{"name", "f"}, {"arguments", "{\"a\":1}"}}}},
           {{"id", "call_2"},
            {"type", "function"},
            {"function", {{"name", "g"}, {"arguments", ""}}}}}}},
        {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "one"}},
        {{"role", "tool"},
         {"tool_call_id", "call_2"},
         {"content", {{{"type", "text"}, {"text", "two"}}}}},
        user("thanks")}}};
  const Json out = sent(body);
  CHECK(out["system"] == "Be brief.\n\nAnswer in French.");
  REQUIRE(out["messages"].size() == 3);
  CHECK(out["messages"][0] ==
        Json{{"role", "user"},
             {"content",
              {{{"type", "text"}, {"text", "hi"}}, {{"type", "text"}, {"text", "there"}}}}});
  CHECK(out["messages"][1]["role"] == "assistant");
  CHECK(out["messages"][1]["content"] ==
        Json::array(
            {{{"type", "tool_use"}, {"id", "call_1"}, {"name", "f"}, {"input", {{"a", 1}}}},
             {{"type", "tool_use"}, {"id", "call_2"}, {"name", "g"}, {"input", Json::object()}}}));
  CHECK(out["messages"][2] ==
        Json{{"role", "user"},
             {"content",
              {{{"type", "tool_result"}, {"tool_use_id", "call_1"}, {"content", "one"}},
               {{"type", "tool_result"},
                {"tool_use_id", "call_2"},
                {"content", {{{"type", "text"}, {"text", "two"}}}}},
               {{"type", "text"}, {"text", "thanks"}}}}});
  CHECK(out["max_tokens"] == 4096);  // the documented default when neither client nor config set it
  CHECK(out["stream"] == false);
  CHECK(out["model"] == "claude-3-5-sonnet");
}

TEST_CASE("anthropic: parameters, stop, user, tools and tool_choice") {
  Target t = target();
  t.options.max_tokens = 100;
  t.options.temperature = 0.3;
  t.options.top_p = 0.9;
  t.options.top_k = 7;
  const Json tools = {
      {{"type", "function"},
       {"function",
        {{"name", "get_weather"},
         {"description", "Weather now"},
         {"parameters", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}}}},
      {{"type", "function"}, {"function", {{"name", "noargs"}}}}};
  Json body = {{"messages", {user("hi")}},
               {"temperature", 1.0},
               {"max_completion_tokens", 50},
               {"stop", "END"},
               {"user", "u-42"},
               {"tools", tools},
               {"parallel_tool_calls", false}};
  Json out = sent(body, t);
  CHECK(out["max_tokens"] == 50);    // client's max_completion_tokens wins over options
  CHECK(out["temperature"] == 1.0);  // client's value wins
  CHECK(out["top_p"] == 0.9);        // options fill the rest
  CHECK(out["top_k"] == 7);
  CHECK(out["stop_sequences"] == Json::array({"END"}));
  CHECK(out["metadata"] == Json{{"user_id", "u-42"}});
  CHECK(out["tools"][0] ==
        Json{{"name", "get_weather"},
             {"description", "Weather now"},
             {"input_schema",
              {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}});
  CHECK(out["tools"][1] ==
        Json{{"name", "noargs"},
             {"input_schema", {{"type", "object"}, {"properties", Json::object()}}}});
  CHECK(out["tool_choice"] == Json{{"type", "auto"}, {"disable_parallel_tool_use", true}});

  body["stop"] = {"a", "b"};
  CHECK(sent(body)["stop_sequences"] == Json::array({"a", "b"}));

  struct Case {
    Json openai;
    Json anthropic;
  };
  const Case cases[] = {
      {"auto", {{"type", "auto"}}},
      {"required", {{"type", "any"}}},
      {"none", {{"type", "none"}}},
      {{{"type", "function"}, {"function", {{"name", "get_weather"}}}},
       {{"type", "tool"}, {"name", "get_weather"}}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.openai.dump());
    Json b = {{"messages", {user("hi")}}, {"tools", tools}, {"tool_choice", c.openai}};
    CHECK(sent(b)["tool_choice"] == c.anthropic);
  }
}

TEST_CASE("anthropic: images become base64 or url sources") {
  const Json body = {
      {"messages",
       {{{"role", "user"},
         {"content",
          {{{"type", "text"}, {"text", "compare"}},
           {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,iVBORw0KGgo="}}}},
           {{"type", "image_url"},
            {"image_url", {{"url", "https://example.com/cat.jpg"}, {"detail", "low"}}}}}}}}}};
  const Json content = sent(body)["messages"][0]["content"];
  REQUIRE(content.size() == 3);
  CHECK(content[1] ==
        Json{{"type", "image"},
             {"source",
              {{"type", "base64"}, {"media_type", "image/png"}, {"data", "iVBORw0KGgo="}}}});
  CHECK(content[2] == Json{{"type", "image"},
                           {"source", {{"type", "url"}, {"url", "https://example.com/cat.jpg"}}}});
}

TEST_CASE("anthropic: what the Messages API cannot do is a 400 naming the field") {
  struct Case {
    const char* name;
    Json body;
    const char* param;
    const char* message;
  };
  const Json hi = Json::array({user("hi")});
  const Case cases[] = {
      {"json mode",
       {{"messages", hi}, {"response_format", {{"type", "json_object"}}}},
       "response_format",
       "response_format 'json_object' is not supported by provider anthropic: the Messages API has "
       "no JSON mode; "
       "describe the format in the prompt or use a tool"},
      {"json schema",
       {{"messages", hi},
        {"response_format", {{"type", "json_schema"}, {"json_schema", Json::object()}}}},
       "response_format",
       nullptr},
      {"n", {{"messages", hi}, {"n", 2}}, "n", "n > 1 is not supported by provider anthropic"},
      {"logprobs",
       {{"messages", hi}, {"logprobs", true}},
       "logprobs",
       "logprobs is not supported by provider anthropic"},
      {"penalty", {{"messages", hi}, {"frequency_penalty", 0.5}}, "frequency_penalty", nullptr},
      {"bad arguments",
       {{"messages",
         {user("x"),
          {{"role", "assistant"},
           {"tool_calls",
            {{{"id", "c"},
              {"type", "function"},
              {"function", {{"name", "f"}, {"arguments", "{oops"}}}}}}}}}},
       "messages[1].tool_calls[0].function.arguments",
       nullptr},
      {"tool without id",
       {{"messages", {user("x"), {{"role", "tool"}, {"content", "r"}}}}},
       "messages[1].tool_call_id",
       "a tool message needs a 'tool_call_id'"},
      {"image in assistant",
       {{"messages",
         {{{"role", "assistant"},
           {"content", {{{"type", "image_url"}, {"image_url", {{"url", "https://x/y"}}}}}}}}}},
       "messages[0].content[0].type",
       nullptr},
      {"ftp image",
       {{"messages",
         {{{"role", "user"},
           {"content", {{{"type", "image_url"}, {"image_url", {{"url", "ftp://x"}}}}}}}}}},
       "messages[0].content[0].image_url.url",
       nullptr},
      {"audio part",
       {{"messages", {{{"role", "user"}, {"content", {{{"type", "input_audio"}}}}}}}},
       "messages[0].content[0].type",
       "content part type 'input_audio' is not supported by anthropic"},
      {"function role",
       {{"messages", {{{"role", "function"}, {"content", "x"}}}}},
       "messages[0].role",
       nullptr},
      {"tool type",
       {{"messages", hi}, {"tools", {{{"type", "code_interpreter"}}}}},
       "tools[0].type",
       nullptr},
      {"tool_choice", {{"messages", hi}, {"tool_choice", "sometimes"}}, "tool_choice", nullptr},
      {"stop",
       {{"messages", hi}, {"stop", 5}},
       "stop",
       "stop must be a string or an array of strings"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto e = refused(c.body);
    CHECK(e.status == 400);
    CHECK(e.param == c.param);
    if (c.message) CHECK(e.message == c.message);
  }
  // Defaults clients send routinely are not refusals.
  Json ok = {{"messages", hi},
             {"n", 1},
             {"presence_penalty", 0},
             {"logprobs", false},
             {"response_format", {{"type", "text"}}}};
  CHECK(sent(ok)["messages"].size() == 1);
}

TEST_CASE("anthropic: completions go to the Messages API and come back as text_completion") {
  Target t = target();
  t.options.max_tokens = 64;
  const Json body = {{"prompt", "Explain why you can't divide by zero?"}};
  auto req = anthropicProvider().buildRequest(call(RouteType::Completions, body), t);
  REQUIRE(req);
  CHECK(req->url == "https://api.anthropic.com/v1/messages");
  const Json out = Json::parse(req->body);
  CHECK(out["messages"] == Json::array({user("Explain why you can't divide by zero?")}));
  CHECK(out["max_tokens"] == 64);
  const Json two = {{"prompt", {"a", "b"}}};
  CHECK(anthropicProvider().buildRequest(call(RouteType::Completions, two), t).error().param ==
        "prompt");

  const Json reply =
      parsed(readFile(AIGW_FIXTURES_DIR "/kong/unit/real-responses/anthropic/llm-v1-chat.json"),
             RouteType::Completions);
  const Json expected =
      readJson(AIGW_FIXTURES_DIR "/kong/unit/expected-responses/anthropic/llm-v1-completions.json");
  CHECK(reply["object"] == "text_completion");
  CHECK(reply["choices"][0]["text"] == expected["choices"][0]["text"]);
  CHECK(reply["choices"][0]["finish_reason"] == "stop");  // Kong: "stop_sequence" verbatim
  CHECK_FALSE(anthropicProvider().supports(RouteType::Embeddings));
}

TEST_CASE("anthropic: Kong's response fixtures -> chat.completion, usage always numbers") {
  const Json out =
      parsed(readFile(AIGW_FIXTURES_DIR "/kong/unit/real-responses/anthropic/llm-v1-chat.json"));
  const Json expected =
      readJson(AIGW_FIXTURES_DIR "/kong/unit/expected-responses/anthropic/llm-v1-chat.json");
  CHECK(out["choices"][0]["message"] == expected["choices"][0]["message"]);
  CHECK(out["model"] == expected["model"]);
  CHECK(out["object"] == "chat.completion");
  CHECK(out["choices"][0]["finish_reason"] == "stop");
  CHECK(out["id"].get<std::string>().rfind("chatcmpl-", 0) == 0);  // the fixture has no id
  CHECK(out["created"].is_number());

  const Json zeros = {{"prompt_tokens", 0}, {"completion_tokens", 0}, {"total_tokens", 0}};
  for (const char* file :
       {"no_usage_response.json", "malformed_usage_response.json", "good.json"}) {
    CAPTURE(file);
    const Json r = parsed(
        readFile(std::string(AIGW_FIXTURES_DIR "/kong/anthropic/llm-v1-chat/responses/") + file));
    CHECK(r["usage"] == zeros);  // Kong answers a string here
    CHECK(r["choices"][0]["message"]["content"] == "The sum of 1 + 1 is 2.");
  }
  std::string bad = readFile(AIGW_FIXTURES_DIR
                             "/kong/anthropic/llm-v1-chat/responses/bad_upstream_response.json");
  Json body = {{"messages", Json::array({user("x")})}};
  auto r = anthropicProvider().parseResponse(call(RouteType::Chat, body), bad, target());
  REQUIRE_FALSE(r);
  CHECK(r.error().status == 502);
  CHECK(r.error().message == "upstream anthropic returned a response without a 'content' array");
}

TEST_CASE("anthropic: text and tool_use blocks, cache tokens counted as prompt") {
  const Json out = parsed(
      R"({"id":"msg_01","type":"message","role":"assistant","model":"claude-3-5-sonnet-20241022",
    "content":[{"type":"text","text":"Let me "},{"type":"text","text":"check."},
               {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],
    "stop_reason":"tool_use",
    "usage":{"input_tokens":10,"cache_creation_input_tokens":3,"cache_read_input_tokens":2,"output_tokens":7}})");
  CHECK(out["id"] == "msg_01");
  CHECK(out["model"] == "claude-3-5-sonnet-20241022");
  const Json& message = out["choices"][0]["message"];
  CHECK(message["content"] == "Let me check.");
  CHECK(message["tool_calls"] ==
        Json::array(
            {{{"id", "toolu_1"},
              {"type", "function"},
              {"function", {{"name", "get_weather"}, {"arguments", "{\"city\":\"Paris\"}"}}}}}));
  CHECK(out["choices"][0]["finish_reason"] == "tool_calls");
  // Cache reads and writes are also reported apart, as OpenAI's details (issue #9).
  CHECK(out["usage"] ==
        Json{{"prompt_tokens", 15},
             {"completion_tokens", 7},
             {"total_tokens", 22},
             {"prompt_tokens_details", {{"cached_tokens", 2}, {"cache_write_tokens", 3}}}});

  const Json only_tool = parsed(
      R"({"content":[{"type":"tool_use","id":"t","name":"f","input":{}}],"stop_reason":"tool_use"})");
  CHECK(only_tool["choices"][0]["message"]["content"].is_null());
}

TEST_CASE("anthropic: stop_reason -> finish_reason table") {
  // https://docs.anthropic.com/en/api/messages#response-stop-reason
  const std::pair<const char*, const char*> table[] = {
      {"end_turn", "stop"},
      {"stop_sequence", "stop"},
      {"max_tokens", "length"},
      {"tool_use", "tool_calls"},
      {"refusal", "content_filter"},
      {"pause_turn", "stop"},
      {"model_context_window_exceeded", "length"},
      {"something_new", "stop"},
      {"", "stop"},
  };
  for (const auto& [in, out] : table) {
    CAPTURE(in);
    CHECK(anthropic::finishReason(in) == out);
    const Json r = parsed(Json{{"content", Json::array()}, {"stop_reason", in}}.dump());
    CHECK(r["choices"][0]["finish_reason"] == out);
  }
}

TEST_CASE("anthropic stream: Kong's SSE fixture gives the same chunks at every split") {
  const std::string text = readFile(
      AIGW_FIXTURES_DIR "/kong/_extracted/streaming-spec-mocks/anthropic-chat-good.sse.txt");
  REQUIRE(!text.empty());
  const StreamRun run = sameForEverySplit(text);
  REQUIRE(run.status);
  CHECK(streamedText(run) == "1 + 1 = 2");
  REQUIRE(run.chunks.size() == 7);  // role, five text deltas, the final chunk
  for (const auto& c : run.chunks) {
    CHECK(c["id"] == "msg_013NVLwA2ypoPDJAxqC3G7wg");
    CHECK(c["object"] == "chat.completion.chunk");
    CHECK(c["model"] == "claude-2.1");
  }
  CHECK(run.chunks[0]["choices"][0]["delta"] == Json{{"role", "assistant"}, {"content", ""}});
  const Json& last = run.chunks.back();
  CHECK(last["choices"][0]["finish_reason"] == "stop");
  CHECK(last["choices"][0]["delta"] == Json::object());
  CHECK(last["usage"] ==
        Json{{"prompt_tokens", 15}, {"completion_tokens", 9}, {"total_tokens", 24}});
  CHECK(run.usage.prompt_tokens == 15);
  CHECK(run.usage.completion_tokens == 9);
}

TEST_CASE("anthropic stream: tool_use blocks become renumbered tool_call deltas that reassemble") {
  const std::string text = readFile(AIGW_FIXTURES_DIR "/anthropic/streams/tool-use.sse.txt");
  REQUIRE(!text.empty());
  const StreamRun run = sameForEverySplit(text);
  REQUIRE(run.status);
  CHECK(streamedText(run) == "Okay, let's check the weather for San Francisco, CA:");
  std::map<int, Json> calls;  // what an OpenAI client accumulates
  for (const auto& c : run.chunks) {
    const Json& delta = c["choices"][0]["delta"];
    if (!delta.contains("tool_calls")) continue;
    for (const auto& tc : delta["tool_calls"]) {
      Json& acc = calls[tc["index"].get<int>()];
      if (tc.contains("id")) {
        CHECK(tc["type"] == "function");
        acc = {{"id", tc["id"]}, {"name", tc["function"]["name"]}, {"arguments", ""}};
      }
      acc["arguments"] =
          acc["arguments"].get<std::string>() + tc["function"]["arguments"].get<std::string>();
    }
  }
  REQUIRE(calls.size() == 2);  // block indexes 1 and 2 -> tool indexes 0 and 1
  CHECK(calls[0]["id"] == "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
  CHECK(calls[0]["name"] == "get_weather");
  CHECK(Json::parse(calls[0]["arguments"].get<std::string>()) ==
        Json{{"location", "San Francisco, CA"}, {"unit", "fahrenheit"}});
  CHECK(calls[1]["name"] == "get_time");
  CHECK(Json::parse(calls[1]["arguments"].get<std::string>()) ==
        Json{{"timezone", "America/Los_Angeles"}});
  CHECK(run.chunks.back()["choices"][0]["finish_reason"] == "tool_calls");
  CHECK(run.chunks.back()["usage"] == Json{{"prompt_tokens", 480},
                                           {"completion_tokens", 89},
                                           {"total_tokens", 569},
                                           {"prompt_tokens_details", {{"cached_tokens", 8}}}});
}

TEST_CASE("anthropic stream: truncation and the error event fail the stream") {
  const std::string text = readFile(
      AIGW_FIXTURES_DIR "/kong/_extracted/streaming-spec-mocks/anthropic-chat-good.sse.txt");
  const auto stop = text.find("event: message_stop");
  REQUIRE(stop != std::string::npos);
  const StreamRun cut = runStream(text.substr(0, stop), {});
  CHECK_FALSE(cut.status);
  CHECK(cut.status.message() ==
        "upstream anthropic stream ended before message_stop; the answer is incomplete");
  CHECK(streamedText(cut) == "1 + 1 = 2");

  const std::string err = readFile(AIGW_FIXTURES_DIR "/anthropic/streams/error-overloaded.sse.txt");
  REQUIRE(!err.empty());
  const StreamRun failed = sameForEverySplit(err);
  CHECK(failed.status.message() == "upstream error mid-stream: Overloaded");
  CHECK(streamedText(failed) == "Hel");

  const StreamRun garbage = runStream("event: message_start\ndata: {not json\n\n", {});
  CHECK(garbage.status.message() ==
        "upstream anthropic sent a stream event that is not a JSON object");
}

TEST_CASE("anthropic stream: completions route streams text_completion chunks") {
  const std::string text = readFile(
      AIGW_FIXTURES_DIR "/kong/_extracted/streaming-spec-mocks/anthropic-chat-good.sse.txt");
  const StreamRun run = runStream(text, {}, RouteType::Completions);
  REQUIRE(run.status);
  REQUIRE(run.chunks.size() == 6);
  for (const auto& c : run.chunks) CHECK(c["object"] == "text_completion");
  CHECK(streamedText(run) == "1 + 1 = 2");
  CHECK(run.chunks.back()["choices"][0]["finish_reason"] == "stop");
}

TEST_CASE("anthropic: error bodies keep status, message and type (529 stays 529)") {
  const auto e = anthropicProvider().parseError(
      529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  CHECK(e.status == 529);
  CHECK(e.message == "Overloaded");
  CHECK(e.type == "overloaded_error");
  const auto unauthorized = anthropicProvider().parseError(
      401, readFile(AIGW_FIXTURES_DIR "/kong/anthropic/llm-v1-chat/responses/unauthorized.json"));
  CHECK(unauthorized.status == 401);
  CHECK(unauthorized.message == "Invalid API Key");
  CHECK(unauthorized.type == "authentication_error");
}
