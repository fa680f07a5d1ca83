// Which `${{ env "NAME" }}` references an entity written over the admin API may contain. The
// gateway resolves them from its own environment, so without a limit any client of the admin
// API could read any variable of the gateway process (point a route's upstream at itself, put
// `${{ env "X" }}` in a header, send one request). The operator allows names or prefixes with
// --admin-env-allow NAME,PREFIX_* (none by default). References already in the running config
// (from `serve -c`, SIGHUP, or allowed earlier) stay usable when an admin write leaves them as
// they are; files loaded with `serve -c` or SIGHUP are not limited at all.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace aigw::admin {

struct EnvAllowList {
  std::vector<std::string> patterns;  // "NAME" or "PREFIX_*"
  bool allows(const std::string& name) const;
};

struct EnvReferenceRefusal {
  std::string path;      // flat path of the field, e.g. "plugins[2].config.auth.header_value"
  std::string variable;  // the variable it names
  std::string message;   // for the 400: names the variable and how to allow it
};

// References in `after_flat` that are new (not the same string at the same place of the same
// entity, by id, in `before_flat`) and not allowed.
std::vector<EnvReferenceRefusal> refusedEnvReferences(const nlohmann::json& before_flat,
                                                      const nlohmann::json& after_flat,
                                                      const EnvAllowList& allow);

}  // namespace aigw::admin
