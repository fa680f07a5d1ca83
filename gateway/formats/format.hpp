// Client formats: the API a client speaks on an ai-proxy route (Kong's `llm_format`, and the
// Responses API of `route_type: llm/v1/responses`), as adapters at the edges of the hub.
//
// The hub is OpenAI chat: every provider translates from an OpenAI chat body and back to an
// OpenAI answer (providers/provider.hpp). A client format that is not OpenAI chat converts its
// request into a hub body on the way in, and the hub's answer (whole, or chunk by chunk) into
// its own shape on the way out. So N client formats and M providers need N + M converters, not
// N x M; providers stay pure and never learn who the client was.
//
// When the client already speaks the target provider's own API (an Anthropic client and the
// anthropic provider, a Responses client and OpenAI), nothing is converted: the body goes
// upstream as written apart from model, options and credentials, and the answer comes back
// byte for byte (native pass-through, see native.hpp); the format only reads usage.
//
// Thread-safety: ClientFormat objects are immutable singletons; encoders belong to one stream.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/api_error.hpp"
#include "core/result.hpp"
#include "providers/provider.hpp"

namespace aigw::formats {

// What an answer in the client's format needs besides the hub answer.
struct ReplyContext {
  std::string model;  // the model the client named (echoed where its API expects it)
  // The client's own request (the Responses object echoes instructions, tools, ...); may be null.
  const nlohmann::json* request = nullptr;
  bool client_wants_usage = false;  // OpenAI chat: stream_options.include_usage
};

// Turns the hub's stream (OpenAI chat.completion.chunk JSON, as providers emit it) into the
// client's stream, as bytes ready for the wire in pending().
class StreamEncoder : public providers::ChunkSink {
 public:
  // The stream's natural end ([DONE], message_stop, response.completed), with the final usage.
  virtual void finish(const providers::Usage& usage) = 0;
  // An error ends the stream: the client's own error event.
  virtual void fail(const std::string& message, const std::string& type) = 0;
  // Bytes not yet written to the client; the caller clears it after each write.
  std::string& pending() { return pending_; }

 protected:
  std::string pending_;
};

// What a client API that names the model and the operation in its path says there (Gemini's
// /models/{model}:generateContent, Bedrock's /model/{modelId}/converse-stream).
struct PathCall {
  std::string model;           // percent-decoded
  std::string_view operation;  // a literal of the format's ("generateContent", "converse", ...)
  bool stream = false;         // the operation is the streaming one
};

class ClientFormat {
 public:
  virtual ~ClientFormat() = default;
  virtual std::string_view name() const = 0;  // "openai", "anthropic", "responses"
  // The provider API this format is (for native pass-through); None for OpenAI chat, which
  // every provider translates from anyway.
  virtual providers::NativeApi api() const = 0;

  // The client's body -> a hub (OpenAI chat) body; a 400 names the offending field.
  virtual Result<nlohmann::json, ApiError> toHub(const nlohmann::json& body) const = 0;
  // The hub's whole answer (OpenAI chat.completion JSON text) -> the client's answer.
  virtual Result<std::string, ApiError> fromHub(std::string_view answer,
                                                const ReplyContext& reply) const = 0;
  virtual std::unique_ptr<StreamEncoder> newEncoder(const ReplyContext& reply) const = 0;
  // For APIs that name the model and the operation in the path: what the path says, or
  // nullopt when it is none of the API's operations. Other APIs never call it.
  virtual bool modelInPath() const { return false; }
  virtual std::optional<PathCall> pathCall(std::string_view) const { return std::nullopt; }
  // An error in the client's own error shape.
  virtual std::string errorBody(const ApiError& error) const { return error.toJson(); }
};

// OpenAI chat: the hub itself (identity), SSE chunks ending in [DONE].
const ClientFormat& openaiChat();
const ClientFormat& anthropicMessages();
const ClientFormat& openaiResponses();
// The Gemini API (llm_format gemini): native pass-through to the gemini provider only.
const ClientFormat& geminiGenerate();
// Bedrock's Converse API (llm_format bedrock): native pass-through to the bedrock provider only.
const ClientFormat& bedrockConverse();
// Cohere's v2 Chat API (llm_format cohere): native pass-through to the cohere provider only.
const ClientFormat& cohereChat();

// The error type of an ApiError in Anthropic's vocabulary
// (https://docs.anthropic.com/en/api/errors).
std::string anthropicErrorType(const ApiError& error);

}  // namespace aigw::formats
