// The Anthropic Messages API as a client format (llm_format: anthropic): what Claude Code and
// the Anthropic SDKs send. anthropic_request.cpp converts a request into the hub's OpenAI chat
// body; anthropic_reply.cpp converts the hub's answers and streams back.
// Thread-safety: pure functions; an encoder belongs to one stream.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "core/api_error.hpp"
#include "core/result.hpp"

namespace aigw::formats::anthropic {

// A Messages API request -> an OpenAI chat body. System blocks, tool definitions, tool uses and
// tool results, images and cache_control (kept on the parts and tools as an extension field the
// anthropic and bedrock providers read) are carried over; thinking settings and thinking blocks
// have no hub equivalent and are left out. Server tools, documents other than text and PDF, and
// other block types the hub cannot carry are a 400 naming the field.
Result<nlohmann::json, ApiError> requestToHub(const nlohmann::json& body);

// POST /v1/messages/count_tokens answered without a call, for providers that have no such
// endpoint: one token per 4 characters of text (system, messages, tool inputs and results,
// tool definitions), 3 per message, 1,600 per image (the cost of a large image,
// https://docs.anthropic.com/en/docs/build-with-claude/vision#calculate-image-costs).
long long estimateInputTokens(const nlohmann::json& body);

}  // namespace aigw::formats::anthropic
