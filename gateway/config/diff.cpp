#include "config/diff.hpp"

#include <algorithm>
#include <map>

#include "config/document.hpp"

namespace aigw::config {

namespace {

using Json = nlohmann::json;

struct Kind {
  const char* collection;
  const char* singular;
  const char* name_field;
};
constexpr Kind kKinds[] = {{"services", "service", "name"},
                           {"routes", "route", "name"},
                           {"consumer_groups", "consumer_group", "name"},
                           {"consumers", "consumer", "username"},
                           {"plugins", "plugin", "instance_name"}};

bool hasTag(const Json& e, const std::string& tag) {
  const Json tags = e.value("tags", Json::array());
  return tags.is_array() && std::find(tags.begin(), tags.end(), tag) != tags.end();
}

std::string matchKey(const Json& e, const Kind& k) {
  const std::string name = e.value(k.name_field, "");
  return name.empty() ? "id:" + e.value("id", "") : "name:" + name;
}

// Fields that mean nothing to a comparison.
Json comparable(Json e) {
  if (!e.is_object()) return e;
  e.erase("created_at");
  e.erase("updated_at");
  return e;
}

bool isSecretPath(const std::string& path) {
  for (const char* s :
       {"header_value", "param_value", "secret", "password", "token", "service_account_json"})
    if (path.find(s) != std::string::npos) return true;
  return path == "keyauth_credentials" || path.rfind("keyauth_credentials", 0) == 0;
}

bool containsAny(const std::string& s, const std::vector<std::string>& values) {
  for (const auto& v : values)
    if (v.size() >= 3 && s.find(v) != std::string::npos) return true;
  return false;
}

std::string show(const std::string& path, const Json& v, const std::vector<std::string>& env) {
  if (v.is_null()) return "(none)";
  if (v.is_string() && isSecretPath(path) && !hasEnvReference(v.get<std::string>()) &&
      !containsAny(v.get<std::string>(), env))
    return "\"***\"";
  if (!v.is_string() && isSecretPath(path)) return "***";
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void fieldDiff(const Json& a, const Json& b, const std::string& path, std::vector<std::string>& out,
               const std::vector<std::string>& env) {
  if (a == b) return;
  if (a.is_object() && b.is_object()) {
    std::vector<std::string> keys;
    for (auto it = a.begin(); it != a.end(); ++it) keys.push_back(it.key());
    for (auto it = b.begin(); it != b.end(); ++it)
      if (!a.contains(it.key())) keys.push_back(it.key());
    for (const auto& k : keys) {
      const Json& av = a.contains(k) ? a[k] : Json();
      const Json& bv = b.contains(k) ? b[k] : Json();
      fieldDiff(av, bv, path.empty() ? k : path + "." + k, out, env);
    }
    return;
  }
  out.push_back(path + ": " + show(path, a, env) + " -> " + show(path, b, env));
}

std::string labelOf(const Json& e, const Kind& k, const Json& doc) {
  std::string label = std::string(k.singular) + " ";
  const std::string name = e.value(k.name_field, "");
  if (std::string(k.singular) == "plugin") {
    label += "\"" + e.value("name", "") + "\"";
    for (const auto& [field, coll, nf] :
         {std::tuple{"route", "routes", "name"}, std::tuple{"service", "services", "name"},
          std::tuple{"consumer", "consumers", "username"},
          std::tuple{"consumer_group", "consumer_groups", "name"}}) {
      if (!e.contains(field) || !e[field].is_object()) continue;
      const std::string id = e[field].value("id", "");
      std::string target = id;
      for (const auto& t : doc.value(coll, Json::array()))
        if (t.value("id", "") == id && !t.value(nf, "").empty()) target = t.value(nf, "");
      label += std::string(" on ") + field + " \"" + target + "\"";
    }
    if (!name.empty()) label += " (" + name + ")";
    return label;
  }
  return label + "\"" + (name.empty() ? e.value("id", "") : name) + "\"";
}

}  // namespace

Json withTag(const Json& flat, const std::string& tag) {
  Json out = flat;
  for (const auto& k : kKinds) {
    if (!out.contains(k.collection)) continue;
    for (auto& e : out[k.collection]) {
      if (hasTag(e, tag)) continue;
      if (!e.contains("tags") || !e["tags"].is_array()) e["tags"] = Json::array();
      e["tags"].push_back(tag);
    }
  }
  return out;
}

Json selectTagged(const Json& flat, const std::string& tag) {
  if (tag.empty()) return flat;
  Json out = flat;
  for (const auto& k : kKinds) {
    if (!out.contains(k.collection)) continue;
    Json kept = Json::array();
    for (const auto& e : out[k.collection])
      if (hasTag(e, tag)) kept.push_back(e);
    out[k.collection] = std::move(kept);
  }
  return out;
}

std::vector<EntityChange> diffDocuments(const Json& current_flat, const Json& target_flat,
                                        const std::string& tag,
                                        const std::vector<std::string>& env_values) {
  const Json cur = selectTagged(current_flat, tag), tgt = selectTagged(target_flat, tag);
  std::vector<EntityChange> changes;
  for (const auto& k : kKinds) {
    std::map<std::string, Json> before, after;
    for (const auto& e : cur.value(k.collection, Json::array())) before[matchKey(e, k)] = e;
    for (const auto& e : tgt.value(k.collection, Json::array())) after[matchKey(e, k)] = e;
    for (const auto& [key, e] : after) {
      auto it = before.find(key);
      if (it == before.end()) {
        changes.push_back({EntityChange::Op::Create, k.singular, labelOf(e, k, tgt), {}});
        continue;
      }
      Json a = comparable(it->second), b = comparable(e);
      if (key.rfind("name:", 0) == 0) {
        a.erase("id");
        b.erase("id");
      }
      std::vector<std::string> fields;
      fieldDiff(a, b, "", fields, env_values);
      if (!fields.empty())
        changes.push_back(
            {EntityChange::Op::Update, k.singular, labelOf(e, k, tgt), std::move(fields)});
    }
    for (const auto& [key, e] : before)
      if (!after.count(key))
        changes.push_back({EntityChange::Op::Delete, k.singular, labelOf(e, k, cur), {}});
  }
  return changes;
}

Json mergeForSync(const Json& current_flat, const Json& target_flat, const std::string& tag) {
  if (tag.empty()) return target_flat;
  Json out = current_flat;
  for (const auto& k : kKinds) {
    Json kept = Json::array();
    for (const auto& e : out.value(k.collection, Json::array()))
      if (!hasTag(e, tag)) kept.push_back(e);
    for (const auto& e : withTag(target_flat, tag).value(k.collection, Json::array()))
      kept.push_back(e);
    out[k.collection] = std::move(kept);
  }
  return out;
}

std::string formatChanges(const std::vector<EntityChange>& changes) {
  std::string out;
  for (const auto& c : changes) {
    const char* verb = c.op == EntityChange::Op::Create   ? "creating"
                       : c.op == EntityChange::Op::Update ? "updating"
                                                          : "deleting";
    out += std::string(verb) + " " + c.label + "\n";
    for (const auto& f : c.fields) out += "  " + f + "\n";
  }
  std::size_t created = 0, updated = 0, deleted = 0;
  for (const auto& c : changes) {
    if (c.op == EntityChange::Op::Create)
      ++created;
    else if (c.op == EntityChange::Op::Update)
      ++updated;
    else
      ++deleted;
  }
  out += "Summary:\n  Created: " + std::to_string(created) +
         "\n  Updated: " + std::to_string(updated) + "\n  Deleted: " + std::to_string(deleted) +
         "\n";
  return out;
}

std::string maskValues(std::string text, std::vector<std::string> values) {
  std::sort(values.begin(), values.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  static const std::string kMask = "[masked]";
  for (const auto& v : values) {
    if (v.size() < 3) continue;
    for (auto pos = text.find(v); pos != std::string::npos; pos = text.find(v, pos + kMask.size()))
      text.replace(pos, v.size(), kMask);
    // The diff shows strings JSON-escaped; mask the escaped form too.
    const std::string escaped = Json(v).dump(-1, ' ', false, Json::error_handler_t::replace);
    const std::string inner = escaped.substr(1, escaped.size() - 2);
    if (inner != v)
      for (auto pos = text.find(inner); pos != std::string::npos;
           pos = text.find(inner, pos + kMask.size()))
        text.replace(pos, inner.size(), kMask);
  }
  return text;
}

}  // namespace aigw::config
