// Entity operations of the admin API on the flat config document (see config/entities.hpp):
// find by id or name, insert with ids and timestamps, delete with Kong's cascades, Kong-style
// string values (form bodies) typed with the schemas.
// Thread-safety: pure functions on the document they are given.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "config/entities.hpp"

namespace aigw::admin {

using config::EntityKind;
using Json = nlohmann::json;

std::optional<EntityKind> kindOf(const std::string& collection);  // "services" -> Service

// Index in doc[collection] of the entity with this id (or name / username / custom_id /
// instance_name), or -1.
int findEntity(const Json& doc, EntityKind kind, const std::string& id_or_name);

// Fills id (stable when named, else random) and created_at/updated_at.
void assignIdentity(Json& entity, EntityKind kind);

// "name" / "username" conflicts: the conflicting value, or empty.
std::string uniquenessConflict(const Json& doc, EntityKind kind, const Json& entity,
                               int ignore_index);

// Removes an entity and what belongs to it (a route's plugins, a consumer's plugins). A
// service still referenced by routes is refused: returns the reason, empty on success.
std::string removeEntity(Json& doc, EntityKind kind, int index);

// Whether a consumer's `groups` entry ({"id"}, {"name"} or a string) names this group.
bool groupRefMatches(const Json& ref, const std::string& id, const std::string& name);

// Applies the schema's types to string values in an entity (also for plugin config).
void coerceEntity(Json& entity, EntityKind kind);

// An entity as the admin API shows it: stored fields plus Kong's defaults (and a plugin's
// config normalised by its schema).
Json present(const Json& entity, EntityKind kind);

}  // namespace aigw::admin
