// ai-prompt-decorator (Kong priority 772): prepends and appends messages to every chat
// request, before ai-proxy translates it. Kong's config: prompts.prepend[] / prompts.append[]
// of {role: system|assistant|user (default system), content: 1..500 chars}, ≤ 15 each.
#include "plugins/builtin.hpp"
#include "proxy/request_context.hpp"

namespace aigw::plugins {

namespace {

using config::Field;
using config::FieldType;
using config::Schema;
using Json = nlohmann::json;

const Schema& decoratorSchema() {
  static const Schema schema = [] {
    Field role{"role"};
    role.one_of = {"system", "assistant", "user"};
    role.default_value = "system";
    Field content{"content", FieldType::String, true};
    auto message = std::make_shared<const Schema>(Schema{{role, content}});
    auto list = [&](const char* name) {
      Field f{name, FieldType::Array};
      f.element = FieldType::Record;
      f.record = message;
      f.max = 15;
      return f;
    };
    auto prompts = std::make_shared<const Schema>(Schema{{list("prepend"), list("append")}});
    Field prompts_field{"prompts", FieldType::Record, true};
    prompts_field.record = prompts;
    Field max_body{"max_request_body_size", FieldType::Integer};
    max_body.default_value = 1048576;
    max_body.min = 0;
    Field llm_format{"llm_format"};
    llm_format.one_of = {"openai"};
    llm_format.default_value = "openai";
    return Schema{{prompts_field, max_body, llm_format}};
  }();
  return schema;
}

class PromptDecorator : public Plugin {
 public:
  Json prepend = Json::array(), append = Json::array();

  Verdict onAccess(proxy::RequestContext& ctx) const override {
    if (!ctx.ensureBody() || !ctx.body.is_object() || !ctx.body.contains("messages") ||
        !ctx.body["messages"].is_array()) {
      ctx.error =
          ApiError::badRequest("this LLM route only supports llm/chat type requests", "messages");
      return Verdict::Respond;
    }
    Json& messages = ctx.body["messages"];
    if (!prepend.empty()) messages.insert(messages.begin(), prepend.begin(), prepend.end());
    for (const auto& m : append) messages.push_back(m);
    return Verdict::Continue;
  }
};

std::shared_ptr<const Plugin> createDecorator(const Json& cfg, const std::string& path,
                                              config::ConfigErrors& errors) {
  auto p = std::make_shared<PromptDecorator>();
  const Json prompts = cfg.value("prompts", Json::object());
  p->prepend = prompts.value("prepend", Json::array());
  p->append = prompts.value("append", Json::array());
  if (p->prepend.empty() && p->append.empty())
    errors.add(config::joinPath(path, "prompts"), "at least one of prepend or append must be set");
  for (const char* list : {"prepend", "append"}) {
    const Json& msgs = list[0] == 'p' ? p->prepend : p->append;
    for (std::size_t i = 0; i < msgs.size(); ++i) {
      const std::string content = msgs[i].value("content", "");
      if (content.empty() || content.size() > 500)
        errors.add(config::indexPath(config::joinPath(path, std::string("prompts.") + list), i) +
                       ".content",
                   "length must be between 1 and 500");
    }
  }
  return p;
}

}  // namespace

const PluginSpec& aiPromptDecoratorSpec() {
  static const PluginSpec spec{"ai-prompt-decorator", 772, decoratorSchema, createDecorator};
  return spec;
}

}  // namespace aigw::plugins
