// Kong's nested admin paths (kong/api/endpoints.lua): a child reached through its parent.
//   /services/{s}/routes[/{r}]   /services/{s}/plugins[/{p}]   /routes/{r}/plugins[/{p}]
//   /consumers/{c}/plugins[/{p}] /consumers/{c}/key-auth[/{k}] /routes/{r}/service
//   /consumer_groups/{g}/plugins[/{p}] /consumer_groups/{g}/consumers[/{c}]
//   /consumers/{c}/consumer_groups
// An unknown parent, or a child that belongs to another parent, is a 404 "Not found".
#include <ctime>

#include "admin/admin_impl.hpp"
#include "admin/entities.hpp"

namespace aigw::admin {

using config::ConfigErrors;
using config::entityInfo;

namespace {

// Which children each parent has in Kong's API (besides key-auth, handled apart).
bool childAllowed(EntityKind parent, EntityKind child) {
  if (child == EntityKind::Plugin) return parent != EntityKind::Plugin;
  return parent == EntityKind::Service && child == EntityKind::Route;
}

}  // namespace

void AdminApi::nested(const httplib::Request& req, httplib::Response& res, EntityKind parent,
                      const std::vector<std::string>& seg) {
  const Json doc = current();
  const int pi = findEntity(doc, parent, seg[1]);
  if (pi < 0) return notFound(res);
  const Json& p = doc[entityInfo(parent).collection][static_cast<std::size_t>(pi)];
  const std::string pid = config::stringField(p, "id");
  const std::string& sub = seg[2];
  const std::string& m = req.method;
  if (sub == "key-auth" && parent == EntityKind::Consumer)
    return keyAuth(req, res, pid, seg.size() == 4 ? seg[3] : "");
  if (sub == "consumers" && parent == EntityKind::ConsumerGroup)
    return groupMembers(req, res, p, seg.size() == 4 ? seg[3] : "");
  if (sub == "consumer_groups" && parent == EntityKind::Consumer && seg.size() == 3)
    return consumerGroups(req, res, p);
  if (sub == "service" && parent == EntityKind::Route && seg.size() == 3)
    return routeService(req, res, p);
  auto child = kindOf(sub);
  if (!child || !childAllowed(parent, *child)) return notFound(res);
  const ParentScope scope{entityInfo(parent).singular, pid};
  if (seg.size() == 3) {
    if (m == "GET")
      return list(req, res, *child,
                  [&](const Json& e) { return refId(e, scope.field) == scope.id; });
    if (m == "POST") return create(req, res, *child, &scope);
    return methodNotAllowed(res);
  }
  const std::string& key = seg[3];
  if (m == "GET") return getOne(res, *child, key, &scope);
  if (m == "PATCH") return modify(req, res, *child, key, false, &scope);
  if (m == "PUT") return modify(req, res, *child, key, true, &scope);
  if (m == "DELETE") return remove(res, *child, key, &scope);
  methodNotAllowed(res);
}

// /routes/{r}/service (Kong's "foreign entity endpoint"): the route's service. PUT replaces
// it, or creates one and attaches it when the route has none; DELETE is not allowed.
void AdminApi::routeService(const httplib::Request& req, httplib::Response& res,
                            const Json& route) {
  const std::string route_id = config::stringField(route, "id");
  const std::string sid = refId(route, "service");
  const std::string& m = req.method;
  if (m == "GET") return sid.empty() ? notFound(res) : getOne(res, EntityKind::Service, sid);
  if (m == "DELETE") return sid.empty() ? notFound(res) : methodNotAllowed(res);
  if (m == "PATCH")
    return sid.empty() ? notFound(res) : modify(req, res, EntityKind::Service, sid, false);
  if (m != "PUT") return methodNotAllowed(res);
  if (!sid.empty()) return modify(req, res, EntityKind::Service, sid, true);
  std::string error;
  auto body = readBody(req, EntityKind::Service, error);
  if (!body) return kongError(res, 400, error);
  commit(res, EntityKind::Service, [&](Json& doc, int& index, int& status) -> Refusal {
    const int ri = findEntity(doc, EntityKind::Route, route_id);
    if (ri < 0) return {404, "Not found"};
    Json service = *body;
    service["id"] = config::randomId();
    assignIdentity(service, EntityKind::Service);
    if (auto c = uniquenessConflict(doc, EntityKind::Service, service, -1); !c.empty())
      return {409, c};
    auto& services = doc["services"];
    if (!services.is_array()) services = Json::array();
    services.push_back(service);
    index = static_cast<int>(services.size()) - 1;
    doc["routes"][static_cast<std::size_t>(ri)]["service"] = {{"id", service["id"]}};
    status = 200;
    return {};
  });
}

// Credentials live inside their consumer: consumers[i].keyauth_credentials[], found by id or
// key. Kong's semantics: POST creates (a key is generated when none is given), PUT replaces or
// creates under the given key, PATCH merges, DELETE removes; keys are unique across consumers.
void AdminApi::keyAuth(const httplib::Request& req, httplib::Response& res,
                       const std::string& consumer_id, const std::string& key) {
  const std::string& m = req.method;
  if (m == "GET") {
    const Json doc = current();
    const int ci = findEntity(doc, EntityKind::Consumer, consumer_id);
    if (ci < 0) return notFound(res);
    const Json& consumer = doc["consumers"][static_cast<std::size_t>(ci)];
    Json data = Json::array();
    if (consumer.contains("keyauth_credentials") && consumer["keyauth_credentials"].is_array())
      for (const auto& k : consumer["keyauth_credentials"]) {
        if (!key.empty() && config::stringField(k, "id") != key &&
            config::stringField(k, "key") != key)
          continue;
        Json e = present(k, EntityKind::KeyAuth);
        e["consumer"] = {{"id", consumer_id}};
        data.push_back(std::move(e));
      }
    if (key.empty()) return sendJson(res, {{"data", data}, {"next", nullptr}});
    return data.empty() ? notFound(res) : sendJson(res, data[0]);
  }
  const bool known_method = key.empty() ? m == "POST" : m == "PATCH" || m == "PUT" || m == "DELETE";
  if (!known_method) return methodNotAllowed(res);
  Json body = Json::object();
  if (m != "DELETE") {
    std::string error;
    auto parsed = readBody(req, EntityKind::KeyAuth, error);
    if (!parsed) return kongError(res, 400, error);
    body = std::move(*parsed);
    body.erase("consumer");
  }
  Json result;
  int status = 200;
  Refusal refusal;
  auto applied = manager_.update(
      [&](Json& doc) {
        ConfigErrors problems;
        auto refuse = [&](Refusal r) {
          refusal = std::move(r);
          problems.add("", refusal.message);
          return problems;
        };
        const int ci = findEntity(doc, EntityKind::Consumer, consumer_id);
        if (ci < 0) return refuse({404, "Not found"});
        auto& creds = doc["consumers"][static_cast<std::size_t>(ci)]["keyauth_credentials"];
        if (!creds.is_array()) creds = Json::array();
        int found = -1;
        for (std::size_t i = 0; !key.empty() && i < creds.size(); ++i)
          if (config::stringField(creds[i], "id") == key ||
              config::stringField(creds[i], "key") == key)
            found = static_cast<int>(i);
        if (m == "DELETE") {
          if (found < 0) return refuse({404, "Not found"});
          creds.erase(static_cast<std::size_t>(found));
          status = 204;
          return problems;
        }
        if (m == "PATCH" && found < 0) return refuse({404, "Not found"});
        Json cred;
        if (m == "PATCH") {
          cred = creds[static_cast<std::size_t>(found)];
          cred.merge_patch(body);
        } else {
          cred = body;
          if (found >= 0) {
            cred["id"] = creds[static_cast<std::size_t>(found)]["id"];
            cred["created_at"] =
                creds[static_cast<std::size_t>(found)].value("created_at", Json(0));
          } else if (m == "PUT") {
            (config::looksLikeUuid(key) ? cred["id"] : cred["key"]) = key;
          }
          if (!cred.contains("key")) cred["key"] = config::randomId();
          if (!cred.contains("id") || !cred["id"].is_string()) cred["id"] = config::randomId();
          if (!cred.contains("created_at"))
            cred["created_at"] = static_cast<long long>(std::time(nullptr));
          status = m == "POST" ? 201 : 200;
        }
        // Keys are unique across all consumers.
        for (std::size_t c = 0; c < doc["consumers"].size(); ++c) {
          const Json& other = doc["consumers"][c];
          if (!other.contains("keyauth_credentials") || !other["keyauth_credentials"].is_array())
            continue;
          for (std::size_t i = 0; i < other["keyauth_credentials"].size(); ++i) {
            if (c == static_cast<std::size_t>(ci) && static_cast<int>(i) == found) continue;
            if (other["keyauth_credentials"][i].value("key", Json()) == cred["key"])
              return refuse({409, "key=\"<hidden>\""});
          }
        }
        if (found >= 0)
          creds[static_cast<std::size_t>(found)] = cred;
        else
          creds.push_back(cred);
        result = std::move(cred);
        return problems;
      },
      envCheck());
  if (refusal.status != 0) return answerRefusal(res, refusal);
  if (!applied) return schemaViolation(res, applied.error(), "");
  if (status == 204) {
    res.status = 204;
    return;
  }
  Json out = present(result, EntityKind::KeyAuth);
  out["consumer"] = {{"id", consumer_id}};
  sendJson(res, out, status);
}

namespace {

bool inGroup(const Json& consumer, const Json& group) {
  if (!consumer.contains("groups") || !consumer["groups"].is_array()) return false;
  for (const auto& ref : consumer["groups"])
    if (groupRefMatches(ref, config::stringField(group, "id"), config::stringField(group, "name")))
      return true;
  return false;
}

}  // namespace

void AdminApi::consumerGroups(const httplib::Request& req, httplib::Response& res,
                              const Json& consumer) {
  if (req.method != "GET") return methodNotAllowed(res);
  const Json doc = current();
  Json data = Json::array();
  for (const auto& g : doc.value("consumer_groups", Json::array()))
    if (inGroup(consumer, g)) data.push_back(present(g, EntityKind::ConsumerGroup));
  sendJson(res, {{"data", data}, {"next", nullptr}});
}

// Kong: GET lists the members, POST consumer=<id or username> adds one (201 with the group and
// its consumers), DELETE /consumer_groups/{g}/consumers/{c} removes one (204).
void AdminApi::groupMembers(const httplib::Request& req, httplib::Response& res, const Json& group,
                            const std::string& consumer) {
  const std::string& m = req.method;
  const std::string gid = config::stringField(group, "id");
  if (m == "GET") {
    const Json doc = current();
    Json data = Json::array();
    for (const auto& c : doc.value("consumers", Json::array()))
      if (inGroup(c, group) && (consumer.empty() || config::stringField(c, "id") == consumer ||
                                config::stringField(c, "username") == consumer))
        data.push_back(present(c, EntityKind::Consumer));
    if (!consumer.empty())
      return data.empty() ? notFound(res) : sendJson(res, {{"consumer", data[0]}});
    return sendJson(res, {{"data", data}, {"next", nullptr}});
  }
  std::string who = consumer;
  if (m == "POST" && consumer.empty()) {
    std::string error;
    auto body = readBody(req, EntityKind::KeyAuth, error);
    if (!body) return kongError(res, 400, error);
    const Json& ref = body->value("consumer", Json());
    who = ref.is_string()   ? ref.get<std::string>()
          : ref.is_object() ? config::stringField(ref, "id", config::stringField(ref, "username"))
                            : "";
    if (who.empty()) return kongError(res, 400, "must provide consumer");
  } else if (!(m == "DELETE" && !consumer.empty())) {
    return methodNotAllowed(res);
  }
  int ci = -1;
  commit(res, EntityKind::Consumer, [&](Json& doc, int& index, int& status) -> Refusal {
    ci = findEntity(doc, EntityKind::Consumer, who);
    if (ci < 0) return {m == "POST" ? 400 : 404, m == "POST" ? "consumer not found" : "Not found"};
    auto& c = doc["consumers"][static_cast<std::size_t>(ci)];
    if (m == "DELETE") {
      if (!inGroup(c, group)) return {404, "Not found"};
      auto& groups = c["groups"];
      for (std::size_t i = groups.size(); i-- > 0;)
        if (groupRefMatches(groups[i], gid, config::stringField(group, "name"))) groups.erase(i);
      status = 204;
      return {};
    }
    if (inGroup(c, group)) return {409, "consumer=\"" + who + "\""};
    if (!c.contains("groups") || !c["groups"].is_array()) c["groups"] = Json::array();
    c["groups"].push_back({{"id", gid}});
    index = -1;
    status = 201;
    return {};
  });
  if (res.status == 201) {
    const Json doc = current();
    Json members = Json::array();
    for (const auto& c : doc.value("consumers", Json::array()))
      if (inGroup(c, group)) members.push_back(present(c, EntityKind::Consumer));
    sendJson(
        res,
        {{"consumer_group", present(group, EntityKind::ConsumerGroup)}, {"consumers", members}},
        201);
  }
}

}  // namespace aigw::admin
