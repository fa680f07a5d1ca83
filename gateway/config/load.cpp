#include "config/load.hpp"

#include "config/document.hpp"

namespace aigw::config {

namespace {

Result<ConfigPtr, std::string> fromDocument(const Result<Document, ConfigError>& doc) {
  using R = Result<ConfigPtr, std::string>;
  if (!doc) return R::failure(doc.error().toString());
  auto built = build(doc->value, processEnv());
  if (!built) {
    ConfigErrors errors = built.error();
    doc->annotate(errors);
    return R::failure(errors.toString());
  }
  return *built;
}

}  // namespace

Result<ConfigPtr, std::string> loadFile(const std::string& path) { return fromDocument(loadDocumentFile(path)); }

Result<ConfigPtr, std::string> loadText(const std::string& text, const std::string& name) {
  return fromDocument(parseDocument(text, name));
}

ConfigPtr emptyConfig() {
  auto built = build(nlohmann::json{{"_format_version", "3.0"}}, processEnv());
  return *built;
}

}  // namespace aigw::config
