// Anthropic Messages API (https://docs.anthropic.com/en/api/messages): POST /v1/messages,
// a message object when not streaming and the documented SSE event sequence when streaming
// (https://docs.anthropic.com/en/api/messages-streaming), ping included. Errors use
// Anthropic's own shape {"type":"error","error":{"type","message"}}.
// Credentials: the x-api-key header (401 authentication_error without it, or with a key
// containing "wrong"), and the anthropic-version header is required (400 without it).
// In-stream errors are Anthropic's "event: error" (overloaded_error, api_error).
//
// Deterministic behaviour tests rely on:
//   - the answer is "Hello from fake anthropic: <last user text>";
//   - with tools in the request and "use tool" in the last user text, the answer is a short
//     text block plus a tool_use block calling the first tool with {"query": <text>}
//     (stop_reason tool_use);
//   - when the last user turn holds tool_result blocks, the answer echoes their content;
//   - max_tokens below the number of answer words cuts the answer (stop_reason max_tokens);
//   - a request without max_tokens or messages gets a 400, as from the real API;
//   - a request with cache_control anywhere reports a prompt-cache hit: usage has
//     cache_read_input_tokens 1000 and cache_creation_input_tokens 200 (input_tokens stays the
//     uncached word count, as the API counts);
//   - POST /v1/messages/count_tokens answers {"input_tokens": <words of system and messages>}.
#include <algorithm>
#include <string>
#include <vector>

#include "fake_common.hpp"

