// JSON -> YAML text for dumps. Strings that YAML would read back as another type ("3.0",
// "true", "123", "null") are quoted so a dump loads back to the same document.
// Thread-safety: pure function.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace aigw::config {

std::string toYaml(const nlohmann::json& value);

}  // namespace aigw::config
