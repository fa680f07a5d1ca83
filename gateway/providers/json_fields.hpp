// Type-checked reads of untrusted JSON (client bodies, upstream answers). nlohmann's
// value(key, default) throws when the key holds another type; these never throw.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace aigw::providers::wire {

// o[key] when o is an object holding key, else a null value.
inline const nlohmann::json& field(const nlohmann::json& o, const char* key) {
  static const nlohmann::json kNull;
  if (!o.is_object()) return kNull;
  auto it = o.find(key);
  return it == o.end() ? kNull : *it;
}

// o[key] when it is a string, else "".
inline std::string str(const nlohmann::json& o, const char* key) {
  const nlohmann::json& v = field(o, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

// o[key] when it is an integer, else `fallback`.
inline long long integer(const nlohmann::json& o, const char* key, long long fallback = -1) {
  const nlohmann::json& v = field(o, key);
  return v.is_number() ? v.get<long long>() : fallback;
}

}  // namespace aigw::providers::wire
