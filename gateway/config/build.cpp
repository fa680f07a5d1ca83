// Declarative document (Kong decK format) -> immutable Config snapshot.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "config/aigateway.hpp"
#include "config/document.hpp"
#include "config/entities.hpp"
#include "config/model.hpp"
#include "config/router.hpp"
#include "config/schema.hpp"
#include "http/message.hpp"
#include "plugins/plugin.hpp"

namespace aigw::config {

std::size_t Config::enabledPluginCount() const {
  return static_cast<std::size_t>(std::count_if(plugins.begin(), plugins.end(),
                                                [](const PluginInstance& p) { return p.enabled; }));
}

namespace {

using Json = nlohmann::json;

const Schema& serviceSchema() {
  return entitySchema(EntityKind::Service);
}
const Schema& routeSchema() {
  return entitySchema(EntityKind::Route);
}
const Schema& pluginSchema() {
  return entitySchema(EntityKind::Plugin);
}
const Schema& consumerSchema() {
  return entitySchema(EntityKind::Consumer);
}

std::vector<std::string> strings(const Json& o, const char* key) {
  std::vector<std::string> out;
  if (auto it = o.find(key); it != o.end() && it->is_array())
    for (const auto& v : *it)
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

class Builder {
 public:
  explicit Builder(std::shared_ptr<Config> cfg) : cfg_(std::move(cfg)) {}

  void document(const Json& doc) {
    if (!doc.is_object()) {
      errors.add("",
                 "expected a mapping with _format_version, services, routes, plugins, consumers");
      return;
    }
    static const std::vector<std::string> known = {
        "_format_version", "_transform", "_konnect", "_info",           "_workspace",
        "services",        "routes",     "plugins",  "consumer_groups", "consumers"};
    static const std::vector<std::string> kong_only = {
        "upstreams", "certificates",  "ca_certificates", "snis",    "vaults", "key_sets",
        "keys",      "filter_chains", "custom_entities", "partials"};
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      if (std::find(known.begin(), known.end(), it.key()) != known.end()) continue;
      if (std::find(kong_only.begin(), kong_only.end(), it.key()) != kong_only.end()) {
        errors.add(it.key(), "Kong entity type \"" + it.key() + "\" is not supported by aigw");
      } else {
        std::string msg = "unknown top-level key";
        auto near = closestMatch(it.key(), known);
        if (!near.empty()) msg += " (did you mean \"" + near + "\"?)";
        errors.add(it.key(), msg);
      }
    }
    if (auto v = doc.find("_format_version");
        v != doc.end() && !(v->is_string() && (*v == "3.0" || *v == "1.1" || *v == "2.1")))
      errors.add("_format_version", "expected \"3.0\" (or \"1.1\"/\"2.1\")");
    forEach(doc, "consumer_groups", "",
            [&](const Json& g, const std::string& path) { consumerGroup(g, path); });
    forEach(doc, "consumers", "",
            [&](const Json& c, const std::string& path) { consumer(c, path); });
    forEach(doc, "services", "", [&](const Json& s, const std::string& path) { service(s, path); });
    forEach(doc, "routes", "", [&](const Json& r, const std::string& path) { route(r, path, -1); });
    forEach(doc, "plugins", "",
            [&](const Json& p, const std::string& path) { plugin(p, path, -1, -1, -1); });
    resolvePendingPlugins();
  }

  void finish() {
    auto router = std::make_shared<Router>(cfg_->routes, errors);
    cfg_->router = std::move(router);
    buildChains(*cfg_);
  }

  ConfigErrors errors;

 private:
  template <typename F>
  void forEach(const Json& parent, const char* key, const std::string& base, F&& f) {
    auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) return;
    const std::string path = joinPath(base, key);
    if (!it->is_array()) {
      errors.add(path, "expected an array");
      return;
    }
    for (std::size_t i = 0; i < it->size(); ++i) f((*it)[i], indexPath(path, i));
  }

