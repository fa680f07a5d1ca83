#include "quickstart/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <httplib.h>

#include "admin/client.hpp"

#include "quickstart/generate.hpp"

namespace aigw::quickstart {

namespace {

using Clock = std::chrono::steady_clock;

bool answers(const std::string& host, int port, const std::string& path, int want_status) {
  httplib::Client cli(host, port);
  cli.set_connection_timeout(0, 300'000);
  cli.set_read_timeout(1, 0);
  httplib::Headers headers;  // the admin API wants its token when one is set
  if (const auto token = admin::defaultAdminToken(); !token.empty())
    headers.emplace(admin::kAdminTokenHeader, token);
  auto res = cli.Get(path.c_str(), headers);
  return res && (want_status == 0 || res->status == want_status);
}

}  // namespace

std::optional<std::vector<std::string>> probeOllama(const std::string& base_url, int timeout_ms) {
  httplib::Client cli(base_url);
  const auto sec = timeout_ms / 1000;
  const auto usec = (timeout_ms % 1000) * 1000;
  cli.set_connection_timeout(sec, usec);
  cli.set_read_timeout(sec, usec);
  cli.set_write_timeout(sec, usec);
  auto res = cli.Get("/api/tags");
  if (!res || res->status != 200) return std::nullopt;
  return parseOllamaTags(res->body);
}

bool waitUntilAnswering(int port, int admin_port, int timeout_ms,
                        const std::function<bool()>& alive) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    if (alive && !alive()) return false;
    // Any HTTP answer from the proxy will do (an unknown path is a 404 from the gateway).
    if (answers("127.0.0.1", admin_port, "/status", 200) && answers("127.0.0.1", port, "/", 0))
      return true;
    // Polling interval while a child process binds its ports; the deadline bounds the wait.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

Result<pid_t> spawnDetached(const std::vector<std::string>& argv, const std::string& log_path) {
  // Everything the child needs is prepared before fork(): after it, only async-signal-safe
  // calls until exec.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int log =
      ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOCTTY | O_CLOEXEC, 0600);
  if (log < 0)
    return Result<pid_t>::failure("cannot open " + log_path + ": " + std::strerror(errno));
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log);
    if (null >= 0) ::close(null);
    return Result<pid_t>::failure(std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::setsid();  // its own session: the terminal's Ctrl-C and hangup never reach it
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (null >= 0) ::dup2(null, STDIN_FILENO);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    ::execv(args[0], args.data());
    _exit(127);
  }
  ::close(log);
  if (null >= 0) ::close(null);
  return pid;
}

bool childAlive(pid_t pid) {
  int status = 0;
  const pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == 0) return true;
  if (r == pid) return false;
  return ::kill(pid, 0) == 0;  // not our child: alive while it exists
}

std::string selfExecutable() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "aigw";
  return std::string(buf, static_cast<std::size_t>(n));
}

std::optional<pid_t> runningGateway(const std::string& pid_file) {
  std::ifstream in(pid_file);
  long pid = 0;
  if (!(in >> pid) || pid <= 1) return std::nullopt;
  std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
  // argv is NUL-separated: look for the "serve" argument of an aigw binary.
  if (args.find("aigw") == std::string::npos ||
      args.find(std::string("\0serve\0", 7)) == std::string::npos)
    return std::nullopt;
  return static_cast<pid_t>(pid);
}

bool stopProcess(pid_t pid, int timeout_ms) {
  if (::kill(pid, SIGTERM) != 0) return errno == ESRCH;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    ::waitpid(pid, nullptr, WNOHANG);  // reaps it if it happens to be our child
    if (::kill(pid, 0) != 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

namespace {

// The inodes of sockets in LISTEN state on `port` in one /proc/net/tcp* table.
void listeningInodes(const char* table, int port, std::vector<std::string>& inodes) {
  std::ifstream in(table);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode))
      continue;
    const auto colon = local.rfind(':');
    if (state != "0A" || colon == std::string::npos) continue;  // 0A = LISTEN
    if (std::strtol(local.c_str() + colon + 1, nullptr, 16) == port) inodes.push_back(inode);
  }
}

}  // namespace

std::optional<PortListener> portListener(int port) {
  std::vector<std::string> inodes;
  listeningInodes("/proc/net/tcp", port, inodes);
  listeningInodes("/proc/net/tcp6", port, inodes);
  if (inodes.empty()) return std::nullopt;
  PortListener found;
  std::error_code ec;
  for (const auto& proc : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = proc.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    for (const auto& fd : std::filesystem::directory_iterator(proc.path() / "fd", ec)) {
      const std::string target = std::filesystem::read_symlink(fd.path(), ec).string();
      for (const auto& inode : inodes) {
        if (target != "socket:[" + inode + "]") continue;
        found.pid = static_cast<pid_t>(std::stol(name));
        std::ifstream comm(proc.path() / "comm");
        std::getline(comm, found.command);
        return found;
      }
    }
  }
  return found;
}

std::string tailFile(const std::string& path, int lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::ostringstream out;
  const std::size_t from = all.size() > static_cast<std::size_t>(lines) ? all.size() - lines : 0;
  for (std::size_t i = from; i < all.size(); ++i) out << all[i] << "\n";
  return out.str();
}

}  // namespace aigw::quickstart
