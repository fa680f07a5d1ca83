// A small line editor for the chat REPL (no library needed): cursor keys, Home/End, Ctrl-A/E/
// B/F/K/U/W/L, history with Up/Down, UTF-8 text, horizontal scrolling for long lines, and
// bracketed paste (a pasted newline continues the message instead of sending it).
// The terminal is in raw mode only inside read(), so Ctrl-C arrives as a key there and as
// SIGINT everywhere else.
// Thread-safety: one object, one thread.
#pragma once

#include <atomic>
#include <string>
#include <vector>

namespace aigw::chat {

class LineEditor {
 public:
  enum class Status { kLine, kInterrupted, kEof };
  struct Input {
    Status status = Status::kLine;
    std::string text;        // the line (for kInterrupted: what was typed, now discarded)
    bool continued = false;  // ended by a newline inside a paste: more of the message follows
  };

  // `interrupted` is raised by a SIGINT handler: a signal that lands while read() waits (sent
  // with kill, or typed just before raw mode began) counts as Ctrl-C.
  explicit LineEditor(const std::atomic<bool>* interrupted = nullptr, int in_fd = 0, int out_fd = 1)
      : interrupted_(interrupted), in_(in_fd), out_(out_fd) {}
  // `prompt` may hold colour codes; its width on screen is counted without them.
  Input read(const std::string& prompt);
  void addHistory(const std::string& line);

 private:
  int readByte();  // -1 at end of input; 3 (Ctrl-C) on SIGINT
  void refresh();
  void insert(const std::string& bytes);
  void moveLeft();
  void moveRight();
  void backspace();
  void deleteAtCursor();
  void deleteWordBack();
  void historyStep(int delta);
  void escape();

  const std::atomic<bool>* interrupted_;
  int in_, out_;
  std::string prompt_;
  std::string buf_;
  std::size_t pos_ = 0;  // byte offset of the cursor, always on a UTF-8 boundary
  std::vector<std::string> history_;
  std::size_t history_index_ = 0;
  std::string draft_;  // the line being typed while browsing history
  bool in_paste_ = false;
};

// The number of terminal columns `text` takes: escape sequences take none, each UTF-8 code
// point one.
std::size_t displayWidth(const std::string& text);

}  // namespace aigw::chat
