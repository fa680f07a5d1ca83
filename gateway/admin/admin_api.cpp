#include "admin/admin_api.hpp"

#include <unistd.h>

#include <algorithm>

#include "admin/entities.hpp"
#include "config/document.hpp"
#include "config/yaml_out.hpp"
#include "core/json.hpp"
#include "plugins/plugin.hpp"
#include "providers/provider.hpp"

namespace aigw::admin {

namespace {

using config::ConfigErrors;
using config::entityInfo;

void sendJson(httplib::Response& res, const Json& body, int status = 200) {
  res.status = status;
  res.set_content(json::dump(body), "application/json; charset=utf-8");
}

// Kong's error bodies: {"message": ...} and, for validation, code/name/fields.
void kongError(httplib::Response& res, int status, const std::string& message) {
  sendJson(res, {{"message", message}}, status);
}

Json nestFields(const std::vector<std::pair<std::string, std::string>>& errors) {
  Json fields = Json::object();
  for (const auto& [path, message] : errors) {
    Json* node = &fields;
    std::string seg;
    std::string p = path;
    std::size_t start = 0;
    while (true) {
      auto dot = p.find('.', start);
      seg = p.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (dot == std::string::npos) break;
      if (!(*node)[seg].is_object()) (*node)[seg] = Json::object();
      node = &(*node)[seg];
      start = dot + 1;
    }
    (*node)[seg.empty() ? "@entity" : seg] = message;
  }
  return fields;
}

// Validation failure of an edited entity: paths are made relative to the entity.
void schemaViolation(httplib::Response& res, const ConfigErrors& errors,
                     const std::string& entity_prefix) {
  std::vector<std::pair<std::string, std::string>> list;
  std::string summary;
  for (const auto& e : errors.list()) {
    std::string path = e.path;
    if (!entity_prefix.empty() && path.rfind(entity_prefix, 0) == 0) {
      path = path.substr(entity_prefix.size());
      if (!path.empty() && path.front() == '.') path.erase(0, 1);
    }
    list.emplace_back(path, e.message);
    if (!summary.empty()) summary += ", ";
    summary += path.empty() ? e.message : path + ": " + e.message;
  }
  sendJson(res,
           {{"code", 2},
            {"name", "schema violation"},
            {"message", "schema violation (" + summary + ")"},
            {"fields", nestFields(list)}},
           400);
}

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> out;
  std::size_t start = 1;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    std::string seg =
        path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!seg.empty()) out.push_back(httplib::detail::decode_url(seg, false));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

// The request body as JSON: a JSON object, or Kong's form encodings.
std::optional<Json> readBody(const httplib::Request& req, EntityKind kind, std::string& error) {
  const std::string type = req.get_header_value("Content-Type");
  if (type.find("application/x-www-form-urlencoded") != std::string::npos ||
      type.find("multipart/form-data") != std::string::npos) {
    std::multimap<std::string, std::string> fields(req.params.begin(), req.params.end());
    for (const auto& [name, file] : req.files) fields.emplace(name, file.content);
    return formToJson(fields, kind);
  }
  if (req.body.empty()) return Json::object();
  Json body;
  if (!json::parse(req.body, body, &error) || !body.is_object()) {
    if (error.empty()) error = "expected a JSON object";
    return std::nullopt;
  }
  coerceEntity(body, kind);
  return body;
}

bool matchesTags(const Json& e, const std::string& tags) {
  if (tags.empty()) return true;
  const Json t = e.value("tags", Json::array());
  auto has = [&](const std::string& tag) {
    return t.is_array() && std::find(t.begin(), t.end(), tag) != t.end();
  };
  const bool any = tags.find('/') != std::string::npos;
  std::string cur;
  bool result = !any;
  for (std::size_t i = 0; i <= tags.size(); ++i) {
    if (i == tags.size() || tags[i] == ',' || tags[i] == '/') {
      if (any)
        result = result || has(cur);
      else
        result = result && has(cur);
      cur.clear();
    } else {
      cur += tags[i];
    }
  }
  return result;
}

std::string refId(const Json& e, const char* field) {
  if (!e.is_object() || !e.contains(field) || !e[field].is_object()) return {};
  return e[field].value("id", "");
}

class AdminApi {
 public:
  AdminApi(config::ConfigManager& manager, std::function<std::string()> metrics)
      : manager_(manager), metrics_(std::move(metrics)) {}

