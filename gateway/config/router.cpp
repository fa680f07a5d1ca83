#include "config/router.hpp"

#include <algorithm>

#include "config/model.hpp"

namespace aigw::config {

static std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Router::Router(const std::vector<Route>& routes, ConfigErrors& errors) {
  std::size_t order = 0;
  filters_.resize(routes.size());
  for (std::size_t r = 0; r < routes.size(); ++r) {
    const auto& route = routes[r];
    for (const auto& m : route.methods) {
      std::string up = m;
      for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      filters_[r].methods.push_back(up);
    }
    for (const auto& h : route.hosts) filters_[r].hosts.push_back(lower(h));
    if (route.paths.empty()) {
      candidates_.push_back({static_cast<int>(r), false, 0, "", {}, order++});
      continue;
    }
    for (std::size_t p = 0; p < route.paths.size(); ++p) {
      const auto& path = route.paths[p];
      if (!path.empty() && path[0] == '~') {
        auto re = Regex::compile(std::string_view(path).substr(1));
        if (!re) {
          errors.add(indexPath(route.entity_path + ".paths", p),
                     "invalid regex \"" + path.substr(1) + "\": " + re.error());
          continue;
        }
        candidates_.push_back(
            {static_cast<int>(r), true, route.regex_priority, "", std::move(*re), order++});
      } else {
        if (path.empty() || path[0] != '/')
          errors.add(indexPath(route.entity_path + ".paths", p),
                     "must start with \"/\" (or \"~\" for a regex)");
        candidates_.push_back({static_cast<int>(r), false, 0, path, {}, order++});
      }
    }
  }
  std::stable_sort(candidates_.begin(), candidates_.end(),
                   [](const Candidate& a, const Candidate& b) {
                     if (a.is_regex != b.is_regex) return a.is_regex;
                     if (a.is_regex) return a.regex_priority > b.regex_priority;
                     return a.prefix.size() > b.prefix.size();
                   });
}

bool Router::accepts(const RouteFilter& f, std::string_view method, std::string_view host) const {
  if (!f.methods.empty() &&
      std::find(f.methods.begin(), f.methods.end(), method) == f.methods.end())
    return false;
  if (f.hosts.empty()) return true;
  std::string h = lower(std::string(host));
  const auto colon = h.rfind(':');
  const auto bracket = h.rfind(']');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket))
    h.resize(colon);
  for (const auto& pattern : f.hosts) {
    if (pattern == h) return true;
    if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.' &&
        h.size() > pattern.size() - 1 &&
        h.compare(h.size() - (pattern.size() - 1), pattern.size() - 1, pattern, 1) == 0)
      return true;
    if (pattern.size() > 2 && pattern.back() == '*' && pattern[pattern.size() - 2] == '.' &&
        h.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0)
      return true;
  }
  return false;
}

RouteMatch Router::find(std::string_view method, std::string_view host,
                        std::string_view path) const {
  for (const auto& c : candidates_) {
    std::size_t matched = c.prefix.size();
    if (c.is_regex) {
      const auto length = c.regex.prefixLength(path);
      if (!length) continue;
      matched = *length;
    } else if (path.compare(0, c.prefix.size(), c.prefix) != 0) {
      continue;
    }
    if (accepts(filters_[c.route], method, host)) return {c.route, matched};
  }
  return {};
}

}  // namespace aigw::config
