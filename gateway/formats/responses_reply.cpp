// OpenAI chat answers (the hub) -> Responses API answers, whole and streamed.
// https://platform.openai.com/docs/api-reference/responses/object
// https://platform.openai.com/docs/api-reference/responses-streaming
//
// A stream is: response.created, response.in_progress; per output item
// response.output_item.added, then for a message response.content_part.added,
// response.output_text.delta..., response.output_text.done, response.content_part.done, or for
// a function call response.function_call_arguments.delta..., response.function_call_arguments.done;
// then response.output_item.done; and at the end response.completed (response.incomplete when
// the answer was cut by max_output_tokens or a content filter) with the whole response and its
// usage. Every event has a sequence_number, counted from 0.
#include <nlohmann/json.hpp>

#include "core/json.hpp"
#include "formats/format.hpp"
#include "formats/responses.hpp"
#include "providers/common.hpp"
#include "providers/json_fields.hpp"

namespace aigw::formats {

namespace {

using Json = nlohmann::json;
using providers::Usage;
using providers::wire::field;
using providers::wire::integer;
using providers::wire::str;

Json usageOut(const Usage& u) {
  const long long in = std::max(0LL, u.prompt_tokens), out = std::max(0LL, u.completion_tokens);
  return {{"input_tokens", in},
          {"input_tokens_details", {{"cached_tokens", std::max(0LL, u.cached_tokens)}}},
          {"output_tokens", out},
          {"output_tokens_details", {{"reasoning_tokens", std::max(0LL, u.reasoning_tokens)}}},
          {"total_tokens", in + out}};
}

// The response object around the output; what the request set is echoed, as OpenAI does.
Json responseObject(const std::string& id, long long created, const ReplyContext& reply,
                    const char* status) {
  const Json& req = reply.request ? *reply.request : Json::object();
  auto echo = [&](const char* key, Json fallback) {
    const Json& v = field(req, key);
    return v.is_null() ? fallback : v;
  };
  Json text = field(req, "text").is_object() ? req["text"] : Json::object();
  if (!text.contains("format")) text["format"] = {{"type", "text"}};
  return {{"id", id},
          {"object", "response"},
          {"created_at", created},
          {"status", status},
          {"error", nullptr},
          {"incomplete_details", nullptr},
          {"instructions", echo("instructions", nullptr)},
          {"max_output_tokens", echo("max_output_tokens", nullptr)},
          {"model", reply.model},
          {"output", Json::array()},
          {"parallel_tool_calls", echo("parallel_tool_calls", true)},
          {"previous_response_id", nullptr},
          {"reasoning", {{"effort", nullptr}, {"summary", nullptr}}},
          {"store", false},  // nothing is kept: see responses.hpp
          {"temperature", echo("temperature", 1.0)},
          {"text", std::move(text)},
          {"tool_choice", echo("tool_choice", "auto")},
          {"tools", echo("tools", Json::array())},
          {"top_p", echo("top_p", 1.0)},
          {"truncation", "disabled"},
          {"usage", nullptr},
          {"user", echo("user", nullptr)},
          {"metadata", echo("metadata", Json::object())}};
}

// finish_reason -> the response's status and incomplete_details.
void finishOn(Json& response, const std::string& finish) {
  if (finish == "length" || finish == "content_filter") {
    response["status"] = "incomplete";
    response["incomplete_details"] = {
        {"reason", finish == "length" ? "max_output_tokens" : "content_filter"}};
  } else {
    response["status"] = "completed";
  }
}

Json messageItem(const std::string& id, const std::string& text, const char* status) {
  return {{"type", "message"},
          {"id", id},
          {"status", status},
          {"role", "assistant"},
          {"content", Json::array({{{"type", "output_text"},
                                    {"text", text},
                                    {"annotations", Json::array()},
                                    {"logprobs", Json::array()}}})}};
}

Json callItem(const std::string& id, const std::string& call_id, const std::string& name,
              const std::string& arguments, const char* status) {
  return {{"type", "function_call"}, {"id", id},        {"call_id", call_id}, {"name", name},
          {"arguments", arguments},  {"status", status}};
}

class ResponsesEncoder : public StreamEncoder {
 public:
  explicit ResponsesEncoder(ReplyContext reply)
      : reply_(std::move(reply)),
        response_(responseObject(providers::newCompletionId("resp_"), providers::unixNow(), reply_,
                                 "in_progress")) {}

  bool emit(std::string_view chunk_json) override {
    Json chunk;
    if (!json::parse(chunk_json, chunk) || !chunk.is_object()) return true;
    start();
    if (const Json& u = field(chunk, "usage"); u.is_object())
      usage_.merge(providers::usageFromOpenAI(u));
    const Json& choices = field(chunk, "choices");
    if (!choices.is_array() || choices.empty()) return true;
    const Json& delta = field(choices[0], "delta");
    if (const Json& text = field(delta, "content");
        text.is_string() && !text.get_ref<const std::string&>().empty())
      textDelta(text.get<std::string>());
    if (const Json& calls = field(delta, "tool_calls"); calls.is_array())
      for (const auto& call : calls) toolDelta(call);
    if (const std::string finish = str(choices[0], "finish_reason"); !finish.empty())
      finish_ = finish;
    return true;
  }

  void finish(const Usage& usage) override {
    start();
    closeItem();
    usage_.merge(usage);
    finishOn(response_, finish_);
    response_["usage"] = usageOut(usage_);
    const std::string type =
        response_["status"] == "completed" ? "response.completed" : "response.incomplete";
    event(type, {{"response", response_}});
  }

  void fail(const std::string& message, const std::string& type) override {
    start();
    event("error", {{"code", type}, {"message", message}, {"param", nullptr}});
  }

