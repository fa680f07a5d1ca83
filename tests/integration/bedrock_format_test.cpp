// llm_format: bedrock (the AWS SDKs' Converse / ConverseStream) through the real binary: native
// pass-through to the bedrock provider, the model and the operation taken from the client's
// path, the body byte for byte and signed with the route's credentials, the binary event stream
// relayed as sent with its usage logged, errors in Bedrock's shape, and the config refusing a
// provider that cannot take the Converse API.
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

const char* kConfig = R"(_format_version: "3.0"
routes:
- name: bedrock-native
  paths: ["/bedrock"]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      llm_format: bedrock
      auth: {aws_access_key_id: AKIDNATIVE, aws_secret_access_key: native-secret}
      model:
        provider: bedrock
        options: {upstream_url: "{FAKE}", bedrock: {aws_region: us-west-2}}
- name: bedrock-throttled
  paths: ["/throttled"]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      llm_format: bedrock
      auth: {aws_access_key_id: AKIDNATIVE, aws_secret_access_key: native-secret}
      model:
        provider: bedrock
        options: {upstream_url: "{FAKE}/scenario/fake-error-429", bedrock: {aws_region: us-west-2}}
- name: bedrock-pinned
  paths: ["/pinned"]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      llm_format: bedrock
      auth: {aws_access_key_id: AKIDNATIVE, aws_secret_access_key: native-secret}
      model:
        provider: bedrock
        name: pinned-model
        options: {upstream_url: "{FAKE}", bedrock: {aws_region: us-west-2}}
)";

// Key order and spacing a re-serialisation would change; Converse-only fields.
const std::string kBody =
    R"({"messages":[{"role":"user","content":[{"text":"hello there"}]}],  )"
    R"("inferenceConfig":{"maxTokens":64},"additionalModelRequestFields":{"top_k":5}})";
const std::string kModelPath = "/model/anthropic.claude-3-haiku-20240307-v1%3A0";

std::vector<std::string> eventNames(const std::string& raw) {
  std::vector<std::string> names;
  auto framer = aigw::proxy::newAwsEventStreamFramer();
  const bool ok =
      static_cast<bool>(framer->feed(raw, [&](std::string_view event, std::string_view) {
        names.emplace_back(event);
        return aigw::Status{};
      }));
  CHECK(ok);
  return names;
}

}  // namespace

TEST_CASE("llm_format bedrock: native pass-through to Bedrock") {
  const std::string dir = tempDir();
  const std::string log = dir + "/access.log";
  Gateway gw(withFake(kConfig, fake().baseUrl()), {}, {"--access-log", log});

  SUBCASE("converse: the body reaches Bedrock byte for byte, signed, the model from the path") {
    fake().clear();
    auto r = gw.post("/bedrock" + kModelPath + "/converse", kBody,
                     {{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDCLIENT/x"}});
    INFO(r.body);
    REQUIRE(r.status == 200);
    const Json up = fake().lastRequest();
    CHECK(up["path"] == "/model/anthropic.claude-3-haiku-20240307-v1:0/converse");
    CHECK(up["body"] == kBody);
    CHECK(up["headers"]["authorization"].get<std::string>().rfind(
              "AWS4-HMAC-SHA256 Credential=AKIDNATIVE/", 0) == 0);
    const Json body = r.json();
    CHECK(body["output"]["message"]["content"][0]["text"] ==
          "Hello from fake bedrock: hello there");
    CHECK(r.header("X-Kong-LLM-Model") == "bedrock/anthropic.claude-3-haiku-20240307-v1:0");
    std::string text;
    REQUIRE(waitUntil(
        [&] {
          text = readFile(log);
          return text.find("/converse") != std::string::npos;
        },
        5000));
    const Json entry = Json::parse(text.substr(0, text.find('\n')));
    CHECK(entry["usage"]["prompt_tokens"] == body["usage"]["inputTokens"]);
    CHECK(entry["usage"]["completion_tokens"] == body["usage"]["outputTokens"]);
  }

  SUBCASE("converse-stream: the binary event stream comes back as Bedrock sent it") {
    fake().clear();
    auto s = gw.stream("/bedrock" + kModelPath + "/converse-stream", kBody);
    REQUIRE(s.status == 200);
    CHECK(s.content_type.rfind("application/vnd.amazon.eventstream", 0) == 0);
    CHECK(s.complete);
    const auto names = eventNames(s.raw);
    REQUIRE(names.size() > 3);
    CHECK(names.front() == "messageStart");
    CHECK(names.back() == "metadata");
    const Json up = fake().lastRequest();
    CHECK(up["path"] == "/model/anthropic.claude-3-haiku-20240307-v1:0/converse-stream");
    CHECK(up["headers"]["accept"] == "application/vnd.amazon.eventstream");
    CHECK(up["body"] == kBody);
  }

  SUBCASE("a configured model replaces the path's") {
    fake().clear();
    auto r = gw.post("/pinned" + kModelPath + "/converse", kBody);
    REQUIRE(r.status == 200);
    CHECK(fake().lastRequest()["path"] == "/model/pinned-model/converse");
  }

  SUBCASE("errors are Bedrock's own shape") {
    auto bad = gw.post("/bedrock" + kModelPath + "/invoke", kBody);
    CHECK(bad.status == 400);
    CHECK(bad.json()["message"].get<std::string>().find("/converse") != std::string::npos);
    // Bedrock's own error (no messages), relayed as the provider sent it.
    auto upstream = gw.post("/bedrock" + kModelPath + "/converse", "{}");
    CHECK(upstream.status == 400);
    CHECK(upstream.json().contains("message"));
    auto throttled = gw.post("/throttled" + kModelPath + "/converse", kBody);
    CHECK(throttled.status == 429);
    CHECK(throttled.json()["message"] == "fake upstream error 429");
    CHECK(throttled.header("x-amzn-ErrorType").rfind("ThrottlingException", 0) == 0);
  }
  removeTempDir(dir);
}

TEST_CASE("llm_format bedrock: another provider is a config error") {
  const std::string dir = tempDir();
  writeFile(dir + "/c.yaml",
            "_format_version: \"3.0\"\nroutes:\n- name: r\n  paths: [/r]\n  plugins:\n"
            "  - name: ai-proxy\n    config:\n      route_type: llm/v1/chat\n"
            "      llm_format: bedrock\n      model: {provider: anthropic, name: claude}\n");
  Process p({AIGW_BINARY, "validate", dir + "/c.yaml"});
  REQUIRE(p.wait(20000));
  INFO(p.log());
  CHECK(p.log().find("config.llm_format: llm_format bedrock is passed through to the bedrock "
                     "provider only") != std::string::npos);
  removeTempDir(dir);
}
