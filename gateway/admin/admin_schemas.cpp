// Kong's schema endpoints, which decK and Kong's tools call:
//   GET  /schemas/{entity}            GET /schemas/plugins/{name}
//   POST /schemas/{entity}/validate   (POST /schemas/plugins/validate checks a plugin entity)
//   GET  /plugins/enabled
// Schemas are rendered in Kong's shape: {"fields": [{"name": {"type": ..., ...}}, ...]}.
#include "admin/admin_impl.hpp"
#include "admin/entities.hpp"
#include "config/model.hpp"
#include "plugins/plugin.hpp"

namespace aigw::admin {

namespace {

using config::Field;
using config::FieldType;
using config::Schema;

const char* kongType(FieldType t) {
  switch (t) {
    case FieldType::String:
      return "string";
    case FieldType::Integer:
      return "integer";
    case FieldType::Number:
      return "number";
    case FieldType::Boolean:
      return "boolean";
    case FieldType::Record:
      return "record";
    case FieldType::Array:
      return "array";
    case FieldType::Map:
      return "map";
    case FieldType::Any:
      return "json";
  }
  return "json";
}

Json schemaJson(const Schema& schema);

Json fieldJson(const Field& f, FieldType type) {
  Json out = {{"type", kongType(type)}};
  if (f.required) out["required"] = true;
  if (!f.default_value.is_null()) out["default"] = f.default_value;
  if (!f.one_of.empty()) out["one_of"] = f.one_of;
  if ((type == FieldType::Integer || type == FieldType::Number) && (f.min || f.max))
    out["between"] = {f.min ? Json(*f.min) : Json(nullptr), f.max ? Json(*f.max) : Json(nullptr)};
  if (f.secret) out["encrypted"] = true, out["referenceable"] = true;
  if (type == FieldType::Record && f.record) out["fields"] = schemaJson(*f.record)["fields"];
  if (type == FieldType::Array) {
    Field element = f;
    element.required = false;
    element.default_value = nullptr;
    element.min.reset();
    element.max.reset();
    out["elements"] = fieldJson(element, f.element);
  }
  if (type == FieldType::Map) {
    out["keys"] = {{"type", "string"}};
    Field value = f;
    value.required = false;
    value.default_value = nullptr;
    out["values"] = fieldJson(value, f.element);
  }
  return out;
}

Json schemaJson(const Schema& schema) {
  Json fields = Json::array();
  for (const auto& f : schema.fields) fields.push_back({{f.name, fieldJson(f, f.type)}});
  return {{"fields", fields}};
}

// A plugin's schema as Kong shows it: the scope references, protocols, and its config.
Json pluginSchemaJson(const plugins::PluginSpec& spec) {
  Json config = fieldJson(Field{"config", FieldType::Record, true}, FieldType::Record);
  config["fields"] = schemaJson(spec.schema())["fields"];
  Json fields = Json::array();
  for (const char* ref : {"consumer", "service", "route"})
    fields.push_back({{ref, {{"type", "foreign"}, {"reference", std::string(ref) + "s"}}}});
  fields.push_back({{"protocols",
                     {{"type", "set"},
                      {"required", true},
                      {"default", {"grpc", "grpcs", "http", "https"}},
                      {"elements", {{"type", "string"}}}}}});
  fields.push_back({{"config", config}});
  return {{"fields", fields}};
}

std::optional<EntityKind> entityNamed(const std::string& name) {
  if (auto k = kindOf(name)) return k;
  if (name == "keyauth_credentials" || name == "key-auth") return EntityKind::KeyAuth;
  return std::nullopt;
}

// Validates one entity on its own, as the builder would in a config holding only it; the
// errors' paths are relative to the entity.
config::ConfigErrors validateAlone(const Json& body, EntityKind kind) {
  Json entity = body;
  Json doc = {{"_format_version", "3.0"}};
  if (kind == EntityKind::KeyAuth) {
    config::ConfigErrors errors;
    config::validate(entity, config::entitySchema(kind), "", errors);
    return errors;
  }
  // References to other entities cannot be checked here (Kong's validate does not either).
  for (const char* ref : {"service", "route", "consumer"}) entity.erase(ref);
  doc[config::entityInfo(kind).collection] = Json::array({entity});
  auto built = config::build(doc, [](const std::string&) -> const char* { return "placeholder"; });
  if (built) return {};
  config::ConfigErrors errors = built.error();
  const std::string prefix = std::string(config::entityInfo(kind).collection) + "[0]";
  for (auto& e : errors.list()) {
    if (e.path.rfind(prefix, 0) == 0) e.path = e.path.substr(prefix.size());
    if (!e.path.empty() && e.path.front() == '.') e.path.erase(0, 1);
  }
  return errors;
}

}  // namespace

void AdminApi::enabledPlugins(httplib::Response& res) {
  sendJson(res, {{"enabled_plugins", plugins::pluginNames()}});
}

void AdminApi::schemas(const httplib::Request& req, httplib::Response& res,
                       const std::vector<std::string>& seg) {
  const std::string& m = req.method;
  if (seg.size() == 3 && seg[1] == "plugins" && seg[2] != "validate") {
    if (m != "GET") return methodNotAllowed(res);
    const auto* spec = plugins::findPlugin(seg[2]);
    if (!spec) return kongError(res, 404, "No plugin named '" + seg[2] + "'");
    return sendJson(res, pluginSchemaJson(*spec));
  }
  if (seg.size() == 2) {
    if (m != "GET") return methodNotAllowed(res);
    auto kind = entityNamed(seg[1]);
    if (!kind) return kongError(res, 404, "No entity named '" + seg[1] + "'");
    return sendJson(res, schemaJson(config::entitySchema(*kind)));
  }
  if (seg.size() == 3 && seg[2] == "validate") {
    if (m != "POST") return methodNotAllowed(res);
    auto kind = entityNamed(seg[1]);
    if (!kind) return kongError(res, 404, "No entity named '" + seg[1] + "'");
    std::string error;
    auto body = readBody(req, *kind, error);
    if (!body) return kongError(res, 400, error);
    auto errors = validateAlone(*body, *kind);
    if (!errors.empty()) return schemaViolation(res, errors, "");
    return sendJson(res, {{"message", "schema validation successful"}});
  }
  notFound(res);
}

}  // namespace aigw::admin
