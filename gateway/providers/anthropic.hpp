// Anthropic Messages API pieces shared by anthropic.cpp (requests, responses) and
// anthropic_stream.cpp (the SSE decoder); also what the unit tests reach for directly.
// Thread-safety: pure functions; a decoder belongs to one stream and one thread.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "providers/provider.hpp"

namespace aigw::providers::anthropic {

// Anthropic stop_reason -> OpenAI finish_reason; unknown values become "stop" so a client
// only ever sees OpenAI's set (unlike Kong, which passes "end_turn" through verbatim).
std::string finishReason(std::string_view stop_reason);

// Anthropic usage -> ours: prompt = input + cache creation + cache read tokens (all three are
// input the model read), with cache reads as cached_tokens and cache creation as
// cache_write_tokens; completion = output tokens. Absent counts stay unknown (-1).
Usage usageFrom(const nlohmann::json& usage);

// The stateful decoder for a streamed Messages API answer (chat or completions route).
std::unique_ptr<StreamDecoder> newStreamDecoder(RouteType type, std::string model);

}  // namespace aigw::providers::anthropic
