#include "config/aigateway.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

namespace aigw::config {

namespace {

using Json = nlohmann::json;

std::vector<std::pair<std::string, const Json*>> documents(const Json& document) {
  std::vector<std::pair<std::string, const Json*>> out;
  if (document.is_array()) {
    for (std::size_t i = 0; i < document.size(); ++i)
      out.emplace_back("#" + std::to_string(i) + ".", &document[i]);
  } else {
    out.emplace_back("", &document);
  }
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string base64Decode(const std::string& in) {
  std::string out((in.size() / 4 + 1) * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return {};
  std::size_t len = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts padding bytes as output; drop them.
  for (std::size_t i = in.size(); i > 0 && in[i - 1] == '='; --i) --len;
  out.resize(len);
  return out;
}

const char* envNameFor(const std::string& provider) {
  if (provider == "azure") return "AZURE_OPENAI_API_KEY";
  if (provider == "cohere") return "COHERE_API_KEY";
  if (provider == "mistral") return "MISTRAL_API_KEY";
  if (provider == "anthropic") return "ANTHROPIC_API_KEY";
  if (provider == "gemini") return "GEMINI_API_KEY";
  return "OPENAI_API_KEY";
}

Json number(const Json& v) {
  if (v.is_number()) return v;
  if (v.is_string()) {
    char* end = nullptr;
    const std::string s = v.get<std::string>();
    double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0') return d;
  }
  return nullptr;
}

}  // namespace

bool isAIGateway(const Json& document) {
  for (const auto& [prefix, doc] : documents(document))
    if (doc->is_object() && doc->value("kind", "") == "AIGateway") return true;
  return false;
}

Json fromAIGateway(const Json& document, ConfigErrors& errors, std::vector<std::string>* notices,
                   std::vector<std::string>* route_sources) {
  if (notices) {
    for (const auto& [prefix, doc] : documents(document)) {
      const std::string kind = doc->is_object() ? doc->value("kind", "") : "";
      if (kind == "AIGateway" || kind == "Secret") continue;
      const std::string name =
          doc->is_object() ? doc->value("metadata", Json::object()).value("name", "") : "";
      notices->push_back((kind.empty() ? "a document without a kind"
                                       : kind + (name.empty() ? "" : " \"" + name + "\"")) +
                         " ignored: only AIGateway and its credentials Secret are read");
    }
  }
  std::map<std::string, std::map<std::string, std::string>> secrets;  // name -> lower(key) -> value
  for (const auto& [prefix, doc] : documents(document)) {
    if (!doc->is_object() || doc->value("kind", "") != "Secret") continue;
    const std::string name = doc->value("metadata", Json::object()).value("name", "");
    auto& values = secrets[name];
    const Json string_data = doc->value("stringData", Json::object());
    for (auto it = string_data.begin(); it != string_data.end(); ++it)
      if (it->is_string()) values[lower(it.key())] = it->get<std::string>();
    const Json data = doc->value("data", Json::object());
    for (auto it = data.begin(); it != data.end(); ++it)
      if (it->is_string()) values[lower(it.key())] = base64Decode(it->get<std::string>());
  }

  Json routes = Json::array();
  for (const auto& [prefix, doc] : documents(document)) {
    if (!doc->is_object() || doc->value("kind", "") != "AIGateway") continue;
    const Json spec = doc->value("spec", Json::object());
    const std::string spec_path = prefix + "spec";
    const Json llms =
        spec.value("largeLanguageModels", Json::object()).value("cloudHosted", Json::array());
    if (!llms.is_array() || llms.empty()) {
      errors.add(spec_path + ".largeLanguageModels.cloudHosted",
                 "at least one cloud hosted model is required");
      continue;
    }
    const std::string secret_name =
        spec.value("cloudProviderCredentials", Json::object()).value("name", "");
    const auto secret = secrets.find(secret_name);
    for (std::size_t i = 0; i < llms.size(); ++i) {
      const Json& m = llms[i];
      const std::string path =
          spec_path + ".largeLanguageModels.cloudHosted[" + std::to_string(i) + "]";
      const std::string id = m.value("identifier", "");
      if (id.empty() ||
          id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_.") != std::string::npos) {
        errors.add(path + ".identifier", "required; lower-case letters, digits, '-', '_' or '.'");
        continue;
      }
      const std::string provider =
          lower(m.value("aiCloudProvider", Json::object()).value("name", ""));
      if (provider.empty()) {
        errors.add(path + ".aiCloudProvider.name", "required field missing");
        continue;
      }
      const std::string prompt_type = m.value("promptType", "completions");
      if (prompt_type != "chat" && prompt_type != "completions") {
        errors.add(path + ".promptType", "expected chat or completions");
        continue;
      }
      std::string key;
      if (secret != secrets.end()) {
        if (auto k = secret->second.find(provider); k != secret->second.end()) key = k->second;
      }
      if (key.empty()) key = std::string("${{ env \"") + envNameFor(provider) + "\" }}";
      Json auth = provider == "azure" ? Json{{"header_name", "api-key"}, {"header_value", key}}
                  : provider == "anthropic"
                      ? Json{{"header_name", "x-api-key"}, {"header_value", key}}
                      : Json{{"header_name", "Authorization"}, {"header_value", "Bearer " + key}};
      Json options = Json::object();
      const Json params = m.value("defaultPromptParams", Json::object());
      if (auto v = number(params.value("maxTokens", Json())); !v.is_null())
        options["max_tokens"] = static_cast<long long>(v.get<double>());
      if (auto v = number(params.value("temperature", Json())); !v.is_null())
        options["temperature"] = v;
      if (auto v = number(params.value("topP", Json())); !v.is_null()) options["top_p"] = v;
      if (auto v = number(params.value("topK", Json())); !v.is_null())
        options["top_k"] = static_cast<long long>(v.get<double>());
      if (provider == "mistral") options["mistral_format"] = "openai";
      Json model = {{"provider", provider}};
      if (m.contains("model") && m["model"].is_string()) model["name"] = m["model"];
      if (!options.empty()) model["options"] = options;
      Json plugins = Json::array();
      plugins.push_back(
          {{"name", "ai-proxy"},
           {"config",
            {{"route_type", prompt_type == "chat" ? "llm/v1/chat" : "llm/v1/completions"},
             {"auth", auth},
             {"logging", {{"log_statistics", true}}},
             {"model", model}}}});
      const Json prompts = m.value("defaultPrompts", Json::array());
      if (prompts.is_array() && !prompts.empty()) {
        Json prepend = Json::array();
        for (const auto& p : prompts)
          prepend.push_back(
              {{"role", p.value("role", "user")}, {"content", p.value("content", "")}});
        plugins.push_back(
            {{"name", "ai-prompt-decorator"}, {"config", {{"prompts", {{"prepend", prepend}}}}}});
      }
      routes.push_back({{"name", id}, {"paths", {"~/" + id + "$"}}, {"plugins", plugins}});
      if (route_sources) route_sources->push_back(path);
    }
  }
  return {{"_format_version", "3.0"}, {"routes", routes}};
}

}  // namespace aigw::config
