// The files `aigw quickstart` writes, from the plan alone: the YAML loads, holds no key and
// references exactly the keys the .env holds; the .env round-trips; the small parsers.
#include <doctest/doctest.h>

#include <cstdlib>
#include <regex>
#include <set>

#include "config/load.hpp"
#include "providers/provider.hpp"
#include "quickstart/catalog.hpp"
#include "quickstart/generate.hpp"
#include "quickstart/quickstart.hpp"

using namespace aigw::quickstart;

namespace {

EnvLookup fromMap(std::map<std::string, std::string> values) {
  return [values](std::string_view name) {
    auto it = values.find(std::string(name));
    return it == values.end() ? std::string() : it->second;
  };
}

// The variables the config refers to, outside comments.
std::set<std::string> envReferences(const std::string& text) {
  std::string yaml;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    const std::string line = text.substr(pos, eol - pos);
    if (line.find_first_not_of(' ') == std::string::npos ||
        line[line.find_first_not_of(' ')] != '#')
      yaml += line + "\n";
    pos = eol + 1;
  }
  std::set<std::string> names;
  const std::regex ref(R"re(\$\{\{\s*env\s+"([A-Z0-9_]+)"\s*\}\})re");
  for (auto it = std::sregex_iterator(yaml.begin(), yaml.end(), ref); it != std::sregex_iterator();
       ++it)
    names.insert((*it)[1]);
  return names;
}

// Loads the config the way the gateway does: with the .env values in the environment.
void checkLoads(const Plan& plan) {
  const std::string yaml = renderConfig(plan);
  std::set<std::string> secrets;
  for (const auto& [name, value] : plan.secrets) {
    CHECK_MESSAGE(yaml.find(value) == std::string::npos, "key " << name << " leaked into YAML");
    ::setenv(name.c_str(), value.c_str(), 1);
    secrets.insert(name);
  }
  CHECK(envReferences(yaml) == secrets);
  auto cfg = aigw::config::loadText(yaml, "aigw.yaml");
  REQUIRE_MESSAGE(cfg.ok(), (cfg.ok() ? "" : cfg.error()) << "\n" << yaml);
  CHECK((*cfg)->routes.size() == plan.routes.size());
  for (const auto& [name, value] : plan.secrets) ::unsetenv(name.c_str());
}

}  // namespace

TEST_CASE("--yes with nothing configured: the mock route alone, marked as a demo") {
  const Plan plan = planFromEnvironment(fromMap({}), {}, "http://localhost:11434");
  REQUIRE(plan.routes.size() == 1);
  CHECK(plan.demo());
  CHECK(plan.routes[0].name() == "mock-chat");
  CHECK(plan.routes[0].path() == "/mock/chat");
  CHECK(plan.secrets.empty());
  checkLoads(plan);
  CHECK(renderConfig(plan).find("DEMO model") != std::string::npos);
  CHECK(renderEnvFile(plan).find('=') == std::string::npos);
}

TEST_CASE("--yes takes each provider whose values are all set, and never adds the mock then") {
  const Plan plan = planFromEnvironment(
      fromMap({{"OPENAI_API_KEY", "sk-openai-secret-1"},
               {"MISTRAL_API_KEY", "mistral-secret-2"},
               {"AZURE_OPENAI_API_KEY", "azure-secret-3"}}),  // no instance: azure is skipped
      {"qwen2.5:7b", "llama3.2:latest"}, "http://127.0.0.1:11434");
  std::vector<std::string> names;
  for (const auto& r : plan.routes) names.push_back(r.name());
  CHECK(names == std::vector<std::string>{"openai-chat", "mistral-chat", "ollama-chat"});
  CHECK(!plan.demo());
  CHECK(plan.secrets.size() == 2);
  CHECK(plan.routes[2].model == "qwen2.5:7b");
  checkLoads(plan);
  const std::string yaml = renderConfig(plan);
  CHECK(yaml.find("upstream_url: \"http://127.0.0.1:11434/api/chat\"") != std::string::npos);
  CHECK(yaml.find("provider: mock") == std::string::npos);
  const std::string env = renderEnvFile(plan);
  CHECK(env.find("OPENAI_API_KEY=sk-openai-secret-1\n") != std::string::npos);
  CHECK(env.find("MISTRAL_API_KEY=mistral-secret-2\n") != std::string::npos);
  CHECK(env.find("AZURE") == std::string::npos);
}

TEST_CASE("azure needs its resource and deployment; the deployment names the model") {
  const Plan plan = planFromEnvironment(fromMap({{"AZURE_OPENAI_API_KEY", "az-key-0123456789"},
                                                 {"AZURE_OPENAI_INSTANCE", "my-res"},
                                                 {"AZURE_OPENAI_DEPLOYMENT", "gpt4o-prod"}}),
                                        {}, "http://localhost:11434");
  REQUIRE(plan.routes.size() == 1);
  CHECK(plan.routes[0].provider == "azure");
  CHECK(plan.routes[0].model == "gpt4o-prod");
  checkLoads(plan);
  const std::string yaml = renderConfig(plan);
  CHECK(yaml.find("azure_instance: \"my-res\"") != std::string::npos);
  CHECK(yaml.find("azure_deployment_id: \"gpt4o-prod\"") != std::string::npos);
}

TEST_CASE("every provider of the catalog this build serves gets a route that loads") {
  Plan plan;
  for (const ProviderSpec* spec : keyedProviders()) {
    CHECK(aigw::providers::findProvider(spec->name) != nullptr);
    RouteChoice route{std::string(spec->name), std::string(spec->default_model), {}};
    for (const Field& f : spec->fields) {
      if (f.secret)
        plan.addSecret(std::string(f.env), "secret-for-" + std::string(f.env));
      else
        route.vars[std::string(f.var)] = "value-" + std::string(f.var);
    }
    plan.routes.push_back(route);
  }
  plan.routes.push_back(ollamaRoute("llama3.2", "http://localhost:11434"));
  plan.routes.push_back(mockRoute());
  CHECK(plan.routes.size() >= 6);  // openai, azure, mistral at least, ollama, mock
  checkLoads(plan);
}

