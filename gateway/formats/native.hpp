// Answers that go back to the client byte for byte (native pass-through, route_type preserve):
// the gateway only reads them, for usage in logs and metrics and, for native APIs, to know that
// a stream reached its natural end.
// Thread-safety: pure functions; a StreamWatcher belongs to one stream.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "providers/provider.hpp"

namespace aigw::formats {

// Usage in any provider's shape found in one JSON value (a whole answer or one stream event):
// OpenAI chat/completions/embeddings (usage with details), the Responses API (usage, also
// inside response.completed events), Anthropic (message_start's message.usage, message_delta's
// usage, cache counts), Gemini usageMetadata, Bedrock Converse usage (also the stream's
// metadata event), Ollama prompt_eval_count/eval_count, Cohere v2 usage.billed_units.
// Counts not found stay -1.
providers::Usage sniffUsage(const nlohmann::json& value);
// The same from text; parses only when the text can hold usage at all.
providers::Usage sniffUsageText(std::string_view text);

// How a relayed stream is framed: the native API's own framing, or for preserve the upstream's
// Content-Type (AWS event stream, NDJSON, else SSE).
providers::Framing relayFraming(providers::NativeApi api, std::string_view content_type);
// Whether an upstream answer with this Content-Type is a stream (relayed as it arrives).
bool isStreamContentType(std::string_view content_type);

// Follows a relayed stream event by event: merges usage and notes the API's end marker
// (Anthropic message_stop, Responses response.completed/incomplete/failed, Gemini finishReason,
// Bedrock messageStop, Cohere message-end; the API's own error event counts as an end too: the
// client has it). For preserve (api None) there is no end marker to wait for.
class StreamWatcher {
 public:
  explicit StreamWatcher(providers::NativeApi api) : api_(api) {}
  void onEvent(std::string_view event, std::string_view data);
  bool complete() const { return api_ == providers::NativeApi::None || ended_; }
  const providers::Usage& usage() const { return usage_; }

 private:
  providers::NativeApi api_;
  bool ended_ = false;
  providers::Usage usage_;
};

// The error event a client of `api` understands, appended when a relayed stream breaks (empty
// for preserve, whose format is unknown: the response is then cut short instead).
std::string relayErrorEvent(providers::NativeApi api, const std::string& message);

}  // namespace aigw::formats
