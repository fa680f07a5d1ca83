#include "quickstart/generate.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "quickstart/catalog.hpp"
#include "quickstart/templates.hpp"

namespace aigw::quickstart {

void Plan::addSecret(const std::string& name, const std::string& value) {
  for (auto& [n, v] : secrets) {
    if (n == name) {
      v = value;
      return;
    }
  }
  secrets.emplace_back(name, value);
}

RouteChoice mockRoute() {
  return {"mock", "mock-model", {}};
}

RouteChoice ollamaRoute(const std::string& model, const std::string& ollama_url) {
  return {"ollama", model, {{"ollama_chat_url", ollama_url + "/api/chat"}}};
}

Plan planFromEnvironment(const EnvLookup& env, const std::vector<std::string>& ollama_models,
                         const std::string& ollama_url) {
  Plan plan;
  for (const ProviderSpec* spec : keyedProviders()) {
    RouteChoice route{std::string(spec->name), std::string(spec->default_model), {}};
    std::vector<std::pair<std::string, std::string>> secrets;
    bool complete = true;
    for (const Field& f : spec->fields) {
      std::string value = env(f.env);
      if (value.empty() && !f.secret) value = std::string(f.fallback);
      if (value.empty()) {
        complete = false;
        break;
      }
      if (f.secret) {
        secrets.emplace_back(f.env, value);
      } else {
        route.vars[std::string(f.var)] = value;
      }
    }
    if (!complete) continue;
    // Azure names the model by its deployment.
    if (route.vars.count("azure_deployment")) route.model = route.vars["azure_deployment"];
    plan.routes.push_back(std::move(route));
    for (auto& [n, v] : secrets) plan.addSecret(n, v);
  }
  if (!ollama_models.empty()) plan.routes.push_back(ollamaRoute(ollama_models.front(), ollama_url));
  if (plan.routes.empty()) plan.routes.push_back(mockRoute());
  return plan;
}

std::string renderTemplate(std::string_view text, const std::map<std::string, std::string>& vars) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t at = text.find('@', i);
    if (at == std::string_view::npos) break;
    out.append(text.substr(i, at - i));
    const std::size_t end = text.find('@', at + 1);
    if (end != std::string_view::npos) {
      const std::string name(text.substr(at + 1, end - at - 1));
      const bool word = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      });
      if (auto it = vars.find(name); word && it != vars.end()) {
        out += it->second;
        i = end + 1;
        continue;
      }
    }
    out += '@';
    i = at + 1;
  }
  out.append(text.substr(i));
  return out;
}

std::string yamlQuote(std::string_view value) {
  return nlohmann::json(std::string(value)).dump();
}

std::string renderConfig(const Plan& plan) {
  std::string routes;
  for (const auto& r : plan.routes) {
    std::map<std::string, std::string> vars = {{"name", yamlQuote(r.name())},
                                               {"path", yamlQuote(r.path())},
                                               {"model", yamlQuote(r.model)}};
    for (const auto& [k, v] : r.vars) vars[k] = yamlQuote(v);
    routes += renderTemplate(templateText("route-" + r.provider + ".yaml"), vars);
  }
  if (!routes.empty() && routes.back() == '\n') routes.pop_back();
  std::string out = renderTemplate(templateText("aigw.yaml"), {{"routes", routes}});
  if (plan.gateway_key) {
    if (!out.empty() && out.back() != '\n') out += '\n';
    // apikey as Kong's default, authorization for OpenAI SDKs (Bearer KEY).
    out +=
        "consumers:\n"
        "- username: quickstart\n"
        "  keyauth_credentials:\n"
        "  - key: ${{ env \"AIGW_API_KEY\" }}\n"
        "plugins:\n"
        "- name: key-auth\n"
        "  config: {key_names: [apikey, authorization]}\n";
  }
  return out;
}

namespace {

bool shellSafe(std::string_view v) {
  return !v.empty() && std::all_of(v.begin(), v.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("_-./:+=@%,").find(c) != std::string_view::npos;
  });
}

std::string shellQuote(std::string_view v) {
  if (shellSafe(v)) return std::string(v);
  std::string out = "'";
  for (char c : v) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string renderEnvFile(const Plan& plan) {
  std::string out =
      "# Provider keys for aigw.yaml, written by `aigw quickstart`. Keep this file private\n"
      "# (mode 0600) and out of version control.\n";
  for (const auto& [name, value] : plan.secrets) out += name + "=" + shellQuote(value) + "\n";
  return out;
}

std::vector<std::pair<std::string, std::string>> parseEnvFile(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front())))
      line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    if (line.substr(0, 7) == "export ") line.remove_prefix(7);
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    std::string name(line.substr(0, eq));
    std::string value;
    // A shell word: quotes group, a backslash escapes, unquoted space or # ends it.
    char quote = 0;
    for (std::size_t i = eq + 1; i < line.size(); ++i) {
      const char c = line[i];
      if (quote == '\'') {
        if (c == '\'')
          quote = 0;
        else
          value += c;
      } else if (quote == '"') {
        if (c == '"')
          quote = 0;
        else if (c == '\\' && i + 1 < line.size())
          value += line[++i];
        else
          value += c;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '\\' && i + 1 < line.size()) {
        value += line[++i];
      } else if (std::isspace(static_cast<unsigned char>(c)) || c == '#') {
        break;
      } else {
        value += c;
      }
    }
    if (!value.empty() && value.back() == '\r') value.pop_back();
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

