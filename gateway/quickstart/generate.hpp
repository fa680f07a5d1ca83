// What `aigw quickstart` writes, as pure functions of the user's choices: the decK config,
// the .env file and the README, from the templates embedded in the binary. No I/O here, so
// the text is unit-tested directly.
// Thread-safety: free functions on values.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aigw::quickstart {

// One chat route: provider, model and the plain template values (azure_instance, ...).
struct RouteChoice {
  std::string provider;
  std::string model;
  std::map<std::string, std::string> vars;
  std::string name() const { return provider + "-chat"; }
  std::string path() const { return "/" + provider + "/chat"; }
};

struct Plan {
  std::vector<RouteChoice> routes;
  std::vector<std::pair<std::string, std::string>> secrets;  // .env, in order
  // Routes need a gateway key (key-auth with one consumer, the key is AIGW_API_KEY in .env).
  bool gateway_key = false;
  // True when the only route is the built-in mock (nothing real was configured).
  bool demo() const { return routes.size() == 1 && routes[0].provider == "mock"; }
  void addSecret(const std::string& name, const std::string& value);
};

using EnvLookup = std::function<std::string(std::string_view)>;

// The plan `--yes` makes: every keyed provider whose values are all in `env` (empty = unset),
// then Ollama's first model when `ollama_models` is not empty, else the mock alone.
Plan planFromEnvironment(const EnvLookup& env, const std::vector<std::string>& ollama_models,
                         const std::string& ollama_url);
// The route of the keyless fallback.
RouteChoice mockRoute();
RouteChoice ollamaRoute(const std::string& model, const std::string& ollama_url);

// Replaces every @name@ in `text` with vars[name]; unknown names stay as they are.
std::string renderTemplate(std::string_view text, const std::map<std::string, std::string>& vars);
// A YAML double-quoted scalar (JSON string syntax, which YAML reads as is).
std::string yamlQuote(std::string_view value);

std::string renderConfig(const Plan& plan);
// `NAME=value` lines, shell-quoted where needed, so `set -a; . ./.env` works too.
std::string renderEnvFile(const Plan& plan);
// NAME=value pairs of a .env file: comments, blank lines and `export ` are skipped; values may
// be single- or double-quoted.
std::vector<std::pair<std::string, std::string>> parseEnvFile(std::string_view text);

struct ReadmeInfo {
  std::string dir;
  int port = 8000;
  int admin_port = 8001;
};
std::string renderReadme(const Plan& plan, const ReadmeInfo& info);
// " --url ... --admin ..." for `aigw chat` when the ports are not the defaults, else "".
std::string chatFlags(int port, int admin_port);

// Ollama: the base URL from OLLAMA_HOST ("host", "host:port", "http://host:port"; unset or empty
// = http://localhost:11434; 0.0.0.0 means this machine), and the model names of GET /api/tags.
std::string ollamaBaseUrl(std::string_view ollama_host);
std::vector<std::string> parseOllamaTags(std::string_view body);

// The user's answer to the provider menu: numbers (1-based into `names`) and names, separated
// by commas or spaces. Unknown entries are reported in `error`. "none" or "mock" = nothing.
std::vector<std::string> parseSelection(std::string_view answer,
                                        const std::vector<std::string>& names, std::string& error);

// "sk-…wxyz": enough of a key to recognise it, never enough to use it.
std::string maskSecret(std::string_view value);

}  // namespace aigw::quickstart
