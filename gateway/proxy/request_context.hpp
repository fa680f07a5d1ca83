// Per-request state shared by the plugin phases: the client request, the config snapshot it
// runs on, the body parsed once, what ai-proxy decided, usage and timings.
// Thread-safety: one request, one loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "core/api_error.hpp"
#include "http/message.hpp"
#include "providers/provider.hpp"
#include "proxy/auth_spec.hpp"
#include "proxy/llm_call.hpp"
#include "proxy/upstream.hpp"

namespace aigw::formats {
class ClientFormat;
}

namespace aigw::proxy {

struct RequestContext;
class Balancer;
class Deferred;
struct RetryPolicy;

// ai-proxy-advanced's targets as the core's attempt loop sees them (proxy/ai_exchange.hpp):
// the balancer that picks one, the retry policy, and a way to point ctx.ai at a target.
// Implemented by the plugin, which outlives every request that uses it.
class TargetSet {
 public:
  virtual ~TargetSet() = default;
  virtual const Balancer& balancer() const = 0;
  virtual const RetryPolicy& retryPolicy() const = 0;
  // The request header whose value keys consistent-hashing ("" = none).
  virtual const std::string& hashHeader() const = 0;
  // Re-points ctx.ai at target `index` (its provider, credential, model, options, timeouts),
  // checking the request against it as ai-proxy does; the error when that target cannot take
  // it. Keeps ctx.ai's targets, allowed_targets and client_model.
  virtual std::optional<ApiError> select(RequestContext& ctx, int index) const = 0;
};

// One upstream attempt, for the access log and /metrics.
struct AttemptRecord {
  std::string provider, model;
  int target = -1;      // ai-proxy-advanced's target index; -1 for ai-proxy
  int status = 0;       // the provider's HTTP status; 0 when there was none
  std::string outcome;  // "ok", "error", "timeout", "invalid", "http_<status>"
  double latency_ms = 0;
};

// What ai-proxy decided in the access phase; the core builds the upstream request from it
// (proxy/ai_request.hpp, after refreshing any minted credential) and performs the exchange.
struct AiCall {
  const providers::Provider* provider = nullptr;
  const providers::Target* target = nullptr;
  const AuthSpec* auth = nullptr;  // owned by the plugin, which outlives the request
  std::string provider_name;       // as configured, for X-Kong-LLM-Model and logs
  providers::ProxyCall call;
  // The client's API (formats/format.hpp). Unless the call is a native pass-through, the
  // provider's OpenAI answer is converted into it (echoing `client_model`, below);
  // `client_body` is the client's original request (call.body is then the hub body made from it).
  const formats::ClientFormat* format = nullptr;
  std::shared_ptr<const nlohmann::json> client_body;
  // The answer goes back byte for byte (native pass-through, preserve); see handler_relay.cpp.
  bool relay = false;
  // The client's body text when a plugin rewrote it (call.raw_body points here or into the
  // request).
  std::shared_ptr<const std::string> raw_body;
  UpstreamTimeouts timeouts;
  bool model_name_header = true;
  // Configured credential values of this call, masked wherever an error could echo them
  // (see proxy/redact.hpp); the credential headers of the upstream request are masked as well.
  std::vector<std::string> secrets;

  // ai-proxy-advanced: the targets the core balances and fails over between (null for
  // ai-proxy), the one this call points at, which ones the request may use (a model_alias the
  // client asked for), and the model the client sent (each target's own model replaces it).
  const TargetSet* targets = nullptr;
  int target_index = -1;
  std::uint64_t allowed_targets = ~std::uint64_t{0};
  std::string client_model;
};

// A whole answer: what a plugin sends instead of the upstream (access phase), or the
// non-streamed answer the response phase reads and rewrites. Header names are as written.
struct Reply {
  int status = 200;
  Headers headers;
  std::string body;
  // First header with this (case-insensitive) name, or null; set replaces or adds one.
  const std::string* header(std::string_view name) const;
  void setHeader(std::string_view name, std::string value);
  void removeHeader(std::string_view name);
};

struct RequestContext {
  RequestContext(const http::Request& req, std::shared_ptr<const config::Config> snapshot)
      : request(req), config(std::move(snapshot)) {}

