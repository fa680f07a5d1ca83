// Helpers every provider shares: option fill-in, upstream URL resolution, the OpenAI-shaped
// output builders (completion and chunk objects), usage and error mapping.
// Thread-safety: pure functions.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "providers/provider.hpp"

namespace aigw::providers {

// Which of Kong's model options a wire format accepts, and under which request key.
struct OptionKeys {
  const char* max_tokens = "max_tokens";
  const char* temperature = "temperature";
  const char* top_p = "top_p";
  const char* top_k = nullptr;  // OpenAI has no top_k
};

// Fills configured options into `body` where the client left them out (the client's own value
// wins, BRIEF §4). `into` is the object receiving them (body itself, or a nested one).
void applyOptions(nlohmann::json& into, const nlohmann::json& client_body,
                  const ModelOptions& options, const OptionKeys& keys);

// Copies request fields that are set (not null) into `into` under other names, e.g.
// {"max_tokens", "num_predict"}; `stop` given as a string becomes a one-element array.
void copyRenamed(nlohmann::json& into, const nlohmann::json& client_body,
                 std::initializer_list<std::pair<const char*, const char*>> renames);

// Adds the body-located credential (auth.param_location = body) and serialises.
std::string serializeBody(nlohmann::json& body, const ProxyCall& call);

// route_type preserve: the client's method, body text (plus a body credential) and content
// type as they came; what the upstream answers goes back as it is (proxy/handler_relay.cpp).
void preserveRequest(http::UpstreamRequest& req, const ProxyCall& call);

// A native pass-through body: the client's text with `model` set where the call's differs,
// `"stream": true` where the gateway forced streaming, configured options filled in under the
// API's own keys (none when `keys` is null) and the body credential added; every other byte
// as the client sent it.
std::string nativeBody(const ProxyCall& call, const Target& target, const OptionKeys* keys);

// upstream_url (whole URL) > default URL; upstream_path replaces the path; preserve keeps the
// client's path unless upstream_path is set.
std::string resolveUrl(const Target& target, const std::string& default_url, const ProxyCall& call);

// Content-Type / Accept / Accept-Encoding for a JSON API.
http::Headers jsonRequestHeaders(bool stream);

// Parses a 2xx JSON body; on failure a 502 naming the provider.
Result<nlohmann::json, ApiError> parseUpstreamJson(std::string_view body,
                                                   std::string_view provider);

// OpenAI usage object from a Usage (absent counts become 0). The details objects appear when
// the provider reported them: prompt_tokens_details.cached_tokens (and cache_write_tokens,
// as OpenRouter names the cache writes OpenAI has no field for) and
// completion_tokens_details.reasoning_tokens.
nlohmann::json usageJson(const Usage& usage);
// Reads OpenAI's usage object (counts and details) into a Usage.
Usage usageFromOpenAI(const nlohmann::json& usage);
// The same from the usage object's text, without building it (answers passed through); none
// when the text is not an object. The text must be valid JSON (checked by the caller).
std::optional<Usage> usageFromOpenAIText(std::string_view usage);
// What a call cost from the configured prices (per 1M tokens), or none when no price is set.
// Cached prompt tokens are priced at cache_read_cost / cache_write_cost where those are set.
std::optional<double> usageCost(const Usage& usage, const ModelOptions& options);

// A chat.completion.chunk skeleton with id/object/created/model and one choice.
nlohmann::json makeChunk(const std::string& id, long long created, const std::string& model);
// The chunks of one streamed answer, all with the same id, created and model:
// chat.completion.chunk deltas, or text_completion pieces on the completions route.
class ChunkWriter {
 public:
  ChunkWriter(RouteType type, std::string model);
  void setId(std::string id) { id_ = std::move(id); }
  void setModel(std::string model) { model_ = std::move(model); }
  bool completions() const { return completions_; }
  // An empty chunk (no choices yet) carrying id/object/created/model.
  nlohmann::json base() const;
  // Text: a content delta, or a text piece for completions. Empty text sends nothing.
  void text(const std::string& text, ChunkSink& out) const;
  // A chat delta (role, content, tool_calls ...) with finish_reason null.
  void delta(nlohmann::json delta, ChunkSink& out) const;

 private:
  bool completions_;
  std::string id_;
  long long created_;
  std::string model_;
};

// A fresh id like "chatcmpl-<24 random chars>".
std::string newCompletionId(std::string_view prefix = "chatcmpl-");
long long unixNow();

// The text of a message's content: a string, or the concatenated text parts of an array.
std::string contentText(const nlohmann::json& content);

// OpenAI request fields a provider cannot honour: a 400 naming the first one the client set to a
// non-default value ("logprobs is not supported by provider X"), and n > 1 likewise. A request
// that only carries defaults (n: 1, presence_penalty: 0) passes.
std::optional<ApiError> rejectUnsupported(const nlohmann::json& body, std::string_view provider,
                                          std::initializer_list<const char*> fields);

// One OpenAI assistant tool call, checked: id, function name and the arguments parsed.
struct ToolCallRequest {
  std::string id;
  std::string name;
  nlohmann::json input;  // always an object
};
// OpenAI assistant `tool_calls` (null = none) -> checked calls; a 400 names the bad field
// (path is e.g. "messages[3].tool_calls"). Empty arguments are an empty object.
Result<std::vector<ToolCallRequest>, ApiError> parseToolCalls(const nlohmann::json& calls,
                                                              const std::string& path,
                                                              std::string_view provider);

// An OpenAI tool_calls entry from a provider's tool use (arguments serialised as JSON text).
nlohmann::json toolCallJson(const std::string& id, const std::string& name,
                            const nlohmann::json& input);

// The OpenAI-shaped answer every native provider returns: a chat.completion (message with
// content and tool_calls) or, for the completions route, a text_completion.
struct Completion {
  std::string id;     // empty = a fresh chatcmpl-/cmpl- id
  std::string model;  // empty = the call's model
  std::string text;
  nlohmann::json tool_calls = nlohmann::json::array();
  std::string finish_reason = "stop";
  Usage usage;
  long long total_tokens = -1;  // the provider's own total when it reports one (cache tokens)
};
std::string renderCompletion(const ProxyCall& call, Completion answer);

}  // namespace aigw::providers