TEST_CASE(".env: written shell-safe, read back exactly") {
  Plan plan;
  plan.addSecret("A_KEY", "sk-plain_0123/+=");
  plan.addSecret("B_KEY", "it's a \"key\" with $pace #1");
  plan.addSecret("A_KEY", "sk-replaced");  // the same name twice keeps one line
  const std::string text = renderEnvFile(plan);
  CHECK(text.find("A_KEY=sk-replaced\n") != std::string::npos);
  CHECK(text.find("A_KEY", text.find("A_KEY") + 1) == std::string::npos);
  const auto parsed = parseEnvFile(text);
  REQUIRE(parsed.size() == 2);
  CHECK(parsed[0] == std::pair<std::string, std::string>{"A_KEY", "sk-replaced"});
  CHECK(parsed[1] == std::pair<std::string, std::string>{"B_KEY", "it's a \"key\" with $pace #1"});

  const auto other = parseEnvFile(
      "# comment\n\nexport X=1\r\nY=\"two words\" # trailing\nZ='q'\nbroken line\n=novalue\n");
  REQUIRE(other.size() == 3);
  CHECK(other[0].second == "1");
  CHECK(other[1].second == "two words");
  CHECK(other[2].second == "q");
}

TEST_CASE("templates: @name@ is replaced, everything else is left alone") {
  CHECK(renderTemplate("a @x@ b", {{"x", "1"}}) == "a 1 b");
  CHECK(renderTemplate("@x@@y@", {{"x", "1"}, {"y", "2"}}) == "12");
  CHECK(renderTemplate("mail me@host.org or @unknown@", {{"x", "1"}}) ==
        "mail me@host.org or @unknown@");
  CHECK(renderTemplate(R"(${{ env "K" }} @x@)", {{"x", "v"}}) == R"(${{ env "K" }} v)");
  CHECK(yamlQuote("llama3.2:latest") == "\"llama3.2:latest\"");
  CHECK(yamlQuote("a\"b") == "\"a\\\"b\"");
}

TEST_CASE("README and the ready section name the routes, a curl and an aigw chat line each") {
  Plan plan;
  plan.routes = {mockRoute()};
  const std::string readme = renderReadme(plan, {"/tmp/x", 18000, 18001});
  CHECK(readme.find("`mock-chat`: POST http://127.0.0.1:18000/mock/chat") != std::string::npos);
  CHECK(readme.find(
            "aigw chat mock-chat --url http://127.0.0.1:18000 --admin http://127.0.0.1:18001") !=
        std::string::npos);
  CHECK(readme.find('@') == std::string::npos);  // no placeholder left

  const std::string ready =
      readySection(plan, {"/tmp/x", 8000, 8001, false, 0}, aigw::tty::Style(false));
  CHECK(ready.find("curl -s http://127.0.0.1:8000/mock/chat") != std::string::npos);
  CHECK(ready.find("aigw chat mock-chat\n") != std::string::npos);  // default ports: no flags
  CHECK(ready.find("Ctrl-C to stop") != std::string::npos);
  CHECK(ready.find("\033[") == std::string::npos);
  const std::string detached =
      readySection(plan, {"/tmp/x", 8000, 8001, true, 42}, aigw::tty::Style(true));
  CHECK(detached.find("kill $(cat /tmp/x/aigw.pid)") != std::string::npos);
  CHECK(detached.find("\033[") != std::string::npos);
}

TEST_CASE("OLLAMA_HOST forms, and the model list of /api/tags") {
  CHECK(ollamaBaseUrl("") == "http://localhost:11434");
  CHECK(ollamaBaseUrl("127.0.0.1") == "http://127.0.0.1:11434");
  CHECK(ollamaBaseUrl("0.0.0.0:9999") == "http://127.0.0.1:9999");
  CHECK(ollamaBaseUrl("http://gpu-box:11434/") == "http://gpu-box:11434");
  CHECK(ollamaBaseUrl("https://ollama.internal") == "https://ollama.internal:443");
  CHECK(ollamaBaseUrl("[::1]") == "http://[::1]:11434");
  CHECK(ollamaBaseUrl("[::1]:1234") == "http://[::1]:1234");
  CHECK(parseOllamaTags(R"({"models":[{"name":"a:latest"},{"model":"b"},{}]})") ==
        std::vector<std::string>{"a:latest", "b"});
  CHECK(parseOllamaTags("not json").empty());
}

TEST_CASE("the provider menu answer: numbers, names, none") {
  const std::vector<std::string> names = {"openai", "anthropic", "ollama"};
  std::string error;
  CHECK(parseSelection("1, 3", names, error) == std::vector<std::string>{"openai", "ollama"});
  CHECK(error.empty());
  CHECK(parseSelection("Anthropic openai 2", names, error) ==
        std::vector<std::string>{"anthropic", "openai"});
  CHECK(parseSelection("none", names, error).empty());
  CHECK(error.empty());
  CHECK(parseSelection("1,9,foo", names, error) == std::vector<std::string>{"openai"});
  CHECK(error == "not a provider: 9, foo");
  CHECK(maskSecret("sk-abcdefghijklmnop1234") == "sk-…1234");
  CHECK(maskSecret("short") == "…");
  CHECK(maskSecret("AKIAABCDEFGHIJKL").find("ABCD") == std::string::npos);
}
