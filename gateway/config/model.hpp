// The running configuration: an immutable snapshot of Kong-style entities, with everything
// a request needs compiled at load time (route matcher, plugin instances in priority order).
// Requests hold a shared_ptr to the snapshot they started with; reload builds a new one.
//
// Thread-safety: a Config is never modified after build(); share it freely across threads.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/errors.hpp"
#include "core/result.hpp"

namespace aigw::plugins {
class Plugin;
}

namespace aigw::config {

class Router;

struct Service {
  std::string id, name;
  std::string protocol = "http", host, path;
  int port = 80;
  int connect_timeout_ms = 60000, read_timeout_ms = 60000, write_timeout_ms = 60000;
  bool enabled = true;
  std::vector<std::string> tags;
  std::string entity_path;  // e.g. services[0]
};

struct Route {
  std::string id, name;
  int service = -1;  // index into Config::services, -1 = none
  std::vector<std::string> paths, methods, hosts;
  bool strip_path = true;
  bool preserve_host = false;
  int regex_priority = 0;
  std::vector<std::string> tags;
  std::string entity_path;
};

struct Consumer {
  std::string id, username, custom_id;
  std::vector<std::string> tags;
  std::string entity_path;
  std::vector<int> groups;  // indexes into Config::consumer_groups, by group name
  // Index into Config::consumer_chains when a plugin is scoped to this consumer or one of its
  // groups; -1 = its requests use the route's chain.
  int chains = -1;
};

// Kong's consumer_groups: plugins scoped to a group apply to its member consumers.
struct ConsumerGroup {
  std::string id, name;
  std::vector<std::string> tags;
  std::string entity_path;
};

// A key-auth credential (decK: consumers[].keyauth_credentials[]). The key is a secret: it is
// never logged nor put in an error message.
struct KeyAuthCredential {
  std::string id, key;
  int consumer = -1;
  std::vector<std::string> tags;
};

struct PluginInstance {
  std::string id, name, instance_name;
  // Scope; all -1 = global. consumer and consumer_group are never both set.
  int route = -1, service = -1, consumer = -1, consumer_group = -1;
  bool enabled = true;
  int priority = 0;
  std::vector<std::string> tags;
  std::shared_ptr<const plugins::Plugin> impl;
  std::string entity_path;
};

using Chain = std::vector<const PluginInstance*>;

struct Config {
  std::vector<Service> services;
  std::vector<Route> routes;
  std::vector<Consumer> consumers;
  std::vector<ConsumerGroup> consumer_groups;
  std::vector<KeyAuthCredential> keyauth_credentials;
  // key -> index into keyauth_credentials (keys are unique).
  std::unordered_map<std::string, int> keyauth_by_key;
  std::vector<PluginInstance> plugins;
  // Per route (same index as routes): enabled plugins that apply, highest priority first.
  std::vector<Chain> route_plugins;
  // Plugins for requests that match no route (global ones only).
  Chain global_plugins;
  // For consumers with scoped plugins (Consumer::chains): per route, the chain once the consumer
  // is known. Its plugins down to the route's authentication plugins are the route chain's
  // (Kong looks plugins up as it goes, so those ran before anyone was identified); below them
  // the instance that applies to the consumer wins, with Kong's precedence (see chains.cpp).
  std::vector<std::vector<Chain>> consumer_chains;
  // The chain for `route` once `consumer` (-1 = none) is identified.
  const Chain& chainFor(int route, int consumer) const;
  std::shared_ptr<const Router> router;
  // The normalised declarative document with ${{ env }} references kept (for dump/persist).
  std::shared_ptr<const nlohmann::json> source;
  // Things the loader accepted but did not use, for the user to read (not errors).
  std::vector<std::string> notices;

  std::size_t enabledPluginCount() const;
};

// Builds a snapshot from a declarative document (Kong decK format, already parsed).
// `env` resolves ${{ env "X" }}. All problems are reported, each with its entity path.
using ConfigPtr = std::shared_ptr<const Config>;
Result<ConfigPtr, ConfigErrors> build(const nlohmann::json& document,
                                      const std::function<const char*(const std::string&)>& env);
// The flat document build() would work on (a Kubernetes AIGateway converted first), with
// ${{ env }} references unresolved; malformed parts are copied as they are.
nlohmann::json flatSource(const nlohmann::json& document);
// Fills route_plugins, global_plugins and the consumers' chains from `plugins` (chains.cpp).
void buildChains(Config& cfg);

}  // namespace aigw::config