  void route(const httplib::Request& req, httplib::Response& res) {
    const auto seg = splitPath(req.path);
    const std::string& m = req.method;
    if (seg.empty()) return m == "GET" ? root(res) : methodNotAllowed(res);
    if (seg[0] == "status" && seg.size() == 1) return status(res);
    if (seg[0] == "metrics" && seg.size() == 1 && m == "GET")
      return res.set_content(metrics_ ? metrics_() : std::string(),
                             "text/plain; version=0.0.4; charset=utf-8");
    if (seg[0] == "config" && seg.size() == 1)
      return m == "GET"    ? getConfig(req, res)
             : m == "POST" ? postConfig(req, res)
                           : methodNotAllowed(res);
    if (seg[0] == "plugins" && seg.size() == 2 && seg[1] == "enabled") return enabledPlugins(res);
    if (seg[0] == "schemas" && seg.size() == 3 && seg[1] == "plugins")
      return pluginSchema(seg[2], res);
    auto kind = kindOf(seg[0]);
    if (!kind) return kongError(res, 404, "Not found");
    if (seg.size() == 1)
      return m == "GET"    ? list(req, res, *kind, {})
             : m == "POST" ? create(req, res, *kind, {})
                           : methodNotAllowed(res);
    if (seg.size() == 2) {
      if (m == "GET") return getOne(res, *kind, seg[1]);
      if (m == "PATCH") return modify(req, res, *kind, seg[1], false);
      if (m == "PUT") return modify(req, res, *kind, seg[1], true);
      if (m == "DELETE") return remove(res, *kind, seg[1]);
      return methodNotAllowed(res);
    }
    if (seg.size() == 3 || seg.size() == 4) return nested(req, res, *kind, seg);
    kongError(res, 404, "Not found");
  }

 private:
  static void methodNotAllowed(httplib::Response& res) {
    kongError(res, 405, "Method not allowed");
  }

  Json current() const { return *manager_.store().current()->source; }

  void root(httplib::Response& res) {
    auto cfg = manager_.store().current();
    Json available = Json::object();
    for (const auto& name : plugins::pluginNames())
      available[name] = {{"version", AIGW_VERSION},
                         {"priority", plugins::findPlugin(name)->priority}};
    Json enabled = Json::array();
    for (const auto& p : cfg->plugins)
      if (p.enabled && std::find(enabled.begin(), enabled.end(), p.name) == enabled.end())
        enabled.push_back(p.name);
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    sendJson(res,
             {{"version", AIGW_VERSION},
              {"tagline", "Welcome to aigw"},
              {"hostname", host},
              {"configuration", {{"database", "off"}, {"role", "traditional"}}},
              {"plugins", {{"available_on_server", available}, {"enabled_in_cluster", enabled}}},
              {"providers", providers::providerNames()}});
  }

  void status(httplib::Response& res) {
    auto cfg = manager_.store().current();
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    sendJson(
        res,
        {{"server",
          {{"version", AIGW_VERSION}, {"hostname", host}, {"pid", static_cast<long>(getpid())}}},
         {"database", {{"reachable", true}}},
         {"configuration",
          {{"services", cfg->services.size()},
           {"routes", cfg->routes.size()},
           {"plugins", cfg->enabledPluginCount()},
           {"consumers", cfg->consumers.size()}}}});
  }

  void enabledPlugins(httplib::Response& res) {
    sendJson(res, {{"enabled_plugins", plugins::pluginNames()}});
  }

