// llm_format: anthropic (Claude Code, the Anthropic SDKs) through the real binary: native
// pass-through to Anthropic (the body byte for byte, cache_control and beta headers kept, the
// stream relayed as sent, usage with cache counts read for the log), translation through the
// OpenAI hub to OpenAI and the mock (Anthropic answers and events back, tools both ways,
// count_tokens estimated), and prompt caching carried over the OpenAI-shaped path.
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
- name: agents
  url: {FAKE}
  routes:
  - name: claude-native
    paths: ["/claude"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        llm_format: anthropic
        auth: {header_name: x-api-key, header_value: "sk-ant-configured"}
        model:
          provider: anthropic
          options: {upstream_url: "{FAKE}/v1/messages"}
  - name: claude-priced
    paths: ["/priced"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        llm_format: anthropic
        auth: {header_name: x-api-key, header_value: "sk-ant-configured"}
        model:
          provider: anthropic
          options:
            upstream_url: "{FAKE}/v1/messages"
            input_cost: 3
            output_cost: 15
            cache_read_cost: 0.3
            cache_write_cost: 3.75
  - name: claude-pinned
    paths: ["/pinned"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        llm_format: anthropic
        auth: {header_name: x-api-key, header_value: "sk-ant-configured"}
        model:
          provider: anthropic
          name: claude-pinned
          options: {temperature: 0.25, upstream_url: "{FAKE}/v1/messages"}
  - name: claude-openai
    paths: ["/claude-openai"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        llm_format: anthropic
        auth: {header_name: Authorization, header_value: "Bearer sk-openai-configured"}
        model:
          provider: openai
          name: gpt-4o-mini
          options: {upstream_url: "{FAKE}/v1/chat/completions"}
  - name: claude-mock
    paths: ["/claude-mock"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        llm_format: anthropic
        model: {provider: mock, name: mock-model}
  - name: openai-to-anthropic
    paths: ["/chat-anthropic"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {header_name: x-api-key, header_value: "sk-ant-configured"}
        model:
          provider: anthropic
          name: claude-3-5-haiku
          options: {upstream_url: "{FAKE}/v1/messages"}
)";

struct Agents {
  std::string dir = tempDir();
  std::string log = dir + "/access.log";
  Gateway gw{withFake(kConfig, fake().baseUrl()), {}, {"--access-log", log}};
  ~Agents() { removeTempDir(dir); }
};

Agents& agents() {
  static Agents instance;
  return instance;
}
Gateway& gw() {
  return agents().gw;
}

// The access-log lines of requests to `path`, in the order written.
std::vector<Json> logLines(const std::string& path) {
  std::vector<Json> lines;
  const std::string text = readFile(agents().log);
  for (std::size_t pos = 0, nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    const Json line = Json::parse(text.substr(pos, nl - pos), nullptr, false);
    if (line.is_object() && line.value("path", "") == path) lines.push_back(line);
  }
  return lines;
}

// The line of the next request to `path` (streamed or not): made before the request, read
// after it. A stream's line is written once its last byte has gone, so the line of an earlier
// stream may still arrive after `before` was taken: the wanted line is told apart by `stream`.
struct NextLog {
  std::string path;
  bool stream;
  std::size_t before = logLines(path).size();
  Json get() const {
    Json found;
    waitUntil(
        [&] {
          const auto lines = logLines(path);
          for (std::size_t i = before; i < lines.size(); ++i)
            if (lines[i].value("stream", !stream) == stream) found = lines[i];
          return !found.is_null();
        },
        5000);
    return found;
  }
};

// An Anthropic request as Claude Code writes it: system blocks with cache_control, a tool with
// cache_control, odd key order and spacing that a re-serialisation would change.
const std::string kClaudeBody =
    R"({"model":"claude-sonnet-4-5",  "max_tokens":512,)"
    R"("system":[{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}}],)"
    R"("messages":[{"role":"user","content":[{"type":"text","text":"hello there",)"
    R"("cache_control":{"type":"ephemeral"}}]}],)"
    R"("tools":[{"name":"Read","description":"Read a file","input_schema":{"type":"object",)"
    R"("properties":{"path":{"type":"string"}}},"cache_control":{"type":"ephemeral"}}],)"
    R"("thinking":{"type":"enabled","budget_tokens":1024},"metadata":{"user_id":"u-1"}})";

}  // namespace

TEST_CASE("llm_format anthropic, native: the body reaches Anthropic byte for byte") {
  fake().clear();
  const NextLog log{"/claude/v1/messages", false};
  auto r = gw().post("/claude/v1/messages?beta=true", kClaudeBody,
                     {{"x-api-key", "sk-client-key"},
                      {"anthropic-version", "2023-06-01"},
                      {"anthropic-beta", "prompt-caching-2024-07-31,fine-grained-tool-streaming"}});
  REQUIRE(r.status == 200);
  const Json up = fake().lastRequest();
  CHECK(up["path"] == "/v1/messages");
  CHECK(up["query"] == "beta=true");
  CHECK(up["body"] == kClaudeBody);  // cache_control, thinking, key order, spacing: untouched
  CHECK(up["headers"]["x-api-key"] == "sk-ant-configured");
  CHECK(up["headers"]["anthropic-beta"] == "prompt-caching-2024-07-31,fine-grained-tool-streaming");
  CHECK(up["headers"]["anthropic-version"] == "2023-06-01");

  // The answer is Anthropic's own, cache counts included; the log has them as OpenAI details.
  const Json body = r.json();
  CHECK(body["type"] == "message");
  CHECK(body["id"].get<std::string>().rfind("msg_fake", 0) == 0);
  CHECK(body["content"][0]["text"] == "Hello from fake anthropic: hello there");
  CHECK(body["usage"]["cache_read_input_tokens"] == 1000);
  CHECK(body["usage"]["cache_creation_input_tokens"] == 200);
  CHECK(r.header("X-Kong-LLM-Model") == "anthropic/claude-sonnet-4-5");
  const Json line = log.get();
  CHECK(line["usage"]["prompt_tokens"] == 1206);  // 6 words + 1000 read + 200 written
  CHECK(line["usage"]["prompt_tokens_details"]["cached_tokens"] == 1000);
  CHECK(line["usage"]["prompt_tokens_details"]["cache_write_tokens"] == 200);
}

TEST_CASE("llm_format anthropic, native: cache reads and writes are priced at their own rates") {
  const NextLog log{"/priced/v1/messages", false};
  REQUIRE(gw().post("/priced/v1/messages", kClaudeBody).status == 200);
  const Json line = log.get();
  const Json& usage = line["usage"];
  const long long prompt = usage["prompt_tokens"].get<long long>();
  const long long read = usage["prompt_tokens_details"]["cached_tokens"].get<long long>();
  const long long written = usage["prompt_tokens_details"]["cache_write_tokens"].get<long long>();
  const long long out = usage["completion_tokens"].get<long long>();
  REQUIRE(read == 1000);
  REQUIRE(written == 200);
  // Per 1M tokens: uncached input 3, cache reads 0.3, cache writes 3.75, output 15.
  const double expected =
      ((prompt - read - written) * 3 + read * 0.3 + written * 3.75 + out * 15) / 1e6;
  CHECK(line["cost"].get<double>() == doctest::Approx(expected).epsilon(1e-9));
  // Priced as plain input, the same call would cost more: the cache rates were applied.
  CHECK(line["cost"].get<double>() < (prompt * 3 + out * 15) / 1e6);
}

TEST_CASE("llm_format anthropic, native: a configured model replaces the client's, options fill") {
  fake().clear();
  auto r = gw().post("/pinned/v1/messages", kClaudeBody);
  REQUIRE(r.status == 200);
  std::string expected = kClaudeBody;
  expected.replace(expected.find("claude-sonnet-4-5"), 17, "claude-pinned");
  expected.insert(expected.size() - 1, R"(,"temperature":0.25)");
  CHECK(fake().lastRequest()["body"] == expected);
  CHECK(r.header("X-Kong-LLM-Model") == "anthropic/claude-pinned");
}

TEST_CASE("llm_format anthropic, native: the stream comes back as Anthropic sent it") {
  fake().clear();
  Json req = Json::parse(kClaudeBody);
  req["stream"] = true;
  const NextLog log{"/claude/v1/messages", true};
  auto s = gw().stream("/claude/v1/messages?beta=true", req.dump());
  REQUIRE(s.status == 200);
  CHECK(s.content_type.rfind("text/event-stream", 0) == 0);
  // Every event of the upstream, ping included, with its event: line; no [DONE] added.
  REQUIRE(!s.event_types.empty());
  CHECK(s.event_types.front() == "message_start");
  CHECK(s.event_types.back() == "message_stop");
  CHECK(std::find(s.event_types.begin(), s.event_types.end(), "ping") != s.event_types.end());
  CHECK(s.raw.find("[DONE]") == std::string::npos);
  CHECK(s.raw.find("event: message_start\ndata: {") == 0);
  const Json line = log.get();
  CHECK(line["stream"] == true);
  CHECK(line["usage"]["prompt_tokens_details"]["cached_tokens"] == 1000);
  CHECK(line["usage"]["completion_tokens"] == 6);
}

TEST_CASE("llm_format anthropic, native: count_tokens goes to Anthropic's endpoint") {
  fake().clear();
  auto r =
      gw().post("/claude/v1/messages/count_tokens?beta=true",
                R"({"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"a b c"}]})");
  REQUIRE(r.status == 200);
  CHECK(r.json() == Json{{"input_tokens", 3}});
  CHECK(fake().lastRequest()["path"] == "/v1/messages/count_tokens");
}

TEST_CASE("llm_format anthropic, native: errors are Anthropic's own") {
  fake().clear();
  auto r = gw().post("/claude/v1/messages", R"({"model":"fake-error-429","max_tokens":5,)"
                                            R"("messages":[{"role":"user","content":"x"}]})");
  CHECK(r.status == 429);
  CHECK(r.json()["type"] == "error");
  CHECK(r.json()["error"]["type"] == "rate_limit_error");
  CHECK(r.header("Retry-After") == "7");
  auto bad = gw().post("/claude/v1/messages", "not json");
  CHECK(bad.status == 400);
  CHECK(bad.json()["type"] == "error");
  CHECK(bad.json()["error"]["type"] == "invalid_request_error");
}

TEST_CASE("llm_format anthropic, native: a stream cut short ends with an Anthropic error event") {
  Json req = Json::parse(kClaudeBody);
  req["stream"] = true;
  req["model"] = "fake-clean-close";
  auto s = gw().stream("/claude/v1/messages", req.dump());
  REQUIRE(!s.event_types.empty());
  CHECK(s.event_types.back() == "error");
  CHECK(Json::parse(s.events.back())["error"]["message"].get<std::string>().find(
            "ended before its end marker") != std::string::npos);
}

TEST_CASE("llm_format anthropic to OpenAI: a Messages answer from a chat completion") {
  fake().clear();
  auto r = gw().post("/claude-openai/v1/messages", kClaudeBody);
  REQUIRE(r.status == 200);
  const Json body = r.json();
  CHECK(body["type"] == "message");
  CHECK(body["role"] == "assistant");
  CHECK(body["model"] == "claude-sonnet-4-5");  // the client's model echoed, as Claude Code wants
  CHECK(body["content"] ==
        Json::array({{{"type", "text"}, {"text", "Hello from fake openai: hello there"}}}));
  CHECK(body["stop_reason"] == "end_turn");
  CHECK(body["usage"]["output_tokens"] == 6);
  CHECK(r.header("X-Kong-LLM-Model") == "openai/gpt-4o-mini");

  const Json up = fake().lastRequest();
  CHECK(up["path"] == "/v1/chat/completions");
  CHECK(up["headers"]["authorization"] == "Bearer sk-openai-configured");
  CHECK(up["json"]["model"] == "gpt-4o-mini");
  CHECK(up["json"]["max_tokens"] == 512);
  CHECK(up["json"]["user"] == "u-1");
  CHECK(up["json"]["messages"][0]["role"] == "system");
  CHECK(up["json"]["messages"][0]["content"][0]["text"] == "You are Claude Code.");
  CHECK(up["json"]["tools"][0]["function"]["name"] == "Read");
  CHECK(up["json"]["tools"][0]["function"]["parameters"]["properties"].contains("path"));
}

TEST_CASE("llm_format anthropic to OpenAI: tool use and tool results, whole and streamed") {
  const Json tools =
      Json::array({{{"name", "get_weather"},
                    {"description", "Weather now"},
                    {"input_schema",
                     {{"type", "object"}, {"properties", {{"query", {{"type", "string"}}}}}}}}});
  Json req = {{"model", "claude-haiku"},
              {"max_tokens", 100},
              {"tools", tools},
              {"messages", Json::array({{{"role", "user"}, {"content", "please use tool now"}}})}};
  auto first = gw().post("/claude-openai/v1/messages", req.dump());
  REQUIRE(first.status == 200);
  const Json answer = first.json();
  CHECK(answer["stop_reason"] == "tool_use");
  REQUIRE(answer["content"].size() == 1);
  const Json use = answer["content"][0];
  CHECK(use["type"] == "tool_use");
  CHECK(use["name"] == "get_weather");
  CHECK(use["input"] == Json{{"query", "please use tool now"}});

  // The tool result goes back as Claude Code sends it: a user turn with a tool_result block.
  req["messages"].push_back({{"role", "assistant"}, {"content", answer["content"]}});
  req["messages"].push_back({{"role", "user"},
                             {"content", Json::array({{{"type", "tool_result"},
                                                       {"tool_use_id", use["id"]},
                                                       {"content", "sunny, 21C"}}})}});
  fake().clear();
  auto second = gw().post("/claude-openai/v1/messages", req.dump());
  REQUIRE(second.status == 200);
  CHECK(second.json()["content"][0]["text"] == "Hello from fake openai: tool result sunny, 21C");
  const Json msgs = fake().lastRequest()["json"]["messages"];
  REQUIRE(msgs.size() == 3);
  CHECK(msgs[1]["tool_calls"][0]["id"] == use["id"]);
  CHECK(msgs[2] == Json{{"role", "tool"}, {"tool_call_id", use["id"]}, {"content", "sunny, 21C"}});

  // Streamed: message_start, a tool_use block with its input as input_json_delta pieces,
  // message_delta with stop_reason and usage, message_stop.
  req["messages"] = Json::array({{{"role", "user"}, {"content", "please use tool now"}}});
  req["stream"] = true;
  auto s = gw().stream("/claude-openai/v1/messages", req.dump());
  REQUIRE(s.status == 200);
  REQUIRE(!s.event_types.empty());
  CHECK(s.event_types.front() == "message_start");
  CHECK(s.event_types.back() == "message_stop");
  std::string partial;
  Json delta;
  for (std::size_t i = 0; i < s.events.size(); ++i) {
    const Json e = Json::parse(s.events[i]);
    CHECK(e["type"] == s.event_types[i]);
    if (e["type"] == "content_block_start") {
      CHECK(e["content_block"]["type"] == "tool_use");
      CHECK(e["content_block"]["name"] == "get_weather");
    }
    if (e["type"] == "content_block_delta")
      partial += e["delta"]["partial_json"].get<std::string>();
    if (e["type"] == "message_delta") delta = e;
  }
  CHECK(Json::parse(partial) == Json{{"query", "please use tool now"}});
  CHECK(delta["delta"]["stop_reason"] == "tool_use");
  CHECK(delta["usage"]["output_tokens"] == 7);
  CHECK(delta["usage"]["input_tokens"] == 4);
}

TEST_CASE("llm_format anthropic to OpenAI: cached prompt tokens come back as cache reads") {
  const NextLog log{"/claude-openai/v1/messages", false};
  auto r = gw().post(
      "/claude-openai/v1/messages",
      R"({"model":"m","max_tokens":50,"messages":[{"role":"user","content":"cache me please"}]})");
  REQUIRE(r.status == 200);
  const Json usage = r.json()["usage"];
  CHECK(usage["cache_read_input_tokens"] == 3);
  CHECK(usage["input_tokens"] == 0);  // 3 prompt words, all of them read from the cache
  const Json line = log.get();
  CHECK(line["usage"]["prompt_tokens_details"]["cached_tokens"] == 3);
  CHECK(line["usage"]["completion_tokens_details"]["reasoning_tokens"] == 2);
}

TEST_CASE("llm_format anthropic to OpenAI: count_tokens is estimated without an upstream call") {
  fake().clear();
  auto r = gw().post(
      "/claude-openai/v1/messages/count_tokens",
      R"({"model":"m","system":"abcdefgh","messages":[{"role":"user","content":"abcd"}]})");
  REQUIRE(r.status == 200);
  CHECK(r.json() == Json{{"input_tokens", 6}});  // 12 characters / 4 + 3 for the message
  CHECK(fake().requests().empty());
}

TEST_CASE("llm_format anthropic: a bad request is Anthropic's 400 naming the field") {
  auto r = gw().post("/claude-openai/v1/messages",
                     R"({"model":"m","max_tokens":5,"messages":[{"role":"robot","content":"x"}]})");
  CHECK(r.status == 400);
  CHECK(r.json() ==
        Json{{"type", "error"},
             {"error",
              {{"type", "invalid_request_error"}, {"message", "role must be user or assistant"}}}});
  auto server_tool = gw().post(
      "/claude-openai/v1/messages",
      R"({"model":"m","max_tokens":5,"tools":[{"type":"web_search_20250305","name":"web_search"}],)"
      R"("messages":[{"role":"user","content":"x"}]})");
  CHECK(server_tool.status == 400);
  CHECK(server_tool.json()["error"]["message"].get<std::string>().find("server tool") !=
        std::string::npos);
}

TEST_CASE("llm_format anthropic to the mock: text and a streamed tool call offline") {
  auto r = gw().post(
      "/claude-mock/v1/messages",
      R"({"model":"claude-x","max_tokens":50,"messages":[{"role":"user","content":"hi"}]})");
  REQUIRE(r.status == 200);
  CHECK(r.json()["model"] == "claude-x");
  CHECK(r.json()["content"][0]["text"].get<std::string>().find("You said: hi") !=
        std::string::npos);
}

TEST_CASE("OpenAI chat to Anthropic: cache_control on parts and tools reaches the Messages API") {
  fake().clear();
  const Json req = {
      {"messages",
       Json::array(
           {{{"role", "system"},
             {"content", Json::array({{{"type", "text"},
                                       {"text", "long system prompt"},
                                       {"cache_control", {{"type", "ephemeral"}}}}})}},
            {{"role", "user"}, {"content", "hello"}, {"cache_control", {{"type", "ephemeral"}}}}})},
      {"tools", Json::array({{{"type", "function"},
                              {"function", {{"name", "f"}, {"parameters", {{"type", "object"}}}}},
                              {"cache_control", {{"type", "ephemeral"}}}}})}};
  auto r = gw().post("/chat-anthropic", req.dump());
  REQUIRE(r.status == 200);
  const Json up = fake().lastRequest()["json"];
  CHECK(up["system"] == Json::array({{{"type", "text"},
                                      {"text", "long system prompt"},
                                      {"cache_control", {{"type", "ephemeral"}}}}}));
  CHECK(up["messages"][0]["content"] ==
        Json::array(
            {{{"type", "text"}, {"text", "hello"}, {"cache_control", {{"type", "ephemeral"}}}}}));
  CHECK(up["tools"][0]["cache_control"] == Json{{"type", "ephemeral"}});
  // The cache counts come back in OpenAI's shape: cached_tokens plus cache_write_tokens.
  const Json usage = r.json()["usage"];
  CHECK(usage["prompt_tokens"] == 1204);
  CHECK(usage["prompt_tokens_details"]["cached_tokens"] == 1000);
  CHECK(usage["prompt_tokens_details"]["cache_write_tokens"] == 200);
}
