// Hugging Face, through the Inference Providers router:
//   chat         POST https://router.huggingface.co/v1/chat/completions (OpenAI-compatible)
//                https://huggingface.co/docs/inference-providers/index
//                https://huggingface.co/docs/inference-providers/tasks/chat-completion
//   completions  POST https://router.huggingface.co/hf-inference/models/{model} (text-generation)
//                https://huggingface.co/docs/inference-providers/tasks/text-generation
//   embeddings   POST
//   https://router.huggingface.co/hf-inference/models/{model}/pipeline/feature-extraction
//                https://huggingface.co/docs/inference-providers/tasks/feature-extraction
// Kong calls https://api-inference.huggingface.co/models/{model}/v1/chat/completions, the
// serverless Inference API that Hugging Face replaced with this router; the router speaks
// OpenAI's chat format for every provider behind it, so chat is openai_compat plus a diff.
// upstream_url, as for every OpenAI-compatible provider, is the whole URL (a TGI server or an
// Inference Endpoint).
//
// The diff, and where we differ from Kong (notes §2.10), on purpose:
//  - model.options.huggingface {use_cache, wait_for_model} become the x-use-cache /
//    x-wait-for-model headers (the router's form of the old body "options"; they were
//    documented on each task page until hub-docs#1673) and, for text-generation, the body's
//    "options" too;
//  - answers are normalised to OpenAI's shape: TGI's finish reasons ("eos_token",
//    "stop_sequence"; Kong even invents "complete") are mapped into OpenAI's set, a missing role
//    becomes "assistant", an empty id is replaced;
//  - errors {"error": "..."} keep their status (503 "model is currently loading" stays 503).
#include <algorithm>
#include <cctype>

#include "core/json.hpp"
#include "providers/builtin.hpp"
#include "providers/common.hpp"
#include "providers/json_fields.hpp"
#include "providers/openai_compat.hpp"

