#include "admin/entities.hpp"

#include <ctime>

#include "http/message.hpp"
#include "plugins/plugin.hpp"

namespace aigw::admin {

using config::entityInfo;
using config::entitySchema;
using config::Field;
using config::FieldType;
using config::Schema;

std::optional<EntityKind> kindOf(const std::string& collection) {
  for (auto k : {EntityKind::Service, EntityKind::Route, EntityKind::Plugin, EntityKind::Consumer,
                 EntityKind::ConsumerGroup})
    if (collection == entityInfo(k).collection) return k;
  return std::nullopt;
}

int findEntity(const Json& doc, EntityKind kind, const std::string& key) {
  const auto* list =
      doc.contains(entityInfo(kind).collection) ? &doc[entityInfo(kind).collection] : nullptr;
  if (!list || !list->is_array()) return -1;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto& e = (*list)[i];
    if (!e.is_object()) continue;
    if (config::stringField(e, "id") == key) return static_cast<int>(i);
  }
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto& e = (*list)[i];
    if (!e.is_object()) continue;
    if (config::stringField(e, entityInfo(kind).name_field) == key) return static_cast<int>(i);
    if (kind == EntityKind::Consumer && config::stringField(e, "custom_id") == key)
      return static_cast<int>(i);
  }
  return -1;
}

void assignIdentity(Json& entity, EntityKind kind) {
  const long long now = static_cast<long long>(std::time(nullptr));
  if (!entity.contains("id") || !entity["id"].is_string() ||
      entity["id"].get<std::string>().empty()) {
    const std::string name = config::stringField(entity, entityInfo(kind).name_field);
    if (kind == EntityKind::Plugin)
      entity["id"] = config::pluginStableId(entity);
    else if (!name.empty())
      entity["id"] = config::stableId(std::string(entityInfo(kind).singular) + ":" + name);
    else
      entity["id"] = config::randomId();
  }
  if (!entity.contains("created_at")) entity["created_at"] = now;
  entity["updated_at"] = now;
}

std::string uniquenessConflict(const Json& doc, EntityKind kind, const Json& entity,
                               int ignore_index) {
  const char* field = entityInfo(kind).name_field;
  const std::string name = config::stringField(entity, field);
  const std::string id = config::stringField(entity, "id");
  const auto& list = doc.value(entityInfo(kind).collection, Json::array());
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (static_cast<int>(i) == ignore_index || !list[i].is_object()) continue;
    if (!name.empty() && config::stringField(list[i], field) == name)
      return std::string(field) + "=\"" + name + "\"";
    if (!id.empty() && config::stringField(list[i], "id") == id) return "id=\"" + id + "\"";
  }
  return {};
}

static std::string refId(const Json& e, const char* field) {
  if (!e.is_object() || !e.contains(field)) return {};
  const auto& r = e[field];
  return r.is_object() ? config::stringField(r, "id") : r.is_string() ? r.get<std::string>() : "";
}

bool groupRefMatches(const Json& ref, const std::string& id, const std::string& name) {
  if (ref.is_string()) return ref == id || (!name.empty() && ref == name);
  return config::stringField(ref, "id") == id ||
         (!name.empty() && config::stringField(ref, "name") == name);
}

std::string removeEntity(Json& doc, EntityKind kind, int index) {
  auto& list = doc[entityInfo(kind).collection];
  const std::string id = config::stringField(list[static_cast<std::size_t>(index)], "id");
  const std::string name =
      config::stringField(list[static_cast<std::size_t>(index)], entityInfo(kind).name_field);
  if (kind == EntityKind::Service) {
    for (const auto& r : doc.value("routes", Json::array()))
      if (refId(r, "service") == id)
        return "an existing 'routes' entity references this 'services' entity";
  }
  list.erase(static_cast<std::size_t>(index));
  // A group's members stay; only their membership goes.
  if (kind == EntityKind::ConsumerGroup && doc.contains("consumers"))
    for (auto& c : doc["consumers"]) {
      if (!c.is_object() || !c.contains("groups") || !c["groups"].is_array()) continue;
      auto& groups = c["groups"];
      for (std::size_t i = groups.size(); i-- > 0;)
        if (groupRefMatches(groups[i], id, name)) groups.erase(i);
    }
  if (kind != EntityKind::Plugin && doc.contains("plugins")) {
    auto& plugins = doc["plugins"];
    for (std::size_t i = plugins.size(); i-- > 0;)
      if (refId(plugins[i], entityInfo(kind).singular) == id) plugins.erase(i);
  }
  return {};
}

