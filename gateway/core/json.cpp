#include "core/json.hpp"

#include <nlohmann/json.hpp>

namespace aigw::json {

int nestingDepth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > deepest && (deepest = depth) >= limit) return deepest;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

bool parse(std::string_view text, nlohmann::json& out, std::string* error) {
  if (nestingDepth(text) > kMaxDepth) {
    if (error) *error = "JSON nested deeper than " + std::to_string(kMaxDepth) + " levels";
    return false;
  }
  out = nlohmann::json::parse(text, nullptr, false);
  if (out.is_discarded()) {
    if (error) *error = "not valid JSON";
    return false;
  }
  return true;
}

namespace {

// A structural check of RFC 8259 JSON that builds nothing and converts no number: each stream
// event passes through here, and nlohmann's accept() lexes numbers with strtod. Only ASCII is
// judged; a string with other bytes is "unsure" and left to nlohmann (it checks UTF-8).
class QuickValidator {
 public:
  enum class Verdict { Valid, Invalid, Unsure };
  explicit QuickValidator(std::string_view text) : p_(text.data()), end_(p_ + text.size()) {}

  Verdict run() {
    skipSpace();
    if (!value(0)) return unsure_ ? Verdict::Unsure : Verdict::Invalid;
    skipSpace();
    return p_ == end_ ? Verdict::Valid : Verdict::Invalid;
  }

 private:
  void skipSpace() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool take(char c) {
    if (p_ < end_ && *p_ == c) return ++p_, true;
    return false;
  }
  static bool digit(char c) { return c >= '0' && c <= '9'; }
  static bool hex(char c) { return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::string_view(p_, word.size()) != word)
      return false;
    p_ += word.size();
    return true;
  }
  bool string() {
    ++p_;  // the opening quote
    while (p_ < end_) {
      const auto c = static_cast<unsigned char>(*p_++);
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c >= 0x80) {
        unsure_ = true;
        return false;
      }
      if (c != '\\') continue;
      if (p_ == end_) return false;
      const char e = *p_++;
      if (e == 'u') {
        for (int i = 0; i < 4; ++i)
          if (p_ == end_ || !hex(*p_++)) return false;
      } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
        return false;
      }
    }
    return false;
  }
  bool number() {
    take('-');
    if (take('0')) {
    } else if (p_ < end_ && digit(*p_)) {
      while (p_ < end_ && digit(*p_)) ++p_;
    } else {
      return false;
    }
    if (take('.')) {
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ < end_ && digit(*p_)) ++p_;
    }
    if (take('e') || take('E')) {
      if (!take('+')) take('-');
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ < end_ && digit(*p_)) ++p_;
    }
    return true;
  }
  bool value(int depth) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{': {
        if (depth >= kMaxDepth) return false;
        ++p_;
        skipSpace();
        if (take('}')) return true;
        do {
          skipSpace();
          if (p_ == end_ || *p_ != '"' || !string()) return false;
          skipSpace();
          if (!take(':')) return false;
          skipSpace();
          if (!value(depth + 1)) return false;
          skipSpace();
        } while (take(','));
        return take('}');
      }
      case '[': {
        if (depth >= kMaxDepth) return false;
        ++p_;
        skipSpace();
        if (take(']')) return true;
        do {
          skipSpace();
          if (!value(depth + 1)) return false;
          skipSpace();
        } while (take(','));
        return take(']');
      }
      case '"':
        return string();
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number();
    }
  }

  const char* p_;
  const char* end_;
  bool unsure_ = false;
};

}  // namespace

bool isObject(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text[first] != '{') return false;
  switch (QuickValidator(text).run()) {
    case QuickValidator::Verdict::Valid:
      return true;
    case QuickValidator::Verdict::Invalid:
      return false;
    case QuickValidator::Verdict::Unsure:
      break;
  }
  return nestingDepth(text) <= kMaxDepth && nlohmann::json::accept(text);
}

std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace aigw::json