  void consumer(const Json& c, const std::string& path) {
    Json v = validate(c, consumerSchema(), path, errors);
    Consumer out;
    out.username = v.value("username", "");
    out.custom_id = v.value("custom_id", "");
    if (out.username.empty() && out.custom_id.empty())
      errors.add(path, "at least one of username or custom_id is required");
    out.id = v.value("id",
                     stableId("consumer:" + (out.username.empty() ? out.custom_id : out.username)));
    out.tags = strings(v, "tags");
    out.entity_path = path;
    for (const auto& existing : cfg_->consumers)
      if (!out.username.empty() && existing.username == out.username)
        errors.add(joinPath(path, "username"),
                   "duplicate consumer username \"" + out.username + "\"");
    forEach(v, "groups", path, [&](const Json& ref, const std::string& gp) {
      const int g = lookup(ref, gp, "consumer_group");
      if (g >= 0 && std::find(out.groups.begin(), out.groups.end(), g) == out.groups.end())
        out.groups.push_back(g);
    });
    // By name: among several groups' instances of one plugin, the first group by name wins.
    std::sort(out.groups.begin(), out.groups.end(), [&](int a, int b) {
      return cfg_->consumer_groups[static_cast<std::size_t>(a)].name <
             cfg_->consumer_groups[static_cast<std::size_t>(b)].name;
    });
    cfg_->consumers.push_back(std::move(out));
    const int index = static_cast<int>(cfg_->consumers.size()) - 1;
    forEach(v, "keyauth_credentials", path,
            [&](const Json& k, const std::string& kp) { keyAuthCredential(k, kp, index); });
    forEach(c, "plugins", path,
            [&](const Json& p, const std::string& pp) { plugin(p, pp, -1, -1, index); });
  }

  void keyAuthCredential(const Json& k, const std::string& path, int consumer) {
    Json v = validate(k, entitySchema(EntityKind::KeyAuth), path, errors);
    KeyAuthCredential out;
    out.key = v.value("key", "");
    out.consumer = consumer;
    out.tags = strings(v, "tags");
    if (out.key.empty()) {
      errors.add(joinPath(path, "key"), "required field missing");
      return;
    }
    out.id = v.value("id", stableId("keyauth:" + out.key));
    const int index = static_cast<int>(cfg_->keyauth_credentials.size());
    // The key is a secret: the error names where the other one is, never the value.
    auto [it, inserted] = cfg_->keyauth_by_key.emplace(out.key, index);
    if (!inserted) {
      const auto& other = cfg_->keyauth_credentials[static_cast<std::size_t>(it->second)];
      errors.add(joinPath(path, "key"),
                 "duplicate key-auth key (the same key is set for consumer \"" +
                     cfg_->consumers[static_cast<std::size_t>(other.consumer)].username + "\")");
      return;
    }
    cfg_->keyauth_credentials.push_back(std::move(out));
  }

  void consumerGroup(const Json& g, const std::string& path) {
    Json v = validate(g, entitySchema(EntityKind::ConsumerGroup), path, errors);
    ConsumerGroup out;
    out.name = v.value("name", "");
    if (out.name.empty()) errors.add(joinPath(path, "name"), "required field missing");
    out.id = v.value("id", stableId("consumer_group:" + (out.name.empty() ? path : out.name)));
    out.tags = strings(v, "tags");
    out.entity_path = path;
    for (const auto& existing : cfg_->consumer_groups)
      if (!out.name.empty() && existing.name == out.name)
        errors.add(joinPath(path, "name"), "duplicate consumer group name \"" + out.name + "\"");
    cfg_->consumer_groups.push_back(std::move(out));
    const int index = static_cast<int>(cfg_->consumer_groups.size()) - 1;
    forEach(g, "plugins", path, [&](const Json& p, const std::string& pp) {
      plugin(p, pp, -1, -1, -1);
      if (!cfg_->plugins.empty() && cfg_->plugins.back().entity_path == pp)
        cfg_->plugins.back().consumer_group = index;
    });
  }

  void service(const Json& s, const std::string& path) {
    Json v = validate(s, serviceSchema(), path, errors);
    Service out;
    out.name = v.value("name", "");
    out.id = v.value("id", stableId("service:" + (out.name.empty() ? path : out.name)));
    out.entity_path = path;
    if (auto url = v.value("url", ""); !url.empty()) {
      http::ParsedUrl parsed;
      if (!http::parseUrl(url, parsed)) {
        errors.add(joinPath(path, "url"), "must be an absolute http:// or https:// URL");
      } else {
        out.protocol = parsed.scheme;
        out.host = parsed.host;
        out.port = parsed.port;
        out.path = parsed.target;
      }
    } else {
      out.protocol = v.value("protocol", "http");
      out.host = v.value("host", "");
      out.port = v.value("port", out.protocol == "https" ? 443 : 80);
      out.path = v.value("path", "");
    }
    out.connect_timeout_ms = v.value("connect_timeout", 60000);
    out.read_timeout_ms = v.value("read_timeout", 60000);
    out.write_timeout_ms = v.value("write_timeout", 60000);
    out.enabled = v.value("enabled", true);
    out.tags = strings(v, "tags");
    for (const auto& existing : cfg_->services)
      if (!out.name.empty() && existing.name == out.name)
        errors.add(joinPath(path, "name"), "duplicate service name \"" + out.name + "\"");
    cfg_->services.push_back(std::move(out));
    const int index = static_cast<int>(cfg_->services.size()) - 1;
    forEach(s, "routes", path, [&](const Json& r, const std::string& rp) { route(r, rp, index); });
    forEach(s, "plugins", path,
            [&](const Json& p, const std::string& pp) { plugin(p, pp, -1, index, -1); });
  }

