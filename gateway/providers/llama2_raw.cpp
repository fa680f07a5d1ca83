// llama2 with llama2_format "raw": Hugging Face text-generation-inference's native
// /generate and /generate_stream (https://huggingface.github.io/text-generation-inference/),
// with the prompt rendered in Llama 2's chat template:
//   <s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s><s>[INST] {user}
//   [/INST]
// Unlike Kong's driver, earlier assistant turns are kept, so the model sees the conversation.
#include "core/json.hpp"
#include "providers/builtin.hpp"
#include "providers/common.hpp"

namespace aigw::providers::builtin {

namespace {

using Json = nlohmann::json;

std::string renderChat(const Json& messages) {
  std::string system, out;
  bool open_turn = false;
  for (const auto& m : messages) {
    const std::string role = m.value("role", "user");
    const std::string text = contentText(m.value("content", Json("")));
    if (role == "system" || role == "developer") {
      system += (system.empty() ? "" : "\n") + text;
    } else if (role == "assistant") {
      out += " " + text + " </s>";
      open_turn = false;
    } else {
      std::string user = text;
      if (!system.empty()) {
        user = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + user;
        system.clear();
      }
      out += open_turn ? "\n" + user : "<s>[INST] " + user;
      open_turn = true;
      out += " [/INST]";
    }
  }
  return out;
}

// TGI may echo the prompt (return_full_text); the answer is what follows the last [/INST].
std::string answerText(const std::string& generated) {
  std::string text = generated;
  if (auto pos = text.rfind("[/INST]"); pos != std::string::npos) text = text.substr(pos + 7);
  const auto first = text.find_first_not_of(" \n\t");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \n\t") - first + 1);
}

std::string finishReason(const Json& details) {
  return details.is_object() && details.value("finish_reason", "") == "length" ? "length" : "stop";
}

class RawStreamDecoder : public StreamDecoder {
 public:
  RawStreamDecoder(RouteType type, std::string model)
      : type_(type),
        id_(newCompletionId(type == RouteType::Completions ? "cmpl-" : "chatcmpl-")),
        created_(unixNow()),
        model_(std::move(model)) {}

  Status onEvent(std::string_view, std::string_view data, ChunkSink& out) override {
    Json event;
    if (!json::parse(data, event) || !event.is_object())
      return Status::error("upstream sent a stream event that is not JSON");
    if (event.contains("error"))
      return Status::error("upstream error mid-stream: " + (event["error"].is_string()
                                                                ? event["error"].get<std::string>()
                                                                : json::dump(event["error"])));
    const Json token = event.value("token", Json::object());
    const bool special = token.is_object() && token.value("special", false);
    const bool last = event.contains("generated_text") && event["generated_text"].is_string();
    Json choice = {{"index", 0}, {"finish_reason", nullptr}};
    const std::string text = special || !token.is_object() ? "" : token.value("text", "");
    if (type_ == RouteType::Completions) {
      choice["text"] = text;
    } else {
      Json delta = Json::object();
      if (!sent_role_) delta["role"] = "assistant", sent_role_ = true;
      delta["content"] = text;
      choice["delta"] = std::move(delta);
    }
    Json chunk = makeChunk(id_, created_, model_);
    if (type_ == RouteType::Completions) chunk["object"] = "text_completion";
    if (last) {
      const Json details = event.value("details", Json::object());
      choice["finish_reason"] = finishReason(details);
      if (details.is_object() && details.contains("generated_tokens"))
        usage_.completion_tokens = details.value("generated_tokens", 0LL);
      chunk["usage"] = usageJson(usage_);
      done_ = true;
    }
    chunk["choices"].push_back(std::move(choice));
    out.emit(json::dump(chunk));
    return {};
  }

  Status onEnd(ChunkSink&) override {
    if (!done_)
      return Status::error(
          "upstream stream ended before its final event; the answer is incomplete");
    return {};
  }

 private:
  RouteType type_;
  std::string id_;
  long long created_;
  std::string model_;
  bool sent_role_ = false;
  bool done_ = false;
};

class Llama2RawProvider : public Provider {
 public:
  std::string_view name() const override { return "llama2"; }
  bool supports(RouteType t) const override { return t != RouteType::Embeddings; }

  Result<http::UpstreamRequest, ApiError> buildRequest(const ProxyCall& call,
                                                       const Target& target) const override {
    const Json& in = *call.body;
    http::UpstreamRequest req;
    req.url = resolveUrl(target, "", call);
    req.headers = jsonRequestHeaders(call.stream);
    Json body = Json::object();
    if (call.route_type == RouteType::Preserve) {
      preserveRequest(req, call);
      return req;
    }
    body["inputs"] = call.route_type == RouteType::Chat
                         ? renderChat(in["messages"])
                         : "<s>[INST] " + contentText(in.value("prompt", Json(""))) + " [/INST]";
    Json params = Json::object();
    applyOptions(params, in, target.options,
                 OptionKeys{"max_new_tokens", "temperature", "top_p", "top_k"});
    copyRenamed(params, in,
                {{"max_tokens", "max_new_tokens"},
                 {"temperature", "temperature"},
                 {"top_p", "top_p"},
                 {"top_k", "top_k"},
                 {"seed", "seed"},
                 {"stop", "stop"}});
    params["stream"] = call.stream;
    params["details"] = true;  // asks TGI for finish_reason and generated_tokens
    body["parameters"] = std::move(params);
    body["stream"] = call.stream;
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
    Json body;
    if (!json::parse(raw, body))
      return R::failure(
          ApiError::badGateway("upstream llama2 returned a response that is not JSON"));
    // TGI answers {generated_text}, [{generated_text}] or (behind some proxies) {data: [...]}.
    const Json* item = &body;
    if (body.is_object() && body.contains("data") && body["data"].is_array() &&
        !body["data"].empty())
      item = &body["data"][0];
    else if (body.is_array() && !body.empty())
      item = &body[0];
    if (!item->is_object() || !item->contains("generated_text") ||
        !(*item)["generated_text"].is_string())
      return R::failure(ApiError::badGateway("upstream llama2 returned no 'generated_text'"));
    const std::string text = answerText((*item)["generated_text"].get<std::string>());
    const Json details = item->value("details", Json::object());
    if (details.is_object() && details.contains("generated_tokens"))
      reply.usage.completion_tokens = details.value("generated_tokens", 0LL);
    Completion answer;
    answer.text = text;
    answer.finish_reason = finishReason(details);
    answer.usage = reply.usage;
    reply.body = renderCompletion(call, std::move(answer));
    return reply;
  }

  std::unique_ptr<StreamDecoder> newStreamDecoder(const ProxyCall& call,
                                                  const Target&) const override {
    return std::make_unique<RawStreamDecoder>(call.route_type, call.model);
  }
};

}  // namespace

const Provider& llama2Raw() {
  static const Llama2RawProvider provider;
  return provider;
}

}  // namespace aigw::providers::builtin
