#include "formats/native.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/json.hpp"
#include "providers/common.hpp"
#include "providers/json_fields.hpp"

namespace aigw::formats {

namespace {

using Json = nlohmann::json;
using providers::NativeApi;
using providers::Usage;
using providers::wire::field;
using providers::wire::integer;
using providers::wire::str;

bool has(const Json& o, const char* key) {
  return o.is_object() && o.contains(key);
}

// A usage object of one of the shapes that name it "usage".
Usage usageObject(const Json& u) {
  Usage out;
  if (has(u, "prompt_tokens") || has(u, "completion_tokens")) return providers::usageFromOpenAI(u);
  if (has(u, "inputTokens") || has(u, "outputTokens")) {  // Bedrock Converse
    out.cached_tokens = integer(u, "cacheReadInputTokens");
    out.cache_write_tokens = integer(u, "cacheWriteInputTokens");
    if (const long long in = integer(u, "inputTokens"); in >= 0)
      out.prompt_tokens =
          in + std::max(0LL, out.cached_tokens) + std::max(0LL, out.cache_write_tokens);
    out.completion_tokens = integer(u, "outputTokens");
    return out;
  }
  if (const Json& billed = field(u, "billed_units"); billed.is_object()) {  // Cohere v2
    out.prompt_tokens = integer(billed, "input_tokens");
    out.completion_tokens = integer(billed, "output_tokens");
    return out;
  }
  // Anthropic counts input without its cached parts; the Responses API includes them and names
  // them in input_tokens_details. The two shapes share no other field.
  out.cached_tokens = integer(u, "cache_read_input_tokens");
  out.cache_write_tokens = integer(u, "cache_creation_input_tokens");
  if (const long long in = integer(u, "input_tokens"); in >= 0)
    out.prompt_tokens =
        in + std::max(0LL, out.cached_tokens) + std::max(0LL, out.cache_write_tokens);
  out.completion_tokens = integer(u, "output_tokens");
  if (const Json& d = field(u, "input_tokens_details"); d.is_object())
    out.cached_tokens = integer(d, "cached_tokens");
  if (const Json& d = field(u, "output_tokens_details"); d.is_object())
    out.reasoning_tokens = integer(d, "reasoning_tokens");
  return out;
}

}  // namespace

Usage sniffUsage(const Json& v) {
  Usage u;
  if (!v.is_object()) return u;
  // Wrappers: a Responses event's response, Anthropic's message_start message, Cohere's
  // message-end delta.
  for (const char* wrapper : {"response", "message", "delta"})
    if (const Json& inner = field(v, wrapper); inner.is_object()) u.merge(sniffUsage(inner));
  if (const Json& usage = field(v, "usage"); usage.is_object()) u.merge(usageObject(usage));
  if (const Json& meta = field(v, "usageMetadata"); meta.is_object()) {  // Gemini
    Usage g;
    g.prompt_tokens = integer(meta, "promptTokenCount");
    const long long thoughts = integer(meta, "thoughtsTokenCount");
    if (const long long c = integer(meta, "candidatesTokenCount"); c >= 0 || thoughts >= 0)
      g.completion_tokens = std::max(0LL, c) + std::max(0LL, thoughts);
    g.cached_tokens = integer(meta, "cachedContentTokenCount");
    g.reasoning_tokens = thoughts;
    u.merge(g);
  }
  if (has(v, "prompt_eval_count") || has(v, "eval_count")) {  // Ollama
    Usage o;
    o.prompt_tokens = integer(v, "prompt_eval_count");
    o.completion_tokens = integer(v, "eval_count");
    u.merge(o);
  }
  return u;
}

Usage sniffUsageText(std::string_view text) {
  if (text.find("sage") == std::string_view::npos &&
      text.find("eval_count") == std::string_view::npos)
    return {};  // neither "usage" nor "usageMetadata" nor Ollama's counts
  Json v;
  if (!json::parse(text, v)) return {};
  return sniffUsage(v);
}

bool isStreamContentType(std::string_view ct) {
  for (std::string_view t : {"text/event-stream", "application/vnd.amazon.eventstream",
                             "application/x-ndjson", "application/stream+json"})
    if (ct.substr(0, t.size()) == t) return true;
  return false;
}

providers::Framing relayFraming(NativeApi api, std::string_view ct) {
  if (api == NativeApi::Bedrock) return providers::Framing::AwsEventStream;
  if (api != NativeApi::None) return providers::Framing::Sse;
  if (ct.substr(0, 35) == "application/vnd.amazon.eventstream")
    return providers::Framing::AwsEventStream;
  if (ct.substr(0, 20) == "application/x-ndjson" || ct.substr(0, 23) == "application/stream+json")
    return providers::Framing::NdJson;
  return providers::Framing::Sse;
}

void StreamWatcher::onEvent(std::string_view event, std::string_view data) {
  usage_.merge(sniffUsageText(data));
  if (ended_) return;
  // The SSE event name, when the API sends one; else the data's own "type".
  auto type = [&]() -> std::string {
    if (!event.empty()) return std::string(event);
    if (data.find("\"type\"") == std::string_view::npos) return {};
    Json v;
    return json::parse(data, v) ? str(v, "type") : std::string();
  };
  switch (api_) {
    case NativeApi::Anthropic: {
      const std::string t = type();
      ended_ = t == "message_stop" || t == "error";
      break;
    }
    case NativeApi::Responses: {
      const std::string t = type();
      ended_ = t == "response.completed" || t == "response.incomplete" || t == "response.failed" ||
               t == "error";
      break;
    }
    case NativeApi::Gemini:
      ended_ = data.find("\"finishReason\"") != std::string_view::npos;
      break;
    case NativeApi::Bedrock:
      ended_ = event == "messageStop";
      break;
    case NativeApi::Cohere: {
      const std::string t = type();
      ended_ = t == "message-end";
      break;
    }
    case NativeApi::None:
      break;
  }
}

std::string relayErrorEvent(NativeApi api, const std::string& message) {
  switch (api) {
    case NativeApi::Anthropic:  // https://docs.anthropic.com/en/api/messages-streaming#error-events
      return "event: error\ndata: " +
             json::dump(
                 {{"type", "error"}, {"error", {{"type", "api_error"}, {"message", message}}}}) +
             "\n\n";
    case NativeApi::Responses:
      return "event: error\ndata: " +
             json::dump({{"type", "error"},
                         {"code", "upstream_error"},
                         {"message", message},
                         {"param", nullptr}}) +
             "\n\n";
    case NativeApi::Gemini:
    case NativeApi::Cohere:
      return "data: " +
             json::dump({{"error", {{"message", message}, {"type", "upstream_error"}}}}) + "\n\n";
    case NativeApi::Bedrock:  // binary frames: nothing a client could parse; cut short instead
    case NativeApi::None:
      return {};
  }
  return {};
}

}  // namespace aigw::formats
