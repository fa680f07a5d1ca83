#include "proxy/llm_call.hpp"

#include "core/json.hpp"
#include "proxy/local_response.hpp"

namespace aigw::proxy {

namespace {

constexpr std::size_t kMaxErrorBody = 1 << 20;
constexpr std::size_t kMaxAnswerBody = 16u << 20;

// Kong's text for every failed introspection call (kong/llm/init.lua ai_introspect_body); the
// transformers answer it with 400.
ApiError introspectFailure(const std::string& why) {
  return ApiError::badRequest("failed to introspect request with AI service: " + why);
}

}  // namespace

Result<http::UpstreamRequest, ApiError> buildLlmRequest(const LlmRequest& request,
                                                        providers::ProxyCall& call) {
  const LlmTarget& t = *request.target;
  call.route_type = providers::RouteType::Chat;
  call.stream = false;
  call.model = t.target.model;
  call.body = &request.body;
  call.body_auth_name = t.body_auth_name;
  call.body_auth_value = t.body_auth_value;
  auto up = t.provider->buildRequest(call, t.target);
  if (!up) return up;
  for (const auto& h : t.auth_headers) up->headers.push_back(h);
  if (!t.query_auth.empty())
    up->url += (up->url.find('?') == std::string::npos ? "?" : "&") + t.query_auth;
  return up;
}

LlmResult assistantText(const std::string& openai_body, const providers::Usage& usage) {
  nlohmann::json answer;
  if (!json::parse(openai_body, answer) || !answer.is_object())
    return LlmResult::failure(
        ApiError::badRequest("failed to convert AI response to JSON: invalid JSON"));
  const auto choices = answer.find("choices");
  if (choices == answer.end() || !choices->is_array() || choices->empty() ||
      !(*choices)[0].is_object())
    return LlmResult::failure(ApiError::badRequest("no 'choices' in upstream AI service response"));
  const auto& first = (*choices)[0];
  const auto message = first.find("message");
  if (message == first.end() || !message->is_object() || !message->contains("content") ||
      !(*message)["content"].is_string())
    return LlmResult::failure(ApiError::badRequest("no 'choices' in upstream AI service response"));
  return LlmAnswer{(*message)["content"].get<std::string>(), usage};
}

net::Task<LlmResult> LoopLlmCaller::chat(const LlmRequest& request) const {
  // The body the provider translates from: the plugin's messages, never streamed.
  LlmRequest call_request{request.target, request.body};
  call_request.body["stream"] = false;
  if (!request.target->target.model.empty())
    call_request.body["model"] = request.target->target.model;
  providers::ProxyCall call;
  auto up = buildLlmRequest(call_request, call);
  if (!up) co_return LlmResult::failure(up.error());

  const LlmTarget& t = *request.target;
  std::unique_ptr<UpstreamResponse> res;
  if (auto local = t.provider->localExchange(*up)) {
    res = playLocalReply(std::move(*local), executor_);
  } else {
    UpstreamClient& client = t.verify_tls ? verified_ : unverified_;
    auto sent = co_await client.send(*up, t.timeouts);
    if (!sent) co_return LlmResult::failure(introspectFailure(sent.error().message));
    res = std::move(*sent);
  }
  std::string body;
  const int status = res->status();
  if (status < 200 || status > 299) {
    co_await res->readAll(body, kMaxErrorBody);
    co_return LlmResult::failure(introspectFailure("status code " + std::to_string(status)));
  }
  if (!co_await res->readAll(body, kMaxAnswerBody)) {
    const std::string why = res->error().kind == UpstreamFailure::None ? "answer larger than 16 MiB"
                                                                       : res->error().message;
    co_return LlmResult::failure(introspectFailure(why));
  }
  auto reply = t.provider->parseResponse(call, body, t.target);
  if (!reply)
    co_return LlmResult::failure(ApiError::badRequest(
        "failed to convert AI response to Kong format: " + reply.error().message));
  co_return assistantText(reply->body, reply->usage);
}

}  // namespace aigw::proxy
