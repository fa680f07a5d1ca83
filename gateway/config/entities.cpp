#include "config/entities.hpp"

#include <openssl/rand.h>
#include <openssl/sha.h>

namespace aigw::config {

namespace {

using Json = nlohmann::json;

Field any(std::string name) {
  return Field{std::move(name), FieldType::Any};
}
Field strf(std::string name) {
  return Field{std::move(name), FieldType::String};
}
Field intf(std::string name, double min, double max) {
  Field f{std::move(name), FieldType::Integer};
  f.min = min;
  f.max = max;
  return f;
}
Field boolf(std::string name) {
  return Field{std::move(name), FieldType::Boolean};
}
Field strlist(std::string name) {
  Field f{std::move(name), FieldType::Array};
  f.element = FieldType::String;
  return f;
}

std::string uuidFrom(unsigned char* b, unsigned char version) {
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | version);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0xf];
  }
  return out;
}

}  // namespace

std::string pluginStableId(const nlohmann::json& p) {
  std::string scope_key = "global";
  for (const char* k : {"route", "service", "consumer", "consumer_group"}) {
    if (p.contains(k) && !p[k].is_null()) {
      const auto& ref = p[k];
      scope_key = std::string(k) + ":" +
                  (ref.is_string()   ? ref.get<std::string>()
                   : ref.is_object() ? stringField(ref, "id", stringField(ref, "name"))
                                     : "");
      break;
    }
  }
  return stableId("plugin:" + stringField(p, "name") + ":" + scope_key + ":" +
                  stringField(p, "instance_name"));
}

const EntityInfo& entityInfo(EntityKind kind) {
  static const EntityInfo kInfo[] = {
      {EntityKind::Service, "services", "service", "name"},
      {EntityKind::Route, "routes", "route", "name"},
      {EntityKind::Plugin, "plugins", "plugin", "instance_name"},
      {EntityKind::Consumer, "consumers", "consumer", "username"},
      {EntityKind::KeyAuth, "keyauth_credentials", "key-auth", "key"},
      {EntityKind::ConsumerGroup, "consumer_groups", "consumer_group", "name"},
  };
  return kInfo[static_cast<int>(kind)];
}

// Kong's entity fields; the ones aigw gives no meaning to are accepted and ignored.
const Schema& entitySchema(EntityKind kind) {
  static const Schema service{{strf("id"),
                               strf("name"),
                               strf("url"),
                               strf("protocol"),
                               strf("host"),
                               intf("port", 0, 65535),
                               strf("path"),
                               intf("retries", 0, 32767),
                               intf("connect_timeout", 1, 2147483646),
                               intf("write_timeout", 1, 2147483646),
                               intf("read_timeout", 1, 2147483646),
                               strlist("tags"),
                               any("client_certificate"),
                               boolf("tls_verify"),
                               intf("tls_verify_depth", 0, 64),
                               any("ca_certificates"),
                               boolf("enabled"),
                               any("routes"),
                               any("plugins"),
                               any("created_at"),
                               any("updated_at")}};
  static const Schema route{{strf("id"),
                             strf("name"),
                             strlist("protocols"),
                             strlist("methods"),
                             strlist("hosts"),
                             strlist("paths"),
                             any("headers"),
                             intf("https_redirect_status_code", 0, 999),
                             intf("regex_priority", -2147483647, 2147483647),
                             boolf("strip_path"),
                             strf("path_handling"),
                             boolf("preserve_host"),
                             boolf("request_buffering"),
                             boolf("response_buffering"),
                             strlist("snis"),
                             any("sources"),
                             any("destinations"),
                             strlist("tags"),
                             any("service"),
                             any("plugins"),
                             any("created_at"),
                             any("updated_at"),
                             strf("expression"),
                             any("priority")}};
  static const Schema plugin{{strf("id"), strf("name"), any("config"), boolf("enabled"),
                              strlist("protocols"), strlist("tags"), any("route"), any("service"),
                              any("consumer"), any("consumer_group"), strf("instance_name"),
                              any("ordering"), any("created_at"), any("updated_at")}};
  static const Schema consumer{{strf("id"), strf("username"), strf("custom_id"), strlist("tags"),
                                any("plugins"), any("keyauth_credentials"), any("created_at"),
                                any("updated_at"), any("groups")}};
  static const Schema keyauth{{strf("id"), strf("key"), strlist("tags"), intf("ttl", 0, 100000000),
                               any("consumer"), any("created_at")}};
  static const Schema group{{strf("id"), strf("name"), strlist("tags"), any("plugins"),
                             any("consumers"), any("created_at"), any("updated_at")}};
  switch (kind) {
    case EntityKind::Service:
      return service;
    case EntityKind::Route:
      return route;
    case EntityKind::Plugin:
      return plugin;
    case EntityKind::Consumer:
      return consumer;
    case EntityKind::KeyAuth:
      return keyauth;
    case EntityKind::ConsumerGroup:
      return group;
  }
  return service;
}

