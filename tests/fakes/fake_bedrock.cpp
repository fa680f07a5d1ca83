// AWS Bedrock's Converse API, for the bedrock provider:
//   POST .../model/{modelId}/converse         -> ConverseResponse (JSON)
//        https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
//   POST .../model/{modelId}/converse-stream  -> application/vnd.amazon.eventstream: binary
//        messages with correct CRCs, one per HTTP chunk (messageStart, contentBlockStart,
//        contentBlockDelta, contentBlockStop, messageStop, metadata), each JSON payload with
//        the "p" padding field real frames carry (letters, of a length that varies so that
//        sizes do not reveal the content); in-stream failures are exception messages
//        (:message-type exception, :exception-type throttlingException or
//        modelStreamErrorException, payload {"message": ...})
//        https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
// Errors are Bedrock's {"message": "..."} with x-amzn-ErrorType. Credentials: a SigV4
// "Authorization: AWS4-HMAC-SHA256 Credential=..." with X-Amz-Date (or a Bedrock API key as
// "Authorization: Bearer"); without them 403 MissingAuthenticationTokenException, with an
// access key id containing "wrong" 403 UnrecognizedClientException, as AWS answers. The
// signature itself is not recomputed here; bedrock_test does that from the recorded request.
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

std::string frame(const std::string& headers, const std::string& body) {
  std::string out;
  putU32(out, static_cast<std::uint32_t>(16 + headers.size() + body.size()));
  putU32(out, static_cast<std::uint32_t>(headers.size()));
  putU32(out, crc32(out));
  out += headers;
  out += body;
  putU32(out, crc32(out));
  return out;
}

// The "p" field: letters and digits, 1 to 36 of them, varying from frame to frame.
std::string padding(std::size_t n) {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ";
  return std::string(kAlphabet.substr(0, 1 + (n * 7) % kAlphabet.size()));
}

std::string eventMessage(const std::string& type, Json payload, std::size_t n) {
  std::string headers;
  stringHeader(headers, ":event-type", type);
  stringHeader(headers, ":content-type", "application/json");
  stringHeader(headers, ":message-type", "event");
  payload["p"] = padding(n);
  return frame(headers, payload.dump());
}

// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html
std::string streamError(std::string_view kind, const std::string& message) {
  std::string headers;
  stringHeader(headers, ":exception-type",
               kind == "throttling" ? "throttlingException" : "modelStreamErrorException");
  stringHeader(headers, ":content-type", "application/json");
  stringHeader(headers, ":message-type", "exception");
  Json payload = {{"message", message}};
  if (kind != "throttling") {
    payload["originalStatusCode"] = 500;
    payload["originalMessage"] = "the model failed";
  }
  return frame(headers, payload.dump());
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
    reply.events.push_back(eventMessage(type, payload, reply.events.size()));
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
  // messageStop is the end marker; metadata follows it (fake-clean-close leaves both out).
  reply.end_events = 2;
  add("messageStop", {{"stopReason", a.tool_uses.empty() ? "end_turn" : "tool_use"}});
  add("metadata", {{"usage", usage(a.prompt_tokens, static_cast<int>(pieces.size()) + 5 * index)},
                   {"metrics", {{"latencyMs", 12}}}});
  return reply;
}

std::vector<std::pair<std::string, std::string>> errorType(const char* type) {
  return {{"x-amzn-ErrorType",
           std::string(type) + ":http://internal.amazon.com/coral/com.amazon.coral.service/"}};
}

std::optional<AuthFailure> checkAuth(const Call& call) {
  const std::string auth = call.header("authorization");
  if (!bearerToken(auth).empty()) return std::nullopt;  // a Bedrock API key
  constexpr std::string_view kSigV4 = "AWS4-HMAC-SHA256 Credential=";
  if (auth.compare(0, kSigV4.size(), kSigV4) != 0 || call.header("x-amz-date").empty())
    return AuthFailure{403, "Missing Authentication Token",
                       errorType("MissingAuthenticationTokenException")};
  const std::string key_id = auth.substr(kSigV4.size(), auth.find('/') - kSigV4.size());
  if (key_id.find(kWrongKeyMarker) != std::string::npos)
    return AuthFailure{403, "The security token included in the request is invalid.",
                       errorType("UnrecognizedClientException")};
  return std::nullopt;
}

}  // namespace

std::vector<Dialect> bedrockDialects() {
  return {
      {"bedrock", "POST", "/model/{**}/converse", converse, bedrockErrorBody, bedrockErrorHeaders,
       checkAuth},
      {"bedrock", "POST", "/model/{**}/converse-stream", converseStream, bedrockErrorBody,
       bedrockErrorHeaders, checkAuth, streamError},
  };
}

}  // namespace aigw::fake
