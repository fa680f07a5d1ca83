// The model list (GET /v1/models, GET /v1/models/{id}) in the shape of the client's API:
// OpenAI's list of model objects, Anthropic's paged list for llm_format anthropic routes, or
// Gemini's for llm_format gemini routes.
// https://platform.openai.com/docs/api-reference/models/list
// https://docs.anthropic.com/en/api/models-list
// https://ai.google.dev/api/models#method:-models.list
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/api_error.hpp"
#include "plugins/plugin.hpp"

namespace aigw::formats {

// GET <prefix>/models -> "", GET <prefix>/models/<id> -> "<id>" (percent-decoded path);
// nullopt for any other path.
std::optional<std::string> modelsPath(std::string_view path);

struct ModelsAnswer {
  int status = 200;
  std::string body;
};
// The list, or one model (404 in the API's shape when it is not there), in the shapes of the
// client format named `format` ("anthropic", "gemini"; anything else: OpenAI's).
ModelsAnswer modelsAnswer(const std::vector<plugins::RoutableModel>& models, const std::string& id,
                          std::string_view format);

}  // namespace aigw::formats