std::string stableId(const std::string& seed) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(seed.data()), seed.size(), digest);
  return uuidFrom(digest, 0x50);
}

std::string randomId() {
  unsigned char b[16];
  RAND_bytes(b, sizeof(b));
  return uuidFrom(b, 0x40);
}

std::string stringField(const Json& object, const char* key, std::string fallback) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

bool looksLikeUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

std::string FlatDocument::originalPath(const std::string& flat_path) const {
  // Longest recorded prefix that ends at a path boundary.
  for (std::size_t end = flat_path.size(); end > 0; --end) {
    if (end != flat_path.size() && flat_path[end] != '.' && flat_path[end] != '[') continue;
    auto it = origin.find(flat_path.substr(0, end));
    if (it != origin.end()) return it->second + flat_path.substr(end);
  }
  return flat_path;
}

namespace {

constexpr const char* kCollections[] = {"services", "routes", "plugins", "consumer_groups",
                                        "consumers"};

class Flattener {
 public:
  FlatDocument out;

  void run(const Json& doc) {
    out.doc = Json::object();
    if (!doc.is_object()) {
      out.doc = doc;
      return;
    }
    for (auto it = doc.begin(); it != doc.end(); ++it)
      if (it.key() != "services" && it.key() != "routes" && it.key() != "plugins" &&
          it.key() != "consumers" && it.key() != "consumer_groups")
        out.doc[it.key()] = it.value();
    for (const char* c : kCollections) out.doc[c] = Json::array();
    each(doc, "consumer_groups", "", [&](const Json& g, const std::string& p) { group(g, p); });
    each(doc, "consumers", "", [&](const Json& c, const std::string& p) { consumer(c, p); });
    each(doc, "services", "", [&](const Json& s, const std::string& p) { service(s, p); });
    each(doc, "routes", "", [&](const Json& r, const std::string& p) { route(r, p, Json()); });
    each(doc, "plugins", "", [&](const Json& pl, const std::string& p) { plugin(pl, p, Json()); });
    // Top-level references by name become references by id where the target exists.
    for (auto& r : out.doc["routes"]) resolve(r, "service", "services", "name");
    for (auto& p : out.doc["plugins"]) {
      resolve(p, "route", "routes", "name");
      resolve(p, "service", "services", "name");
      resolve(p, "consumer", "consumers", "username");
      resolve(p, "consumer_group", "consumer_groups", "name");
      if (p.is_object() && !(p.contains("id") && p["id"].is_string())) p["id"] = pluginStableId(p);
    }
    for (const char* c : kCollections)
      if (out.doc[c].empty() && !doc.contains(c)) out.doc.erase(c);
  }

 private:
  template <typename F>
  void each(const Json& parent, const char* key, const std::string& base, F&& f) {
    auto it = parent.find(key);
    if (it == parent.end()) return;
    const std::string path = base.empty() ? key : base + "." + key;
    if (!it->is_array()) {
      // Malformed: keep it where the builder will look, so the error names it.
      if (base.empty()) out.doc[key] = *it;
      return;
    }
    for (std::size_t i = 0; i < it->size(); ++i) f((*it)[i], path + "[" + std::to_string(i) + "]");
  }

