// OpenAI wire format: chat completions, legacy completions, embeddings and the model list, at
// OpenAI's paths (/v1/...; Mistral, vLLM, llama.cpp and Hugging Face's router use the same)
// and Azure's (/openai/deployments/{deployment}/...).
// Credentials: "Authorization: Bearer <key>" (or Azure's "api-key" header); without one the
// answer is OpenAI's 401 "You didn't provide an API key", with a key containing "wrong" its
// 401 invalid_api_key (https://platform.openai.com/docs/guides/error-codes).
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fake_common.hpp"

namespace aigw::fake {

namespace {

std::string sseEvent(const Json& data) {
  return "data: " + data.dump() + "\n\n";
}

Json usageJson(int prompt_tokens, int completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

bool includeUsage(const Json& body) {
  const Json options = body.value("stream_options", Json::object());
  return options.is_object() && options.value("include_usage", false);
}

// Fields every chunk of one stream shares; OpenAI repeats them on each chunk.
Json chunkBase(const std::string& id, const char* object, const std::string& model,
               std::int64_t created) {
  return {{"id", id},
          {"object", object},
          {"created", created},
          {"model", model},
          {"system_fingerprint", "fp_fake"}};
}

// Builds a stream from the answer pieces: `piece_choice` turns a piece into one choice of the
// chunk, `final_choice` is the choice carrying finish_reason.
template <class PieceChoice>
Reply streamReply(const Call& call, const char* object, const std::string& id,
                  const std::vector<std::string>& pieces, const Json& first_choice,
                  PieceChoice piece_choice, const Json& final_choice, const Json& usage) {
  const std::int64_t created = unixSeconds();
  const bool with_usage = includeUsage(call.body);
  Reply reply;
  reply.streaming = true;
  reply.content_type = "text/event-stream";
  auto add = [&](Json choices) {
    Json chunk = chunkBase(id, object, call.model, created);
    chunk["choices"] = std::move(choices);
    // With include_usage, OpenAI sends "usage": null on every chunk but the last.
    if (with_usage) chunk["usage"] = nullptr;
    reply.events.push_back(sseEvent(chunk));
  };
  if (!first_choice.is_null()) add(Json::array({first_choice}));
  for (const auto& piece : pieces) add(Json::array({piece_choice(piece)}));
  add(Json::array({final_choice}));
  if (with_usage) {
    Json chunk = chunkBase(id, object, call.model, created);
    chunk["choices"] = Json::array();
    chunk["usage"] = usage;
    reply.events.push_back(sseEvent(chunk));
  }
  reply.events.push_back("data: [DONE]\n\n");
  return reply;
}

Reply chatCompletions(const Call& call) {
  const Json messages = call.body.value("messages", Json::array());
  const std::string answer = answerFor("openai", lastUserText(messages));
  const auto pieces = streamPieces(answer);
  const Json usage = usageJson(countPromptWords(messages), static_cast<int>(pieces.size()));
  const std::string id = newId("chatcmpl-fake");

  if (wantsStream(call.body, false)) {
    const Json first = {{"index", 0},
                        {"delta", {{"role", "assistant"}, {"content", ""}}},
                        {"logprobs", nullptr},
                        {"finish_reason", nullptr}};
    const Json last = {
        {"index", 0}, {"delta", Json::object()}, {"logprobs", nullptr}, {"finish_reason", "stop"}};
    auto piece_choice = [](const std::string& piece) {
      return Json{{"index", 0},
                  {"delta", {{"content", piece}}},
                  {"logprobs", nullptr},
                  {"finish_reason", nullptr}};
    };
    return streamReply(call, "chat.completion.chunk", id, pieces, first, piece_choice, last, usage);
  }

  Json out = chunkBase(id, "chat.completion", call.model, unixSeconds());
  out["choices"] = Json::array({{{"index", 0},
                                 {"message", {{"role", "assistant"}, {"content", answer}}},
                                 {"logprobs", nullptr},
                                 {"finish_reason", "stop"}}});
  out["usage"] = usage;
  return jsonReply(out.dump());
}

std::string promptText(const Json& prompt) {
  if (prompt.is_string()) return prompt.get<std::string>();
  if (prompt.is_array() && !prompt.empty() && prompt.back().is_string()) {
    return prompt.back().get<std::string>();
  }
  return "";
}

Reply completions(const Call& call) {
  const std::string prompt = promptText(call.body.value("prompt", Json()));
  const std::string answer = answerFor("openai", prompt);
  const auto pieces = streamPieces(answer);
  const Json usage = usageJson(countWords(prompt), static_cast<int>(pieces.size()));
  const std::string id = newId("cmpl-fake");

  if (wantsStream(call.body, false)) {
    auto piece_choice = [](const std::string& piece) {
      return Json{{"index", 0}, {"text", piece}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
    };
    const Json last = {
        {"index", 0}, {"text", ""}, {"logprobs", nullptr}, {"finish_reason", "stop"}};
    return streamReply(call, "text_completion", id, pieces, Json(), piece_choice, last, usage);
  }

  Json out = chunkBase(id, "text_completion", call.model, unixSeconds());
  out["choices"] = Json::array(
      {{{"index", 0}, {"text", answer}, {"logprobs", nullptr}, {"finish_reason", "stop"}}});
  out["usage"] = usage;
  return jsonReply(out.dump());
}

// The vector as OpenAI sends it for encoding_format "base64": little-endian float32s. The
// openai SDKs ask for this by default and decode it themselves.
std::string base64Float32(const std::vector<double>& values) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  for (double v : values) {
    const float f = static_cast<float>(v);
    std::uint32_t bits = 0;
    std::memcpy(&bits, &f, sizeof bits);
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
  }
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? kAlphabet[n & 63] : '=');
  }
  return out;
}

Reply embeddings(const Call& call) {
  const Json input = call.body.value("input", Json());
  std::vector<std::string> texts;
  if (input.is_string()) {
    texts.push_back(input.get<std::string>());
  } else if (input.is_array()) {
    for (const auto& item : input) {
      texts.push_back(item.is_string() ? item.get<std::string>() : item.dump());
    }
  }
  const bool base64 = call.body.value("encoding_format", "float") == "base64";
  Json data = Json::array();
  int tokens = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto vector = fakeEmbedding(texts[i]);
    data.push_back({{"object", "embedding"},
                    {"index", i},
                    {"embedding", base64 ? Json(base64Float32(vector)) : Json(vector)}});
    tokens += countWords(texts[i]);
  }
  const Json out = {{"object", "list"},
                    {"data", std::move(data)},
                    {"model", call.model},
                    {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
  return jsonReply(out.dump());
}

Reply models(const Call&) {
  Json data = Json::array();
  for (const char* id : {"fake-model", "gpt-4o-mini", "text-embedding-3-small"}) {
    data.push_back({{"id", id}, {"object", "model"}, {"created", 0}, {"owned_by", "fake"}});
  }
  return jsonReply(Json{{"object", "list"}, {"data", std::move(data)}}.dump());
}

}  // namespace

std::string openaiErrorBody(int status, const std::string& message) {
  // A 401 is OpenAI's own; other statuses are the scenarios' made-up errors.
  const bool auth = status == 401;
  return Json{{"error",
               {{"message", message},
                {"type", auth ? "invalid_request_error" : "fake_error"},
                {"param", nullptr},
                {"code", auth ? Json("invalid_api_key") : Json("fake_" + std::to_string(status))}}}}
      .dump();
}

namespace {

std::optional<AuthFailure> checkOpenaiAuth(const Call& call) {
  std::string key = bearerToken(call.header("authorization"));
  if (key.empty()) key = call.header("api-key");  // Azure
  return checkKey(key,
                  "You didn't provide an API key. You need to provide your API key in an "
                  "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                  "Incorrect API key provided. You can find your API key at "
                  "https://platform.openai.com/account/api-keys.");
}

}  // namespace

std::vector<Dialect> openaiDialects() {
  const auto auth = checkOpenaiAuth;
  return {
      {"openai", "POST", "/v1/chat/completions", chatCompletions, openaiErrorBody, nullptr, auth},
      {"openai", "POST", "/v1/completions", completions, openaiErrorBody, nullptr, auth},
      {"openai", "POST", "/v1/embeddings", embeddings, openaiErrorBody, nullptr, auth},
      {"openai", "GET", "/v1/models", models, openaiErrorBody, nullptr, auth},
      {"openai", "POST", "/openai/deployments/{}/chat/completions", chatCompletions,
       openaiErrorBody, nullptr, auth},
      {"openai", "POST", "/openai/deployments/{}/completions", completions, openaiErrorBody,
       nullptr, auth},
      {"openai", "POST", "/openai/deployments/{}/embeddings", embeddings, openaiErrorBody, nullptr,
       auth},
  };
}

}  // namespace aigw::fake
