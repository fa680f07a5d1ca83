// Internals of the gemini provider, shared by gemini.cpp (the Provider: URLs, credentials,
// answers, errors), gemini_request.cpp (request bodies) and gemini_stream.cpp (answer pieces
// and the SSE stream decoder). Not for other providers.
// Wire format: https://ai.google.dev/api/generate-content
// Thread-safety: pure functions; a decoder belongs to one stream.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "providers/provider.hpp"

namespace aigw::providers::gemini {

// OpenAI body -> generateContent / batchEmbedContents body; a 400 with `param` for what Gemini
// cannot do. `options` fill in what the client left out.
Result<nlohmann::json, ApiError> chatBody(const nlohmann::json& in, const ModelOptions& options);
Result<nlohmann::json, ApiError> completionBody(const nlohmann::json& in,
                                                const ModelOptions& options);
Result<nlohmann::json, ApiError> embeddingBody(const nlohmann::json& in,
                                               const std::string& model_id);

// Candidate.finishReason -> OpenAI finish_reason; `has_tool_calls` turns a plain stop into
// "tool_calls", as OpenAI reports a turn that ends in function calls.
std::string finishReason(std::string_view gemini_reason, bool has_tool_calls);

// usageMetadata -> Usage (completion = candidates + thoughts tokens).
Usage usageFrom(const nlohmann::json& usage_metadata);
// usageMetadata -> OpenAI usage object; always numbers, total from totalTokenCount if sent.
nlohmann::json usageJsonFrom(const nlohmann::json& usage_metadata);

// The text of a candidate: every text part joined, thought summaries left out.
std::string candidateText(const nlohmann::json& candidate);
// The functionCall parts of a candidate as OpenAI tool_calls (fresh "call_" ids, arguments as
// a JSON string); `first_index` >= 0 adds stream "index" fields counting from it.
nlohmann::json candidateToolCalls(const nlohmann::json& candidate, int first_index = -1);

// The message of an {"error": {...}} body (or of its first element when Gemini sent an array).
std::string errorMessage(const nlohmann::json& body);

std::unique_ptr<StreamDecoder> newStreamDecoder(const ProxyCall& call);

}  // namespace aigw::providers::gemini
