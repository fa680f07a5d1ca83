// ai-prompt-template (Kong priority 773): a request names a configured template instead of
// sending its prompt — {"messages": "{template://NAME}", "properties": {...}} (or "prompt") —
// and the rendered template replaces the whole request body before ai-proxy sees it.
// Kong's schema (kong/plugins/ai-prompt-template/schema.lua): templates[] {name, template},
// allow_untemplated_requests (default true), log_original_request (default false),
// max_request_body_size. Errors are 400s with Kong's texts.
#include "plugins/ai_prompt_template.hpp"

#include <cctype>
#include <set>

#include "core/json.hpp"
#include "plugins/builtin.hpp"
#include "plugins/schema_fields.hpp"
#include "proxy/request_context.hpp"

namespace aigw::plugins {

namespace prompt_template {

namespace {

bool isNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// Lua's type() names, as Kong's message uses them.
const char* luaType(const nlohmann::json& v) {
  if (v.is_number()) return "number";
  if (v.is_boolean()) return "boolean";
  if (v.is_null()) return "null";
  return "table";
}

}  // namespace

Template compile(std::string name, std::string_view text) {
  Template t;
  t.name = std::move(name);
  std::string literal;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 2, "{{") == 0) {
      std::size_t j = i + 2;
      while (j < text.size() && isNameChar(text[j])) ++j;
      if (j > i + 2 && text.compare(j, 2, "}}") == 0) {
        t.literals.push_back(std::move(literal));
        literal.clear();
        t.placeholders.emplace_back(text.substr(i + 2, j - i - 2));
        i = j + 2;
        continue;
      }
    }
    literal += text[i++];
  }
  t.literals.push_back(std::move(literal));
  return t;
}

std::optional<std::string> referencedName(const nlohmann::json& reference) {
  if (!reference.is_string()) return std::nullopt;
  const auto& s = reference.get_ref<const std::string&>();
  constexpr std::string_view kPrefix = "{template://";
  if (s.size() < kPrefix.size() + 1 || s.compare(0, kPrefix.size(), kPrefix) != 0 ||
      s.back() != '}')
    return std::nullopt;
  return s.substr(kPrefix.size(), s.size() - kPrefix.size() - 1);
}

Result<std::string, std::string> render(const Template& t, const nlohmann::json* properties) {
  using R = Result<std::string, std::string>;
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& props = properties ? *properties : empty;
  if (!props.is_object()) return R::failure("properties must be an object");
  for (const auto& [key, value] : props.items())
    if (!value.is_string())
      return R::failure(std::string("property values must be a string, got ") + luaType(value));

  std::string out = t.literals[0];
  std::vector<std::string> missing;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < t.placeholders.size(); ++i) {
    const auto& name = t.placeholders[i];
    const auto it = props.find(name);
    if (it == props.end()) {
      if (seen.insert(name).second) missing.push_back("[" + name + "]");
    } else {
      const std::string quoted = json::dump(*it);  // "..." with JSON escapes
      out.append(quoted, 1, quoted.size() - 2);
    }
    out += t.literals[i + 1];
  }
  if (!missing.empty()) {
    std::string msg = "missing template parameters: ";
    for (std::size_t i = 0; i < missing.size(); ++i) msg += (i ? ", " : "") + missing[i];
    return R::failure(std::move(msg));
  }
  return out;
}

}  // namespace prompt_template

namespace {

using config::Schema;
using Json = nlohmann::json;

const Schema& templateSchema() {
  static const Schema schema = [] {
    using namespace fields;
    auto entry = record({required(str("name")), required(str("template"))});
    Field templates = recordArray("templates", entry);
    templates.required = true;
    return Schema{{templates, boolean("allow_untemplated_requests", true),
                   boolean("log_original_request", false), maxRequestBodySize()}};
  }();
  return schema;
}

class PromptTemplate : public Plugin {
 public:
  std::vector<prompt_template::Template> templates;
  bool allow_untemplated = true;
  bool log_original = false;
  long long max_body = 1048576;

  Verdict fail(proxy::RequestContext& ctx, std::string message) const {
    ctx.error = ApiError::badRequest(std::move(message));
    return Verdict::Respond;
  }

  Verdict onAccess(proxy::RequestContext& ctx) const override {
    if (static_cast<long long>(ctx.rawBody().size()) > max_body) {
      ctx.error = ApiError::payloadTooLarge("request body is larger than max_request_body_size (" +
                                            std::to_string(max_body) + " bytes)");
      return Verdict::Respond;
    }
    if (log_original)
      ctx.log_fields["ai"]["payload"]["original_request"] = std::string(ctx.rawBody());
    if (!ctx.ensureBody() || !ctx.body.is_object())
      return fail(ctx, "this LLM route only supports application/json requests");
    const auto messages = ctx.body.find("messages");
    const auto prompt = ctx.body.find("prompt");
    const bool has_messages = messages != ctx.body.end() && !messages->is_null();
    const bool has_prompt = prompt != ctx.body.end() && !prompt->is_null();
    if (has_messages && has_prompt)
      return fail(ctx, "cannot run 'messages' and 'prompt' templates at the same time");
    if (!has_messages && !has_prompt)
      return fail(ctx,
                  "only 'llm/v1/chat' and 'llm/v1/completions' formats are supported for "
                  "templating");
    const auto name = prompt_template::referencedName(has_messages ? *messages : *prompt);
    if (!name) {
      if (allow_untemplated) return Verdict::Continue;
      return fail(ctx, "this LLM route only supports templated requests");
    }
    const prompt_template::Template* chosen = nullptr;
    for (const auto& t : templates)
      if (t.name == *name) {
        chosen = &t;
        break;
      }
    if (!chosen) return fail(ctx, "could not find template name [" + *name + "]");
    const auto props = ctx.body.find("properties");
    auto rendered = prompt_template::render(*chosen, props == ctx.body.end() ? nullptr : &*props);
    if (!rendered) return fail(ctx, rendered.error());
    ctx.setRawBody(std::move(*rendered));  // the whole body, as Kong's set_raw_body
    return Verdict::Continue;
  }
};

std::shared_ptr<const Plugin> createTemplate(const Json& cfg, const std::string& path,
                                             config::ConfigErrors& errors) {
  auto p = std::make_shared<PromptTemplate>();
  const Json list = cfg.value("templates", Json::array());
  std::set<std::string> names;
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_object()) continue;
    const std::string name = list[i].value("name", "");
    if (!names.insert(name).second)
      errors.add(config::indexPath(config::joinPath(path, "templates"), i) + ".name",
                 "duplicate template name \"" + name + "\"");
    p->templates.push_back(prompt_template::compile(name, list[i].value("template", "")));
  }
  p->allow_untemplated = cfg.value("allow_untemplated_requests", true);
  p->log_original = cfg.value("log_original_request", false);
  p->max_body = cfg.value("max_request_body_size", 1048576LL);
  return p;
}

}  // namespace

const PluginSpec& aiPromptTemplateSpec() {
  static const PluginSpec spec{"ai-prompt-template", 773, templateSchema, createTemplate};
  return spec;
}

}  // namespace aigw::plugins
