#include "proxy/redact.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "proxy/request_context.hpp"

namespace aigw::proxy {

namespace {

// Shorter values are too likely to be ordinary words or numbers to mask everywhere.
constexpr std::size_t kMinSecret = 4;

bool credentialHeader(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name == "authorization" || name == "proxy-authorization" || name == "api-key" ||
         name == "x-api-key" || name == "x-goog-api-key" || name == "x-amz-security-token";
}

void add(std::vector<std::string>& out, std::string_view value) {
  if (value.size() < kMinSecret) return;
  out.emplace_back(value);
  // "Bearer sk-..." / "Basic ...": providers quote the token without its scheme.
  if (const auto space = value.find(' '); space != std::string_view::npos)
    add(out, value.substr(space + 1));
}

}  // namespace

std::vector<std::string> callSecrets(const AiCall& ai, const http::UpstreamRequest& upstream) {
  std::vector<std::string> out = ai.secrets;
  for (const auto& h : upstream.headers)
    if (credentialHeader(h.name)) add(out, h.value);
  add(out, ai.call.body_auth_value);
  if (ai.target) {
    add(out, ai.target->cloud_auth.aws_secret_access_key);
    add(out, ai.target->cloud_auth.aws_access_key_id);
    add(out, ai.target->cloud_auth.gcp_service_account_json);
  }
  std::vector<std::string> expanded;
  for (const auto& s : out) add(expanded, s);
  std::sort(expanded.begin(), expanded.end());
  expanded.erase(std::unique(expanded.begin(), expanded.end()), expanded.end());
  return expanded;
}

std::string maskSecrets(std::string text, const std::vector<std::string>& secrets) {
  std::vector<const std::string*> order;
  for (const auto& s : secrets)
    if (s.size() >= kMinSecret) order.push_back(&s);
  std::sort(order.begin(), order.end(),
            [](const std::string* a, const std::string* b) { return a->size() > b->size(); });
  for (const auto* s : order)
    for (auto pos = text.find(*s); pos != std::string::npos;
         pos = text.find(*s, pos + kMasked.size()))
      text.replace(pos, s->size(), kMasked);
  return text;
}

ApiError redactUpstreamError(ApiError error, const AiCall& ai,
                             const http::UpstreamRequest& upstream, int status,
                             std::string_view raw_body) {
  const auto secrets = callSecrets(ai, upstream);
  const auto body = nlohmann::json::parse(raw_body, nullptr, false);
  if (!body.is_object()) {
    // An HTML error page (or any text) may carry internal names and echoed headers: only the
    // status goes out.
    error.message = "upstream " + ai.provider_name + " returned HTTP " + std::to_string(status) +
                    (raw_body.empty() ? " with an empty body" : " with a non-JSON body");
    error.param.clear();
  }
  error.message = maskSecrets(std::move(error.message), secrets);
  error.param = maskSecrets(std::move(error.param), secrets);
  error.code = maskSecrets(std::move(error.code), secrets);
  error.type = maskSecrets(std::move(error.type), secrets);
  return error;
}

}  // namespace aigw::proxy
