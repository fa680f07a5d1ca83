// ConfigError: what is wrong with a configuration, where (dotted entity path and, when the
// config came from a file, file:line:col).
// Thread-safety: plain value.
#pragma once

#include <string>
#include <vector>

namespace aigw::config {

struct ConfigError {
  std::string path;      // e.g. services[0].routes[1].plugins[0].config.model.provider
  std::string message;   // e.g. unknown provider "opneai"; expected one of: ...
  std::string location;  // e.g. aigw.yaml:12:9, empty when unknown

  std::string toString() const;
};

// Collects errors while validating a whole document, so a user sees all of them at once.
class ConfigErrors {
 public:
  void add(std::string path, std::string message) {
    errors_.push_back({std::move(path), std::move(message), {}});
  }
  bool empty() const { return errors_.empty(); }
  std::vector<ConfigError>& list() { return errors_; }
  const std::vector<ConfigError>& list() const { return errors_; }
  std::string toString() const;  // one line per error

 private:
  std::vector<ConfigError> errors_;
};

// "a.b" + "c" -> "a.b.c"; "" + "c" -> "c"
std::string joinPath(const std::string& base, const std::string& key);
// "a.b" + 3 -> "a.b[3]"
std::string indexPath(const std::string& base, std::size_t index);

}  // namespace aigw::config
