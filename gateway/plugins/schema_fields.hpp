// Short constructors for plugin schema fields, so each plugin's schema reads like Kong's
// schema.lua. Header-only; used at config-load time only.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/schema.hpp"

namespace aigw::plugins::fields {

using config::Field;
using config::FieldType;
using config::Schema;

inline std::shared_ptr<const Schema> record(std::vector<Field> fields) {
  return std::make_shared<const Schema>(Schema{std::move(fields)});
}

inline Field str(std::string name, std::vector<std::string> one_of = {},
                 nlohmann::json def = nullptr) {
  Field f{std::move(name)};
  f.one_of = std::move(one_of);
  f.default_value = std::move(def);
  return f;
}

inline Field required(Field f) {
  f.required = true;
  return f;
}

inline Field secret(std::string name) {
  Field f{std::move(name)};
  f.secret = true;
  return f;
}

inline Field boolean(std::string name, bool def) {
  Field f{std::move(name), FieldType::Boolean};
  f.default_value = def;
  return f;
}

inline Field number(std::string name, FieldType type, std::optional<double> min = {},
                    std::optional<double> max = {}) {
  Field f{std::move(name), type};
  f.min = min;
  f.max = max;
  return f;
}

inline Field integer(std::string name, long long def, std::optional<double> min = {},
                     std::optional<double> max = {}) {
  Field f = number(std::move(name), FieldType::Integer, min, max);
  f.default_value = def;
  return f;
}

inline Field rec(std::string name, std::shared_ptr<const Schema> schema, bool req = false) {
  Field f{std::move(name), FieldType::Record, req};
  f.record = std::move(schema);
  return f;
}

// An array of strings: at most `max_items`, each `len_min`..`len_max` characters.
inline Field stringArray(std::string name, std::size_t max_items, std::size_t len_min,
                         std::size_t len_max) {
  Field f{std::move(name), FieldType::Array};
  f.element = FieldType::String;
  f.max = static_cast<double>(max_items);
  f.len_min = len_min;
  f.len_max = len_max;
  return f;
}

// An array of records.
inline Field recordArray(std::string name, std::shared_ptr<const Schema> schema,
                         std::optional<double> max_items = {}) {
  Field f{std::move(name), FieldType::Array};
  f.element = FieldType::Record;
  f.record = std::move(schema);
  f.max = max_items;
  return f;
}

// Kong's max_request_body_size (aigw's default: 1 MiB, Kong Enterprise's; OSS says 8 KiB).
inline Field maxRequestBodySize() {
  return integer("max_request_body_size", 1048576, 1);
}

}  // namespace aigw::plugins::fields
