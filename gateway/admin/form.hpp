// Kong's form-data keys for admin API bodies, parsed strictly and in bounded time and memory:
//   config.model.provider=openai         dotted keys nest objects
//   config.model[options][max_tokens]=1  a bracketed name is an object key too
//   paths[1]=/a&paths[2]=/b              1-based indices (Kong's Lua arrays)
//   paths[]=/a&paths[]=/b                [] appends (only at the end of a key)
//   paths=/a&paths=/b                    a repeated key collects its values into an array
//   config.prompts.prepend[1].role=x     arrays of objects
// Anything else is an error naming the key (shortened, never echoing a large input): an empty
// segment, an unclosed bracket, index 0, an index beyond the array's next free slot (so an
// index never sizes memory), a key used both as a value and as an object or array, the same
// index given twice. The number of fields, key length, depth and total size are bounded.
// Values stay strings; the admin API coerces them with the entity's schema afterwards.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace aigw::admin {

struct FormLimits {
  std::size_t max_fields = 1000;           // key=value pairs in one body
  std::size_t max_key_bytes = 512;         // one key, after percent-decoding
  std::size_t max_depth = 32;              // segments in one key
  std::size_t max_total_bytes = 1u << 20;  // the whole body (keys and values)
};

using FormFields = std::vector<std::pair<std::string, std::string>>;

// application/x-www-form-urlencoded text -> ordered (key, value) pairs: '+' is a space, %XX is
// decoded (an invalid escape stays as written), a pair without '=' has an empty value.
Result<FormFields> parseUrlEncoded(std::string_view body, const FormLimits& limits = {});

// Ordered fields -> one JSON object following the rules above. The error is a short sentence
// naming the key, e.g. `invalid form key "paths[3]": index 3 is beyond the next free slot (2)`.
Result<nlohmann::json> formFieldsToJson(const FormFields& fields, const FormLimits& limits = {});

// A key for an error message: at most 64 bytes, control bytes escaped.
std::string shortKey(std::string_view key);

}  // namespace aigw::admin
