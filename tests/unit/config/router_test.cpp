#include <doctest/doctest.h>

#include "config/model.hpp"
#include "config/router.hpp"

using namespace aigw::config;

namespace {

Route route(std::vector<std::string> paths, std::vector<std::string> methods = {},
            std::vector<std::string> hosts = {}, int regex_priority = 0) {
  Route r;
  r.paths = std::move(paths);
  r.methods = std::move(methods);
  r.hosts = std::move(hosts);
  r.regex_priority = regex_priority;
  r.entity_path = "routes[?]";
  return r;
}

}  // namespace

TEST_CASE("longest prefix wins, whatever the declaration order") {
  ConfigErrors errors;
  Router router({route({"/openai"}), route({"/openai/chat"}), route({"/"})}, errors);
  REQUIRE(errors.empty());
  CHECK(router.match("POST", "h", "/openai/chat") == 1);
  CHECK(router.match("POST", "h", "/openai/chat/extra") == 1);
  CHECK(router.match("POST", "h", "/openai/embeddings") == 0);
  CHECK(router.match("POST", "h", "/other") == 2);
}

TEST_CASE("regex paths are anchored at the start and ordered by regex_priority") {
  ConfigErrors errors;
  Router router({route({"/v1"}), route({"~/v1/chat/completions$"}, {}, {}, 0),
                 route({"~/v1/(?<op>chat|embeddings)"}, {}, {}, 10)},
                errors);
  REQUIRE(errors.empty());
  CHECK(router.match("POST", "h", "/v1/chat/completions") == 2);
  CHECK(router.match("POST", "h", "/v1/embeddings") == 2);
  CHECK(router.match("POST", "h", "/x/v1/chat") == -1);
  CHECK(router.match("POST", "h", "/v1/models") == 0);
}

TEST_CASE("methods and hosts filter") {
  ConfigErrors errors;
  Router router({route({"/a"}, {"POST"}, {"api.example.com"}),
                 route({"/a"}, {"get"}, {"*.example.com"}), route({"/a"})},
                errors);
  CHECK(router.match("POST", "api.example.com:8000", "/a") == 0);
  CHECK(router.match("GET", "x.example.com", "/a") == 1);
  CHECK(router.match("GET", "api.example.com", "/a") == 1);
  CHECK(router.match("DELETE", "api.example.com", "/a") == 2);
}

TEST_CASE("no route, no match; bad regex is a config error with its path") {
  ConfigErrors errors;
  Router empty({}, errors);
  CHECK(empty.match("GET", "h", "/") == -1);
  Router bad({route({"~/a(["})}, errors);
  REQUIRE(!errors.empty());
  CHECK(errors.list()[0].path == "routes[?].paths[0]");
  CHECK(errors.list()[0].message.rfind("invalid regex \"/a([\"", 0) == 0);
}

TEST_CASE("Kong's PCRE paths: named groups work, look-arounds are a config error") {
  ConfigErrors errors;
  Router router({route({"~/gemini/(?<model>[^/]+)/chat$"})}, errors);
  REQUIRE(errors.empty());
  CHECK(router.match("POST", "h", "/gemini/flash/chat") == 0);
  CHECK(router.match("POST", "h", "/gemini/flash/chat/x") == -1);
  Router bad({route({"/ok", "~/v1/(?!admin)"})}, errors);
  REQUIRE(errors.list().size() == 1);
  CHECK(errors.list()[0].path == "routes[?].paths[1]");
  CHECK(errors.list()[0].message ==
        "invalid regex \"/v1/(?!admin)\": look-around assertions ((?=, (?!, (?<=, (?<!) are not "
        "supported: aigw matches patterns with RE2, which runs in linear time and has no such "
        "construct; rewrite the pattern without it");
}

TEST_CASE("a pathological regex path answers at once on a long path") {
  ConfigErrors errors;
  Router router({route({"~/(a|aa)*b"})}, errors);
  REQUIRE(errors.empty());
  const std::string path = "/" + std::string(1 << 20, 'a');
  // A backtracking engine needs exponential time here (and std::regex overflows the stack);
  // RE2 is linear, so this returns in milliseconds. No timing assertion: the test would hang
  // (and hit ctest's timeout) rather than pass if matching were not linear.
  CHECK(router.match("GET", "h", path) == -1);
}
