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

// Where the client's gateway key came (key-auth): that header or query parameter is never
// forwarded nor used as an allow_override value, so the key stays at the gateway.
struct ClientCredential {
  std::string_view header;
  std::string_view query_param;
};

Result<http::UpstreamRequest, ApiError> buildAiRequest(const AiCall& ai,
                                                       const http::Request& client,
                                                       ClientCredential credential = {});

}  // namespace aigw::proxy
