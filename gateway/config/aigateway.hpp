// Kong operator's Kubernetes `AIGateway` resource (gateway-operator.konghq.com/v1alpha1) as a
// config source: one route per spec.largeLanguageModels.cloudHosted[].identifier at
// /<identifier>, with ai-proxy (and ai-prompt-decorator for defaultPrompts); provider keys
// from the credentials Secret in the same file (stringData or base64 data) or from env.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include "config/errors.hpp"

namespace aigw::config {

// True for a document (or multi-document array) that holds a `kind: AIGateway`.
bool isAIGateway(const nlohmann::json& document);

// The equivalent decK document. Problems are reported with paths into the source
// ("#1.spec.largeLanguageModels.cloudHosted[0].identifier" for the second YAML document).
nlohmann::json fromAIGateway(const nlohmann::json& document, ConfigErrors& errors);

}  // namespace aigw::config
