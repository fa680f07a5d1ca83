#include "core/regex.hpp"

#include <re2/re2.h>

#include <cctype>

namespace aigw {

namespace {

constexpr std::string_view kNoSuch =
    " are not supported: aigw matches patterns with RE2, which runs in linear time and has no "
    "such construct; rewrite the pattern without it";

Result<std::string, std::string> unsupported(std::string_view what) {
  return Result<std::string, std::string>::failure(std::string(what) + std::string(kNoSuch));
}

bool isDigit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

// Index one past the ']' closing the class that opens at p[i] == '['.
std::size_t classEnd(std::string_view p, std::size_t i) {
  std::size_t j = i + 1;
  if (j < p.size() && p[j] == '^') ++j;
  if (j < p.size() && p[j] == ']') ++j;  // a leading ']' is a literal
  while (j < p.size() && p[j] != ']') {
    if (p[j] == '\\') {
      j += 2;
    } else if (p[j] == '[' && j + 1 < p.size() && p[j + 1] == ':') {
      const auto e = p.find(":]", j + 2);
      j = e == std::string_view::npos ? p.size() : e + 2;
    } else {
      ++j;
    }
  }
  return std::min(j + 1, p.size());
}

}  // namespace

Result<std::string, std::string> pcreToRe2(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 8);
  for (std::size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    const char next = i + 1 < p.size() ? p[i + 1] : '\0';
    if (c == '\\') {
      if (next == 'Q') {  // \Q...\E quotes literally; RE2 knows it too
        const auto end = p.find("\\E", i + 2);
        const std::size_t stop = end == std::string_view::npos ? p.size() : end + 2;
        out.append(p.substr(i, stop - i));
        i = stop - 1;
        continue;
      }
      if (isDigit(next) && next != '0') return unsupported("back-references (\\1 ... \\9)");
      if (next == 'k' || next == 'g') return unsupported("back-references (\\k<name>, \\g{n})");
      out += c;
      if (next != '\0') out += next, ++i;
      continue;
    }
    if (c == '[') {
      const std::size_t stop = classEnd(p, i);
      out.append(p.substr(i, stop - i));
      i = stop - 1;
      continue;
    }
    if (c == '(' && next == '?') {
      const std::string_view rest = p.substr(i + 2);
      auto starts = [&](std::string_view s) { return rest.substr(0, s.size()) == s; };
      if (starts("=") || starts("!") || starts("<=") || starts("<!"))
        return unsupported("look-around assertions ((?=, (?!, (?<=, (?<!)");
      if (starts(">")) return unsupported("atomic groups ((?>...))");
      if (starts("P=")) return unsupported("back-references ((?P=name))");
      if (starts("R)") || starts("&") || starts("P>") || starts("+") ||
          (!rest.empty() && isDigit(rest[0])) ||
          (rest.size() > 1 && rest[0] == '-' && isDigit(rest[1])))
        return unsupported("recursive patterns ((?R), (?1), (?&name))");
      if (starts("|")) return unsupported("branch reset groups ((?|...))");
      if (starts("#")) {  // a comment: dropped, RE2 has no comment syntax
        const auto close = p.find(')', i);
        i = close == std::string_view::npos ? p.size() : close;
        continue;
      }
      if (starts("<") && rest.size() > 1 &&
          (std::isalpha(static_cast<unsigned char>(rest[1])) || rest[1] == '_')) {
        out += "(?P<";
        i += 2;  // continue after "(?<"
        continue;
      }
      if (starts("'")) {
        const auto close = rest.find('\'', 1);
        if (close != std::string_view::npos) {
          out += "(?P<";
          out.append(rest.substr(1, close - 1));
          out += '>';
          i += 2 + close;
          continue;
        }
      }
    }
    if ((c == '*' || c == '+' || c == '?' || c == '}') && next == '+')
      return unsupported("possessive quantifiers (*+, ++, ?+, {n}+)");
    out += c;
  }
  return out;
}

Result<Regex, std::string> Regex::compile(std::string_view pcre, RegexOptions options) {
  auto translated = pcreToRe2(pcre);
  if (!translated) return Result<Regex, std::string>::failure(translated.error());
  RE2::Options opts;
  opts.set_log_errors(false);  // errors are returned to the config loader, not printed
  opts.set_case_sensitive(!options.case_insensitive);
  const std::string text = options.multi_line ? "(?m)" + *translated : *translated;
  auto re = std::make_shared<const re2::RE2>(text, opts);
  if (!re->ok()) return Result<Regex, std::string>::failure(re->error());
  Regex out;
  out.re_ = std::move(re);
  out.pattern_ = std::string(pcre);
  return out;
}

bool Regex::search(std::string_view text) const {
  return re_->Match(text, 0, text.size(), RE2::UNANCHORED, nullptr, 0);
}

bool Regex::matchesPrefix(std::string_view text) const {
  return re_->Match(text, 0, text.size(), RE2::ANCHOR_START, nullptr, 0);
}

std::optional<std::size_t> Regex::prefixLength(std::string_view text) const {
  re2::StringPiece m;
  if (!re_->Match(text, 0, text.size(), RE2::ANCHOR_START, &m, 1)) return std::nullopt;
  return m.size();
}

std::optional<std::string_view> Regex::find(std::string_view text) const {
  re2::StringPiece m;
  if (!re_->Match(text, 0, text.size(), RE2::UNANCHORED, &m, 1)) return std::nullopt;
  return std::string_view(m.data(), m.size());
}

}  // namespace aigw
