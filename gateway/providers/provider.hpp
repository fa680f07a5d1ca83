// The provider interface: how one LLM vendor's wire format maps to and from OpenAI's.
// A provider is data plus small pure functions: build the upstream request, parse a response,
// decode a stream. No HTTP and no logging inside. Framing of streams (SSE, NDJSON, ...) is
// declared here and done by the proxy; the provider's StreamDecoder only sees whole events.
//
// Thread-safety: Provider objects are built once, immutable and shared by all threads.
// A StreamDecoder is created per upstream stream and used by one thread only.
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/api_error.hpp"
#include "core/result.hpp"
#include "http/message.hpp"

namespace aigw::providers {

enum class RouteType { Chat, Completions, Embeddings, Preserve };
std::string_view routeTypeName(RouteType t);  // "llm/v1/chat", ...

enum class Framing { Sse, NdJson, JsonArray, AwsEventStream };

// A provider's own API, when a client speaks it (ai-proxy's llm_format, the Responses route):
// the call is then a native pass-through instead of a translation from the OpenAI hub.
enum class NativeApi { None, Anthropic, Responses, Gemini, Bedrock, Cohere };

// config.model.options (Kong's names); unset values are std::nullopt / empty.
struct ModelOptions {
  std::optional<long long> max_tokens;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<long long> top_k;
  std::optional<double> input_cost;   // per 1M prompt tokens
  std::optional<double> output_cost;  // per 1M completion tokens
  // Per 1M prompt tokens read from / written to the provider's prompt cache (aigw's own
  // options; Kong's open-source ai-proxy has none); unset = those tokens cost input_cost.
  std::optional<double> cache_read_cost;
  std::optional<double> cache_write_cost;
  std::string anthropic_version;
  std::string azure_instance;
  std::string azure_deployment_id;
  std::string azure_api_version;
  std::string llama2_format;
  std::string mistral_format;
  std::string upstream_url;
  std::string upstream_path;
  nlohmann::json blocks = nlohmann::json::object();  // gemini / bedrock / huggingface / mock
};

// Credentials a provider signs or mints itself (config.auth; header/param auth is generic and
// applied by ai-proxy after buildRequest).
struct CloudAuth {
  std::string aws_access_key_id;      // else env AWS_ACCESS_KEY_ID
  std::string aws_secret_access_key;  // else env AWS_SECRET_ACCESS_KEY
  bool gcp_use_service_account = false;
  std::string gcp_service_account_json;  // else env GCP_SERVICE_ACCOUNT
};

// Where and as whom to call; built from an ai-proxy config at load time, then immutable.
struct Target {
  std::string provider;  // registry name
  std::string model;     // configured model name, empty = the request's
  ModelOptions options;
  CloudAuth cloud_auth;
};

// One client call, after ai-proxy's checks: `body` already has options filled in and `model`
// set; providers translate from it and never modify it (retries rebuild from it).
struct ProxyCall {
  RouteType route_type = RouteType::Chat;
  bool stream = false;
  bool client_wants_usage = false;  // stream_options.include_usage as the client sent it
  std::string model;                // effective model name
  const nlohmann::json* body = nullptr;
  std::string_view client_path;   // for route_type preserve
  std::string_view client_query;  // raw query string without '?', may be empty
  // auth.param_location = body: a top-level field added to the upstream JSON body.
  std::string_view body_auth_name;
  std::string_view body_auth_value;

