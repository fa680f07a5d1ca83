// The one regular-expression engine for everything a user configures: router "~" paths, guard
// patterns, transformer extract patterns. It is RE2, whose matching time is linear in the input
// and which never recurses per character: a pattern such as (a|aa)*b on a long prompt cannot
// stall or crash the gateway, unlike a backtracking engine (std::regex, PCRE).
//
// Kong writes PCRE. What RE2 can express is rewritten (named groups "(?<n>" -> "(?P<n>");
// what it cannot (look-arounds, back-references, atomic groups, possessive quantifiers,
// recursion) is a config-time error that says so, so the field path reaches the user.
//
// Patterns are compiled once, when the config loads; a Regex is immutable and its methods are
// const and thread-safe (RE2 objects may be shared by threads).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace re2 {
class RE2;
}

namespace aigw {

struct RegexOptions {
  bool case_insensitive = false;  // PCRE "i"
  bool multi_line = false;        // PCRE "m": ^ and $ also match at line breaks
};

class Regex {
 public:
  // Compiles a pattern in Kong's PCRE syntax. The error text says what to change and never
  // includes the pattern (callers add it next to the field path).
  static Result<Regex, std::string> compile(std::string_view pcre, RegexOptions options = {});

  // True if the pattern matches anywhere in `text` (ngx.re.find semantics).
  bool search(std::string_view text) const;
  // True if the pattern matches at the start of `text` (Kong's router regex paths).
  bool matchesPrefix(std::string_view text) const;
  // How many bytes at the start of `text` the pattern matches (strip_path), or nullopt.
  std::optional<std::size_t> prefixLength(std::string_view text) const;
  // The leftmost match (the whole match, not a group), or nullopt.
  std::optional<std::string_view> find(std::string_view text) const;

  const std::string& pattern() const { return pattern_; }  // as configured

 private:
  std::shared_ptr<const re2::RE2> re_;
  std::string pattern_;
};

// PCRE -> RE2 syntax: "(?<name>" and "(?'name'" become "(?P<name>"; constructs RE2 lacks are
// an error naming the construct. Character classes and \Q...\E are copied untouched.
Result<std::string, std::string> pcreToRe2(std::string_view pcre);

}  // namespace aigw
