#include "plugins/llm_config.hpp"

#include <httplib.h>

#include "plugins/schema_fields.hpp"

namespace aigw::plugins {

namespace {

using Json = nlohmann::json;
using namespace fields;

std::optional<double> optNumber(const Json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::optional<long long> optInt(const Json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_number()) return std::nullopt;
  return it->get<long long>();
}

}  // namespace

std::vector<config::Field> llmFields() {
  auto auth =
      record({str("header_name"), secret("header_value"), str("param_name"), secret("param_value"),
              str("param_location", {"query", "body"}), boolean("allow_override", false),
              secret("aws_access_key_id"), secret("aws_secret_access_key"),
              boolean("gcp_use_service_account", false), secret("gcp_service_account_json"),
              boolean("azure_use_managed_identity", false), str("azure_client_id"),
              secret("azure_client_secret"), str("azure_tenant_id")});
  auto gemini = record({str("api_endpoint"), str("project_id"), str("location_id")});
  auto bedrock = record({str("aws_region"), str("aws_assume_role_arn"),
                         str("aws_role_session_name"), str("aws_sts_endpoint_url")});
  auto huggingface = record({boolean("use_cache", false), boolean("wait_for_model", false)});
  auto mock = record({str("reply"), number("latency_ms", FieldType::Integer, 0, 600000),
                      number("tokens_per_second", FieldType::Number, 0, 1e6)});
  auto options = record({number("max_tokens", FieldType::Integer, 1),
                         number("temperature", FieldType::Number, 0, 5),
                         number("top_p", FieldType::Number, 0, 1),
                         number("top_k", FieldType::Integer, 0, 500),
                         number("input_cost", FieldType::Number, 0),
                         number("output_cost", FieldType::Number, 0),
                         number("cache_read_cost", FieldType::Number, 0),
                         number("cache_write_cost", FieldType::Number, 0),
                         str("anthropic_version"),
                         str("azure_instance"),
                         str("azure_api_version", {}, "2023-05-15"),
                         str("azure_deployment_id"),
                         str("llama2_format", {"raw", "openai", "ollama"}),
                         str("mistral_format", {"openai", "ollama"}),
                         str("upstream_url"),
                         str("upstream_path"),
                         rec("gemini", gemini),
                         rec("bedrock", bedrock),
                         rec("huggingface", huggingface),
                         rec("mock", mock)});
  Field provider = required(str("provider", providers::providerNames()));
  provider.noun = "provider";
  auto model = record({provider, str("name"), rec("options", options)});
  auto logging = record({boolean("log_statistics", false), boolean("log_payloads", false)});
  Field route_type =
      required(str("route_type", {"llm/v1/chat", "llm/v1/completions", "llm/v1/embeddings",
                                  "llm/v1/responses", "preserve"}));
  return {route_type, rec("auth", auth), rec("model", model, true), rec("logging", logging)};
}

LlmConfig parseLlm(const Json& cfg, const std::string& path, config::ConfigErrors& errors) {
  LlmConfig out;
  using providers::RouteType;
  out.route_type_name = cfg.value("route_type", "llm/v1/chat");
  const std::string& rt = out.route_type_name;
  out.route_type = rt == "llm/v1/completions"  ? RouteType::Completions
                   : rt == "llm/v1/embeddings" ? RouteType::Embeddings
                   : rt == "preserve"          ? RouteType::Preserve
                                               : RouteType::Chat;  // chat and responses: the
                                                          // Responses API goes through
                                                          // the chat hub (ai-proxy)
  const Json auth = cfg.value("auth", Json::object());
  auto& a = out.auth;
  a.header_name = auth.value("header_name", "");
  a.header_value = auth.value("header_value", "");
  a.param_name = auth.value("param_name", "");
  a.param_value = auth.value("param_value", "");
  a.param_location = auth.value("param_location", "");
  a.allow_override = auth.value("allow_override", false);
  const std::string auth_path = config::joinPath(path, "auth");
  if (a.header_name.empty() != a.header_value.empty())
    errors.add(auth_path, "header_name and header_value must be set together");
  if ((a.param_name.empty() != a.param_value.empty()) ||
      (a.param_name.empty() != a.param_location.empty()))
    errors.add(auth_path, "param_name, param_value and param_location must be set together");

  const Json model = cfg.value("model", Json::object());
  const Json options = model.value("options", Json::object());
  auto& t = out.target;
  t.provider = model.value("provider", "");
  t.model = model.value("name", "");
  auto& o = t.options;
  o.max_tokens = optInt(options, "max_tokens");
  o.temperature = optNumber(options, "temperature");
  o.top_p = optNumber(options, "top_p");
  o.top_k = optInt(options, "top_k");
  o.input_cost = optNumber(options, "input_cost");
  o.output_cost = optNumber(options, "output_cost");
  o.cache_read_cost = optNumber(options, "cache_read_cost");
  o.cache_write_cost = optNumber(options, "cache_write_cost");
  o.anthropic_version = options.value("anthropic_version", "");
  o.azure_instance = options.value("azure_instance", "");
  o.azure_deployment_id = options.value("azure_deployment_id", "");
  o.azure_api_version = options.value("azure_api_version", "");
  o.llama2_format = options.value("llama2_format", "");
  o.mistral_format = options.value("mistral_format", "");
  o.upstream_url = options.value("upstream_url", "");
  o.upstream_path = options.value("upstream_path", "");
  t.cloud_auth.aws_access_key_id = auth.value("aws_access_key_id", "");
  t.cloud_auth.aws_secret_access_key = auth.value("aws_secret_access_key", "");
  t.cloud_auth.gcp_use_service_account = auth.value("gcp_use_service_account", false);
  t.cloud_auth.gcp_service_account_json = auth.value("gcp_service_account_json", "");
  for (const char* block : {"gemini", "bedrock", "huggingface", "mock"})
    if (options.contains(block)) o.blocks[block] = options[block];

  const std::string options_path = config::joinPath(path, "model.options");
  if (!o.upstream_url.empty()) {
    http::ParsedUrl parsed;
    if (!http::parseUrl(o.upstream_url, parsed))
      errors.add(config::joinPath(options_path, "upstream_url"),
                 "must be an absolute http:// or https:// URL");
  }
  if (t.provider == "llama2") {
    if (o.llama2_format.empty())
      errors.add(config::joinPath(options_path, "llama2_format"), "required for provider llama2");
    if (o.upstream_url.empty())
      errors.add(config::joinPath(options_path, "upstream_url"),
                 "must set 'model.options.upstream_url' for self-hosted providers/models");
  }
  if (t.provider == "mistral" && o.mistral_format.empty())
    errors.add(config::joinPath(options_path, "mistral_format"), "required for provider mistral");

  out.provider = providers::resolveProvider(t.provider, o);
  if (out.provider) {
    if (out.route_type != RouteType::Preserve && !out.provider->supports(out.route_type))
      errors.add(config::joinPath(path, "route_type"),
                 "provider " + t.provider + " does not support " + rt);
    std::vector<std::pair<std::string, std::string>> problems;
    out.provider->checkTarget(t, out.route_type, problems);
    for (auto& [field, msg] : problems) errors.add(config::joinPath(path, field), msg);
  }
  return out;
}

proxy::LlmTarget toLlmTarget(const LlmConfig& llm, int timeout_ms, bool verify_tls) {
  proxy::LlmTarget t;
  t.provider = llm.provider;
  t.target = llm.target;
  const auto& a = llm.auth;
  if (!a.header_name.empty()) t.auth_headers.push_back({a.header_name, a.header_value});
  if (!a.param_name.empty() && a.param_location == "query")
    t.query_auth = a.param_name + "=" + http::percentEncode(a.param_value);
  if (!a.param_name.empty() && a.param_location == "body") {
    t.body_auth_name = a.param_name;
    t.body_auth_value = a.param_value;
  }
  // Kong's http_timeout bounds the whole call; connecting gets the smaller of it and 10 s.
  t.timeouts.connect_ms = std::min(timeout_ms, 10000);
  t.timeouts.first_byte_ms = timeout_ms;
  t.timeouts.idle_ms = timeout_ms;
  t.timeouts.total_ms = timeout_ms;
  t.verify_tls = verify_tls;
  return t;
}

}  // namespace aigw::plugins
