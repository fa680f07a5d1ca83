// The model list (GET /v1/models, GET /v1/models/{id}) in the shape of the client's API:
// OpenAI's list of model objects, or Anthropic's paged list for llm_format anthropic routes.
// https://platform.openai.com/docs/api-reference/models/list
// https://docs.anthropic.com/en/api/models-list
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
// The list, or one model (404 in the API's shape when it is not there). `anthropic` picks
// Anthropic's shapes.
ModelsAnswer modelsAnswer(const std::vector<plugins::RoutableModel>& models, const std::string& id,
                          bool anthropic);

}  // namespace aigw::formats
