// The admin API's request handlers (internal to gateway/admin): top-level CRUD and /config in
// admin_api.cpp, Kong's nested paths in admin_nested.cpp, schemas in admin_schemas.cpp.
// Every handler is a function of (httplib::Request, httplib::Response) and the config manager,
// so the API does not depend on which HTTP server carries it.
// Thread-safety: handlers run concurrently; writes serialise inside ConfigManager.
#pragma once

#include <httplib.h>

#include <functional>
#include <string>
#include <vector>

#include "admin/admin_api.hpp"
#include "admin/replies.hpp"
#include "config/persist.hpp"

namespace aigw::admin {

using config::EntityKind;

// A nested path's parent: the child's `field` ("service", "route", "consumer") must hold
// {"id": id} for the child to belong to it (Kong answers 404 otherwise).
struct ParentScope {
  const char* field;
  std::string id;
};

class AdminApi {
 public:
  AdminApi(config::ConfigManager& manager, AdminApiOptions options)
      : manager_(manager), options_(std::move(options)) {}

  void route(const httplib::Request& req, httplib::Response& res);

 private:
  // Why an edit was refused before validation: status + Kong-shaped reply.
  struct Refusal {
    int status = 0;  // 0 = none
    std::string message;
  };
  using Edit = std::function<Refusal(Json& doc, int& index, int& status)>;

  Json current() const;
  // Refuses ${{ env }} references the operator did not allow (admin/env_allow.hpp).
  config::ChangeCheck envCheck() const;
  void root(httplib::Response& res);
  void status(httplib::Response& res);
  void getConfig(const httplib::Request& req, httplib::Response& res);
  void postConfig(const httplib::Request& req, httplib::Response& res);

  void list(const httplib::Request& req, httplib::Response& res, EntityKind kind,
            const std::function<bool(const Json&)>& filter);
  void getOne(httplib::Response& res, EntityKind kind, const std::string& key,
              const ParentScope* scope = nullptr);
  void commit(httplib::Response& res, EntityKind kind, const Edit& edit);
  void create(const httplib::Request& req, httplib::Response& res, EntityKind kind,
              const ParentScope* scope = nullptr);
  void modify(const httplib::Request& req, httplib::Response& res, EntityKind kind,
              const std::string& key, bool upsert, const ParentScope* scope = nullptr);
  void remove(httplib::Response& res, EntityKind kind, const std::string& key,
              const ParentScope* scope = nullptr);
  void answerRefusal(httplib::Response& res, const Refusal& refusal);

  // admin_nested.cpp
  void nested(const httplib::Request& req, httplib::Response& res, EntityKind parent,
              const std::vector<std::string>& seg);
  void routeService(const httplib::Request& req, httplib::Response& res, const Json& route);
  void keyAuth(const httplib::Request& req, httplib::Response& res, const std::string& consumer_id,
               const std::string& key);
  // /consumer_groups/{g}/consumers[/{c}] and /consumers/{c}/consumer_groups: membership,
  // stored as the consumer's `groups` (as decK writes it).
  void groupMembers(const httplib::Request& req, httplib::Response& res, const Json& group,
                    const std::string& consumer);
  void consumerGroups(const httplib::Request& req, httplib::Response& res, const Json& consumer);

  // admin_schemas.cpp
  void schemas(const httplib::Request& req, httplib::Response& res,
               const std::vector<std::string>& seg);
  void enabledPlugins(httplib::Response& res);

  config::ConfigManager& manager_;
  AdminApiOptions options_;
};

// A reference given by name ({"service": {"name": "x"}} or "x") becomes {"id": ...}.
void resolveRefs(const Json& doc, Json& entity);

}  // namespace aigw::admin
