// Reading a declarative config file (YAML or JSON) into JSON, remembering where each value
// came from so that errors can say file:line:col. Also `${{ env "NAME" }}` substitution.
// Nothing above config/ sees yaml-cpp types.
// Thread-safety: free functions and plain values.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "config/errors.hpp"
#include "core/result.hpp"

namespace aigw::config {

struct Document {
  std::string file;                                  // as given by the user, for messages
  nlohmann::json value;                              // the document, env references unresolved
  std::map<std::string, std::pair<int, int>> marks;  // dotted path -> (line, col), 1-based

  // "file:line:col" for a dotted path, or the nearest enclosing path's location.
  std::string locate(const std::string& path) const;
  // Sets ConfigError::location for every error from the marks.
  void annotate(ConfigErrors& errors) const;
};

// Parses YAML (a JSON text is YAML too). Multi-document streams are returned as an array.
Result<Document, ConfigError> parseDocument(const std::string& text, const std::string& file_name);
Result<Document, ConfigError> loadDocumentFile(const std::string& path);

using EnvLookup = std::function<const char*(const std::string&)>;
EnvLookup processEnv();

// Replaces `${{ env "NAME" }}` in every string; a missing variable is an error naming it and
// the field path. Returns the resolved copy.
nlohmann::json resolveEnv(const nlohmann::json& value, const EnvLookup& env, ConfigErrors& errors,
                          const std::string& path = "");

// True when s contains an env reference (so the value is a secret reference, not a secret).
bool hasEnvReference(const std::string& s);

}  // namespace aigw::config
