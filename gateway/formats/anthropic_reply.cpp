// OpenAI chat answers (the hub) -> Anthropic Messages answers, whole and streamed.
// https://docs.anthropic.com/en/api/messages and /en/api/messages-streaming
//
// A stream is the documented event sequence: message_start, then per content block
// content_block_start / content_block_delta (text_delta, input_json_delta) / content_block_stop,
// then message_delta (stop_reason, usage) and message_stop. The hub reports usage only at the
// end, so message_start carries zero counts and message_delta the real ones (input, output and
// cache counts; the SDKs take input_tokens from message_delta when it is there).
#include <map>
#include <nlohmann/json.hpp>

#include "core/json.hpp"
#include "formats/anthropic.hpp"
#include "formats/format.hpp"
#include "providers/common.hpp"
#include "providers/json_fields.hpp"

namespace aigw::formats {

namespace {

using Json = nlohmann::json;
using providers::Usage;
using providers::wire::field;
using providers::wire::str;

// OpenAI finish_reason -> Anthropic stop_reason (the inverse of providers/anthropic.cpp).
std::string stopReason(std::string_view finish) {
  if (finish == "length") return "max_tokens";
  if (finish == "tool_calls" || finish == "function_call") return "tool_use";
  if (finish == "content_filter") return "refusal";
  return "end_turn";
}

// Anthropic counts input without the cached parts; the hub's prompt_tokens includes them.
Json usageOut(const Usage& u) {
  const long long read = std::max(0LL, u.cached_tokens);
  const long long write = std::max(0LL, u.cache_write_tokens);
  return {{"input_tokens", std::max(0LL, std::max(0LL, u.prompt_tokens) - read - write)},
          {"cache_creation_input_tokens", write},
          {"cache_read_input_tokens", read},
          {"output_tokens", std::max(0LL, u.completion_tokens)}};
}

std::string messageId() {
  return providers::newCompletionId("msg_");
}

Json toolInput(const Json& arguments) {
  if (arguments.is_object()) return arguments;
  Json input;
  if (arguments.is_string() && json::parse(arguments.get_ref<const std::string&>(), input) &&
      input.is_object())
    return input;
  return Json::object();
}

std::string sse(const char* event, const Json& data) {
  return std::string("event: ") + event + "\ndata: " + json::dump(data) + "\n\n";
}

class AnthropicEncoder : public StreamEncoder {
 public:
  explicit AnthropicEncoder(std::string model) : model_(std::move(model)) {}

  bool emit(std::string_view chunk_json) override {
    Json chunk;
    if (!json::parse(chunk_json, chunk) || !chunk.is_object()) return true;
    start();
    if (const Json& u = field(chunk, "usage"); u.is_object())
      usage_.merge(providers::usageFromOpenAI(u));
    const Json& choices = field(chunk, "choices");
    if (!choices.is_array() || choices.empty()) return true;
    const Json& choice = choices[0];
    const Json& delta = field(choice, "delta");
    if (const Json& text = field(delta, "content");
        text.is_string() && !text.get_ref<const std::string&>().empty()) {
      if (open_ < 0 || open_is_tool_) openBlock({{"type", "text"}, {"text", ""}}, false);
      pending_ += sse("content_block_delta", {{"type", "content_block_delta"},
                                              {"index", open_},
                                              {"delta", {{"type", "text_delta"}, {"text", text}}}});
    }
    if (const Json& calls = field(delta, "tool_calls"); calls.is_array())
      for (const auto& call : calls) toolDelta(call);
    if (const std::string finish = str(choice, "finish_reason"); !finish.empty())
      stop_reason_ = stopReason(finish);
    return true;
  }

  void finish(const Usage& usage) override {
    start();
    closeBlock();
    usage_.merge(usage);
    pending_ += sse("message_delta",
                    {{"type", "message_delta"},
                     {"delta", {{"stop_reason", stop_reason_}, {"stop_sequence", nullptr}}},
                     {"usage", usageOut(usage_)}});
    pending_ += sse("message_stop", {{"type", "message_stop"}});
  }

  void fail(const std::string& message, const std::string& type) override {
    ApiError e;
    e.status = 500;
    e.type = type;
    pending_ += sse("error", {{"type", "error"},
                              {"error", {{"type", anthropicErrorType(e)}, {"message", message}}}});
  }

 private:
  void start() {
    if (started_) return;
    started_ = true;
    pending_ += sse("message_start", {{"type", "message_start"},
                                      {"message",
                                       {{"id", messageId()},
                                        {"type", "message"},
                                        {"role", "assistant"},
                                        {"model", model_},
                                        {"content", Json::array()},
                                        {"stop_reason", nullptr},
                                        {"stop_sequence", nullptr},
                                        {"usage", usageOut(Usage{})}}}});
  }

