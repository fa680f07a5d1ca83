#include "config/document.hpp"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace aigw::config {

std::string Document::locate(const std::string& path) const {
  std::string p = path;
  while (true) {
    auto it = marks.find(p);
    if (it != marks.end())
      return file + ":" + std::to_string(it->second.first) + ":" +
             std::to_string(it->second.second);
    if (p.empty()) return file;
    auto cut = p.find_last_of(".[");
    p = cut == std::string::npos ? std::string() : p.substr(0, cut);
  }
}

void Document::annotate(ConfigErrors& errors) const {
  for (auto& e : errors.list())
    if (e.location.empty()) e.location = locate(e.path);
}

namespace {

// YAML 1.2 core schema for plain (unquoted) scalars.
nlohmann::json plainScalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  const char* b = s.c_str();
  char* end = nullptr;
  errno = 0;
  bool intlike = true;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!(std::isdigit(static_cast<unsigned char>(s[i])) ||
          (i == 0 && (s[i] == '-' || s[i] == '+'))))
      intlike = false;
  if (intlike && s != "-" && s != "+") {
    long long v = std::strtoll(b, &end, 10);
    if (errno == 0 && *end == '\0') return v;
  }
  bool numlike = s.find_first_not_of("0123456789+-.eE") == std::string::npos &&
                 s.find_first_of("0123456789") != std::string::npos;
  if (numlike) {
    errno = 0;
    double d = std::strtod(b, &end);
    if (errno == 0 && *end == '\0') return d;
  }
  if (s == ".inf" || s == ".nan") return s;  // not representable in JSON; keep the text
  return s;
}

// YAML aliases let a few hundred bytes expand into billions of values ("billion laughs"); the
// conversion stops after this many, so no document costs more than linear memory.
constexpr std::size_t kMaxValues = 1'000'000;

struct TooLarge {};

nlohmann::json toJson(const YAML::Node& node, const std::string& path, Document& doc,
                      std::size_t& budget) {
  if (budget == 0) throw TooLarge{};
  --budget;
  const auto mark = node.Mark();
  if (mark.line >= 0) doc.marks.emplace(path, std::make_pair(mark.line + 1, mark.column + 1));
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      // A quoted scalar has the non-specific tag "!"; only plain scalars get typed.
      if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") return node.Scalar();
      return plainScalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      std::size_t i = 0;
      for (const auto& item : node) out.push_back(toJson(item, indexPath(path, i++), doc, budget));
      return out;
    }
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& kv : node) {
        const std::string key = kv.first.as<std::string>();
        out[key] = toJson(kv.second, joinPath(path, key), doc, budget);
      }
      return out;
    }
  }
  return nullptr;
}

}  // namespace

Result<Document, ConfigError> parseDocument(const std::string& text, const std::string& file_name) {
  Document doc;
  doc.file = file_name;
  std::size_t budget = kMaxValues;
  try {
    auto nodes = YAML::LoadAll(text);
    if (nodes.size() == 1) {
      doc.value = toJson(nodes[0], "", doc, budget);
    } else {
      doc.value = nlohmann::json::array();
      for (std::size_t i = 0; i < nodes.size(); ++i) {
        Document part;
        part.file = file_name;
        doc.value.push_back(toJson(nodes[i], "", part, budget));
        for (auto& [k, v] : part.marks)
          doc.marks.emplace("#" + std::to_string(i) + (k.empty() ? "" : "." + k), v);
      }
    }
  } catch (const TooLarge&) {
    std::string message = "document too large: more than ";
    message += std::to_string(kMaxValues);
    message += " values (YAML aliases included)";
    return Result<Document, ConfigError>::failure({"", std::move(message), file_name});
  } catch (const YAML::Exception& e) {
    return Result<Document, ConfigError>::failure({"", "invalid YAML: " + e.msg,
                                                   file_name + ":" +
                                                       std::to_string(e.mark.line + 1) + ":" +
                                                       std::to_string(e.mark.column + 1)});
  }
  return doc;
}

Result<Document, ConfigError> loadDocumentFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Result<Document, ConfigError>::failure(
        {"", std::string("cannot read file: ") + std::strerror(errno), path});
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parseDocument(ss.str(), path);
}

EnvLookup processEnv() {
  return [](const std::string& name) -> const char* { return std::getenv(name.c_str()); };
}

bool hasEnvReference(const std::string& s) {
  return s.find("${{") != std::string::npos;
}

// Resolves every `${{ env "NAME" }}` in s; returns false (with message) on a bad reference.
static bool substitute(const std::string& s, const EnvLookup& env, std::string& out,
                       std::string& message) {
  out.clear();
  std::size_t pos = 0;
  while (true) {
    auto open = s.find("${{", pos);
    if (open == std::string::npos) {
      out.append(s, pos, std::string::npos);
      return true;
    }
    out.append(s, pos, open - pos);
    auto close = s.find("}}", open);
    if (close == std::string::npos) {
      message = "unterminated \"${{\" reference (expected ${{ env \"NAME\" }})";
      return false;
    }
    std::string expr = s.substr(open + 3, close - open - 3);
    auto trim = [](std::string& x) {
      x.erase(0, x.find_first_not_of(" \t"));
      x.erase(x.find_last_not_of(" \t") + 1);
    };
    trim(expr);
    if (expr.rfind("env", 0) != 0) {
      message =
          "unsupported reference \"${{ " + expr + " }}\" (only ${{ env \"NAME\" }} is supported)";
      return false;
    }
    std::string name = expr.substr(3);
    trim(name);
    if (name.size() < 2 || name.front() != '"' || name.back() != '"') {
      message = "malformed env reference \"${{ " + expr + " }}\" (expected ${{ env \"NAME\" }})";
      return false;
    }
    name = name.substr(1, name.size() - 2);
    const char* value = env(name);
    if (!value) {
      message = "environment variable " + name + " is not set";
      return false;
    }
    out += value;
    pos = close + 2;
  }
}

nlohmann::json resolveEnv(const nlohmann::json& value, const EnvLookup& env, ConfigErrors& errors,
                          const std::string& path) {
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (!hasEnvReference(s)) return value;
    std::string out, message;
    if (!substitute(s, env, out, message)) {
      errors.add(path, message);
      return value;
    }
    return out;
  }
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (std::size_t i = 0; i < value.size(); ++i)
      out.push_back(resolveEnv(value[i], env, errors, indexPath(path, i)));
    return out;
  }
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto it = value.begin(); it != value.end(); ++it)
      out[it.key()] = resolveEnv(it.value(), env, errors, joinPath(path, it.key()));
    return out;
  }
  return value;
}

}  // namespace aigw::config
