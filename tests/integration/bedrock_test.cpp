// The real aigw binary against the fake's Bedrock dialect: Converse and ConverseStream (binary
// event stream frames) translated to OpenAI, SigV4 headers present, credentials from config and
// from the environment, every tool call surviving a round trip, Bedrock's error shape,
// truncation.
#include <doctest/doctest.h>

#include <ctime>

#include "integration/gateway_harness.hpp"
#include "providers/sigv4.hpp"

using namespace aigw::test;
using Json = nlohmann::json;

namespace {

FakeProvider& fake() {
  static FakeProvider instance(FAKE_PROVIDER_BINARY);
  return instance;
}

const char* kConfig = R"(_format_version: "3.0"
services:
- name: bedrock
  url: {FAKE}
  routes:
  - name: bedrock-chat
    paths: ["/bedrock/chat"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth: {aws_access_key_id: AKIDCONFIG, aws_secret_access_key: config-secret}
        model:
          provider: bedrock
          name: "anthropic.claude-3-haiku-20240307-v1:0"
          options: {max_tokens: 64, upstream_url: "{FAKE}", bedrock: {aws_region: us-west-2}}
  - name: bedrock-any
    paths: ["/bedrock/any"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        model: {provider: bedrock, options: {upstream_url: "{FAKE}"}}
  - name: bedrock-error
    paths: ["/bedrock/error"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        model: {provider: bedrock, name: m1, options: {upstream_url: "{FAKE}/scenario/fake-error-429"}}
  - name: bedrock-truncate
    paths: ["/bedrock/truncate"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        model: {provider: bedrock, name: m1, options: {upstream_url: "{FAKE}/scenario/fake-truncate"}}
  - name: bedrock-completions
    paths: ["/bedrock/completions"]
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/completions
        model: {provider: bedrock, name: m1, options: {upstream_url: "{FAKE}"}}
)";

// Credentials for routes without auth come from the environment, as from an AWS profile.
Gateway& gw() {
  static Gateway instance(withFake(kConfig, fake().baseUrl()),
                          {{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                           {"AWS_SECRET_ACCESS_KEY", "env-secret"},
                           {"AWS_SESSION_TOKEN", "env-session-token"},
                           {"AWS_REGION", "eu-central-1"}});
  return instance;
}

const std::string kHello =
    R"({"messages":[{"role":"system","content":"be kind"},{"role":"system","content":"be brief"},
      {"role":"user","content":"hello there"}]})";

const char* kTools = R"([
  {"type":"function","function":{"name":"get_weather","description":"Weather now",
    "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},
  {"type":"function","function":{"name":"get_time",
    "parameters":{"type":"object","properties":{"tz":{"type":"string"}}}}}])";

}  // namespace

TEST_CASE("bedrock: chat becomes a signed Converse call; the answer is OpenAI's") {
  fake().clear();
  auto r = gw().post("/bedrock/chat", kHello, {{"Authorization", "Bearer client-key"}});
  REQUIRE(r.status == 200);
  const Json body = r.json();
  CHECK(body["object"] == "chat.completion");
  CHECK(body["model"] == "anthropic.claude-3-haiku-20240307-v1:0");
  CHECK(body["choices"][0]["message"] ==
        Json::parse(R"({"role":"assistant","content":"Hello from fake bedrock: hello there"})"));
  CHECK(body["choices"][0]["finish_reason"] == "stop");
  CHECK(body["usage"] ==
        Json::parse(R"({"prompt_tokens":6,"completion_tokens":6,"total_tokens":12})"));
  CHECK(r.header("X-Kong-LLM-Model") == "bedrock/anthropic.claude-3-haiku-20240307-v1:0");

  const Json up = fake().lastRequest();
  // The fake records the decoded path; the id is sent as ...v1%3A0 (bedrock_test unit).
  CHECK(up["path"] == "/model/anthropic.claude-3-haiku-20240307-v1:0/converse");
  const std::string auth = up["headers"].value("authorization", "");
  CHECK(auth.rfind("AWS4-HMAC-SHA256 Credential=AKIDCONFIG/", 0) == 0);  // never the client's
  CHECK(auth.find("/us-west-2/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=") !=
        std::string::npos);
  CHECK(up["headers"].value("x-amz-date", "").size() == 16);
  CHECK_FALSE(up["headers"].contains("x-amz-security-token"));  // config keys: no env token
  CHECK(up["json"]["system"] == Json::parse(R"([{"text":"be kind"},{"text":"be brief"}])"));
  CHECK(up["json"]["messages"] ==
        Json::parse(R"([{"role":"user","content":[{"text":"hello there"}]}])"));
  CHECK(up["json"]["inferenceConfig"] == Json::parse(R"({"maxTokens":64})"));

  // The signature is right for what arrived: recomputed from the received Host, body and date.
  const std::string date = up["headers"]["x-amz-date"];
  std::tm tm{};
  REQUIRE(strptime(date.c_str(), "%Y%m%dT%H%M%SZ", &tm));
  aigw::providers::sigv4::Request received;
  received.path = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";
  received.headers = {{"Host", up["headers"]["host"]}};
  const std::string payload = up["body"];
  received.payload = payload;
  CHECK(auth == aigw::providers::sigv4::sign(received, {"AKIDCONFIG", "config-secret", ""},
                                             "us-west-2", "bedrock",
                                             std::chrono::system_clock::from_time_t(timegm(&tm)))
                    .authorization);
}

TEST_CASE("bedrock: streaming reads the binary event stream and ends in usage and [DONE]") {
  fake().clear();
  auto s = gw().stream("/bedrock/chat",
                       R"({"messages":[{"role":"user","content":"one two three"}],"stream":true})");
  CHECK(s.status == 200);
  CHECK(s.content_type.rfind("text/event-stream", 0) == 0);
  REQUIRE(s.done());
  CHECK(s.text() == "Hello from fake bedrock: one two three");
  REQUIRE(s.events.size() >= 4);
  for (std::size_t i = 0; i + 1 < s.events.size(); ++i) {
    const Json c = Json::parse(s.events[i]);
    CHECK(c["object"] == "chat.completion.chunk");
    CHECK(c["id"] == Json::parse(s.events[0])["id"]);
    CHECK(c["created"].is_number());
    CHECK(c["model"] == "anthropic.claude-3-haiku-20240307-v1:0");
  }
  const Json last = Json::parse(s.events[s.events.size() - 2]);
  CHECK(last["choices"][0]["finish_reason"] == "stop");
  CHECK(last["usage"] ==
        Json::parse(R"({"prompt_tokens":3,"completion_tokens":7,"total_tokens":10})"));
  const Json up = fake().lastRequest();
  CHECK(up["path"] == "/model/anthropic.claude-3-haiku-20240307-v1:0/converse-stream");
  CHECK(up["headers"]["accept"] == "application/vnd.amazon.eventstream");
}

TEST_CASE("bedrock: a tool call round trip keeps every call, streamed or not") {
  fake().clear();
  Json ask = {{"model", "meta.llama3-70b-instruct-v1:0"},
              {"messages", {{{"role", "user"}, {"content", "please use tool for Paris"}}}},
              {"tools", Json::parse(kTools)},
              {"tool_choice", "auto"}};
  auto r = gw().post("/bedrock/any", ask.dump());
  REQUIRE(r.status == 200);
  const Json choice = r.json()["choices"][0];
  CHECK(choice["finish_reason"] == "tool_calls");
  CHECK(choice["message"]["content"] == "Calling tools.");
  const Json calls = choice["message"]["tool_calls"];
  REQUIRE(calls.size() == 2);
  CHECK(calls[0]["id"] == "tooluse_1");
  CHECK(calls[0]["function"]["name"] == "get_weather");
  CHECK(calls[1]["function"]["name"] == "get_time");
  CHECK(Json::parse(calls[1]["function"]["arguments"].get<std::string>()) ==
        Json{{"query", "please use tool for Paris"}});
  Json up = fake().lastRequest();
  CHECK(up["path"] == "/model/meta.llama3-70b-instruct-v1:0/converse");
  // Credentials, session token and region from the environment.
  CHECK(up["headers"].value("authorization", "").rfind("AWS4-HMAC-SHA256 Credential=AKIDENV/", 0) ==
        0);
  CHECK(up["headers"].value("authorization", "").find("/eu-central-1/bedrock/aws4_request") !=
        std::string::npos);
  CHECK(up["headers"]["x-amz-security-token"] == "env-session-token");
  CHECK(up["json"]["toolConfig"]["toolChoice"] == Json::parse(R"({"auto":{}})"));
  CHECK(up["json"]["toolConfig"]["tools"].size() == 2);

  Json answer = ask;
  answer["messages"].push_back(choice["message"]);
  answer["messages"].push_back(
      {{"role", "tool"}, {"tool_call_id", calls[0]["id"]}, {"content", R"({"temp":21})"}});
  answer["messages"].push_back(
      {{"role", "tool"}, {"tool_call_id", calls[1]["id"]}, {"content", "noon"}});
  auto r2 = gw().post("/bedrock/any", answer.dump());
  REQUIRE(r2.status == 200);
  CHECK(
      r2.json()["choices"][0]["message"]["content"] ==
      R"(Hello from fake bedrock: tooluse_1 returned [{"json":{"temp":21}}]; tooluse_2 returned [{"text":"noon"}])");
  up = fake().lastRequest();
  REQUIRE(up["json"]["messages"].size() == 3);
  CHECK(up["json"]["messages"][1] == Json::parse(R"({"role":"assistant","content":[
      {"text":"Calling tools."},
      {"toolUse":{"toolUseId":"tooluse_1","name":"get_weather","input":{"query":"please use tool for Paris"}}},
      {"toolUse":{"toolUseId":"tooluse_2","name":"get_time","input":{"query":"please use tool for Paris"}}}]})"));
  CHECK(up["json"]["messages"][2]["role"] == "user");
  CHECK(up["json"]["messages"][2]["content"].size() == 2);

