// ai-proxy (Kong priority 770): checks an OpenAI-shaped request, applies the model rules,
// translates it for the configured provider and prepares the upstream call with the
// credential. The core then performs the exchange and translates the answer back.
// Config reference: Kong's ai-proxy schema (see README "Configuration").
#include <algorithm>

#include "core/json.hpp"
#include "formats/anthropic.hpp"
#include "formats/format.hpp"
#include "formats/models.hpp"
#include "formats/path_formats.hpp"
#include "plugins/builtin.hpp"
#include "plugins/llm_config.hpp"
#include "plugins/schema_fields.hpp"
#include "proxy/request_context.hpp"

namespace aigw::plugins {

namespace {

using config::Field;
using config::FieldType;
using config::Schema;
using Json = nlohmann::json;
using providers::RouteType;

const Schema& aiProxySchema() {
  static const Schema schema = [] {
    using namespace fields;
    // aigw extension: per-route upstream timeouts (Kong takes them from the service).
    auto timeouts = record({number("connect_ms", FieldType::Integer, 1),
                            number("first_byte_ms", FieldType::Integer, 1),
                            number("idle_ms", FieldType::Integer, 1),
                            number("total_ms", FieldType::Integer, 1)});
    Field max_body = number("max_request_body_size", FieldType::Integer, 0);
    max_body.default_value = 1048576;
    std::vector<Field> all = llmFields();
    for (Field f :
         {str("response_streaming", {"allow", "deny", "always"}, "allow"),
          boolean("model_name_header", true), max_body,
          str("llm_format", {"openai", "anthropic", "gemini", "bedrock", "cohere"}, "openai"),
          rec("timeouts", timeouts)})
      all.push_back(std::move(f));
    return Schema{std::move(all)};
  }();
  return schema;
}

enum class Streaming { Allow, Deny, Always };

// What a client format contributes to the call.
struct ClientCall {
  providers::NativeApi native = providers::NativeApi::None;
  std::string_view native_op;
  std::shared_ptr<const Json> original;  // the client's body, when translated to the hub
  std::string model;                     // the model the client named
  bool path_stream = false;              // Gemini, Bedrock: the path's operation streams
};

class AiProxy : public Plugin {
 public:
  RouteType route_type = RouteType::Chat;
  // The client's API: OpenAI chat (also for completions, embeddings and preserve), Anthropic
  // Messages (llm_format anthropic) or the Responses API (route_type llm/v1/responses).
  const formats::ClientFormat* format = &formats::openaiChat();
  // Claude Code names its own models on every call: with a configured model the configured one
  // is used and the client's is echoed back, instead of Kong's "cannot use own model".
  bool client_model_free = false;
  LlmAuth auth;
  providers::Target target;
  const providers::Provider* provider = nullptr;
  Streaming streaming = Streaming::Allow;
  bool model_name_header = true;
  long long max_body = 1048576;
  std::optional<int> connect_ms, first_byte_ms, idle_ms, total_ms;

  Verdict onAccess(proxy::RequestContext& ctx) const override;
  std::size_t maxRequestBody() const override {
    return max_body > 0 ? static_cast<std::size_t>(max_body) : 0;
  }
  std::vector<RoutableModel> routableModels() const override {
    if (target.model.empty()) return {};
    return {{target.model, target.provider}};
  }
  std::vector<std::string> llmProviders() const override { return {target.provider}; }

