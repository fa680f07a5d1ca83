// Terminal helpers shared by `aigw quickstart` and `aigw chat`: colour decisions, unbuffered
// line input (so a later raw read never loses bytes a stdio buffer took), hidden input for
// keys, and a spinner.
// Thread-safety: Style is a value; Spinner owns one thread; the readers use fd 0.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace aigw::tty {

bool isTty(int fd);
// Colours and symbols on `fd`: only on a terminal, never with NO_COLOR set or TERM=dumb.
bool wantsColor(int fd);

class Style {
 public:
  explicit Style(bool color = false) : color_(color) {}
  bool color() const { return color_; }
  std::string bold(std::string_view s) const { return wrap("1", s); }
  std::string dim(std::string_view s) const { return wrap("2", s); }
  std::string red(std::string_view s) const { return wrap("31", s); }
  std::string green(std::string_view s) const { return wrap("32", s); }
  std::string yellow(std::string_view s) const { return wrap("33", s); }
  std::string cyan(std::string_view s) const { return wrap("36", s); }
  // A leading mark for status lines: symbols on a colour terminal, words otherwise.
  std::string ok() const { return color_ ? green("✓") : "ok:"; }
  std::string warn() const { return color_ ? yellow("!") : "note:"; }
  std::string fail() const { return color_ ? red("✗") : "error:"; }

 private:
  std::string wrap(const char* code, std::string_view s) const;
  bool color_;
};

// One line from fd 0 without the newline; nullopt at end of input.
std::optional<std::string> readLine();
// Writes `prompt` to stdout and reads a line like readLine, with echo off when fd 0 is a
// terminal (keys). Echo goes off before the prompt shows, so nothing typed in answer to it is
// ever echoed. Ctrl-C while reading restores the terminal before the process dies, so the
// shell never stays silent.
std::optional<std::string> readHiddenLine(std::string_view prompt);

// "⠋ thinking" frames on `fd` until stop(); erases itself. Does nothing when `enabled` is false.
class Spinner {
 public:
  Spinner(int fd, bool enabled, bool unicode);
  ~Spinner() { stop(); }
  Spinner(const Spinner&) = delete;
  Spinner& operator=(const Spinner&) = delete;
  void stop();

 private:
  int fd_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace aigw::tty
