// The I/O side of `aigw quickstart`: probing Ollama, waiting for a gateway to answer, and
// running one in the background.
// Thread-safety: free functions; spawnDetached() forks, so call it from the main thread.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace aigw::quickstart {

// The models of the Ollama at `base_url` (GET /api/tags), or nullopt when nothing answers
// within `timeout_ms` (connect and read each).
std::optional<std::vector<std::string>> probeOllama(const std::string& base_url, int timeout_ms);

// Polls until the admin API answers GET /status with 200 and the proxy answers any HTTP request,
// both on 127.0.0.1; false after `timeout_ms` or as soon as `alive` returns false.
bool waitUntilAnswering(int port, int admin_port, int timeout_ms,
                        const std::function<bool()>& alive);

// Starts `argv` (argv[0] a path) in a new session with stdin from /dev/null and stdout and
// stderr appended to `log_path`; it inherits this process's environment.
Result<pid_t> spawnDetached(const std::vector<std::string>& argv, const std::string& log_path);
// True while `pid` is a process of ours that has not exited (reaps it if it has).
bool childAlive(pid_t pid);

// The path of the running binary, to start `aigw serve` from it.
std::string selfExecutable();

// The pid in `pid_file` if that process is still an `aigw serve` (so a stale file or a reused
// pid is never signalled).
std::optional<pid_t> runningGateway(const std::string& pid_file);
// SIGTERM, then waits up to `timeout_ms` for the process to go; true when it went.
bool stopProcess(pid_t pid, int timeout_ms);

// Who listens on a local TCP port (any address, IPv4 or IPv6), from /proc/net/tcp{,6}: the
// pid and command when /proc lets us see them (0 and "" otherwise).
struct PortListener {
  pid_t pid = 0;
  std::string command;
};
std::optional<PortListener> portListener(int port);

// The last `lines` lines of a file (for a gateway that died at start).
std::string tailFile(const std::string& path, int lines);

}  // namespace aigw::quickstart
