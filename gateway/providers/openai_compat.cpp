#include "providers/openai_compat.hpp"

#include "core/json.hpp"
#include "core/json_splice.hpp"
#include "providers/common.hpp"

namespace aigw::providers {

bool OpenAICompatProvider::supports(RouteType type) const {
  switch (type) {
    case RouteType::Chat:
      return true;
    case RouteType::Completions:
      return true;
    case RouteType::Embeddings:
      return true;
    case RouteType::Preserve:
      return true;
  }
  return false;
}

std::string OpenAICompatProvider::defaultUrl(const Target& target, RouteType type) const {
  if (spec_.url_for) return spec_.url_for(target, type);
  switch (type) {
    case RouteType::Chat:
      return spec_.chat_url;
    case RouteType::Completions:
      return spec_.completions_url;
    case RouteType::Embeddings:
      return spec_.embeddings_url;
    case RouteType::Preserve:
      return spec_.chat_url;
  }
  return {};
}

void OpenAICompatProvider::checkTarget(
    const Target& target, RouteType type,
    std::vector<std::pair<std::string, std::string>>& errors) const {
  if (target.options.upstream_url.empty() && defaultUrl(target, type).empty()) {
    errors.emplace_back("model.options.upstream_url",
                        "provider " + spec_.name + " has no default endpoint for " +
                            std::string(routeTypeName(type)) + "; set model.options.upstream_url");
  }
}

namespace {

// The client's own body with the gateway's few changes spliced in (model, configured options,
// stream, stream_options.include_usage, a body credential): the same JSON the document path
// below would send, without copying the document and serialising it again, and with the
// client's key order, number spelling and unknown fields kept as written.
std::optional<std::string> splicedBody(const ProxyCall& call, const Target& target,
                                       bool request_stream_usage) {
  // What the text says now (the last of duplicate members, as parsers keep it). The text, not
  // call.body, is what gets edited: ai-proxy-advanced sets its target's model in the document.
  const auto object = json::splitMembers(call.raw_body);  // split once: read, then edited
  if (!object) return std::nullopt;
  auto current = [&](std::string_view key) -> std::optional<std::string_view> {
    std::optional<std::string_view> found;
    for (const auto& m : object->members)
      if (m.key == key) found = m.value;
    return found;
  };
  std::vector<json::MemberEdit> edits;
  std::string model = json::dump(nlohmann::json(call.model));
  if (current("model") != std::string_view(model)) edits.push_back({"model", std::move(model)});
  if (call.route_type != RouteType::Embeddings) {
    const ModelOptions& o = target.options;
    auto fill = [&](const char* key, const auto& value) {
      if (value) edits.push_back({key, json::dump(nlohmann::json(*value)), true});
    };
    fill("max_tokens", o.max_tokens);
    fill("temperature", o.temperature);
    fill("top_p", o.top_p);
    const std::string_view stream = call.stream ? "true" : "false";
    if (current("stream") != stream) edits.push_back({"stream", std::string(stream)});
    if (call.stream && request_stream_usage) {
      const auto so = current("stream_options");
      if (!so || so->empty() || so->front() != '{') {
        edits.push_back({"stream_options", R"({"include_usage":true})"});
      } else {
        nlohmann::json options;
        if (!json::parse(*so, options)) return std::nullopt;
        if (options.value("include_usage", nlohmann::json()) != true) {
          options["include_usage"] = true;
          edits.push_back({"stream_options", json::dump(options)});
        }
      }
    }
  }
  if (!call.body_auth_name.empty())
    edits.push_back({std::string(call.body_auth_name),
                     json::dump(nlohmann::json(std::string(call.body_auth_value)))});
  if (edits.empty()) return std::string(call.raw_body);
  return json::spliceMembers(*object, edits);
}

}  // namespace

Result<http::UpstreamRequest, ApiError> OpenAICompatProvider::buildRequest(
    const ProxyCall& call, const Target& target) const {
  http::UpstreamRequest req;
  req.url = resolveUrl(target, defaultUrl(target, call.route_type), call);
  req.headers = jsonRequestHeaders(call.stream);
  if (call.route_type == RouteType::Preserve) {
    preserveRequest(req, call);
    return req;
  }
  if (call.native == NativeApi::Responses && spec_.responses_url) {
    // https://platform.openai.com/docs/api-reference/responses/create
    static constexpr OptionKeys kKeys{"max_output_tokens", "temperature", "top_p", nullptr};
    req.url = resolveUrl(target, spec_.responses_url(target), call);
    req.body = nativeBody(call, target, &kKeys);
    return req;
  }
  // The client's text, when it is exactly what call.body holds (nothing rewrote it).
  if (!call.raw_body.empty() && call.body && call.body->is_object()) {
    if (auto spliced = splicedBody(call, target, spec_.request_stream_usage)) {
      req.body = std::move(*spliced);
      return req;
    }
  }
  nlohmann::json body = *call.body;
  body["model"] = call.model;
  if (call.route_type != RouteType::Embeddings) {
    applyOptions(body, *call.body, target.options, OptionKeys{});
    body["stream"] = call.stream;
    if (call.stream && spec_.request_stream_usage) {
      if (!body.contains("stream_options") || !body["stream_options"].is_object())
        body["stream_options"] = nlohmann::json::object();
      body["stream_options"]["include_usage"] = true;
    }
  }
  req.body = serializeBody(body, call);
  return req;
}

namespace {

// What the gateway reads from an OpenAI-shaped answer or chunk that goes back byte for byte:
// which top-level members exist and the usage counts. The text is validated and split, never
// built into a document or re-serialised.
struct AnswerText {
  bool has_choices = false;
  bool choices_empty = true;  // absent or []
  bool has_data = false;
  bool has_error = false;
  std::optional<Usage> usage;  // when a usage object is present
};

std::optional<AnswerText> readAnswer(std::string_view text) {
  AnswerText a;
  std::optional<std::string_view> usage;
  const bool valid = json::scanObject(text, [&](std::string_view key, std::string_view value) {
    if (key == "choices") {
      a.has_choices = true;
      a.choices_empty = value.size() >= 2 && value.front() == '[' &&
                        value.find_first_not_of(" \t\r\n", 1) == value.size() - 1;
    } else if (key == "data") {
      a.has_data = true;
    } else if (key == "error") {
      a.has_error = true;
    } else if (key == "usage") {
      usage = value;  // the last one, as parsers keep it
    }
  });
  if (!valid) return std::nullopt;
  if (usage) a.usage = usageFromOpenAIText(*usage);
  return a;
}

}  // namespace

Result<ProviderReply, ApiError> OpenAICompatProvider::parseResponse(const ProxyCall& call,
                                                                    std::string& body,
                                                                    const Target&) const {
  using R = Result<ProviderReply, ApiError>;
  const auto scan = readAnswer(body);
  if (!scan)
    return R::failure(ApiError::badGateway("upstream " + spec_.name +
                                           " returned a response that is not a JSON object"));
  const bool embeddings = call.route_type == RouteType::Embeddings;
  if (call.route_type != RouteType::Preserve &&
      !(embeddings ? scan->has_data : scan->has_choices)) {
    return R::failure(ApiError::badGateway("upstream " + spec_.name +
                                           " returned a response without '" +
                                           (embeddings ? "data" : "choices") + "' for " +
                                           std::string(routeTypeName(call.route_type))));
  }
  ProviderReply reply;
  if (scan->usage) reply.usage = *scan->usage;
  // The upstream's bytes go back unchanged: id, created, system_fingerprint, everything.
  reply.body = std::move(body);
  return reply;
}

namespace {

// OpenAI chunks are already what the client wants, so they pass through byte for byte; only
// the few events that can carry usage or an error are parsed. The others are validated (no
// DOM is built): an event that is not a JSON object is a broken stream, never a chunk passed
// on as if it were one (failoverbench's garbage SSE).
class OpenAIStreamDecoder : public StreamDecoder {
 public:
  explicit OpenAIStreamDecoder(bool client_wants_usage) : client_wants_usage_(client_wants_usage) {}

