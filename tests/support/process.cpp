#include "support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include <httplib.h>

extern char** environ;

namespace aigw::test {

// The pause between polls starts short (most waits end within milliseconds) and grows, so
// long waits do not burn a core.
bool waitUntil(const std::function<bool()>& done, int timeout_ms) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    if (done()) return true;
    const auto now = Clock::now();
    if (now >= deadline) return false;
    std::this_thread::sleep_for(std::min<Clock::duration>(
        pause, std::chrono::duration_cast<Clock::duration>(deadline - now)));
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

namespace {

int decodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string baseName(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::vector<std::string> mergedEnvironment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    if (!extra.count(name)) out.push_back(entry);
  }
  for (const auto& [name, value] : extra) out.push_back(name + "=" + value);
  return out;
}

std::vector<char*> cStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::string tempDir() {
  std::string pattern = "/tmp/aigw-test-XXXXXX";
  if (!::mkdtemp(pattern.data())) {
    throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  }
  return pattern;
}

void removeTempDir(const std::string& dir) {
  // Kept on request, to read the logs of a failed run after the fact.
  if (const char* keep = std::getenv("AIGW_TEST_KEEP_LOGS"); keep && *keep && *keep != '0') {
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

void writeFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

ReservedPort::ReservedPort() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  const int yes = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &yes, sizeof yes);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd_);
    throw std::runtime_error("cannot bind 127.0.0.1:0");
  }
  port_ = ntohs(addr.sin_port);
}

ReservedPort::~ReservedPort() {
  if (fd_ >= 0) ::close(fd_);
}

bool waitForPort(int port, int timeout_ms, const Process* watch) {
  bool accepted = false;
  waitUntil(
      [&] {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return false;
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<uint16_t>(port));
        accepted = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ::close(fd);
        return accepted || (watch && !watch->running());
      },
      timeout_ms);
  return accepted;
}

std::optional<int> waitForPortFile(const std::string& path, int timeout_ms, const Process* watch) {
  std::optional<int> port;
  auto read_port = [&] {
    int value = 0;
    std::ifstream in(path);
    if (in >> value && value > 0 && value < 65536) port = value;
    return port.has_value();
  };
  waitUntil(
      [&] {
        if (read_port()) return true;
        if (!watch || watch->running()) return false;
        read_port();  // it may have been written just before the process exited
        return true;
      },
      timeout_ms);
  return port;
}

std::optional<ServePorts> parseServePorts(const std::string& log) {
  // "aigw 0.1.0: proxy on 127.0.0.1:41234, admin on 127.0.0.1:41235 (3 routes)"
  static const std::regex kLine(R"(: proxy on \S*:(\d+), admin on \S*:(\d+) \()");
  std::smatch m;
  if (!std::regex_search(log, m, kLine)) return std::nullopt;
  ServePorts ports{std::stoi(m[1]), std::stoi(m[2])};
  if (ports.proxy <= 0 || ports.admin <= 0) return std::nullopt;
  return ports;
}

std::optional<ServePorts> waitForServePorts(const Process& serve, int timeout_ms) {
  std::optional<ServePorts> ports;
  waitUntil(
      [&] {
        ports = parseServePorts(serve.log());
        if (ports || serve.running()) return ports.has_value();
        ports = parseServePorts(serve.log());  // printed just before it exited
        return true;
      },
      timeout_ms);
  return ports;
}

Process::Process(std::vector<std::string> argv, std::map<std::string, std::string> env) {
  if (argv.empty()) throw std::invalid_argument("Process: empty argv");
  log_path_ = tempDir() + "/" + baseName(argv[0]) + ".log";

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);

  // The child starts with a clean signal state whatever the test runner did (an ignored
  // SIGPIPE or a blocked SIGTERM would otherwise be inherited across exec), and in its own
  // group so that a kill reaches whatever it spawned.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2}) {
    sigaddset(&defaults, sig);
  }
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> env_strings = mergedEnvironment(env);
  auto argv_c = cStrings(argv);
  auto env_c = cStrings(env_strings);
  const int rc =
      ::posix_spawnp(&pid_, argv[0].c_str(), &actions, &attr, argv_c.data(), env_c.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    pid_ = -1;
    removeTempDir(log_path_.substr(0, log_path_.rfind('/')));
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
}

Process::~Process() {
  if (pid_ > 0 && !reap()) {
    ::kill(-pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (!log_path_.empty()) removeTempDir(log_path_.substr(0, log_path_.rfind('/')));
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      log_path_(std::exchange(other.log_path_, {})),
      status_(std::move(other.status_)) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    Process dying(std::move(*this));
    pid_ = std::exchange(other.pid_, -1);
    log_path_ = std::exchange(other.log_path_, {});
    status_ = std::move(other.status_);
  }
  return *this;
}

bool Process::reap() const {
  if (status_) return true;
  if (pid_ <= 0) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = decodeStatus(status);
  } else if (r < 0 && errno == ECHILD) {
    status_ = -1;  // reaped elsewhere; the status is lost
  }
  return status_.has_value();
}

bool Process::running() const {
  return pid_ > 0 && !reap();
}

void Process::signal(int sig) const {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> Process::wait(int timeout_ms) const {
  if (pid_ <= 0) return std::nullopt;
  if (!waitUntil([this] { return reap(); }, timeout_ms)) return std::nullopt;
  return status_;
}

int Process::terminate(int timeout_ms) {
  if (pid_ <= 0) return -1;
  if (reap()) return *status_;
  ::kill(pid_, SIGTERM);
  if (auto status = wait(timeout_ms)) return *status;
  ::kill(-pid_, SIGKILL);
  int status = 0;
  if (::waitpid(pid_, &status, 0) == pid_) status_ = decodeStatus(status);
  return status_.value_or(-1);
}

std::string Process::log() const {
  return readFile(log_path_);
}

FakeProvider::FakeProvider(const std::string& binary, int timeout_ms)
    : dir_(tempDir()), process_({binary, "--port", "0", "--port-file", dir_ + "/port"}) {
  const auto port = waitForPortFile(dir_ + "/port", timeout_ms, &process_);
  // The port file is written after listen(), so the port is already accepting; checking
  // anyway turns a broken fake into a clear error here rather than a confusing one later.
  if (!port || !waitForPort(*port, timeout_ms, &process_)) {
    process_.terminate(1000);
    throw std::runtime_error("fake_provider did not start (" + binary + "):\n" + process_.log());
  }
  port_ = *port;
}

FakeProvider::~FakeProvider() {
  removeTempDir(dir_);
}

std::string FakeProvider::baseUrl() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

namespace {

nlohmann::json getJson(int port, const std::string& path, bool not_found_is_null) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  const auto res = client.Get(path);
  if (!res) throw std::runtime_error("fake_provider GET " + path + ": " + to_string(res.error()));
  if (res->status == 404 && not_found_is_null) return nullptr;
  if (res->status != 200) {
    throw std::runtime_error("fake_provider GET " + path + ": status " +
                             std::to_string(res->status));
  }
  return nlohmann::json::parse(res->body);
}

}  // namespace

nlohmann::json FakeProvider::requests() const {
  return getJson(port_, "/__fake/requests", false);
}

nlohmann::json FakeProvider::lastRequest() const {
  return getJson(port_, "/__fake/last", true);
}

void FakeProvider::clear() const {
  httplib::Client client("127.0.0.1", port_);
  client.set_connection_timeout(5);
  const auto res = client.Delete("/__fake/requests");
  if (!res || res->status != 204) throw std::runtime_error("fake_provider: clear failed");
}

}  // namespace aigw::test
