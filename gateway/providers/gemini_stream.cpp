// Gemini answers -> OpenAI: the pieces shared by parseResponse, and the stream decoder.
// With ?alt=sse, streamGenerateContent sends one GenerateContentResponse per SSE event and
// no terminal marker
// (https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent), so the natural
// end is "the body ended after a candidate with a finishReason".
#include <algorithm>
#include <map>

#include "core/json.hpp"
#include "providers/common.hpp"
#include "providers/gemini.hpp"
#include "providers/json_fields.hpp"

namespace aigw::providers::gemini {

namespace {

using Json = nlohmann::json;

long long count(const Json& meta, const char* key) {
  auto it = meta.find(key);
  return it != meta.end() && it->is_number() ? it->get<long long>() : 0;
}

}  // namespace

// https://ai.google.dev/api/generate-content#FinishReason : every value maps into OpenAI's
// set (Kong lower-cases them, leaking "max_tokens" and "safety" to clients).
std::string finishReason(std::string_view reason, bool has_tool_calls) {
  static constexpr std::pair<std::string_view, std::string_view> kTable[] = {
      {"MAX_TOKENS", "length"},
      {"SAFETY", "content_filter"},
      {"RECITATION", "content_filter"},
      {"BLOCKLIST", "content_filter"},
      {"PROHIBITED_CONTENT", "content_filter"},
      {"SPII", "content_filter"},
      {"IMAGE_SAFETY", "content_filter"},
  };
  for (const auto& [gemini, openai] : kTable)
    if (reason == gemini) return std::string(openai);
  // STOP, LANGUAGE, OTHER, MALFORMED_FUNCTION_CALL, unspecified, and values added later.
  return has_tool_calls ? "tool_calls" : "stop";
}

// https://ai.google.dev/api/generate-content#UsageMetadata
Usage usageFrom(const Json& meta) {
  Usage u;
  if (!meta.is_object()) return u;
  u.prompt_tokens = count(meta, "promptTokenCount");
  u.completion_tokens = count(meta, "candidatesTokenCount") + count(meta, "thoughtsTokenCount");
  // Both are parts of the counts above, reported only when they apply.
  if (meta.contains("cachedContentTokenCount"))
    u.cached_tokens = count(meta, "cachedContentTokenCount");
  if (meta.contains("thoughtsTokenCount")) u.reasoning_tokens = count(meta, "thoughtsTokenCount");
  return u;
}

Json usageJsonFrom(const Json& meta) {
  const Usage u = usageFrom(meta);
  Json out = usageJson(u);
  if (meta.is_object() && meta.contains("totalTokenCount") && meta["totalTokenCount"].is_number())
    out["total_tokens"] = meta["totalTokenCount"];
  return out;
}

namespace {

const Json* partsOf(const Json& candidate) {
  auto content = candidate.find("content");
  if (content == candidate.end() || !content->is_object()) return nullptr;
  auto parts = content->find("parts");
  return parts != content->end() && parts->is_array() ? &*parts : nullptr;
}

}  // namespace

std::string candidateText(const Json& candidate) {
  std::string text;
  const Json* parts = partsOf(candidate);
  if (!parts) return text;
  for (const auto& p : *parts) {
    if (!p.is_object() || wire::field(p, "thought") == true) continue;
    if (auto t = p.find("text"); t != p.end() && t->is_string())
      text += t->get_ref<const std::string&>();
  }
  return text;
}

Json candidateToolCalls(const Json& candidate, int first_index) {
  Json calls = Json::array();
  const Json* parts = partsOf(candidate);
  if (!parts) return calls;
  for (const auto& p : *parts) {
    if (!p.is_object() || !p.contains("functionCall") || !p["functionCall"].is_object()) continue;
    const Json& fc = p["functionCall"];
    Json call = {{"id", newCompletionId("call_")},
                 {"type", "function"},
                 {"function",
                  {{"name", wire::str(fc, "name")},
                   {"arguments", json::dump(fc.value("args", Json::object()))}}}};
    if (first_index >= 0) call["index"] = first_index++;
    calls.push_back(std::move(call));
  }
  return calls;
}

std::string errorMessage(const Json& body) {
  const Json& doc = body.is_array() && !body.empty() ? body[0] : body;
  if (!doc.is_object() || !doc.contains("error")) return "";
  const Json& e = doc["error"];
  if (e.is_string()) return e.get<std::string>();
  if (e.is_object() && e.contains("message") && e["message"].is_string()) return e["message"];
  return json::dump(e);
}

namespace {

// Per request, one thread. Chunks go out as events arrive, except the chunk carrying a
// finish_reason: it is held until the next event or the end of the body, so the final chunk
// can carry the last (cumulative) usageMetadata whichever event brought it.
class GeminiStreamDecoder : public StreamDecoder {
 public:
  explicit GeminiStreamDecoder(const ProxyCall& call)
      : chat_(call.route_type == RouteType::Chat),
        preserve_(call.route_type == RouteType::Preserve),
        id_(newCompletionId(chat_ || preserve_ ? "chatcmpl-" : "cmpl-")),
        created_(unixNow()),
        model_(call.model) {}

