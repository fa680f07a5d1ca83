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

// The first function tool, when the request offers tools, the last user text asks for one
// ("use tool") and the conversation does not already end in a tool result.
std::string toolToCall(const Json& body, const Json& messages, const std::string& user_text) {
  const Json tools = body.value("tools", Json::array());
  if (!tools.is_array() || tools.empty() || user_text.find("use tool") == std::string::npos)
    return "";
  if (messages.is_array() && !messages.empty() && messages.back().value("role", "") == "tool")
    return "";
  return tools[0].value("function", Json::object()).value("name", std::string("tool"));
}

// The answer after tool results: it quotes them, so tests see they arrived.
std::string toolResults(const Json& messages) {
  std::string text;
  if (!messages.is_array()) return text;
  for (auto it = messages.rbegin(); it != messages.rend() && it->value("role", "") == "tool"; ++it)
    text = contentText(it->value("content", Json())) + (text.empty() ? "" : " " + text);
  return text;
}

// "cache me" in the prompt: the answer reports a prompt-cache hit of 3 tokens.
void addCacheDetails(Json& usage, const std::string& user_text) {
  if (user_text.find("cache me") == std::string::npos) return;
  usage["prompt_tokens_details"] = {{"cached_tokens", 3}};
  usage["completion_tokens_details"] = {{"reasoning_tokens", 2}};
}

Reply chatToolCall(const Call& call, const std::string& tool, const std::string& user_text) {
  const Json messages = call.body.value("messages", Json::array());
  const std::string id = newId("chatcmpl-fake"), call_id = newId("call_fake");
  const std::string args = Json{{"query", user_text}}.dump();
  Json usage = usageJson(countPromptWords(messages), 7);
  addCacheDetails(usage, user_text);
  if (!wantsStream(call.body, false)) {
    Json out = chunkBase(id, "chat.completion", call.model, unixSeconds());
    out["choices"] = Json::array(
        {{{"index", 0},
          {"message",
           {{"role", "assistant"},
            {"content", nullptr},
            {"tool_calls", Json::array({{{"id", call_id},
                                         {"type", "function"},
                                         {"function", {{"name", tool}, {"arguments", args}}}}})}}},
          {"logprobs", nullptr},
          {"finish_reason", "tool_calls"}}});
    out["usage"] = usage;
    return jsonReply(out.dump());
  }
  // The arguments arrive in three pieces, the first delta naming the call.
  std::vector<std::string> pieces;
  const std::size_t third = args.size() / 3;
  pieces = {args.substr(0, third), args.substr(third, third), args.substr(2 * third)};
  const Json first = {
      {"index", 0},
      {"delta",
       {{"role", "assistant"},
        {"content", nullptr},
        {"tool_calls", Json::array({{{"index", 0},
                                     {"id", call_id},
                                     {"type", "function"},
                                     {"function", {{"name", tool}, {"arguments", ""}}}}})}}},
      {"logprobs", nullptr},
      {"finish_reason", nullptr}};
  auto piece_choice = [](const std::string& piece) {
    return Json{
        {"index", 0},
        {"delta",
         {{"tool_calls", Json::array({{{"index", 0}, {"function", {{"arguments", piece}}}}})}}},
        {"logprobs", nullptr},
        {"finish_reason", nullptr}};
  };
  const Json last = {{"index", 0},
                     {"delta", Json::object()},
                     {"logprobs", nullptr},
                     {"finish_reason", "tool_calls"}};
  return streamReply(call, "chat.completion.chunk", id, pieces, first, piece_choice, last, usage);
}

