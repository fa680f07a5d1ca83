#include "admin/admin_api.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/json.hpp"
#include "plugins/plugin.hpp"
#include "providers/provider.hpp"

namespace aigw::admin {

namespace {

void sendJson(httplib::Response& res, const nlohmann::json& body, int status = 200) {
  res.status = status;
  res.set_content(json::dump(body), "application/json");
}

std::string hostname() {
  char buf[256] = {0};
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}

}  // namespace

void registerAdminApi(httplib::Server& server, config::ConfigStore& store) {
  server.Get("/", [&store](const httplib::Request&, httplib::Response& res) {
    auto cfg = store.current();
    nlohmann::json available = nlohmann::json::object();
    for (const auto& name : plugins::pluginNames()) available[name] = {{"version", AIGW_VERSION}, {"priority", plugins::findPlugin(name)->priority}};
    nlohmann::json enabled = nlohmann::json::array();
    for (const auto& p : cfg->plugins)
      if (p.enabled && std::find(enabled.begin(), enabled.end(), p.name) == enabled.end()) enabled.push_back(p.name);
    sendJson(res, {{"version", AIGW_VERSION},
                   {"tagline", "Welcome to aigw"},
                   {"hostname", hostname()},
                   {"lua_version", nullptr},
                   {"plugins", {{"available_on_server", available}, {"enabled_in_cluster", enabled}}},
                   {"providers", providers::providerNames()}});
  });
  server.Get("/status", [&store](const httplib::Request&, httplib::Response& res) {
    auto cfg = store.current();
    sendJson(res, {{"server", {{"version", AIGW_VERSION}, {"hostname", hostname()}, {"pid", static_cast<long>(getpid())}}},
                   {"database", {{"reachable", true}}},
                   {"configuration", {{"services", cfg->services.size()},
                                      {"routes", cfg->routes.size()},
                                      {"plugins", cfg->enabledPluginCount()},
                                      {"consumers", cfg->consumers.size()}}}});
  });
}

}  // namespace aigw::admin