  void pluginSchema(const std::string& name, httplib::Response& res) {
    const auto* spec = plugins::findPlugin(name);
    if (!spec) return kongError(res, 404, "No plugin named '" + name + "'");
    ConfigErrors ignored;
    sendJson(res, {{"name", name},
                   {"priority", spec->priority},
                   {"defaults", config::validate(Json::object(), spec->schema(), "", ignored)}});
  }

  void getConfig(const httplib::Request& req, httplib::Response& res) {
    const Json flat = current();
    if (req.get_param_value("flat") == "true") return sendJson(res, flat);
    const Json nested = config::nest(flat);
    if (req.get_param_value("format") == "yaml" ||
        req.get_header_value("Accept").find("yaml") != std::string::npos) {
      res.set_content(config::toYaml(nested), "application/yaml");
      return;
    }
    sendJson(res, nested);
  }

  // POST /config: replace everything with a declarative document (YAML or JSON; also Kong's
  // {"config": "<yaml text>"} form).
  void postConfig(const httplib::Request& req, httplib::Response& res) {
    std::string text = req.body;
    if (req.has_param("config")) text = req.get_param_value("config");
    Json wrapped;
    if (json::parse(text, wrapped) && wrapped.is_object() && wrapped.contains("config") &&
        wrapped["config"].is_string())
      text = wrapped["config"].get<std::string>();
    auto doc = config::parseDocument(text, "config");
    if (!doc)
      return sendJson(res,
                      {{"code", 14},
                       {"name", "invalid declarative configuration"},
                       {"message", doc.error().toString()}},
                      400);
    auto applied = manager_.apply(doc->value);
    if (!applied) {
      ConfigErrors errors = applied.error();
      doc->annotate(errors);
      Json flat_errors = Json::object();
      for (const auto& e : errors.list())
        flat_errors[e.path.empty() ? "@entity" : e.path] = e.message;
      return sendJson(res,
                      {{"code", 14},
                       {"name", "invalid declarative configuration"},
                       {"message", "declarative config is invalid: " + errors.toString()},
                       {"fields", flat_errors}},
                      400);
    }
    const auto& cfg = *applied;
    sendJson(res,
             {{"services", cfg->services.size()},
              {"routes", cfg->routes.size()},
              {"plugins", cfg->plugins.size()},
              {"consumers", cfg->consumers.size()}},
             201);
  }

  void list(const httplib::Request& req, httplib::Response& res, EntityKind kind,
            const std::function<bool(const Json&)>& filter) {
    const Json doc = current();
    const Json all = doc.value(entityInfo(kind).collection, Json::array());
    const std::string tags = req.get_param_value("tags");
    std::vector<Json> matching;
    for (const auto& e : all)
      if ((!filter || filter(e)) && matchesTags(e, tags)) matching.push_back(e);
    std::size_t size = 100, offset = 0;
    try {
      if (req.has_param("size"))
        size = std::clamp<std::size_t>(std::stoul(req.get_param_value("size")), 1, 1000);
      if (req.has_param("offset")) offset = std::stoul(req.get_param_value("offset"));
    } catch (...) {
      return kongError(res, 400, "size and offset must be numbers");
    }
    Json data = Json::array();
    for (std::size_t i = offset; i < matching.size() && data.size() < size; ++i)
      data.push_back(present(matching[i], kind));
    Json next = nullptr, next_offset = nullptr;
    if (offset + size < matching.size()) {
      next_offset = std::to_string(offset + size);
      next = req.path + "?offset=" + next_offset.get<std::string>() +
             (req.has_param("size") ? "&size=" + std::to_string(size) : "");
    }
    sendJson(res, {{"data", data}, {"next", next}, {"offset", next_offset}});
  }

