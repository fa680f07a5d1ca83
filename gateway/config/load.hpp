// Loading a config file end to end: read, parse (YAML/JSON), resolve env, validate, build.
// Errors come back as one message per line: "file:line:col: path: what".
// Thread-safety: free functions.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/model.hpp"

namespace aigw::config {

Result<ConfigPtr, std::string> loadFile(const std::string& path);
Result<ConfigPtr, std::string> loadText(const std::string& text, const std::string& name);
// Several decK files merged into one flat document (collections concatenated), validated
// as a whole, for `aigw sync` / `aigw diff`. As decK does, `${{ env "NAME" }}` is rendered here,
// on the client, from `env` (the caller's environment): an unset variable is an error naming
// it and the field (file:line:col). `env_values` lists the values that came from the
// environment, so that diffs can mask them. `select_tags` collects _info.select_tags.
struct LocalDocuments {
  nlohmann::json flat;
  std::vector<std::string> select_tags;
  std::vector<std::string> env_values;
};
Result<LocalDocuments, std::string> loadForSync(
    const std::vector<std::string>& files,
    const std::function<const char*(const std::string&)>& env);

// The empty configuration (no entities).
ConfigPtr emptyConfig();

}  // namespace aigw::config
