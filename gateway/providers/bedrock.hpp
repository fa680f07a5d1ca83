// Internals of the bedrock provider (Converse API), shared by bedrock.cpp (the Provider: URLs,
// SigV4, answers, errors), bedrock_request.cpp (request bodies) and bedrock_stream.cpp (the
// event stream decoder); also what the unit tests reach for. Not for other providers.
//   https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
//   https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
// Thread-safety: pure functions; a provider is immutable; a decoder belongs to one stream.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "providers/provider.hpp"

namespace aigw::providers::bedrock {

using Clock = std::function<std::chrono::system_clock::time_point()>;

// A bedrock provider whose signatures are dated by `clock` (the registry's uses the system
// clock; tests pass a fixed one).
std::unique_ptr<Provider> newProvider(Clock clock);

// OpenAI chat / completions body -> Converse body (without the model, which is in the URL);
// a 400 with `param` for what Converse cannot express. `options` fill what the client left out.
Result<nlohmann::json, ApiError> converseBody(const nlohmann::json& in, RouteType type,
                                              const ModelOptions& options);

// Converse stopReason -> OpenAI finish_reason (always one of OpenAI's values).
std::string finishReason(std::string_view stop_reason);

// Converse usage {inputTokens, outputTokens, totalTokens, cacheRead/WriteInputTokens} -> Usage
// (prompt includes the cached input tokens, as for Anthropic).
Usage usageFrom(const nlohmann::json& usage);
// The OpenAI usage object; total_tokens from totalTokens when Bedrock sent it.
nlohmann::json usageJsonFrom(const nlohmann::json& usage);

std::unique_ptr<StreamDecoder> newStreamDecoder(const ProxyCall& call);

}  // namespace aigw::providers::bedrock
