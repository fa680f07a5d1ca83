// Google Gemini, natively: the Generative Language API and Vertex AI.
//   https://ai.google.dev/api/generate-content                (generateContent, streaming)
//   https://ai.google.dev/api/embeddings#method:-models.batchembedcontents
//   https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/inference
// OpenAI chat in, GenerateContentRequest out; GenerateContentResponse in, chat.completion out.
// Streams use ?alt=sse, so the proxy's SSE framer applies (gemini_stream.cpp decodes).
// Request bodies: gemini_request.cpp. Here: URLs, credentials, config checks, answers, errors.
// Unlike Kong's driver (notes/kong-ai-gateway.md §2.8) every part of a candidate is read and
// every finish reason is mapped.
#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "core/json.hpp"
#include "providers/builtin.hpp"
#include "providers/common.hpp"
#include "providers/gemini.hpp"
#include "providers/gemini_auth.hpp"
#include "providers/json_fields.hpp"

namespace aigw::providers::builtin {

namespace {

using Json = nlohmann::json;
using JsonResult = Result<Json, ApiError>;

constexpr const char* kName = "gemini";
constexpr const char* kDefaultBase = "https://generativelanguage.googleapis.com";
constexpr const char* kVertexFields[] = {"api_endpoint", "project_id", "location_id"};

// ---- where to send it ----

struct Vertex {
  std::string api_endpoint, project_id, location_id;
  bool enabled() const { return !api_endpoint.empty(); }
};

Vertex vertexOf(const Target& t) {
  Vertex v;
  const Json block = t.options.blocks.value("gemini", Json::object());
  if (!block.is_object()) return v;
  v.api_endpoint = wire::str(block, "api_endpoint");
  v.project_id = wire::str(block, "project_id");
  v.location_id = wire::str(block, "location_id");
  return v;
}

// "models/x" is accepted as "x"; tuned models keep their own collection. Characters that
// would change the URL's meaning are refused instead of escaped.
Result<std::string, ApiError> modelId(const std::string& model) {
  std::string id = model.rfind("models/", 0) == 0 ? model.substr(7) : model;
  const std::string_view rest =
      id.rfind("tunedModels/", 0) == 0 ? std::string_view(id).substr(12) : id;
  const bool ok = !rest.empty() && std::all_of(rest.begin(), rest.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '@';
  });
  if (!ok)
    return Result<std::string, ApiError>::failure(
        ApiError::badRequest("invalid model name for provider gemini", "model"));
  return id;
}

std::string standardPath(const Vertex& v, const std::string& model_id, std::string_view op) {
  if (v.enabled())
    return "/v1/projects/" + v.project_id + "/locations/" + v.location_id +
           "/publishers/google/models/" + model_id + ":" + std::string(op);
  if (model_id.rfind("tunedModels/", 0) == 0) return "/v1beta/" + model_id + ":" + std::string(op);
  return "/v1beta/models/" + model_id + ":" + std::string(op);
}

std::string defaultBase(const Vertex& v) {
  if (!v.enabled()) return kDefaultBase;
  std::string base = v.api_endpoint.find("://") == std::string::npos ? "https://" + v.api_endpoint
                                                                     : v.api_endpoint;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

std::string origin(const http::ParsedUrl& u) {
  const bool default_port =
      (u.scheme == "http" && u.port == 80) || (u.scheme == "https" && u.port == 443);
  const bool ipv6 = u.host.find(':') != std::string::npos;
  std::string out = u.scheme;
  out.append("://").append(ipv6 ? "[" : "").append(u.host).append(ipv6 ? "]" : "");
  if (!default_port) out.append(":").append(std::to_string(u.port));
  return out;
}

std::string replaceAll(std::string s, std::string_view from, const std::string& to) {
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

// The URL rules (README "gemini"): default endpoint, or
//  - upstream_path: used as the path, "{model}" replaced;
//  - upstream_url with "{model}": replaced, then ":<operation>" appended;
//  - upstream_url whose path ends in "/models": "/<model>:<operation>" appended;
//  - any other upstream_url: its path is a prefix for the standard path.
// The upstream_url's query is kept; streaming adds alt=sse.
std::string buildUrl(const Target& t, const Vertex& v, const std::string& model_id,
                     std::string_view op, bool stream) {
  const auto& o = t.options;
  http::ParsedUrl u;
  const bool has_url = !o.upstream_url.empty() && http::parseUrl(o.upstream_url, u);
  std::string url;
  if (!o.upstream_path.empty()) {
    url = (has_url ? origin(u) : defaultBase(v)) + replaceAll(o.upstream_path, "{model}", model_id);
  } else if (!has_url) {
    url = defaultBase(v) + standardPath(v, model_id, op);
  } else {
    const auto q = u.target.find('?');
    std::string path = u.target.substr(0, q);
    const std::string query = q == std::string::npos ? "" : u.target.substr(q);
    if (path.find("{model}") != std::string::npos) {
      path = replaceAll(path, "{model}", model_id) + ":" + std::string(op);
    } else {
      while (!path.empty() && path.back() == '/') path.pop_back();
      const std::string_view models = "/models";
      if (path.size() >= models.size() &&
          path.compare(path.size() - models.size(), models.size(), models) == 0)
        path += "/" + model_id + ":" + std::string(op);
      else
        path += standardPath(v, model_id, op);
    }
    url = origin(u) + path + query;
  }
  if (stream) url.append(url.find('?') == std::string::npos ? "?" : "&").append("alt=sse");
  return url;
}

std::string serviceAccountJson(const Target& t) {
  if (!t.cloud_auth.gcp_service_account_json.empty()) return t.cloud_auth.gcp_service_account_json;
  const char* env = std::getenv("GCP_SERVICE_ACCOUNT");
  return env ? env : "";
}

class GeminiProvider : public Provider {
 public:
  std::string_view name() const override { return kName; }
  bool supports(RouteType) const override { return true; }

  void checkTarget(const Target& t, RouteType,
                   std::vector<std::pair<std::string, std::string>>& errors) const override {
    const Json block = t.options.blocks.value("gemini", Json::object());
    int set = 0;
    for (const char* f : kVertexFields) set += !wire::str(block, f).empty();
    if (set != 0 && set != 3) {
      for (const char* f : kVertexFields) {
        if (wire::str(block, f).empty())
          errors.emplace_back(std::string("model.options.gemini.") + f,
                              "Vertex AI needs api_endpoint, project_id and location_id together; "
                              "leave all three out for the Gemini API");
      }
    }
    if (t.cloud_auth.gcp_use_service_account) {
      const std::string sa = serviceAccountJson(t);
      if (sa.empty()) {
        errors.emplace_back("auth.gcp_service_account_json",
                            "required when auth.gcp_use_service_account is true (or set the "
                            "GCP_SERVICE_ACCOUNT environment variable)");
      } else if (auto source = token_sources_.get(sa); !source) {
        errors.emplace_back("auth.gcp_service_account_json", source.error());
      }
    }
  }

  bool speaks(NativeApi api) const override { return api == NativeApi::Gemini; }

  Result<http::UpstreamRequest, ApiError> buildRequest(const ProxyCall& call,
                                                       const Target& t) const override {
    using R = Result<http::UpstreamRequest, ApiError>;
    const Json& in = *call.body;
    const Vertex vertex = vertexOf(t);
    http::UpstreamRequest req;
    req.headers = jsonRequestHeaders(call.stream);
    if (call.native == NativeApi::Gemini) {
      // A Gemini client (llm_format gemini): its operation and body as sent, the model (in the
      // path) the call's, options not filled in (they live in generationConfig, the client's).
      auto id = modelId(call.model);
      if (!id) return R::failure(id.error());
      req.url = buildUrl(t, vertex, *id, call.native_op, call.native_op == "streamGenerateContent");
      ProxyCall as_sent = call;
      as_sent.model.clear();  // Gemini names the model in the path, never in the body
      as_sent.stream = false;
      req.body = nativeBody(as_sent, t, nullptr);
    } else if (call.route_type == RouteType::Preserve) {
      req.url = resolveUrl(t, defaultBase(vertex), call);
      preserveRequest(req, call);
    } else {
      auto id = modelId(call.model);
      if (!id) return R::failure(id.error());
      JsonResult body = call.route_type == RouteType::Embeddings ? gemini::embeddingBody(in, *id)
                        : call.route_type == RouteType::Completions
                            ? gemini::completionBody(in, t.options)
                            : gemini::chatBody(in, t.options);
      if (!body) return R::failure(body.error());
      const char* op = call.route_type == RouteType::Embeddings ? "batchEmbedContents"
                       : call.stream                            ? "streamGenerateContent"
                                                                : "generateContent";
      req.url = buildUrl(t, vertex, *id, op, call.stream);
      req.body = serializeBody(*body, call);
    }
    if (t.cloud_auth.gcp_use_service_account) {
      // The proxy refreshed the token (credentialSource) before calling us.
      auto source = token_sources_.get(serviceAccountJson(t));
      std::string token = source ? (*source)->cachedToken() : std::string();
      if (token.empty())
        return R::failure(ApiError::internal(
            "LLM request failed before proxying: " +
            (source ? std::string("no service-account access token") : source.error())));
      req.headers.push_back({"Authorization", "Bearer " + token});
    }
    return req;
  }

  std::shared_ptr<CredentialSource> credentialSource(const Target& t) const override {
    if (!t.cloud_auth.gcp_use_service_account) return nullptr;
    auto source = token_sources_.get(serviceAccountJson(t));
    return source ? *source : nullptr;
  }

  Result<ProviderReply, ApiError> parseResponse(const ProxyCall& call, std::string& raw,
                                                const Target&) const override {
    using R = Result<ProviderReply, ApiError>;
    ProviderReply reply;
    if (call.route_type == RouteType::Preserve) {
      reply.body = std::move(raw);
      return reply;
    }
    auto parsed = parseUpstreamJson(raw, kName);
    if (!parsed) return R::failure(parsed.error());
    const Json& body = *parsed;
    const Json meta = body.value("usageMetadata", Json::object());
    reply.usage = gemini::usageFrom(meta);
    Json out;
    if (call.route_type == RouteType::Embeddings) {
      if (!body.contains("embeddings") || !body["embeddings"].is_array())
        return R::failure(ApiError::badGateway("upstream gemini returned no 'embeddings'"));
      Json data = Json::array();
      for (const auto& e : body["embeddings"])
        data.push_back({{"object", "embedding"},
                        {"index", data.size()},
                        {"embedding", wire::field(e, "values")}});
      reply.usage.completion_tokens = 0;
      const long long prompt = reply.usage.prompt_tokens > 0 ? reply.usage.prompt_tokens : 0;
      out = {{"object", "list"},
             {"data", std::move(data)},
             {"model", call.model},
             {"usage", {{"prompt_tokens", prompt}, {"total_tokens", prompt}}}};
      reply.body = json::dump(out);
      return reply;
    }
    const bool chat = call.route_type == RouteType::Chat;
    const Json candidates = body.value("candidates", Json::array());
    Json choices = Json::array();
    if (!candidates.is_array() || candidates.empty()) {
      // A prompt Gemini refuses to answer has no candidates, only promptFeedback.blockReason.
      // It is reported as a normal, empty answer with finish_reason content_filter (what
      // OpenAI does when its own filter stops an answer), not as an error: the request was
      // valid and the client can show the refusal.
      const Json feedback = body.value("promptFeedback", Json::object());
      if (!feedback.is_object() || !feedback.contains("blockReason"))
        return R::failure(ApiError::badGateway("upstream gemini returned no candidates"));
      Json choice = {{"index", 0}, {"finish_reason", "content_filter"}};
      if (chat)
        choice["message"] = {{"role", "assistant"}, {"content", ""}};
      else
        choice["text"] = "";
      choices.push_back(std::move(choice));
    }
    for (std::size_t k = 0; k < candidates.size(); ++k) {
      const Json& cand = candidates[k];
      if (!cand.is_object())
        return R::failure(ApiError::badGateway("upstream gemini returned a malformed candidate"));
      const std::string text = gemini::candidateText(cand);
      Json calls = chat ? gemini::candidateToolCalls(cand) : Json::array();
      Json choice = {
          {"index", wire::integer(cand, "index", static_cast<long long>(k))},
          {"finish_reason", gemini::finishReason(wire::str(cand, "finishReason"), !calls.empty())}};
      if (chat) {
        Json message = {{"role", "assistant"},
                        {"content", text.empty() && !calls.empty() ? Json() : Json(text)}};
        if (!calls.empty()) message["tool_calls"] = std::move(calls);
        choice["message"] = std::move(message);
      } else {
        choice["text"] = text;
      }
      choices.push_back(std::move(choice));
    }
    out = {{"id", newCompletionId(chat ? "chatcmpl-" : "cmpl-")},
           {"object", chat ? "chat.completion" : "text_completion"},
           {"created", unixNow()},
           {"model", call.model},
           {"choices", std::move(choices)},
           {"usage", gemini::usageJsonFrom(meta)}};
    reply.body = json::dump(out);
    return reply;
  }

  std::unique_ptr<StreamDecoder> newStreamDecoder(const ProxyCall& call,
                                                  const Target&) const override {
    return gemini::newStreamDecoder(call);
  }

  // https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes :
  // {"error": {"code": 400, "message": "...", "status": "INVALID_ARGUMENT"}}
  ApiError parseError(int status, std::string_view body) const override {
    Json doc;
    if (json::parse(body, doc)) {
      const Json& e = doc.is_array() && !doc.empty() ? doc[0] : doc;
      if (e.is_object() && e.contains("error") && e["error"].is_object()) {
        ApiError err = Provider::parseError(status, "");
        err.message = gemini::errorMessage(doc);
        const std::string code = wire::str(e["error"], "status");
        if (!code.empty()) {
          err.code = code;
          err.type = code;
          std::transform(err.type.begin(), err.type.end(), err.type.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        }
        if (!err.message.empty()) return err;
      }
    }
    return Provider::parseError(status, body);
  }

 private:
  mutable gcp::TokenSources token_sources_;
};

}  // namespace

const Provider& gemini() {
  static const GeminiProvider provider;
  return provider;
}

}  // namespace aigw::providers::builtin
