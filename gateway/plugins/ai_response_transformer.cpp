// ai-response-transformer (Kong priority 768, after ai-proxy): sends the upstream's answer to
// an LLM with the configured prompt and returns the LLM's text to the client with the
// upstream's status and headers — or, with parse_llm_response_json_instructions, the status,
// headers and body the LLM put in a {"status", "headers", "body"} object.
// Kong performs the upstream call itself; here the answer arrives in the response phase, so
// the same plugin works on ai-proxy routes (the translated OpenAI answer) and ordinary ones.
// Like Kong's, it does not transform streamed answers (they are relayed as they arrive).
#include "plugins/ai_transformer.hpp"
#include "plugins/builtin.hpp"
#include "proxy/request_context.hpp"

namespace aigw::plugins {

namespace {

using Json = nlohmann::json;

const config::Schema& responseTransformerSchema() {
  static const config::Schema schema = transformer::schema(true);
  return schema;
}

class ResponseTransformer : public Plugin {
 public:
  transformer::TransformerConfig cfg;

  bool wantsResponse() const override { return true; }
  Verdict onResponse(proxy::RequestContext& ctx, proxy::Reply& reply) const override {
    if (ctx.llm_result) return resume(ctx, reply, *ctx.llm_result);
    ctx.llm_request =
        proxy::LlmRequest{&cfg.llm, transformer::introspectionRequest(cfg.prompt, reply.body)};
    return Verdict::CallLlm;
  }

 private:
  Verdict resume(proxy::RequestContext& ctx, proxy::Reply& reply,
                 const proxy::LlmResult& result) const {
    if (!result) {
      ctx.error = result.error();
      return Verdict::Respond;
    }
    auto text = transformer::extract(cfg.extract, result->text);
    if (!text) {
      ctx.error = text.error();
      return Verdict::Respond;
    }
    std::optional<transformer::Instructions> instructions;
    if (cfg.parse_instructions) {
      auto parsed = transformer::parseInstructions(*text);
      if (!parsed) {
        ctx.error = ApiError::internal(
            "failed to parse JSON response instructions from AI backend: " + parsed.error());
        return Verdict::Respond;
      }
      instructions = std::move(*parsed);
    }
    ctx.log_fields["ai"]["ai-response-transformer"] = {
        {"model", cfg.llm.target.provider + "/" + cfg.llm.target.model},
        {"usage",
         {{"prompt_tokens", std::max(0LL, result->usage.prompt_tokens)},
          {"completion_tokens", std::max(0LL, result->usage.completion_tokens)}}}};
    transformer::applyToReply(reply, std::move(*text), instructions);
    return Verdict::Continue;
  }
};

std::shared_ptr<const Plugin> create(const Json& cfg, const std::string& path,
                                     config::ConfigErrors& errors) {
  auto p = std::make_shared<ResponseTransformer>();
  p->cfg = transformer::parse(cfg, path, errors);
  return p;
}

}  // namespace

const PluginSpec& aiResponseTransformerSpec() {
  static const PluginSpec spec{"ai-response-transformer", 768, responseTransformerSchema, create};
  return spec;
}

}  // namespace aigw::plugins
