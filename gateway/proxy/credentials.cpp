#include "proxy/credentials.hpp"

namespace aigw::proxy {

namespace {
constexpr UpstreamTimeouts kTokenTimeouts{10000, 15000, 15000, 30000};
constexpr std::size_t kMaxTokenResponse = 64 * 1024;

// Kong's wording for a credential that could not be obtained; the provider is in the logs.
ApiError failedBeforeProxying(std::string_view, const std::string& why) {
  return ApiError::internal("LLM request failed before proxying: " + why);
}
}  // namespace

net::Task<std::optional<ApiError>> refreshCredential(providers::CredentialSource& source,
                                                     UpstreamClient& client,
                                                     std::string_view provider) {
  if (source.fresh()) co_return std::nullopt;
  auto request = source.refreshRequest();
  if (!request) co_return failedBeforeProxying(provider, request.error());
  auto sent = co_await client.send(*request, kTokenTimeouts);
  if (!sent)
    co_return failedBeforeProxying(provider, "token endpoint unreachable: " + sent.error().message);
  std::string body;
  if (!co_await (*sent)->readAll(body, kMaxTokenResponse))
    co_return failedBeforeProxying(provider, "token endpoint answer could not be read");
  if (Status s = source.acceptRefresh((*sent)->status(), body); !s)
    co_return failedBeforeProxying(provider, s.message());
  co_return std::nullopt;
}

}  // namespace aigw::proxy
