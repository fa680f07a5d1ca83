// route_type preserve made faithful (the client's method, path, query and body reach the
// provider; the answer and any stream come back byte for byte: SSE with event: lines, NDJSON,
// AWS event-stream frames; no [DONE] expected), and the model list (GET /v1/models for the
// gateway, GET <route>/models for one route, in the route's API shape).
#include <doctest/doctest.h>

#include "integration/gateway_harness.hpp"
#include "proxy/aws_eventstream.hpp"

using namespace aigw::test;
using Json = nlohmann::json;

namespace {

FakeProvider& fake() {
  static FakeProvider instance(FAKE_PROVIDER_BINARY);
  return instance;
}

const char* kPreserve = R"(_format_version: "3.0"
services:
- name: preserved
  url: {FAKE}
  routes:
  - name: preserve-openai
    paths: ["/v1/models", "/v1/embeddings"]
    plugins:
    - name: ai-proxy
      config:
        route_type: preserve
        auth: {header_name: Authorization, header_value: "Bearer sk-configured"}
        model: {provider: openai, options: {upstream_url: "{FAKE}"}}
  - name: preserve-anthropic
    paths: ["/v1/messages"]
    plugins:
    - name: ai-proxy
      config:
        route_type: preserve
        auth: {header_name: x-api-key, header_value: "sk-ant-configured"}
        model: {provider: anthropic, options: {upstream_url: "{FAKE}"}}
  - name: preserve-ollama
    paths: ["/api/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: preserve
        model: {provider: ollama, options: {upstream_url: "{FAKE}"}}
  - name: preserve-bedrock
    paths: ["/model"]
    plugins:
    - name: ai-proxy
      config:
        route_type: preserve
        auth: {aws_access_key_id: AKIDPRESERVE, aws_secret_access_key: preserve-secret}
        model:
          provider: bedrock
          options: {upstream_url: "{FAKE}", bedrock: {aws_region: us-east-1}}
)";

Gateway& preserved() {
  static Gateway instance(withFake(kPreserve, fake().baseUrl()));
  return instance;
}

// What the fake answers when called directly, for byte comparisons.
std::string direct(const std::string& method, const std::string& path, const std::string& body,
                   const httplib::Headers& headers) {
  httplib::Client c("127.0.0.1", fake().port());
  auto r = method == "GET" ? c.Get(path.c_str(), headers)
                           : c.Post(path.c_str(), headers, body, "application/json");
  return r ? r->body : std::string();
}

}  // namespace

TEST_CASE("preserve: a GET stays a GET, query and all, and its answer comes back unchanged") {
  fake().clear();
  httplib::Client c("127.0.0.1", preserved().port());
  auto r = c.Get("/v1/models?limit=2", {{"Authorization", "Bearer sk-client"}});
  REQUIRE(r);
  CHECK(r->status == 200);
  const Json up = fake().lastRequest();
  CHECK(up["method"] == "GET");
  CHECK(up["path"] == "/v1/models");
  CHECK(up["query"] == "limit=2");
  CHECK(up["body"] == "");
  CHECK(up["headers"]["authorization"] == "Bearer sk-configured");
  CHECK(r->body == direct("GET", "/v1/models", "", {{"Authorization", "Bearer k"}}));
}

TEST_CASE("preserve: the body goes up and the answer comes back byte for byte") {
  fake().clear();
  const std::string body =
      R"({ "input" : ["embed me"],"model":"text-embedding-3-small" ,"encoding_format":"float"})";
  auto r = preserved().post("/v1/embeddings", body);
  REQUIRE(r.status == 200);
  CHECK(fake().lastRequest()["body"] == body);
  CHECK(r.body == direct("POST", "/v1/embeddings", body, {{"Authorization", "Bearer k"}}));
  CHECK(r.header("Content-Type") == "application/json");
}

TEST_CASE("preserve: an Anthropic stream comes back event for event, no [DONE] added") {
  const std::string body =
      R"({"model":"claude-x","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"one two"}]})";
  auto s = preserved().stream("/v1/messages", body);
  REQUIRE(s.status == 200);
  CHECK(s.complete);
  CHECK(s.event_types == std::vector<std::string>{
                             "message_start", "content_block_start", "ping", "content_block_delta",
                             "content_block_delta", "content_block_delta", "content_block_delta",
                             "content_block_delta", "content_block_delta", "content_block_stop",
                             "message_delta", "message_stop"});
  CHECK(s.raw.find("[DONE]") == std::string::npos);
  CHECK(fake().lastRequest()["body"] == body);
}

