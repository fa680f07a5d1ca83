#include "formats/path_formats.hpp"

#include <nlohmann/json.hpp>

#include "core/json.hpp"
#include "formats/format.hpp"
#include "http/message.hpp"

namespace aigw::formats {

namespace {

// https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
const char* statusName(int status) {
  switch (status) {
    case 400:
    case 413:
      return "INVALID_ARGUMENT";
    case 401:
      return "UNAUTHENTICATED";
    case 403:
      return "PERMISSION_DENIED";
    case 404:
      return "NOT_FOUND";
    case 429:
      return "RESOURCE_EXHAUSTED";
    case 503:
      return "UNAVAILABLE";
    case 504:
      return "DEADLINE_EXCEEDED";
    default:
      return status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

// A native API relayed to its own provider only: no hub conversions.
class RelayedOnly : public ClientFormat {
 public:
  // Only reached for another provider, which the config refuses; kept as a clear answer rather
  // than a guess at a translation.
  Result<nlohmann::json, ApiError> toHub(const nlohmann::json&) const override {
    return Result<nlohmann::json, ApiError>::failure(ApiError::badRequest(
        "llm_format " + std::string(name()) + " is passed through to the " + std::string(name()) +
        " provider only; this route's provider cannot take that API"));
  }
  Result<std::string, ApiError> fromHub(std::string_view, const ReplyContext&) const override {
    return Result<std::string, ApiError>::failure(
        ApiError::internal("llm_format " + std::string(name()) + " has no translated answers"));
  }
  std::unique_ptr<StreamEncoder> newEncoder(const ReplyContext& reply) const override {
    return openaiChat().newEncoder(reply);  // never used: every call is relayed
  }
};

class GeminiGenerate : public RelayedOnly {
 public:
  std::string_view name() const override { return "gemini"; }
  providers::NativeApi api() const override { return providers::NativeApi::Gemini; }
  bool modelInPath() const override { return true; }
  // ".../models/{model}:{operation}".
  std::optional<PathCall> pathCall(std::string_view path) const override {
    const auto colon = path.rfind(':');
    const auto models = path.rfind("/models/", colon);
    if (colon == std::string_view::npos || models == std::string_view::npos) return std::nullopt;
    PathCall call;
    call.model = http::percentDecode(path.substr(models + 8, colon - models - 8), false);
    if (call.model.empty() || call.model.find('/') != std::string::npos) return std::nullopt;
    const std::string_view op = path.substr(colon + 1);
    for (std::string_view known : {"generateContent", "streamGenerateContent", "countTokens"})
      if (op == known) call.operation = known;
    if (call.operation.empty()) return std::nullopt;
    call.stream = call.operation == "streamGenerateContent";
    return call;
  }
  std::string errorBody(const ApiError& error) const override {
    return json::dump({{"error",
                        {{"code", error.status},
                         {"message", error.message},
                         {"status", statusName(error.status)}}}});
  }
};

// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
class BedrockConverse : public RelayedOnly {
 public:
  std::string_view name() const override { return "bedrock"; }
  providers::NativeApi api() const override { return providers::NativeApi::Bedrock; }
  bool modelInPath() const override { return true; }
  // ".../model/{modelId}/converse" or ".../converse-stream"; the id is percent-encoded (ARNs and
  // inference profile ids hold ':' and '/').
  std::optional<PathCall> pathCall(std::string_view path) const override {
    PathCall call;
    for (std::string_view op : {"/converse-stream", "/converse"})
      if (path.size() > op.size() && path.substr(path.size() - op.size()) == op) {
        call.operation = op.substr(1);
        path.remove_suffix(op.size());
        break;
      }
    const auto model = path.rfind("/model/");
    if (call.operation.empty() || model == std::string_view::npos) return std::nullopt;
    call.model = http::percentDecode(path.substr(model + 7), false);
    if (call.model.empty()) return std::nullopt;
    call.stream = call.operation == "converse-stream";
    return call;
  }
  // Bedrock's own error body (its type goes in x-amzn-ErrorType, which clients read too).
  std::string errorBody(const ApiError& error) const override {
    return json::dump({{"message", error.message}});
  }
};

// Cohere's v2 Chat API (https://docs.cohere.com/reference/chat): the model in the body, like
// OpenAI's and Anthropic's.
class CohereChat : public RelayedOnly {
 public:
  std::string_view name() const override { return "cohere"; }
  providers::NativeApi api() const override { return providers::NativeApi::Cohere; }
  std::string errorBody(const ApiError& error) const override {
    return json::dump({{"message", error.message}});
  }
};

}  // namespace

const ClientFormat& cohereChat() {
  static const CohereChat format;
  return format;
}

const ClientFormat& bedrockConverse() {
  static const BedrockConverse format;
  return format;
}

const ClientFormat& geminiGenerate() {
  static const GeminiGenerate format;
  return format;
}

}  // namespace aigw::formats
