#include "formats/models.hpp"

#include <nlohmann/json.hpp>

#include "core/json.hpp"

namespace aigw::formats {

namespace {

using Json = nlohmann::json;

Json openaiModel(const plugins::RoutableModel& m) {
  // created is when the model was made, which the gateway does not know: 0, as local servers
  // (llama.cpp, vLLM) answer.
  return {{"id", m.id}, {"object", "model"}, {"created", 0}, {"owned_by", m.owned_by}};
}

Json anthropicModel(const plugins::RoutableModel& m) {
  return {{"type", "model"},
          {"id", m.id},
          {"display_name", m.id},
          {"created_at", "1970-01-01T00:00:00Z"}};
}

Json geminiModel(const plugins::RoutableModel& m) {
  return {
      {"name", "models/" + m.id},
      {"baseModelId", m.id},
      {"displayName", m.id},
      {"supportedGenerationMethods", {"generateContent", "streamGenerateContent", "countTokens"}}};
}

}  // namespace

std::optional<std::string> modelsPath(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const auto slash = path.rfind('/');
  if (slash == std::string_view::npos) return std::nullopt;
  if (path.substr(slash + 1) == "models") return std::string();
  const std::string_view head = path.substr(0, slash);
  if (head.size() >= 7 && head.substr(head.size() - 7) == "/models")
    return std::string(path.substr(slash + 1));
  return std::nullopt;
}

ModelsAnswer modelsAnswer(const std::vector<plugins::RoutableModel>& models, const std::string& id,
                          std::string_view format) {
  const bool anthropic = format == "anthropic";
  if (format == "gemini") {
    const std::string wanted = id.rfind("models/", 0) == 0 ? id.substr(7) : id;
    if (!wanted.empty()) {
      for (const auto& m : models)
        if (m.id == wanted) return {200, json::dump(geminiModel(m))};
      return {404, json::dump({{"error",
                                {{"code", 404},
                                 {"message", "models/" + wanted + " is not found on this gateway"},
                                 {"status", "NOT_FOUND"}}}})};
    }
    Json list = Json::array();
    for (const auto& m : models) list.push_back(geminiModel(m));
    return {200, json::dump({{"models", std::move(list)}})};
  }
  if (!id.empty()) {
    for (const auto& m : models)
      if (m.id == id) return {200, json::dump(anthropic ? anthropicModel(m) : openaiModel(m))};
    const std::string message = "The model '" + id + "' does not exist on this gateway";
    if (anthropic)
      return {404, json::dump({{"type", "error"},
                               {"error", {{"type", "not_found_error"}, {"message", message}}}})};
    ApiError e{404, message, "invalid_request_error", "model", "model_not_found", -1};
    return {404, e.toJson()};
  }
  Json data = Json::array();
  for (const auto& m : models) data.push_back(anthropic ? anthropicModel(m) : openaiModel(m));
  if (!anthropic) return {200, json::dump({{"object", "list"}, {"data", std::move(data)}})};
  Json first = data.empty() ? Json(nullptr) : data.front()["id"];
  Json last = data.empty() ? Json(nullptr) : data.back()["id"];
  return {200, json::dump({{"data", std::move(data)},
                           {"has_more", false},
                           {"first_id", std::move(first)},
                           {"last_id", std::move(last)}})};
}

}  // namespace aigw::formats
