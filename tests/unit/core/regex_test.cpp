// The RE2 facade: Kong's PCRE syntax rewritten or refused with a clear text, and linear time on
// inputs that make backtracking engines explode.
#include <doctest/doctest.h>

#include <chrono>

#include "core/regex.hpp"

using aigw::pcreToRe2;
using aigw::Regex;
using aigw::RegexOptions;

TEST_CASE("PCRE named groups become RE2 named groups; classes and quotes are copied") {
  CHECK(*pcreToRe2("/gemini/(?<model>[^/]+)") == "/gemini/(?P<model>[^/]+)");
  CHECK(*pcreToRe2("(?'op'chat|embeddings)") == "(?P<op>chat|embeddings)");
  CHECK(*pcreToRe2("(?P<x>a)") == "(?P<x>a)");
  CHECK(*pcreToRe2("[(?<a>]") == "[(?<a>]");
  CHECK(*pcreToRe2("[]a(?<=]") == "[]a(?<=]");
  CHECK(*pcreToRe2("[[:alpha:]](?<n>x)") == "[[:alpha:]](?P<n>x)");
  CHECK(*pcreToRe2("\\Q(?<=\\E") == "\\Q(?<=\\E");
  CHECK(*pcreToRe2("a(?#comment)b") == "ab");
  CHECK(*pcreToRe2("(?i)\\d+?\\(") == "(?i)\\d+?\\(");
}

TEST_CASE("constructs RE2 lacks are errors naming the construct") {
  auto err = [](const char* p) {
    auto r = pcreToRe2(p);
    REQUIRE(!r);
    return r.error().substr(0, r.error().find(" are not supported"));
  };
  CHECK(err("a(?=b)") == "look-around assertions ((?=, (?!, (?<=, (?<!)");
  CHECK(err("(?<!x)y") == "look-around assertions ((?=, (?!, (?<=, (?<!)");
  CHECK(err("(a)\\1") == "back-references (\\1 ... \\9)");
  CHECK(err("(?<n>a)\\k<n>") == "back-references (\\k<name>, \\g{n})");
  CHECK(err("(?P<n>a)(?P=n)") == "back-references ((?P=name))");
  CHECK(err("(?>a+)b") == "atomic groups ((?>...))");
  CHECK(err("a++b") == "possessive quantifiers (*+, ++, ?+, {n}+)");
  CHECK(err("\\d*+") == "possessive quantifiers (*+, ++, ?+, {n}+)");
  CHECK(err("a(?R)?b") == "recursive patterns ((?R), (?1), (?&name))");
  CHECK(err("(a)(?1)") == "recursive patterns ((?R), (?1), (?&name))");
  CHECK(pcreToRe2("(?-i:a)"));  // a flag group, not recursion
  CHECK(pcreToRe2("\\+\\+"));   // escaped pluses are no quantifier
}

TEST_CASE("compile reports RE2's own syntax errors; search, prefix and find") {
  auto bad = Regex::compile("a([");
  REQUIRE(!bad);
  CHECK(bad.error().rfind("missing ", 0) == 0);

  auto re = Regex::compile("b+");
  REQUIRE(re);
  CHECK(re->search("aabbbc"));
  CHECK(!re->matchesPrefix("aabbbc"));
  CHECK(re->matchesPrefix("bbc"));
  CHECK(*re->find("aabbbc") == "bbb");
  CHECK(!re->find("xyz"));
  CHECK(re->pattern() == "b+");

  auto ci = Regex::compile("^hello$", RegexOptions{true, true});
  REQUIRE(ci);
  CHECK(*ci->find("first\nHeLLo\nlast") == "HeLLo");
  auto cs = Regex::compile("^hello$");
  CHECK(!cs->search("first\nhello\nlast"));

  auto named = Regex::compile("(?<w>wor)ld");
  REQUIRE(named);
  CHECK(named->search("hello world"));
}

TEST_CASE("pathological patterns on a 1 MiB input answer at once") {
  const std::string input(1 << 20, 'a');
  for (const char* p : {"(a|aa)*b", "(a+)+b", "(a|b)*c", "(.*a){20}b"}) {
    auto re = Regex::compile(p);
    REQUIRE(re);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(!re->search(input));
    const auto ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    // Generous bound: linear RE2 takes a few ms per MiB; a backtracking engine takes longer
    // than the age of the universe on these. 5 s leaves room for a loaded 2-core CI machine.
    CHECK(ms < 5000);
    MESSAGE(std::string(p) << " on 1 MiB: " << ms << " ms");
  }
}
