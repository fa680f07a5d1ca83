// The upstream request of an AI call: the provider's translation of the client's call, plus
// the configured credential (header or query; body credentials are part of the translation)
// and the provider feature headers a client may send. Rebuilt from the unchanged call for
// every attempt, so retries and failover stay idempotent.
// Thread-safety: pure function.
#pragma once

#include "core/api_error.hpp"
#include "core/result.hpp"
#include "http/message.hpp"
#include "proxy/request_context.hpp"

namespace aigw::proxy {

Result<http::UpstreamRequest, ApiError> buildAiRequest(const AiCall& ai,
                                                       const http::Request& client);

}  // namespace aigw::proxy
