// Pieces every admin endpoint uses: Kong's reply bodies, the path split into segments, the
// request body as JSON (JSON or Kong's form encodings), tag filters.
// Thread-safety: pure functions.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/entities.hpp"
#include "config/errors.hpp"

namespace aigw::admin {

using Json = nlohmann::json;

void sendJson(httplib::Response& res, const Json& body, int status = 200);
// Kong's plain error body: {"message": ...}.
void kongError(httplib::Response& res, int status, const std::string& message);
void notFound(httplib::Response& res);          // 404 {"message":"Not found"}
void methodNotAllowed(httplib::Response& res);  // 405 {"message":"Method not allowed"}
// Kong's 409: {"code":5,"name":"unique constraint violation","message":"UNIQUE violation
// detected on '{name="x"}'"}.
void uniqueViolation(httplib::Response& res, const std::string& what);
// Kong's 400 schema violation with `fields` nested by path; paths starting with
// `entity_prefix` (e.g. "routes[3]") are made relative to the entity.
void schemaViolation(httplib::Response& res, const config::ConfigErrors& errors,
                     const std::string& entity_prefix);

// "/services/a%20b/routes" -> {"services", "a b", "routes"}.
std::vector<std::string> splitPath(const std::string& path);

// The body as a JSON object with strings typed by the entity's schema; on failure a short
// message for a 400 (never the body itself).
std::optional<Json> readBody(const httplib::Request& req, config::EntityKind kind,
                             std::string& error);

// Kong's `tags` filter: "a,b" = all of them, "a/b" = any of them.
bool matchesTags(const Json& entity, const std::string& tags);

// entity[field].id, or empty.
std::string refId(const Json& entity, const char* field);

}  // namespace aigw::admin