  int lookup(const Json& ref, const std::string& path, const char* kind) {
    std::string key;
    if (ref.is_string())
      key = ref.get<std::string>();
    else if (ref.is_object())
      key = ref.value("id", ref.value("name", ref.value("username", "")));
    if (key.empty()) {
      errors.add(path, std::string("expected the name or id of a ") + kind);
      return -1;
    }
    auto find = [&](const auto& list) -> int {
      for (std::size_t i = 0; i < list.size(); ++i) {
        const auto& e = list[i];
        if (e.id == key) return static_cast<int>(i);
        if constexpr (requires { e.name; }) {
          if (e.name == key) return static_cast<int>(i);
        } else {
          if (e.username == key || e.custom_id == key) return static_cast<int>(i);
        }
      }
      return -1;
    };
    const std::string k = kind;
    int found = k == "service"          ? find(cfg_->services)
                : k == "route"          ? find(cfg_->routes)
                : k == "consumer_group" ? find(cfg_->consumer_groups)
                                        : find(cfg_->consumers);
    if (found < 0) errors.add(path, std::string("unknown ") + kind + " \"" + key + "\"");
    return found;
  }

  void route(const Json& r, const std::string& path, int service) {
    Json v = validate(r, routeSchema(), path, errors);
    Route out;
    out.name = v.value("name", "");
    out.id = v.value("id", stableId("route:" + (out.name.empty() ? path : out.name)));
    out.entity_path = path;
    out.service = service;
    if (service < 0 && v.contains("service") && !v["service"].is_null())
      out.service = lookup(v["service"], joinPath(path, "service"), "service");
    out.paths = strings(v, "paths");
    out.methods = strings(v, "methods");
    out.hosts = strings(v, "hosts");
    out.strip_path = v.value("strip_path", true);
    out.preserve_host = v.value("preserve_host", false);
    out.regex_priority = v.value("regex_priority", 0);
    out.tags = strings(v, "tags");
    if (v.contains("expression"))
      errors.add(joinPath(path, "expression"), "expression routes are not supported by aigw");
    for (const auto& existing : cfg_->routes)
      if (!out.name.empty() && existing.name == out.name)
        errors.add(joinPath(path, "name"), "duplicate route name \"" + out.name + "\"");
    cfg_->routes.push_back(std::move(out));
    const int index = static_cast<int>(cfg_->routes.size()) - 1;
    forEach(r, "plugins", path,
            [&](const Json& p, const std::string& pp) { plugin(p, pp, index, -1, -1); });
  }

  void plugin(const Json& p, const std::string& path, int route, int service, int consumer) {
    Json v = validate(p, pluginSchema(), path, errors);
    const std::string name = v.value("name", "");
    if (name.empty()) {
      errors.add(joinPath(path, "name"), "required field missing");
      return;
    }
    const auto* spec = plugins::findPlugin(name);
    if (!spec) {
      std::string msg = "unknown plugin \"" + name + "\"";
      auto names = plugins::pluginNames();
      auto near = closestMatch(name, names);
      msg += near.empty() ? "; available: " + joinList(names) : " (did you mean \"" + near + "\"?)";
      errors.add(joinPath(path, "name"), msg);
      return;
    }
    PluginInstance out;
    out.name = name;
    out.instance_name = v.value("instance_name", "");
    out.entity_path = path;
    out.enabled = v.value("enabled", true);
    out.priority = spec->priority;
    out.tags = strings(v, "tags");
    out.route = route;
    out.service = service;
    out.consumer = consumer;
    const std::string config_path = joinPath(path, "config");
    Json normalized =
        validate(v.value("config", Json::object()), spec->schema(), config_path, errors);
    out.impl = spec->create(normalized, config_path, errors);
    // References to entities declared later in the file are resolved after the whole pass.
    pending_.push_back({cfg_->plugins.size(), v});
    std::string scope = route >= 0      ? "route:" + cfg_->routes[route].id
                        : service >= 0  ? "service:" + cfg_->services[service].id
                        : consumer >= 0 ? "consumer:" + cfg_->consumers[consumer].id
                                        : std::string("global");
    out.id = v.value(
        "id", stableId("plugin:" + name + ":" + scope + ":" + out.instance_name + ":" + path));
    cfg_->plugins.push_back(std::move(out));
  }

