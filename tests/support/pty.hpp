// A child process on a pseudo-terminal, for tests of interactive commands (prompts, hidden
// input, the chat REPL, Ctrl-C): the child sees a real terminal on stdin/stdout/stderr and is
// the foreground process group, so a "\x03" written here reaches it as SIGINT unless it has the
// terminal in raw mode.
//
// Waits are on output text with a deadline; none is a fixed sleep.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace aigw::test {

class PtyProcess {
 public:
  // argv[0]: a path or a name in PATH. `env` adds to (or replaces entries of) this
  // process's environment.
  explicit PtyProcess(std::vector<std::string> argv, std::map<std::string, std::string> env = {},
                      unsigned short cols = 120, unsigned short rows = 40);
  ~PtyProcess();
  PtyProcess(const PtyProcess&) = delete;
  PtyProcess& operator=(const PtyProcess&) = delete;

  // Types `bytes` (e.g. "answer\r", "\x03" for Ctrl-C, "\x04" for Ctrl-D).
  void write(const std::string& bytes);
  // Waits until `text` appears after the mark; on success the mark moves past it, so the
  // next expect() looks only at newer output.
  bool expect(const std::string& text, int timeout_ms);
  // Everything the child wrote so far, and what came after the mark.
  const std::string& output() const { return out_; }
  std::string sinceMark() const { return out_.substr(mark_); }
  // Moves the mark to the end of the output read so far.
  void markNow() { mark_ = out_.size(); }
  // The exit status (as the shell reports it) once the child has exited within the timeout.
  std::optional<int> wait(int timeout_ms);
  pid_t pid() const { return pid_; }

 private:
  // Reads whatever is available within `timeout_ms`; false once the terminal is closed.
  bool pump(int timeout_ms);

  pid_t pid_ = -1;
  int master_ = -1;
  std::string out_;
  std::size_t mark_ = 0;
  std::optional<int> status_;
};

}  // namespace aigw::test