  Json streamed = ask;
  streamed["stream"] = true;
  auto s = gw().stream("/bedrock/any", streamed.dump());
  REQUIRE(s.done());
  CHECK(s.text() == "Calling tools.");
  std::map<int, std::string> names, args;
  std::string finish;
  for (const auto& e : s.events) {
    if (e == "[DONE]") continue;
    const Json c = Json::parse(e);
    const Json& ch = c["choices"][0];
    if (ch["finish_reason"].is_string()) finish = ch["finish_reason"];
    for (const auto& tc : ch["delta"].value("tool_calls", Json::array())) {
      const int index = tc["index"];
      if (tc.contains("id")) names[index] = tc["function"]["name"];
      args[index] += tc["function"].value("arguments", "");
    }
  }
  CHECK(finish == "tool_calls");
  CHECK(names == std::map<int, std::string>{{0, "get_weather"}, {1, "get_time"}});
  CHECK(Json::parse(args[1]) == Json{{"query", "please use tool for Paris"}});
}

TEST_CASE(
    "bedrock: throttling keeps 429 and the message; truncation is an error; then all is well") {
  auto e = gw().post("/bedrock/error", kHello);
  CHECK(e.status == 429);
  CHECK(e.header("Retry-After") == "7");
  const Json err = e.json()["error"];
  CHECK(err["message"] == "fake upstream error 429");
  CHECK(err["type"] == "throttling_exception");
  CHECK(err["code"] == "ThrottlingException");

  auto t = gw().stream("/bedrock/truncate",
                       R"({"messages":[{"role":"user","content":"x y z"}],"stream":true})");
  CHECK(t.status == 200);
  REQUIRE_FALSE(t.events.empty());
  CHECK_FALSE(t.done());
  const Json last = Json::parse(t.events.back());
  REQUIRE(last.contains("error"));
  CHECK(last["error"]["message"].get<std::string>().rfind("upstream bedrock", 0) == 0);

  auto bad = gw().post("/bedrock/chat", R"({"messages":[{"role":"user","content":"x"}],
      "response_format":{"type":"json_object"}})");
  CHECK(bad.status == 400);
  CHECK(bad.json()["error"]["param"] == "response_format");

  CHECK(gw().post("/bedrock/chat", kHello).status == 200);
}

TEST_CASE("bedrock: completions are one user turn; the answer is a text_completion") {
  fake().clear();
  auto c = gw().post("/bedrock/completions", R"({"prompt":"say hi","max_tokens":5})");
  REQUIRE(c.status == 200);
  CHECK(c.json()["object"] == "text_completion");
  CHECK(c.json()["choices"][0]["text"] == "Hello from fake bedrock: say hi");
  const Json up = fake().lastRequest();
  CHECK(up["json"]["messages"] ==
        Json::parse(R"([{"role":"user","content":[{"text":"say hi"}]}])"));
  CHECK(up["json"]["inferenceConfig"] == Json::parse(R"({"maxTokens":5})"));
}
