// The admin API (Kong's shapes, loopback by default): status, CRUD on services, routes,
// plugins, consumers and key-auth credentials (by id or name, Kong's nested paths, JSON or
// form bodies), schemas, GET/POST /config. Every accepted change goes through ConfigManager:
// validated, persisted atomically, then published; a rejected change leaves the running config
// as it was. No input is answered with a 500.
// Thread-safety: handlers may run concurrently; writes serialise inside ConfigManager.
#pragma once

#include <httplib.h>

#include <functional>
#include <string>

#include "admin/access.hpp"
#include "admin/env_allow.hpp"
#include "config/persist.hpp"

namespace aigw::admin {

struct AdminApiOptions {
  std::function<std::string()> metrics;  // renders GET /metrics (Prometheus text)
  AdminAccessOptions access;             // Host / Origin / token checks (admin/access.hpp)
  EnvAllowList env_allow;                // ${{ env }} names a write may add (admin/env_allow.hpp)
};

// One handler for every admin request (dispatches on method and path itself); the event-loop
// server carries it (admin/admin_server.hpp).
using AdminHandler = std::function<void(const httplib::Request&, httplib::Response&)>;
AdminHandler makeAdminHandler(config::ConfigManager& manager, AdminApiOptions options);

// The access checks (admin/access.hpp) applied to an httplib request: true when they answered
// (a refusal, or a CORS preflight), false when the request goes on to the handler.
bool guardAdminRequest(const httplib::Request& req, httplib::Response& res,
                       const AdminAccessOptions& access);

}  // namespace aigw::admin
