// ai-prompt-decorator (Kong priority 772): prepends and appends messages to every chat
// request, before ai-proxy translates it. Kong's config: prompts.prepend[] / prompts.append[]
// of {role: system|assistant|user (default system), content: 1..500 chars}, ≤ 15 each, at least
// one of the two (kong/plugins/ai-prompt-decorator/schema.lua). Kong's decorator has an access
// phase only (filter stage REQ_TRANSFORMATION), so this one has no response hook either.
#include "plugins/builtin.hpp"
#include "plugins/schema_fields.hpp"
#include "proxy/request_context.hpp"

namespace aigw::plugins {

namespace {

using config::Schema;
using Json = nlohmann::json;

const Schema& decoratorSchema() {
  static const Schema schema = [] {
    using namespace fields;
    Field content = required(str("content"));
    content.len_min = 1;
    content.len_max = 500;
    auto message = record({str("role", {"system", "assistant", "user"}, "system"), content});
    auto prompts =
        record({recordArray("prepend", message, 15), recordArray("append", message, 15)});
    return Schema{{rec("prompts", prompts, true), maxRequestBodySize(),
                   str("llm_format", {"openai"}, "openai")}};
  }();
  return schema;
}

class PromptDecorator : public Plugin {
 public:
  Json prepend = Json::array(), append = Json::array();
  long long max_body = 1048576;

  Verdict onAccess(proxy::RequestContext& ctx) const override {
    if (static_cast<long long>(ctx.rawBody().size()) > max_body) {
      ctx.error = ApiError::payloadTooLarge("request body is larger than max_request_body_size (" +
                                            std::to_string(max_body) + " bytes)");
      return Verdict::Respond;
    }
    if (!ctx.ensureBody() || !ctx.body.is_object()) {
      ctx.error = ApiError::badRequest("this LLM route only supports application/json requests");
      return Verdict::Respond;
    }
    const auto it = ctx.body.find("messages");
    if (it == ctx.body.end() || !it->is_array() || it->empty()) {
      ctx.error =
          ApiError::badRequest("this LLM route only supports llm/chat type requests", "messages");
      return Verdict::Respond;
    }
    Json& messages = *it;
    if (!prepend.empty()) messages.insert(messages.begin(), prepend.begin(), prepend.end());
    for (const auto& m : append) messages.push_back(m);
    ctx.body_edited = true;
    return Verdict::Continue;
  }
};

std::shared_ptr<const Plugin> createDecorator(const Json& cfg, const std::string& path,
                                              config::ConfigErrors& errors) {
  auto p = std::make_shared<PromptDecorator>();
  const Json prompts = cfg.value("prompts", Json::object());
  p->prepend = prompts.value("prepend", Json::array());
  p->append = prompts.value("append", Json::array());
  p->max_body = cfg.value("max_request_body_size", 1048576LL);
  if (cfg.contains("prompts") && p->prepend.empty() && p->append.empty())
    errors.add(config::joinPath(path, "prompts"),
               "at least one of these fields must be non-empty: 'config.prompts.prepend', "
               "'config.prompts.append'");
  return p;
}

}  // namespace

const PluginSpec& aiPromptDecoratorSpec() {
  static const PluginSpec spec{"ai-prompt-decorator", 772, decoratorSchema, createDecorator};
  return spec;
}

}  // namespace aigw::plugins
