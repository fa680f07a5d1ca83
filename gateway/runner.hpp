// Running a Gateway in the foreground until a stop signal: shared by `aigw serve` and
// `aigw quickstart`, so both stop and reload the same way.
// Thread-safety: call from the main thread before any other thread exists (it blocks the
// signals process-wide so that only its sigwait() sees them).
#pragma once

#include <functional>
#include <string>

#include "config/model.hpp"
#include "server.hpp"

namespace aigw {

struct RunOptions {
  GatewayOptions gateway;
  std::string config_file;       // re-read on SIGHUP; empty = SIGHUP is ignored
  bool persist_initial = false;  // write `initial` to the data dir before serving (serve -c)
};

// Starts the gateway, calls `on_started` once both listeners are up, then waits: SIGHUP
// reloads `config_file` (a bad file keeps the running config), SIGINT/SIGTERM stop gracefully
// (in-flight requests finish). Messages go to stderr. Returns the exit code: 0 after a stop,
// 1 when the gateway could not start.
int runUntilSignalled(const RunOptions& options, config::ConfigPtr initial,
                      const std::function<void(Gateway&)>& on_started = {});

}  // namespace aigw
