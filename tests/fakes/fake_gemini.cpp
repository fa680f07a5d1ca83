// Google Gemini's REST API (https://ai.google.dev/api/generate-content), for the gemini provider:
//   POST .../models/{model}:generateContent        -> GenerateContentResponse (JSON)
//   POST .../models/{model}:streamGenerateContent  -> with ?alt=sse: SSE, one
//        GenerateContentResponse per event, "data: {...}\r\n\r\n", no terminal marker,
//        finishReason on the last candidate; without alt=sse, as the real API, one JSON array
//        of those responses streamed as it grows ("[{...}\r\n,\r\n{...}]"), which an SSE reader
//        cannot read.
//   POST .../models/{model}:batchEmbedContents     -> {"embeddings":[{"values":[...]}]}
// At the Gemini API's paths (/v1beta/models/{model}:verb, /v1/...) and Vertex AI's
// (/v1/projects/{p}/locations/{l}/publishers/google/models/{model}:verb). Shapes follow Kong's
// fixtures (tests/fixtures/kong/gemini/..., streaming-spec-mocks/gemini-chat-functions.*).
// Credentials, as Google checks them: an API key in x-goog-api-key or ?key= (none: 403
// PERMISSION_DENIED; one containing "wrong": 400 INVALID_ARGUMENT "API key not valid"), or an
// OAuth token in "Authorization: Bearer" (one containing "wrong": 401 UNAUTHENTICATED).
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
  std::vector<Json> responses;
  if (!a.function_call.is_null()) {
    responses.push_back(
        response(model, {{{"functionCall", a.function_call}}}, "STOP", usage(a.prompt_tokens, 5)));
  } else {
    const auto pieces = streamPieces(a.text);
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      const bool last = i + 1 == pieces.size();
      // usageMetadata is cumulative on every event, as Gemini sends it.
      responses.push_back(response(model, {{{"text", pieces[i]}}}, last ? "STOP" : nullptr,
                                   usage(a.prompt_tokens, static_cast<int>(i + 1))));
    }
  }
  const bool sse = call.queryParam("alt") == "sse";
  reply.content_type = sse ? "text/event-stream" : "application/json; charset=UTF-8";
  for (std::size_t i = 0; i < responses.size(); ++i) {
    if (sse) {
      reply.events.push_back("data: " + responses[i].dump() + "\r\n\r\n");
    } else {
      const bool last = i + 1 == responses.size();
      reply.events.push_back((i == 0 ? "[" : "\r\n,\r\n") + responses[i].dump() +
                             (last ? "]" : ""));
    }
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

std::optional<AuthFailure> checkAuth(const Call& call) {
  std::string key = call.header("x-goog-api-key");
  if (key.empty()) key = call.queryParam("key");
  const std::string token = bearerToken(call.header("authorization"));
  if (key.empty() && token.empty())
    return AuthFailure{403,
                       "Method doesn't allow unregistered callers (callers without established "
                       "identity). Please use API Key or other form of API consumer identity to "
                       "call this API."};
  if (!key.empty() && key.find(kWrongKeyMarker) != std::string::npos)
    return AuthFailure{400, "API key not valid. Please pass a valid API key."};
  if (key.empty() && token.find(kWrongKeyMarker) != std::string::npos)
    return AuthFailure{401,
                       "Request had invalid authentication credentials. Expected OAuth 2 access "
                       "token, login cookie or other valid authentication credential."};
  return std::nullopt;
}

}  // namespace

std::vector<Dialect> geminiDialects() {
  // The Gemini API (v1beta and v1) and Vertex AI, one row per endpoint.
  constexpr const char* kVertex = "/v1/projects/{}/locations/{}/publishers/google/models/";
  static const std::vector<std::string> kPrefixes = {"/v1beta/models/", "/v1/models/", kVertex};
  static const std::vector<std::string> kPaths = [] {
    std::vector<std::string> paths;
    for (const auto& prefix : kPrefixes)
      for (const char* verb :
           {"{}:generateContent", "{}:streamGenerateContent", "{}:batchEmbedContents"})
        paths.push_back(prefix + verb);
    return paths;
  }();
  std::vector<Dialect> out;
  for (std::size_t i = 0; i < kPaths.size(); i += 3) {
    out.push_back({"gemini", "POST", kPaths[i], generate, geminiErrorBody, nullptr, checkAuth});
    out.push_back(
        {"gemini", "POST", kPaths[i + 1], streamGenerate, geminiErrorBody, nullptr, checkAuth});
    out.push_back(
        {"gemini", "POST", kPaths[i + 2], batchEmbed, geminiErrorBody, nullptr, checkAuth});
  }
  return out;
}

}  // namespace aigw::fake
