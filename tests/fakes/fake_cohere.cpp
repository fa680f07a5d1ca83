// Cohere v2 API: POST /v2/chat (https://docs.cohere.com/reference/chat) answering the v2
// response object, or when streaming the documented SSE events (message-start, content-*,
// tool-plan-delta, tool-call-*, message-end; https://docs.cohere.com/reference/chat-stream);
// POST /v2/embed (https://docs.cohere.com/reference/embed). The v1 API Kong speaks is served
// too: POST /v1/chat and /v1/generate, streaming NDJSON lines
// (https://docs.cohere.com/v1/reference/chat-stream). Errors are Cohere's own shape
// {"id", "message"}. Credentials: "Authorization: Bearer <key>" (401 "no api key supplied"
// without it, 401 "invalid api token" for a key containing "wrong").
//
// Deterministic behaviour tests rely on:
//   - the answer is "Hello from fake cohere: <last user text>";
//   - with tools in the request and "use tool" in the last user text: a tool plan, then one
//     call of the first tool with arguments {"query": <text>} (finish_reason TOOL_CALL);
//   - when the last message is a tool result, the answer echoes it ("tool result <content>");
//   - max_tokens below the number of answer words cuts the answer (MAX_TOKENS);
//   - usage.tokens counts 3 more input tokens than usage.billed_units (the prompt template),
//     so tests can tell which one was read.
#include <algorithm>
#include <string>
#include <vector>

#include "fake_common.hpp"

