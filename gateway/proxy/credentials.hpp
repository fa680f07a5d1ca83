// The awaited credential step: a provider that mints its credential over the network (Vertex
// service-account tokens) declares a CredentialSource; before a request is built the proxy
// refreshes it on the event loop, through the same upstream client as every other call.
// Thread-safety: runs on one loop; the source itself is thread-safe.
#pragma once

#include <optional>
#include <string_view>

#include "core/api_error.hpp"
#include "providers/provider.hpp"
#include "proxy/upstream.hpp"

namespace aigw::proxy {

// Nothing when the credential is fresh (or was refreshed); otherwise the client's error.
net::Task<std::optional<ApiError>> refreshCredential(providers::CredentialSource& source,
                                                     UpstreamClient& client,
                                                     std::string_view provider);

}  // namespace aigw::proxy
