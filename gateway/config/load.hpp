// Loading a config file end to end: read, parse (YAML/JSON), resolve env, validate, build.
// Errors come back as one message per line: "file:line:col: path: what".
// Thread-safety: free functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/model.hpp"

namespace aigw::config {

Result<ConfigPtr, std::string> loadFile(const std::string& path);
Result<ConfigPtr, std::string> loadText(const std::string& text, const std::string& name);
// Several decK files merged into one flat document (collections concatenated), validated
// as a whole. ${{ env }} references stay references: the gateway resolves them, so local
// validation only checks their syntax. `select_tags` collects _info.select_tags.
struct LocalDocuments {
  nlohmann::json flat;
  std::vector<std::string> select_tags;
};
Result<LocalDocuments, std::string> loadForSync(const std::vector<std::string>& files);

// The empty configuration (no entities).
ConfigPtr emptyConfig();

}  // namespace aigw::config
