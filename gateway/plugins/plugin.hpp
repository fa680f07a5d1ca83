// Plugins: one class per plugin, built at config load from its validated config, immutable,
// shared by all requests. Phases run in Kong's priority order (highest first); a plugin that
// sets ctx.error (Verdict::Respond) stops the access phase. Per-request state lives in the
// RequestContext, never in the plugin.
// Thread-safety: Plugin objects are const after construction and used from many threads.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "config/errors.hpp"
#include "config/schema.hpp"

namespace aigw::proxy {
struct RequestContext;
}

namespace aigw::plugins {

enum class Verdict {
  Continue,  // go on with the next plugin / the upstream call
  Respond,   // ctx.error holds the answer; skip the rest of the access phase and the upstream
};

class Plugin {
 public:
  virtual ~Plugin() = default;
  // access: before the upstream call; may read and rewrite ctx.body, prepare ctx.ai.
  virtual Verdict onAccess(proxy::RequestContext&) const { return Verdict::Continue; }
  // log: after the response was sent (usage and timings are final).
  virtual void onLog(const proxy::RequestContext&) const {}
};

struct PluginSpec {
  std::string_view name;
  int priority;  // Kong's PRIORITY, so configs order the same way
  const config::Schema& (*schema)();
  // Builds the plugin from its normalised config; cross-field problems go to `errors` with
  // paths under `path`. Returns null when there were errors.
  std::shared_ptr<const Plugin> (*create)(const nlohmann::json& config, const std::string& path,
                                          config::ConfigErrors& errors);
};

// The one table of plugins; null for unknown names.
const PluginSpec* findPlugin(std::string_view name);
std::vector<std::string> pluginNames();

}  // namespace aigw::plugins
