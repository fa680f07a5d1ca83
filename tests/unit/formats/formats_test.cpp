// Client formats (gateway/formats): the Anthropic Messages and Responses adapters at the edges
// of the OpenAI hub, the usage reader of relayed answers, the model list, and the byte-keeping
// JSON member splice the native pass-through edits bodies with.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/json_splice.hpp"
#include "formats/anthropic.hpp"
#include "formats/format.hpp"
#include "formats/models.hpp"
#include "formats/native.hpp"
#include "formats/responses.hpp"

using namespace aigw;
using Json = nlohmann::json;

namespace {

// Runs OpenAI chunks through an encoder and returns the (event, data) pairs it wrote.
std::vector<std::pair<std::string, Json>> encode(formats::StreamEncoder& enc,
                                                 const std::vector<Json>& chunks,
                                                 const providers::Usage& usage) {
  for (const auto& c : chunks) enc.emit(c.dump());
  enc.finish(usage);
  std::vector<std::pair<std::string, Json>> out;
  std::string text = enc.pending();
  for (std::size_t pos = 0, end; (end = text.find("\n\n", pos)) != std::string::npos;
       pos = end + 2) {
    const std::string block = text.substr(pos, end - pos);
    std::string event, data;
    for (std::size_t p = 0, nl; p < block.size(); p = nl + 1) {
      nl = block.find('\n', p);
      if (nl == std::string::npos) nl = block.size();
      const std::string line = block.substr(p, nl - p);
      if (line.rfind("event: ", 0) == 0) event = line.substr(7);
      if (line.rfind("data: ", 0) == 0) data = line.substr(6);
    }
    out.emplace_back(event, data == "[DONE]" ? Json("[DONE]") : Json::parse(data));
  }
  return out;
}

Json chunk(Json delta, Json finish = nullptr) {
  return {{"id", "c1"},
          {"object", "chat.completion.chunk"},
          {"choices", Json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}})}};
}

}  // namespace

TEST_CASE("json splice: members set, filled and appended; every other byte kept") {
  const std::string in = "{ \"model\" : \"a\",\n  \"max_tokens\":null, \"x\":[1, {\"model\":2}] }";
  auto out = json::spliceMembers(in, {{"model", "\"b\""},
                                      {"max_tokens", "10", true},
                                      {"temperature", "0.5", true},
                                      {"stream", "true"}});
  REQUIRE(out);
  CHECK(*out ==
        "{ \"model\" : \"b\",\n  \"max_tokens\":10, \"x\":[1, {\"model\":2}] ,\"temperature\":0.5,"
        "\"stream\":true}");
  // fill_only leaves a value the client set.
  CHECK(*json::spliceMembers(R"({"max_tokens":5})", {{"max_tokens", "10", true}}) ==
        R"({"max_tokens":5})");
  CHECK(*json::spliceMembers("{}", {{"a", "1"}}) == R"({"a":1})");
  CHECK(*json::spliceMembers(R"({"m\u006fdel":"x"})", {{"model", "\"y\""}}) ==
        R"({"m\u006fdel":"y"})");
  CHECK_FALSE(json::spliceMembers("[1,2]", {{"a", "1"}}));
  CHECK_FALSE(json::spliceMembers(R"({"a":"unterminated)", {{"a", "1"}}));
}

TEST_CASE("anthropic request -> hub: system blocks, tools, tool results, cache_control") {
  const Json req = Json::parse(R"({
    "model": "claude-sonnet-4-5", "max_tokens": 100, "stop_sequences": ["END"],
    "system": [{"type":"text","text":"sys","cache_control":{"type":"ephemeral"}}],
    "tools": [{"name":"Read","description":"d","input_schema":{"type":"object"},
               "cache_control":{"type":"ephemeral"}}],
    "tool_choice": {"type":"any","disable_parallel_tool_use":true},
    "thinking": {"type":"enabled","budget_tokens":1000},
    "messages": [
      {"role":"user","content":"read it"},
      {"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"s"},
                                     {"type":"text","text":"ok"},
                                     {"type":"tool_use","id":"t1","name":"Read","input":{"path":"a"}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"file"}]},
                                {"type":"text","text":"and?","cache_control":{"type":"ephemeral"}},
                                {"type":"image","source":{"type":"base64","media_type":"image/png","data":"QQ=="}}]}
    ]})");
  auto hub = formats::anthropic::requestToHub(req);
  REQUIRE(hub);
  const Json& h = *hub;
  CHECK(h["model"] == "claude-sonnet-4-5");
  CHECK(h["max_tokens"] == 100);
  CHECK(h["stop"] == Json::array({"END"}));
  CHECK_FALSE(h.contains("thinking"));
  CHECK(h["tool_choice"] == "required");
  CHECK(h["parallel_tool_calls"] == false);
  CHECK(h["tools"][0] == Json::parse(R"({"type":"function","function":{"name":"Read",
        "parameters":{"type":"object"},"description":"d"},"cache_control":{"type":"ephemeral"}})"));
  const Json& m = h["messages"];
  REQUIRE(m.size() == 5);
  CHECK(m[0] == Json::parse(R"({"role":"system","content":[{"type":"text","text":"sys",
        "cache_control":{"type":"ephemeral"}}]})"));
  CHECK(m[1] == Json{{"role", "user"}, {"content", "read it"}});
  CHECK(m[2]["content"] == "ok");  // thinking left out
  CHECK(m[2]["tool_calls"][0]["function"] ==
        Json{{"name", "Read"}, {"arguments", R"({"path":"a"})"}});
  CHECK(m[3] == Json{{"role", "tool"}, {"tool_call_id", "t1"}, {"content", "file"}});
  CHECK(m[4]["role"] == "user");
  CHECK(m[4]["content"][0]["cache_control"] == Json{{"type", "ephemeral"}});
  CHECK(m[4]["content"][1]["image_url"]["url"] == "data:image/png;base64,QQ==");
}

