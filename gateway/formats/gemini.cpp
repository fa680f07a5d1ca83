#include "formats/gemini.hpp"

#include <nlohmann/json.hpp>

#include "core/json.hpp"
#include "formats/format.hpp"
#include "http/message.hpp"

namespace aigw::formats {

namespace gemini {

std::optional<PathCall> pathCall(std::string_view path) {
  const auto colon = path.rfind(':');
  const auto models = path.rfind("/models/", colon);
  if (colon == std::string_view::npos || models == std::string_view::npos) return std::nullopt;
  PathCall call;
  call.model = http::percentDecode(path.substr(models + 8, colon - models - 8), false);
  call.operation = std::string(path.substr(colon + 1));
  if (call.model.empty() || call.model.find('/') != std::string::npos) return std::nullopt;
  if (call.operation != "generateContent" && call.operation != "streamGenerateContent" &&
      call.operation != "countTokens")
    return std::nullopt;
  return call;
}

}  // namespace gemini

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

class GeminiGenerate : public ClientFormat {
 public:
  std::string_view name() const override { return "gemini"; }
  providers::NativeApi api() const override { return providers::NativeApi::Gemini; }
  // Only reached for a provider other than gemini, which the config refuses; kept as a clear
  // answer rather than a guess at a translation.
  Result<nlohmann::json, ApiError> toHub(const nlohmann::json&) const override {
    return Result<nlohmann::json, ApiError>::failure(ApiError::badRequest(
        "llm_format gemini is passed through to the gemini provider only; this route's provider "
        "cannot take Gemini's API"));
  }
  Result<std::string, ApiError> fromHub(std::string_view, const ReplyContext&) const override {
    return Result<std::string, ApiError>::failure(
        ApiError::internal("llm_format gemini has no translated answers"));
  }
  std::unique_ptr<StreamEncoder> newEncoder(const ReplyContext& reply) const override {
    return openaiChat().newEncoder(reply);  // never used: every gemini call is relayed
  }
  std::string errorBody(const ApiError& error) const override {
    return json::dump({{"error",
                        {{"code", error.status},
                         {"message", error.message},
                         {"status", statusName(error.status)}}}});
  }
};

}  // namespace

const ClientFormat& geminiGenerate() {
  static const GeminiGenerate format;
  return format;
}

}  // namespace aigw::formats