  void openBlock(Json block, bool tool) {
    closeBlock();
    open_ = next_++;
    open_is_tool_ = tool;
    pending_ += sse(
        "content_block_start",
        {{"type", "content_block_start"}, {"index", open_}, {"content_block", std::move(block)}});
  }

  void closeBlock() {
    if (open_ < 0) return;
    pending_ += sse("content_block_stop", {{"type", "content_block_stop"}, {"index", open_}});
    open_ = -1;
  }

  // OpenAI streams a call as a first delta with id and name, then argument pieces by index.
  void toolDelta(const Json& call) {
    const long long index = providers::wire::integer(call, "index", 0);
    const Json& fn = field(call, "function");
    const std::string id = str(call, "id");
    auto it = blocks_.find(index);
    // A new index, or a new id at a known one (a provider reusing indexes): a new block.
    if (it == blocks_.end() || (!id.empty() && id != it->second.id)) {
      const std::string block_id = id.empty() ? providers::newCompletionId("toolu_") : id;
      openBlock({{"type", "tool_use"},
                 {"id", block_id},
                 {"name", str(fn, "name")},
                 {"input", Json::object()}},
                true);
      it = blocks_.insert_or_assign(index, ToolBlock{open_, id}).first;
    }
    const std::string args = str(fn, "arguments");
    if (args.empty()) return;
    pending_ += sse("content_block_delta",
                    {{"type", "content_block_delta"},
                     {"index", it->second.block},
                     {"delta", {{"type", "input_json_delta"}, {"partial_json", args}}}});
  }

  std::string model_;
  bool started_ = false;
  int open_ = -1;  // the open content block's index, -1 = none
  bool open_is_tool_ = false;
  int next_ = 0;
  struct ToolBlock {
    int block;       // content block index
    std::string id;  // the call's id as the hub sent it
  };
  std::map<long long, ToolBlock> blocks_;  // by OpenAI tool call index
  std::string stop_reason_ = "end_turn";
  Usage usage_;
};

class AnthropicMessages : public ClientFormat {
 public:
  std::string_view name() const override { return "anthropic"; }
  providers::NativeApi api() const override { return providers::NativeApi::Anthropic; }

  Result<nlohmann::json, ApiError> toHub(const nlohmann::json& body) const override {
    return anthropic::requestToHub(body);
  }

  Result<std::string, ApiError> fromHub(std::string_view answer,
                                        const ReplyContext& reply) const override {
    Json in;
    if (!json::parse(answer, in) || !in.is_object())
      return Result<std::string, ApiError>::failure(
          ApiError::badGateway("the answer to translate is not a JSON object"));
    const Json& choices = field(in, "choices");
    const Json& choice = choices.is_array() && !choices.empty() ? choices[0] : Json::object();
    const Json& message = field(choice, "message");
    Json content = Json::array();
    if (const std::string text = providers::contentText(field(message, "content")); !text.empty())
      content.push_back({{"type", "text"}, {"text", text}});
    if (const Json& calls = field(message, "tool_calls"); calls.is_array())
      for (const auto& call : calls) {
        const Json& fn = field(call, "function");
        std::string id = str(call, "id");
        content.push_back({{"type", "tool_use"},
                           {"id", id.empty() ? providers::newCompletionId("toolu_") : id},
                           {"name", str(fn, "name")},
                           {"input", toolInput(field(fn, "arguments"))}});
      }
    const Json out = {{"id", messageId()},
                      {"type", "message"},
                      {"role", "assistant"},
                      {"model", reply.model},
                      {"content", std::move(content)},
                      {"stop_reason", stopReason(str(choice, "finish_reason"))},
                      {"stop_sequence", nullptr},
                      {"usage", usageOut(providers::usageFromOpenAI(field(in, "usage")))}};
    return json::dump(out);
  }

  std::unique_ptr<StreamEncoder> newEncoder(const ReplyContext& reply) const override {
    return std::make_unique<AnthropicEncoder>(reply.model);
  }

  // https://docs.anthropic.com/en/api/errors
  std::string errorBody(const ApiError& error) const override {
    return json::dump(
        {{"type", "error"},
         {"error", {{"type", anthropicErrorType(error)}, {"message", error.message}}}});
  }
};

}  // namespace

std::string anthropicErrorType(const ApiError& error) {
  static constexpr const char* kTypes[] = {
      "invalid_request_error", "authentication_error", "permission_error", "not_found_error",
      "request_too_large",     "rate_limit_error",     "api_error",        "overloaded_error"};
  for (const char* t : kTypes)
    if (error.type == t) return t;
  switch (error.status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 529:
      return "overloaded_error";
    default:
      return error.status >= 400 && error.status < 500 ? "invalid_request_error" : "api_error";
  }
}

const ClientFormat& anthropicMessages() {
  static const AnthropicMessages format;
  return format;
}

}  // namespace aigw::formats
