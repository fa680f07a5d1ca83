#include "quickstart/catalog.hpp"

#include "providers/provider.hpp"

namespace aigw::quickstart {

const std::vector<ProviderSpec>& catalog() {
  static const std::vector<ProviderSpec> table = {
      {"openai", "OpenAI", "gpt-4o-mini", {{"OPENAI_API_KEY", "OpenAI API key"}}},
      {"anthropic",
       "Anthropic",
       "claude-3-5-haiku-latest",
       {{"ANTHROPIC_API_KEY", "Anthropic API key"}}},
      {"gemini", "Google Gemini", "gemini-2.0-flash", {{"GEMINI_API_KEY", "Gemini API key"}}},
      {"mistral", "Mistral", "mistral-small-latest", {{"MISTRAL_API_KEY", "Mistral API key"}}},
      {"cohere", "Cohere", "command-r-08-2024", {{"COHERE_API_KEY", "Cohere API key"}}},
      {"huggingface",
       "Hugging Face",
       "meta-llama/Llama-3.1-8B-Instruct",
       {{"HF_TOKEN", "Hugging Face token"}}},
      {"azure",
       "Azure OpenAI",
       "gpt-4o-mini",
       {{"AZURE_OPENAI_API_KEY", "Azure OpenAI key"},
        {"AZURE_OPENAI_INSTANCE", "Azure OpenAI resource name", false, "azure_instance"},
        {"AZURE_OPENAI_DEPLOYMENT", "deployment name", false, "azure_deployment"}}},
      {"bedrock",
       "AWS Bedrock",
       "anthropic.claude-3-5-haiku-20241022-v1:0",
       {{"AWS_ACCESS_KEY_ID", "AWS access key id"},
        {"AWS_SECRET_ACCESS_KEY", "AWS secret access key"},
        {"AWS_REGION", "AWS region", false, "aws_region", "us-east-1"}}},
      {"ollama", "Ollama (local)", "llama3.2", {}},
      {"mock", "aigw demo model (mock)", "mock-model", {}},
  };
  return table;
}

std::vector<const ProviderSpec*> keyedProviders() {
  std::vector<const ProviderSpec*> out;
  for (const auto& spec : catalog()) {
    // Offer only what this build can serve: a provider added later appears by itself.
    if (!spec.fields.empty() && providers::findProvider(spec.name) != nullptr) out.push_back(&spec);
  }
  return out;
}

const ProviderSpec* findSpec(std::string_view name) {
  for (const auto& spec : catalog())
    if (spec.name == name) return &spec;
  return nullptr;
}

}  // namespace aigw::quickstart
