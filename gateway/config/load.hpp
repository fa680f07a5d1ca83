// Loading a config file end to end: read, parse (YAML/JSON), resolve env, validate, build.
// Errors come back as one message per line: "file:line:col: path: what".
// Thread-safety: free functions.
#pragma once

#include <string>

#include "config/model.hpp"

namespace aigw::config {

Result<ConfigPtr, std::string> loadFile(const std::string& path);
Result<ConfigPtr, std::string> loadText(const std::string& text, const std::string& name);
// The empty configuration (no entities).
ConfigPtr emptyConfig();

}  // namespace aigw::config
