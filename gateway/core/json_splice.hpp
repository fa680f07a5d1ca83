// Edits the top-level members of a JSON object's text and leaves every other byte as it was:
// the native pass-through sets `model`, fills configured options and adds a body credential
// without re-serialising the client's body, so key order, number spelling, whitespace and
// fields the gateway does not know (cache_control, thinking, ...) reach the provider unchanged.
// Thread-safety: pure function.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aigw::json {

struct MemberEdit {
  std::string key;
  std::string value;       // JSON text of the new value
  bool fill_only = false;  // only when the member is absent or null (configured options)
};

// The edited text; nullopt when `text` is not one JSON object (callers parsed it already, so
// that means a bug or a body replaced in between).
std::optional<std::string> spliceMembers(std::string_view text,
                                         const std::vector<MemberEdit>& edits);

// One top-level member of an object's text: its key (unescaped) and its value's text.
struct MemberText {
  std::string key;
  std::string_view value;
};
// The members of `text`, one JSON object, in order (duplicates included: the last one is the
// one parsers keep); nullopt when it is not an object. Values are split, not validated: check
// the text first (isObject) when it is untrusted.
std::optional<std::vector<MemberText>> objectMembers(std::string_view text);

// An object's text split once, for a caller that reads its members and then edits it.
struct ObjectText {
  std::string_view text;
  std::vector<MemberText> members;
  std::size_t close = 0;  // where the closing brace is
};
std::optional<ObjectText> splitMembers(std::string_view text);
std::string spliceMembers(const ObjectText& object, const std::vector<MemberEdit>& edits);

// The integer a member's value text spells (a JSON number; a fraction is truncated, as
// nlohmann's get<long long> does), or nullopt for any other value.
std::optional<long long> integerValue(std::string_view value);

}  // namespace aigw::json