  void getOne(httplib::Response& res, EntityKind kind, const std::string& key) {
    const Json doc = current();
    int i = findEntity(doc, kind, key);
    if (i < 0) return kongError(res, 404, "Not found");
    sendJson(res, present(doc[entityInfo(kind).collection][static_cast<std::size_t>(i)], kind));
  }

  // Validates and applies `doc`; on success answers with the entity at doc[collection][index].
  void commit(httplib::Response& res, EntityKind kind,
              std::function<std::string(Json& doc, int& index, int& status)> edit) {
    int index = -1, status = 200;
    std::string early;
    ConfigErrors conflict;
    auto applied = manager_.update([&](Json& doc) {
      ConfigErrors problems;
      early = edit(doc, index, status);
      if (!early.empty()) problems.add("@early", early);
      return problems;
    });
    if (!applied) {
      const auto& errors = applied.error();
      if (!errors.list().empty() && errors.list()[0].path == "@early") {
        const std::string& msg = errors.list()[0].message;
        if (msg.rfind("404:", 0) == 0) return kongError(res, 404, msg.substr(4));
        if (msg.rfind("409:", 0) == 0) {
          return sendJson(res,
                          {{"code", 5},
                           {"name", "unique constraint violation"},
                           {"message", "UNIQUE violation detected on '{" + msg.substr(4) + "}'"}},
                          409);
        }
        return kongError(res, 400, msg.substr(msg.find(':') + 1));
      }
      return schemaViolation(
          res, errors,
          std::string(entityInfo(kind).collection) + "[" + std::to_string(index) + "]");
    }
    const Json& doc = *(*applied)->source;
    const auto& list = doc[entityInfo(kind).collection];
    if (index >= 0 && static_cast<std::size_t>(index) < list.size())
      return sendJson(res, present(list[static_cast<std::size_t>(index)], kind), status);
    res.status = status;
  }

  // `scope` sets the parent reference for nested creation (POST /services/{s}/routes).
  void create(const httplib::Request& req, httplib::Response& res, EntityKind kind, Json scope) {
    std::string error;
    auto body = readBody(req, kind, error);
    if (!body) return kongError(res, 400, "cannot parse JSON body: " + error);
    for (auto it = scope.begin(); it != scope.end(); ++it) (*body)[it.key()] = it.value();
    commit(res, kind, [&](Json& doc, int& index, int& status) -> std::string {
      Json entity = *body;
      resolveRefs(doc, entity);
      assignIdentity(entity, kind);
      if (auto c = uniquenessConflict(doc, kind, entity, -1); !c.empty()) return "409:" + c;
      auto& list = doc[entityInfo(kind).collection];
      if (!list.is_array()) list = Json::array();
      list.push_back(std::move(entity));
      index = static_cast<int>(list.size()) - 1;
      status = 201;
      return {};
    });
  }

  void modify(const httplib::Request& req, httplib::Response& res, EntityKind kind,
              const std::string& key, bool upsert) {
    std::string error;
    auto body = readBody(req, kind, error);
    if (!body) return kongError(res, 400, "cannot parse JSON body: " + error);
    commit(res, kind, [&](Json& doc, int& index, int& status) -> std::string {
      auto& list = doc[entityInfo(kind).collection];
      if (!list.is_array()) list = Json::array();
      index = findEntity(doc, kind, key);
      Json entity;
      if (index < 0) {
        if (!upsert) return "404:Not found";
        entity = *body;
        if (config::looksLikeUuid(key))
          entity["id"] = key;
        else
          entity[entityInfo(kind).name_field] = key;
        status = 200;
      } else if (upsert) {
        entity = *body;
        entity["id"] = list[static_cast<std::size_t>(index)]["id"];
        entity["created_at"] = list[static_cast<std::size_t>(index)].value("created_at", 0);
        if (!config::looksLikeUuid(key) && !entity.contains(entityInfo(kind).name_field))
          entity[entityInfo(kind).name_field] = key;
      } else {
        entity = list[static_cast<std::size_t>(index)];
        entity.merge_patch(*body);
        if (body->contains("url")) {
          for (const char* k : {"protocol", "host", "port", "path"})
            if (!body->contains(k)) entity.erase(k);
        }
      }
      resolveRefs(doc, entity);
      assignIdentity(entity, kind);
      if (auto c = uniquenessConflict(doc, kind, entity, index); !c.empty()) return "409:" + c;
      if (index < 0) {
        list.push_back(std::move(entity));
        index = static_cast<int>(list.size()) - 1;
      } else {
        list[static_cast<std::size_t>(index)] = std::move(entity);
      }
      return {};
    });
  }

