// The admin API (Kong's shapes, loopback by default): status, CRUD on services, routes,
// plugins, consumers and key-auth credentials (by id or name, nested paths, JSON or form
// bodies), GET/POST /config. Every accepted change goes through ConfigManager: validated,
// persisted atomically, then published; a rejected change leaves the running config as it was.
// Thread-safety: handlers may run concurrently; writes serialise inside ConfigManager.
#pragma once

#include <httplib.h>

#include <functional>
#include <string>

#include "config/persist.hpp"

namespace aigw::admin {

// `metrics` renders GET /metrics (Prometheus text).
void registerAdminApi(httplib::Server& server, config::ConfigManager& manager,
                      std::function<std::string()> metrics);

}  // namespace aigw::admin
