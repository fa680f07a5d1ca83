// Ollama's native API: https://github.com/ollama/ollama/blob/main/docs/api.md
// /api/chat and /api/generate answer NDJSON when streaming; /api/embed for embeddings.
// Used by provider "ollama", and by llama2 / mistral with format "ollama".
#include "core/json.hpp"
#include "providers/builtin.hpp"
#include "providers/common.hpp"

namespace aigw::providers::builtin {

namespace {

using Json = nlohmann::json;

Result<Json, ApiError> toOllamaMessages(const Json& messages, std::string_view provider) {
  Json out = Json::array();
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    const std::string path = "messages[" + std::to_string(i) + "]";
    if (!m.is_object())
      return Result<Json, ApiError>::failure(ApiError::badRequest("expected an object", path));
    Json msg = {{"role", m.value("role", "user")}};
    const Json content = m.value("content", Json());
    if (content.is_array()) {
      Json images = Json::array();
      for (std::size_t j = 0; j < content.size(); ++j) {
        const auto& part = content[j];
        const std::string type = part.is_object() ? part.value("type", "") : "";
        const std::string part_path = path + ".content[" + std::to_string(j) + "]";
        if (type == "image_url") {
          const Json iu = part.value("image_url", Json::object());
          std::string url =
              iu.is_object() ? iu.value("url", "") : (iu.is_string() ? iu.get<std::string>() : "");
          auto marker = url.find(";base64,");
          if (url.rfind("data:", 0) != 0 || marker == std::string::npos) {
            return Result<Json, ApiError>::failure(ApiError::badRequest(
                std::string(provider) + " accepts only base64 data: URLs for images",
                part_path + ".image_url.url"));
          }
          images.push_back(url.substr(marker + 8));
        } else if (type != "text") {
          return Result<Json, ApiError>::failure(ApiError::badRequest(
              "content part type '" + type + "' is not supported by " + std::string(provider),
              part_path + ".type"));
        }
      }
      msg["content"] = contentText(content);
      if (!images.empty()) msg["images"] = std::move(images);
    } else {
      msg["content"] = content.is_string() ? content : Json("");
    }
    if (m.contains("tool_calls") && m["tool_calls"].is_array()) {
      Json calls = Json::array();
      for (const auto& tc : m["tool_calls"]) {
        const Json fn = tc.is_object() ? tc.value("function", Json::object()) : Json::object();
        Json args = Json::object();
        if (fn.contains("arguments") && fn["arguments"].is_string()) {
          Json parsed;
          if (json::parse(fn["arguments"].get<std::string>(), parsed)) args = std::move(parsed);
        }
        calls.push_back(
            {{"function", {{"name", fn.value("name", "")}, {"arguments", std::move(args)}}}});
      }
      msg["tool_calls"] = std::move(calls);
    }
    out.push_back(std::move(msg));
  }
  return out;
}

// OpenAI tool_calls from an Ollama message (arguments object -> JSON string).
Json toolCallsFromOllama(const Json& message, bool with_index) {
  Json calls = Json::array();
  if (!message.contains("tool_calls") || !message["tool_calls"].is_array()) return calls;
  int index = 0;
  for (const auto& tc : message["tool_calls"]) {
    const Json fn = tc.value("function", Json::object());
    Json call = {{"id", newCompletionId("call_")},
                 {"type", "function"},
                 {"function",
                  {{"name", fn.value("name", "")},
                   {"arguments", json::dump(fn.value("arguments", Json::object()))}}}};
    if (with_index) call["index"] = index;
    ++index;
    calls.push_back(std::move(call));
  }
  return calls;
}

std::string finishReason(const Json& body, bool has_tool_calls) {
  if (has_tool_calls) return "tool_calls";
  return body.value("done_reason", "stop") == "length" ? "length" : "stop";
}

Usage usageFromOllama(const Json& body) {
  Usage u;
  if (body.contains("prompt_eval_count") && body["prompt_eval_count"].is_number())
    u.prompt_tokens = body["prompt_eval_count"].get<long long>();
  if (body.contains("eval_count") && body["eval_count"].is_number())
    u.completion_tokens = body["eval_count"].get<long long>();
  return u;
}

class OllamaStreamDecoder : public StreamDecoder {
 public:
  OllamaStreamDecoder(RouteType type, std::string model)
      : type_(type),
        id_(newCompletionId(type == RouteType::Completions ? "cmpl-" : "chatcmpl-")),
        created_(unixNow()),
        model_(std::move(model)) {}

