#include "chat/line_editor.hpp"

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

namespace aigw::chat {

namespace {

bool continuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

void put(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::size_t columns(int fd) {
  winsize ws{};
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

// Raw input for the duration of one read(): no echo, no line buffering, no signals from keys;
// output processing stays on so "\n" still starts a new line.
class RawMode {
 public:
  RawMode(int in, int out) : in_(in), out_(out) {
    if (tcgetattr(in_, &saved_) != 0) return;
    termios raw = saved_;
    raw.c_iflag &= ~static_cast<tcflag_t>(BRKINT | ICRNL | INPCK | ISTRIP | IXON);
    raw.c_lflag &= ~static_cast<tcflag_t>(ECHO | ICANON | IEXTEN | ISIG);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    active_ = tcsetattr(in_, TCSANOW, &raw) == 0;
    if (active_) put(out_, "\033[?2004h");  // bracketed paste on
  }
  ~RawMode() {
    if (!active_) return;
    put(out_, "\033[?2004l");
    tcsetattr(in_, TCSANOW, &saved_);
  }

 private:
  int in_, out_;
  termios saved_{};
  bool active_ = false;
};

}  // namespace

std::size_t displayWidth(const std::string& text) {
  std::size_t width = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == 0x1b && i + 1 < text.size() && text[i + 1] == '[') {
      i += 2;
      while (i < text.size() && !(text[i] >= 0x40 && text[i] <= 0x7e)) ++i;
      continue;
    }
    if (!continuation(c)) ++width;
  }
  return width;
}

int LineEditor::readByte() {
  unsigned char c = 0;
  while (true) {
    const ssize_t n = ::read(in_, &c, 1);
    if (n == 1) return c;
    if (n < 0 && errno == EINTR) {
      if (interrupted_ && interrupted_->load()) return 3;  // as if Ctrl-C had been typed
      continue;
    }
    return -1;
  }
}

void LineEditor::refresh() {
  const std::size_t cols = columns(out_);
  const std::size_t prompt_w = displayWidth(prompt_);
  const std::size_t avail = cols > prompt_w + 2 ? cols - prompt_w - 1 : 1;
  // Code point offsets of the buffer, to scroll a long line so the cursor stays visible.
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < buf_.size(); ++i)
    if (!continuation(static_cast<unsigned char>(buf_[i]))) starts.push_back(i);
  starts.push_back(buf_.size());
  std::size_t cursor_cp = 0;
  while (cursor_cp + 1 < starts.size() && starts[cursor_cp] < pos_) ++cursor_cp;
  const std::size_t first = cursor_cp >= avail ? cursor_cp - avail + 1 : 0;
  const std::size_t last = std::min(first + avail, starts.size() - 1);
  std::string out = "\r" + prompt_;
  out += buf_.substr(starts[first], starts[last] - starts[first]);
  out += "\033[K\r";
  const std::size_t col = prompt_w + (cursor_cp - first);
  if (col > 0) out += "\033[" + std::to_string(col) + "C";
  put(out_, out);
}

void LineEditor::insert(const std::string& bytes) {
  buf_.insert(pos_, bytes);
  pos_ += bytes.size();
}

void LineEditor::moveLeft() {
  while (pos_ > 0) {
    --pos_;
    if (!continuation(static_cast<unsigned char>(buf_[pos_]))) break;
  }
}

void LineEditor::moveRight() {
  if (pos_ >= buf_.size()) return;
  ++pos_;
  while (pos_ < buf_.size() && continuation(static_cast<unsigned char>(buf_[pos_]))) ++pos_;
}

void LineEditor::backspace() {
  const std::size_t end = pos_;
  moveLeft();
  buf_.erase(pos_, end - pos_);
}

void LineEditor::deleteAtCursor() {
  const std::size_t start = pos_;
  moveRight();
  buf_.erase(start, pos_ - start);
  pos_ = start;
}

void LineEditor::deleteWordBack() {
  const std::size_t end = pos_;
  while (pos_ > 0 && buf_[pos_ - 1] == ' ') --pos_;
  while (pos_ > 0 && buf_[pos_ - 1] != ' ') --pos_;
  buf_.erase(pos_, end - pos_);
}

void LineEditor::historyStep(int delta) {
  if (history_.empty()) return;
  if (history_index_ == history_.size()) draft_ = buf_;
  if (delta < 0 && history_index_ > 0)
    --history_index_;
  else if (delta > 0 && history_index_ < history_.size())
    ++history_index_;
  else
    return;
  buf_ = history_index_ == history_.size() ? draft_ : history_[history_index_];
  pos_ = buf_.size();
}

