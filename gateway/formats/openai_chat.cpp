// OpenAI chat, the hub format itself: requests and answers pass unchanged; a stream is
// `data: <chunk>` events ending in `data: [DONE]`, or in an OpenAI-shaped error event.
// https://platform.openai.com/docs/api-reference/chat-streaming
#include <nlohmann/json.hpp>

#include "core/json.hpp"
#include "formats/format.hpp"

namespace aigw::formats {

namespace {

// The chunks decoded from one upstream read leave in one client write, each still as soon as
// the upstream sent it.
class SseEncoder : public StreamEncoder {
 public:
  bool emit(std::string_view chunk_json) override {
    pending_.append("data: ");
    pending_.append(chunk_json);
    pending_.append("\n\n");
    return true;
  }
  void finish(const providers::Usage&) override { pending_.append("data: [DONE]\n\n"); }
  void fail(const std::string& message, const std::string& type) override {
    const nlohmann::json e = {
        {"error", {{"message", message}, {"type", type}, {"code", nullptr}, {"param", nullptr}}}};
    pending_.append("data: " + json::dump(e) + "\n\n");
  }
};

class OpenAIChat : public ClientFormat {
 public:
  std::string_view name() const override { return "openai"; }
  providers::NativeApi api() const override { return providers::NativeApi::None; }
  Result<nlohmann::json, ApiError> toHub(const nlohmann::json& body) const override { return body; }
  Result<std::string, ApiError> fromHub(std::string_view answer,
                                        const ReplyContext&) const override {
    return std::string(answer);
  }
  std::unique_ptr<StreamEncoder> newEncoder(const ReplyContext&) const override {
    return std::make_unique<SseEncoder>();
  }
};

}  // namespace

const ClientFormat& openaiChat() {
  static const OpenAIChat format;
  return format;
}

}  // namespace aigw::formats
