// Route matching with Kong's semantics: regex paths ("~" prefix) first, by regex_priority;
// then plain prefixes, the longest matching prefix wins; methods and hosts filter. Regexes are
// compiled once, when the config loads, with RE2 (core/regex.hpp): linear time in the path.
// Thread-safety: immutable after construction; match() is const and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/errors.hpp"
#include "core/regex.hpp"

namespace aigw::config {

struct Route;

struct RouteMatch {
  int route = -1;           // index of the matching route, -1 = none
  std::size_t matched = 0;  // bytes of the path its prefix or regex matched (for strip_path)
};

class Router {
 public:
  // Compiles every route's paths; bad regexes are reported with the route's path.
  Router(const std::vector<Route>& routes, ConfigErrors& errors);

  // Index of the matching route, or -1. `host` may include a port (ignored).
  int match(std::string_view method, std::string_view host, std::string_view path) const {
    return find(method, host, path).route;
  }
  RouteMatch find(std::string_view method, std::string_view host, std::string_view path) const;

 private:
  struct Candidate {
    int route;
    bool is_regex;
    int regex_priority;
    std::string prefix;  // plain prefix ("" when the route has no paths = match all)
    Regex regex;         // set when is_regex
    std::size_t order;   // declaration order, for stable ties
  };
  struct RouteFilter {
    std::vector<std::string> methods;  // upper-case; empty = any
    std::vector<std::string> hosts;    // lower-case; "*.x" wildcards; empty = any
  };
  bool accepts(const RouteFilter& f, std::string_view method, std::string_view host) const;

  std::vector<Candidate> candidates_;  // evaluation order
  std::vector<RouteFilter> filters_;   // by route index
};

}  // namespace aigw::config
