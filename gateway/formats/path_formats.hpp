// The Gemini API and Bedrock's Converse API as client formats (llm_format gemini, bedrock): what
// the Google Gen AI SDKs and the AWS SDKs send, the model and the operation in the path:
//   POST <route>/v1beta/models/{model}:generateContent (:streamGenerateContent?alt=sse,
//        :countTokens)
//   POST <route>/model/{modelId}/converse (/converse-stream)
// Each is passed through to its own provider only (Kong's adapters also translate them for
// other providers; aigw does not yet): the body and the stream go through unchanged apart from
// the model and the credential, and usage (Gemini's usageMetadata, Converse usage and metadata
// events, cached and thinking tokens included) is read on the way (formats/native.hpp).
// Thread-safety: immutable singletons (formats::geminiGenerate(), formats::bedrockConverse()).
#pragma once

#include "formats/format.hpp"