  // Appends `entity` to a flat collection, remembering where it came from.
  Json& add(const char* collection, Json entity, const std::string& origin_path) {
    auto& list = out.doc[collection];
    const std::string flat = std::string(collection) + "[" + std::to_string(list.size()) + "]";
    out.origin[flat] = origin_path;
    list.push_back(std::move(entity));
    return list.back();
  }

  static std::string idOf(const Json& e, const std::string& seed) {
    if (e.is_object() && e.contains("id") && e["id"].is_string()) return e["id"];
    return stableId(seed);
  }

  void consumer(const Json& c, const std::string& path) {
    Json e = c;
    if (e.is_object()) {
      e.erase("plugins");
      std::string key = stringField(c, "username", stringField(c, "custom_id", path));
      e["id"] = idOf(c, "consumer:" + key);
    }
    const Json ref = {{"id", e.is_object() ? e["id"] : Json()}};
    add("consumers", std::move(e), path);
    each(c, "plugins", path, [&](const Json& p, const std::string& pp) {
      plugin(p, pp, Json{{"consumer", ref}});
    });
  }

  void group(const Json& g, const std::string& path) {
    Json e = g;
    if (e.is_object()) {
      e.erase("plugins");
      e["id"] = idOf(g, "consumer_group:" + stringField(g, "name", path));
    }
    const Json ref = {{"id", e.is_object() ? e["id"] : Json()}};
    add("consumer_groups", std::move(e), path);
    each(g, "plugins", path, [&](const Json& p, const std::string& pp) {
      plugin(p, pp, Json{{"consumer_group", ref}});
    });
  }

  void service(const Json& s, const std::string& path) {
    Json e = s;
    if (e.is_object()) {
      e.erase("routes");
      e.erase("plugins");
      e["id"] = idOf(s, "service:" + (s.contains("name") && s["name"].is_string()
                                          ? s["name"].get<std::string>()
                                          : path));
    }
    const Json ref = {{"id", e.is_object() ? e["id"] : Json()}};
    add("services", std::move(e), path);
    each(s, "routes", path, [&](const Json& r, const std::string& rp) { route(r, rp, ref); });
    each(s, "plugins", path, [&](const Json& p, const std::string& pp) {
      plugin(p, pp, Json{{"service", ref}});
    });
  }

  void route(const Json& r, const std::string& path, const Json& service_ref) {
    Json e = r;
    if (e.is_object()) {
      e.erase("plugins");
      e["id"] = idOf(
          r, "route:" + (r.contains("name") && r["name"].is_string() ? r["name"].get<std::string>()
                                                                     : path));
      if (!service_ref.is_null()) e["service"] = service_ref;
    }
    const Json ref = {{"id", e.is_object() ? e["id"] : Json()}};
    add("routes", std::move(e), path);
    each(r, "plugins", path, [&](const Json& p, const std::string& pp) {
      plugin(p, pp, Json{{"route", ref}});
    });
  }

  void plugin(const Json& p, const std::string& path, const Json& scope) {
    Json e = p;
    if (e.is_object())
      for (auto it = scope.begin(); it != scope.end(); ++it) e[it.key()] = it.value();
    add("plugins", std::move(e), path);  // the id is set once references are resolved
  }

  void resolve(Json& entity, const char* field, const char* collection, const char* name_field) {
    if (!entity.is_object() || !entity.contains(field)) return;
    Json& ref = entity[field];
    std::string key = ref.is_string()   ? ref.get<std::string>()
                      : ref.is_object() ? stringField(ref, "name", stringField(ref, "id"))
                                        : "";
    if (key.empty()) return;
    for (const auto& target : out.doc[collection]) {
      if (!target.is_object()) continue;
      if (stringField(target, "id") == key || stringField(target, name_field) == key) {
        ref = Json{{"id", target["id"]}};
        return;
      }
    }
  }
};

}  // namespace

FlatDocument flatten(const Json& document) {
  Flattener f;
  f.run(document);
  return std::move(f.out);
}

