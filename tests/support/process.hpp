// Test harness for integration tests: child processes (aigw, fake_provider) with their output
// in a log file, loopback ports, and bounded waits for them to come up.
//
// Every wait here is on an event (a port accepting, a file appearing, a child exiting) with a
// deadline; none is a fixed sleep used as synchronisation.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace aigw::test {

// A unique, new directory under /tmp; the caller owns it.
std::string tempDir();
// Removes a directory tree, unless AIGW_TEST_KEEP_LOGS is set (to read logs after a run).
void removeTempDir(const std::string& dir);
void writeFile(const std::string& path, const std::string& content);
std::string readFile(const std::string& path);

// Polls `done` until it returns true (-> true) or timeout_ms pass (-> false).
bool waitUntil(const std::function<bool()>& done, int timeout_ms);

// A loopback port held by the test for as long as the object lives: bound (never listening)
// with SO_REUSEADDR and SO_REUSEPORT, so the kernel hands it to nobody else and a connect to
// it is refused, yet a child told to listen on it can still bind it (httplib sets
// SO_REUSEPORT, Asio acceptors SO_REUSEADDR). This replaces "bind :0, close, hope nobody takes
// the port before the child binds it". Use it for a fixed port a command insists on, and for
// "nothing listens there"; servers that accept port 0 should be started on port 0 instead.
class ReservedPort {
 public:
  ReservedPort();
  ~ReservedPort();
  ReservedPort(const ReservedPort&) = delete;
  ReservedPort& operator=(const ReservedPort&) = delete;
  int port() const { return port_; }
  std::string hostPort() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class Process;
// Polls connect() to 127.0.0.1:port until it is accepted or the deadline passes. Gives up
// early when `watch` exits (a server that crashed at start will never listen).
bool waitForPort(int port, int timeout_ms, const Process* watch = nullptr);
// Waits until `path` holds a port number. Gives up early when `watch` exits.
std::optional<int> waitForPortFile(const std::string& path, int timeout_ms,
                                   const Process* watch = nullptr);

// The ports `aigw serve` reports once both listeners are bound, from the line it prints at
// start ("aigw <version>: proxy on HOST:PORT, admin on HOST:PORT (...)"). Started with
// --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 the kernel picks the ports, so no two tests
// can race for one.
struct ServePorts {
  int proxy = 0;
  int admin = 0;
};
std::optional<ServePorts> parseServePorts(const std::string& log);
// Waits for that line in the child's log; gives up at once when the child exits (the caller
// then reports the log, which says why).
std::optional<ServePorts> waitForServePorts(const Process& serve, int timeout_ms);

// A child process in its own process group, stdin from /dev/null, stdout and stderr appended
// to one log file in a directory of its own. Exit statuses follow the shell: the exit code, or
// 128 + signal number. Not copyable. The destructor kills (SIGKILL to the group) a child still
// running and removes the log (see removeTempDir).
class Process {
 public:
  // argv[0] is the program: a path, or a name looked up in PATH. `env` adds to (or replaces
  // entries of) the test's own environment.
  explicit Process(std::vector<std::string> argv, std::map<std::string, std::string> env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;

  pid_t pid() const { return pid_; }
  bool running() const;
  // Sends `sig` to the child (not its group), e.g. SIGHUP to reload.
  void signal(int sig) const;
  // The exit status once the child has exited within the timeout.
  std::optional<int> wait(int timeout_ms) const;
  // SIGTERM, then SIGKILL to the whole group if the child is still there after timeout_ms.
  int terminate(int timeout_ms = 5000);

  const std::string& log_path() const { return log_path_; }
  std::string log() const;

 private:
  // Reaps the child without blocking; true once it has exited.
  bool reap() const;

  pid_t pid_ = -1;
  std::string log_path_;
  mutable std::optional<int> status_;
};

// fake_provider on an ephemeral loopback port, with its recording endpoints wrapped.
// Throws std::runtime_error (with the fake's log) if it does not come up.
class FakeProvider {
 public:
  explicit FakeProvider(const std::string& binary, int timeout_ms = 10000);
  ~FakeProvider();
  FakeProvider(const FakeProvider&) = delete;
  FakeProvider& operator=(const FakeProvider&) = delete;

  int port() const { return port_; }
  std::string baseUrl() const;  // "http://127.0.0.1:PORT"
  // Every request the fake received, oldest first (see fake_provider.cpp for the shape).
  nlohmann::json requests() const;
  // The last request, or null if none was recorded.
  nlohmann::json lastRequest() const;
  void clear() const;
  Process& process() { return process_; }
  std::string log() const { return process_.log(); }

 private:
  std::string dir_;
  Process process_;
  int port_ = 0;
};

}  // namespace aigw::test