TEST_CASE("anthropic request -> hub: what cannot be translated is a 400 naming the field") {
  auto bad = [](const char* body) {
    auto r = formats::anthropic::requestToHub(Json::parse(body));
    REQUIRE_FALSE(r);
    return r.error().param;
  };
  CHECK(bad(R"({"messages":[]})") == "messages");
  CHECK(bad(R"({"messages":[{"role":"system","content":"x"}]})") == "messages[0].role");
  CHECK(bad(R"({"messages":[{"role":"user","content":[{"type":"search_result"}]}]})") ==
        "messages[0].content[0].type");
  CHECK(
      bad(R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"bash_20250124","name":"bash"}]})") ==
      "tools[0].type");
  CHECK(bad(R"({"messages":[{"role":"user","content":[{"type":"tool_result"}]}]})") ==
        "messages[0].content[0].tool_use_id");
}

TEST_CASE("anthropic: count_tokens estimate") {
  const Json req = Json::parse(R"({"system":"12345678","messages":[
      {"role":"user","content":"abcd"},
      {"role":"user","content":[{"type":"image","source":{"type":"base64","data":"x"}}]}]})");
  // (8 + 4 characters) / 4 + 3 per message + 1600 per image
  CHECK(formats::anthropic::estimateInputTokens(req) == 3 + 6 + 1600);
}

TEST_CASE("anthropic answer from the hub: text, tool use, stop reason, cache usage") {
  const Json answer = Json::parse(R"({"id":"c","choices":[{"index":0,"finish_reason":"tool_calls",
      "message":{"role":"assistant","content":"let me look",
        "tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]}}],
      "usage":{"prompt_tokens":1210,"completion_tokens":9,
               "prompt_tokens_details":{"cached_tokens":1000,"cache_write_tokens":200}}})");
  formats::ReplyContext reply{"claude-x", nullptr, false};
  auto out = formats::anthropicMessages().fromHub(answer.dump(), reply);
  REQUIRE(out);
  const Json msg = Json::parse(*out);
  CHECK(msg["type"] == "message");
  CHECK(msg["model"] == "claude-x");
  CHECK(msg["stop_reason"] == "tool_use");
  CHECK(msg["content"] == Json::parse(R"([{"type":"text","text":"let me look"},
        {"type":"tool_use","id":"call_1","name":"f","input":{"a":1}}])"));
  CHECK(msg["usage"] == Json{{"input_tokens", 10},
                             {"cache_creation_input_tokens", 200},
                             {"cache_read_input_tokens", 1000},
                             {"output_tokens", 9}});
  ApiError e = ApiError::badRequest("nope");
  CHECK(
      Json::parse(formats::anthropicMessages().errorBody(e)) ==
      Json{{"type", "error"}, {"error", {{"type", "invalid_request_error"}, {"message", "nope"}}}});
}

