// Kong's entity kinds as JSON documents: their schemas, stable ids, and the two shapes of a
// declarative config — nested (as users write decK files: routes inside services, plugins
// inside routes) and flat (every entity at top level, references by id), which is what the
// admin API edits, what is persisted, and what the builder reads.
// Thread-safety: pure functions; schemas are immutable statics.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "config/schema.hpp"

namespace aigw::config {

enum class EntityKind { Service, Route, Plugin, Consumer, KeyAuth, ConsumerGroup };

struct EntityInfo {
  EntityKind kind;
  const char* collection;  // "services" ...
  const char* singular;    // "service" ...
  const char* name_field;  // "name", or "username" for consumers, "key" for key-auth
};
const EntityInfo& entityInfo(EntityKind kind);
const Schema& entitySchema(EntityKind kind);

// A UUID-shaped digest of seed, so entities declared without an id keep the same id across
// reloads of the same file (diffs and admin lookups by id stay stable).
std::string stableId(const std::string& seed);
// A random (v4) UUID, for entities created through the admin API without a name.
std::string randomId();
// The id flatten() gives a plugin declared without one (by name, scope and instance_name).
std::string pluginStableId(const nlohmann::json& plugin);
bool looksLikeUuid(const std::string& s);
// object[key] when it is a string, else `fallback` (also when object is not an object): entity
// documents come from users, and a number where a name belongs must not throw.
std::string stringField(const nlohmann::json& object, const char* key, std::string fallback = {});

struct FlatDocument {
  // {"_format_version", "services", "routes", "plugins", "consumer_groups", "consumers"}
  nlohmann::json doc;
  // flat path prefix -> path in the document the user wrote, e.g.
  // "plugins[3]" -> "services[0].routes[1].plugins[0]", for error messages.
  std::map<std::string, std::string> origin;
  std::string originalPath(const std::string& flat_path) const;
};

// Nested or flat decK document -> flat document with ids filled and references by id.
// Anything malformed is copied as is, for the builder to report.
FlatDocument flatten(const nlohmann::json& document);

// Flat document -> nested decK document (routes in their service, plugins in their route /
// service / consumer); ids are kept only where an entity has no name to be found by.
nlohmann::json nest(const nlohmann::json& flat);

}  // namespace aigw::config
