// The Gemini API as a client format (llm_format: gemini): what the Google Gen AI SDKs and the
// Gemini CLI send, POST <route>/v1beta/models/{model}:generateContent (or
// :streamGenerateContent?alt=sse, :countTokens), the model in the path. It is passed through to
// the gemini provider only (not yet translated for others, as Kong's gemini adapter does): the body
// and the stream go through unchanged apart from the model and the credential, and usage
// (usageMetadata, cached and thinking tokens included) is read on the way.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace aigw::formats::gemini {

struct PathCall {
  std::string model;      // "gemini-2.5-flash" (percent-decoded)
  std::string operation;  // "generateContent", "streamGenerateContent" or "countTokens"
};

// ".../models/{model}:{operation}" -> its parts; nullopt for any other path or operation.
std::optional<PathCall> pathCall(std::string_view path);

}  // namespace aigw::formats::gemini
