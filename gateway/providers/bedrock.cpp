// AWS Bedrock through the Converse API, natively:
//   https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
//   https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
// POST https://bedrock-runtime.{region}.amazonaws.com/model/{modelId}/converse[-stream], signed
// with SigV4 (service "bedrock"). Request bodies: bedrock_request.cpp; the event stream decoder:
// bedrock_stream.cpp; the binary framing: proxy/aws_eventstream.cpp. Here: URLs, credentials,
// signing, answers, finish reasons, usage and errors.
//
// URL rules (README "bedrock"): the model id is percent-encoded into the path (ids contain ':'
// and ARNs '/'); upstream_url replaces scheme, host and port, and its path (if any) is a prefix
// of /model/{id}/converse; upstream_path replaces the whole path ("{model}" is substituted).
// Region: model.options.bedrock.aws_region, else AWS_REGION, else AWS_DEFAULT_REGION.
// Credentials: auth.aws_access_key_id / aws_secret_access_key, else AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), read per request.
#include "providers/bedrock.hpp"

#include <algorithm>

#include <cstdlib>

#include "core/json.hpp"
#include "providers/builtin.hpp"
#include "providers/common.hpp"
#include "providers/json_fields.hpp"
#include "providers/sigv4.hpp"

namespace aigw::providers {

namespace bedrock {

namespace {

using Json = nlohmann::json;
using wire::field;
using wire::str;
template <typename T>
using ApiResult = Result<T, ApiError>;

constexpr const char* kName = "bedrock";
constexpr const char* kService = "bedrock";

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string regionOf(const Target& t) {
  std::string region = str(field(t.options.blocks, "bedrock"), "aws_region");
  if (region.empty()) region = env("AWS_REGION");
  if (region.empty()) region = env("AWS_DEFAULT_REGION");
  return region;
}

sigv4::Credentials credentialsOf(const Target& t) {
  if (!t.cloud_auth.aws_access_key_id.empty())
    return {t.cloud_auth.aws_access_key_id, t.cloud_auth.aws_secret_access_key, ""};
  return {env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN")};
}

std::string origin(const http::ParsedUrl& u) {
  const bool default_port =
      (u.scheme == "http" && u.port == 80) || (u.scheme == "https" && u.port == 443);
  const bool ipv6 = u.host.find(':') != std::string::npos;
  std::string out = u.scheme + "://" + (ipv6 ? "[" + u.host + "]" : u.host);
  if (!default_port) out += ":" + std::to_string(u.port);
  return out;
}

// The Host header exactly as the upstream client writes it (proxy/upstream.cpp): it is signed.
std::string hostHeader(const http::ParsedUrl& u) {
  const bool ipv6 = u.host.find(':') != std::string::npos;
  std::string host = ipv6 ? "[" + u.host + "]" : u.host;
  if (u.port != (u.scheme == "https" ? 443 : 80)) host += ":" + std::to_string(u.port);
  return host;
}

std::string replaceAll(std::string s, std::string_view from, const std::string& to) {
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

// scheme://host[:port] of upstream_url, or of the region's Bedrock runtime endpoint.
std::string bedrockOrigin(const Target& t, const std::string& region) {
  http::ParsedUrl u;
  if (!t.options.upstream_url.empty() && http::parseUrl(t.options.upstream_url, u))
    return origin(u);
  return "https://bedrock-runtime." + region + ".amazonaws.com";
}

std::string buildUrl(const Target& t, const std::string& region, const std::string& model,
                     bool stream) {
  const std::string encoded = sigv4::uriEncode(model);
  const std::string path = "/model/" + encoded + (stream ? "/converse-stream" : "/converse");
  const auto& o = t.options;
  http::ParsedUrl u;
  const bool has_url = !o.upstream_url.empty() && http::parseUrl(o.upstream_url, u);
  const std::string base =
      has_url ? origin(u) : "https://bedrock-runtime." + region + ".amazonaws.com";
  if (!o.upstream_path.empty()) return base + replaceAll(o.upstream_path, "{model}", encoded);
  if (!has_url) return base + path;
  const auto q = u.target.find('?');
  std::string prefix = u.target.substr(0, q);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return base + prefix + path + (q == std::string::npos ? "" : u.target.substr(q));
}

// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_Errors
// Bedrock names the exception in the x-amzn-ErrorType header and sends {"message": "..."}.
// Without the header the type comes from a "__type"/"code" field when the body has one, else
// from the status this table documents.
struct ErrorType {
  int status;
  const char* name;
};
constexpr ErrorType kErrorTypes[] = {
    {400, "ValidationException"},       {403, "AccessDeniedException"},
    {404, "ResourceNotFoundException"}, {408, "ModelTimeoutException"},
    {424, "ModelErrorException"},       {429, "ThrottlingException"},
    {500, "InternalServerException"},   {503, "ServiceUnavailableException"},
};

// "ThrottlingException" -> "throttling_exception" (OpenAI's error types are snake_case).
std::string snakeCase(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') {
      if (!out.empty()) out += '_';
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

class BedrockProvider : public Provider {
 public:
  explicit BedrockProvider(Clock clock) : clock_(std::move(clock)) {}

  std::string_view name() const override { return kName; }
  Framing framing(const Target&) const override { return Framing::AwsEventStream; }
  bool supports(RouteType type) const override { return type != RouteType::Embeddings; }

  void checkTarget(const Target& t, RouteType,
                   std::vector<std::pair<std::string, std::string>>& errors) const override {
    if (regionOf(t).empty())
      errors.emplace_back("model.options.bedrock.aws_region",
                          "required for provider bedrock (or set the AWS_REGION environment "
                          "variable)");
    const auto& a = t.cloud_auth;
    if (a.aws_access_key_id.empty() != a.aws_secret_access_key.empty())
      errors.emplace_back("auth",
                          "aws_access_key_id and aws_secret_access_key must be set together");
    const Json& block = field(t.options.blocks, "bedrock");
    for (const char* unsupported : {"aws_assume_role_arn", "aws_sts_endpoint_url"})
      if (!str(block, unsupported).empty())
        errors.emplace_back(std::string("model.options.bedrock.") + unsupported,
                            "assuming a role is not supported yet; use access keys");
  }

  bool speaks(NativeApi api) const override { return api == NativeApi::Bedrock; }

  ApiResult<http::UpstreamRequest> buildRequest(const ProxyCall& call,
                                                const Target& t) const override {
    using R = ApiResult<http::UpstreamRequest>;
    const std::string region = regionOf(t);
    if (region.empty())
      return R::failure(ApiError::internal(
          "LLM request failed before proxying: no AWS region; set model.options.bedrock."
          "aws_region or AWS_REGION"));
    const sigv4::Credentials creds = credentialsOf(t);
    if (creds.access_key_id.empty() || creds.secret_access_key.empty())
      return R::failure(ApiError::internal(
          "LLM request failed before proxying: no AWS credentials; set auth.aws_access_key_id "
          "and auth.aws_secret_access_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"));
    const bool preserve = call.route_type == RouteType::Preserve;
    if (!preserve && (call.model.empty() || call.model == "." || call.model == ".."))
      return R::failure(ApiError::badRequest("invalid model name for provider bedrock", "model"));

    http::UpstreamRequest req;
    if (preserve) {
      // The client's path on Bedrock's host, each segment encoded as the Converse paths are,
      // and its query; the request is signed like any other.
      req.url = bedrockOrigin(t, region);
      std::string_view rest =
          t.options.upstream_path.empty() ? call.client_path : t.options.upstream_path;
      while (!rest.empty()) {
        if (rest.front() == '/') rest.remove_prefix(1);
        const auto slash = rest.find('/');
        req.url += "/" + sigv4::uriEncode(std::string(rest.substr(0, slash)));
        rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
      }
      if (!call.client_query.empty()) req.url += "?" + std::string(call.client_query);
      preserveRequest(req, call);
    } else if (call.native == NativeApi::Bedrock) {
      // A Converse client (llm_format bedrock): its operation and body as sent, the model (in
      // the path) the call's; signed like any other request.
      const bool stream = call.native_op == "converse-stream";
      req.url = buildUrl(t, region, call.model, stream);
      ProxyCall as_sent = call;
      as_sent.model.clear();  // Bedrock names the model in the path, never in the body
      as_sent.stream = false;
      req.body = nativeBody(as_sent, t, nullptr);
      req.headers = {{"Content-Type", "application/json"},
                     {"Accept", stream ? "application/vnd.amazon.eventstream" : "application/json"},
                     {"Accept-Encoding", "identity"}};
    } else {
      req.url = buildUrl(t, region, call.model, call.stream);
      auto body = converseBody(*call.body, call.route_type, t.options);
      if (!body) return R::failure(body.error());
      req.body = serializeBody(*body, call);
      req.headers = {
          {"Content-Type", "application/json"},
          {"Accept", call.stream ? "application/vnd.amazon.eventstream" : "application/json"},
          {"Accept-Encoding", "identity"}};
    }

    http::ParsedUrl u;
    if (!http::parseUrl(req.url, u))
      return R::failure(ApiError::internal("LLM request failed before proxying: bad URL"));
    sigv4::Request to_sign;
    to_sign.method = req.method;
    const auto q = u.target.find('?');
    to_sign.path = u.target.substr(0, q);
    if (q != std::string::npos) to_sign.query = u.target.substr(q + 1);
    to_sign.headers = {{"Host", hostHeader(u)}};
    to_sign.payload = req.body;
    auto signed_request = sigv4::sign(to_sign, creds, region, kService, clock_());
    for (auto& h : signed_request.headers) req.headers.push_back(std::move(h));
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
    const Json& content = field(field(field(body, "output"), "message"), "content");
    if (!content.is_array())
      return R::failure(ApiError::badGateway(
          "upstream bedrock returned a response without output.message.content"));
    // Text blocks are consecutive pieces of one answer: joined without a separator.
    Completion answer;
    for (const auto& block : content) {
      if (const Json& t = field(block, "text"); t.is_string()) {
        answer.text += t.get_ref<const std::string&>();
      } else if (const Json& use = field(block, "toolUse"); use.is_object()) {
        answer.tool_calls.push_back(
            toolCallJson(str(use, "toolUseId"), str(use, "name"), field(use, "input")));
      }  // reasoningContent, citations...: no OpenAI counterpart in a chat answer
    }
    const Json& usage = field(body, "usage");
    reply.usage = usageFrom(usage);
    answer.usage = reply.usage;
    answer.finish_reason = finishReason(str(body, "stopReason"));
    if (const Json& total = field(usage, "totalTokens"); total.is_number())
      answer.total_tokens = total.get<long long>();
    reply.body = renderCompletion(call, std::move(answer));
    return reply;
  }

  std::unique_ptr<StreamDecoder> newStreamDecoder(const ProxyCall& call,
                                                  const Target&) const override {
    return bedrock::newStreamDecoder(call);
  }

  ApiError parseErrorResponse(int status, std::string_view body,
                              const http::Headers& headers) const override {
    ApiError err = parseError(status, body);
    for (const auto& h : headers) {
      if (h.name != "x-amzn-errortype" || h.value.empty()) continue;
      const std::string type =
          h.value.substr(0, h.value.find(':'));  // "Type:http://..." on some services
      err.code = type;
      err.type = snakeCase(type);
    }
    return err;
  }

  ApiError parseError(int status, std::string_view body) const override {
    ApiError err = Provider::parseError(status, body);
    Json doc;
    std::string type;
    if (json::parse(body, doc) && doc.is_object()) {
      for (const char* key : {"message", "Message"})
        if (const std::string m = str(doc, key); !m.empty()) err.message = m;
      type = str(doc, "__type");
      if (type.empty()) type = str(doc, "code");
      // "com.amazon.coral.service#ThrottlingException" -> "ThrottlingException"
      if (const auto hash = type.rfind('#'); hash != std::string::npos) type.erase(0, hash + 1);
    }
    if (type.empty())
      for (const auto& e : kErrorTypes)
        if (e.status == status) type = e.name;
    if (!type.empty()) {
      err.code = type;
      err.type = snakeCase(type);
    }
    return err;
  }

 private:
  Clock clock_;
};

}  // namespace

std::unique_ptr<Provider> newProvider(Clock clock) {
  return std::make_unique<BedrockProvider>(std::move(clock));
}

// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_ResponseSyntax
// (stopReason). Every value maps into OpenAI's set; Kong passes "guardrail_intervened" and
// unknown values through.
std::string finishReason(std::string_view stop_reason) {
  static constexpr std::pair<std::string_view, const char*> kTable[] = {
      {"end_turn", "stop"},
      {"stop_sequence", "stop"},
      {"max_tokens", "length"},
      {"model_context_window_exceeded", "length"},
      {"tool_use", "tool_calls"},
      {"guardrail_intervened", "content_filter"},
      {"content_filtered", "content_filter"},
  };
  for (const auto& [bedrock, openai] : kTable)
    if (bedrock == stop_reason) return openai;
  return "stop";  // malformed_model_output, malformed_tool_use, and values added later
}

// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html
Usage usageFrom(const Json& usage) {
  Usage u;
  if (!usage.is_object()) return u;
  auto num = [&](const char* key) -> long long {
    const Json& v = field(usage, key);
    return v.is_number() ? v.get<long long>() : -1;
  };
  u.cached_tokens = num("cacheReadInputTokens");
  u.cache_write_tokens = num("cacheWriteInputTokens");
  if (const long long input = num("inputTokens"); input >= 0)
    u.prompt_tokens = input + std::max(0LL, u.cached_tokens) + std::max(0LL, u.cache_write_tokens);
  u.completion_tokens = num("outputTokens");
  return u;
}

Json usageJsonFrom(const Json& usage) {
  Json out = usageJson(usageFrom(usage));
  if (const Json& total = field(usage, "totalTokens"); total.is_number())
    out["total_tokens"] = total;
  return out;
}

}  // namespace bedrock

const Provider& builtin::bedrock() {
  static const std::unique_ptr<Provider> provider =
      bedrock::newProvider([] { return std::chrono::system_clock::now(); });
  return *provider;
}

}  // namespace aigw::providers
