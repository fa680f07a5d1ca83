#include "plugins/ai_transformer.hpp"

#include "core/json.hpp"
#include "plugins/llm_config.hpp"
#include "plugins/schema_fields.hpp"
#include "proxy/request_context.hpp"

namespace aigw::plugins::transformer {

using Json = nlohmann::json;

config::Schema schema(bool response) {
  using namespace fields;
  Field proxy_port = number("http_proxy_port", FieldType::Integer, 0, 65535);
  Field https_proxy_port = number("https_proxy_port", FieldType::Integer, 0, 65535);
  Field llm = rec("llm", record(llmFields()), true);
  std::vector<Field> all = {required(str("prompt")),
                            str("transformation_extract_pattern"),
                            integer("http_timeout", 60000, 1),
                            boolean("https_verify", true),
                            str("http_proxy_host"),
                            proxy_port,
                            str("https_proxy_host"),
                            https_proxy_port,
                            maxRequestBodySize(),
                            llm};
  if (response) all.push_back(boolean("parse_llm_response_json_instructions", false));
  return config::Schema{std::move(all)};
}

TransformerConfig parse(const Json& cfg, const std::string& path, config::ConfigErrors& errors) {
  TransformerConfig out;
  out.prompt = cfg.value("prompt", "");
  out.max_body = cfg.value("max_request_body_size", 1048576LL);
  out.parse_instructions = cfg.value("parse_llm_response_json_instructions", false);
  if (const std::string pattern = cfg.value("transformation_extract_pattern", "");
      !pattern.empty()) {
    // Kong matches with "ijom": case-insensitive, multi-line.
    auto re = Regex::compile(pattern, RegexOptions{true, true});
    if (re)
      out.extract = std::move(*re);
    else
      errors.add(config::joinPath(path, "transformation_extract_pattern"),
                 "invalid regex \"" + pattern + "\": " + re.error());
  }
  for (const char* scheme : {"http", "https"}) {
    const std::string host = std::string(scheme) + "_proxy_host";
    const std::string port = std::string(scheme) + "_proxy_port";
    const bool has_host = cfg.contains(host) && !cfg[host].is_null();
    const bool has_port = cfg.contains(port) && !cfg[port].is_null();
    if (has_host != has_port)
      errors.add(path, "all or none of these fields must be set: 'config." + host + "', 'config." +
                           port + "'");
    else if (has_host)
      // Said plainly rather than ignored: a proxy is often the only way out of a network.
      errors.add(config::joinPath(path, host),
                 "aigw does not call the LLM through a forward proxy yet; remove " + host +
                     " and " + port);
  }
  const std::string llm_path = config::joinPath(path, "llm");
  const Json llm_cfg = cfg.value("llm", Json::object());
  LlmConfig llm = parseLlm(llm_cfg, llm_path, errors);
  if (llm_cfg.contains("route_type") && llm.route_type_name != "llm/v1/chat")
    errors.add(config::joinPath(llm_path, "route_type"),
               "'config.llm.route_type' must be 'llm/v1/chat' for AI transformer plugins");
  if (llm.target.model.empty() && llm_cfg.contains("model"))
    errors.add(config::joinPath(llm_path, "model.name"),
               "required for AI transformer plugins (the model the plugin calls)");
  const int timeout =
      static_cast<int>(std::min<long long>(cfg.value("http_timeout", 60000LL), 24LL * 3600 * 1000));
  out.llm = toLlmTarget(llm, timeout, cfg.value("https_verify", true));
  return out;
}

Json introspectionRequest(const std::string& prompt, std::string content) {
  return Json{{"messages", Json::array({Json{{"role", "system"}, {"content", prompt}},
                                        Json{{"role", "user"}, {"content", std::move(content)}}})},
              {"stream", false}};
}

Result<std::string, ApiError> extract(const std::optional<Regex>& pattern, std::string text) {
  if (!pattern) return text;
  const auto m = pattern->find(text);
  if (!m)
    return Result<std::string, ApiError>::failure(
        ApiError::badRequest("AI response did not match specified regular expression"));
  return std::string(*m);
}

Result<Instructions, std::string> parseInstructions(const std::string& text) {
  using R = Result<Instructions, std::string>;
  Json doc;
  std::string error;
  if (!json::parse(text, doc, &error)) return R::failure(error);
  if (!doc.is_object()) return R::failure("input not table or string");
  Instructions out;
  if (const auto s = doc.find("status"); s != doc.end() && !s->is_null()) {
    if (!s->is_number_integer() || s->get<long long>() < 100 || s->get<long long>() > 599)
      return R::failure("status must be an integer between 100 and 599");
    out.status = s->get<int>();
  }
  if (const auto h = doc.find("headers"); h != doc.end() && !h->is_null()) {
    if (!h->is_object()) return R::failure("headers must be an object");
    for (const auto& [name, value] : h->items()) {
      if (value.is_string())
        out.headers.emplace_back(name, value.get<std::string>());
      else if (value.is_number() || value.is_boolean())
        out.headers.emplace_back(name, json::dump(value));
      else
        return R::failure("header " + name + " must be a string");
    }
  }
  const auto b = doc.find("body");
  if (b == doc.end() || b->is_null())
    out.body = json::dump(doc);
  else
    out.body = b->is_string() ? b->get<std::string>() : json::dump(*b);
  return out;
}

void applyToReply(proxy::Reply& reply, std::string llm_text,
                  const std::optional<Instructions>& instructions) {
  for (const char* h : {"content-length", "content-encoding", "transfer-encoding"})
    reply.removeHeader(h);
  if (!instructions) {
    reply.body = std::move(llm_text);
    return;
  }
  reply.status = instructions->status;
  for (const auto& [name, value] : instructions->headers) reply.setHeader(name, value);
  reply.body = instructions->body;
}

}  // namespace aigw::plugins::transformer
