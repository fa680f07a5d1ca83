#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "config/document.hpp"
#include "config/load.hpp"
#include "config/model.hpp"
#include "config/router.hpp"
#include "providers/provider.hpp"

using namespace aigw::config;

namespace {

std::map<std::string, std::string> g_env = {{"OPENAI_KEY", "sk-test"}};

EnvLookup fakeEnv() {
  return [](const std::string& name) -> const char* {
    auto it = g_env.find(name);
    return it == g_env.end() ? nullptr : it->second.c_str();
  };
}

// Loads YAML text; returns the error text ("" on success) and the config.
std::string load(const std::string& yaml, ConfigPtr* out = nullptr) {
  auto doc = parseDocument(yaml, "test.yaml");
  if (!doc) return doc.error().toString();
  auto built = build(doc->value, fakeEnv());
  if (!built) {
    auto errors = built.error();
    doc->annotate(errors);
    return errors.toString();
  }
  if (out) *out = *built;
  return "";
}

const char* kBase = R"(_format_version: "3.0"
_info: {select_tags: [x]}
_konnect: {control_plane_name: default}
services:
- name: ai
  url: http://localhost:32000
  routes:
  - name: openai-chat
    paths: ["/openai/chat"]
    methods: [POST]
    strip_path: true
    plugins:
    - name: ai-proxy
      config:
        route_type: llm/v1/chat
        auth:
          header_name: Authorization
          header_value: Bearer ${{ env "OPENAI_KEY" }}
        model:
          provider: openai
          name: gpt-4o-mini
          options: {max_tokens: 512, temperature: 1.0}
)";

}  // namespace

TEST_CASE("a Kong decK file with a nested route and ai-proxy loads") {
  ConfigPtr cfg;
  REQUIRE(load(kBase, &cfg) == "");
  CHECK(cfg->services.size() == 1);
  REQUIRE(cfg->routes.size() == 1);
  CHECK(cfg->routes[0].service == 0);
  CHECK(cfg->routes[0].paths == std::vector<std::string>{"/openai/chat"});
  REQUIRE(cfg->route_plugins[0].size() == 1);
  CHECK(cfg->route_plugins[0][0]->name == "ai-proxy");
  CHECK(cfg->routes[0].id.size() == 36);
  // The stored source keeps the env reference, never the secret.
  CHECK(cfg->source->dump().find("sk-test") == std::string::npos);
  CHECK(cfg->source->dump().find("${{ env \\\"OPENAI_KEY\\\" }}") != std::string::npos);
}

TEST_CASE("ids are stable across loads of the same file") {
  ConfigPtr a, b;
  REQUIRE(load(kBase, &a) == "");
  REQUIRE(load(kBase, &b) == "");
  CHECK(a->routes[0].id == b->routes[0].id);
  CHECK(a->plugins[0].id == b->plugins[0].id);
}

TEST_CASE("a missing environment variable is named with its field path and location") {
  std::string yaml = kBase;
  yaml.replace(yaml.find("OPENAI_KEY"), 10, "NOPE_KEY");
  CHECK(load(yaml) ==
        "test.yaml:18:25: services[0].routes[0].plugins[0].config.auth.header_value: "
        "environment variable NOPE_KEY is not set");
}

TEST_CASE("an unknown provider is an error with the path and a suggestion") {
  std::string yaml = kBase;
  yaml.replace(yaml.find("provider: openai"), 16, "provider: opneai");
  std::string expected_list;
  for (const auto& name : aigw::providers::providerNames())
    expected_list += (expected_list.empty() ? "" : ", ") + name;
  CHECK(load(yaml) ==
        "test.yaml:20:21: services[0].routes[0].plugins[0].config.model.provider: unknown provider "
        "\"opneai\"; "
        "expected one of: " +
            expected_list + " (did you mean \"openai\"?)");
}

TEST_CASE("unknown fields and plugins are errors; Kong's own fields are accepted") {
  SUBCASE("unknown field in plugin config") {
    std::string yaml = kBase;
    yaml.replace(yaml.find("route_type:"), 11, "route_typo:");
    const std::string err = load(yaml);
    CHECK(err.find("services[0].routes[0].plugins[0].config.route_typo: unknown field (did you "
                   "mean \"route_type\"?)") != std::string::npos);
    CHECK(err.find("services[0].routes[0].plugins[0].config.route_type: required field missing") !=
          std::string::npos);
  }
  SUBCASE("unknown plugin") {
    std::string yaml = kBase;
    yaml.replace(yaml.find("name: ai-proxy"), 14, "name: ai-proxi");
    CHECK(load(yaml).find(
              "plugins[0].name: unknown plugin \"ai-proxi\" (did you mean \"ai-proxy\"?)") !=
          std::string::npos);
  }
  SUBCASE("Kong route fields") {
    std::string yaml = kBase;
    yaml.replace(
        yaml.find("    strip_path: true"), 20,
        "    strip_path: true\n    preserve_host: false\n    regex_priority: 0\n    protocols: "
        "[http, https]\n"
        "    https_redirect_status_code: 426\n    path_handling: v0\n    request_buffering: true");
    CHECK(load(yaml) == "");
  }
  SUBCASE("unsupported Kong entity type") {
    CHECK(load("_format_version: \"3.0\"\nupstreams: []\n") ==
          "test.yaml:2:12: upstreams: Kong entity type \"upstreams\" is not supported by aigw");
  }
}

