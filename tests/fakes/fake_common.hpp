// Shared pieces of the fake provider: a dialect is one provider wire format served at a path
// suffix. Dialects only build the answer (a body, or the framed events of a stream); the
// server applies the scenario (errors, delays, stalls, truncation) uniformly on top of it, so
// every dialect gets every failure mode for free.
#pragma once

#include <chrono>
#include <cstdint>
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
};

inline Reply jsonReply(std::string body) {
  Reply reply;
  reply.body = std::move(body);
  return reply;
}

struct Call {
  std::string path;  // with any "/scenario/<name>" prefix removed
  Json body;         // the parsed request body, or null
  std::string model;
};

struct Dialect {
  std::string_view name;  // shown in answers: "Hello from fake <name>: ..."
  std::string_view method;
  std::string_view path_suffix;  // a request path ending in this is served by this dialect
  Reply (*handle)(const Call& call);
  // The body of an error in this dialect's own shape (the message is the same everywhere).
  std::string (*error_body)(int status, const std::string& message);
  // Headers that come with an error in this dialect (Bedrock's x-amzn-ErrorType); may be null.
  void (*error_headers)(int status,
                        std::vector<std::pair<std::string, std::string>>& headers) = nullptr;
};

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

}  // namespace aigw::fake