  // Native pass-through (native != None) and preserve: the client's body text goes upstream as
  // written, apart from model, options and credentials (for preserve: credentials only).
  NativeApi native = NativeApi::None;
  std::string_view native_op;  // Anthropic: "messages" or "count_tokens"
  // The client's body text (may be empty: a GET). Also set for an OpenAI-shaped call whose
  // `body` is exactly this text parsed, so OpenAI-compatible providers can splice it.
  std::string_view raw_body;
  std::string_view client_method;  // preserve: the client's method (GET stays GET)
  std::string_view client_content_type;
  std::string_view client_accept;
};

// Token counts as OpenAI reports them; -1 = the provider did not say.
struct Usage {
  long long prompt_tokens = -1;  // all input, cached or not
  long long completion_tokens = -1;
  // Parts of the counts above (OpenAI's prompt_tokens_details / completion_tokens_details).
  long long cached_tokens = -1;       // prompt tokens read from the provider's prompt cache
  long long cache_write_tokens = -1;  // prompt tokens written to it (Anthropic, Bedrock)
  long long reasoning_tokens = -1;    // completion tokens spent thinking
  bool known() const { return prompt_tokens >= 0 || completion_tokens >= 0; }
  long long total() const {
    return (prompt_tokens > 0 ? prompt_tokens : 0) +
           (completion_tokens > 0 ? completion_tokens : 0);
  }
  // Streams report usage in pieces (Anthropic: input at the start, output at the end); each
  // count `later` knows replaces ours.
  void merge(const Usage& later) {
    for (auto [mine, theirs] : {std::pair{&prompt_tokens, later.prompt_tokens},
                                {&completion_tokens, later.completion_tokens},
                                {&cached_tokens, later.cached_tokens},
                                {&cache_write_tokens, later.cache_write_tokens},
                                {&reasoning_tokens, later.reasoning_tokens}})
      if (theirs >= 0) *mine = theirs;
  }
};

// A translated, OpenAI-shaped answer ready for the client.
struct ProviderReply {
  std::string body;  // JSON text
  Usage usage;
};

// An in-process answer (the mock provider): the body in pieces, each after a delay, so the
// proxy can play it out on its event loop like a real upstream's stream.
struct LocalReply {
  int status = 200;
  http::Headers headers;
  std::vector<std::string> pieces;
  int first_delay_ms = 0;                 // before the first piece
  std::chrono::microseconds interval{0};  // between later pieces
};

// A credential a provider mints over the network (Vertex AI service-account tokens). The proxy
// keeps it fresh before it builds a request: when fresh() is false it sends refreshRequest()
// upstream and hands the answer to acceptRefresh(). buildRequest then reads the cached value.
// Thread-safety: implementations are shared by all loops and must be thread-safe.
class CredentialSource {
 public:
  virtual ~CredentialSource() = default;
  virtual bool fresh() const = 0;
  virtual Result<http::UpstreamRequest> refreshRequest() const = 0;
  virtual Status acceptRefresh(int status, std::string_view body) = 0;
};

// Receives OpenAI-shaped stream chunks (JSON text, without the "data: " framing).
class ChunkSink {
 public:
  virtual ~ChunkSink() = default;
  // Returns false when the client has gone; the decoder should stop producing.
  virtual bool emit(std::string_view chunk_json) = 0;
};

class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  // One framed upstream event: SSE (event name may be empty) or one NDJSON line / array element.
  virtual Status onEvent(std::string_view event, std::string_view data, ChunkSink& out) = 0;
  // The upstream body ended. Must return an error when the stream ended before its natural end
  // (no [DONE], no message_stop, no done:true), so a truncated answer never looks complete.
  virtual Status onEnd(ChunkSink& out) = 0;
  const Usage& usage() const { return usage_; }

 protected:
  Usage usage_;
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string_view name() const = 0;
  virtual Framing framing(const Target&) const { return Framing::Sse; }
  // Route types this provider can translate (preserve is always allowed).
  virtual bool supports(RouteType type) const = 0;
  // Client APIs this provider takes unchanged (ProxyCall::native); buildRequest handles them.
  virtual bool speaks(NativeApi) const { return false; }
  // Config-time checks beyond the schema (e.g. azure needs azure_instance); message per field.
  virtual void checkTarget(const Target&, RouteType,
                           std::vector<std::pair<std::string, std::string>>&) const {}

  virtual Result<http::UpstreamRequest, ApiError> buildRequest(const ProxyCall&,
                                                               const Target&) const = 0;
  // Translates a 2xx body; `body` may be moved from.
  virtual Result<ProviderReply, ApiError> parseResponse(const ProxyCall&, std::string& body,
                                                        const Target&) const = 0;
  virtual std::unique_ptr<StreamDecoder> newStreamDecoder(const ProxyCall&,
                                                          const Target&) const = 0;
  // Turns a non-2xx upstream answer into the client's error; the status is kept.
  virtual ApiError parseError(int status, std::string_view body) const;
  // The same with the response headers, for providers that put the error type there
  // (Bedrock's x-amzn-ErrorType); the proxy calls this one.
  virtual ApiError parseErrorResponse(int status, std::string_view body,
                                      const http::Headers& headers) const {
    (void)headers;
    return parseError(status, body);
  }

  // An in-process answer instead of an HTTP exchange (the mock provider); none = go upstream.
  virtual std::optional<LocalReply> localExchange(const http::UpstreamRequest&) const {
    return std::nullopt;
  }
  // A credential the proxy must keep fresh before buildRequest (null = none).
  virtual std::shared_ptr<CredentialSource> credentialSource(const Target&) const {
    return nullptr;
  }
};

// The registry: the one table of providers. Lookup returns null for unknown names.
const Provider* findProvider(std::string_view name);
// The implementation for a configured provider, taking format options into account
// (mistral_format / llama2_format "ollama" select the Ollama wire format). Called at load.
const Provider* resolveProvider(std::string_view name, const ModelOptions& options);
std::vector<std::string> providerNames();

}  // namespace aigw::providers
