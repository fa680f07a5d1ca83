// The one place that parses untrusted JSON and serialises JSON for the wire.
// Thread-safety: free functions, no shared state.
#pragma once

#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace aigw::json {

// Nesting deeper than this is refused before parsing: serialisation is recursive and a
// hostile body must not be able to exhaust a worker's stack.
inline constexpr int kMaxDepth = 128;

// Parses text; on failure returns false and sets `error` to a short reason.
bool parse(std::string_view text, nlohmann::json& out, std::string* error = nullptr);

// Serialises compactly; invalid UTF-8 is replaced rather than throwing mid-response.
std::string dump(const nlohmann::json& value);

// Deepest nesting of arrays/objects in text (strings are skipped); stops counting past limit.
int nestingDepth(std::string_view text, int limit = kMaxDepth + 1);

// Whether text is one valid JSON object (validated without building it, depth bounded).
bool isObject(std::string_view text);

// The same check, which also hands each top-level member to `visit` (key unescaped, value as
// written) as it is reached: one pass reads an answer's few fields and validates the rest.
// Members are visited before the whole text is known to be valid: act on the return value.
using MemberVisitor = std::function<void(std::string_view key, std::string_view value)>;
bool scanObject(std::string_view text, const MemberVisitor& visit);

}  // namespace aigw::json
