// The one table of providers. Adding a provider: one file + one line here.

#include "providers/builtin.hpp"

namespace aigw::providers {

namespace {

struct Entry {
  std::string_view name;
  const Provider& (*get)();
};

const Provider& ollamaProvider() {
  return builtin::ollamaNative("ollama");
}

// Providers whose wire format is chosen by an option resolve through resolveProvider().
const Entry kProviders[] = {
    {"openai", builtin::openai},
    {"azure", builtin::azure},
    {"mistral", builtin::mistralOpenAI},
    {"llama2", builtin::llama2OpenAI},
    {"ollama", ollamaProvider},
    {"mock", builtin::mock},
    {"gemini", builtin::gemini},
    {"anthropic", builtin::anthropic},
    {"cohere", builtin::cohere},
    {"bedrock", builtin::bedrock},
    {"huggingface", builtin::huggingface},
};

}  // namespace

const Provider* findProvider(std::string_view name) {
  for (const auto& e : kProviders)
    if (e.name == name) return &e.get();
  return nullptr;
}

std::vector<std::string> providerNames() {
  std::vector<std::string> names;
  for (const auto& e : kProviders) names.emplace_back(e.name);
  return names;
}

const Provider* resolveProvider(std::string_view name, const ModelOptions& options) {
  if ((name == "mistral" && options.mistral_format == "ollama") ||
      (name == "llama2" && options.llama2_format == "ollama"))
    return &builtin::ollamaNative(name);
  if (name == "llama2" && options.llama2_format == "raw") return &builtin::llama2Raw();
  if (name == "cohere") return &builtin::cohereFor(options);
  return findProvider(name);
}

}  // namespace aigw::providers
