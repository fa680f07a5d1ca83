// GET /v1/models and GET /v1/models/{id} for the whole gateway: every model a client can name
// through the configured routes (ai-proxy's configured models, deduplicated), answered when no
// route matches those paths, so a route of the user's own at /v1/models still wins (Kong's
// routing stays in charge; Kong itself documents no models endpoint). A route's own
// `<route path>/models` is answered by its ai-proxy (plugins/ai_proxy.cpp).
// Thread-safety: pure function of an immutable config.
#pragma once

#include <optional>

#include "config/model.hpp"
#include "http/message.hpp"
#include "proxy/request_context.hpp"

namespace aigw::proxy {

std::optional<Reply> gatewayModels(const config::Config& config, const http::Request& request);

}  // namespace aigw::proxy