TEST_CASE("ai-proxy cross-field rules") {
  auto with = [](const std::string& model_block) {
    std::string yaml = R"(_format_version: "3.0"
routes:
- name: r
  paths: [/r]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
)" + model_block;
    return load(yaml);
  };
  CHECK(with("      model: {provider: azure, name: x}\n")
            .find("config.model.options.azure_instance: required for provider azure") !=
        std::string::npos);
  CHECK(with("      model: {provider: llama2, options: {llama2_format: openai}}\n")
            .find("config.model.options.upstream_url: must set 'model.options.upstream_url' for "
                  "self-hosted providers/models") != std::string::npos);
  CHECK(with("      model: {provider: mistral}\n")
            .find("config.model.options.mistral_format: required for provider mistral") !=
        std::string::npos);
  CHECK(with("      model: {provider: openai, options: {temperature: 9}}\n")
            .find("config.model.options.temperature: value must be between 0 and 5") !=
        std::string::npos);
  CHECK(with("      model: {provider: openai}\n      auth: {header_name: Authorization}\n")
            .find("config.auth: header_name and header_value must be set together") !=
        std::string::npos);
  CHECK(with("      model: {provider: openai, options: {upstream_url: 'ftp://x'}}\n")
            .find("upstream_url: must be an absolute http:// or https:// URL") !=
        std::string::npos);
  CHECK(with("      model: {provider: mock}\n") == "");
}

TEST_CASE("top-level routes and plugins reference services and routes by name") {
  ConfigPtr cfg;
  REQUIRE(load(R"(_format_version: "3.0"
services:
- name: svc
  url: http://example.com
routes:
- name: r1
  service: svc
  paths: [/a]
plugins:
- name: ai-proxy
  route: r1
  config:
    route_type: llm/v1/chat
    model: {provider: mock}
)",
               &cfg) == "");
  CHECK(cfg->routes[0].service == 0);
  CHECK(cfg->plugins[0].route == 0);
  REQUIRE(cfg->route_plugins[0].size() == 1);
  CHECK(load("_format_version: \"3.0\"\nroutes:\n- name: r\n  service: nope\n  paths: [/x]\n") ==
        "test.yaml:4:12: routes[0].service: unknown service \"nope\"");
}

TEST_CASE("YAML syntax errors carry file, line and column") {
  const std::string err = load("_format_version: \"3.0\"\nservices: [\n");
  CHECK(err.rfind("test.yaml:", 0) == 0);
  CHECK(err.find("invalid YAML") != std::string::npos);
}

TEST_CASE("JSON is accepted wherever YAML is") {
  ConfigPtr cfg;
  REQUIRE(load(R"({"_format_version": "3.0", "routes": [{"name": "r", "paths": ["/r"], "plugins": [
    {"name": "ai-proxy", "config": {"route_type": "llm/v1/chat", "model": {"provider": "mock"}}}]}]})",
               &cfg) == "");
  CHECK(cfg->routes.size() == 1);
}

TEST_CASE("quoted scalars stay strings; plain scalars get YAML types") {
  auto doc = parseDocument("a: \"123\"\nb: 123\nc: true\nd: 'null'\ne: ~\nf: 1.5\ng: 0x10\n", "t");
  REQUIRE(doc);
  CHECK(doc->value["a"] == "123");
  CHECK(doc->value["b"] == 123);
  CHECK(doc->value["c"] == true);
  CHECK(doc->value["d"] == "null");
  CHECK(doc->value["e"].is_null());
  CHECK(doc->value["f"] == 1.5);
  CHECK(doc->value["g"] == "0x10");
}

TEST_CASE("every file in examples/ loads") {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(AIGW_SOURCE_DIR "/examples")) {
    const auto ext = entry.path().extension();
    if (ext != ".yaml" && ext != ".yml" && ext != ".json") continue;
    CAPTURE(entry.path().string());
    auto doc = loadDocumentFile(entry.path().string());
    REQUIRE(doc);
    // Examples reference real keys through env; any value will do for validation.
    auto built = build(doc->value, [](const std::string&) -> const char* { return "example-key"; });
    if (!built) {
      auto errors = built.error();
      doc->annotate(errors);
      FAIL(errors.toString());
    }
    ++count;
  }
  CHECK(count >= 5);
}

// Found by fuzz_admin_form: a value of the wrong type was reported, then read again as the
// schema's type by the plugin's create() (a thrown type_error: a crash for `serve -c`).
TEST_CASE("issue #12 - values of the wrong type are errors, never exceptions") {
  for (const char* yaml :
       {"plugins: [{name: ai-proxy, config: {route_type: [a, b], model: {provider: openai}}}]",
        "plugins: [{name: ai-proxy, config: {route_type: llm/v1/chat, model: [x]}}]",
        "plugins: [{name: 5}]", "routes: [{name: [r], paths: [/x]}]",
        "services: [{name: {a: 1}, url: http://x}]",
        "plugins: [{name: ai-prompt-decorator, config: {prompts: {prepend: [5, null, x]}}}]"}) {
    CAPTURE(yaml);
    std::optional<aigw::Result<aigw::config::ConfigPtr, std::string>> r;
    CHECK_NOTHROW(r.emplace(
        aigw::config::loadText(std::string("_format_version: \"3.0\"\n") + yaml, "t.yaml")));
    REQUIRE(r);
    CHECK_FALSE(*r);
  }
}
