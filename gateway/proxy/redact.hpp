// Secrets never echo: the credential values configured for a call (auth header and query/body
// parameter values, AWS and GCP secrets, and whatever credential headers a provider signed the
// request with) are masked in everything that leaves the gateway other than the upstream request
// itself: the client's error body, and through it the access log and metrics. A provider's error
// page that is not JSON (an HTML 502 from a load balancer, with internal host names) becomes an
// OpenAI-shaped error naming the provider and the status instead of being echoed.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/api_error.hpp"
#include "http/message.hpp"

namespace aigw::proxy {

struct AiCall;

inline constexpr std::string_view kMasked = "[redacted]";

// The secret strings of one call (each at least 4 bytes; for "Bearer X" also X alone).
std::vector<std::string> callSecrets(const AiCall& ai, const http::UpstreamRequest& upstream);

// Every occurrence of a secret in `text` replaced with kMasked (longest first).
std::string maskSecrets(std::string text, const std::vector<std::string>& secrets);

// The error the proxy built from a provider's 4xx/5xx answer, made safe to show: secrets masked
// in every field, and a non-JSON body replaced by "upstream <provider> returned HTTP <status>".
ApiError redactUpstreamError(ApiError error, const AiCall& ai,
                             const http::UpstreamRequest& upstream, int status,
                             std::string_view raw_body);

}  // namespace aigw::proxy
