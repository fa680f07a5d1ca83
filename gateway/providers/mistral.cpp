// Mistral: https://docs.mistral.ai/api/#tag/chat — OpenAI-shaped; usage arrives in the last
// stream chunk without asking, and unknown fields such as stream_options are not accepted.
#include "providers/builtin.hpp"
#include "providers/openai_compat.hpp"

namespace aigw::providers::builtin {

const Provider& mistralOpenAI() {
  static const OpenAICompatProvider provider(
      OpenAICompatSpec{"mistral",
                       "https://api.mistral.ai/v1/chat/completions",
                       "",
                       "https://api.mistral.ai/v1/embeddings",
                       false,
                       {}});
  return provider;
}

}  // namespace aigw::providers::builtin