 private:
  Verdict fail(proxy::RequestContext& ctx, ApiError e) const {
    ctx.error = std::move(e);
    return Verdict::Respond;
  }
  std::optional<ApiError> checkShape(const Json& body) const;
  // A client format other than OpenAI chat: the body becomes a hub body, or the call a native
  // pass-through; may answer itself (count_tokens without an upstream endpoint).
  std::optional<Verdict> enterFormat(proxy::RequestContext& ctx, ClientCall& client) const;
};

// The types of OpenAI's common fields, checked once here so no provider meets a string where a
// number belongs (https://platform.openai.com/docs/api-reference/chat/create).
std::optional<ApiError> checkCommonTypes(const Json& body) {
  for (const char* key : {"max_tokens", "max_completion_tokens", "n", "temperature", "top_p",
                          "top_k", "seed", "presence_penalty", "frequency_penalty"}) {
    const auto it = body.find(key);
    if (it != body.end() && !it->is_null() && !it->is_number())
      return ApiError::badRequest(std::string(key) + " must be a number", key);
  }
  if (const auto so = body.find("stream_options"); so != body.end() && !so->is_null()) {
    if (!so->is_object())
      return ApiError::badRequest("stream_options must be an object", "stream_options");
    if (const auto iu = so->find("include_usage");
        iu != so->end() && !iu->is_null() && !iu->is_boolean())
      return ApiError::badRequest("include_usage must be a boolean",
                                  "stream_options.include_usage");
  }
  if (const auto stop = body.find("stop"); stop != body.end() && !stop->is_null()) {
    bool ok = stop->is_string() || stop->is_array();
    if (stop->is_array())
      for (const auto& s : *stop) ok = ok && s.is_string();
    if (!ok) return ApiError::badRequest("stop must be a string or an array of strings", "stop");
  }
  for (const char* key : {"tools", "response_format", "tool_choice"}) {
    const auto it = body.find(key);
    if (it == body.end() || it->is_null()) continue;
    if (std::string(key) == "tools" && !it->is_array())
      return ApiError::badRequest("tools must be an array", key);
    if (std::string(key) == "response_format" && !it->is_object())
      return ApiError::badRequest("response_format must be an object", key);
    if (std::string(key) == "tool_choice" && !it->is_string() && !it->is_object())
      return ApiError::badRequest("tool_choice must be a string or an object", key);
  }
  return std::nullopt;
}

std::optional<ApiError> AiProxy::checkShape(const Json& body) const {
  if (auto e = checkCommonTypes(body)) return e;
  const bool has_messages = body.contains("messages");
  const bool has_prompt = body.contains("prompt");
  if (route_type == RouteType::Embeddings) {
    if (!body.contains("input") || body["input"].is_null())
      return ApiError::badRequest("request body doesn't contain valid input for embeddings",
                                  "input");
    return std::nullopt;
  }
  if (has_messages && has_prompt)
    return ApiError::badRequest("request matches multiple LLM request formats");
  if (route_type == RouteType::Chat) {
    if (has_prompt && !has_messages)
      return ApiError::badRequest(
          "[llm/v1/completions] message format is not compatible with [llm/v1/chat] route type");
    const auto it = body.find("messages");
    if (it == body.end() || !it->is_array() || it->empty())
      return ApiError::badRequest("request body doesn't contain valid prompts", "messages");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const auto& m = (*it)[i];
      const std::string path = "messages[" + std::to_string(i) + "]";
      if (!m.is_object()) return ApiError::badRequest("each message must be an object", path);
      if (!m.contains("role") || !m["role"].is_string())
        return ApiError::badRequest("message is missing a string 'role'", path + ".role");
      if (m.contains("content") &&
          !(m["content"].is_string() || m["content"].is_array() || m["content"].is_null()))
        return ApiError::badRequest("message content must be a string or an array of parts",
                                    path + ".content");
      if (m.contains("content") && m["content"].is_array()) {
        const auto& parts = m["content"];
        for (std::size_t j = 0; j < parts.size(); ++j) {
          const std::string part_path = path + ".content[" + std::to_string(j) + "]";
          if (!parts[j].is_object() || !parts[j].contains("type") || !parts[j]["type"].is_string())
            return ApiError::badRequest("each content part must be an object with a string 'type'",
                                        part_path + ".type");
          const std::string& type = parts[j]["type"].get_ref<const std::string&>();
          if (type == "text" && !(parts[j].contains("text") && parts[j]["text"].is_string()))
            return ApiError::badRequest("a text part needs a string 'text'", part_path + ".text");
          if (type == "image_url") {
            const auto& iu = parts[j].contains("image_url") ? parts[j]["image_url"] : Json();
            const bool ok =
                iu.is_string() || (iu.is_object() && iu.contains("url") && iu["url"].is_string());
            if (!ok)
              return ApiError::badRequest("an image_url part needs image_url.url as a string",
                                          part_path + ".image_url.url");
          }
        }
      }
    }
  } else {
    if (has_messages && !has_prompt)
      return ApiError::badRequest(
          "[llm/v1/chat] message format is not compatible with [llm/v1/completions] route type");
    const auto it = body.find("prompt");
    if (it == body.end() || !(it->is_string() || it->is_array()))
      return ApiError::badRequest("request body doesn't contain valid prompts", "prompt");
  }
  return std::nullopt;
}

std::optional<Verdict> AiProxy::enterFormat(proxy::RequestContext& ctx, ClientCall& client) const {
  // Another target of ai-proxy-advanced: it starts over from the client's own request, not
  // from the hub body the previous target made of it.
  if (ctx.client_body) ctx.body = *ctx.client_body;
  const auto m = ctx.body.find("model");
  if (m != ctx.body.end() && m->is_string()) client.model = m->get<std::string>();
  if (format->modelInPath()) {
    // Gemini and Bedrock name the model and the operation in the path.
    auto call = format->pathCall(ctx.request.path);
    if (!call)
      return fail(ctx, ApiError::badRequest(
                           format->api() == providers::NativeApi::Gemini
                               ? "expected POST .../models/{model}:generateContent, "
                                 ":streamGenerateContent or :countTokens (the Gemini API)"
                               : "expected POST .../model/{modelId}/converse or /converse-stream "
                                 "(Bedrock's Converse API)"));
    client.model = call->model;
    client.native_op = call->operation;  // a literal: outlives the request
    client.path_stream = call->stream;
  }
  const bool count_tokens =
      format->api() == providers::NativeApi::Anthropic && ctx.request.path.size() >= 13 &&
      ctx.request.path.compare(ctx.request.path.size() - 13, 13, "/count_tokens") == 0;
  if (provider->speaks(format->api())) {
    client.native = format->api();
    if (client.native_op.empty()) client.native_op = count_tokens ? "count_tokens" : format->name();
    return std::nullopt;
  }
  if (count_tokens) {
    // No count endpoint outside Anthropic's API: estimated here, never a paid call.
    ctx.reply = proxy::Reply{
        200,
        {{"Content-Type", "application/json"}},
        json::dump({{"input_tokens", formats::anthropic::estimateInputTokens(ctx.body)}})};
    return Verdict::Respond;
  }
  auto hub = format->toHub(ctx.body);
  if (!hub) return fail(ctx, hub.error());
  if (!ctx.client_body) ctx.client_body = std::make_shared<const Json>(std::move(ctx.body));
  client.original = ctx.client_body;
  ctx.body = std::move(*hub);
  return std::nullopt;
}

Verdict AiProxy::onAccess(proxy::RequestContext& ctx) const {
  ctx.client_format = format;
  const auto& req = ctx.request;
  // GET <route>/models: the model list SDKs and chat UIs ask for first (this route's model, in
  // the client API's shape). A preserve route passes the GET on to the provider instead.
  if ((req.method == "GET" || req.method == "HEAD") && route_type != RouteType::Preserve) {
    if (auto id = formats::modelsPath(req.path)) {
      const auto answer = formats::modelsAnswer(routableModels(), *id, format->name());
      ctx.reply = proxy::Reply{answer.status, {{"Content-Type", "application/json"}}, answer.body};
      return Verdict::Respond;
    }
  }
  if (max_body > 0 && static_cast<long long>(ctx.rawBody().size()) > max_body) {
    return fail(ctx,
                ApiError::payloadTooLarge("request body is larger than max_request_body_size (" +
                                          std::to_string(max_body) + " bytes)"));
  }
  const bool preserve = route_type == RouteType::Preserve;
  if (!ctx.ensureBody()) {
    if (!preserve)
      return fail(ctx, ApiError::badRequest("request body is not valid JSON: " + ctx.body_error));
    ctx.body = Json::object();
  }
  if (!ctx.body.is_object())
    return fail(ctx, ApiError::badRequest("request body must be a JSON object"));
  ClientCall client;
  if (format != &formats::openaiChat())
    if (auto v = enterFormat(ctx, client)) return *v;
  const bool native = client.native != providers::NativeApi::None;
  if (!preserve && !native)
    if (auto e = checkShape(ctx.body)) return fail(ctx, std::move(*e));

  // Model rules (Kong): a configured name is the only one allowed; otherwise the request's.
  std::string model;
  const auto m = ctx.body.find("model");
  const bool has_model =
      m != ctx.body.end() && m->is_string() && !m->get_ref<const std::string&>().empty();
  if (m != ctx.body.end() && !m->is_null() && !m->is_string())
    return fail(ctx, ApiError::badRequest("model must be a string", "model"));
  if (!target.model.empty()) {
    if (has_model && m->get_ref<const std::string&>() != target.model && !client_model_free)
      return fail(ctx,
                  ApiError::badRequest("cannot use own model - must be: " + target.model, "model"));
    model = target.model;
  } else if (has_model) {
    model = m->get<std::string>();
  } else if (format->modelInPath() && native) {
    model = client.model;  // from the path
  } else if (!preserve && !(native && client.native_op == "count_tokens")) {
    return fail(ctx,
                ApiError::badRequest(
                    "model parameter not found in request, nor in gateway configuration", "model"));
  }

  bool stream = false;
  if (const auto s = ctx.body.find("stream"); s != ctx.body.end() && !s->is_null()) {
    if (!s->is_boolean())
      return fail(ctx, ApiError::badRequest("stream must be a boolean", "stream"));
    stream = s->get<bool>();
  }
  const bool path_op = native && format->modelInPath();
  if (path_op) stream = client.path_stream;  // the operation decides
  if (stream && streaming == Streaming::Deny)
    return fail(ctx,
                ApiError::badRequest("response streaming is not enabled for this LLM", "stream"));
  if (streaming == Streaming::Always && route_type != RouteType::Embeddings && !preserve &&
      !path_op)
    stream = true;
  if (route_type == RouteType::Embeddings && stream)
    return fail(ctx, ApiError::badRequest("embeddings cannot be streamed", "stream"));
  if (client.native_op == "count_tokens") stream = false;

  proxy::AiCall ai;
  ai.provider = provider;
  ai.target = &target;
  ai.provider_name = target.provider;
  ai.model_name_header = model_name_header;
  auto& call = ai.call;
  call.route_type = route_type;
  call.stream = stream;
  call.model = model;
  call.body = &ctx.body;
  call.client_path = req.path;
  call.client_query = ctx.clientQuery();  // without the client's gateway key
  if (const auto so = ctx.body.find("stream_options"); so != ctx.body.end() && so->is_object())
    call.client_wants_usage = so->value("include_usage", false);
  ai.format = format;
  ai.client_model = client.model.empty() ? model : client.model;
  ai.client_body = std::move(client.original);
  if (native || preserve) {
    ai.relay = true;
    call.native = client.native;
    call.native_op = client.native_op;
    // The body as the client sent it, or as a plugin before this one rewrote it.
    if (ctx.body_edited) {
      ai.raw_body = std::make_shared<const std::string>(json::dump(ctx.body));
      call.raw_body = *ai.raw_body;
    } else {
      call.raw_body = ctx.rawBody();
    }
    call.client_method = req.method;
    if (const std::string* ct = http::findHeader(req.headers, "content-type"))
      call.client_content_type = *ct;
    if (const std::string* accept = http::findHeader(req.headers, "accept"))
      call.client_accept = *accept;
  } else if (format == &formats::openaiChat() && !ctx.body_edited) {
    // The body is the client's OpenAI text as parsed: an OpenAI-compatible upstream gets it
    // with byte splices instead of a re-serialised copy.
    call.raw_body = ctx.rawBody();
  }
  if (auth.param_location == "body" && !auth.param_name.empty() &&
      !(auth.allow_override && ctx.body.contains(auth.param_name))) {
    call.body_auth_name = auth.param_name;
    call.body_auth_value = auth.param_value;
  }

  ai.auth = &auth;
  for (const std::string* secret : {&auth.header_value, &auth.param_value})
    if (!secret->empty()) ai.secrets.push_back(*secret);
  if (connect_ms) ai.timeouts.connect_ms = *connect_ms;
  if (first_byte_ms) ai.timeouts.first_byte_ms = *first_byte_ms;
  if (idle_ms) ai.timeouts.idle_ms = *idle_ms;
  if (total_ms) ai.timeouts.total_ms = *total_ms;
  ctx.ai = std::move(ai);
  return Verdict::Continue;
}

std::optional<long long> optInt(const Json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_number()) return std::nullopt;
  return it->get<long long>();
}

