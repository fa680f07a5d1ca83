// Anthropic streamed Messages -> OpenAI chat.completion.chunk (or text_completion) events.
// https://docs.anthropic.com/en/api/messages-streaming
//
// The upstream sends named SSE events:
//   message_start        -> first chunk: delta {role: "assistant", content: ""}; id, model and
//                           input usage remembered
//   content_block_start  -> for a tool_use block: delta.tool_calls[{index, id, type, function
//                           {name, arguments: ""}}]
//   content_block_delta  -> text_delta: delta.content; input_json_delta: delta.tool_calls
//                           [{index, function {arguments: partial_json}}]
//   message_delta        -> stop_reason and output usage remembered (no chunk)
//   message_stop         -> final chunk: finish_reason mapped, usage on it
//   ping, content_block_stop and unknown events -> nothing (the docs ask clients to tolerate
//                           new event types); error -> the stream fails with its message.
// Anthropic numbers content blocks across text and tool_use; OpenAI numbers tool calls only,
// so tool indexes are renumbered (Kong loses input_json_delta entirely).
#include <map>

#include "core/json.hpp"
#include "providers/anthropic.hpp"
#include "providers/common.hpp"
#include "providers/json_fields.hpp"

namespace aigw::providers::anthropic {

namespace {

using Json = nlohmann::json;
using wire::field;
using wire::str;

class AnthropicStreamDecoder : public StreamDecoder {
 public:
  AnthropicStreamDecoder(RouteType type, std::string model) : chunks_(type, std::move(model)) {}

  Status onEvent(std::string_view event, std::string_view data, ChunkSink& out) override {
    if (done_) return {};
    Json ev;
    if (!json::parse(data, ev) || !ev.is_object())
      return Status::error("upstream anthropic sent a stream event that is not a JSON object");
    // The data's own "type" is authoritative; the SSE event name is the same string.
    std::string type = str(ev, "type");
    if (type.empty()) type = std::string(event);

    if (type == "message_start") return onMessageStart(field(ev, "message"), out);
    if (type == "content_block_start") return onBlockStart(ev, out);
    if (type == "content_block_delta") return onBlockDelta(ev, out);
    if (type == "message_delta") {
      if (const std::string reason = str(field(ev, "delta"), "stop_reason"); !reason.empty())
        stop_reason_ = reason;
      mergeUsage(field(ev, "usage"));
      return {};
    }
    if (type == "message_stop") return onMessageStop(out);
    if (type == "error") {
      const Json& err = field(ev, "error");
      std::string message = str(err, "message");
      if (message.empty()) message = err.is_null() ? std::string(data) : json::dump(err);
      return Status::error("upstream error mid-stream: " + message);
    }
    return {};  // ping, content_block_stop, and event types added after this was written
  }

  Status onEnd(ChunkSink&) override {
    if (!done_)
      return Status::error(
          "upstream anthropic stream ended before message_stop; the answer is incomplete");
    return {};
  }

 private:
  Status onMessageStart(const Json& message, ChunkSink& out) {
    if (const std::string id = str(message, "id"); !id.empty()) chunks_.setId(id);
    if (const std::string model = str(message, "model"); !model.empty()) chunks_.setModel(model);
    mergeUsage(field(message, "usage"));
    if (chunks_.completions()) return {};
    chunks_.delta({{"role", "assistant"}, {"content", ""}}, out);
    return {};
  }

  Status onBlockStart(const Json& ev, ChunkSink& out) {
    const Json& block = field(ev, "content_block");
    const std::string type = str(block, "type");
    if (type == "tool_use") {
      const int index = tool_index_++;
      tools_[blockIndex(ev)] = index;
      Json call = {{"index", index},
                   {"id", str(block, "id")},
                   {"type", "function"},
                   {"function", {{"name", str(block, "name")}, {"arguments", ""}}}};
      chunks_.delta({{"tool_calls", Json::array({std::move(call)})}}, out);
    } else if (type == "text") {
      if (const std::string text = str(block, "text"); !text.empty()) chunks_.text(text, out);
    }
    return {};
  }

  Status onBlockDelta(const Json& ev, ChunkSink& out) {
    const Json& delta = field(ev, "delta");
    const std::string type = str(delta, "type");
    if (type == "text_delta") {
      chunks_.text(str(delta, "text"), out);
    } else if (type == "input_json_delta") {
      const auto it = tools_.find(blockIndex(ev));
      if (it == tools_.end())
        return Status::error(
            "upstream anthropic sent input_json_delta for an unknown content block");
      const std::string partial = str(delta, "partial_json");
      if (partial.empty()) return {};
      Json call = {{"index", it->second}, {"function", {{"arguments", partial}}}};
      chunks_.delta({{"tool_calls", Json::array({std::move(call)})}}, out);
    }
    // thinking_delta, signature_delta, citations_delta: no OpenAI chunk field to carry them.
    return {};
  }

  Status onMessageStop(ChunkSink& out) {
    done_ = true;
    Json chunk = chunks_.base();
    Json choice = {{"index", 0}, {"finish_reason", finishReason(stop_reason_)}};
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

  // message_start carries input usage, message_delta the (cumulative) output; a later count
  // replaces an earlier one.
  void mergeUsage(const Json& usage) { usage_.merge(usageFrom(usage)); }

  static long long blockIndex(const Json& ev) {
    const Json& index = field(ev, "index");
    return index.is_number_integer() ? index.get<long long>() : -1;
  }

  ChunkWriter chunks_;
  std::string stop_reason_;
  std::map<long long, int> tools_;  // Anthropic content block index -> OpenAI tool call index
  int tool_index_ = 0;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<StreamDecoder> newStreamDecoder(RouteType type, std::string model) {
  return std::make_unique<AnthropicStreamDecoder>(type, std::move(model));
}

}  // namespace aigw::providers::anthropic