void LineEditor::escape() {
  // A lone Esc has nothing after it; wait briefly to tell it from a sequence.
  pollfd p{in_, POLLIN, 0};
  if (poll(&p, 1, 50) <= 0) return;
  const int kind = readByte();
  if (kind == 'b') {  // Alt-b: word left
    while (pos_ > 0 && buf_[pos_ - 1] == ' ') moveLeft();
    while (pos_ > 0 && buf_[pos_ - 1] != ' ') moveLeft();
    return;
  }
  if (kind == 'f') {  // Alt-f: word right
    while (pos_ < buf_.size() && buf_[pos_] == ' ') moveRight();
    while (pos_ < buf_.size() && buf_[pos_] != ' ') moveRight();
    return;
  }
  if (kind != '[' && kind != 'O') return;
  std::string params;
  int final_byte = -1;
  while (true) {
    final_byte = readByte();
    if (final_byte < 0) return;
    if (final_byte >= 0x40 && final_byte <= 0x7e) break;
    params += static_cast<char>(final_byte);
  }
  switch (final_byte) {
    case 'A':
      historyStep(-1);
      break;
    case 'B':
      historyStep(+1);
      break;
    case 'C':
      moveRight();
      break;
    case 'D':
      moveLeft();
      break;
    case 'H':
      pos_ = 0;
      break;
    case 'F':
      pos_ = buf_.size();
      break;
    case '~':
      if (params == "1" || params == "7")
        pos_ = 0;
      else if (params == "4" || params == "8")
        pos_ = buf_.size();
      else if (params == "3")
        deleteAtCursor();
      else if (params == "200")
        in_paste_ = true;
      else if (params == "201")
        in_paste_ = false;
      break;
    default:
      break;
  }
}

LineEditor::Input LineEditor::read(const std::string& prompt) {
  RawMode raw(in_, out_);
  // A signal that arrived before raw mode began was typed while the line discipline still
  // turned Ctrl-C into SIGINT: honour it as the key.
  if (interrupted_ && interrupted_->load()) {
    put(out_, "^C\r\n");
    return {Status::kInterrupted, "", false};
  }
  prompt_ = prompt;
  buf_.clear();
  pos_ = 0;
  history_index_ = history_.size();
  refresh();
  while (true) {
    const int c = readByte();
    if (c < 0) {
      put(out_, "\r\n");
      return {buf_.empty() ? Status::kEof : Status::kLine, buf_, false};
    }
    switch (c) {
      case '\r':
      case '\n':
        // The whole line, unscrolled, so the scrollback shows what was sent.
        put(out_, "\r" + prompt_ + buf_ + "\033[K\r\n");
        return {Status::kLine, buf_, in_paste_};
      case 3:  // Ctrl-C
        put(out_, "^C\r\n");
        return {Status::kInterrupted, buf_, false};
      case 4:  // Ctrl-D: end of input on an empty line, else delete
        if (buf_.empty()) {
          put(out_, "\r\n");
          return {Status::kEof, "", false};
        }
        deleteAtCursor();
        break;
      case 127:
      case 8:
        backspace();
        break;
      case 1:
        pos_ = 0;
        break;
      case 5:
        pos_ = buf_.size();
        break;
      case 2:
        moveLeft();
        break;
      case 6:
        moveRight();
        break;
      case 11:
        buf_.erase(pos_);
        break;
      case 21:
        buf_.erase(0, pos_);
        pos_ = 0;
        break;
      case 23:
        deleteWordBack();
        break;
      case 12:
        put(out_, "\033[H\033[2J");
        break;
      case 16:
        historyStep(-1);
        break;
      case 14:
        historyStep(+1);
        break;
      case 27:
        escape();
        break;
      case '\t':
        insert("    ");
        break;
      default: {
        if (c < 0x20) break;
        // A whole UTF-8 sequence at once, so the screen never shows half a character.
        std::string bytes(1, static_cast<char>(c));
        const int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
        for (int i = 0; i < more; ++i) {
          const int next = readByte();
          if (next < 0) break;
          bytes += static_cast<char>(next);
        }
        insert(bytes);
        break;
      }
    }
    refresh();
  }
}

void LineEditor::addHistory(const std::string& line) {
  if (line.empty() || (!history_.empty() && history_.back() == line)) return;
  history_.push_back(line);
  if (history_.size() > 1000) history_.erase(history_.begin());
}

}  // namespace aigw::chat