 private:
  void event(const std::string& type, Json data) {
    data["type"] = type;
    data["sequence_number"] = sequence_++;
    pending_ += "event: " + type + "\ndata: " + json::dump(data) + "\n\n";
  }

  void start() {
    if (started_) return;
    started_ = true;
    event("response.created", {{"response", response_}});
    event("response.in_progress", {{"response", response_}});
  }

  void openItem(Json item) {
    closeItem();
    item_index_ = static_cast<int>(response_["output"].size());
    item_ = std::move(item);
    event("response.output_item.added", {{"output_index", item_index_}, {"item", item_}});
    if (item_["type"] == "message")
      event("response.content_part.added",
            {{"item_id", item_["id"]},
             {"output_index", item_index_},
             {"content_index", 0},
             {"part", {{"type", "output_text"}, {"text", ""}, {"annotations", Json::array()}}}});
    response_["output"].push_back(nullptr);  // the slot; filled when the item is done
  }

  void closeItem() {
    if (item_index_ < 0) return;
    const Json id = item_["id"];
    if (item_["type"] == "message") {
      event("response.output_text.done", {{"item_id", id},
                                          {"output_index", item_index_},
                                          {"content_index", 0},
                                          {"text", text_},
                                          {"logprobs", Json::array()}});
      event("response.content_part.done",
            {{"item_id", id},
             {"output_index", item_index_},
             {"content_index", 0},
             {"part", {{"type", "output_text"}, {"text", text_}, {"annotations", Json::array()}}}});
      item_ = messageItem(id, text_, "completed");
    } else {
      event("response.function_call_arguments.done", {{"item_id", id},
                                                      {"output_index", item_index_},
                                                      {"name", item_["name"]},
                                                      {"arguments", arguments_}});
      item_ = callItem(id, item_["call_id"], item_["name"], arguments_, "completed");
    }
    event("response.output_item.done", {{"output_index", item_index_}, {"item", item_}});
    response_["output"][static_cast<std::size_t>(item_index_)] = item_;
    item_index_ = -1;
    text_.clear();
    arguments_.clear();
  }

  void textDelta(const std::string& text) {
    if (item_index_ < 0 || item_["type"] != "message")
      openItem({{"type", "message"},
                {"id", providers::newCompletionId("msg_")},
                {"status", "in_progress"},
                {"role", "assistant"},
                {"content", Json::array()}});
    text_ += text;
    event("response.output_text.delta", {{"item_id", item_["id"]},
                                         {"output_index", item_index_},
                                         {"content_index", 0},
                                         {"delta", text},
                                         {"logprobs", Json::array()}});
  }

  // A new call starts with its id (and name); later pieces only carry arguments.
  void toolDelta(const Json& call) {
    const long long index = integer(call, "index", 0);
    const Json& fn = field(call, "function");
    const std::string id = str(call, "id");
    if (item_index_ < 0 || item_["type"] != "function_call" || index != call_index_ ||
        (!id.empty() && id != item_["call_id"])) {
      call_index_ = index;
      openItem(callItem(providers::newCompletionId("fc_"),
                        id.empty() ? providers::newCompletionId("call_") : id, str(fn, "name"), "",
                        "in_progress"));
    }
    const std::string args = str(fn, "arguments");
    if (args.empty()) return;
    arguments_ += args;
    event("response.function_call_arguments.delta",
          {{"item_id", item_["id"]}, {"output_index", item_index_}, {"delta", args}});
  }

  ReplyContext reply_;
  Json response_;
  bool started_ = false;
  long long sequence_ = 0;
  int item_index_ = -1;  // the open output item, -1 = none
  Json item_;
  long long call_index_ = -1;
  std::string text_, arguments_;
  std::string finish_ = "stop";
  Usage usage_;
};

class OpenAIResponses : public ClientFormat {
 public:
  std::string_view name() const override { return "responses"; }
  providers::NativeApi api() const override { return providers::NativeApi::Responses; }

  Result<nlohmann::json, ApiError> toHub(const nlohmann::json& body) const override {
    return responses::requestToHub(body);
  }

  Result<std::string, ApiError> fromHub(std::string_view answer,
                                        const ReplyContext& reply) const override {
    Json in;
    if (!json::parse(answer, in) || !in.is_object())
      return Result<std::string, ApiError>::failure(
          ApiError::badGateway("the answer to translate is not a JSON object"));
    const long long created = integer(in, "created", providers::unixNow());
    Json out = responseObject(providers::newCompletionId("resp_"), created, reply, "completed");
    const Json& choices = field(in, "choices");
    const Json& choice = choices.is_array() && !choices.empty() ? choices[0] : Json::object();
    const Json& message = field(choice, "message");
    if (const std::string text = providers::contentText(field(message, "content")); !text.empty())
      out["output"].push_back(messageItem(providers::newCompletionId("msg_"), text, "completed"));
    if (const Json& calls = field(message, "tool_calls"); calls.is_array())
      for (const auto& call : calls) {
        const Json& fn = field(call, "function");
        const std::string id = str(call, "id");
        out["output"].push_back(callItem(providers::newCompletionId("fc_"),
                                         id.empty() ? providers::newCompletionId("call_") : id,
                                         str(fn, "name"), str(fn, "arguments"), "completed"));
      }
    finishOn(out, str(choice, "finish_reason"));
    out["usage"] = usageOut(providers::usageFromOpenAI(field(in, "usage")));
    return json::dump(out);
  }

  std::unique_ptr<StreamEncoder> newEncoder(const ReplyContext& reply) const override {
    return std::make_unique<ResponsesEncoder>(reply);
  }
};

}  // namespace

const ClientFormat& openaiResponses() {
  static const OpenAIResponses format;
  return format;
}

}  // namespace aigw::formats
