// AWS Bedrock's Converse API, for the bedrock provider:
//   POST .../model/{modelId}/converse         -> ConverseResponse (JSON)
//        https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
//   POST .../model/{modelId}/converse-stream  -> application/vnd.amazon.eventstream: binary
//        messages with correct CRCs, one per HTTP chunk (messageStart, contentBlockStart,
//        contentBlockDelta, contentBlockStop, messageStop, metadata)
//        https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
// Errors are Bedrock's {"message": "..."}. The signature is not checked here; tests read the
// recorded Authorization / X-Amz-Date headers instead.
//
// Deterministic behaviour tests rely on:
//   - the answer is "Hello from fake bedrock: <last user text>";
//   - with toolConfig.tools and "use tool" in the last user text, the answer is "Calling
//     tools." plus one toolUse per declared tool (ids "tooluse_<n>", input {"query": <text>}),
//     stopReason tool_use; streamed, the text block comes first, so tool blocks have
//     contentBlockIndex 1, 2, ...;
//   - when the last user turn holds toolResult blocks, the answer is
//     "Hello from fake bedrock: <toolUseId> returned <content JSON>; ..." for each of them;
//   - a request without messages gets a 400 ValidationException-style body.
#include <cstdint>
#include <string>
#include <vector>

#include "fake_common.hpp"