  Status onEvent(std::string_view, std::string_view data, ChunkSink& out) override {
    Json line;
    if (!json::parse(data, line) || !line.is_object())
      return Status::error("upstream sent a stream line that is not JSON");
    if (line.contains("error")) {
      return Status::error("upstream error mid-stream: " + (line["error"].is_string()
                                                                ? line["error"].get<std::string>()
                                                                : json::dump(line["error"])));
    }
    if (line.contains("model") && line["model"].is_string()) model_ = line["model"];
    const bool done = line.value("done", false);
    Json chunk = makeChunk(id_, created_, model_);
    Json choice = {{"index", 0}, {"finish_reason", nullptr}};
    if (type_ == RouteType::Completions) {
      chunk["object"] = "text_completion";
      choice["text"] = line.value("response", "");
    } else {
      const Json message = line.value("message", Json::object());
      Json delta = Json::object();
      if (!sent_role_) delta["role"] = "assistant", sent_role_ = true;
      std::string text = message.is_object() ? message.value("content", "") : "";
      if (!text.empty() || !done) delta["content"] = text;
      Json calls = toolCallsFromOllama(message, true);
      if (!calls.empty()) {
        for (auto& c : calls) c["index"] = tool_index_++;
        delta["tool_calls"] = std::move(calls);
        saw_tool_calls_ = true;
      }
      choice["delta"] = std::move(delta);
    }
    if (done) {
      choice["finish_reason"] = finishReason(line, saw_tool_calls_);
      usage_ = usageFromOllama(line);
      chunk["usage"] = usageJson(usage_);
      done_ = true;
    }
    chunk["choices"].push_back(std::move(choice));
    out.emit(json::dump(chunk));
    return {};
  }

  Status onEnd(ChunkSink&) override {
    if (!done_)
      return Status::error("upstream stream ended before done:true; the answer is incomplete");
    return {};
  }

 private:
  RouteType type_;
  std::string id_;
  long long created_;
  std::string model_;
  bool sent_role_ = false;
  bool saw_tool_calls_ = false;
  bool done_ = false;
  int tool_index_ = 0;
};

class OllamaProvider : public Provider {
 public:
  OllamaProvider(std::string name, std::string default_base)
      : name_(std::move(name)), base_(std::move(default_base)) {}
  std::string_view name() const override { return name_; }
  Framing framing(const Target&) const override { return Framing::NdJson; }
  bool supports(RouteType) const override { return true; }

  void checkTarget(const Target& target, RouteType,
                   std::vector<std::pair<std::string, std::string>>& errors) const override {
    if (base_.empty() && target.options.upstream_url.empty())
      errors.emplace_back("model.options.upstream_url",
                          "must set 'model.options.upstream_url' for self-hosted providers/models");
  }