namespace aigw::providers::builtin {

namespace {

using Json = nlohmann::json;
using wire::field;
using wire::str;
template <typename T>
using ApiResult = Result<T, ApiError>;

constexpr const char* kName = "huggingface";
constexpr const char* kRouter = "https://router.huggingface.co";

// TGI / router finish reasons -> OpenAI's set.
// https://huggingface.github.io/text-generation-inference/ (FinishReason: length, eos_token,
// stop_sequence)
std::string finishReason(std::string_view reason, bool has_tool_calls) {
  if (reason == "length" || reason == "max_tokens") return "length";
  if (reason == "tool_calls" || reason == "function_call") return std::string(reason);
  if (reason == "content_filter") return "content_filter";
  return has_tool_calls ? "tool_calls" : "stop";  // stop, eos_token, stop_sequence, complete, ...
}

// Normalises one choice in place: finish_reason (when set) and, for messages, the role.
void normaliseChoice(Json& choice, const char* body_key) {
  if (!choice.is_object()) return;
  auto body = choice.find(body_key);
  const bool has_body = body != choice.end() && body->is_object();
  if (has_body && std::string_view(body_key) == "message" && !body->contains("role"))
    (*body)["role"] = "assistant";
  if (auto it = choice.find("finish_reason"); it != choice.end() && it->is_string()) {
    const bool tools = has_body && !wire::field(*body, "tool_calls").empty() &&
                       wire::field(*body, "tool_calls").is_array();
    *it = finishReason(it->get_ref<const std::string&>(), tools);
  }
}

// Model names go into the URL path as they are ("org/name"); anything that would change the
// URL's meaning is refused instead of escaped.
bool validModel(const std::string& model) {
  return !model.empty() && std::all_of(model.begin(), model.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '/' || c == ':';
  });
}

// https://huggingface.co/docs/inference-providers/tasks/text-generation : {inputs, parameters}
ApiResult<Json> textGenerationBody(const Json& in, const Target& t, bool stream) {
  const Json& prompt = field(in, "prompt");
  const Json* text = prompt.is_array() && prompt.size() == 1 ? &prompt[0] : &prompt;
  if (!text->is_string())
    return ApiResult<Json>::failure(
        ApiError::badRequest("huggingface takes one string prompt per request", "prompt"));
  Json params = Json::object();
  applyOptions(params, in, t.options,
               OptionKeys{"max_new_tokens", "temperature", "top_p", "top_k"});
  static constexpr std::pair<const char*, const char*> kParams[] = {
      {"max_tokens", "max_new_tokens"},
      {"temperature", "temperature"},
      {"top_p", "top_p"},
      {"top_k", "top_k"},
      {"seed", "seed"},
      {"stop", "stop"}};
  for (const auto& [openai, hf] : kParams)
    if (const Json& v = field(in, openai); !v.is_null()) params[hf] = v;
  if (params.contains("stop") && params["stop"].is_string())
    params["stop"] = Json::array({params["stop"]});
  // OpenAI completions do not repeat the prompt unless echo is set; text-generation does by
  // default. details brings finish_reason and the generated token count.
  params["return_full_text"] = field(in, "echo") == true;
  params["details"] = true;
  Json body = {{"inputs", *text}, {"parameters", std::move(params)}};
  const Json& block = field(t.options.blocks, "huggingface");
  Json options = Json::object();
  for (const char* key : {"use_cache", "wait_for_model"})
    if (field(block, key).is_boolean()) options[key] = block[key];
  if (!options.empty()) body["options"] = std::move(options);
  if (stream) body["stream"] = true;
  return body;
}

// https://huggingface.co/docs/inference-providers/tasks/feature-extraction : {inputs: [..]}
ApiResult<Json> featureExtractionBody(const Json& in) {
  const Json& input = field(in, "input");
  Json inputs = Json::array();
  if (input.is_string()) {
    inputs.push_back(input);
  } else if (input.is_array() && !input.empty() &&
             std::all_of(input.begin(), input.end(), [](const Json& s) { return s.is_string(); })) {
    inputs = input;
  } else {
    return ApiResult<Json>::failure(ApiError::badRequest(
        "input must be a string or an array of strings for provider huggingface", "input"));
  }
  if (const std::string f = str(in, "encoding_format"); !f.empty() && f != "float")
    return ApiResult<Json>::failure(ApiError::badRequest(
        "encoding_format '" + f + "' is not supported by provider huggingface", "encoding_format"));
  return Json{{"inputs", std::move(inputs)}};
}

bool isVector(const Json& v) {
  return v.is_array() && !v.empty() &&
         std::all_of(v.begin(), v.end(), [](const Json& x) { return x.is_number(); });
}

std::string errorText(const Json& e) {
  if (e.is_string()) return e.get<std::string>();
  if (const std::string m = str(e, "message"); !m.empty()) return m;
  return json::dump(e);
}

// The router's OpenAI chunks, normalised like the non-stream answer. [DONE] is the natural end.
class ChatStreamDecoder : public StreamDecoder {
 public:
  explicit ChatStreamDecoder(const ProxyCall& call)
      : client_wants_usage_(call.client_wants_usage), id_(newCompletionId()) {}

  Status onEvent(std::string_view, std::string_view data, ChunkSink& out) override {
    if (data == "[DONE]") {
      done_ = true;
      return {};
    }
    if (data.empty()) return {};
    Json chunk;
    if (!json::parse(data, chunk) || !chunk.is_object())
      return Status::error("upstream huggingface sent a stream event that is not a JSON object");
    if (chunk.contains("error") && !chunk.contains("choices"))
      return Status::error("upstream error mid-stream: " + errorText(chunk["error"]));
    if (str(chunk, "id").empty()) chunk["id"] = id_;
    chunk["object"] = "chat.completion.chunk";
    Json& choices = chunk["choices"];
    if (!choices.is_array()) choices = Json::array();
    for (auto& c : choices) normaliseChoice(c, "delta");
    if (const Json& usage = field(chunk, "usage"); usage.is_object()) {
      usage_ = usageFromOpenAI(usage);
      // The usage-only chunk exists because we asked for it (stream_options.include_usage).
      if (!client_wants_usage_ && choices.empty()) return {};
    }
    out.emit(json::dump(chunk));
    return {};
  }

  Status onEnd(ChunkSink&) override {
    if (!done_)
      return Status::error("upstream stream ended before [DONE]; the answer is incomplete");
    return {};
  }

