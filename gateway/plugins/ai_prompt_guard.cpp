// ai-prompt-guard (Kong priority 771): allows or blocks a chat or completions request by
// regular expressions searched in its prompt, before ai-proxy sends it anywhere. Kong's schema
// (kong/plugins/ai-prompt-guard/schema.lua): allow_patterns / deny_patterns (≤ 10 each, 1..500
// chars, at least one list), allow_all_conversation_history (default false — Kong's naming is
// inverted: true means "ignore the history, check only the newest message"), match_all_roles
// (needs allow_all_conversation_history false), max_request_body_size.
// A blocked prompt is Kong's deliberately vague 400 "bad request", so a client cannot probe
// the patterns. Patterns are RE2 (core/regex.hpp), compiled at load: a pattern Kong would only
// fail on at request time (500) is a config error here.
#include "plugins/ai_prompt_guard.hpp"

#include "plugins/builtin.hpp"
#include "plugins/schema_fields.hpp"
#include "proxy/request_context.hpp"

namespace aigw::plugins {

namespace guard {

namespace {
constexpr const char* kBadFormat =
    "ai-prompt-guard only supports llm/v1/chat or llm/v1/completions prompts";
}

bool collectPrompt(const nlohmann::json& body, const Rules& rules, std::string& text,
                   std::string& error) {
  text.clear();
  const auto messages = body.find("messages");
  if (messages != body.end() && messages->is_array()) {
    // Newest first, so the latest user prompt leads whatever the history holds.
    bool first = true;
    for (auto it = messages->rbegin(); it != messages->rend(); ++it) {
      const auto role = it->is_object() ? it->find("role") : it->end();
      if (!it->is_object() || role == it->end() || !role->is_string()) {
        error = kBadFormat;
        return false;
      }
      if (!rules.match_all_roles && role->get_ref<const std::string&>() != "user") continue;
      const auto content = it->find("content");
      if (content == it->end() || !content->is_string()) {
        error = kBadFormat;  // multimodal arrays included, as in Kong
        return false;
      }
      if (!first) text += ' ';  // keeps words of two messages apart
      text += content->get_ref<const std::string&>();
      first = false;
      if (rules.latest_only) break;
    }
    return true;
  }
  const auto prompt = body.find("prompt");
  if (prompt != body.end() && prompt->is_string()) {
    text = prompt->get<std::string>();
    return true;
  }
  error = kBadFormat;
  return false;
}

Decision check(const nlohmann::json& body, const Rules& rules) {
  std::string text, error;
  if (!collectPrompt(body, rules, text, error)) return {false, error};
  for (const auto& re : rules.deny)
    if (re.search(text)) return {false, "prompt pattern is blocked"};
  if (rules.allow.empty()) return {true, {}};
  for (const auto& re : rules.allow)
    if (re.search(text)) return {true, {}};
  return {false, "prompt doesn't match any allowed pattern"};
}

}  // namespace guard

namespace {

using config::Schema;
using Json = nlohmann::json;

const Schema& guardSchema() {
  static const Schema schema = [] {
    using namespace fields;
    return Schema{
        {stringArray("allow_patterns", 10, 1, 500), stringArray("deny_patterns", 10, 1, 500),
         boolean("allow_all_conversation_history", false), boolean("match_all_roles", false),
         maxRequestBodySize(), str("llm_format", {"openai"}, "openai"), str("genai_category")}};
  }();
  return schema;
}

class PromptGuard : public Plugin {
 public:
  guard::Rules rules;
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
    const guard::Decision d = guard::check(ctx.body, rules);
    if (d.allowed) return Verdict::Continue;
    // Kong: "don't let users know 'ai-prompt-guard' is in use".
    ctx.error = ApiError::badRequest("bad request");
    return Verdict::Respond;
  }
};

void compileAll(const Json& cfg, const char* key, const std::string& path, std::vector<Regex>& out,
                config::ConfigErrors& errors) {
  const Json list = cfg.value(key, Json::array());
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string()) continue;  // the schema reported it
    const std::string pattern = list[i].get<std::string>();
    auto re = Regex::compile(pattern);
    if (!re) {
      errors.add(config::indexPath(config::joinPath(path, key), i),
                 "invalid regex \"" + pattern + "\": " + re.error());
      continue;
    }
    out.push_back(std::move(*re));
  }
}

std::shared_ptr<const Plugin> createGuard(const Json& cfg, const std::string& path,
                                          config::ConfigErrors& errors) {
  auto p = std::make_shared<PromptGuard>();
  compileAll(cfg, "allow_patterns", path, p->rules.allow, errors);
  compileAll(cfg, "deny_patterns", path, p->rules.deny, errors);
  const bool has_allow = !cfg.value("allow_patterns", Json::array()).empty();
  const bool has_deny = !cfg.value("deny_patterns", Json::array()).empty();
  if (!has_allow && !has_deny)
    errors.add(path,
               "at least one of these fields must be non-empty: 'config.allow_patterns', "
               "'config.deny_patterns'");
  p->rules.latest_only = cfg.value("allow_all_conversation_history", false);
  p->rules.match_all_roles = cfg.value("match_all_roles", false);
  if (p->rules.match_all_roles && p->rules.latest_only)
    errors.add(config::joinPath(path, "allow_all_conversation_history"),
               "value must be false (failed conditional validation given value of field "
               "'config.match_all_roles')");
  p->max_body = cfg.value("max_request_body_size", 1048576LL);
  return p;
}

}  // namespace

const PluginSpec& aiPromptGuardSpec() {
  static const PluginSpec spec{"ai-prompt-guard", 771, guardSchema, createGuard};
  return spec;
}

}  // namespace aigw::plugins
