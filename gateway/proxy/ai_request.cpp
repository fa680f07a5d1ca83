#include "proxy/ai_request.hpp"

namespace aigw::proxy {

Result<http::UpstreamRequest, ApiError> buildAiRequest(const AiCall& ai,
                                                       const http::Request& client,
                                                       ClientCredential credential) {
  auto isCredential = [&](std::string_view name) {
    return !credential.header.empty() && http::iequals(name, credential.header);
  };
  auto upstream = ai.provider->buildRequest(ai.call, *ai.target);
  if (!upstream) return upstream;
  if (ai.auth) {
    const AuthSpec& auth = *ai.auth;
    if (!auth.header_name.empty()) {
      std::string value = auth.header_value;
      if (auth.allow_override && !isCredential(auth.header_name)) {
        if (auto sent = client.get_header_value(auth.header_name); !sent.empty())
          value = std::move(sent);
      }
      upstream->headers.push_back({auth.header_name, std::move(value)});
    }
    if (auth.param_location == "query" && !auth.param_name.empty()) {
      std::string value = auth.param_value;
      if (auth.allow_override && client.has_param(auth.param_name) &&
          auth.param_name != credential.query_param)
        value = client.get_param_value(auth.param_name);
      upstream->url += (upstream->url.find('?') == std::string::npos ? "?" : "&") +
                       auth.param_name + "=" + http::percentEncode(value);
    }
  }
  // Provider feature headers a client may legitimately send; credentials are never among them.
  static constexpr const char* kForwarded[] = {"openai-organization", "openai-project",
                                               "openai-beta", "anthropic-beta", "x-request-id"};
  for (const char* h : kForwarded)
    if (const std::string* v = http::findHeader(client.headers, h); v && !isCredential(h))
      upstream->headers.push_back({h, *v});
  return upstream;
}

}  // namespace aigw::proxy
