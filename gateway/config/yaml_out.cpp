#include "config/yaml_out.hpp"

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include "config/document.hpp"

namespace aigw::config {

namespace {

bool ambiguous(const std::string& s) {
  // Re-read it as a plain scalar: if it does not come back as this same string, quote it.
  auto doc = parseDocument("v: " + s, "");
  if (!doc || !doc->value.is_object() || !doc->value.contains("v")) return true;
  const auto& v = doc->value["v"];
  return !v.is_string() || v.get<std::string>() != s;
}

void emit(YAML::Emitter& out, const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::object:
      out << YAML::BeginMap;
      for (auto it = v.begin(); it != v.end(); ++it) {
        out << YAML::Key << it.key() << YAML::Value;
        emit(out, it.value());
      }
      out << YAML::EndMap;
      break;
    case nlohmann::json::value_t::array:
      if (v.empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        break;
      }
      out << YAML::BeginSeq;
      for (const auto& e : v) emit(out, e);
      out << YAML::EndSeq;
      break;
    case nlohmann::json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      if (s.empty() || ambiguous(s))
        out << YAML::DoubleQuoted << s;
      else
        out << s;
      break;
    }
    case nlohmann::json::value_t::boolean:
      out << (v.get<bool>() ? "true" : "false");
      break;
    case nlohmann::json::value_t::null:
      out << YAML::Null;
      break;
    default:
      out << v.dump();
      break;
  }
}

}  // namespace

std::string toYaml(const nlohmann::json& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  emit(out, value);
  std::string text = out.c_str();
  if (!text.empty() && text.back() != '\n') text += '\n';
  return text;
}

}  // namespace aigw::config
