// ai-prompt-guard's decision, apart from the plugin so units can test it (Kong's _execute).
// Thread-safety: Rules are immutable after config load; check() is a pure function.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/regex.hpp"

namespace aigw::plugins::guard {

struct Rules {
  std::vector<Regex> allow, deny;
  bool latest_only = false;      // allow_all_conversation_history: only the newest message
  bool match_all_roles = false;  // scan every role, not only "user"
};

struct Decision {
  bool allowed = false;
  // Why not, in Kong's (debug-log) words: "prompt pattern is blocked", "prompt doesn't match
  // any allowed pattern", or the format error. The client only ever sees "bad request".
  std::string reason;
};

// The text the patterns are searched in: completions' `prompt`; for chat, the user messages
// (every role with match_all_roles), newest first, joined by spaces, or only the newest one.
// False (and `error` set) when the body is neither shape or a scanned content is not a string.
bool collectPrompt(const nlohmann::json& body, const Rules& rules, std::string& text,
                   std::string& error);

// Deny wins: any deny match blocks; then, when allow patterns exist, one must match.
Decision check(const nlohmann::json& body, const Rules& rules);

}  // namespace aigw::plugins::guard
