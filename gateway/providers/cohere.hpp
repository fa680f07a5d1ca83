// Cohere API pieces shared by cohere.cpp (v2 requests and responses), cohere_stream.cpp (the
// v2 SSE decoder) and cohere_v1.cpp (the v1 API, chosen by upstream_url); also what the unit
// tests reach for directly.
// Thread-safety: pure functions; a decoder belongs to one stream and one thread.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "providers/provider.hpp"

namespace aigw::providers::cohere {

// Cohere finish_reason -> OpenAI finish_reason; unknown values become "stop".
std::string finishReason(std::string_view cohere_reason);

// Cohere v2 usage -> ours: `tokens` (what the model read and wrote) when present, else
// `billed_units`, field by field. Absent counts stay unknown (-1).
Usage usageFrom(const nlohmann::json& usage);

// The stateful decoder for a streamed v2 chat answer (chat or completions route).
std::unique_ptr<StreamDecoder> newStreamDecoder(RouteType type, std::string model);

// ---- shared by v1 and v2 (defined in cohere.cpp) ----

// OpenAI fields neither API can honour (n > 1, logprobs, ...): a 400 naming the field.
std::optional<ApiError> checkUnsupported(const nlohmann::json& in);
// max_tokens, temperature, p, k, seed, penalties and stop_sequences from the client, with
// options filling what it left out.
std::optional<ApiError> addSamplingParams(const nlohmann::json& in, const ModelOptions& options,
                                          nlohmann::json& body);
// The completions route's one prompt (a string, or an array holding one string).
Result<std::string, ApiError> singlePrompt(const nlohmann::json& in);
// OpenAI embeddings request -> embed body; embed answer -> OpenAI list (same in v1 and v2 with
// embedding_types ["float"]).
Result<nlohmann::json, ApiError> embedBody(const nlohmann::json& in, const std::string& model);
Result<nlohmann::json, ApiError> embeddingsReply(const nlohmann::json& body, const ProxyCall& call,
                                                 Usage& usage);

// ---- v1 (cohere_v1.cpp) ----

// Whether an upstream_url points at the v1 API (/v1/chat, /v1/generate, /v1/embed).
bool isV1Url(std::string_view url);
// The v1 provider: chat (message + chat_history + preamble), generate, embed; NDJSON streams.
const Provider& v1Provider();

}  // namespace aigw::providers::cohere
