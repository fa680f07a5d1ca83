// ai-prompt-template's pure parts, apart from the plugin so units can test them.
// Thread-safety: a Template is immutable after config load; functions are pure.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace aigw::plugins::prompt_template {

// A template's text split once, at load, into literal text and {{placeholder}} names
// ([A-Za-z0-9_]+, as Kong's %w_ pattern).
struct Template {
  std::string name;
  std::vector<std::string> literals;      // literals.size() == names.size() + 1
  std::vector<std::string> placeholders;  // between the literals
};

Template compile(std::string name, std::string_view text);

// "{template://NAME}" -> NAME; anything else (not a string, other text) -> nullopt.
std::optional<std::string> referencedName(const nlohmann::json& reference);

// Fills the placeholders with the request's `properties` (an object of strings), each value
// JSON-string-escaped so user input cannot break out of the JSON it lands in. Errors are
// Kong's texts: "properties must be an object", "property values must be a string, got
// number", "missing template parameters: [a], [b]".
Result<std::string, std::string> render(const Template& t, const nlohmann::json* properties);

}  // namespace aigw::plugins::prompt_template