  void remove(httplib::Response& res, EntityKind kind, const std::string& key) {
    int found = -1;
    auto applied = manager_.update([&](Json& doc) {
      ConfigErrors problems;
      found = findEntity(doc, kind, key);
      if (found < 0) return problems;  // Kong: deleting what is not there is a 204
      if (auto why = removeEntity(doc, kind, found); !why.empty()) problems.add("@early", why);
      return problems;
    });
    if (!applied) {
      const auto& e = applied.error().list();
      return kongError(res, 400, e.empty() ? "cannot delete" : e[0].message);
    }
    res.status = 204;
  }

  // A reference given by name ({"service": {"name": "x"}} or "x") becomes {"id": ...}.
  static void resolveRefs(const Json& doc, Json& entity) {
    for (auto [field, kind] :
         {std::pair{"service", EntityKind::Service}, std::pair{"route", EntityKind::Route},
          std::pair{"consumer", EntityKind::Consumer}}) {
      if (!entity.contains(field) || entity[field].is_null()) continue;
      const Json& ref = entity[field];
      std::string key = ref.is_string() ? ref.get<std::string>()
                        : ref.is_object()
                            ? ref.value("id", ref.value("name", ref.value("username", "")))
                            : "";
      int i = findEntity(doc, kind, key);
      if (i >= 0)
        entity[field] =
            Json{{"id", doc[entityInfo(kind).collection][static_cast<std::size_t>(i)]["id"]}};
    }
  }

  void nested(const httplib::Request& req, httplib::Response& res, EntityKind parent,
              const std::vector<std::string>& seg) {
    const Json doc = current();
    const int pi = findEntity(doc, parent, seg[1]);
    if (pi < 0) return kongError(res, 404, "Not found");
    const Json& p = doc[entityInfo(parent).collection][static_cast<std::size_t>(pi)];
    const std::string pid = p.value("id", "");
    const std::string& sub = seg[2];
    const char* ref_field = entityInfo(parent).singular;
    if (sub == "key-auth" && parent == EntityKind::Consumer)
      return keyAuth(req, res, pid, seg.size() == 4 ? seg[3] : "");
    if (seg.size() != 3) return kongError(res, 404, "Not found");
    if (sub == "service" && parent == EntityKind::Route) {
      if (req.method != "GET") return methodNotAllowed(res);
      const std::string sid = refId(p, "service");
      return sid.empty() ? kongError(res, 404, "Not found") : getOne(res, EntityKind::Service, sid);
    }
    auto child = kindOf(sub);
    if (!child || (*child != EntityKind::Plugin &&
                   !(*child == EntityKind::Route && parent == EntityKind::Service)))
      return kongError(res, 404, "Not found");
    if (req.method == "GET")
      return list(req, res, *child, [&](const Json& e) { return refId(e, ref_field) == pid; });
    if (req.method == "POST") return create(req, res, *child, Json{{ref_field, {{"id", pid}}}});
    methodNotAllowed(res);
  }

