#include "admin/admin_api.hpp"

#include <unistd.h>

#include <algorithm>

#include "admin/admin_impl.hpp"
#include "admin/entities.hpp"
#include "config/document.hpp"
#include "config/yaml_out.hpp"
#include "core/json.hpp"
#include "plugins/plugin.hpp"
#include "providers/provider.hpp"

namespace aigw::admin {

using config::ConfigErrors;
using config::entityInfo;

void AdminApi::route(const httplib::Request& req, httplib::Response& res) {
  const auto seg = splitPath(req.path);
  const std::string& m = req.method;
  if (seg.empty()) return m == "GET" ? root(res) : methodNotAllowed(res);
  if (seg[0] == "status" && seg.size() == 1) return status(res);
  if (seg[0] == "metrics" && seg.size() == 1 && m == "GET")
    return res.set_content(options_.metrics ? options_.metrics() : std::string(),
                           "text/plain; version=0.0.4; charset=utf-8");
  if (seg[0] == "config" && seg.size() == 1)
    return m == "GET"    ? getConfig(req, res)
           : m == "POST" ? postConfig(req, res)
                         : methodNotAllowed(res);
  if (seg[0] == "plugins" && seg.size() == 2 && seg[1] == "enabled")
    return m == "GET" ? enabledPlugins(res) : methodNotAllowed(res);
  if (seg[0] == "schemas") return schemas(req, res, seg);
  auto kind = kindOf(seg[0]);
  if (!kind) return notFound(res);
  if (seg.size() == 1)
    return m == "GET"    ? list(req, res, *kind, {})
           : m == "POST" ? create(req, res, *kind)
                         : methodNotAllowed(res);
  if (seg.size() == 2) {
    if (m == "GET") return getOne(res, *kind, seg[1]);
    if (m == "PATCH") return modify(req, res, *kind, seg[1], false);
    if (m == "PUT") return modify(req, res, *kind, seg[1], true);
    if (m == "DELETE") return remove(res, *kind, seg[1]);
    return methodNotAllowed(res);
  }
  if (seg.size() == 3 || seg.size() == 4) return nested(req, res, *kind, seg);
  notFound(res);
}

Json AdminApi::current() const {
  return *manager_.store().current()->source;
}

config::ChangeCheck AdminApi::envCheck() const {
  return [allow = options_.env_allow](const Json& before, const Json& after) {
    ConfigErrors errors;
    for (auto& r : refusedEnvReferences(before, after, allow))
      errors.add(std::move(r.path), std::move(r.message));
    return errors;
  };
}

void AdminApi::root(httplib::Response& res) {
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
  sendJson(res, {{"version", AIGW_VERSION},
                 {"tagline", "Welcome to aigw"},
                 {"hostname", host},
                 {"configuration", {{"database", "off"}, {"role", "traditional"}}},
                 {"plugins", {{"available_on_server", available}, {"enabled_in_cluster", enabled}}},
                 {"providers", providers::providerNames()}});
}

void AdminApi::status(httplib::Response& res) {
  auto cfg = manager_.store().current();
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  sendJson(res,
           {{"server",
             {{"version", AIGW_VERSION}, {"hostname", host}, {"pid", static_cast<long>(getpid())}}},
            {"database", {{"reachable", true}}},
            {"configuration",
             {{"services", cfg->services.size()},
              {"routes", cfg->routes.size()},
              {"plugins", cfg->enabledPluginCount()},
              {"consumers", cfg->consumers.size()}}}});
}

void AdminApi::getConfig(const httplib::Request& req, httplib::Response& res) {
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
// {"config": "<yaml text>"}, config=<text> form and -F config=@file multipart forms).
void AdminApi::postConfig(const httplib::Request& req, httplib::Response& res) {
  std::string text = req.body;
  if (req.has_file("config"))
    text = req.get_file_value("config").content;
  else if (req.has_param("config"))
    text = req.get_param_value("config");
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
  auto applied = manager_.apply(doc->value, envCheck());
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

void AdminApi::list(const httplib::Request& req, httplib::Response& res, EntityKind kind,
                    const std::function<bool(const Json&)>& filter) {
  const Json doc = current();
  const Json all = doc.value(entityInfo(kind).collection, Json::array());
  const std::string tags = req.get_param_value("tags");
  std::vector<const Json*> matching;
  for (const auto& e : all)
    if ((!filter || filter(e)) && matchesTags(e, tags)) matching.push_back(&e);
  std::size_t size = 100, offset = 0;
  auto number = [](const std::string& s, std::size_t& out) {
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
      return false;
    out = std::stoul(s);
    return true;
  };
  if (req.has_param("size") && !number(req.get_param_value("size"), size))
    return kongError(res, 400, "size must be a number");
  if (req.has_param("offset") && !number(req.get_param_value("offset"), offset))
    return kongError(res, 400, "offset must be a number");
  size = std::clamp<std::size_t>(size, 1, 1000);
  Json data = Json::array();
  for (std::size_t i = offset; i < matching.size() && data.size() < size; ++i)
    data.push_back(present(*matching[i], kind));
  Json next = nullptr, next_offset = nullptr;
  if (offset + size < matching.size()) {
    next_offset = std::to_string(offset + size);
    next = req.path + "?offset=" + next_offset.get<std::string>() +
           (req.has_param("size") ? "&size=" + std::to_string(size) : "");
  }
  sendJson(res, {{"data", data}, {"next", next}, {"offset", next_offset}});
}

void AdminApi::getOne(httplib::Response& res, EntityKind kind, const std::string& key,
                      const ParentScope* scope) {
  const Json doc = current();
  const int i = findEntity(doc, kind, key);
  if (i < 0) return notFound(res);
  const Json& entity = doc[entityInfo(kind).collection][static_cast<std::size_t>(i)];
  if (scope && refId(entity, scope->field) != scope->id) return notFound(res);
  sendJson(res, present(entity, kind));
}

void AdminApi::answerRefusal(httplib::Response& res, const Refusal& refusal) {
  if (refusal.status == 409) return uniqueViolation(res, refusal.message);
  if (refusal.status == 405) return methodNotAllowed(res);
  kongError(res, refusal.status, refusal.message);
}

// Runs `edit` on the current document under the writer lock, validates and applies the
// result; answers with the entity at doc[collection][index].
void AdminApi::commit(httplib::Response& res, EntityKind kind, const Edit& edit) {
  int index = -1, status = 200;
  Refusal refusal;
  auto applied = manager_.update(
      [&](Json& doc) {
        ConfigErrors problems;
        refusal = edit(doc, index, status);
        if (refusal.status != 0) problems.add("", refusal.message);
        return problems;
      },
      envCheck());
  if (refusal.status != 0) return answerRefusal(res, refusal);
  if (!applied)
    return schemaViolation(
        res, applied.error(),
        std::string(entityInfo(kind).collection) + "[" + std::to_string(index) + "]");
  const Json& doc = *(*applied)->source;
  const auto& list = doc[entityInfo(kind).collection];
  if (index >= 0 && static_cast<std::size_t>(index) < list.size())
    return sendJson(res, present(list[static_cast<std::size_t>(index)], kind), status);
  res.status = status;
}

void resolveRefs(const Json& doc, Json& entity) {
  for (auto [field, kind] :
       {std::pair{"service", EntityKind::Service}, std::pair{"route", EntityKind::Route},
        std::pair{"consumer", EntityKind::Consumer},
        std::pair{"consumer_group", EntityKind::ConsumerGroup}}) {
    if (!entity.contains(field) || entity[field].is_null()) continue;
    const Json& ref = entity[field];
    const std::string key =
        ref.is_string() ? ref.get<std::string>()
        : ref.is_object()
            ? config::stringField(
                  ref, "id", config::stringField(ref, "name", config::stringField(ref, "username")))
            : "";
    const int i = findEntity(doc, kind, key);
    if (i >= 0)
      entity[field] =
          Json{{"id", doc[entityInfo(kind).collection][static_cast<std::size_t>(i)]["id"]}};
  }
}

void AdminApi::create(const httplib::Request& req, httplib::Response& res, EntityKind kind,
                      const ParentScope* scope) {
  std::string error;
  auto body = readBody(req, kind, error);
  if (!body) return kongError(res, 400, error);
  if (scope) (*body)[scope->field] = {{"id", scope->id}};
  commit(res, kind, [&](Json& doc, int& index, int& status) -> Refusal {
    Json entity = *body;
    resolveRefs(doc, entity);
    assignIdentity(entity, kind);
    if (auto c = uniquenessConflict(doc, kind, entity, -1); !c.empty()) return {409, c};
    auto& list = doc[entityInfo(kind).collection];
    if (!list.is_array()) list = Json::array();
    list.push_back(std::move(entity));
    index = static_cast<int>(list.size()) - 1;
    status = 201;
    return {};
  });
}

// PATCH (merge) or PUT (replace, or create under `key`). Nested (Kong): PUT gives the entity
// to the parent; PATCH needs the entity to belong to the parent.
void AdminApi::modify(const httplib::Request& req, httplib::Response& res, EntityKind kind,
                      const std::string& key, bool upsert, const ParentScope* scope) {
  std::string error;
  auto body = readBody(req, kind, error);
  if (!body) return kongError(res, 400, error);
  if (scope && (upsert || !body->contains(scope->field)))
    (*body)[scope->field] = {{"id", scope->id}};
  commit(res, kind, [&](Json& doc, int& index, int& status) -> Refusal {
    auto& list = doc[entityInfo(kind).collection];
    if (!list.is_array()) list = Json::array();
    index = findEntity(doc, kind, key);
    Json entity;
    if (index < 0) {
      if (!upsert) return {404, "Not found"};
      entity = *body;
      if (config::looksLikeUuid(key))
        entity["id"] = key;
      else
        entity[entityInfo(kind).name_field] = key;
      status = 200;
    } else {
      const Json& old = list[static_cast<std::size_t>(index)];
      if (scope && !upsert && refId(old, scope->field) != scope->id) return {404, "Not found"};
      if (upsert) {
        entity = *body;
        entity["id"] = old["id"];
        entity["created_at"] = old.contains("created_at") ? old["created_at"] : Json(0);
        if (!config::looksLikeUuid(key) && !entity.contains(entityInfo(kind).name_field))
          entity[entityInfo(kind).name_field] = key;
      } else {
        entity = old;
        entity.merge_patch(*body);
        if (body->contains("url")) {
          for (const char* k : {"protocol", "host", "port", "path"})
            if (!body->contains(k)) entity.erase(k);
        }
      }
    }
    resolveRefs(doc, entity);
    assignIdentity(entity, kind);
    if (auto c = uniquenessConflict(doc, kind, entity, index); !c.empty()) return {409, c};
    if (index < 0) {
      list.push_back(std::move(entity));
      index = static_cast<int>(list.size()) - 1;
    } else {
      list[static_cast<std::size_t>(index)] = std::move(entity);
    }
    return {};
  });
}

// Kong: deleting what is not there is a 204, except under a parent, where it is a 404.
void AdminApi::remove(httplib::Response& res, EntityKind kind, const std::string& key,
                      const ParentScope* scope) {
  Refusal refusal;
  auto applied = manager_.update([&](Json& doc) {
    ConfigErrors problems;
    const int found = findEntity(doc, kind, key);
    if (found >= 0 && scope &&
        refId(doc[entityInfo(kind).collection][static_cast<std::size_t>(found)], scope->field) !=
            scope->id)
      refusal = {404, "Not found"};
    else if (found < 0 && scope)
      refusal = {404, "Not found"};
    else if (found >= 0)
      if (auto why = removeEntity(doc, kind, found); !why.empty()) refusal = {400, why};
    if (refusal.status != 0) problems.add("", refusal.message);
    return problems;
  });
  if (refusal.status != 0) return answerRefusal(res, refusal);
  if (!applied) {
    const auto& e = applied.error().list();
    return kongError(res, 400, e.empty() ? "cannot delete" : e[0].message);
  }
  res.status = 204;
}

namespace {

void handle(AdminApi& api, const httplib::Request& req, httplib::Response& res) {
  try {
    api.route(req, res);
  } catch (const nlohmann::json::exception&) {
    // Input of an unexpected type deep in a document: a client error, never a 500.
    res = httplib::Response();
    kongError(res, 400, "invalid request: a field has a value of the wrong type");
  } catch (const std::exception&) {
    res = httplib::Response();
    kongError(res, 500, "An unexpected error occurred");
  }
}

}  // namespace

AdminHandler makeAdminHandler(config::ConfigManager& manager, AdminApiOptions options) {
  auto api = std::make_shared<AdminApi>(manager, std::move(options));
  return [api](const httplib::Request& req, httplib::Response& res) { handle(*api, req, res); };
}

bool guardAdminRequest(const httplib::Request& req, httplib::Response& res,
                       const AdminAccessOptions& access) {
  AccessRequest r;
  r.method = req.method;
  const std::string host = req.get_header_value("Host");
  const std::string origin = req.get_header_value("Origin");
  const std::string fetch_site = req.get_header_value("Sec-Fetch-Site");
  const std::string token = req.get_header_value("Kong-Admin-Token");
  const std::string authorization = req.get_header_value("Authorization");
  r.host = host;
  r.origin = origin;
  r.has_origin = req.has_header("Origin");
  r.sec_fetch_site = fetch_site;
  r.admin_token = token;
  r.authorization = authorization;
  const AccessDecision d = checkAdminAccess(r, access);
  for (const auto& [name, value] : d.headers) res.set_header(name, value);
  if (!d.answered()) return false;
  res.status = d.status;
  if (!d.body.empty()) res.set_content(d.body, "application/json; charset=utf-8");
  return true;
}

}  // namespace aigw::admin