  const http::Request& request;
  std::shared_ptr<const config::Config> config;
  int route = -1;  // index into config->routes
  // Bytes at the start of the path that the route's path (prefix or regex) matched: what
  // strip_path takes off before the request goes to the route's service.
  std::size_t route_matched = 0;
  // The plugins in effect: the route's, then, once an authentication plugin has identified the
  // consumer, the consumer's (config::Config::chainFor). Set by the access phase.
  const config::Chain* chain = nullptr;

  // Who is calling, set by an authentication plugin (key-auth): indexes into config->consumers
  // and config->keyauth_credentials; -1 = not identified / no credential (anonymous).
  int consumer = -1;
  int credential = -1;
  // Where the client's gateway key was found, so it never travels upstream with an AI call:
  // the header's or query parameter's name (as configured), and the query without it.
  std::string credential_header, credential_query;
  std::optional<std::string> query_without_credential;
  // key-auth's hide_credentials: an ordinary service does not see the key either (an AI
  // upstream never does).
  bool hide_credential = false;
  // The client's query string (without '?') as an upstream may see it.
  std::string_view clientQuery() const;

  // The body, parsed at most once (ensureBody()); plugins that rewrite it edit it in place
  // (and set body_edited) before ai-proxy, which runs last in the access phase, or replace
  // its text with setRawBody().
  nlohmann::json body;
  bool body_parsed = false;
  bool body_edited = false;  // `body` was changed: upstreamBody() serialises it
  // The client's body before a client format (llm_format, the Responses API) turned `body` into
  // a hub body; each target of ai-proxy-advanced translates from it again.
  std::shared_ptr<const nlohmann::json> client_body;
  std::string body_error;  // why the body is not JSON, when parsing failed
  bool ensureBody();
  // The body as text: the client's, or what a plugin replaced it with.
  std::string_view rawBody() const { return raw_body ? *raw_body : std::string_view(request.body); }
  // Replaces the body text (templates, transformers); ensureBody() parses the new text.
  void setRawBody(std::string text);
  // What an ordinary upstream gets: the edited JSON, or the (possibly replaced) text.
  std::string upstreamBody() const;
  // Frees the parsed body and any replaced text (ensureBody() then fails). The core calls it
  // when an answer begins streaming: plugins read the body in the access phase and every
  // attempt has been built, and thousands of long streams should not each keep their prompt.
  void releaseBody();

  std::optional<AiCall> ai;
  // The API the route's client speaks (ai-proxy sets it first thing), so that errors reach it
  // in its own shape; null = OpenAI's.
  const formats::ClientFormat* client_format = nullptr;
  std::optional<ApiError> error;  // set by a plugin that ends the request
  std::optional<Reply> reply;     // set by a plugin that answers instead of the upstream
  Headers response_headers;       // added to the client response

  // Pipeline state (proxy/pipeline.hpp): how many access hooks ran (the response and chunk
  // phases run for those), and a hook's pending LLM call and its result.
  std::size_t access_ran = 0;
  std::optional<LlmRequest> llm_request;
  std::optional<LlmResult> llm_result;
  // A hook's work on another thread (Verdict::Await; proxy/deferred.hpp).
  std::shared_ptr<Deferred> deferred;
  // State a plugin keeps between its hooks for this request (a rate limiter's reservation),
  // keyed by the plugin object.
  std::vector<std::pair<const void*, std::shared_ptr<void>>> plugin_state;
  template <typename T>
  std::shared_ptr<T> stateOf(const void* owner) const {
    for (const auto& [who, state] : plugin_state)
      if (who == owner) return std::static_pointer_cast<T>(state);
    return nullptr;
  }
  // Extra access-log fields a plugin's config asked for (Kong's kong.log.set_serialize_value),
  // e.g. {"ai": {"payload": {"original_request": ...}}}; merged into the access-log record.
  nlohmann::json log_fields = nlohmann::json::object();

  providers::Usage usage;
  // Every upstream attempt of an AI call, in order (several with ai-proxy-advanced's failover).
  std::vector<AttemptRecord> attempts;
  // A streamed answer's attempt stays open on its target (least-connections, latency, usage)
  // until the stream ends; settled by the core's log step.
  struct OpenAttempt {
    const Balancer* balancer = nullptr;
    int target = -1;
    std::chrono::steady_clock::time_point since;
    bool failed = false;  // the stream broke (counts against the target's health)
  } open_attempt;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  double first_byte_ms = -1;  // streams: when the first chunk reached the client
  int status = 0;             // what the client got
  std::string outcome;        // error text when the request failed (never secrets)

 private:
  std::optional<std::string> raw_body;
};

}  // namespace aigw::proxy
