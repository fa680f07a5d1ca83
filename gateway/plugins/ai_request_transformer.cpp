// ai-request-transformer (Kong priority 777, before the prompt plugins and ai-proxy): sends the
// client's raw body to an LLM with the configured prompt and sends the LLM's answer (or its
// first match of transformation_extract_pattern) upstream instead of the client's body.
// Kong's config: prompt, transformation_extract_pattern, http_timeout, https_verify, forward
// proxies, max_request_body_size, llm (route_type llm/v1/chat). Any LLM failure is Kong's 400
// "failed to introspect request with AI service: ...".
// The call itself is the pipeline's (Verdict::CallLlm): the hook stays synchronous.
#include "plugins/ai_transformer.hpp"
#include "plugins/builtin.hpp"
#include "proxy/request_context.hpp"

namespace aigw::plugins {

namespace {

using Json = nlohmann::json;

const config::Schema& requestTransformerSchema() {
  static const config::Schema schema = transformer::schema(false);
  return schema;
}

class RequestTransformer : public Plugin {
 public:
  transformer::TransformerConfig cfg;

  Verdict onAccess(proxy::RequestContext& ctx) const override {
    if (ctx.llm_result) return resume(ctx, *ctx.llm_result);
    if (static_cast<long long>(ctx.rawBody().size()) > cfg.max_body) {
      ctx.error = ApiError::payloadTooLarge("request body is larger than max_request_body_size (" +
                                            std::to_string(cfg.max_body) + " bytes)");
      return Verdict::Respond;
    }
    ctx.llm_request = proxy::LlmRequest{
        &cfg.llm, transformer::introspectionRequest(cfg.prompt, std::string(ctx.rawBody()))};
    return Verdict::CallLlm;
  }

 private:
  Verdict resume(proxy::RequestContext& ctx, const proxy::LlmResult& result) const {
    if (!result) {
      ctx.error = result.error();
      return Verdict::Respond;
    }
    auto body = transformer::extract(cfg.extract, result->text);
    if (!body) {
      ctx.error = body.error();
      return Verdict::Respond;
    }
    ctx.log_fields["ai"]["ai-request-transformer"] = {
        {"model", cfg.llm.target.provider + "/" + cfg.llm.target.model},
        {"usage",
         {{"prompt_tokens", std::max(0LL, result->usage.prompt_tokens)},
          {"completion_tokens", std::max(0LL, result->usage.completion_tokens)}}}};
    ctx.setRawBody(std::move(*body));
    return Verdict::Continue;
  }
};

std::shared_ptr<const Plugin> create(const Json& cfg, const std::string& path,
                                     config::ConfigErrors& errors) {
  auto p = std::make_shared<RequestTransformer>();
  p->cfg = transformer::parse(cfg, path, errors);
  return p;
}

}  // namespace

const PluginSpec& aiRequestTransformerSpec() {
  static const PluginSpec spec{"ai-request-transformer", 777, requestTransformerSchema, create};
  return spec;
}

}  // namespace aigw::plugins
