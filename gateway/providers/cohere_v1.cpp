// Cohere's v1 API, the one Kong's driver speaks, used when model.options.upstream_url points at
// it (/v1/chat, /v1/generate, /v1/embed); the v2 API (cohere.cpp) is the default.
//   chat:     https://docs.cohere.com/v1/reference/chat
//   stream:   https://docs.cohere.com/v1/reference/chat-stream (NDJSON lines with event_type)
//   generate: https://docs.cohere.com/v1/reference/generate
//   embed:    https://docs.cohere.com/v1/reference/embed
// Unlike Kong, system messages become the preamble (Kong sends them as USER turns), finish
// reasons are mapped and usage is read from the stream's last line. v1 tool use has its own
// schema (parameter_definitions, tool_results); requests with tools get a 400 pointing to v2.
#include "core/json.hpp"
#include "providers/builtin.hpp"
#include "providers/cohere.hpp"
#include "providers/common.hpp"
#include "providers/json_fields.hpp"

namespace aigw::providers::cohere {

namespace {

using Json = nlohmann::json;
using wire::field;
using wire::str;
template <typename T>
using ApiResult = Result<T, ApiError>;

constexpr const char* kName = "cohere";

template <typename T>
ApiResult<T> bad(std::string message, std::string param) {
  return ApiResult<T>::failure(ApiError::badRequest(std::move(message), std::move(param)));
}

// The text of an OpenAI message for v1, which takes plain strings only.
ApiResult<std::string> v1Text(const Json& content, const std::string& path) {
  if (content.is_string()) return content.get<std::string>();
  if (content.is_null()) return std::string();
  if (!content.is_array())
    return bad<std::string>("message content must be a string or an array of parts", path);
  for (std::size_t i = 0; i < content.size(); ++i) {
    const std::string type = str(content[i], "type");
    if (type != "text")
      return bad<std::string>(
          "content part type '" + type + "' is not supported by the cohere v1 API",
          path + "[" + std::to_string(i) + "].type");
  }
  return contentText(content);
}

// OpenAI messages -> v1 preamble + chat_history + message (the last turn, from the user).
std::optional<ApiError> addChat(const Json& messages, Json& body) {
  if (!messages.is_array() || messages.empty())
    return ApiError::badRequest("request body doesn't contain valid prompts", "messages");
  std::string preamble;
  Json history = Json::array();
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const Json& m = messages[i];
    const std::string path = "messages[" + std::to_string(i) + "]";
    const std::string role = str(m, "role");
    if (!field(m, "tool_calls").is_null() || role == "tool")
      return ApiError::badRequest("tool calls need Cohere's v2 API; point upstream_url at /v2/chat",
                                  path);
    auto text = v1Text(field(m, "content"), path + ".content");
    if (!text) return text.error();
    if (role == "system" || role == "developer") {
      if (!preamble.empty() && !text->empty()) preamble += "\n\n";
      preamble += *text;
    } else if (role == "user" || role == "assistant") {
      history.push_back(
          {{"role", role == "user" ? "USER" : "CHATBOT"}, {"message", std::move(*text)}});
    } else {
      return ApiError::badRequest("message role '" + role + "' is not supported by cohere",
                                  path + ".role");
    }
  }
  if (history.empty() || history.back()["role"] != "USER")
    return ApiError::badRequest("the cohere v1 API needs the last message to be from the user",
                                "messages");
  body["message"] = std::move(history.back()["message"]);
  history.erase(history.size() - 1);
  if (!history.empty()) body["chat_history"] = std::move(history);
  if (!preamble.empty()) body["preamble"] = std::move(preamble);
  return std::nullopt;
}

// https://docs.cohere.com/v1/docs/structured-outputs-json: {"type":"json_object","schema":{...}}
std::optional<ApiError> addFormat(const Json& in, Json& body) {
  if (!field(in, "tools").is_null() && !field(in, "tools").empty())
    return ApiError::badRequest("tools need Cohere's v2 API; point upstream_url at /v2/chat",
                                "tools");
  const Json& rf = field(in, "response_format");
  const std::string type = str(rf, "type");
  if (rf.is_null() || type == "text") return std::nullopt;
  if (type == "json_object") {
    body["response_format"] = {{"type", "json_object"}};
  } else if (const Json& schema = field(field(rf, "json_schema"), "schema");
             type == "json_schema" && schema.is_object()) {
    body["response_format"] = {{"type", "json_object"}, {"schema", schema}};
  } else {
    return ApiError::badRequest("response_format type '" + type + "' is not supported by cohere",
                                "response_format.type");
  }
  return std::nullopt;
}

// v1 reports usage in meta.billed_units (what Cohere charges, what Kong reports), also in
// meta.tokens (with the prompt template) and, in older answers, token_count; billed_units
// wins, then the others, field by field.
Usage v1Usage(const Json& response) {
  const Json& meta = field(response, "meta");
  const Json& tokens = field(meta, "tokens");
  const Json& count = field(response, "token_count");
  const Json& billed = field(meta, "billed_units");
  Usage u;
  u.prompt_tokens =
      wire::integer(billed, "input_tokens",
                    wire::integer(tokens, "input_tokens", wire::integer(count, "prompt_tokens")));
  u.completion_tokens = wire::integer(
      billed, "output_tokens",
      wire::integer(tokens, "output_tokens", wire::integer(count, "response_tokens")));
  return u;
}

// NDJSON lines: stream-start (generation_id), text-generation (text), stream-end
// (is_finished, finish_reason, response with meta). /v1/generate streams {"text",
// "is_finished"} lines ending in one with is_finished true.
class V1StreamDecoder : public StreamDecoder {
 public:
  V1StreamDecoder(RouteType type, std::string model)
      : completions_(type == RouteType::Completions),
        id_(newCompletionId(completions_ ? "cmpl-" : "chatcmpl-")),
        created_(unixNow()),
        model_(std::move(model)) {}

