// Shared pieces of the fake provider: a dialect is one provider wire format served at its
// exact endpoint paths. Dialects only build the answer (a body, or the framed events of a
// stream) and check credentials the way their provider does; the server applies the scenario
// (errors, delays, stalls, truncation, a clean close before the end marker, an in-stream
// error) uniformly on top of it, so every dialect gets every failure mode for free.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace aigw::fake {

using Json = nlohmann::json;

// What a dialect answers with. For a stream, each element of `events` is written to the
// socket on its own (one HTTP chunk each), already framed ("data: ...\n\n", "...\n").
struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  bool streaming = false;
  std::vector<std::string> events;
  // How many of the last events make up the stream's end marker ([DONE], message_stop,
  // done:true, the finishReason event, messageStop + metadata ...): the "fake-clean-close"
  // scenario leaves them out and ends the response properly.
  std::size_t end_events = 1;
};

inline Reply jsonReply(std::string body) {
  Reply reply;
  reply.body = std::move(body);
  return reply;
}

struct Call {
  std::string path;   // with any "/scenario/<name>" prefix removed
  std::string query;  // the raw query string, without '?'
  Json body;          // the parsed request body, or null
  std::string model;
  // Request headers with lower-case names (repeated headers joined with ", ").
  std::vector<std::pair<std::string, std::string>> headers;
  std::string header(std::string_view lower_name) const;
  std::string queryParam(std::string_view name) const;  // not percent-decoded
};

// What a dialect says about the credentials of a call: nothing (accepted), or the status and
// message of the provider's own refusal (sent in the dialect's error shape).
struct AuthFailure {
  int status = 401;
  std::string message;
  // Headers sent instead of the dialect's usual error headers (Bedrock's x-amzn-ErrorType).
  std::vector<std::pair<std::string, std::string>> headers = {};
};

// A key that is present but refused: any key containing this text. Tests use it to see the
// provider's "invalid key" answer; every other non-empty key is accepted.
inline constexpr std::string_view kWrongKeyMarker = "wrong";

struct Dialect {
  std::string_view name;  // shown in answers: "Hello from fake <name>: ..."
  std::string_view method;
  // The endpoint path, matched exactly segment by segment, where "{}" stands for one segment,
  // "{}:verb" for a segment ending in ":verb" and "{**}" for one or more segments.
  std::string_view path;
  Reply (*handle)(const Call& call);
  // The body of an error in this dialect's own shape (the message is the same everywhere).
  std::string (*error_body)(int status, const std::string& message);
  // Headers that come with an error in this dialect (Bedrock's x-amzn-ErrorType); may be null.
  void (*error_headers)(int status,
                        std::vector<std::pair<std::string, std::string>>& headers) = nullptr;
  // Checks the credentials as the provider does; null when the API takes none (Ollama).
  std::optional<AuthFailure> (*check_auth)(const Call& call) = nullptr;
  // The provider's own in-stream error event ("fake-stream-error-throttling" and
  // "fake-stream-error-model"), already framed; null when the provider has none.
  std::string (*stream_error)(std::string_view kind, const std::string& message) = nullptr;
};

// Whether `path` matches a Dialect::path pattern.
bool pathMatches(std::string_view pattern, std::string_view path);
// "Bearer <key>" -> "<key>"; anything else -> "".
std::string bearerToken(const std::string& authorization);
// The usual check of a key: missing -> 401 `missing`, containing kWrongKeyMarker -> 401
// `wrong`.
std::optional<AuthFailure> checkKey(const std::string& key, const std::string& missing,
                                    const std::string& wrong);

std::vector<Dialect> ollamaDialects();
std::vector<Dialect> openaiDialects();
std::vector<Dialect> geminiDialects();
std::vector<Dialect> anthropicDialects();
std::vector<Dialect> cohereDialects();
std::vector<Dialect> bedrockDialects();
std::vector<Dialect> huggingfaceDialects();

// ---- helpers shared by dialects (fake_common.cpp) ----

// The text of a message content: a string, or the text parts of an array of parts.
std::string contentText(const Json& content);
// The text of the last message with role "user" (empty if none).
std::string lastUserText(const Json& messages);
// Deterministic answer: "Hello from fake <dialect>: <prompt>".
std::string answerFor(std::string_view dialect, const std::string& prompt);
// Splits an answer into stream pieces (each word with its leading spaces) whose
// concatenation is exactly the answer.
std::vector<std::string> streamPieces(const std::string& answer);
// A rough, deterministic token count: whitespace separated words.
int countWords(const std::string& text);
// Sum of countWords over every message content.
int countPromptWords(const Json& messages);
// A small deterministic unit-ish vector derived from the text.
std::vector<double> fakeEmbedding(const std::string& text);
std::int64_t unixSeconds();
std::string rfc3339Now();
// A fresh id with the given prefix, unique within the process ("chatcmpl-fake1a2b...").
std::string newId(std::string_view prefix);
std::string openaiErrorBody(int status, const std::string& message);
// Whether the request asked for a stream; `fallback` is the dialect's default when absent.
bool wantsStream(const Json& body, bool fallback);

// ---- failover faults (fake_faults.cpp) ----

// Resets the connection from peer_port to our local_port before any response byte; false if
// no such socket was found.
bool resetConnection(int local_port, int peer_port);
// An SSE body whose events are not chunks (broken JSON).
std::string garbageSseBody();
// The texts of OpenAI's "the request itself is bad" 400s.
std::string contextLengthMessage();
std::string contentFilterMessage();

}  // namespace aigw::fake
