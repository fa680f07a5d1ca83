// Bedrock ConverseStream events -> OpenAI chat.completion.chunk (or text_completion) events.
//   https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
//   https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html
// The proxy's event stream framer (proxy/aws_eventstream.cpp) hands over each message's
// :event-type as the event name and its JSON payload as the data; exception messages already
// ended the stream there. The events:
//   messageStart       -> first chunk: delta {role: "assistant", content: ""}
//   contentBlockStart  -> with start.toolUse: delta.tool_calls[{index, id, type, function
//                         {name, arguments: ""}}]
//   contentBlockDelta  -> delta.text: delta.content; delta.toolUse.input: delta.tool_calls
//                         [{index, function {arguments: fragment}}]
//   contentBlockStop   -> nothing
//   messageStop        -> stopReason remembered; this is the natural end of the answer
//   metadata           -> usage; the finish chunk (finish_reason mapped, usage on it) goes out
//                         here, or at the end of the body when no metadata came
// contentBlockIndex counts text and tool blocks alike; OpenAI numbers tool calls only, so tool
// indexes are renumbered. Unknown events (reasoning, citations, added later) are skipped.
#include <map>

#include "core/json.hpp"
#include "providers/bedrock.hpp"
#include "providers/common.hpp"
#include "providers/json_fields.hpp"

namespace aigw::providers::bedrock {

namespace {

using Json = nlohmann::json;
using wire::field;
using wire::str;

class BedrockStreamDecoder : public StreamDecoder {
 public:
  explicit BedrockStreamDecoder(const ProxyCall& call)
      : chunks_(call.route_type, call.model), preserve_(call.route_type == RouteType::Preserve) {}

  Status onEvent(std::string_view event, std::string_view data, ChunkSink& out) override {
    if (preserve_) {
      out.emit(data);
      return {};
    }
    if (finished_) return {};
    Json ev;
    if (!json::parse(data, ev) || !ev.is_object())
      return Status::error("upstream bedrock sent a stream event that is not a JSON object");
    if (event == "messageStart") {
      if (!chunks_.completions()) chunks_.delta({{"role", "assistant"}, {"content", ""}}, out);
    } else if (event == "contentBlockStart") {
      return onBlockStart(ev, out);
    } else if (event == "contentBlockDelta") {
      return onBlockDelta(ev, out);
    } else if (event == "messageStop") {
      stop_reason_ = str(ev, "stopReason");
      stopped_ = true;
    } else if (event == "metadata") {
      usage_meta_ = field(ev, "usage");
      usage_ = usageFrom(usage_meta_);
      if (stopped_) emitFinish(out);
    }
    return {};
  }

  Status onEnd(ChunkSink& out) override {
    if (preserve_) return {};
    if (!stopped_)
      return Status::error(
          "upstream bedrock stream ended before messageStop; the answer is incomplete");
    if (!finished_) emitFinish(out);
    return {};
  }

 private:
  Status onBlockStart(const Json& ev, ChunkSink& out) {
    const Json& use = field(field(ev, "start"), "toolUse");
    if (!use.is_object()) return {};
    if (chunks_.completions()) return {};
    const int index = next_tool_++;
    tools_[blockIndex(ev)] = index;
    Json call = {{"index", index},
                 {"id", str(use, "toolUseId")},
                 {"type", "function"},
                 {"function", {{"name", str(use, "name")}, {"arguments", ""}}}};
    chunks_.delta({{"tool_calls", Json::array({std::move(call)})}}, out);
    return {};
  }

  Status onBlockDelta(const Json& ev, ChunkSink& out) {
    const Json& delta = field(ev, "delta");
    if (const Json& text = field(delta, "text"); text.is_string()) {
      chunks_.text(text.get<std::string>(), out);
    } else if (const Json& use = field(delta, "toolUse"); use.is_object()) {
      if (chunks_.completions()) return {};
      const auto it = tools_.find(blockIndex(ev));
      if (it == tools_.end())
        return Status::error("upstream bedrock sent toolUse input for an unknown content block");
      const std::string fragment = str(use, "input");
      if (fragment.empty()) return {};
      Json call = {{"index", it->second}, {"function", {{"arguments", fragment}}}};
      chunks_.delta({{"tool_calls", Json::array({std::move(call)})}}, out);
    }
    // reasoningContent, citation: no OpenAI chunk field to carry them.
    return {};
  }

  void emitFinish(ChunkSink& out) {
    finished_ = true;
    Json chunk = chunks_.base();
    Json choice = {{"index", 0}, {"finish_reason", finishReason(stop_reason_)}};
    if (chunks_.completions()) {
      choice["text"] = "";
      choice["logprobs"] = nullptr;
    } else {
      choice["delta"] = Json::object();
    }
    chunk["choices"].push_back(std::move(choice));
    chunk["usage"] = usageJsonFrom(usage_meta_);
    out.emit(json::dump(chunk));
  }

  static long long blockIndex(const Json& ev) {
    const Json& index = field(ev, "contentBlockIndex");
    return index.is_number_integer() ? index.get<long long>() : -1;
  }

  ChunkWriter chunks_;
  bool preserve_;
  std::map<long long, int> tools_;  // contentBlockIndex -> OpenAI tool call index
  int next_tool_ = 0;
  std::string stop_reason_;
  Json usage_meta_;
  bool stopped_ = false;   // messageStop seen: the answer is complete
  bool finished_ = false;  // the finish chunk went out
};

}  // namespace

std::unique_ptr<StreamDecoder> newStreamDecoder(const ProxyCall& call) {
  return std::make_unique<BedrockStreamDecoder>(call);
}

}  // namespace aigw::providers::bedrock
