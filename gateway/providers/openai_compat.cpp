#include "providers/openai_compat.hpp"

#include "core/json.hpp"
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

// Reads only what the gateway needs from an OpenAI-shaped answer that goes back byte for
// byte: which top-level keys exist and the usage counts (with their details). A SAX pass
// builds no document, so a passed-through answer costs no allocations beyond the key strings.
class PassThroughScan : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool is_object = false;
  bool has_choices = false, has_data = false;
  Usage usage;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t v) override { return count(static_cast<long long>(v)); }
  bool number_unsigned(number_unsigned_t v) override { return count(static_cast<long long>(v)); }
  bool number_float(number_float_t v, const string_t&) override {
    return count(static_cast<long long>(v));
  }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    if (depth_ == 0) is_object = true;
    // usage (depth 1), then its details objects (depth 2)
    if (depth_ == 1) in_usage_ = key_[1] == "usage";
    if (depth_ == 2 && in_usage_) details_ = key_[2];
    ++depth_;
    return depth_ <= json::kMaxDepth;
  }
  bool end_object() override {
    --depth_;
    if (depth_ == 1) in_usage_ = false;
    if (depth_ == 2) details_.clear();
    return true;
  }
  bool start_array(std::size_t) override {
    ++depth_;
    return depth_ <= json::kMaxDepth;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool key(string_t& k) override {
    if (depth_ == 1) {
      has_choices |= k == "choices";
      has_data |= k == "data";
    }
    if (depth_ <= 3) key_[depth_] = k;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool count(long long v) {
    if (!in_usage_) return true;
    const std::string& k = key_[depth_];
    if (depth_ == 2) {
      if (k == "prompt_tokens") usage.prompt_tokens = v;
      if (k == "completion_tokens") usage.completion_tokens = v;
    } else if (depth_ == 3) {
      if (details_ == "prompt_tokens_details" && k == "cached_tokens") usage.cached_tokens = v;
      if (details_ == "prompt_tokens_details" && k == "cache_write_tokens")
        usage.cache_write_tokens = v;
      if (details_ == "completion_tokens_details" && k == "reasoning_tokens")
        usage.reasoning_tokens = v;
    }
    return true;
  }
  int depth_ = 0;
  bool in_usage_ = false;
  std::string key_[4];  // the key last seen at each depth 1..3
  std::string details_;
};

}  // namespace

Result<ProviderReply, ApiError> OpenAICompatProvider::parseResponse(const ProxyCall& call,
                                                                    std::string& body,
                                                                    const Target&) const {
  using R = Result<ProviderReply, ApiError>;
  PassThroughScan scan;
  if (!nlohmann::json::sax_parse(body, &scan) || !scan.is_object)
    return R::failure(ApiError::badGateway("upstream " + spec_.name +
                                           " returned a response that is not a JSON object"));
  const bool embeddings = call.route_type == RouteType::Embeddings;
  if (call.route_type != RouteType::Preserve && !(embeddings ? scan.has_data : scan.has_choices)) {
    return R::failure(ApiError::badGateway("upstream " + spec_.name +
                                           " returned a response without '" +
                                           (embeddings ? "data" : "choices") + "' for " +
                                           std::string(routeTypeName(call.route_type))));
  }
  ProviderReply reply;
  reply.usage = scan.usage;
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
    } else if (!json::isObject(data)) {
      return Status::error("upstream sent a stream event that is not JSON");
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