namespace aigw::fake {

namespace {

constexpr int kTemplateTokens = 3;

std::string sse(const char* type, Json data) {
  data["type"] = type;
  return std::string("event: ") + type + "\ndata: " + data.dump() + "\n\n";
}

std::string cohereErrorBody(int, const std::string& message) {
  return Json{{"id", newId("fake-error-")}, {"message", message}}.dump();
}

Reply errorReply(int status, const std::string& message) {
  Reply reply;
  reply.status = status;
  reply.body = cohereErrorBody(status, message);
  return reply;
}

Json usageJson(int input, int output) {
  return {{"billed_units", {{"input_tokens", input}, {"output_tokens", output}}},
          {"tokens", {{"input_tokens", input + kTemplateTokens}, {"output_tokens", output}}}};
}

Reply chat(const Call& call) {
  const Json& body = call.body;
  if (!body.contains("model")) return errorReply(400, "invalid request: model must be provided");
  const Json msgs = body.value("messages", Json());
  if (!msgs.is_array() || msgs.empty()) {
    return errorReply(400, "invalid request: messages must be a non-empty list");
  }
  const Json& last = msgs.back();
  const bool tool_result = last.value("role", "") == "tool";
  const std::string user_text = lastUserText(msgs);
  const Json tools = body.value("tools", Json::array());
  const bool call_tool = !tool_result && tools.is_array() && !tools.empty() &&
                         user_text.find("use tool") != std::string::npos;

  std::string answer =
      answerFor("cohere", tool_result ? "tool result " + contentText(last.value("content", Json()))
                                      : user_text);
  std::string finish = "COMPLETE";
  auto pieces = streamPieces(call_tool ? std::string("I will use a tool.") : answer);
  if (body.contains("max_tokens") && body["max_tokens"].is_number_integer() &&
      body["max_tokens"].get<long long>() < static_cast<long long>(pieces.size())) {
    pieces.resize(
        static_cast<std::size_t>(std::max<long long>(body["max_tokens"].get<long long>(), 0)));
    answer.clear();
    for (const auto& p : pieces) answer += p;
    finish = "MAX_TOKENS";
  }
  if (call_tool) finish = "TOOL_CALL";
  const Json usage = usageJson(countPromptWords(msgs), static_cast<int>(pieces.size()));
  const std::string id = newId("fake-cohere-");
  const std::string call_id = newId("get_tool_");
  const std::string tool_name =
      call_tool ? tools[0].value("function", Json::object()).value("name", std::string("tool"))
                : "";
  const std::string args = Json{{"query", user_text}}.dump();

  if (!wantsStream(body, false)) {
    Json message = {{"role", "assistant"}};
    if (call_tool) {
      message["tool_plan"] = "I will use a tool.";
      message["tool_calls"] =
          Json::array({{{"id", call_id},
                        {"type", "function"},
                        {"function", {{"name", tool_name}, {"arguments", args}}}}});
    } else {
      message["content"] = Json::array({{{"type", "text"}, {"text", answer}}});
    }
    const Json out = {
        {"id", id}, {"finish_reason", finish}, {"message", message}, {"usage", usage}};
    return jsonReply(out.dump());
  }

  Reply reply;
  reply.streaming = true;
  reply.content_type = "text/event-stream";
  auto& ev = reply.events;
  ev.push_back(sse("message-start", {{"id", id},
                                     {"delta",
                                      {{"message",
                                        {{"role", "assistant"},
                                         {"content", Json::array()},
                                         {"tool_plan", ""},
                                         {"tool_calls", Json::array()},
                                         {"citations", Json::array()}}}}}}));
  if (call_tool) {
    for (const auto& piece : pieces) {
      ev.push_back(sse("tool-plan-delta", {{"delta", {{"message", {{"tool_plan", piece}}}}}}));
    }
    ev.push_back(sse("tool-call-start",
                     {{"index", 0},
                      {"delta",
                       {{"message",
                         {{"tool_calls",
                           {{"id", call_id},
                            {"type", "function"},
                            {"function", {{"name", tool_name}, {"arguments", ""}}}}}}}}}}));
    const std::size_t half = args.size() / 2;
    for (const std::string& part : {args.substr(0, half), args.substr(half)}) {
      ev.push_back(
          sse("tool-call-delta",
              {{"index", 0},
               {"delta", {{"message", {{"tool_calls", {{"function", {{"arguments", part}}}}}}}}}}));
    }
    ev.push_back(sse("tool-call-end", {{"index", 0}}));
  } else {
    ev.push_back(sse(
        "content-start",
        {{"index", 0}, {"delta", {{"message", {{"content", {{"type", "text"}, {"text", ""}}}}}}}}));
    for (const auto& piece : pieces) {
      ev.push_back(sse("content-delta",
                       {{"index", 0}, {"delta", {{"message", {{"content", {{"text", piece}}}}}}}}));
    }
    ev.push_back(sse("content-end", {{"index", 0}}));
  }
  ev.push_back(sse("message-end", {{"delta", {{"finish_reason", finish}, {"usage", usage}}}}));
  return reply;
}

Reply embed(const Call& call) {
  const Json& body = call.body;
  const Json texts = body.value("texts", Json());
  if (!texts.is_array()) return errorReply(400, "invalid request: texts must be a list of strings");
  if (!body.contains("input_type")) {
    return errorReply(400,
                      "invalid request: input_type is required for embed models v3 and higher");
  }
  if (!body.contains("embedding_types"))
    return errorReply(400, "invalid request: embedding_types is required");
  Json vectors = Json::array();
  int tokens = 0;
  for (const auto& t : texts) {
    const std::string text = t.is_string() ? t.get<std::string>() : t.dump();
    vectors.push_back(fakeEmbedding(text));
    tokens += countWords(text);
  }
  const Json out = {
      {"id", newId("fake-embed-")},
      {"embeddings", {{"float", std::move(vectors)}}},
      {"texts", texts},
      {"response_type", "embeddings_by_type"},
      {"meta",
       {{"api_version", {{"version", "2"}}}, {"billed_units", {{"input_tokens", tokens}}}}}};
  return jsonReply(out.dump());
}

// ---- v1 ----

Json v1Meta(int input, int output) {
  return {{"api_version", {{"version", "1"}}},
          {"billed_units", {{"input_tokens", input}, {"output_tokens", output}}},
          {"tokens", {{"input_tokens", input + kTemplateTokens}, {"output_tokens", output}}}};
}

// Cuts the pieces to max_tokens like the real API; returns the v1 finish_reason.
std::string cutToMaxTokens(const Json& body, std::vector<std::string>& pieces) {
  if (body.contains("max_tokens") && body["max_tokens"].is_number_integer() &&
      body["max_tokens"].get<long long>() < static_cast<long long>(pieces.size())) {
    pieces.resize(
        static_cast<std::size_t>(std::max<long long>(body["max_tokens"].get<long long>(), 0)));
    return "MAX_TOKENS";
  }
  return "COMPLETE";
}

std::string joined(const std::vector<std::string>& pieces) {
  std::string text;
  for (const auto& p : pieces) text += p;
  return text;
}

std::string ndjson(const Json& line) {
  return line.dump() + "\n";
}

Reply v1Chat(const Call& call) {
  const Json& body = call.body;
  const Json message = body.value("message", Json());
  if (!message.is_string()) return errorReply(400, "invalid request: message must be a string");
  int input = countWords(message.get<std::string>());
  const Json history = body.value("chat_history", Json::array());
  for (const auto& turn : history) input += countWords(turn.value("message", std::string()));
  input += countWords(body.value("preamble", std::string()));
  auto pieces = streamPieces(answerFor("cohere", message.get<std::string>()));
  const std::string finish = cutToMaxTokens(body, pieces);
  const std::string answer = joined(pieces);
  const std::string generation_id = newId("fake-gen-");
  const Json response = {{"response_id", newId("fake-resp-")},
                         {"text", answer},
                         {"generation_id", generation_id},
                         {"finish_reason", finish},
                         {"meta", v1Meta(input, static_cast<int>(pieces.size()))}};
  if (!wantsStream(body, false)) return jsonReply(response.dump());
  Reply reply;
  reply.streaming = true;
  reply.content_type = "application/stream+json";
  reply.events.push_back(ndjson(
      {{"is_finished", false}, {"event_type", "stream-start"}, {"generation_id", generation_id}}));
  for (const auto& piece : pieces) {
    reply.events.push_back(
        ndjson({{"is_finished", false}, {"event_type", "text-generation"}, {"text", piece}}));
  }
  reply.events.push_back(ndjson({{"is_finished", true},
                                 {"event_type", "stream-end"},
                                 {"finish_reason", finish},
                                 {"response", response}}));
  return reply;
}

Reply v1Generate(const Call& call) {
  const Json& body = call.body;
  const Json prompt = body.value("prompt", Json());
  if (!prompt.is_string()) return errorReply(400, "invalid request: prompt must be a string");
  auto pieces = streamPieces(answerFor("cohere", prompt.get<std::string>()));
  const std::string finish = cutToMaxTokens(body, pieces);
  const Json response = {
      {"id", newId("fake-generate-")},
      {"prompt", prompt},
      {"generations",
       {{{"id", newId("fake-gen-")}, {"text", joined(pieces)}, {"finish_reason", finish}}}},
      {"meta", v1Meta(countWords(prompt.get<std::string>()), static_cast<int>(pieces.size()))}};
  if (!wantsStream(body, false)) return jsonReply(response.dump());
  Reply reply;
  reply.streaming = true;
  reply.content_type = "application/stream+json";
  for (const auto& piece : pieces) {
    reply.events.push_back(ndjson({{"text", piece}, {"is_finished", false}}));
  }
  reply.events.push_back(
      ndjson({{"is_finished", true}, {"finish_reason", finish}, {"response", response}}));
  return reply;
}

std::optional<AuthFailure> checkAuth(const Call& call) {
  return checkKey(bearerToken(call.header("authorization")), "no api key supplied",
                  "invalid api token");
}

}  // namespace

std::vector<Dialect> cohereDialects() {
  const auto auth = checkAuth;
  return {
      {"cohere", "POST", "/v2/chat", chat, cohereErrorBody, nullptr, auth},
      {"cohere", "POST", "/v2/embed", embed, cohereErrorBody, nullptr, auth},
      {"cohere", "POST", "/v1/chat", v1Chat, cohereErrorBody, nullptr, auth},
      {"cohere", "POST", "/v1/generate", v1Generate, cohereErrorBody, nullptr, auth},
  };
}

}  // namespace aigw::fake
