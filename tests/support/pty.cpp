#include "support/pty.hpp"

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>

extern char** environ;

namespace aigw::test {

namespace {

using Clock = std::chrono::steady_clock;

int decodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

PtyProcess::PtyProcess(std::vector<std::string> argv, std::map<std::string, std::string> env,
                       unsigned short cols, unsigned short rows) {
  std::vector<std::string> envs;
  for (char** e = environ; e && *e; ++e) {
    const std::string entry = *e;
    if (!env.count(entry.substr(0, entry.find('=')))) envs.push_back(entry);
  }
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  // Prepared before fork: the child only calls exec.
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : envs) cenv.push_back(e.data());
  cenv.push_back(nullptr);

  winsize ws{};
  ws.ws_col = cols;
  ws.ws_row = rows;
  pid_ = forkpty(&master_, nullptr, nullptr, &ws);
  if (pid_ < 0) throw std::runtime_error("forkpty failed");
  if (pid_ == 0) {
    execvpe(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
}

PtyProcess::~PtyProcess() {
  if (!status_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
  if (master_ >= 0) ::close(master_);
}

void PtyProcess::write(const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(master_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

bool PtyProcess::pump(int timeout_ms) {
  pollfd p{master_, POLLIN, 0};
  const int r = ::poll(&p, 1, timeout_ms);
  if (r <= 0) return true;
  char buf[4096];
  const ssize_t n = ::read(master_, buf, sizeof buf);
  if (n > 0) {
    out_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  return n < 0 && errno == EINTR;  // EIO: the child closed the terminal
}

bool PtyProcess::expect(const std::string& text, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    if (const auto at = out_.find(text, mark_); at != std::string::npos) {
      mark_ = at + text.size();
      return true;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    if (!pump(static_cast<int>(left))) {
      if (out_.find(text, mark_) != std::string::npos) continue;
      return false;
    }
  }
}

std::optional<int> PtyProcess::wait(int timeout_ms) {
  if (status_) return status_;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      while (pump(0) && out_.size() < (64u << 20)) {
        pollfd p{master_, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0) break;
      }
      status_ = decodeStatus(st);
      return status_;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    // Keep draining the terminal: a child blocked on a full pty buffer would never exit.
    pump(20);
  }
}

}  // namespace aigw::test