Reply chatCompletions(const Call& call) {
  const Json messages = call.body.value("messages", Json::array());
  const std::string user_text = lastUserText(messages);
  if (const std::string tool = toolToCall(call.body, messages, user_text); !tool.empty())
    return chatToolCall(call, tool, user_text);
  const std::string results = toolResults(messages);
  const std::string answer =
      answerFor("openai", results.empty() ? user_text : "tool result " + results);
  const auto pieces = streamPieces(answer);
  Json usage = usageJson(countPromptWords(messages), static_cast<int>(pieces.size()));
  addCacheDetails(usage, user_text);
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

// ---- the Responses API (https://platform.openai.com/docs/api-reference/responses) ----

// The text of the last user item (a string input is one), and the output of trailing
// function_call_output items.
void responsesInput(const Json& input, std::string& user_text, std::string& tool_output,
                    int& words) {
  if (input.is_string()) {
    user_text = input.get<std::string>();
    words = countWords(user_text);
    return;
  }
  if (!input.is_array()) return;
  for (const auto& item : input) {
    if (!item.is_object()) continue;
    const std::string type = item.value("type", item.contains("role") ? "message" : "");
    if (type == "message") {
      const Json content = item.value("content", Json());
      std::string text;
      if (content.is_string()) {
        text = content.get<std::string>();
      } else if (content.is_array()) {
        for (const auto& part : content)
          if (part.is_object() && part.contains("text") && part["text"].is_string())
            text += (text.empty() ? "" : " ") + part["text"].get<std::string>();
      }
      words += countWords(text);
      if (item.value("role", "") == "user") user_text = text, tool_output.clear();
    } else if (type == "function_call_output") {
      const Json out = item.value("output", Json(""));
      tool_output = out.is_string() ? out.get<std::string>() : out.dump();
      words += countWords(tool_output);
    }
  }
}

std::string sseNamed(const std::string& type, Json data, int& seq) {
  data["type"] = type;
  data["sequence_number"] = seq++;
  return "event: " + type + "\ndata: " + data.dump() + "\n\n";
}

Reply responses(const Call& call) {
  std::string user_text, tool_output;
  int words = 0;
  responsesInput(call.body.value("input", Json()), user_text, tool_output, words);
  const Json tools = call.body.value("tools", Json::array());
  std::string tool;
  if (tool_output.empty() && tools.is_array() && !tools.empty() &&
      user_text.find("use tool") != std::string::npos)
    tool = tools[0].value("name", std::string("tool"));
  const std::string answer =
      answerFor("openai", tool_output.empty() ? user_text : "tool result " + tool_output);
  const auto pieces = streamPieces(answer);
  const int out_tokens = tool.empty() ? static_cast<int>(pieces.size()) : 7;
  const int cached = user_text.find("cache me") != std::string::npos ? 3 : 0;
  const Json usage = {{"input_tokens", words},
                      {"input_tokens_details", {{"cached_tokens", cached}}},
                      {"output_tokens", out_tokens},
                      {"output_tokens_details", {{"reasoning_tokens", 0}}},
                      {"total_tokens", words + out_tokens}};
  const std::string id = newId("resp_fake"), item_id = newId("msg_fake");
  const std::string call_id = newId("call_fake"), fc_id = newId("fc_fake");
  const std::string args = Json{{"query", user_text}}.dump();
  Json item = tool.empty() ? Json{{"type", "message"},
                                  {"id", item_id},
                                  {"status", "completed"},
                                  {"role", "assistant"},
                                  {"content", Json::array({{{"type", "output_text"},
                                                            {"text", answer},
                                                            {"annotations", Json::array()}}})}}
                           : Json{{"type", "function_call"}, {"id", fc_id},
                                  {"call_id", call_id},      {"name", tool},
                                  {"arguments", args},       {"status", "completed"}};
  Json response = {{"id", id},
                   {"object", "response"},
                   {"created_at", unixSeconds()},
                   {"status", "completed"},
                   {"error", nullptr},
                   {"incomplete_details", nullptr},
                   {"model", call.model},
                   {"output", Json::array({item})},
                   {"usage", usage}};
  if (!wantsStream(call.body, false)) return jsonReply(response.dump());

  Reply reply;
  reply.streaming = true;
  reply.content_type = "text/event-stream";
  int seq = 0;
  auto& ev = reply.events;
  Json started = response;
  started["status"] = "in_progress";
  started["output"] = Json::array();
  started["usage"] = nullptr;
  ev.push_back(sseNamed("response.created", {{"response", started}}, seq));
  ev.push_back(sseNamed("response.in_progress", {{"response", started}}, seq));
  Json added = item;
  added["status"] = "in_progress";
  if (tool.empty()) {
    added["content"] = Json::array();
    ev.push_back(
        sseNamed("response.output_item.added", {{"output_index", 0}, {"item", added}}, seq));
    ev.push_back(sseNamed(
        "response.content_part.added",
        {{"item_id", item_id},
         {"output_index", 0},
         {"content_index", 0},
         {"part", {{"type", "output_text"}, {"text", ""}, {"annotations", Json::array()}}}},
        seq));
    for (const auto& piece : pieces)
      ev.push_back(sseNamed(
          "response.output_text.delta",
          {{"item_id", item_id}, {"output_index", 0}, {"content_index", 0}, {"delta", piece}},
          seq));
    ev.push_back(sseNamed(
        "response.output_text.done",
        {{"item_id", item_id}, {"output_index", 0}, {"content_index", 0}, {"text", answer}}, seq));
  } else {
    added["arguments"] = "";
    ev.push_back(
        sseNamed("response.output_item.added", {{"output_index", 0}, {"item", added}}, seq));
    for (const std::string& piece : {args.substr(0, args.size() / 2), args.substr(args.size() / 2)})
      ev.push_back(sseNamed("response.function_call_arguments.delta",
                            {{"item_id", fc_id}, {"output_index", 0}, {"delta", piece}}, seq));
    ev.push_back(sseNamed("response.function_call_arguments.done",
                          {{"item_id", fc_id}, {"output_index", 0}, {"arguments", args}}, seq));
  }
  ev.push_back(sseNamed("response.output_item.done", {{"output_index", 0}, {"item", item}}, seq));
  ev.push_back(sseNamed("response.completed", {{"response", response}}, seq));
  return reply;
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
      {"openai", "POST", "/v1/responses", responses, openaiErrorBody, nullptr, auth},
      {"openai", "POST", "/openai/responses", responses, openaiErrorBody, nullptr, auth},
      {"openai", "POST", "/openai/deployments/{}/chat/completions", chatCompletions,
       openaiErrorBody, nullptr, auth},
      {"openai", "POST", "/openai/deployments/{}/completions", completions, openaiErrorBody,
       nullptr, auth},
      {"openai", "POST", "/openai/deployments/{}/embeddings", embeddings, openaiErrorBody, nullptr,
       auth},
  };
}

}  // namespace aigw::fake
