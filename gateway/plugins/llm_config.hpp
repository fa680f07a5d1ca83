// Kong's LLM block (kong/llm/schemas: route_type, auth, model, logging): the shape ai-proxy
// takes at the top of its config and the AI transformers take under config.llm. One schema
// and one reader, so a target is configured, checked and resolved the same way everywhere.
// Thread-safety: built at config load, immutable afterwards.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "config/errors.hpp"
#include "config/schema.hpp"
#include "providers/provider.hpp"
#include "proxy/auth_spec.hpp"
#include "proxy/llm_call.hpp"

namespace aigw::plugins {

using LlmAuth = proxy::AuthSpec;

struct LlmConfig {
  providers::RouteType route_type = providers::RouteType::Chat;
  std::string route_type_name;  // as configured, e.g. "llm/v1/chat"
  LlmAuth auth;
  providers::Target target;
  const providers::Provider* provider = nullptr;  // null when the provider is unknown
};

// route_type (required), auth, model (required), logging: Kong's fields and defaults.
std::vector<config::Field> llmFields();

// Reads a validated block; cross-field problems go to `errors` with paths under `path`.
LlmConfig parseLlm(const nlohmann::json& cfg, const std::string& path,
                   config::ConfigErrors& errors);

// What a plugin calls (its auth resolved now: a plugin's call never takes client overrides).
proxy::LlmTarget toLlmTarget(const LlmConfig& llm, int timeout_ms, bool verify_tls);

}  // namespace aigw::plugins
