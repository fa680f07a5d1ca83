#include "providers/openai_compat.hpp"

#include "core/json.hpp"
#include "providers/common.hpp"

namespace aigw::providers {

bool OpenAICompatProvider::supports(RouteType type) const {
  switch (type) {
    case RouteType::Chat: return true;
    case RouteType::Completions: return true;
    case RouteType::Embeddings: return true;
    case RouteType::Preserve: return true;
  }
  return false;
}

std::string OpenAICompatProvider::defaultUrl(const Target& target, RouteType type) const {
  if (spec_.url_for) return spec_.url_for(target, type);
  switch (type) {
    case RouteType::Chat: return spec_.chat_url;
    case RouteType::Completions: return spec_.completions_url;
    case RouteType::Embeddings: return spec_.embeddings_url;
    case RouteType::Preserve: return spec_.chat_url;
  }
  return {};
}

void OpenAICompatProvider::checkTarget(const Target& target, RouteType type,
                                       std::vector<std::pair<std::string, std::string>>& errors) const {
  if (target.options.upstream_url.empty() && defaultUrl(target, type).empty()) {
    errors.emplace_back("model.options.upstream_url",
                        "provider " + spec_.name + " has no default endpoint for " +
                            std::string(routeTypeName(type)) + "; set model.options.upstream_url");
  }
}

Result<proxy::UpstreamRequest, ApiError> OpenAICompatProvider::buildRequest(const ProxyCall& call,
                                                                         const Target& target) const {
  proxy::UpstreamRequest req;
  req.url = resolveUrl(target, defaultUrl(target, call.route_type), call);
  req.headers = jsonRequestHeaders(call.stream);
  if (call.route_type == RouteType::Preserve) {
    nlohmann::json body = *call.body;
    req.body = serializeBody(body, call);
    return req;
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

Result<ProviderReply, ApiError> OpenAICompatProvider::parseResponse(const ProxyCall& call, std::string& body,
                                                                    const Target&) const {
  auto parsed = parseUpstreamJson(body, spec_.name);
  if (!parsed) return Result<ProviderReply, ApiError>::failure(parsed.error());
  const char* required = call.route_type == RouteType::Embeddings ? "data" : "choices";
  if (call.route_type != RouteType::Preserve && !parsed->contains(required)) {
    return Result<ProviderReply, ApiError>::failure(ApiError::badGateway(
        "upstream " + spec_.name + " returned a response without '" + required + "' for " +
        std::string(routeTypeName(call.route_type))));
  }
  ProviderReply reply;
  if (parsed->contains("usage")) reply.usage = usageFromOpenAI((*parsed)["usage"]);
  // The upstream's bytes go back unchanged: id, created, system_fingerprint, everything.
  reply.body = std::move(body);
  return reply;
}

namespace {

// OpenAI chunks are already what the client wants, so they pass through byte for byte; only
// the few events that can carry usage or an error are parsed.
class OpenAIStreamDecoder : public StreamDecoder {
 public:
  explicit OpenAIStreamDecoder(bool client_wants_usage) : client_wants_usage_(client_wants_usage) {}

  Status onEvent(std::string_view, std::string_view data, ChunkSink& out) override {
    if (data == "[DONE]") {
      done_ = true;
      return {};
    }
    if (data.empty()) return {};
    const bool maybe_usage = data.find("\"usage\"") != std::string_view::npos;
    const bool maybe_error = data.find("\"error\"") != std::string_view::npos;
    if (maybe_usage || maybe_error) {
      nlohmann::json chunk;
      if (!json::parse(data, chunk) || !chunk.is_object())
        return Status::error("upstream sent a stream event that is not JSON");
      if (chunk.contains("error") && !chunk.contains("choices")) {
        const auto& e = chunk["error"];
        std::string msg = e.is_object() && e.contains("message") && e["message"].is_string()
                              ? e["message"].get<std::string>()
                              : json::dump(e);
        return Status::error("upstream error mid-stream: " + msg);
      }
      if (chunk.contains("usage") && chunk["usage"].is_object()) {
        usage_ = usageFromOpenAI(chunk["usage"]);
        const auto& choices = chunk.value("choices", nlohmann::json::array());
        // The usage-only chunk exists because we asked for it; a client that did not ask
        // would trip over a chunk with no choices.
        if (!client_wants_usage_ && choices.is_array() && choices.empty()) return {};
      }
    }
    out.emit(data);
    return {};
  }

  Status onEnd(ChunkSink&) override {
    if (!done_) return Status::error("upstream stream ended before [DONE]; the answer is incomplete");
    return {};
  }

 private:
  bool client_wants_usage_;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<StreamDecoder> newOpenAIStreamDecoder(const ProxyCall& call) {
  return std::make_unique<OpenAIStreamDecoder>(call.client_wants_usage);
}

std::unique_ptr<StreamDecoder> OpenAICompatProvider::newStreamDecoder(const ProxyCall& call, const Target&) const {
  return newOpenAIStreamDecoder(call);
}

}  // namespace aigw::providers
