// llm_format: cohere (Cohere's SDKs, v2 Chat API) through the real binary: native pass-through
// to the cohere provider, the body byte for byte apart from options it left out, the SSE stream
// relayed as sent with its usage logged, errors in Cohere's shape, and the config refusing a
// provider that cannot take Cohere's API.
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
routes:
- name: cohere-native
  paths: ["/cohere"]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      llm_format: cohere
      auth: {header_name: Authorization, header_value: "Bearer co-configured"}
      model:
        provider: cohere
        options: {temperature: 0.5, upstream_url: "{FAKE}/v2/chat"}
)";

// Key order and spacing a re-serialisation would change; v2-only fields.
const std::string kBody =
    R"({"model":"command-r-plus",  "messages":[{"role":"user","content":"hello there"}],)"
    R"("safety_mode":"CONTEXTUAL","citation_options":{"mode":"FAST"}})";

}  // namespace

TEST_CASE("llm_format cohere: native pass-through to Cohere") {
  const std::string dir = tempDir();
  const std::string log = dir + "/access.log";
  Gateway gw(withFake(kConfig, fake().baseUrl()), {}, {"--access-log", log});

  SUBCASE("the body reaches Cohere as sent, options it left out filled in") {
    fake().clear();
    auto r = gw.post("/cohere/v2/chat", kBody, {{"Authorization", "Bearer client-key"}});
    INFO(r.body);
    REQUIRE(r.status == 200);
    const Json up = fake().lastRequest();
    CHECK(up["path"] == "/v2/chat");
    std::string expected = kBody;
    expected.insert(expected.size() - 1, R"(,"temperature":0.5)");
    CHECK(up["body"] == expected);
    CHECK(up["headers"]["authorization"] == "Bearer co-configured");
    const Json body = r.json();
    CHECK(body["message"]["content"][0]["text"] == "Hello from fake cohere: hello there");
    std::string text;
    REQUIRE(waitUntil(
        [&] {
          text = readFile(log);
          return text.find("/cohere/v2/chat") != std::string::npos;
        },
        5000));
    const Json entry = Json::parse(text.substr(0, text.find('\n')));
    // Cohere bills billed_units (tokens counts the prompt template too).
    CHECK(entry["usage"]["prompt_tokens"] == body["usage"]["billed_units"]["input_tokens"]);
  }

  SUBCASE("a stream comes back event for event, no [DONE] added") {
    fake().clear();
    Json req = Json::parse(kBody);
    req["stream"] = true;
    auto s = gw.stream("/cohere/v2/chat", req.dump());
    REQUIRE(s.status == 200);
    CHECK(s.content_type.rfind("text/event-stream", 0) == 0);
    CHECK(s.raw.find("[DONE]") == std::string::npos);
    REQUIRE(!s.event_types.empty());
    CHECK(s.event_types.front() == "message-start");
    CHECK(s.event_types.back() == "message-end");
  }

  SUBCASE("errors are Cohere's own shape") {
    auto other = gw.post("/cohere/v2/chat",
                         R"({"model":"command-a","messages":[{"role":"user","content":"x"}]})");
    CHECK(other.status == 200);  // no configured model: the client's is used
    auto bad = gw.post("/cohere/v2/chat", "not json");
    CHECK(bad.status == 400);
    CHECK(bad.json()["message"].get<std::string>().find("JSON") != std::string::npos);
  }
  removeTempDir(dir);
}

TEST_CASE("llm_format cohere: another provider is a config error") {
  const std::string dir = tempDir();
  writeFile(dir + "/c.yaml",
            "_format_version: \"3.0\"\nroutes:\n- name: r\n  paths: [/r]\n  plugins:\n"
            "  - name: ai-proxy\n    config:\n      route_type: llm/v1/chat\n"
            "      llm_format: cohere\n      model: {provider: openai, name: gpt-4o}\n");
  Process p({AIGW_BINARY, "validate", dir + "/c.yaml"});
  REQUIRE(p.wait(20000));
  INFO(p.log());
  CHECK(p.log().find("config.llm_format: llm_format cohere is passed through to the cohere "
                     "provider only") != std::string::npos);
  removeTempDir(dir);
}