namespace aigw::fake {

namespace {

std::string sse(const char* event, const Json& data) {
  return std::string("event: ") + event + "\ndata: " + data.dump() + "\n\n";
}

// https://docs.anthropic.com/en/api/errors
const char* errorType(int status) {
  switch (status) {
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
      return "api_error";
  }
}

std::string anthropicErrorBody(int status, const std::string& message) {
  return Json{{"type", "error"}, {"error", {{"type", errorType(status)}, {"message", message}}}}
      .dump();
}

Reply errorReply(int status, const std::string& message) {
  Reply reply;
  reply.status = status;
  reply.body = anthropicErrorBody(status, message);
  return reply;
}

// The text of the tool_result blocks of a user message (empty if it has none).
std::string toolResultText(const Json& message) {
  std::string text;
  const Json content = message.value("content", Json());
  if (!content.is_array()) return text;
  for (const auto& block : content) {
    if (!block.is_object() || block.value("type", "") != "tool_result") continue;
    const Json result = block.value("content", Json());
    if (!text.empty()) text += " ";
    text += result.is_string() ? result.get<std::string>() : contentText(result);
  }
  return text;
}

int countSystemWords(const Json& system) {
  return system.is_string() ? countWords(system.get<std::string>())
                            : countWords(contentText(system));
}

Reply messages(const Call& call) {
  const Json& body = call.body;
  if (!body.contains("max_tokens") || !body["max_tokens"].is_number_integer()) {
    return errorReply(400, "max_tokens: Field required");
  }
  const Json msgs = body.value("messages", Json());
  if (!msgs.is_array() || msgs.empty()) return errorReply(400, "messages: Field required");

  const Json& last = msgs.back();
  const std::string user_text = lastUserText(msgs);
  const std::string tool_results = toolResultText(last);
  const Json tools = body.value("tools", Json::array());
  const bool call_tool = tools.is_array() && !tools.empty() && tool_results.empty() &&
                         user_text.find("use tool") != std::string::npos;

  std::string answer =
      answerFor("anthropic", tool_results.empty() ? user_text : "tool result " + tool_results);
  if (call_tool) answer = "Let me use a tool.";
  auto pieces = streamPieces(answer);
  std::string stop_reason = call_tool ? "tool_use" : "end_turn";
  const auto max_tokens = body["max_tokens"].get<long long>();
  if (max_tokens < static_cast<long long>(pieces.size())) {
    pieces.resize(static_cast<std::size_t>(std::max<long long>(max_tokens, 0)));
    answer.clear();
    for (const auto& p : pieces) answer += p;
    stop_reason = "max_tokens";
  }
  const int input_tokens = countPromptWords(msgs) + countSystemWords(body.value("system", Json()));
  const int output_tokens = static_cast<int>(pieces.size()) + (call_tool ? 5 : 0);
  Json usage = {{"input_tokens", input_tokens}, {"output_tokens", output_tokens}};
  if (body.dump().find("\"cache_control\"") != std::string::npos) {
    usage["cache_creation_input_tokens"] = 200;
    usage["cache_read_input_tokens"] = 1000;
  }
  const std::string id = newId("msg_fake");
  const std::string tool_id = newId("toolu_fake");
  const Json tool_input = {{"query", user_text}};
  const std::string tool_name =
      call_tool ? tools[0].value("name", std::string("tool")) : std::string();

  if (!wantsStream(body, false)) {
    Json content = Json::array({{{"type", "text"}, {"text", answer}}});
    if (call_tool) {
      content.push_back(
          {{"type", "tool_use"}, {"id", tool_id}, {"name", tool_name}, {"input", tool_input}});
    }
    const Json out = {{"id", id},
                      {"type", "message"},
                      {"role", "assistant"},
                      {"model", call.model},
                      {"content", std::move(content)},
                      {"stop_reason", stop_reason},
                      {"stop_sequence", nullptr},
                      {"usage", usage}};
    return jsonReply(out.dump());
  }

  Reply reply;
  reply.streaming = true;
  reply.content_type = "text/event-stream";
  auto& ev = reply.events;
  ev.push_back(sse("message_start", {{"type", "message_start"},
                                     {"message",
                                      {{"id", id},
                                       {"type", "message"},
                                       {"role", "assistant"},
                                       {"model", call.model},
                                       {"content", Json::array()},
                                       {"stop_reason", nullptr},
                                       {"stop_sequence", nullptr},
                                       {"usage", [&] {
                                          Json start = usage;
                                          start["output_tokens"] = 1;
                                          return start;
                                        }()}}}}));
  ev.push_back(sse("content_block_start", {{"type", "content_block_start"},
                                           {"index", 0},
                                           {"content_block", {{"type", "text"}, {"text", ""}}}}));
  ev.push_back(sse("ping", {{"type", "ping"}}));
  for (const auto& piece : pieces) {
    ev.push_back(
        sse("content_block_delta", {{"type", "content_block_delta"},
                                    {"index", 0},
                                    {"delta", {{"type", "text_delta"}, {"text", piece}}}}));
  }
  ev.push_back(sse("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}}));
  if (call_tool) {
    ev.push_back(sse("content_block_start", {{"type", "content_block_start"},
                                             {"index", 1},
                                             {"content_block",
                                              {{"type", "tool_use"},
                                               {"id", tool_id},
                                               {"name", tool_name},
                                               {"input", Json::object()}}}}));
    // The arguments arrive as partial JSON strings that only parse once concatenated.
    const std::string args = tool_input.dump();
    const std::size_t third = args.size() / 3;
    for (const std::string& part : {std::string(), args.substr(0, third), args.substr(third, third),
                                    args.substr(2 * third)}) {
      ev.push_back(sse("content_block_delta",
                       {{"type", "content_block_delta"},
                        {"index", 1},
                        {"delta", {{"type", "input_json_delta"}, {"partial_json", part}}}}));
    }
    ev.push_back(sse("content_block_stop", {{"type", "content_block_stop"}, {"index", 1}}));
  }
  ev.push_back(
      sse("message_delta", {{"type", "message_delta"},
                            {"delta", {{"stop_reason", stop_reason}, {"stop_sequence", nullptr}}},
                            {"usage", {{"output_tokens", output_tokens}}}}));
  ev.push_back(sse("message_stop", {{"type", "message_stop"}}));
  return reply;
}

Reply countTokens(const Call& call) {
  const Json msgs = call.body.value("messages", Json());
  if (!msgs.is_array() || msgs.empty()) return errorReply(400, "messages: Field required");
  if (call.body.contains("max_tokens"))
    return errorReply(400, "max_tokens: Extra inputs are not permitted");
  return jsonReply(Json{{"input_tokens", countPromptWords(msgs) +
                                             countSystemWords(call.body.value("system", Json()))}}
                       .dump());
}

std::optional<AuthFailure> checkAuth(const Call& call) {
  if (auto failure =
          checkKey(call.header("x-api-key"), "x-api-key header is required", "invalid x-api-key"))
    return failure;
  if (call.header("anthropic-version").empty())
    return AuthFailure{400, "anthropic-version: header is required"};
  return std::nullopt;
}

// https://docs.anthropic.com/en/api/messages-streaming#error-events
std::string streamError(std::string_view kind, const std::string& message) {
  const char* type = kind == "throttling" ? "overloaded_error" : "api_error";
  return sse("error", {{"type", "error"}, {"error", {{"type", type}, {"message", message}}}});
}

}  // namespace

std::vector<Dialect> anthropicDialects() {
  return {
      {"anthropic", "POST", "/v1/messages", messages, anthropicErrorBody, nullptr, checkAuth,
       streamError},
      {"anthropic", "POST", "/v1/messages/count_tokens", countTokens, anthropicErrorBody, nullptr,
       checkAuth, nullptr},
  };
}

}  // namespace aigw::fake
