// decK-style diff between two flat config documents: which entities are created, updated
// (with field-level changes, secrets masked) or deleted. Entities match by kind and name
// (username for consumers), else by id. Used by `aigw diff` and `aigw sync`.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace aigw::config {

struct EntityChange {
  enum class Op { Create, Update, Delete } op;
  std::string kind;   // "service", "route", "plugin", "consumer"
  std::string label;  // e.g. route "openai-chat" or plugin "ai-proxy" (route openai-chat)
  std::vector<std::string> fields;  // for updates: "config.model.name: "a" -> "b""
};

// Only entities tagged with `select_tag` take part when it is not empty. Secret fields show as
// "***", except values containing one of `env_values` (rendered from the caller's environment,
// which maskValues() turns into "[masked]", as decK does, unless the user asks to see them).
std::vector<EntityChange> diffDocuments(const nlohmann::json& current_flat,
                                        const nlohmann::json& target_flat,
                                        const std::string& select_tag = "",
                                        const std::vector<std::string>& env_values = {});

// The document to apply: `target` for everything, or with a select tag, `current` minus its
// tagged entities plus `target`'s (each given the tag).
nlohmann::json mergeForSync(const nlohmann::json& current_flat, const nlohmann::json& target_flat,
                            const std::string& select_tag);

// Every entity given the tag (once).
nlohmann::json withTag(const nlohmann::json& flat, const std::string& tag);

// Only the entities carrying the tag (and plugins attached to them).
nlohmann::json selectTagged(const nlohmann::json& flat, const std::string& select_tag);

std::string formatChanges(const std::vector<EntityChange>& changes);

// decK's masking of values that came from the environment: every occurrence of one of
// `values` in `text` becomes "[masked]" (longest first; values under 3 bytes are left alone, so
// that "1" or "on" does not garble the whole diff).
std::string maskValues(std::string text, std::vector<std::string> values);

}  // namespace aigw::config
