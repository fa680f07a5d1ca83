// Which plugin instances run for a request: for each plugin name the most specific instance
// wins, with Kong's precedence (https://developer.konghq.com/gateway/entities/plugin/, "Plugin
// precedence"), then the chain runs by priority, highest first.
//
// Consumers are identified by an authentication plugin in the middle of the access phase. Kong
// looks each plugin up as it reaches it, so a plugin that runs before the authentication plugin
// is chosen without a consumer, and one that runs after it with the consumer. The chains are
// computed here once per (route, consumer) for the consumers that have scoped plugins (directly
// or through a group); everyone else shares the route's chain, so the request path only picks a
// precomputed vector.
#include <algorithm>
#include <limits>
#include <map>

#include "config/model.hpp"
#include "plugins/plugin.hpp"

namespace aigw::config {

namespace {

struct Who {
  int route = -1, service = -1, consumer = -1;
  const std::vector<int>* groups = nullptr;  // the consumer's groups, in name order
};

// Kong's precedence, most specific first:
//   consumer+route+service, group+route+service, consumer+route, consumer+service, group+route,
//   group+service, route+service, consumer, group, route, service, global.
// Returns 0 when the instance does not apply. Among several groups of one consumer the first
// group by name wins (group_order: its position in the consumer's list, lower = better).
int rank(const PluginInstance& p, const Who& who, int& group_order) {
  group_order = 0;
  if (p.route >= 0 && p.route != who.route) return 0;
  if (p.service >= 0 && p.service != who.service) return 0;
  if (p.consumer >= 0 && p.consumer != who.consumer) return 0;
  if (p.consumer_group >= 0) {
    if (!who.groups) return 0;
    auto it = std::find(who.groups->begin(), who.groups->end(), p.consumer_group);
    if (it == who.groups->end()) return 0;
    group_order = static_cast<int>(it - who.groups->begin());
  }
  const bool r = p.route >= 0, s = p.service >= 0, c = p.consumer >= 0, g = p.consumer_group >= 0;
  if (c && r && s) return 12;
  if (g && r && s) return 11;
  if (c && r) return 10;
  if (c && s) return 9;
  if (g && r) return 8;
  if (g && s) return 7;
  if (r && s) return 6;
  if (c) return 5;
  if (g) return 4;
  if (r) return 3;
  if (s) return 2;
  return 1;
}

Chain resolve(const Config& cfg, const Who& who) {
  struct Best {
    int rank = 0, group_order = 0;
    const PluginInstance* p = nullptr;
  };
  std::map<std::string, Best> chosen;
  for (const auto& p : cfg.plugins) {
    if (!p.enabled) continue;
    int order = 0;
    const int r = rank(p, who, order);
    if (r == 0) continue;
    Best& slot = chosen[p.name];
    if (r > slot.rank || (r == slot.rank && order < slot.group_order)) slot = {r, order, &p};
  }
  Chain list;
  for (auto& [name, best] : chosen) list.push_back(best.p);
  std::stable_sort(list.begin(), list.end(),
                   [](auto* a, auto* b) { return a->priority > b->priority; });
  return list;
}

// The priority below which the consumer is known on this chain: that of its last
// authentication plugin; INT_MAX when it has none (no consumer is ever identified).
int authPriority(const Chain& chain) {
  int lowest = std::numeric_limits<int>::max();
  for (const auto* p : chain)
    if (p->impl && p->impl->identifiesConsumer()) lowest = std::min(lowest, p->priority);
  return lowest;
}

}  // namespace

void buildChains(Config& cfg) {
  cfg.route_plugins.clear();
  cfg.route_plugins.reserve(cfg.routes.size());
  for (std::size_t r = 0; r < cfg.routes.size(); ++r)
    cfg.route_plugins.push_back(
        resolve(cfg, Who{static_cast<int>(r), cfg.routes[r].service, -1, nullptr}));
  // Unmatched requests: only plugins bound to nothing apply.
  cfg.global_plugins = resolve(cfg, Who{});

  // Which consumers have a plugin of their own (directly or through a group).
  std::vector<bool> scoped(cfg.consumers.size(), false);
  for (const auto& p : cfg.plugins) {
    if (!p.enabled) continue;
    if (p.consumer >= 0) scoped[static_cast<std::size_t>(p.consumer)] = true;
    if (p.consumer_group >= 0)
      for (std::size_t c = 0; c < cfg.consumers.size(); ++c) {
        const auto& g = cfg.consumers[c].groups;
        if (std::find(g.begin(), g.end(), p.consumer_group) != g.end()) scoped[c] = true;
      }
  }
  cfg.consumer_chains.clear();
  for (std::size_t c = 0; c < cfg.consumers.size(); ++c) {
    auto& consumer = cfg.consumers[c];
    consumer.chains = -1;
    if (!scoped[c]) continue;
    std::vector<Chain> per_route;
    per_route.reserve(cfg.routes.size());
    for (std::size_t r = 0; r < cfg.routes.size(); ++r) {
      const Chain& route_chain = cfg.route_plugins[r];
      const int known_below = authPriority(route_chain);
      // The route's plugins down to the authentication plugin, unchanged: they ran (or were
      // passed) before the consumer was known, so the pipeline can switch chains in place.
      Chain chain;
      for (const auto* p : route_chain)
        if (p->priority >= known_below) chain.push_back(p);
      if (known_below != std::numeric_limits<int>::max()) {
        const Chain mine = resolve(cfg, Who{static_cast<int>(r), cfg.routes[r].service,
                                            static_cast<int>(c), &consumer.groups});
        for (const auto* p : mine)
          if (p->priority < known_below) chain.push_back(p);
      }
      per_route.push_back(std::move(chain));
    }
    consumer.chains = static_cast<int>(cfg.consumer_chains.size());
    cfg.consumer_chains.push_back(std::move(per_route));
  }
}

const Chain& Config::chainFor(int route, int consumer) const {
  const auto& base = route_plugins[static_cast<std::size_t>(route)];
  if (consumer < 0) return base;
  const int set = consumers[static_cast<std::size_t>(consumer)].chains;
  if (set < 0) return base;
  return consumer_chains[static_cast<std::size_t>(set)][static_cast<std::size_t>(route)];
}

}  // namespace aigw::config