  Result<http::UpstreamRequest, ApiError> buildRequest(const ProxyCall& call,
                                                       const Target& target) const override {
    using R = Result<http::UpstreamRequest, ApiError>;
    const Json& in = *call.body;
    http::UpstreamRequest req;
    const char* path = call.route_type == RouteType::Completions  ? "/api/generate"
                       : call.route_type == RouteType::Embeddings ? "/api/embed"
                                                                  : "/api/chat";
    req.url = resolveUrl(target, base_ + path, call);
    req.headers = jsonRequestHeaders(false);
    req.headers[1].value = call.stream ? "application/x-ndjson" : "application/json";
    if (call.route_type == RouteType::Preserve) {
      preserveRequest(req, call);
      return req;
    }
    Json body = {{"model", call.model}};
    if (call.route_type == RouteType::Embeddings) {
      body["input"] = in.value("input", Json());
      req.body = serializeBody(body, call);
      return req;
    }
    body["stream"] = call.stream;
    if (in.contains("n") && in["n"].is_number() && in["n"].get<double>() > 1)
      return R::failure(ApiError::badRequest(name_ + " does not support n > 1", "n"));
    if (call.route_type == RouteType::Chat) {
      auto messages = toOllamaMessages(in["messages"], name_);
      if (!messages) return R::failure(messages.error());
      body["messages"] = std::move(*messages);
      if (in.contains("tools")) body["tools"] = in["tools"];
    } else {
      body["prompt"] = in.value("prompt", Json(""));
    }
    Json options = Json::object();
    applyOptions(options, in, target.options,
                 OptionKeys{"num_predict", "temperature", "top_p", "top_k"});
    copyRenamed(options, in,
                {{"max_tokens", "num_predict"},
                 {"max_completion_tokens", "num_predict"},
                 {"temperature", "temperature"},
                 {"top_p", "top_p"},
                 {"top_k", "top_k"},
                 {"seed", "seed"},
                 {"frequency_penalty", "frequency_penalty"},
                 {"presence_penalty", "presence_penalty"},
                 {"stop", "stop"}});
    if (!options.empty()) body["options"] = std::move(options);
    if (in.contains("response_format") && in["response_format"].is_object()) {
      const auto& rf = in["response_format"];
      const std::string type = rf.value("type", "");
      if (type == "json_object") {
        body["format"] = "json";
      } else if (type == "json_schema") {
        body["format"] = rf.value("json_schema", Json::object()).value("schema", Json::object());
      } else if (type != "text") {
        return R::failure(
            ApiError::badRequest("response_format type '" + type + "' is not supported by " + name_,
                                 "response_format.type"));
      }
    }
    req.body = serializeBody(body, call);
    return req;
  }

  Result<ProviderReply, ApiError> parseResponse(const ProxyCall& call, std::string& raw,
                                                const Target&) const override {
    using R = Result<ProviderReply, ApiError>;
    ProviderReply reply;
    if (call.route_type == RouteType::Preserve) {
      reply.body = std::move(raw);
      return reply;
    }
    auto parsed = parseUpstreamJson(raw, name_);
    if (!parsed) return R::failure(parsed.error());
    const Json& body = *parsed;
    const std::string model = body.value("model", call.model);
    Json out;
    if (call.route_type == RouteType::Embeddings) {
      if (!body.contains("embeddings") || !body["embeddings"].is_array())
        return R::failure(ApiError::badGateway("upstream " + name_ + " returned no 'embeddings'"));
      Json data = Json::array();
      int i = 0;
      for (const auto& e : body["embeddings"])
        data.push_back({{"object", "embedding"}, {"index", i++}, {"embedding", e}});
      reply.usage.prompt_tokens = body.value("prompt_eval_count", 0LL);
      reply.usage.completion_tokens = 0;
      out = {{"object", "list"},
             {"data", std::move(data)},
             {"model", model},
             {"usage",
              {{"prompt_tokens", reply.usage.prompt_tokens},
               {"total_tokens", reply.usage.prompt_tokens}}}};
    } else {
      reply.usage = usageFromOllama(body);
      Completion answer;
      answer.model = model;
      answer.usage = reply.usage;
      if (call.route_type == RouteType::Completions) {
        if (!body.contains("response"))
          return R::failure(ApiError::badGateway("upstream " + name_ + " returned no 'response'"));
        answer.text = body.value("response", "");
        answer.finish_reason = finishReason(body, false);
      } else {
        if (!body.contains("message") || !body["message"].is_object())
          return R::failure(ApiError::badGateway("upstream " + name_ + " returned no 'message'"));
        answer.text = body["message"].value("content", "");
        answer.tool_calls = toolCallsFromOllama(body["message"], false);
        answer.finish_reason = finishReason(body, !answer.tool_calls.empty());
      }
      reply.body = renderCompletion(call, std::move(answer));
      return reply;
    }
    reply.body = json::dump(out);
    return reply;
  }

  std::unique_ptr<StreamDecoder> newStreamDecoder(const ProxyCall& call,
                                                  const Target&) const override {
    return std::make_unique<OllamaStreamDecoder>(call.route_type, call.model);
  }

 private:
  std::string name_;
  std::string base_;
};

}  // namespace

const Provider& ollamaNative(std::string_view name) {
  static const OllamaProvider ollama("ollama", "http://localhost:11434");
  static const OllamaProvider llama2("llama2", "");
  static const OllamaProvider mistral("mistral", "");
  if (name == "llama2") return llama2;
  if (name == "mistral") return mistral;
  return ollama;
}

}  // namespace aigw::providers::builtin
