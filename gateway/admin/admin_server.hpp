// The admin API served by the event-loop HTTP server (proxy/net/http_server.hpp) rather than a
// thread per connection: slow or idle clients cost a socket, not a thread, every request head
// has a deadline, and connections per client are capped, so no number of trickling clients can
// starve /status, sync or dump. The admin handlers stay plain functions of (Request, Response);
// this adapter reads the body, parses the query and multipart forms, applies the access checks
// and writes the answer.
// Thread-safety: the returned handler runs on the admin loop; the admin handler's own rules
// apply (writes serialise inside ConfigManager).
#pragma once

#include "admin/admin_api.hpp"
#include "proxy/net/http_server.hpp"

namespace aigw::admin {

// Largest admin request body (a whole declarative config in POST /config).
inline constexpr std::size_t kMaxAdminBody = 32u << 20;

net::Handler makeAdminNetHandler(AdminHandler handler, AdminAccessOptions access);

// Limits for the admin listener: short head deadline, connections per client capped.
net::ServerLimits adminServerLimits();

}  // namespace aigw::admin
