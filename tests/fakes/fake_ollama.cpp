// Ollama's native API (docs/api.md in the ollama repository): /api/chat and /api/generate
// stream NDJSON unless the request says "stream": false, as the real server does; /api/embed
// and the older /api/embeddings; /api/tags for the model list that local detection reads.
// Ollama takes no credentials, so none are checked.
#include <string>
#include <vector>

#include "fake_common.hpp"

namespace aigw::fake {

namespace {

// Durations are in nanoseconds in Ollama's answers; fixed values keep answers deterministic.
constexpr std::int64_t kDurationNs = 1'000'000;

Json finalCounts(int prompt_tokens, int completion_tokens) {
  return {{"done", true},
          {"done_reason", "stop"},
          {"total_duration", 3 * kDurationNs},
          {"load_duration", kDurationNs},
          {"prompt_eval_count", prompt_tokens},
          {"prompt_eval_duration", kDurationNs},
          {"eval_count", completion_tokens},
          {"eval_duration", kDurationNs}};
}

// `with_text(json, text)` puts a piece of the answer where this endpoint carries it.
template <class WithText>
Reply ndjsonOrJson(const Call& call, const std::string& answer, int prompt_tokens,
                   WithText with_text) {
  const auto pieces = streamPieces(answer);
  const int completion_tokens = static_cast<int>(pieces.size());
  auto base = [&] { return Json{{"model", call.model}, {"created_at", rfc3339Now()}}; };

  Reply reply;
  if (!wantsStream(call.body, true)) {
    Json out = base();
    with_text(out, answer);
    out.update(finalCounts(prompt_tokens, completion_tokens));
    reply.body = out.dump();
    return reply;
  }
  reply.streaming = true;
  reply.content_type = "application/x-ndjson";
  for (const auto& piece : pieces) {
    Json line = base();
    with_text(line, piece);
    line["done"] = false;
    reply.events.push_back(line.dump() + "\n");
  }
  Json last = base();
  with_text(last, "");
  last.update(finalCounts(prompt_tokens, completion_tokens));
  reply.events.push_back(last.dump() + "\n");
  return reply;
}

Reply chat(const Call& call) {
  const Json messages = call.body.value("messages", Json::array());
  return ndjsonOrJson(call, answerFor("ollama", lastUserText(messages)), countPromptWords(messages),
                      [](Json& out, const std::string& text) {
                        out["message"] = {{"role", "assistant"}, {"content", text}};
                      });
}

Reply generate(const Call& call) {
  const Json prompt = call.body.value("prompt", Json(""));
  const std::string text = prompt.is_string() ? prompt.get<std::string>() : "";
  return ndjsonOrJson(call, answerFor("ollama", text), countWords(text),
                      [](Json& out, const std::string& piece) { out["response"] = piece; });
}

Reply embed(const Call& call) {
  const Json input = call.body.value("input", Json());
  Json vectors = Json::array();
  int tokens = 0;
  auto add = [&](const std::string& text) {
    vectors.push_back(fakeEmbedding(text));
    tokens += countWords(text);
  };
  if (input.is_string()) add(input.get<std::string>());
  if (input.is_array()) {
    for (const auto& item : input) add(item.is_string() ? item.get<std::string>() : item.dump());
  }
  const Json out = {{"model", call.model},
                    {"embeddings", std::move(vectors)},
                    {"total_duration", kDurationNs},
                    {"load_duration", kDurationNs},
                    {"prompt_eval_count", tokens}};
  return jsonReply(out.dump());
}

Reply legacyEmbeddings(const Call& call) {
  const Json prompt = call.body.value("prompt", Json(""));
  const std::string text = prompt.is_string() ? prompt.get<std::string>() : "";
  return jsonReply(Json{{"embedding", fakeEmbedding(text)}}.dump());
}

Reply tags(const Call&) {
  Json models = Json::array();
  for (const char* name : {"llama3.2:latest", "nomic-embed-text:latest"}) {
    models.push_back({{"name", name},
                      {"model", name},
                      {"modified_at", "2024-01-01T00:00:00Z"},
                      {"size", 1000},
                      {"digest", "fake"}});
  }
  return jsonReply(Json{{"models", std::move(models)}}.dump());
}

Reply version(const Call&) {
  return jsonReply(R"({"version":"0.0.0-fake"})");
}

// Ollama's errors are a bare string, not OpenAI's object.
std::string ollamaErrorBody(int, const std::string& message) {
  return Json{{"error", message}}.dump();
}

}  // namespace

std::vector<Dialect> ollamaDialects() {
  return {
      {"ollama", "POST", "/api/chat", chat, ollamaErrorBody},
      {"ollama", "POST", "/api/generate", generate, ollamaErrorBody},
      {"ollama", "POST", "/api/embed", embed, ollamaErrorBody},
      {"ollama", "POST", "/api/embeddings", legacyEmbeddings, ollamaErrorBody},
      {"ollama", "GET", "/api/tags", tags, ollamaErrorBody},
      {"ollama", "GET", "/api/version", version, ollamaErrorBody},
  };
}

}  // namespace aigw::fake