std::string chatFlags(int port, int admin_port) {
  std::string flags;
  if (port != 8000) flags += " --url http://127.0.0.1:" + std::to_string(port);
  if (admin_port != 8001) flags += " --admin http://127.0.0.1:" + std::to_string(admin_port);
  return flags;
}

std::string renderReadme(const Plan& plan, const ReadmeInfo& info) {
  std::string routes;
  for (const auto& r : plan.routes) {
    routes += "- `" + r.name() + "`: POST http://127.0.0.1:" + std::to_string(info.port) +
              r.path() + " (" + r.provider + ", model " + r.model + ")" +
              (r.provider == "mock" ? ", a demo model: no real LLM is called" : "") + "\n";
  }
  if (!routes.empty()) routes.pop_back();
  return renderTemplate(templateText("README.md"),
                        {{"routes", routes},
                         {"dir", info.dir},
                         {"port", std::to_string(info.port)},
                         {"admin_port", std::to_string(info.admin_port)},
                         {"first_route", plan.routes.empty() ? "" : plan.routes[0].name()},
                         {"chat_flags", chatFlags(info.port, info.admin_port)}});
}

std::string ollamaBaseUrl(std::string_view host) {
  std::string h(host);
  while (!h.empty() && std::isspace(static_cast<unsigned char>(h.back()))) h.pop_back();
  while (!h.empty() && h.back() == '/') h.pop_back();
  if (h.empty()) return "http://localhost:11434";
  std::string scheme = "http://";
  if (const auto p = h.find("://"); p != std::string::npos) {
    scheme = h.substr(0, p + 3);
    h = h.substr(p + 3);
  }
  // Ollama's server binds 0.0.0.0 to mean every interface; a client reaches it on loopback.
  if (h.rfind("0.0.0.0", 0) == 0) h = "127.0.0.1" + h.substr(7);
  const bool bracketed = !h.empty() && h.front() == '[';
  const std::size_t colon = h.rfind(':');
  const bool has_port = bracketed ? h.find("]:") != std::string::npos : colon != std::string::npos;
  if (!has_port) h += scheme == "https://" ? ":443" : ":11434";
  return scheme + h;
}

std::vector<std::string> parseOllamaTags(std::string_view body) {
  std::vector<std::string> names;
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("models") || !j["models"].is_array()) return names;
  for (const auto& m : j["models"]) {
    if (!m.is_object()) continue;
    std::string name = m.value("name", m.value("model", std::string()));
    if (!name.empty()) names.push_back(std::move(name));
  }
  return names;
}

std::vector<std::string> parseSelection(std::string_view answer,
                                        const std::vector<std::string>& names, std::string& error) {
  std::vector<std::string> picked;
  error.clear();
  std::string word;
  auto take = [&] {
    if (word.empty()) return;
    std::string lower = word;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    word.clear();
    if (lower == "none" || lower == "mock") return;
    std::string name;
    if (std::all_of(lower.begin(), lower.end(), [](unsigned char c) { return std::isdigit(c); })) {
      const std::size_t n = std::stoul(lower.substr(0, 6));
      if (n >= 1 && n <= names.size()) name = names[n - 1];
    } else if (std::find(names.begin(), names.end(), lower) != names.end()) {
      name = lower;
    }
    if (name.empty()) {
      error += (error.empty() ? "" : ", ") + lower;
      return;
    }
    if (std::find(picked.begin(), picked.end(), name) == picked.end()) picked.push_back(name);
  };
  for (char c : answer) {
    if (c == ',' || std::isspace(static_cast<unsigned char>(c)))
      take();
    else
      word += c;
  }
  take();
  if (!error.empty()) error = "not a provider: " + error;
  return picked;
}

std::string maskSecret(std::string_view value) {
  if (value.size() < 12) return "…";
  const std::size_t dash = value.find('-');
  const std::string prefix(dash != std::string_view::npos && dash < 8 ? value.substr(0, dash + 1)
                                                                      : value.substr(0, 0));
  return prefix + "…" + std::string(value.substr(value.size() - 4));
}

}  // namespace aigw::quickstart