  // Credentials live inside their consumer: consumers[i].keyauth_credentials[].
  void keyAuth(const httplib::Request& req, httplib::Response& res, const std::string& consumer_id,
               const std::string& key) {
    if (key.empty() && req.method == "GET") {
      const Json doc = current();
      int ci = findEntity(doc, EntityKind::Consumer, consumer_id);
      Json data = Json::array();
      for (const auto& k : doc["consumers"][static_cast<std::size_t>(ci)].value(
               "keyauth_credentials", Json::array())) {
        Json e = present(k, EntityKind::KeyAuth);
        e["consumer"] = {{"id", consumer_id}};
        data.push_back(std::move(e));
      }
      return sendJson(res, {{"data", data}, {"next", nullptr}});
    }
    std::string error;
    auto body = readBody(req, EntityKind::KeyAuth, error);
    if (!body) return kongError(res, 400, "cannot parse JSON body: " + error);
    Json result;
    int status = 200;
    auto applied = manager_.update([&](Json& doc) {
      ConfigErrors problems;
      int ci = findEntity(doc, EntityKind::Consumer, consumer_id);
      auto& creds = doc["consumers"][static_cast<std::size_t>(ci)]["keyauth_credentials"];
      if (!creds.is_array()) creds = Json::array();
      auto find = [&]() -> int {
        for (std::size_t i = 0; i < creds.size(); ++i)
          if (creds[i].value("id", "") == key || creds[i].value("key", "") == key)
            return static_cast<int>(i);
        return -1;
      };
      if (req.method == "POST" && key.empty()) {
        Json cred = *body;
        if (!cred.contains("key")) cred["key"] = config::randomId();
        cred["id"] = cred.value("id", config::randomId());
        cred["created_at"] = static_cast<long long>(std::time(nullptr));
        for (const auto& d : doc["consumers"])
          for (const auto& c : d.value("keyauth_credentials", Json::array()))
            if (c.value("key", "") == cred["key"]) problems.add("@early", "409:key=\"<hidden>\"");
        creds.push_back(cred);
        result = cred;
        status = 201;
      } else if (!key.empty()) {
        int i = find();
        if (i < 0) {
          problems.add("@early", "404:Not found");
        } else if (req.method == "DELETE") {
          creds.erase(static_cast<std::size_t>(i));
          status = 204;
        } else if (req.method == "PATCH" || req.method == "PUT") {
          creds[static_cast<std::size_t>(i)].merge_patch(*body);
          result = creds[static_cast<std::size_t>(i)];
        } else if (req.method == "GET") {
          result = creds[static_cast<std::size_t>(i)];
        }
      } else {
        problems.add("@early", "405:Method not allowed");
      }
      return problems;
    });
    if (!applied) {
      const auto& e = applied.error().list();
      const std::string msg = e.empty() ? "invalid" : e[0].message;
      if (msg.rfind("409:", 0) == 0)
        return sendJson(res,
                        {{"code", 5},
                         {"name", "unique constraint violation"},
                         {"message", "UNIQUE violation detected on '{key}'"}},
                        409);
      if (msg.rfind("404:", 0) == 0) return kongError(res, 404, "Not found");
      if (msg.rfind("405:", 0) == 0) return methodNotAllowed(res);
      return kongError(res, 400, msg);
    }
    if (status == 204) {
      res.status = 204;
      return;
    }
    Json out = present(result, EntityKind::KeyAuth);
    out["consumer"] = {{"id", consumer_id}};
    sendJson(res, out, status);
  }

  config::ConfigManager& manager_;
  std::function<std::string()> metrics_;
};

}  // namespace

void registerAdminApi(httplib::Server& server, config::ConfigManager& manager,
                      std::function<std::string()> metrics) {
  auto api = std::make_shared<AdminApi>(manager, std::move(metrics));
  auto handle = [api](const httplib::Request& req, httplib::Response& res) {
    api->route(req, res);
  };
  server.Get(".*", handle);
  server.Post(".*", handle);
  server.Put(".*", handle);
  server.Patch(".*", handle);
  server.Delete(".*", handle);
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content(R"({"message":"An unexpected error occurred"})", "application/json");
      });
}

}  // namespace aigw::admin