  Status onEvent(std::string_view, std::string_view data, ChunkSink& out) override {
    if (done_) return {};
    Json ev;
    if (!json::parse(data, ev) || !ev.is_object())
      return Status::error("upstream cohere sent a stream line that is not a JSON object");
    const std::string type = str(ev, "event_type");
    if (type == "stream-start") {
      if (const std::string id = str(ev, "generation_id"); !id.empty()) id_ = id;
      if (!completions_) emit({{"role", "assistant"}, {"content", ""}}, "", out);
      return {};
    }
    const Json& finished = field(ev, "is_finished");
    if (type == "stream-end" || (finished.is_boolean() && finished.get<bool>())) {
      done_ = true;
      const std::string reason = str(ev, "finish_reason");
      if (reason == "ERROR")
        return Status::error("upstream error mid-stream: cohere finished with ERROR");
      usage_ = v1Usage(field(ev, "response"));
      Json chunk = base();
      Json choice = {{"index", 0}, {"finish_reason", finishReason(reason)}};
      if (completions_)
        choice["text"] = "";
      else
        choice["delta"] = Json::object();
      chunk["choices"].push_back(std::move(choice));
      chunk["usage"] = usageJson(usage_);
      out.emit(json::dump(chunk));
      return {};
    }
    if (type == "text-generation" || (type.empty() && ev.contains("text"))) {
      if (const std::string text = str(ev, "text"); !text.empty())
        emit({{"content", text}}, text, out);
    }
    return {};  // search-queries-generation, citation-generation, ...: nothing to carry over
  }

  Status onEnd(ChunkSink&) override {
    if (!done_)
      return Status::error(
          "upstream cohere stream ended before stream-end; the answer is incomplete");
    return {};
  }

 private:
  Json base() const {
    Json chunk = makeChunk(id_, created_, model_);
    if (completions_) chunk["object"] = "text_completion";
    return chunk;
  }

  void emit(Json delta, const std::string& text, ChunkSink& out) {
    if (completions_ && text.empty()) return;
    Json chunk = base();
    Json choice = {{"index", 0}, {"finish_reason", nullptr}};
    if (completions_)
      choice["text"] = text;
    else
      choice["delta"] = std::move(delta);
    chunk["choices"].push_back(std::move(choice));
    out.emit(json::dump(chunk));
  }

  bool completions_;
  std::string id_;
  long long created_;
  std::string model_;
  bool done_ = false;
};

class CohereV1Provider : public Provider {
 public:
  std::string_view name() const override { return kName; }
  Framing framing(const Target&) const override { return Framing::NdJson; }
  bool supports(RouteType) const override { return true; }