namespace {

void coerceValue(Json& v, FieldType type, const Field& f);

void coerceObject(Json& obj, const Schema& schema) {
  if (!obj.is_object()) return;
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (const Field* f = schema.find(it.key())) coerceValue(it.value(), f->type, *f);
}

void coerceValue(Json& v, FieldType type, const Field& f) {
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (type == FieldType::Integer || type == FieldType::Number) {
      char* end = nullptr;
      const double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end && *end == '\0' && d < 9e18 && d > -9e18)
        v = (type == FieldType::Integer && d == static_cast<long long>(d))
                ? Json(static_cast<long long>(d))
                : Json(d);
      return;
    }
    if (type == FieldType::Boolean) {
      if (s == "true")
        v = true;
      else if (s == "false")
        v = false;
      return;
    }
    if (type == FieldType::Array) v = Json::array({s});
  }
  if (type == FieldType::Array && v.is_array()) {
    for (auto& e : v) coerceValue(e, f.element, f);
  } else if (type == FieldType::Record && f.record) {
    coerceObject(v, *f.record);
  } else if (type == FieldType::Map && v.is_object()) {
    for (auto& e : v) coerceValue(e, f.element, f);
  }
}

}  // namespace

void coerceEntity(Json& entity, EntityKind kind) {
  coerceObject(entity, entitySchema(kind));
  if (kind == EntityKind::Plugin && entity.contains("config") && entity["config"].is_object()) {
    if (const auto* spec = plugins::findPlugin(config::stringField(entity, "name")))
      coerceObject(entity["config"], spec->schema());
  }
}

Json present(const Json& entity, EntityKind kind) {
  Json out = entity;
  auto def = [&](const char* key, Json value) {
    if (!out.contains(key) || out[key].is_null()) out[key] = std::move(value);
  };
  switch (kind) {
    case EntityKind::Service: {
      if (out.contains("url") && out["url"].is_string()) {
        http::ParsedUrl u;
        if (http::parseUrl(out["url"].get<std::string>(), u)) {
          def("protocol", u.scheme);
          def("host", u.host);
          def("port", u.port);
          def("path", u.target == "/" ? Json(nullptr) : Json(u.target));
        }
      }
      def("protocol", "http");
      def("port", 80);
      def("retries", 5);
      def("connect_timeout", 60000);
      def("read_timeout", 60000);
      def("write_timeout", 60000);
      def("enabled", true);
      def("tags", nullptr);
      break;
    }
    case EntityKind::Route:
      def("protocols", Json::array({"http", "https"}));
      def("strip_path", true);
      def("preserve_host", false);
      def("regex_priority", 0);
      def("https_redirect_status_code", 426);
      def("path_handling", "v0");
      def("request_buffering", true);
      def("response_buffering", true);
      for (const char* k : {"methods", "hosts", "paths", "headers", "tags", "service"})
        def(k, nullptr);
      break;
    case EntityKind::Plugin:
      def("enabled", true);
      def("protocols", Json::array({"grpc", "grpcs", "http", "https"}));
      for (const char* k : {"route", "service", "consumer", "tags", "instance_name"})
        def(k, nullptr);
      if (const auto* spec = plugins::findPlugin(config::stringField(out, "name"))) {
        config::ConfigErrors ignored;
        out["config"] =
            config::validate(out.value("config", Json::object()), spec->schema(), "", ignored);
      }
      break;
    case EntityKind::Consumer:
      out.erase("keyauth_credentials");
      for (const char* k : {"username", "custom_id", "tags"}) def(k, nullptr);
      break;
    case EntityKind::KeyAuth:
      def("tags", nullptr);
      break;
    case EntityKind::ConsumerGroup:
      def("tags", nullptr);
      break;
  }
  return out;
}

}  // namespace aigw::admin
