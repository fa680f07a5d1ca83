// OpenAI: https://platform.openai.com/docs/api-reference/chat
#include "providers/builtin.hpp"
#include "providers/openai_compat.hpp"

namespace aigw::providers::builtin {

const Provider& openai() {
  static const OpenAICompatProvider provider(
      OpenAICompatSpec{"openai",
                       "https://api.openai.com/v1/chat/completions",
                       "https://api.openai.com/v1/completions",
                       "https://api.openai.com/v1/embeddings",
                       true,
                       {},
                       [](const Target&) { return "https://api.openai.com/v1/responses"; }});
  return provider;
}

// Self-hosted OpenAI-compatible servers (vLLM, llama.cpp, LM Studio, Ollama's /v1): only
// upstream_url says where they are.
const Provider& llama2OpenAI() {
  static const OpenAICompatProvider provider(OpenAICompatSpec{"llama2", "", "", "", true, {}});
  return provider;
}

}  // namespace aigw::providers::builtin