 private:
  bool client_wants_usage_;
  std::string id_;
  bool done_ = false;
};

// text-generation with "stream": true: SSE events {token: {text, special}, generated_text,
// details}; the last one has generated_text set (and details with finish_reason).
// https://huggingface.co/docs/inference-providers/tasks/text-generation#response
class TextGenerationStreamDecoder : public StreamDecoder {
 public:
  explicit TextGenerationStreamDecoder(const ProxyCall& call)
      : id_(newCompletionId("cmpl-")), created_(unixNow()), model_(call.model) {}

  Status onEvent(std::string_view, std::string_view data, ChunkSink& out) override {
    if (done_ || data.empty()) return {};
    Json ev;
    if (!json::parse(data, ev) || !ev.is_object())
      return Status::error("upstream huggingface sent a stream event that is not a JSON object");
    if (ev.contains("error"))
      return Status::error("upstream error mid-stream: " + errorText(ev["error"]));
    const Json& token = field(ev, "token");
    const std::string text = field(token, "special") == true ? "" : str(token, "text");
    const bool last = !field(ev, "generated_text").is_null();
    if (text.empty() && !last) return {};
    Json chunk = makeChunk(id_, created_, model_);
    chunk["object"] = "text_completion";
    Json choice = {{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
    if (last) {
      done_ = true;
      const Json& details = field(ev, "details");
      choice["finish_reason"] = finishReason(str(details, "finish_reason"), false);
      usage_.completion_tokens = wire::integer(details, "generated_tokens", -1);
      chunk["usage"] = usageJson(usage_);
    }
    chunk["choices"].push_back(std::move(choice));
    out.emit(json::dump(chunk));
    return {};
  }

  Status onEnd(ChunkSink&) override {
    if (!done_)
      return Status::error(
          "upstream huggingface stream ended before the final event; the answer is incomplete");
    return {};
  }

 private:
  std::string id_;
  long long created_;
  std::string model_;
  bool done_ = false;
};

class HuggingFaceProvider : public OpenAICompatProvider {
 public:
  using OpenAICompatProvider::OpenAICompatProvider;

  // Every route type has a default endpoint on the router.
  void checkTarget(const Target&, RouteType,
                   std::vector<std::pair<std::string, std::string>>&) const override {}

  ApiResult<http::UpstreamRequest> buildRequest(const ProxyCall& call,
                                                const Target& t) const override {
    using R = ApiResult<http::UpstreamRequest>;
    const std::string model_url = std::string(kRouter) + "/hf-inference/models/" + call.model;
    const bool native =
        call.route_type == RouteType::Completions || call.route_type == RouteType::Embeddings;
    if (native && !validModel(call.model))
      return R::failure(
          ApiError::badRequest("invalid model name for provider huggingface", "model"));
    http::UpstreamRequest req;
    if (call.route_type == RouteType::Completions) {
      auto body = textGenerationBody(*call.body, t, call.stream);
      if (!body) return R::failure(body.error());
      req.url = resolveUrl(t, model_url, call);
      req.headers = jsonRequestHeaders(call.stream);
      req.body = serializeBody(*body, call);
    } else if (call.route_type == RouteType::Embeddings) {
      auto body = featureExtractionBody(*call.body);
      if (!body) return R::failure(body.error());
      req.url = resolveUrl(t, model_url + "/pipeline/feature-extraction", call);
      req.headers = jsonRequestHeaders(false);
      req.body = serializeBody(*body, call);
    } else {
      auto base = OpenAICompatProvider::buildRequest(call, t);
      if (!base) return base;
      req = std::move(*base);
    }
    const Json& block = field(t.options.blocks, "huggingface");
    if (const Json& v = field(block, "use_cache"); v.is_boolean())
      req.headers.push_back({"x-use-cache", v.get<bool>() ? "true" : "false"});
    if (const Json& v = field(block, "wait_for_model"); v.is_boolean())
      req.headers.push_back({"x-wait-for-model", v.get<bool>() ? "true" : "false"});
    return req;
  }

  ApiResult<ProviderReply> parseResponse(const ProxyCall& call, std::string& raw,
                                         const Target& t) const override {
    using R = ApiResult<ProviderReply>;
    if (call.route_type == RouteType::Preserve)
      return OpenAICompatProvider::parseResponse(call, raw, t);
    Json body;
    if (!json::parse(raw, body))
      return R::failure(
          ApiError::badGateway("upstream huggingface returned a response that is not JSON"));
    if (call.route_type == RouteType::Completions) return completion(call, body);
    if (call.route_type == RouteType::Embeddings) return embeddings(call, body);
    return chat(body);
  }

  std::unique_ptr<StreamDecoder> newStreamDecoder(const ProxyCall& call,
                                                  const Target& t) const override {
    if (call.route_type == RouteType::Completions)
      return std::make_unique<TextGenerationStreamDecoder>(call);
    if (call.route_type == RouteType::Chat) return std::make_unique<ChatStreamDecoder>(call);
    return OpenAICompatProvider::newStreamDecoder(call, t);
  }

  // {"error": "..."} (a string) or {"message": "..."}: the default reads both; TGI adds
  // "error_type".
  ApiError parseError(int status, std::string_view raw) const override {
    ApiError err = Provider::parseError(status, raw);
    Json doc;
    if (json::parse(raw, doc))
      if (const std::string type = str(doc, "error_type"); !type.empty()) err.type = type;
    return err;
  }

 private:
  static ApiResult<ProviderReply> chat(Json& body) {
    using R = ApiResult<ProviderReply>;
    if (!body.is_object() || !body.contains("choices") || !body["choices"].is_array())
      return R::failure(ApiError::badGateway(
          "upstream huggingface returned a response without 'choices' for llm/v1/chat"));
    ProviderReply reply;
    if (str(body, "id").empty()) body["id"] = newCompletionId();
    body["object"] = "chat.completion";
    if (!body.contains("created")) body["created"] = unixNow();
    for (auto& c : body["choices"]) normaliseChoice(c, "message");
    reply.usage = usageFromOpenAI(field(body, "usage"));
    if (!field(body, "usage").is_object()) body["usage"] = usageJson(reply.usage);
    reply.body = json::dump(body);
    return reply;
  }

  // [{"generated_text": "...", "details": {...}}] -> text_completion.
  static ApiResult<ProviderReply> completion(const ProxyCall& call, const Json& body) {
    const Json& first = body.is_array() && !body.empty() ? body[0] : body;
    const Json& text = field(first, "generated_text");
    if (!text.is_string())
      return ApiResult<ProviderReply>::failure(ApiError::badGateway(
          "upstream huggingface returned a response without 'generated_text'"));
    const Json& details = field(first, "details");
    ProviderReply reply;
    reply.usage.completion_tokens = wire::integer(details, "generated_tokens", -1);
    const Json out = {
        {"id", newCompletionId("cmpl-")},
        {"object", "text_completion"},
        {"created", unixNow()},
        {"model", call.model},
        {"choices",
         Json::array({{{"index", 0},
                       {"text", text},
                       {"logprobs", nullptr},
                       {"finish_reason", finishReason(str(details, "finish_reason"), false)}}})},
        {"usage", usageJson(reply.usage)}};
    reply.body = json::dump(out);
    return reply;
  }

  // One vector per input ([[f, ...], ...]); a single input may come back as one flat vector.
  // Token-level output ([[[f, ...]]], a model without pooling) is not an embedding.
  static ApiResult<ProviderReply> embeddings(const ProxyCall& call, const Json& body) {
    Json vectors = Json::array();
    if (isVector(body)) {
      vectors.push_back(body);
    } else if (body.is_array() && !body.empty() &&
               std::all_of(body.begin(), body.end(), isVector)) {
      vectors = body;
    } else {
      return ApiResult<ProviderReply>::failure(ApiError::badGateway(
          "upstream huggingface returned feature-extraction output that is not one vector per "
          "input (is the model a sentence-embedding model?)"));
    }
    Json data = Json::array();
    for (auto& v : vectors)
      data.push_back(
          {{"object", "embedding"}, {"index", data.size()}, {"embedding", std::move(v)}});
    ProviderReply reply;
    const Json out = {{"object", "list"},
                      {"data", std::move(data)},
                      {"model", call.model},
                      {"usage", {{"prompt_tokens", 0}, {"total_tokens", 0}}}};
    reply.body = json::dump(out);
    return reply;
  }
};

}  // namespace

const Provider& huggingface() {
  static const HuggingFaceProvider provider(
      OpenAICompatSpec{kName, std::string(kRouter) + "/v1/chat/completions", "", "", true, {}});
  return provider;
}

}  // namespace aigw::providers::builtin