TEST_CASE("anthropic stream from hub chunks: the documented event sequence") {
  formats::ReplyContext reply{"claude-x", nullptr, false};
  auto enc = formats::anthropicMessages().newEncoder(reply);
  providers::Usage usage;
  usage.prompt_tokens = 12;
  usage.completion_tokens = 5;
  usage.cached_tokens = 2;
  const auto events = encode(
      *enc,
      {chunk({{"role", "assistant"}, {"content", ""}}), chunk({{"content", "Hi"}}),
       chunk({{"tool_calls", Json::parse(R"([{"index":0,"id":"call_1","type":"function",
               "function":{"name":"f","arguments":""}}])")}}),
       chunk({{"tool_calls", Json::parse(R"([{"index":0,"function":{"arguments":"{\"a\""}}])")}}),
       chunk({{"tool_calls", Json::parse(R"([{"index":0,"function":{"arguments":":1}"}}])")}}),
       chunk(Json::object(), "tool_calls")},
      usage);
  std::vector<std::string> types;
  for (const auto& [event, data] : events) {
    types.push_back(event);
    CHECK(data["type"] == event);
  }
  CHECK(types == std::vector<std::string>{
                     "message_start", "content_block_start", "content_block_delta",
                     "content_block_stop", "content_block_start", "content_block_delta",
                     "content_block_delta", "content_block_stop", "message_delta", "message_stop"});
  CHECK(events[0].second["message"]["model"] == "claude-x");
  CHECK(events[1].second["content_block"] == Json{{"type", "text"}, {"text", ""}});
  CHECK(events[2].second["delta"] == Json{{"type", "text_delta"}, {"text", "Hi"}});
  CHECK(events[4].second["index"] == 1);
  CHECK(events[4].second["content_block"]["id"] == "call_1");
  CHECK(events[5].second["delta"] ==
        Json{{"type", "input_json_delta"}, {"partial_json", "{\"a\""}});
  CHECK(events[8].second["delta"]["stop_reason"] == "tool_use");
  CHECK(events[8].second["usage"] == Json{{"input_tokens", 10},
                                          {"cache_creation_input_tokens", 0},
                                          {"cache_read_input_tokens", 2},
                                          {"output_tokens", 5}});
}

TEST_CASE("responses request -> hub: items, instructions, tools, text.format") {
  const Json req = Json::parse(R"({"model":"m","instructions":"Be brief.","max_output_tokens":50,
    "text":{"format":{"type":"json_schema","name":"out","schema":{"type":"object"},"strict":true}},
    "tools":[{"type":"function","name":"f","parameters":{"type":"object"}}],
    "tool_choice":{"type":"function","name":"f"},
    "input":[{"role":"developer","content":"dev note"},
             {"type":"message","role":"user","content":[{"type":"input_text","text":"hi"},
                                                        {"type":"input_image","image_url":"https://x/y.png"}]},
             {"type":"reasoning","id":"rs_1","summary":[]},
             {"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},
             {"type":"function_call","call_id":"c2","name":"f","arguments":"{\"b\":2}"},
             {"type":"function_call_output","call_id":"c1","output":"one"},
             {"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"two"}]}]})");
  auto hub = formats::responses::requestToHub(req);
  REQUIRE(hub);
  const Json& h = *hub;
  CHECK(h["max_tokens"] == 50);
  CHECK(h["response_format"] == Json::parse(R"({"type":"json_schema","json_schema":{"name":"out",
        "schema":{"type":"object"},"strict":true}})"));
  CHECK(
      h["tools"][0] ==
      Json::parse(R"({"type":"function","function":{"name":"f","parameters":{"type":"object"}}})"));
  CHECK(h["tool_choice"] == Json::parse(R"({"type":"function","function":{"name":"f"}})"));
  const Json& m = h["messages"];
  REQUIRE(m.size() == 6);
  CHECK(m[0] == Json{{"role", "system"}, {"content", "Be brief."}});
  CHECK(m[1] == Json{{"role", "system"}, {"content", "dev note"}});
  CHECK(m[2]["content"][1] ==
        Json::parse(R"({"type":"image_url","image_url":{"url":"https://x/y.png"}})"));
  CHECK(m[3]["tool_calls"].size() == 2);  // parallel calls in one assistant message
  CHECK(m[4] == Json{{"role", "tool"}, {"tool_call_id", "c1"}, {"content", "one"}});
  CHECK(m[5] == Json{{"role", "tool"}, {"tool_call_id", "c2"}, {"content", "two"}});
  auto bad = formats::responses::requestToHub(Json::parse(R"({"input":"x","conversation":"c"})"));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().param == "conversation");
}

TEST_CASE("responses answer from the hub: output items, status, usage") {
  const Json answer = Json::parse(R"({"created":5,"choices":[{"index":0,"finish_reason":"length",
      "message":{"role":"assistant","content":"partial"}}],
      "usage":{"prompt_tokens":4,"completion_tokens":9,"completion_tokens_details":{"reasoning_tokens":3}}})");
  const Json req = {{"instructions", "Be brief."}, {"max_output_tokens", 9}};
  formats::ReplyContext reply{"gpt-x", &req, false};
  auto out = formats::openaiResponses().fromHub(answer.dump(), reply);
  REQUIRE(out);
  const Json r = Json::parse(*out);
  CHECK(r["object"] == "response");
  CHECK(r["created_at"] == 5);
  CHECK(r["status"] == "incomplete");
  CHECK(r["incomplete_details"] == Json{{"reason", "max_output_tokens"}});
  CHECK(r["instructions"] == "Be brief.");
  CHECK(r["max_output_tokens"] == 9);
  CHECK(r["output"][0]["type"] == "message");
  CHECK(r["output"][0]["content"][0]["text"] == "partial");
  CHECK(r["usage"]["output_tokens_details"]["reasoning_tokens"] == 3);
  CHECK(r["usage"]["total_tokens"] == 13);
}

TEST_CASE("responses stream from hub chunks: items announced before their deltas") {
  formats::ReplyContext reply{"gpt-x", nullptr, false};
  auto enc = formats::openaiResponses().newEncoder(reply);
  const auto events =
      encode(*enc,
             {chunk({{"role", "assistant"}, {"content", ""}}), chunk({{"content", "Hi"}}),
              chunk({{"tool_calls", Json::parse(R"([{"index":0,"id":"call_1","type":"function",
               "function":{"name":"f","arguments":"{}"}}])")}}),
              chunk(Json::object(), "tool_calls")},
             providers::Usage{3, 4});
  std::vector<std::string> types;
  for (std::size_t i = 0; i < events.size(); ++i) {
    types.push_back(events[i].first);
    CHECK(events[i].second["sequence_number"] == i);
  }
  CHECK(types == std::vector<std::string>{
                     "response.created", "response.in_progress", "response.output_item.added",
                     "response.content_part.added", "response.output_text.delta",
                     "response.output_text.done", "response.content_part.done",
                     "response.output_item.done", "response.output_item.added",
                     "response.function_call_arguments.delta",
                     "response.function_call_arguments.done", "response.output_item.done",
                     "response.completed"});
  const Json done = events.back().second["response"];
  CHECK(done["status"] == "completed");
  CHECK(done["output"].size() == 2);
  CHECK(done["output"][1]["call_id"] == "call_1");
  CHECK(done["usage"]["input_tokens"] == 3);
}

TEST_CASE("usage read from every provider's shape, cache and reasoning parts included") {
  auto u = formats::sniffUsage(Json::parse(
      R"({"usage":{"prompt_tokens":10,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":6},
          "completion_tokens_details":{"reasoning_tokens":2}}})"));
  CHECK(u.prompt_tokens == 10);
  CHECK(u.cached_tokens == 6);
  CHECK(u.reasoning_tokens == 2);
  u = formats::sniffUsage(Json::parse(
      R"({"type":"message_start","message":{"usage":{"input_tokens":5,"cache_read_input_tokens":100,
          "cache_creation_input_tokens":20,"output_tokens":1}}})"));
  CHECK(u.prompt_tokens == 125);
  CHECK(u.cached_tokens == 100);
  CHECK(u.cache_write_tokens == 20);
  u = formats::sniffUsage(Json::parse(
      R"({"type":"response.completed","response":{"usage":{"input_tokens":7,"output_tokens":3,
          "input_tokens_details":{"cached_tokens":4},"output_tokens_details":{"reasoning_tokens":1}}}})"));
  CHECK(u.prompt_tokens == 7);
  CHECK(u.cached_tokens == 4);
  CHECK(u.reasoning_tokens == 1);
  u = formats::sniffUsage(Json::parse(
      R"({"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":2,"thoughtsTokenCount":3,"cachedContentTokenCount":8}})"));
  CHECK(u.prompt_tokens == 9);
  CHECK(u.completion_tokens == 5);
  CHECK(u.cached_tokens == 8);
  CHECK(u.reasoning_tokens == 3);
  u = formats::sniffUsage(Json::parse(
      R"({"usage":{"inputTokens":3,"outputTokens":2,"cacheReadInputTokens":10,"cacheWriteInputTokens":5}})"));
  CHECK(u.prompt_tokens == 18);
  CHECK(u.cached_tokens == 10);
  CHECK(u.cache_write_tokens == 5);
  u = formats::sniffUsage(Json::parse(R"({"done":true,"prompt_eval_count":4,"eval_count":6})"));
  CHECK(u.prompt_tokens == 4);
  CHECK(u.completion_tokens == 6);
  CHECK(formats::sniffUsageText("not json").prompt_tokens == -1);

  formats::StreamWatcher watcher(providers::NativeApi::Anthropic);
  watcher.onEvent(
      "message_start",
      R"({"type":"message_start","message":{"usage":{"input_tokens":5,"output_tokens":1}}})");
  watcher.onEvent("message_delta", R"({"type":"message_delta","usage":{"output_tokens":9}})");
  CHECK_FALSE(watcher.complete());
  watcher.onEvent("message_stop", R"({"type":"message_stop"})");
  CHECK(watcher.complete());
  CHECK(watcher.usage().prompt_tokens == 5);
  CHECK(watcher.usage().completion_tokens == 9);
}

TEST_CASE("models: paths and answers in OpenAI's and Anthropic's shapes") {
  CHECK(formats::modelsPath("/v1/models") == std::string());
  CHECK(formats::modelsPath("/x/v1/models/") == std::string());
  CHECK(formats::modelsPath("/x/v1/models/gpt-4o") == std::string("gpt-4o"));
  CHECK_FALSE(formats::modelsPath("/x/v1/chat/completions"));
  const std::vector<plugins::RoutableModel> models = {{"a", "openai"}, {"b", "mock"}};
  auto list = Json::parse(formats::modelsAnswer(models, "", "openai").body);
  CHECK(list["object"] == "list");
  CHECK(list["data"][1] ==
        Json{{"id", "b"}, {"object", "model"}, {"created", 0}, {"owned_by", "mock"}});
  auto missing = formats::modelsAnswer(models, "c", "anthropic");
  CHECK(missing.status == 404);
  CHECK(Json::parse(missing.body)["error"]["type"] == "not_found_error");
  auto anthropic = Json::parse(formats::modelsAnswer(models, "", "anthropic").body);
  CHECK(anthropic["first_id"] == "a");
  CHECK(anthropic["last_id"] == "b");
}
