// Kong operator's Kubernetes `AIGateway` resource (gateway-operator.konghq.com/v1alpha1) as a
// config source: one route per spec.largeLanguageModels.cloudHosted[].identifier at
// /<identifier>, with ai-proxy (and ai-prompt-decorator for defaultPrompts); provider keys
// from the credentials Secret in the same file (stringData or base64 data) or from env.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/errors.hpp"

namespace aigw::config {

// True for a document (or multi-document array) that holds a `kind: AIGateway`.
bool isAIGateway(const nlohmann::json& document);

// The equivalent decK document. Problems are reported with paths into the source
// ("#1.spec.largeLanguageModels.cloudHosted[0].identifier" for the second YAML document).
// Documents of other kinds (the GatewayClass, a Namespace ...) are skipped with a line in
// `notices`.
// `route_sources`, when given, receives for each generated route the path of the model it came
// from (so later errors point into the user's file).
nlohmann::json fromAIGateway(const nlohmann::json& document, ConfigErrors& errors,
                             std::vector<std::string>* notices = nullptr,
                             std::vector<std::string>* route_sources = nullptr);

}  // namespace aigw::config
