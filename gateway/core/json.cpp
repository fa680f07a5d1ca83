#include "core/json.hpp"

#include <nlohmann/json.hpp>

namespace aigw::json {

int nestingDepth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > deepest && (deepest = depth) >= limit) return deepest;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

bool parse(std::string_view text, nlohmann::json& out, std::string* error) {
  if (nestingDepth(text) > kMaxDepth) {
    if (error) *error = "JSON nested deeper than " + std::to_string(kMaxDepth) + " levels";
    return false;
  }
  out = nlohmann::json::parse(text, nullptr, false);
  if (out.is_discarded()) {
    if (error) *error = "not valid JSON";
    return false;
  }
  return true;
}

bool isObject(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text[first] != '{') return false;
  return nestingDepth(text) <= kMaxDepth && nlohmann::json::accept(text);
}

std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace aigw::json
