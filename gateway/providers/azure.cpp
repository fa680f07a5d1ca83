// Azure OpenAI: https://learn.microsoft.com/azure/ai-services/openai/reference
// URL: https://{instance}.openai.azure.com/openai/deployments/{deployment}/{op}?api-version=V
#include "providers/builtin.hpp"
#include "providers/openai_compat.hpp"

namespace aigw::providers::builtin {

namespace {

class AzureProvider : public OpenAICompatProvider {
 public:
  using OpenAICompatProvider::OpenAICompatProvider;
  void checkTarget(const Target& target, RouteType type,
                   std::vector<std::pair<std::string, std::string>>& errors) const override {
    if (target.options.upstream_url.empty()) {
      if (target.options.azure_instance.empty())
        errors.emplace_back("model.options.azure_instance", "required for provider azure");
      if (target.options.azure_deployment_id.empty())
        errors.emplace_back("model.options.azure_deployment_id", "required for provider azure");
    }
    (void)type;
  }
};

std::string azureUrl(const Target& t, RouteType type) {
  const char* op = type == RouteType::Completions  ? "completions"
                   : type == RouteType::Embeddings ? "embeddings"
                                                   : "chat/completions";
  const std::string version =
      t.options.azure_api_version.empty() ? "2023-05-15" : t.options.azure_api_version;
  return "https://" + t.options.azure_instance + ".openai.azure.com/openai/deployments/" +
         t.options.azure_deployment_id + "/" + op + "?api-version=" + version;
}

// https://learn.microsoft.com/azure/ai-foundry/openai/how-to/responses: the Responses API needs
// a 2025 api-version; Kong's default (2023-05-15) predates it and is replaced.
std::string azureResponsesUrl(const Target& t) {
  std::string version = t.options.azure_api_version;
  if (version.empty() || version < "2025-03-01-preview") version = "2025-04-01-preview";
  return "https://" + t.options.azure_instance +
         ".openai.azure.com/openai/responses?api-version=" + version;
}

}  // namespace

const Provider& azure() {
  // Azure has supported stream_options.include_usage since api-version 2024-09-01-preview;
  // older versions reject unknown fields, so it is not requested.
  static const AzureProvider provider(
      OpenAICompatSpec{"azure", "", "", "", false, azureUrl, azureResponsesUrl});
  return provider;
}

}  // namespace aigw::providers::builtin
