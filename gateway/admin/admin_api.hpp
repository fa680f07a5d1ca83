// The admin API (Kong's shapes, loopback by default).
// Thread-safety: handlers read the store's current snapshot; safe from any worker.
#pragma once

#include <httplib.h>

#include "config/store.hpp"

namespace aigw::admin {

void registerAdminApi(httplib::Server& server, config::ConfigStore& store);

}  // namespace aigw::admin
