// "Call this LLM with this chat request": the one way a plugin gets an answer from a model
// (ai-request-transformer, ai-response-transformer). The plugin never calls it itself: its hook
// puts an LlmRequest in ctx.llm_request and returns Verdict::CallLlm, and the pipeline performs
// the call with an LlmCaller (awaited on the request's event loop) and hands the LlmResult back
// to the hook (plugins/plugin.hpp).
//
// The call goes through the same provider layer as ai-proxy (any provider, including mock):
// the provider builds the upstream request from an OpenAI chat body and translates the answer.
//
// Thread-safety: LlmTarget is immutable after config load; an LlmCaller belongs to one loop.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/api_error.hpp"
#include "core/result.hpp"
#include "providers/provider.hpp"
#include "proxy/upstream.hpp"

namespace aigw::proxy {

// An LLM as a plugin's `llm` block configures it (ai-proxy's shape: route_type, auth, model).
struct LlmTarget {
  const providers::Provider* provider = nullptr;
  providers::Target target;  // model.name is always set for plugin calls
  Headers auth_headers;      // auth.header_name: header_value
  std::string query_auth;    // "name=value" (already encoded) for auth.param_location query
  std::string body_auth_name, body_auth_value;  // auth.param_location body
  UpstreamTimeouts timeouts;                    // from the plugin's http_timeout
  bool verify_tls = true;                       // the plugin's https_verify
};

struct LlmRequest {
  const LlmTarget* target = nullptr;  // owned by the plugin, which outlives the request
  nlohmann::json body;                // an OpenAI chat request; "stream" is forced to false
};

struct LlmAnswer {
  std::string text;  // choices[0].message.content
  providers::Usage usage;
};
using LlmResult = Result<LlmAnswer, ApiError>;

class LlmCaller {
 public:
  virtual ~LlmCaller() = default;
  virtual net::Task<LlmResult> chat(const LlmRequest& request) const = 0;
};

// Performs the call on the event loop of the request, with that loop's upstream clients (one
// verifying certificates, one for targets with https_verify: false).
class LoopLlmCaller : public LlmCaller {
 public:
  LoopLlmCaller(UpstreamClient& verified, UpstreamClient& unverified, net::Executor executor)
      : verified_(verified), unverified_(unverified), executor_(std::move(executor)) {}
  net::Task<LlmResult> chat(const LlmRequest& request) const override;

 private:
  UpstreamClient& verified_;
  UpstreamClient& unverified_;
  net::Executor executor_;
};

// The pure halves, exposed for tests: the upstream request for a chat body, and the assistant
// text of a translated (OpenAI-shaped) answer. Errors use Kong's texts.
Result<http::UpstreamRequest, ApiError> buildLlmRequest(const LlmRequest& request,
                                                        providers::ProxyCall& call);
LlmResult assistantText(const std::string& openai_body, const providers::Usage& usage);

}  // namespace aigw::proxy