  ApiResult<http::UpstreamRequest> buildRequest(const ProxyCall& call,
                                                const Target& target) const override {
    using R = ApiResult<http::UpstreamRequest>;
    const Json& in = *call.body;
    http::UpstreamRequest req;
    req.url = resolveUrl(target, target.options.upstream_url, call);
    req.headers = jsonRequestHeaders(call.stream);
    if (call.route_type == RouteType::Preserve) {
      preserveRequest(req, call);
      return req;
    }
    if (call.route_type == RouteType::Embeddings) {
      auto body = embedBody(in, call.model);
      if (!body) return R::failure(body.error());
      body->erase("output_dimension");  // v2 only
      req.body = serializeBody(*body, call);
      return req;
    }
    if (auto e = checkUnsupported(in)) return R::failure(std::move(*e));
    Json body = {{"model", call.model}, {"stream", call.stream}};
    if (call.route_type == RouteType::Completions) {
      auto prompt = singlePrompt(in);
      if (!prompt) return R::failure(prompt.error());
      body["prompt"] = std::move(*prompt);
    } else if (auto e = addChat(field(in, "messages"), body)) {
      return R::failure(std::move(*e));
    }
    if (auto e = addSamplingParams(in, target.options, body)) return R::failure(std::move(*e));
    if (auto e = addFormat(in, body)) return R::failure(std::move(*e));
    req.body = serializeBody(body, call);
    return req;
  }

  ApiResult<ProviderReply> parseResponse(const ProxyCall& call, std::string& raw,
                                         const Target&) const override {
    using R = ApiResult<ProviderReply>;
    ProviderReply reply;
    if (call.route_type == RouteType::Preserve) {
      reply.body = std::move(raw);
      return reply;
    }
    auto parsed = parseUpstreamJson(raw, kName);
    if (!parsed) return R::failure(parsed.error());
    const Json& body = *parsed;
    if (call.route_type == RouteType::Embeddings) {
      auto out = embeddingsReply(body, call, reply.usage);
      if (!out) return R::failure(out.error());
      reply.body = json::dump(*out);
      return reply;
    }
    reply.usage = v1Usage(body);
    Json choice = {{"index", 0}, {"logprobs", nullptr}};
    Json out = {{"created", unixNow()}, {"model", call.model}};
    std::string id;
    if (call.route_type == RouteType::Completions) {
      const Json& generations = field(body, "generations");
      if (!generations.is_array() || generations.empty())
        return R::failure(
            ApiError::badGateway("upstream cohere returned a response without 'generations'"));
      id = str(body, "id");
      out["object"] = "text_completion";
      choice["text"] = str(generations[0], "text");
      choice["finish_reason"] = finishReason(str(generations[0], "finish_reason"));
    } else {
      if (!field(body, "text").is_string())
        return R::failure(
            ApiError::badGateway("upstream cohere returned a response without 'text'"));
      id = str(body, "generation_id");
      if (id.empty()) id = str(body, "response_id");
      out["object"] = "chat.completion";
      choice["message"] = {{"role", "assistant"}, {"content", str(body, "text")}};
      choice["finish_reason"] = finishReason(str(body, "finish_reason"));
    }
    out["id"] =
        id.empty()
            ? newCompletionId(call.route_type == RouteType::Completions ? "cmpl-" : "chatcmpl-")
            : id;
    out["choices"] = Json::array({std::move(choice)});
    out["usage"] = usageJson(reply.usage);
    reply.body = json::dump(out);
    return reply;
  }

  std::unique_ptr<StreamDecoder> newStreamDecoder(const ProxyCall& call,
                                                  const Target&) const override {
    return std::make_unique<V1StreamDecoder>(call.route_type, call.model);
  }
};

}  // namespace

bool isV1Url(std::string_view url) {
  for (std::string_view path : {"/v1/chat", "/v1/generate", "/v1/embed"})
    if (url.find(path) != std::string_view::npos) return true;
  return false;
}

const Provider& v1Provider() {
  static const CohereV1Provider provider;
  return provider;
}

}  // namespace aigw::providers::cohere
