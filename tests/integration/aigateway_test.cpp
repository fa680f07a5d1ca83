// The Kubernetes AIGateway resource and ai-prompt-decorator through the real binary.
#include <doctest/doctest.h>

#include "integration/gateway_harness.hpp"

using namespace aigw::test;
using Json = nlohmann::json;

TEST_CASE(
    "an AIGateway file loads: one route per identifier, decorator from defaultPrompts, key from "
    "the Secret") {
  const std::string text = readFile(AIGW_SOURCE_DIR "/examples/aigateway.yaml");
  Gateway gw(text, {{"OPENAI_API_KEY", "sk-from-env"}});
  auto routes = Json::parse(gw.admin("/routes").body)["data"];
  REQUIRE(routes.size() == 2);
  std::vector<std::string> names;
  for (const auto& r : routes) names.push_back(r["name"]);
  CHECK(std::find(names.begin(), names.end(), "devteam-chatgpt") != names.end());
  auto plugins = Json::parse(gw.admin("/routes/devteam-chatgpt/plugins").body)["data"];
  REQUIRE(plugins.size() == 2);
  for (const auto& p : plugins) {
    if (p["name"] == "ai-proxy") {
      CHECK(p["config"]["route_type"] == "llm/v1/chat");
      CHECK(p["config"]["model"]["options"]["max_tokens"] == 50);
      CHECK(p["config"]["model"]["options"]["temperature"] == 0.5);
      // Stored as the reference from the Secret, never the resolved key.
      CHECK(p["config"]["auth"]["header_value"] == "Bearer ${{ env \"OPENAI_API_KEY\" }}");
    } else {
      CHECK(p["name"] == "ai-prompt-decorator");
      CHECK(p["config"]["prompts"]["prepend"][0]["role"] == "system");
    }
  }
  // The model is fixed per identifier, as the operator does.
  auto own = gw.post("/devteam-chatgpt",
                     R"({"model":"other","messages":[{"role":"user","content":"x"}]})");
  CHECK(own.status == 400);
  CHECK(own.json()["error"]["message"] == "cannot use own model - must be: gpt-4o");
  CHECK(gw.post("/devteam-chatgpt/extra", "{}").status == 404);  // exact path, like the HTTPRoute
  CHECK(gw.process().log().find("notice: GatewayClass \"kong-ai-gateways\" ignored") !=
        std::string::npos);
}

TEST_CASE("AIGateway errors name the field in the source document") {
  const std::string dir = tempDir();
  writeFile(dir + "/bad.yaml", R"(apiVersion: gateway-operator.konghq.com/v1alpha1
kind: AIGateway
metadata: {name: x}
spec:
  largeLanguageModels:
    cloudHosted:
    - identifier: ok
      aiCloudProvider: {name: openai}
    - identifier: Bad Name
      aiCloudProvider: {name: openai}
)");
  Process p({AIGW_BINARY, "validate", dir + "/bad.yaml"});
  REQUIRE(p.wait(10000) == 2);
  CHECK(p.log().find("bad.yaml:9:19: spec.largeLanguageModels.cloudHosted[1].identifier: required; "
                     "lower-case") != std::string::npos);
  removeTempDir(dir);
}

namespace {
FakeProvider& decoratorFake() {
  static FakeProvider instance(FAKE_PROVIDER_BINARY);
  return instance;
}
}  // namespace

TEST_CASE("ai-prompt-decorator prepends and appends around the client's messages") {
  Gateway gw(withFake(R"(_format_version: "3.0"
routes:
- name: deco
  paths: [/deco]
  plugins:
  - name: ai-prompt-decorator
    config:
      prompts:
        prepend: [{role: system, content: "Be brief."}, {role: user, content: "Context: aigw"}]
        append: [{role: user, content: "Answer in English."}]
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      auth: {header_name: Authorization, header_value: "Bearer sk-fake"}
      model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
)",
                      decoratorFake().baseUrl()));
  REQUIRE(gw.post("/deco", R"({"messages":[{"role":"user","content":"hi"}]})").status == 200);
  auto sent = decoratorFake().lastRequest()["json"]["messages"];
  REQUIRE(sent.size() == 4);
  CHECK(sent[0]["content"] == "Be brief.");
  CHECK(sent[1]["content"] == "Context: aigw");
  CHECK(sent[2]["content"] == "hi");
  CHECK(sent[3]["content"] == "Answer in English.");
  auto not_chat = gw.post("/deco", R"({"prompt":"x"})");
  CHECK(not_chat.status == 400);
  CHECK(not_chat.json()["error"]["message"] ==
        "this LLM route only supports llm/chat type requests");
}
