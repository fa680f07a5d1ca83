#include "config/errors.hpp"

namespace aigw::config {

std::string ConfigError::toString() const {
  std::string out;
  if (!location.empty()) out += location + ": ";
  if (!path.empty()) out += path + ": ";
  out += message;
  return out;
}

std::string ConfigErrors::toString() const {
  std::string out;
  for (const auto& e : errors_) {
    if (!out.empty()) out += '\n';
    out += e.toString();
  }
  return out;
}

std::string joinPath(const std::string& base, const std::string& key) {
  return base.empty() ? key : base + "." + key;
}

std::string indexPath(const std::string& base, std::size_t index) {
  return base + "[" + std::to_string(index) + "]";
}

}  // namespace aigw::config