  void resolvePendingPlugins() {
    for (auto& [index, v] : pending_) {
      auto& p = cfg_->plugins[index];
      if (v.contains("route") && !v["route"].is_null())
        p.route = lookup(v["route"], joinPath(p.entity_path, "route"), "route");
      if (v.contains("service") && !v["service"].is_null())
        p.service = lookup(v["service"], joinPath(p.entity_path, "service"), "service");
      if (v.contains("consumer") && !v["consumer"].is_null())
        p.consumer = lookup(v["consumer"], joinPath(p.entity_path, "consumer"), "consumer");
      if (v.contains("consumer_group") && !v["consumer_group"].is_null())
        p.consumer_group = lookup(v["consumer_group"], joinPath(p.entity_path, "consumer_group"),
                                  "consumer_group");
      if (p.consumer >= 0 && p.consumer_group >= 0)
        errors.add(p.entity_path,
                   "a plugin is scoped to a consumer or to a consumer group, not both");
      if ((p.consumer >= 0 || p.consumer_group >= 0) && p.impl && p.impl->identifiesConsumer())
        errors.add(p.entity_path,
                   "plugin \"" + p.name + "\" authenticates consumers and cannot be scoped to one");
    }
    // Two instances of one plugin on the same scope would be ambiguous (Kong refuses them too).
    std::map<std::string, std::string> seen;
    for (const auto& p : cfg_->plugins) {
      std::string key = p.name + "|" + std::to_string(p.route) + "|" + std::to_string(p.service) +
                        "|" + std::to_string(p.consumer) + "|" + std::to_string(p.consumer_group);
      auto [it, inserted] = seen.emplace(key, p.entity_path);
      if (!inserted)
        errors.add(p.entity_path, "plugin \"" + p.name +
                                      "\" is already configured for this scope at " + it->second);
    }
  }

  std::shared_ptr<Config> cfg_;
  std::vector<std::pair<std::size_t, Json>> pending_;
};

}  // namespace

Result<ConfigPtr, ConfigErrors> build(const Json& document,
                                      const std::function<const char*(const std::string&)>& env) {
  auto cfg = std::make_shared<Config>();
  Builder builder(cfg);
  // A Kubernetes AIGateway file becomes the equivalent decK document first.
  FlatDocument flat;
  if (isAIGateway(document)) {
    std::vector<std::string> sources;
    Json converted = fromAIGateway(document, builder.errors, &cfg->notices, &sources);
    if (!builder.errors.empty())
      return Result<ConfigPtr, ConfigErrors>::failure(std::move(builder.errors));
    flat = flatten(converted);
    // Errors in generated routes point at the model entry they came from.
    for (auto& [flat_path, origin] : flat.origin) {
      for (std::size_t i = 0; i < sources.size(); ++i) {
        const std::string route = "routes[" + std::to_string(i) + "]";
        if (origin.compare(0, route.size(), route) == 0 &&
            (origin.size() == route.size() || origin[route.size()] == '.'))
          origin = sources[i] + origin.substr(route.size());
      }
    }
  } else {
    flat = flatten(document);
  }
  Json resolved = resolveEnv(flat.doc, env, builder.errors);
  if (builder.errors.empty()) builder.document(resolved);
  if (builder.errors.empty()) builder.finish();
  if (!builder.errors.empty()) {
    for (auto& e : builder.errors.list()) e.path = flat.originalPath(e.path);
    return Result<ConfigPtr, ConfigErrors>::failure(std::move(builder.errors));
  }
  cfg->source = std::make_shared<const Json>(std::move(flat.doc));
  return ConfigPtr(std::move(cfg));
}

Json flatSource(const Json& document) {
  if (!isAIGateway(document)) return flatten(document).doc;
  ConfigErrors ignored;
  return flatten(fromAIGateway(document, ignored, nullptr, nullptr)).doc;
}

}  // namespace aigw::config
