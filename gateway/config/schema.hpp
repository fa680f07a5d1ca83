// A small declarative schema for Kong-style records: field types, required fields, defaults,
// enumerations and ranges. Validation returns a normalised copy with defaults filled in and
// reports every problem with its dotted path. Plugins declare their config with it, and the
// admin API (form data) coerces strings with it.
// Thread-safety: Schema objects are immutable after construction and shared freely.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/errors.hpp"

namespace aigw::config {

enum class FieldType { String, Integer, Number, Boolean, Record, Array, Map, Any };

struct Schema;

struct Field {
  Field(std::string n, FieldType t = FieldType::String, bool req = false)
      : name(std::move(n)), type(t), required(req) {}
  std::string name;
  FieldType type = FieldType::String;
  bool required = false;
  nlohmann::json default_value;     // null: no default
  std::vector<std::string> one_of;  // allowed strings
  std::optional<double> min, max;   // numeric range; for Array, the number of elements
  // String length in characters (UTF-8 code points), for String fields and the String
  // elements of an Array (Kong's len_min / len_max).
  std::optional<std::size_t> len_min, len_max;
  std::shared_ptr<const Schema> record;   // for Record, and Array/Map of records
  FieldType element = FieldType::String;  // for Array and Map
  bool secret = false;                    // masked in diffs and errors
  std::string noun;                       // "provider" -> 'unknown provider "x"'
};

struct Schema {
  std::vector<Field> fields;
  const Field* find(const std::string& name) const;
};

// Validates `value` (an object) against `schema`. Unknown fields are errors ("unknown field").
// Returns the normalised object (a value of the wrong type is left out of it, so readers of the
// result only meet the schema's types); errors are appended to `errors` with paths under `path`.
nlohmann::json validate(const nlohmann::json& value, const Schema& schema, const std::string& path,
                        ConfigErrors& errors);

// Closest candidate by edit distance, or empty when nothing is close ("did you mean").
std::string closestMatch(const std::string& word, const std::vector<std::string>& candidates);

std::string joinList(const std::vector<std::string>& items);

}  // namespace aigw::config