Json nest(const Json& flat) {
  static constexpr const char* kScopes[] = {"route", "service", "consumer", "consumer_group"};
  Json out = Json::object();
  out["_format_version"] = stringField(flat, "_format_version", "3.0");
  for (auto it = flat.begin(); it != flat.end(); ++it)
    if (it.key() == "_info" || it.key() == "_konnect" || it.key() == "_transform")
      out[it.key()] = it.value();
  auto strip = [](Json e, const char* name_field) {
    e.erase("created_at");
    e.erase("updated_at");
    if (e.contains(name_field) && e[name_field].is_string() &&
        !e[name_field].get<std::string>().empty())
      e.erase("id");
    return e;
  };
  auto refId = [](const Json& e, const char* field) -> std::string {
    if (!e.contains(field) || !e[field].is_object()) return {};
    return stringField(e[field], "id");
  };
  const Json empty = Json::array();
  const Json& plugins = flat.contains("plugins") ? flat["plugins"] : empty;
  auto pluginsFor = [&](const char* field, const std::string& id) {
    Json list = Json::array();
    for (const auto& p : plugins) {
      int scopes = 0;
      for (const char* f : kScopes) scopes += !refId(p, f).empty();
      if (scopes == 1 && refId(p, field) == id) {
        Json e = strip(p, "instance_name");
        if (e.contains("id") && e["id"] == pluginStableId(p)) e.erase("id");
        e.erase(field);
        list.push_back(std::move(e));
      }
    }
    return list;
  };
  std::vector<std::string> nested_routes;
  Json services = Json::array();
  for (const auto& s : flat.value("services", empty)) {
    Json e = strip(s, "name");
    const std::string sid = stringField(s, "id");
    Json routes = Json::array();
    for (const auto& r : flat.value("routes", empty)) {
      if (refId(r, "service") != sid) continue;
      Json re = strip(r, "name");
      re.erase("service");
      if (auto rp = pluginsFor("route", stringField(r, "id")); !rp.empty())
        re["plugins"] = std::move(rp);
      routes.push_back(std::move(re));
      nested_routes.push_back(stringField(r, "id"));
    }
    if (!routes.empty()) e["routes"] = std::move(routes);
    if (auto sp = pluginsFor("service", sid); !sp.empty()) e["plugins"] = std::move(sp);
    services.push_back(std::move(e));
  }
  if (!services.empty()) out["services"] = std::move(services);
  Json routes = Json::array();
  for (const auto& r : flat.value("routes", empty)) {
    if (std::find(nested_routes.begin(), nested_routes.end(), stringField(r, "id")) !=
        nested_routes.end())
      continue;
    Json re = strip(r, "name");
    if (auto rp = pluginsFor("route", stringField(r, "id")); !rp.empty())
      re["plugins"] = std::move(rp);
    routes.push_back(std::move(re));
  }
  if (!routes.empty()) out["routes"] = std::move(routes);
  Json groups = Json::array();
  for (const auto& g : flat.value("consumer_groups", empty)) {
    Json ge = strip(g, "name");
    if (auto gp = pluginsFor("consumer_group", stringField(g, "id")); !gp.empty())
      ge["plugins"] = std::move(gp);
    groups.push_back(std::move(ge));
  }
  if (!groups.empty()) out["consumer_groups"] = std::move(groups);
  Json consumers = Json::array();
  for (const auto& c : flat.value("consumers", empty)) {
    Json ce = strip(c, "username");
    if (auto cp = pluginsFor("consumer", stringField(c, "id")); !cp.empty())
      ce["plugins"] = std::move(cp);
    consumers.push_back(std::move(ce));
  }
  if (!consumers.empty()) out["consumers"] = std::move(consumers);
  Json global = Json::array();
  for (const auto& p : plugins) {
    int scopes = 0;
    for (const char* f : kScopes) scopes += !refId(p, f).empty();
    if (scopes == 1) continue;
    Json e = strip(p, "instance_name");
    if (e.contains("id") && e["id"] == pluginStableId(p)) e.erase("id");
    global.push_back(std::move(e));
  }
  if (!global.empty()) out["plugins"] = std::move(global);
  return out;
}

}  // namespace aigw::config
