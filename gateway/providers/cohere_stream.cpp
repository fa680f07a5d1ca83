// Cohere v2 streamed chat -> OpenAI chat.completion.chunk (or text_completion) events.
// https://docs.cohere.com/reference/chat-stream and
// https://docs.cohere.com/docs/tool-use-streaming
//
// The upstream sends SSE events whose data carries a "type":
//   message-start          -> first chunk: delta {role: "assistant", content: ""}; id kept
//   content-delta          -> delta.content = delta.message.content.text
//   tool-plan-delta        -> delta.content = delta.message.tool_plan (the non-stream answer
//                             puts the tool plan in content too)
//   tool-call-start        -> delta.tool_calls[{index, id, type, function {name, arguments}}]
//   tool-call-delta        -> delta.tool_calls[{index, function {arguments}}]
//   message-end            -> final chunk: finish_reason mapped, usage on it; an "error" in
//                             its delta fails the stream
//   content-start/-end, tool-call-end, citation-*, a trailing [DONE] -> nothing.
// Tool indexes are renumbered from 0 in arrival order, whatever index Cohere gives.
#include <map>

#include "core/json.hpp"
#include "providers/cohere.hpp"
#include "providers/common.hpp"
#include "providers/json_fields.hpp"

namespace aigw::providers::cohere {

namespace {

using Json = nlohmann::json;
using wire::field;
using wire::str;

class CohereStreamDecoder : public StreamDecoder {
 public:
  CohereStreamDecoder(RouteType type, std::string model) : chunks_(type, std::move(model)) {}

  Status onEvent(std::string_view event, std::string_view data, ChunkSink& out) override {
    if (done_ || data == "[DONE]") return {};
    Json ev;
    if (!json::parse(data, ev) || !ev.is_object())
      return Status::error("upstream cohere sent a stream event that is not a JSON object");
    std::string type = str(ev, "type");
    if (type.empty()) type = std::string(event);
    const Json& message = field(field(ev, "delta"), "message");

    if (type == "message-start") {
      if (const std::string id = str(ev, "id"); !id.empty()) chunks_.setId(id);
      if (!chunks_.completions()) chunks_.delta({{"role", "assistant"}, {"content", ""}}, out);
    } else if (type == "content-delta" || type == "content-start") {
      chunks_.text(str(field(message, "content"), "text"), out);
    } else if (type == "tool-plan-delta") {
      chunks_.text(str(message, "tool_plan"), out);
    } else if (type == "tool-call-start") {
      const Json& call = toolCall(message);
      const int index = tool_index_++;
      tools_[cohereIndex(ev)] = index;
      const Json& fn = field(call, "function");
      Json delta = {{"index", index},
                    {"id", str(call, "id")},
                    {"type", "function"},
                    {"function", {{"name", str(fn, "name")}, {"arguments", str(fn, "arguments")}}}};
      chunks_.delta({{"tool_calls", Json::array({std::move(delta)})}}, out);
    } else if (type == "tool-call-delta") {
      const auto it = tools_.find(cohereIndex(ev));
      if (it == tools_.end())
        return Status::error("upstream cohere sent tool-call-delta for an unknown tool call");
      const std::string args = str(field(toolCall(message), "function"), "arguments");
      if (!args.empty()) {
        Json delta = {{"index", it->second}, {"function", {{"arguments", args}}}};
        chunks_.delta({{"tool_calls", Json::array({std::move(delta)})}}, out);
      }
    } else if (type == "message-end") {
      return onMessageEnd(field(ev, "delta"), out);
    }
    return {};
  }

  Status onEnd(ChunkSink&) override {
    if (!done_)
      return Status::error(
          "upstream cohere stream ended before message-end; the answer is incomplete");
    return {};
  }

 private:
  Status onMessageEnd(const Json& delta, ChunkSink& out) {
    done_ = true;
    if (const std::string error = str(delta, "error"); !error.empty())
      return Status::error("upstream error mid-stream: " + error);
    usage_ = usageFrom(field(delta, "usage"));
    Json chunk = chunks_.base();
    Json choice = {{"index", 0}, {"finish_reason", finishReason(str(delta, "finish_reason"))}};
    if (chunks_.completions()) {
      choice["text"] = "";
      choice["logprobs"] = nullptr;
    } else {
      choice["delta"] = Json::object();
    }
    chunk["choices"].push_back(std::move(choice));
    chunk["usage"] = usageJson(usage_);
    out.emit(json::dump(chunk));
    return {};
  }

  // Stream events carry one tool call as an object; tolerate a one-element array too.
  static const Json& toolCall(const Json& message) {
    const Json& calls = field(message, "tool_calls");
    return calls.is_array() && !calls.empty() ? calls[0] : calls;
  }

  static long long cohereIndex(const Json& ev) {
    const Json& index = field(ev, "index");
    return index.is_number_integer() ? index.get<long long>() : -1;
  }

  ChunkWriter chunks_;
  std::map<long long, int> tools_;  // Cohere tool call index -> OpenAI tool call index
  int tool_index_ = 0;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<StreamDecoder> newStreamDecoder(RouteType type, std::string model) {
  return std::make_unique<CohereStreamDecoder>(type, std::move(model));
}

}  // namespace aigw::providers::cohere
