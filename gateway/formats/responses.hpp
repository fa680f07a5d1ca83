// The OpenAI Responses API as a client format (route_type llm/v1/responses): what the OpenAI
// SDKs' responses.create, the Vercel AI SDK's default openai(model) provider, LangChain's
// useResponsesApi and Codex send. OpenAI and Azure take it natively; for every other provider
// responses_request.cpp converts it into the hub's OpenAI chat body and responses_reply.cpp
// converts the answers and streams back.
// https://platform.openai.com/docs/api-reference/responses
//
// The gateway keeps no state: store is answered as false, and previous_response_id,
// item_reference inputs, conversation and background are a 400 when translating (the client
// sends the whole conversation as input items instead, as it does with store: false).
// Thread-safety: pure functions; an encoder belongs to one stream.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "core/api_error.hpp"
#include "core/result.hpp"

namespace aigw::formats::responses {

// A Responses request -> an OpenAI chat body: instructions and system/developer items become
// system messages, input items messages (input_text, input_image, output_text parts),
// function_call items assistant tool calls, function_call_output items tool messages;
// function tools, tool_choice, text.format (json_object, json_schema), max_output_tokens,
// temperature, top_p, parallel_tool_calls and stream carry over. Reasoning items are dropped.
Result<nlohmann::json, ApiError> requestToHub(const nlohmann::json& body);

}  // namespace aigw::formats::responses
