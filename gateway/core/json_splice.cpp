#include "core/json_splice.hpp"

#include <algorithm>
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
    for (++pos; pos < t_.size(); ++pos) {
      if (t_[pos] == '\\') {
        ++pos;
      } else if (t_[pos] == '"') {
        ++pos;
        return true;
      }
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

struct Member {
  std::string key;
  std::size_t value_begin, value_end;
};

std::string decodeKey(std::string_view token) {
  if (token.find('\\') == std::string_view::npos)
    return std::string(token.substr(1, token.size() - 2));
  const auto parsed = nlohmann::json::parse(token, nullptr, false);
  return parsed.is_string() ? parsed.get<std::string>() : std::string();
}

}  // namespace

std::optional<std::string> spliceMembers(std::string_view text,
                                         const std::vector<MemberEdit>& edits) {
  Scanner s(text);
  s.ws();
  if (!s.at('{')) return std::nullopt;
  ++s.pos;
  std::vector<Member> members;
  std::size_t close = std::string_view::npos;
  while (true) {
    s.ws();
    if (s.at('}')) {
      close = s.pos;
      break;
    }
    const std::size_t key_begin = s.pos;
    if (!s.string()) return std::nullopt;
    Member m{decodeKey(text.substr(key_begin, s.pos - key_begin)), 0, 0};
    s.ws();
    if (!s.at(':')) return std::nullopt;
    ++s.pos;
    s.ws();
    m.value_begin = s.pos;
    if (!s.value()) return std::nullopt;
    m.value_end = s.pos;
    members.push_back(std::move(m));
    s.ws();
    if (s.at(',')) {
      ++s.pos;
      continue;
    }
    if (!s.at('}')) return std::nullopt;
    close = s.pos;
    break;
  }

  // Replacements in place (by position, applied back to front), appends before the brace.
  struct Replace {
    std::size_t begin, end;
    const std::string* value;
  };
  std::vector<Replace> replaces;
  std::string appended;
  bool any_member = !members.empty();
  for (const auto& e : edits) {
    const Member* found = nullptr;
    for (const auto& m : members)
      if (m.key == e.key) found = &m;  // the last duplicate is the one parsers keep
    if (found) {
      const std::string_view current =
          text.substr(found->value_begin, found->value_end - found->value_begin);
      if (e.fill_only && current != "null") continue;
      replaces.push_back({found->value_begin, found->value_end, &e.value});
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