TEST_CASE("preserve: NDJSON and AWS event streams come back as sent") {
  auto s = preserved().stream(
      "/api/chat", R"({"model":"llama3","messages":[{"role":"user","content":"hi there"}]})");
  REQUIRE(s.status == 200);
  CHECK(s.content_type.rfind("application/x-ndjson", 0) == 0);
  CHECK(s.complete);
  std::size_t lines = 0;
  bool done = false;
  for (std::size_t pos = 0, nl; (nl = s.raw.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    const Json line = Json::parse(s.raw.substr(pos, nl - pos));
    ++lines;
    done = line.value("done", false);
  }
  CHECK(lines > 2);
  CHECK(done);

  fake().clear();
  auto b = preserved().stream("/model/anthropic.claude-3-haiku-20240307-v1:0/converse-stream",
                              R"({"messages":[{"role":"user","content":[{"text":"hi there"}]}]})");
  REQUIRE(b.status == 200);
  CHECK(b.content_type.rfind("application/vnd.amazon.eventstream", 0) == 0);
  CHECK(b.complete);
  std::vector<std::string> names;
  auto framer = aigw::proxy::newAwsEventStreamFramer();
  REQUIRE(framer->feed(b.raw, [&](std::string_view event, std::string_view) {
    names.emplace_back(event);
    return aigw::Status{};
  }));
  REQUIRE(names.size() > 3);
  CHECK(names.front() == "messageStart");
  CHECK(names.back() == "metadata");
  const Json up = fake().lastRequest();
  CHECK(up["path"] == "/model/anthropic.claude-3-haiku-20240307-v1:0/converse-stream");
  CHECK(up["headers"]["authorization"].get<std::string>().rfind(
            "AWS4-HMAC-SHA256 Credential=AKIDPRESERVE/", 0) == 0);
}

TEST_CASE("preserve: a stream that ends early ends as the upstream ended it") {
  // No end marker is required of a preserved stream: a clean end is passed on as one.
  auto clean = preserved().stream(
      "/v1/messages",
      R"({"model":"fake-clean-close","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"a b"}]})");
  CHECK(clean.status == 200);
  CHECK(clean.complete);
  CHECK(clean.event_types.back() == "message_delta");  // message_stop left out
  // A dropped upstream is not made to look complete: the response is cut short too.
  auto cut = preserved().stream(
      "/v1/messages",
      R"({"model":"fake-truncate","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"a b"}]})");
  CHECK(cut.status == 200);
  CHECK_FALSE(cut.complete);
}

namespace {

const char* kModels = R"(_format_version: "3.0"
routes:
- name: chat-a
  paths: ["/chat-a"]
  plugins:
  - name: ai-proxy
    config: {route_type: llm/v1/chat, model: {provider: mock, name: mock-a}}
- name: chat-b
  paths: ["/chat-b"]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "http://127.0.0.1:9/"}}
- name: chat-a-again
  paths: ["/chat-a2"]
  plugins:
  - name: ai-proxy
    config: {route_type: llm/v1/chat, model: {provider: mock, name: mock-a}}
- name: claude
  paths: ["/claude"]
  plugins:
  - name: ai-proxy
    config: {route_type: llm/v1/chat, llm_format: anthropic, model: {provider: mock, name: claude-mock}}
- name: any-model
  paths: ["/any"]
  plugins:
  - name: ai-proxy
    config: {route_type: llm/v1/chat, model: {provider: mock}}
)";

}  // namespace

TEST_CASE("models: GET /v1/models lists every configured model, OpenAI's shape") {
  Gateway gw(kModels);
  auto r = gw.get("/v1/models");
  REQUIRE(r.status == 200);
  const Json list = r.json();
  CHECK(list["object"] == "list");
  std::vector<std::string> ids;
  for (const auto& m : list["data"]) {
    ids.push_back(m["id"]);
    CHECK(m["object"] == "model");
  }
  CHECK(ids == std::vector<std::string>{"mock-a", "gpt-4o-mini", "claude-mock"});
  CHECK(list["data"][1]["owned_by"] == "openai");

  auto one = gw.get("/v1/models/gpt-4o-mini");
  CHECK(one.status == 200);
  CHECK(one.json()["id"] == "gpt-4o-mini");
  auto missing = gw.get("/v1/models/gpt-5");
  CHECK(missing.status == 404);
  CHECK(missing.json()["error"]["code"] == "model_not_found");

  // A route's own list: its model, in its client's API shape.
  auto route = gw.get("/chat-b/v1/models");
  REQUIRE(route.status == 200);
  CHECK(route.json()["data"].size() == 1);
  CHECK(route.json()["data"][0]["id"] == "gpt-4o-mini");
  auto claude = gw.get("/claude/v1/models");
  REQUIRE(claude.status == 200);
  CHECK(claude.json()["data"][0] == Json{{"type", "model"},
                                         {"id", "claude-mock"},
                                         {"display_name", "claude-mock"},
                                         {"created_at", "1970-01-01T00:00:00Z"}});
  CHECK(claude.json()["has_more"] == false);
  CHECK(gw.get("/any/v1/models").json()["data"].empty());
  // Anything else that matches no route is still Kong's 404.
  CHECK(gw.get("/v2/models").status == 404);
}
