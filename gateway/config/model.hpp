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
};

struct PluginInstance {
  std::string id, name, instance_name;
  int route = -1, service = -1, consumer = -1;  // scope; all -1 = global
  bool enabled = true;
  int priority = 0;
  std::vector<std::string> tags;
  std::shared_ptr<const plugins::Plugin> impl;
  std::string entity_path;
};

struct Config {
  std::vector<Service> services;
  std::vector<Route> routes;
  std::vector<Consumer> consumers;
  std::vector<PluginInstance> plugins;
  // Per route (same index as routes): enabled plugins that apply, highest priority first.
  std::vector<std::vector<const PluginInstance*>> route_plugins;
  // Plugins for requests that match no route (global ones only).
  std::vector<const PluginInstance*> global_plugins;
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

}  // namespace aigw::config
