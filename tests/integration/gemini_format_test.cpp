// llm_format: gemini (the Google Gen AI SDKs, the Gemini CLI) through the real binary: native
// pass-through to the gemini provider, the model and the operation taken from the client's path,
// the body byte for byte, the stream relayed as sent with its usage logged, errors in Gemini's
// shape, and the config refusing a provider that cannot take Gemini's API.
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
- name: gemini-native
  paths: ["/gemini"]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      llm_format: gemini
      auth: {header_name: x-goog-api-key, header_value: "gk-configured"}
      model:
        provider: gemini
        options: {upstream_url: "{FAKE}/v1beta/models"}
- name: gemini-pinned
  paths: ["/pinned"]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      llm_format: gemini
      auth: {header_name: x-goog-api-key, header_value: "gk-configured"}
      model:
        provider: gemini
        name: gemini-pinned
        options: {upstream_url: "{FAKE}/v1beta/models"}
)";

// Key order and spacing a re-serialisation would change; fields the hub has no place for.
const std::string kBody =
    R"({"contents":[{"role":"user","parts":[{"text":"hello there"}]}],  )"
    R"("generationConfig":{"maxOutputTokens":64,"thinkingConfig":{"thinkingBudget":0}},)"
    R"("safetySettings":[]})";

}  // namespace

TEST_CASE("llm_format gemini: native pass-through to Gemini") {
  const std::string dir = tempDir();
  const std::string log = dir + "/access.log";
  Gateway gw(withFake(kConfig, fake().baseUrl()), {}, {"--access-log", log});

  SUBCASE("the body reaches Gemini byte for byte, the model and operation from the path") {
    fake().clear();
    auto r = gw.post("/gemini/v1beta/models/gemini-2.5-flash:generateContent", kBody,
                     {{"x-goog-api-key", "client-key"}});
    INFO(r.body);
    REQUIRE(r.status == 200);
    const Json up = fake().lastRequest();
    CHECK(up["path"] == "/v1beta/models/gemini-2.5-flash:generateContent");
    CHECK(up["body"] == kBody);
    CHECK(up["headers"]["x-goog-api-key"] == "gk-configured");
    const Json body = r.json();
    CHECK(body["candidates"][0]["content"]["parts"][0]["text"] ==
          "Hello from fake gemini: hello there");
    CHECK(body["usageMetadata"]["promptTokenCount"].is_number());
    CHECK(r.header("X-Kong-LLM-Model") == "gemini/gemini-2.5-flash");
    std::string line;
    REQUIRE(waitUntil(
        [&] {
          line = readFile(log);
          return line.find("/gemini/v1beta/models/gemini-2.5-flash:generateContent") !=
                 std::string::npos;
        },
        5000));
    const Json entry = Json::parse(line.substr(0, line.find('\n')));
    CHECK(entry["usage"]["prompt_tokens"] == body["usageMetadata"]["promptTokenCount"]);
  }

  SUBCASE("a streamGenerateContent stream comes back as Gemini sent it") {
    fake().clear();
    auto s =
        gw.stream("/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", kBody);
    REQUIRE(s.status == 200);
    CHECK(s.content_type.rfind("text/event-stream", 0) == 0);
    CHECK(s.raw.find("[DONE]") == std::string::npos);
    CHECK(s.raw.find("\"finishReason\"") != std::string::npos);
    CHECK(s.raw.find("usageMetadata") != std::string::npos);
    const Json up = fake().lastRequest();
    CHECK(up["path"] == "/v1beta/models/gemini-2.5-flash:streamGenerateContent");
    CHECK(up["query"] == "alt=sse");
    CHECK(up["body"] == kBody);
  }

  SUBCASE("a configured model replaces the path's") {
    fake().clear();
    auto r = gw.post("/pinned/v1beta/models/gemini-2.5-flash:generateContent", kBody);
    REQUIRE(r.status == 200);
    CHECK(fake().lastRequest()["path"] == "/v1beta/models/gemini-pinned:generateContent");
    CHECK(r.header("X-Kong-LLM-Model") == "gemini/gemini-pinned");
  }

  SUBCASE("the route's model list is Gemini's") {
    auto list = gw.get("/pinned/v1beta/models");
    REQUIRE(list.status == 200);
    const Json models = list.json();
    REQUIRE(models["models"].size() == 1);
    CHECK(models["models"][0]["name"] == "models/gemini-pinned");
    CHECK(gw.get("/pinned/v1beta/models/gemini-pinned").json()["baseModelId"] == "gemini-pinned");
    auto missing = gw.get("/pinned/v1beta/models/gemini-9");
    CHECK(missing.status == 404);
    CHECK(missing.json()["error"]["status"] == "NOT_FOUND");
  }

  SUBCASE("errors are Gemini's own shape") {
    auto bad = gw.post("/gemini/v1beta/models/gemini-2.5-flash:embedContent", kBody);
    CHECK(bad.status == 400);
    CHECK(bad.json()["error"]["status"] == "INVALID_ARGUMENT");
    CHECK(bad.json()["error"]["code"] == 400);
    // Gemini's own error (no contents), relayed as the provider sent it.
    auto upstream = gw.post("/gemini/v1beta/models/gemini-2.5-flash:generateContent", "{}");
    CHECK(upstream.status == 400);
    CHECK(upstream.json()["error"]["status"] == "INVALID_ARGUMENT");
  }
  removeTempDir(dir);
}

TEST_CASE("llm_format gemini: another provider is a config error") {
  const std::string dir = tempDir();
  writeFile(dir + "/c.yaml",
            "_format_version: \"3.0\"\nroutes:\n- name: r\n  paths: [/r]\n  plugins:\n"
            "  - name: ai-proxy\n    config:\n      route_type: llm/v1/chat\n"
            "      llm_format: gemini\n      model: {provider: openai, name: gpt-4o}\n");
  Process p({AIGW_BINARY, "validate", dir + "/c.yaml"});
  REQUIRE(p.wait(20000));
  INFO(p.log());
  CHECK(p.log().find("config.llm_format: llm_format gemini is passed through to the gemini "
                     "provider only") != std::string::npos);
  removeTempDir(dir);
}
