// Native APIs passed through to their own provider only (Kong's adapters also translate them
// for other providers; aigw does not yet): Cohere's v2 Chat API (llm_format cohere, POST
// <route>/v2/chat, the model in the body), and the Gemini API and Bedrock's Converse API
// (llm_format gemini, bedrock), which name the model and the operation in the path:
//   POST <route>/v1beta/models/{model}:generateContent (:streamGenerateContent?alt=sse,
//        :countTokens)
//   POST <route>/model/{modelId}/converse (/converse-stream)
// The body and the stream go through unchanged apart from the model, options (Cohere) and the
// credential, and usage (Cohere's billed_units, Gemini's usageMetadata, Converse usage and
// metadata events, cached and thinking tokens included) is read on the way (formats/native.hpp).
// Thread-safety: immutable singletons (formats::cohereChat(), geminiGenerate(),
// bedrockConverse()).
#pragma once

#include "formats/format.hpp"