  Status onEvent(std::string_view, std::string_view data, ChunkSink& out) override {
    if (preserve_) {
      out.emit(data);
      return {};
    }
    Json event;
    if (!json::parse(data, event) || !event.is_object())
      return Status::error("upstream gemini sent a stream event that is not a JSON object");
    if (event.contains("error"))
      return Status::error("upstream error mid-stream: " + errorMessage(event));
    if (event.contains("usageMetadata") && event["usageMetadata"].is_object()) {
      usage_meta_ = event["usageMetadata"];
      usage_ = usageFrom(usage_meta_);
    }
    const Json candidates = event.value("candidates", Json::array());
    if ((!candidates.is_array() || candidates.empty()) && event.contains("promptFeedback") &&
        event["promptFeedback"].is_object() && event["promptFeedback"].contains("blockReason")) {
      // A blocked prompt: no candidates at all. Same choice as parseResponse: an empty answer
      // that ends with content_filter.
      Json chunk = newChunk();
      chunk["choices"].push_back(chat_ ? choiceBase(0, {{"role", "assistant"}, {"content", ""}})
                                       : Json{{"index", 0}, {"text", ""}});
      chunk["choices"][0]["finish_reason"] = "content_filter";
      saw_finish_ = true;
      if (flushHeld(out, false)) hold(std::move(chunk));
      return {};
    }
    if (!candidates.is_array()) return {};
    Json chunk = newChunk();
    bool finishing = false;
    for (std::size_t k = 0; k < candidates.size(); ++k) {
      const Json& cand = candidates[k];
      if (!cand.is_object()) continue;
      const long long index = wire::integer(cand, "index", static_cast<long long>(k));
      auto& state = candidates_[index];
      const std::string text = candidateText(cand);
      Json delta = Json::object();
      Json choice;
      if (chat_) {
        if (!state.sent_role) delta["role"] = "assistant", state.sent_role = true;
        if (!text.empty()) delta["content"] = text;
        Json calls = candidateToolCalls(cand, state.tool_index);
        if (!calls.empty()) {
          state.tool_index += static_cast<int>(calls.size());
          delta["tool_calls"] = std::move(calls);
        }
        choice = choiceBase(index, std::move(delta));
      } else {
        choice = {{"index", index}, {"text", text}, {"finish_reason", nullptr}};
      }
      if (const std::string reason = wire::str(cand, "finishReason"); !reason.empty()) {
        choice["finish_reason"] = finishReason(reason, state.tool_index > 0);
        finishing = saw_finish_ = state.finished = true;
      } else if (chat_ && choice["delta"].empty()) {
        continue;  // nothing to say for this candidate yet (e.g. a usage-only event)
      } else if (!chat_ && text.empty()) {
        continue;
      }
      chunk["choices"].push_back(std::move(choice));
    }
    // An event with nothing to say (e.g. usage only) leaves a held finish chunk held, so
    // the usage it brought still reaches the final chunk.
    if (chunk["choices"].empty()) return {};
    if (!flushHeld(out, false)) return {};
    if (finishing) {
      hold(std::move(chunk));
    } else {
      out.emit(json::dump(chunk));
    }
    return {};
  }

  Status onEnd(ChunkSink& out) override {
    if (preserve_) return {};
    const bool all_finished = std::all_of(candidates_.begin(), candidates_.end(),
                                          [](const auto& c) { return c.second.finished; });
    if (!saw_finish_ || !all_finished)
      return Status::error(
          "upstream gemini stream ended before a finishReason; the answer is incomplete");
    if (!held_.is_null()) {
      flushHeld(out, true);
    } else if (!usage_meta_.is_null()) {
      // Usage came after the last finish chunk went out: a usage-only chunk, OpenAI's shape.
      Json chunk = newChunk();
      chunk["usage"] = usageJsonFrom(usage_meta_);
      out.emit(json::dump(chunk));
    }
    return {};
  }

 private:
  struct CandidateState {
    bool sent_role = false;
    int tool_index = 0;  // running count of tool calls, the "index" of the next one
    bool finished = false;
  };

  Json choiceBase(long long index, Json delta) const {
    return {{"index", index}, {"delta", std::move(delta)}, {"finish_reason", nullptr}};
  }

  Json newChunk() const {
    Json chunk = makeChunk(id_, created_, model_);
    if (!chat_) chunk["object"] = "text_completion";
    return chunk;
  }

  void hold(Json chunk) { held_ = std::move(chunk); }

  // Sends the held finish chunk; the last one gets the usage. False if the client is gone.
  bool flushHeld(ChunkSink& out, bool last) {
    if (held_.is_null()) return true;
    if (last) held_["usage"] = usageJsonFrom(usage_meta_);
    const bool alive = out.emit(json::dump(held_));
    held_ = nullptr;
    return alive;
  }

  bool chat_;
  bool preserve_;
  std::string id_;
  long long created_;
  std::string model_;
  std::map<long long, CandidateState> candidates_;
  Json usage_meta_;  // the latest usageMetadata (cumulative, so the last one is the total)
  Json held_;        // a chunk with finish_reason not yet sent
  bool saw_finish_ = false;
};

}  // namespace

std::unique_ptr<StreamDecoder> newStreamDecoder(const ProxyCall& call) {
  return std::make_unique<GeminiStreamDecoder>(call);
}

}  // namespace aigw::providers::gemini
