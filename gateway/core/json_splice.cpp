#include "core/json_splice.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

namespace aigw::json {

namespace {

bool space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

class Scanner {
 public:
  explicit Scanner(std::string_view t) : t_(t) {}
  std::size_t pos = 0;

  void ws() {
    while (pos < t_.size() && space(t_[pos])) ++pos;
  }
  bool at(char c) const { return pos < t_.size() && t_[pos] == c; }
  // A string token starting at pos ('"'); pos ends after the closing quote.
  bool string() {
    if (!at('"')) return false;
    ++pos;
    // Most of a body's bytes are inside strings: jump from quote to quote (memchr), and count
    // the backslashes before each to tell an escaped quote from the closing one.
    while (pos < t_.size()) {
      const void* found = std::memchr(t_.data() + pos, '"', t_.size() - pos);
      if (!found) return false;
      const std::size_t quote =
          static_cast<std::size_t>(static_cast<const char*>(found) - t_.data());
      std::size_t run = quote;
      while (run > pos && t_[run - 1] == '\\') --run;
      pos = quote + 1;
      if ((quote - run) % 2 == 0) return true;
    }
    return false;
  }
  // Any value; nesting is counted, strings skipped as tokens.
  bool value() {
    if (at('"')) return string();
    if (at('{') || at('[')) {
      int depth = 0;
      while (pos < t_.size()) {
        const char c = t_[pos];
        if (c == '"') {
          if (!string()) return false;
          continue;
        }
        if (c == '{' || c == '[') ++depth;
        if (c == '}' || c == ']') --depth;
        ++pos;
        if (depth == 0) return true;
      }
      return false;
    }
    const std::size_t start = pos;
    while (pos < t_.size() && !space(t_[pos]) && t_[pos] != ',' && t_[pos] != '}' && t_[pos] != ']')
      ++pos;
    return pos > start;
  }

 private:
  std::string_view t_;
};

std::string decodeKey(std::string_view token) {
  if (token.find('\\') == std::string_view::npos)
    return std::string(token.substr(1, token.size() - 2));
  const auto parsed = nlohmann::json::parse(token, nullptr, false);
  return parsed.is_string() ? parsed.get<std::string>() : std::string();
}

// The members and the position of the closing brace.
bool splitObject(std::string_view text, std::vector<MemberText>& members, std::size_t& close) {
  Scanner s(text);
  s.ws();
  if (!s.at('{')) return false;
  ++s.pos;
  members.reserve(16);  // a request's or an event's members, without regrowing
  while (true) {
    s.ws();
    if (s.at('}')) break;
    const std::size_t key_begin = s.pos;
    if (!s.string()) return false;
    MemberText m{decodeKey(text.substr(key_begin, s.pos - key_begin)), {}};
    s.ws();
    if (!s.at(':')) return false;
    ++s.pos;
    s.ws();
    const std::size_t value_begin = s.pos;
    if (!s.value()) return false;
    m.value = text.substr(value_begin, s.pos - value_begin);
    members.push_back(std::move(m));
    s.ws();
    if (s.at(',')) {
      ++s.pos;
      continue;
    }
    if (!s.at('}')) return false;
    break;
  }
  close = s.pos;
  return true;
}

}  // namespace

std::optional<ObjectText> splitMembers(std::string_view text) {
  ObjectText object{text, {}, 0};
  if (!splitObject(text, object.members, object.close)) return std::nullopt;
  return object;
}

std::optional<std::vector<MemberText>> objectMembers(std::string_view text) {
  auto object = splitMembers(text);
  if (!object) return std::nullopt;
  return std::move(object->members);
}

std::optional<long long> integerValue(std::string_view value) {
  if (value.empty() || !(value[0] == '-' || (value[0] >= '0' && value[0] <= '9')))
    return std::nullopt;
  long long v = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec == std::errc() && end == value.data() + value.size()) return v;
  // 12.0, 1e3, or out of range: what a double says, truncated.
  const std::string copy(value);
  char* stop = nullptr;
  const double d = std::strtod(copy.c_str(), &stop);
  if (stop != copy.c_str() + copy.size() || !std::isfinite(d)) return std::nullopt;
  if (d >= 9.2e18 || d <= -9.2e18) return std::nullopt;
  return static_cast<long long>(d);
}

std::optional<std::string> spliceMembers(std::string_view text,
                                         const std::vector<MemberEdit>& edits) {
  const auto object = splitMembers(text);
  if (!object) return std::nullopt;
  return spliceMembers(*object, edits);
}

std::string spliceMembers(const ObjectText& object, const std::vector<MemberEdit>& edits) {
  const std::string_view text = object.text;
  const auto& members = object.members;
  const std::size_t close = object.close;
  // Replacements in place (by position, applied back to front), appends before the brace.
  struct Replace {
    std::size_t begin, end;
    const std::string* value;
  };
  std::vector<Replace> replaces;
  std::string appended;
  bool any_member = !members.empty();
  for (const auto& e : edits) {
    const MemberText* found = nullptr;
    for (const auto& m : members)
      if (m.key == e.key) found = &m;  // the last duplicate is the one parsers keep
    if (found) {
      if (e.fill_only && found->value != "null") continue;
      const auto begin = static_cast<std::size_t>(found->value.data() - text.data());
      replaces.push_back({begin, begin + found->value.size(), &e.value});
      continue;
    }
    if (any_member) appended += ',';
    appended += nlohmann::json(e.key).dump();
    appended += ':';
    appended += e.value;
    any_member = true;
  }
  std::string out(text);
  out.insert(close, appended);
  std::sort(replaces.begin(), replaces.end(),
            [](const Replace& a, const Replace& b) { return a.begin > b.begin; });
  for (const auto& r : replaces) out.replace(r.begin, r.end - r.begin, *r.value);
  return out;
}

}  // namespace aigw::json