std::shared_ptr<const Plugin> createAiProxy(const Json& cfg, const std::string& path,
                                            config::ConfigErrors& errors) {
  auto p = std::make_shared<AiProxy>();
  LlmConfig llm = parseLlm(cfg, path, errors);
  p->route_type = llm.route_type;
  const std::string llm_format = cfg.value("llm_format", "openai");
  if (llm_format == "anthropic") {
    p->format = &formats::anthropicMessages();
    p->client_model_free = true;
    if (llm.route_type_name != "llm/v1/chat")
      errors.add(config::joinPath(path, "route_type"),
                 "llm_format anthropic needs route_type llm/v1/chat");
  }
  if (llm_format == "gemini" || llm_format == "bedrock" || llm_format == "cohere") {
    // Passed through to their own provider only: Kong's adapters also translate them for other
    // providers, which aigw does not do yet.
    p->format = llm_format == "gemini"    ? &formats::geminiGenerate()
                : llm_format == "bedrock" ? &formats::bedrockConverse()
                                          : &formats::cohereChat();
    // Gemini and Bedrock name the model in the path: a configured one replaces it. Cohere's is
    // in the body, under Kong's rule (a configured model is the only one allowed).
    p->client_model_free = llm_format != "cohere";
    if (llm.route_type_name != "llm/v1/chat")
      errors.add(config::joinPath(path, "route_type"),
                 "llm_format " + llm_format + " needs route_type llm/v1/chat");
    if (llm.target.provider != llm_format)
      errors.add(config::joinPath(path, "llm_format"),
                 "llm_format " + llm_format + " is passed through to the " + llm_format +
                     " provider only; its API is not translated for other providers");
  }
  if (llm.route_type_name == "llm/v1/responses") {
    p->format = &formats::openaiResponses();
    if (llm_format != "openai")
      errors.add(config::joinPath(path, "llm_format"),
                 "route_type llm/v1/responses takes the OpenAI Responses API (llm_format openai)");
  }
  p->auth = std::move(llm.auth);
  p->target = std::move(llm.target);
  p->provider = llm.provider;
  const std::string streaming = cfg.value("response_streaming", "allow");
  p->streaming = streaming == "deny"     ? Streaming::Deny
                 : streaming == "always" ? Streaming::Always
                                         : Streaming::Allow;
  p->model_name_header = cfg.value("model_name_header", true);
  p->max_body = cfg.value("max_request_body_size", 1048576LL);
  const Json timeouts = cfg.value("timeouts", Json::object());
  auto ms = [&](const char* key) -> std::optional<int> {
    auto v = optInt(timeouts, key);
    return v ? std::optional<int>(static_cast<int>(*v)) : std::nullopt;
  };
  p->connect_ms = ms("connect_ms");
  p->first_byte_ms = ms("first_byte_ms");
  p->idle_ms = ms("idle_ms");
  p->total_ms = ms("total_ms");
  return p;
}

}  // namespace

const PluginSpec& aiProxySpec() {
  static const PluginSpec spec{"ai-proxy", 770, aiProxySchema, createAiProxy};
  return spec;
}

}  // namespace aigw::plugins