namespace aigw::fake {

namespace {

std::string bedrockErrorBody(int, const std::string& message) {
  return Json{{"message", message}}.dump();
}

// Bedrock names the exception in a header, with a suffix after ':' on some services.
void bedrockErrorHeaders(int status, std::vector<std::pair<std::string, std::string>>& headers) {
  const char* type = status == 429   ? "ThrottlingException"
                     : status == 403 ? "AccessDeniedException"
                     : status == 503 ? "ServiceUnavailableException"
                     : status == 408 ? "ModelTimeoutException"
                     : status >= 500 ? "InternalServerException"
                                     : "ValidationException";
  headers.emplace_back("x-amzn-ErrorType",
                       std::string(type) + ":http://internal.amazon.com/coral/com.amazon.bedrock/");
}

// ---- the event stream encoder (an independent implementation from the gateway's framer) ----

std::uint32_t crc32(const std::string& data, std::uint32_t crc = 0) {
  crc = ~crc;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
  }
  return ~crc;
}

void putU32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

void stringHeader(std::string& out, const std::string& name, const std::string& value) {
  out += static_cast<char>(name.size());
  out += name;
  out += '\x07';
  out += static_cast<char>((value.size() >> 8) & 0xff);
  out += static_cast<char>(value.size() & 0xff);
  out += value;
}

std::string eventMessage(const std::string& type, const Json& payload) {
  std::string headers;
  stringHeader(headers, ":event-type", type);
  stringHeader(headers, ":content-type", "application/json");
  stringHeader(headers, ":message-type", "event");
  const std::string body = payload.dump();
  std::string out;
  putU32(out, static_cast<std::uint32_t>(16 + headers.size() + body.size()));
  putU32(out, static_cast<std::uint32_t>(headers.size()));
  putU32(out, crc32(out));
  out += headers;
  out += body;
  putU32(out, crc32(out));
  return out;
}

// ---- answers ----

std::string blocksText(const Json& content) {
  std::string text;
  if (!content.is_array()) return text;
  for (const auto& b : content) {
    if (b.is_object() && b.contains("text") && b["text"].is_string()) {
      if (!text.empty()) text += " ";
      text += b["text"].get<std::string>();
    }
  }
  return text;
}

int promptWords(const Json& body) {
  int words = 0;
  for (const auto& m : body.value("messages", Json::array()))
    words += countWords(blocksText(m.value("content", Json())));
  for (const auto& s : body.value("system", Json::array()))
    words += countWords(s.value("text", ""));
  return words;
}

struct Answer {
  std::string text;
  Json tool_uses = Json::array();  // [{toolUseId, name, input}]
  int prompt_tokens = 0;
};

Answer answer(const Json& body) {
  Answer a;
  a.prompt_tokens = promptWords(body);
  const Json& last = body["messages"].back();
  const Json content = last.value("content", Json::array());
  std::string results;
  for (const auto& b : content) {
    if (!b.is_object() || !b.contains("toolResult")) continue;
    const Json& r = b["toolResult"];
    if (!results.empty()) results += "; ";
    results += r.value("toolUseId", "") + " returned " + r.value("content", Json()).dump();
  }
  const std::string user_text = blocksText(content);
  const Json tools = body.value("toolConfig", Json::object()).value("tools", Json::array());
  if (results.empty() && tools.is_array() && !tools.empty() &&
      user_text.find("use tool") != std::string::npos) {
    a.text = "Calling tools.";
    int n = 0;
    for (const auto& t : tools) {
      a.tool_uses.push_back({{"toolUseId", "tooluse_" + std::to_string(++n)},
                             {"name", t.value("toolSpec", Json::object()).value("name", "tool")},
                             {"input", {{"query", user_text}}}});
    }
    return a;
  }
  a.text = answerFor("bedrock", results.empty() ? user_text : results);
  return a;
}

Json usage(int input, int output) {
  return {{"inputTokens", input}, {"outputTokens", output}, {"totalTokens", input + output}};
}

bool validMessages(const Call& call) {
  return call.body.contains("messages") && call.body["messages"].is_array() &&
         !call.body["messages"].empty() && call.body["messages"].back().is_object();
}

Reply badRequest() {
  Reply r = jsonReply(bedrockErrorBody(400,
                                       "1 validation error detected: Value at 'messages' "
                                       "failed to satisfy constraint: Member must not be "
                                       "null"));
  r.status = 400;
  return r;
}

Reply converse(const Call& call) {
  if (!validMessages(call)) return badRequest();
  const Answer a = answer(call.body);
  Json content = Json::array({{{"text", a.text}}});
  for (const auto& use : a.tool_uses) content.push_back({{"toolUse", use}});
  const Json out = {
      {"output", {{"message", {{"role", "assistant"}, {"content", std::move(content)}}}}},
      {"stopReason", a.tool_uses.empty() ? "end_turn" : "tool_use"},
      {"usage",
       usage(a.prompt_tokens, countWords(a.text) + 5 * static_cast<int>(a.tool_uses.size()))},
      {"metrics", {{"latencyMs", 12}}}};
  return jsonReply(out.dump());
}

Reply converseStream(const Call& call) {
  if (!validMessages(call)) return badRequest();
  const Answer a = answer(call.body);
  Reply reply;
  reply.streaming = true;
  reply.content_type = "application/vnd.amazon.eventstream";
  auto add = [&](const char* type, const Json& payload) {
    reply.events.push_back(eventMessage(type, payload));
  };
  add("messageStart", {{"role", "assistant"}});
  const auto pieces = streamPieces(a.text);
  for (const auto& piece : pieces)
    add("contentBlockDelta", {{"contentBlockIndex", 0}, {"delta", {{"text", piece}}}});
  add("contentBlockStop", {{"contentBlockIndex", 0}});
  int index = 0;
  for (const auto& use : a.tool_uses) {
    ++index;
    add("contentBlockStart",
        {{"contentBlockIndex", index},
         {"start", {{"toolUse", {{"toolUseId", use["toolUseId"]}, {"name", use["name"]}}}}}});
    // The input JSON arrives in two fragments, as Bedrock sends it.
    const std::string input = use["input"].dump();
    const std::size_t half = input.size() / 2;
    for (const std::string& part : {input.substr(0, half), input.substr(half)})
      add("contentBlockDelta",
          {{"contentBlockIndex", index}, {"delta", {{"toolUse", {{"input", part}}}}}});
    add("contentBlockStop", {{"contentBlockIndex", index}});
  }
  add("messageStop", {{"stopReason", a.tool_uses.empty() ? "end_turn" : "tool_use"}});
  add("metadata", {{"usage", usage(a.prompt_tokens, static_cast<int>(pieces.size()) + 5 * index)},
                   {"metrics", {{"latencyMs", 12}}}});
  return reply;
}

}  // namespace

std::vector<Dialect> bedrockDialects() {
  return {
      {"bedrock", "POST", "/converse", converse, bedrockErrorBody, bedrockErrorHeaders},
      {"bedrock", "POST", "/converse-stream", converseStream, bedrockErrorBody,
       bedrockErrorHeaders},
  };
}

}  // namespace aigw::fake
