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

Result<ConfigPtr, std::string> loadFile(const std::string& path) {
  return fromDocument(loadDocumentFile(path));
}

Result<ConfigPtr, std::string> loadText(const std::string& text, const std::string& name) {
  return fromDocument(parseDocument(text, name));
}

Result<LocalDocuments, std::string> loadForSync(const std::vector<std::string>& files,
                                                const EnvLookup& env) {
  using R = Result<LocalDocuments, std::string>;
  LocalDocuments out;
  // Every value taken from the environment is remembered, for masking.
  const EnvLookup recording = [&](const std::string& name) -> const char* {
    const char* v = env(name);
    if (v && *v) out.env_values.emplace_back(v);
    return v;
  };
  const auto placeholder = [](const std::string&) -> const char* { return "placeholder"; };
  nlohmann::json merged = {{"_format_version", "3.0"}};
  std::string errors;
  auto report = [&](const ConfigErrors& e) {
    if (!errors.empty()) errors += "\n";
    errors += e.toString();
  };
  for (const auto& file : files) {
    auto doc = loadDocumentFile(file);
    if (!doc) return R::failure(doc.error().toString());
    // Rendered before anything else, so errors point into the file the user wrote.
    ConfigErrors env_errors;
    doc->value = resolveEnv(doc->value, recording, env_errors);
    if (!env_errors.empty()) {
      doc->annotate(env_errors);
      report(env_errors);
      continue;
    }
    // Validate each file on its own first, so errors point into the right file.
    auto built = build(doc->value, placeholder);
    if (!built) {
      ConfigErrors e = built.error();
      doc->annotate(e);
      report(e);
      continue;
    }
    const auto& v = doc->value;
    if (v.contains("_info") && v["_info"].is_object() && v["_info"].contains("select_tags"))
      for (const auto& t : v["_info"]["select_tags"])
        if (t.is_string()) out.select_tags.push_back(t.get<std::string>());
    // A Kubernetes AIGateway file becomes decK entities (with env references of its own).
    const nlohmann::json& flat = *(*built)->source;
    for (const char* c : {"services", "routes", "plugins", "consumer_groups", "consumers"}) {
      if (!flat.contains(c) || !flat[c].is_array()) continue;
      if (!merged.contains(c)) merged[c] = nlohmann::json::array();
      for (const auto& e : flat[c]) merged[c].push_back(e);
    }
  }
  if (!errors.empty()) return R::failure(errors);
  ConfigErrors env_errors;
  merged = resolveEnv(merged, recording, env_errors);
  if (!env_errors.empty()) return R::failure(env_errors.toString());
  auto built = build(merged, placeholder);
  if (!built) return R::failure(built.error().toString());
  out.flat = *(*built)->source;
  return out;
}

ConfigPtr emptyConfig() {
  auto built = build(nlohmann::json{{"_format_version", "3.0"}}, processEnv());
  return *built;
}

}  // namespace aigw::config
