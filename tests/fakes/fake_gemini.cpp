// Google Gemini's REST API (https://ai.google.dev/api/generate-content), for the gemini provider:
//   POST .../models/{model}:generateContent        -> GenerateContentResponse (JSON)
//   POST .../models/{model}:streamGenerateContent  -> SSE, one GenerateContentResponse per event,
//        "data: {...}\r\n\r\n", no terminal marker, finishReason on the last candidate. (Gemini
//        sends SSE only with ?alt=sse; this fake always does, so tests check the query.)
//   POST .../models/{model}:batchEmbedContents     -> {"embeddings":[{"values":[...]}]}
// The Gemini API and Vertex AI paths both end in these suffixes. Shapes follow Kong's
// fixtures (tests/fixtures/kong/gemini/..., streaming-spec-mocks/gemini-chat-functions.*).
//
// Deterministic behaviour tests rely on:
//   - the answer is "Hello from fake gemini: <last user text>";
//   - with tools in the request and "use tool" in the last user text, the answer is a
//     functionCall of the first declared function with args {"query": <text>};
//   - when the last user turn holds functionResponse parts, the answer is
//     "Hello from fake gemini: <name> returned <response JSON>" for each of them;
//   - a request without contents gets a 400 INVALID_ARGUMENT, as from the real API.
#include <string>
#include <vector>

#include "fake_common.hpp"

namespace aigw::fake {

namespace {

// https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
std::string geminiErrorBody(int status, const std::string& message) {
  const char* name = status == 400   ? "INVALID_ARGUMENT"
                     : status == 401 ? "UNAUTHENTICATED"
                     : status == 403 ? "PERMISSION_DENIED"
                     : status == 404 ? "NOT_FOUND"
                     : status == 429 ? "RESOURCE_EXHAUSTED"
                     : status == 500 ? "INTERNAL"
                     : status == 503 ? "UNAVAILABLE"
                     : status == 504 ? "DEADLINE_EXCEEDED"
                                     : "UNKNOWN";
  return Json{{"error", {{"code", status}, {"message", message}, {"status", name}}}}.dump();
}

// ".../models/gemini-2.0-flash:generateContent" -> "gemini-2.0-flash".
std::string modelFromPath(const std::string& path) {
  const auto colon = path.rfind(':');
  const auto slash = path.rfind('/', colon);
  if (colon == std::string::npos || slash == std::string::npos) return "fake-model";
  return path.substr(slash + 1, colon - slash - 1);
}

std::string partsText(const Json& content) {
  std::string text;
  for (const auto& p : content.value("parts", Json::array())) {
    if (p.is_object() && p.contains("text") && p["text"].is_string()) {
      if (!text.empty()) text += " ";
      text += p["text"].get<std::string>();
    }
  }
  return text;
}

int countContentWords(const Json& body) {
  int words = 0;
  for (const auto& c : body.value("contents", Json::array())) words += countWords(partsText(c));
  if (body.contains("systemInstruction")) words += countWords(partsText(body["systemInstruction"]));
  return words;
}

struct Answer {
  std::string text;
  Json function_call;  // null unless the model "calls a tool"
  int prompt_tokens = 0;
};

Reply badRequest(const std::string& message) {
  Reply r = jsonReply(geminiErrorBody(400, message));
  r.status = 400;
  return r;
}

Answer answer(const Json& body) {
  Answer a;
  a.prompt_tokens = countContentWords(body);
  const Json& last = body["contents"].back();
  std::string results;
  for (const auto& p : last.value("parts", Json::array())) {
    if (!p.is_object() || !p.contains("functionResponse")) continue;
    const Json& fr = p["functionResponse"];
    if (!results.empty()) results += "; ";
    results += fr.value("name", "") + " returned " + fr.value("response", Json()).dump();
  }
  const std::string user_text = partsText(last);
  const Json tools = body.value("tools", Json::array());
  const bool has_functions = tools.is_array() && !tools.empty() &&
                             tools[0].contains("functionDeclarations") &&
                             !tools[0]["functionDeclarations"].empty();
  if (results.empty() && has_functions && user_text.find("use tool") != std::string::npos) {
    a.function_call = {{"name", tools[0]["functionDeclarations"][0].value("name", "tool")},
                       {"args", {{"query", user_text}}}};
    return a;
  }
  a.text = answerFor("gemini", results.empty() ? user_text : results);
  return a;
}

Json usage(int prompt, int candidates) {
  return {{"promptTokenCount", prompt},
          {"candidatesTokenCount", candidates},
          {"totalTokenCount", prompt + candidates}};
}

Json response(const std::string& model, Json parts, const char* finish, Json usage_metadata) {
  Json candidate = {{"content", {{"role", "model"}, {"parts", std::move(parts)}}}, {"index", 0}};
  if (finish) candidate["finishReason"] = finish;
  return {{"candidates", Json::array({std::move(candidate)})},
          {"usageMetadata", std::move(usage_metadata)},
          {"modelVersion", model + "-001"},
          {"responseId", newId("fakegemini")}};
}

bool validContents(const Call& call) {
  return call.body.contains("contents") && call.body["contents"].is_array() &&
         !call.body["contents"].empty();
}

Reply generate(const Call& call) {
  if (!validContents(call))
    return badRequest("* GenerateContentRequest.contents: contents is not specified");
  const Answer a = answer(call.body);
  const std::string model = modelFromPath(call.path);
  if (!a.function_call.is_null())
    return jsonReply(
        response(model, {{{"functionCall", a.function_call}}}, "STOP", usage(a.prompt_tokens, 5))
            .dump());
  const int words = countWords(a.text);
  return jsonReply(
      response(model, {{{"text", a.text}}}, "STOP", usage(a.prompt_tokens, words)).dump());
}

Reply streamGenerate(const Call& call) {
  if (!validContents(call))
    return badRequest("* GenerateContentRequest.contents: contents is not specified");
  const Answer a = answer(call.body);
  const std::string model = modelFromPath(call.path);
  Reply reply;
  reply.streaming = true;
  reply.content_type = "text/event-stream";
  auto event = [](const Json& r) { return "data: " + r.dump() + "\r\n\r\n"; };
  if (!a.function_call.is_null()) {
    reply.events.push_back(event(
        response(model, {{{"functionCall", a.function_call}}}, "STOP", usage(a.prompt_tokens, 5))));
    return reply;
  }
  const auto pieces = streamPieces(a.text);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const bool last = i + 1 == pieces.size();
    // usageMetadata is cumulative on every event, as Gemini sends it.
    reply.events.push_back(event(response(model, {{{"text", pieces[i]}}}, last ? "STOP" : nullptr,
                                          usage(a.prompt_tokens, static_cast<int>(i + 1)))));
  }
  return reply;
}

Reply batchEmbed(const Call& call) {
  const Json requests = call.body.value("requests", Json());
  if (!requests.is_array() || requests.empty())
    return badRequest("* BatchEmbedContentsRequest.requests: requests is not specified");
  Json embeddings = Json::array();
  for (const auto& r : requests)
    embeddings.push_back(
        {{"values", fakeEmbedding(partsText(r.value("content", Json::object())))}});
  return jsonReply(Json{{"embeddings", std::move(embeddings)}}.dump());
}

}  // namespace

std::vector<Dialect> geminiDialects() {
  return {
      {"gemini", "POST", ":generateContent", generate, geminiErrorBody},
      {"gemini", "POST", ":streamGenerateContent", streamGenerate, geminiErrorBody},
      {"gemini", "POST", ":batchEmbedContents", batchEmbed, geminiErrorBody},
  };
}

}  // namespace aigw::fake
