#include "admin/env_allow.hpp"

#include <map>
#include <nlohmann/json.hpp>

#include "config/document.hpp"
#include "config/entities.hpp"

namespace aigw::admin {

namespace {

using Json = nlohmann::json;

// The variables a string refers to, found with the same parser that resolves them.
std::vector<std::string> referencedNames(const std::string& s) {
  std::vector<std::string> names;
  config::ConfigErrors ignored;  // a malformed reference is the builder's to report
  (void)config::resolveEnv(
      Json(s),
      [&](const std::string& name) -> const char* {
        names.push_back(name);
        return "";
      },
      ignored);
  return names;
}

// Every string leaf with env references: (path relative to the entity, JSON pointer, value).
void walk(const Json& v, const std::string& path, const Json::json_pointer& ptr,
          const std::function<void(const std::string&, const Json::json_pointer&,
                                   const std::string&)>& visit) {
  if (v.is_string()) {
    if (config::hasEnvReference(v.get_ref<const std::string&>()))
      visit(path, ptr, v.get_ref<const std::string&>());
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i)
      walk(v[i], config::indexPath(path, i), ptr / i, visit);
  } else if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it)
      walk(it.value(), config::joinPath(path, it.key()), ptr / it.key(), visit);
  }
}

}  // namespace

bool EnvAllowList::allows(const std::string& name) const {
  for (const auto& p : patterns) {
    if (p.empty()) continue;
    if (p.back() == '*' ? name.compare(0, p.size() - 1, p, 0, p.size() - 1) == 0 : name == p)
      return true;
  }
  return false;
}

std::vector<EnvReferenceRefusal> refusedEnvReferences(const Json& before, const Json& after,
                                                      const EnvAllowList& allow) {
  std::vector<EnvReferenceRefusal> out;
  if (!after.is_object()) return out;
  for (const char* collection : {"services", "routes", "plugins", "consumer_groups", "consumers"}) {
    auto list = after.find(collection);
    if (list == after.end() || !list->is_array()) continue;
    std::map<std::string, const Json*> old;
    if (before.is_object() && before.contains(collection) && before[collection].is_array())
      for (const auto& e : before[collection])
        if (const std::string id = config::stringField(e, "id"); !id.empty()) old[id] = &e;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const Json& entity = (*list)[i];
      const auto prev = old.find(config::stringField(entity, "id"));
      const std::string base = std::string(collection) + "[" + std::to_string(i) + "]";
      walk(entity, base, Json::json_pointer(),
           [&](const std::string& path, const Json::json_pointer& ptr, const std::string& value) {
             // Unchanged from what the running config already holds: not a new reference.
             if (prev != old.end() && prev->second->contains(ptr) && (*prev->second)[ptr] == value)
               return;
             for (const auto& name : referencedNames(value))
               if (!allow.allows(name))
                 out.push_back({path, name,
                                "${{ env \"" + name +
                                    "\" }} is not allowed over the admin API: the gateway's "
                                    "environment is not readable through it (the operator can "
                                    "allow it with --admin-env-allow " +
                                    name + ")"});
           });
    }
  }
  return out;
}

}  // namespace aigw::admin