  Status onEvent(std::string_view, std::string_view data, ChunkSink& out) override {
    if (data == "[DONE]") {
      done_ = true;
      return {};
    }
    if (data.empty()) return {};
    // One pass validates the event and finds the members that matter (usage, error).
    const auto chunk = readAnswer(data);
    if (!chunk) return Status::error("upstream sent a stream event that is not JSON");
    if (chunk->has_error && !chunk->has_choices) return errorEvent(data);
    if (chunk->usage) {
      usage_ = *chunk->usage;
      // The usage-only chunk exists because we asked for it; a client that did not ask
      // would trip over a chunk with no choices.
      if (!client_wants_usage_ && chunk->choices_empty) return {};
    }
    out.emit(data);
    return {};
  }

  Status onEnd(ChunkSink&) override {
    if (!done_)
      return Status::error("upstream stream ended before [DONE]; the answer is incomplete");
    return {};
  }

 private:
  static Status errorEvent(std::string_view data) {
    nlohmann::json chunk;
    json::parse(data, chunk);
    const auto& e = chunk["error"];
    std::string msg = e.is_object() && e.contains("message") && e["message"].is_string()
                          ? e["message"].get<std::string>()
                          : json::dump(e);
    return Status::error("upstream error mid-stream: " + msg);
  }

  bool client_wants_usage_;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<StreamDecoder> newOpenAIStreamDecoder(const ProxyCall& call) {
  return std::make_unique<OpenAIStreamDecoder>(call.client_wants_usage);
}

std::unique_ptr<StreamDecoder> OpenAICompatProvider::newStreamDecoder(const ProxyCall& call,
                                                                      const Target&) const {
  return newOpenAIStreamDecoder(call);
}

}  // namespace aigw::providers
