#include "tty/tty.hpp"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace aigw::tty {

namespace {

// Best effort: a terminal that went away is no reason to fail.
void put(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

bool isTty(int fd) {
  return isatty(fd) == 1;
}

bool wantsColor(int fd) {
  if (!isTty(fd)) return false;
  if (const char* v = std::getenv("NO_COLOR"); v && *v) return false;
  if (const char* t = std::getenv("TERM"); t && std::strcmp(t, "dumb") == 0) return false;
  return true;
}

std::string Style::wrap(const char* code, std::string_view s) const {
  if (!color_) return std::string(s);
  return "\033[" + std::string(code) + "m" + std::string(s) + "\033[0m";
}

std::optional<std::string> readLine() {
  // Byte by byte from the descriptor: a buffered reader could swallow bytes that belong to
  // whoever reads fd 0 next (the chat line editor, a hidden prompt).
  std::string line;
  char c = 0;
  while (true) {
    const ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (line.empty()) return std::nullopt;
      break;
    }
    if (c == '\n') break;
    line += c;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

namespace {

termios g_saved_termios;
struct sigaction g_old_int, g_old_term;

void restoreAndDie(int sig) {
  // Only async-signal-safe calls: put the echo back, then die of the same signal.
  tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
  put(STDOUT_FILENO, "\n");
  signal(sig, SIG_DFL);
  raise(sig);
}

}  // namespace

std::optional<std::string> readHiddenLine(std::string_view prompt) {
  if (!isTty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &g_saved_termios) != 0) {
    put(STDOUT_FILENO, prompt);
    return readLine();
  }
  struct sigaction sa {};
  sa.sa_handler = restoreAndDie;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
  termios quiet = g_saved_termios;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;  // the Enter still moves to the next line
  tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  put(STDOUT_FILENO, prompt);
  auto line = readLine();
  tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
  return line;
}

Spinner::Spinner(int fd, bool enabled, bool unicode) : fd_(fd) {
  if (!enabled) return;
  thread_ = std::thread([this, unicode] {
    static const char* kUnicode[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
    static const char* kAscii[] = {"|", "/", "-", "\\"};
    const char** frames = unicode ? kUnicode : kAscii;
    const std::size_t count = unicode ? 10 : 4;
    for (std::size_t i = 0; !stop_.load(); ++i) {
      const std::string line = std::string("\r") + frames[i % count] + " ";
      put(fd_, line);
      // Animation pacing, not synchronisation: stop() is seen within one frame.
      for (int t = 0; t < 8 && !stop_.load(); ++t)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    put(fd_, "\r\033[K");
  });
}

void Spinner::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

}  // namespace aigw::tty
