// The gemini provider: OpenAI chat <-> generateContent, URLs, config checks and errors.
// Streams: gemini_stream_test.cpp; service-account tokens: gemini_auth_test.cpp.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "providers/provider.hpp"

using namespace aigw::providers;
using Json = nlohmann::json;

namespace {

const Provider& gemini() {
  const Provider* p = findProvider("gemini");
  REQUIRE(p);
  return *p;
}

Json fixture(const std::string& rel) {
  std::ifstream in(std::string(AIGW_FIXTURES_DIR) + "/" + rel);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return Json::parse(ss.str());
}

ProxyCall makeCall(const Json& body, RouteType type = RouteType::Chat, bool stream = false,
                   std::string model = "gemini-2.0-flash") {
  ProxyCall c;
  c.route_type = type;
  c.stream = stream;
  c.model = std::move(model);
  c.body = &body;
  return c;
}

Target target() {
  return Target{"gemini", "gemini-2.0-flash", {}, {}};
}

Json sent(const Json& body, const Target& t = target()) {
  auto req = gemini().buildRequest(makeCall(body), t);
  REQUIRE_MESSAGE(req, req.error().message);
  return Json::parse(req->body);
}

aigw::ApiError refused(const Json& body, RouteType type = RouteType::Chat) {
  auto req = gemini().buildRequest(makeCall(body, type), target());
  REQUIRE_FALSE(req);
  return req.error();
}

Json user(const std::string& text) {
  return {{"role", "user"}, {"content", text}};
}

Json reply(const Json& upstream, RouteType type = RouteType::Chat) {
  Json body = Json::object();
  std::string raw = upstream.dump();
  auto r = gemini().parseResponse(makeCall(body, type), raw, target());
  REQUIRE_MESSAGE(r, r.error().message);
  return Json::parse(r->body);
}

Json candidate(Json parts, const char* finish = "STOP") {
  Json c = {{"content", {{"role", "model"}, {"parts", std::move(parts)}}}, {"index", 0}};
  if (finish) c["finishReason"] = finish;
  return c;
}

}  // namespace

TEST_CASE("gemini: Kong's chat fixture becomes Kong's expected generateContent request") {
  const Json in = fixture("kong/unit/requests/llm-v1-chat.json");
  const Json expected = fixture("kong/unit/expected-requests/gemini/llm-v1-chat.json");
  Target t = target();
  t.options.max_tokens = 8192;
  t.options.temperature = 0.8;
  t.options.top_p = 0.6;
  t.options.top_k = 1;
  const Json out = sent(in, t);
  CHECK(out["contents"] == expected["contents"]);
  CHECK(out["systemInstruction"] == expected["systemInstruction"]);
  CHECK(out["generationConfig"] == expected["generationConfig"]);
}

TEST_CASE("gemini: every system message is kept; same-role turns merge; images inline or by URI") {
  const Json in = {
      {"messages",
       {{{"role", "system"}, {"content", "be brief"}},
        user("first"),
        {{"role", "developer"}, {"content", {{{"type", "text"}, {"text", "answer in French"}}}}},
        {{"role", "user"},
         {"content",
          {{{"type", "text"}, {"text", "what is this?"}},
           {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,AAAA"}}}},
           {{"type", "image_url"}, {"image_url", {{"url", "https://x.test/cat.webp?size=2"}}}},
           {{"type", "image_url"}, {"image_url", "https://x.test/photo"}}}}},
        {{"role", "assistant"}, {"content", "a cat"}},
        {{"role", "assistant"}, {"content", "probably"}}}}};
  const Json out = sent(in);
  CHECK(out["systemInstruction"]["parts"] ==
        Json::parse(R"([{"text":"be brief"},{"text":"answer in French"}])"));
  REQUIRE(out["contents"].size() == 2);
  CHECK(out["contents"][0]["role"] == "user");
  CHECK(out["contents"][0]["parts"] == Json::parse(R"([{"text":"first"},{"text":"what is this?"},
      {"inlineData":{"mimeType":"image/png","data":"AAAA"}},
      {"fileData":{"mimeType":"image/webp","fileUri":"https://x.test/cat.webp?size=2"}},
      {"fileData":{"mimeType":"image/jpeg","fileUri":"https://x.test/photo"}}])"));
  CHECK(out["contents"][1] ==
        Json::parse(R"({"role":"model","parts":[{"text":"a cat"},{"text":"probably"}]})"));
}

TEST_CASE("gemini: generationConfig from the request, options filling only what it leaves out") {
  Target t = target();
  t.options.max_tokens = 100;
  t.options.temperature = 1.0;
  t.options.top_k = 40;
  const Json in = {{"messages", {user("x")}},
                   {"max_completion_tokens", 50},
                   {"temperature", 0.2},
                   {"top_p", 0.9},
                   {"n", 2},
                   {"seed", 7},
                   {"presence_penalty", 0.5},
                   {"frequency_penalty", -0.5},
                   {"stop", "END"},
                   {"response_format", {{"type", "json_object"}}}};
  const Json gc = sent(in, t)["generationConfig"];
  CHECK(gc == Json::parse(R"({"maxOutputTokens":50,"temperature":0.2,"topP":0.9,"topK":40,
      "candidateCount":2,"seed":7,"presencePenalty":0.5,"frequencyPenalty":-0.5,
      "stopSequences":["END"],"responseMimeType":"application/json"})"));

  const Json schema = {{"type", "object"}, {"properties", {{"a", {{"type", "string"}}}}}};
  const Json js = {
      {"messages", {user("x")}},
      {"stop", {"a", "b"}},
      {"response_format",
       {{"type", "json_schema"}, {"json_schema", {{"name", "s"}, {"schema", schema}}}}}};
  const Json gc2 = sent(js)["generationConfig"];
  CHECK(gc2["stopSequences"] == Json::array({"a", "b"}));
  CHECK(gc2["responseMimeType"] == "application/json");
  CHECK(gc2["responseSchema"] == schema);
  CHECK_FALSE(sent({{"messages", {user("x")}}}).contains("generationConfig"));
}

TEST_CASE("gemini: tools, tool_choice, assistant calls with args, results named by their call") {
  const Json tools = Json::parse(R"([
    {"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},
    {"type":"function","function":{"name":"get_time"}}])");
  const Json in = {
      {"messages",
       {user("weather and time in Paris?"),
        {{"role", "assistant"},
         {"content", nullptr},
         {"tool_calls",
          {{{"id", "call_w"},
            {"type", "function"},
            {"function", {{"name", "get_weather"}, {"arguments", R"({"city":"Paris"})"}}}},
           {{"id", "call_t"},
            {"type", "function"},
            {"function", {{"name", "get_time"}, {"arguments", ""}}}}}}},
        // Results in the other order: each must carry the name of the call it answers.
        {{"role", "tool"}, {"tool_call_id", "call_t"}, {"content", "noon"}},
        {{"role", "tool"}, {"tool_call_id", "call_w"}, {"content", R"({"temp":21})"}}}},
      {"tools", tools},
      {"tool_choice", "auto"}};
  const Json out = sent(in);
  CHECK(out["tools"] == Json::parse(R"([{"functionDeclarations":[
      {"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}},
      {"name":"get_time"}]}])"));
  CHECK(out["toolConfig"] == Json::parse(R"({"functionCallingConfig":{"mode":"AUTO"}})"));
  REQUIRE(out["contents"].size() == 3);
  CHECK(out["contents"][1] == Json::parse(R"({"role":"model","parts":[
      {"functionCall":{"name":"get_weather","args":{"city":"Paris"}}},
      {"functionCall":{"name":"get_time","args":{}}}]})"));
  CHECK(out["contents"][2] == Json::parse(R"({"role":"user","parts":[
      {"functionResponse":{"name":"get_time","response":{"content":{"result":"noon"}}}},
      {"functionResponse":{"name":"get_weather","response":{"content":{"temp":21}}}}]})"));

  struct Choice {
    Json tool_choice;
    const char* config;
  };
  const Choice choices[] = {
      {"none", R"({"mode":"NONE"})"},
      {"required", R"({"mode":"ANY"})"},
      {Json::parse(R"({"type":"function","function":{"name":"get_time"}})"),
       R"({"mode":"ANY","allowedFunctionNames":["get_time"]})"},
  };
  for (const auto& c : choices) {
    CAPTURE(c.tool_choice.dump());
    const Json body = {{"messages", {user("x")}}, {"tools", tools}, {"tool_choice", c.tool_choice}};
    CHECK(sent(body)["toolConfig"]["functionCallingConfig"] == Json::parse(c.config));
  }
}

TEST_CASE("gemini: what Gemini cannot do is a 400 naming the field") {
  struct Case {
    Json body;
    const char* message;
    const char* param;
  };
  const Json tool_call = Json::parse(
      R"({"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"[1]"}}]})");
  const Case cases[] = {
      {{{"messages", {user("x")}}, {"logprobs", true}},
       "field 'logprobs' is not supported by provider gemini",
       "logprobs"},
      {{{"messages", {user("x")}}, {"logit_bias", {{"1", 2}}}},
       "field 'logit_bias' is not supported by provider gemini",
       "logit_bias"},
      {{{"messages", {user("x")}}, {"parallel_tool_calls", false}},
       "parallel_tool_calls: false is not supported by provider gemini",
       "parallel_tool_calls"},
      {{{"messages", {{{"role", "user"}, {"content", {{{"type", "input_audio"}}}}}}}},
       "content part type 'input_audio' here is not supported by provider gemini",
       "messages[0].content[0].type"},
      {{{"messages",
         {{{"role", "system"},
           {"content", {{{"type", "image_url"}, {"image_url", "https://x/y.png"}}}}},
          user("x")}}},
       "content part type 'image_url' here is not supported by provider gemini",
       "messages[0].content[0].type"},
      {{{"messages",
         {{{"role", "user"},
           {"content", {{{"type", "image_url"}, {"image_url", {{"url", "ftp://x/y.png"}}}}}}}}}},
       "image_url must be a data:, http(s):// or gs:// URL",
       "messages[0].content[0].image_url.url"},
      {{{"messages", {{{"role", "critic"}, {"content", "x"}}}}},
       "role 'critic' is not supported by provider gemini",
       "messages[0].role"},
      {{{"messages", {user("x"), {{"role", "tool"}, {"tool_call_id", "nope"}, {"content", "1"}}}}},
       "tool message answers no earlier assistant tool_call (unknown tool_call_id)",
       "messages[1].tool_call_id"},
      {{{"messages", {user("x"), tool_call}}},
       "tool call arguments must be a JSON object",
       "messages[1].tool_calls[0].function.arguments"},
      {{{"messages", {{{"role", "system"}, {"content", "only a system prompt"}}}}},
       "provider gemini needs at least one user message",
       "messages"},
      {{{"messages", {user("x")}}, {"tools", {{{"type", "web_search"}}}}},
       "tool type 'web_search' is not supported by provider gemini",
       "tools[0].type"},
      {{{"messages", {user("x")}}, {"tool_choice", "sometimes"}},
       "this tool_choice is not supported by provider gemini",
       "tool_choice"},
      {{{"messages", {user("x")}}, {"response_format", {{"type", "xml"}}}},
       "response_format type 'xml' is not supported by provider gemini",
       "response_format.type"},
      {{{"messages", {user("x")}}, {"stop", 3}},
       "stop must be a string or an array of strings",
       "stop"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.body.dump());
    const auto e = refused(c.body);
    CHECK(e.status == 400);
    CHECK(e.message == c.message);
    CHECK(e.param == c.param);
  }
  const auto echo = refused({{"prompt", "x"}, {"echo", true}}, RouteType::Completions);
  CHECK(echo.message == "field 'echo' is not supported by provider gemini");
  const auto tokens = refused({{"input", {1, 2, 3}}}, RouteType::Embeddings);
  CHECK(tokens.param == "input");
}

TEST_CASE("gemini: URLs for the Gemini API, Vertex AI, streaming and upstream_url/upstream_path") {
  const Json body = {{"messages", {user("x")}}};
  auto url = [&](const Target& t, bool stream = false, std::string model = "gemini-2.0-flash",
                 RouteType type = RouteType::Chat) {
    const Json in = type == RouteType::Embeddings ? Json{{"input", "x"}} : body;
    auto req = gemini().buildRequest(makeCall(in, type, stream, model), t);
    REQUIRE_MESSAGE(req, req.error().message);
    return req->url;
  };
  Target t = target();
  CHECK(url(t) ==
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent");
  CHECK(url(t, true) ==
        "https://generativelanguage.googleapis.com/v1beta/models/"
        "gemini-2.0-flash:streamGenerateContent?alt=sse");
  CHECK(url(t, false, "models/gemini-pro") ==
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-pro:generateContent");
  CHECK(url(t, false, "tunedModels/my-tune") ==
        "https://generativelanguage.googleapis.com/v1beta/tunedModels/my-tune:generateContent");
  CHECK(url(t, false, "text-embedding-004", RouteType::Embeddings) ==
        "https://generativelanguage.googleapis.com/v1beta/models/"
        "text-embedding-004:batchEmbedContents");
  auto bad = gemini().buildRequest(makeCall(body, RouteType::Chat, false, "x/../../admin?"), t);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().param == "model");

  Target vertex = target();
  vertex.options.blocks["gemini"] = {{"api_endpoint", "us-central1-aiplatform.googleapis.com"},
                                     {"project_id", "proj"},
                                     {"location_id", "us-central1"}};
  CHECK(url(vertex, true) ==
        "https://us-central1-aiplatform.googleapis.com/v1/projects/proj/locations/us-central1/"
        "publishers/"
        "google/models/gemini-2.0-flash:streamGenerateContent?alt=sse");

  struct Case {
    std::string upstream_url, upstream_path;
    bool vertex, stream;
    std::string expected;
  };
  const Case cases[] = {
      {"http://127.0.0.1:9000", "", false, false,
       "http://127.0.0.1:9000/v1beta/models/gemini-2.0-flash:generateContent"},
      {"http://127.0.0.1:9000/", "", true, true,
       "http://127.0.0.1:9000/v1/projects/proj/locations/us-central1/publishers/google/models/"
       "gemini-2.0-flash:streamGenerateContent?alt=sse"},
      {"http://h:9000/prefix?tenant=a", "", false, true,
       "http://h:9000/prefix/v1beta/models/"
       "gemini-2.0-flash:streamGenerateContent?tenant=a&alt=sse"},
      {"https://h/v1/models", "", false, false,
       "https://h/v1/models/gemini-2.0-flash:generateContent"},
      {"https://h/gw/{model}", "", false, false, "https://h/gw/gemini-2.0-flash:generateContent"},
      {"http://h:81/ignored", "/custom/{model}:generateContent", false, true,
       "http://h:81/custom/gemini-2.0-flash:generateContent?alt=sse"},
      {"", "/custom/path", false, false, "https://generativelanguage.googleapis.com/custom/path"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.upstream_url);
    Target u = c.vertex ? vertex : target();
    u.options.upstream_url = c.upstream_url;
    u.options.upstream_path = c.upstream_path;
    CHECK(url(u, c.stream) == c.expected);
  }
}

TEST_CASE(
    "gemini: checkTarget wants all three Vertex fields or none, and a key for the service "
    "account") {
  auto problems = [](const Target& t) {
    std::vector<std::pair<std::string, std::string>> errors;
    gemini().checkTarget(t, RouteType::Chat, errors);
    return errors;
  };
  CHECK(problems(target()).empty());
  Target partial = target();
  partial.options.blocks["gemini"] = {{"api_endpoint", "x"}};
  const auto errors = problems(partial);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].first == "model.options.gemini.project_id");
  CHECK(errors[1].first == "model.options.gemini.location_id");
  CHECK(errors[0].second ==
        "Vertex AI needs api_endpoint, project_id and location_id together; leave all three out "
        "for the "
        "Gemini API");
  if (!std::getenv("GCP_SERVICE_ACCOUNT")) {
    Target sa = target();
    sa.cloud_auth.gcp_use_service_account = true;
    const auto sa_errors = problems(sa);
    REQUIRE(sa_errors.size() == 1);
    CHECK(sa_errors[0].first == "auth.gcp_service_account_json");
  }
  Target bad_key = target();
  bad_key.cloud_auth.gcp_use_service_account = true;
  bad_key.cloud_auth.gcp_service_account_json =
      R"({"client_email":"a@b","private_key":"not a key"})";
  const auto key_errors = problems(bad_key);
  REQUIRE(key_errors.size() == 1);
  CHECK(key_errors[0].second == "service account private_key is not a PEM private key");
}

TEST_CASE("gemini: Kong's real response fixture gives Kong's expected content and model") {
  const Json expected = fixture("kong/unit/expected-responses/gemini/llm-v1-chat.json");
  Json body = Json::object();
  std::string raw = fixture("kong/unit/real-responses/gemini/llm-v1-chat.json").dump();
  auto r =
      gemini().parseResponse(makeCall(body, RouteType::Chat, false, "gemini-pro"), raw, target());
  REQUIRE(r);
  const Json out = Json::parse(r->body);
  CHECK(out["model"] == expected["model"]);
  CHECK(out["object"] == expected["object"]);
  CHECK(out["choices"][0]["message"] == expected["choices"][0]["message"]);
  CHECK(out["choices"][0]["finish_reason"] == "stop");
  CHECK(out["usage"] ==
        Json::parse(R"({"prompt_tokens":14,"completion_tokens":128,"total_tokens":142})"));
  CHECK(r->usage.prompt_tokens == 14);
  CHECK(r->usage.completion_tokens == 128);
  CHECK(out["id"].get<std::string>().rfind("chatcmpl-", 0) == 0);
  CHECK(out["created"].is_number());
}

TEST_CASE("gemini: all text parts, function calls with ids and args, thoughts left out") {
  const Json upstream = {
      {"candidates",
       {candidate({{{"text", "thinking..."}, {"thought", true}},
                   {{"text", "Hello, "}},
                   {{"text", "world"}},
                   {{"functionCall", {{"name", "lookup"}, {"args", {{"q", "x"}}}}}}})}},
      {"usageMetadata",
       {{"promptTokenCount", 5},
        {"candidatesTokenCount", 7},
        {"thoughtsTokenCount", 3},
        {"totalTokenCount", 15}}}};
  const Json out = reply(upstream);
  const Json& msg = out["choices"][0]["message"];
  CHECK(msg["content"] == "Hello, world");
  REQUIRE(msg["tool_calls"].size() == 1);
  CHECK(msg["tool_calls"][0]["id"].get<std::string>().rfind("call_", 0) == 0);
  CHECK(msg["tool_calls"][0]["type"] == "function");
  CHECK(msg["tool_calls"][0]["function"]["name"] == "lookup");
  CHECK(Json::parse(msg["tool_calls"][0]["function"]["arguments"].get<std::string>()) ==
        Json{{"q", "x"}});
  CHECK(out["choices"][0]["finish_reason"] == "tool_calls");
  CHECK(out["usage"] == Json::parse(R"({"prompt_tokens":5,"completion_tokens":10,"total_tokens":15,
      "completion_tokens_details":{"reasoning_tokens":3}})"));

  const Json only_call =
      reply({{"candidates", {candidate({{{"functionCall", {{"name", "f"}}}}})}}});
  CHECK(only_call["choices"][0]["message"]["content"].is_null());
  CHECK(only_call["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == "{}");
  CHECK(only_call["usage"] ==
        Json::parse(R"({"prompt_tokens":0,"completion_tokens":0,"total_tokens":0})"));
}

TEST_CASE("gemini: every finish reason maps into OpenAI's set") {
  const std::pair<const char*, const char*> table[] = {
      {"STOP", "stop"},
      {"MAX_TOKENS", "length"},
      {"SAFETY", "content_filter"},
      {"RECITATION", "content_filter"},
      {"BLOCKLIST", "content_filter"},
      {"PROHIBITED_CONTENT", "content_filter"},
      {"SPII", "content_filter"},
      {"IMAGE_SAFETY", "content_filter"},
      {"LANGUAGE", "stop"},
      {"OTHER", "stop"},
      {"MALFORMED_FUNCTION_CALL", "stop"},
      {"FINISH_REASON_UNSPECIFIED", "stop"},
      {"SOMETHING_NEW", "stop"},
  };
  for (const auto& [gemini_reason, openai] : table) {
    CAPTURE(gemini_reason);
    CHECK(reply({{"candidates",
                  {candidate({{{"text", "x"}}}, gemini_reason)}}})["choices"][0]["finish_reason"] ==
          openai);
  }
  const Json safety = reply(fixture("kong/gemini/llm-v1-chat/responses/fails_safety.json"));
  CHECK(safety["choices"][0]["finish_reason"] == "content_filter");
  CHECK(safety["choices"][0]["message"]["content"] == "");
  CHECK(safety["usage"] ==
        Json::parse(R"({"prompt_tokens":319,"completion_tokens":0,"total_tokens":319})"));
}

TEST_CASE(
    "gemini: a blocked prompt is a 200 with content_filter; no candidates otherwise is a 502") {
  const Json blocked =
      reply({{"promptFeedback", {{"blockReason", "SAFETY"}}},
             {"usageMetadata", {{"promptTokenCount", 9}, {"totalTokenCount", 9}}}});
  CHECK(blocked["object"] == "chat.completion");
  CHECK(blocked["choices"][0]["finish_reason"] == "content_filter");
  CHECK(blocked["choices"][0]["message"]["content"] == "");
  CHECK(blocked["usage"]["prompt_tokens"] == 9);

  Json body = Json::object();
  std::string raw = R"({"usageMetadata":{}})";
  auto r = gemini().parseResponse(makeCall(body), raw, target());
  REQUIRE_FALSE(r);
  CHECK(r.error().status == 502);
  CHECK(r.error().message == "upstream gemini returned no candidates");
  std::string garbage = "<html>";
  CHECK(gemini().parseResponse(makeCall(body), garbage, target()).error().status == 502);
}

TEST_CASE("gemini: completions and embeddings") {
  auto req = gemini().buildRequest(
      makeCall(Json{{"prompt", "say hi"}, {"max_tokens", 5}}, RouteType::Completions), target());
  REQUIRE(req);
  CHECK(Json::parse(req->body) ==
        Json::parse(R"({"contents":[{"role":"user","parts":[{"text":"say hi"}]}],
      "generationConfig":{"maxOutputTokens":5}})"));
  const Json text =
      reply(fixture("kong/gemini/llm-v1-chat/responses/good.json"), RouteType::Completions);
  CHECK(text["object"] == "text_completion");
  CHECK(text["choices"][0]["text"] == "Everything is okay.");
  CHECK(text["usage"]["total_tokens"] == 13);

  const Json emb_in = {{"input", {"a", "b"}}, {"dimensions", 8}};
  auto emb = gemini().buildRequest(
      makeCall(emb_in, RouteType::Embeddings, false, "text-embedding-004"), target());
  REQUIRE(emb);
  CHECK(Json::parse(emb->body) == Json::parse(R"({"requests":[
      {"model":"models/text-embedding-004","content":{"parts":[{"text":"a"}]},"outputDimensionality":8},
      {"model":"models/text-embedding-004","content":{"parts":[{"text":"b"}]},"outputDimensionality":8}]})"));
  const Json vectors = reply({{"embeddings", {{{"values", {0.1, 0.2}}}, {{"values", {0.3, 0.4}}}}}},
                             RouteType::Embeddings);
  CHECK(vectors["object"] == "list");
  CHECK(vectors["data"][1] ==
        Json::parse(R"({"object":"embedding","index":1,"embedding":[0.3,0.4]})"));
  CHECK(vectors["usage"]["prompt_tokens"] == 0);
}

TEST_CASE("gemini: errors keep the status and message; type and code from Gemini's status") {
  const auto e = gemini().parseError(
      400,
      R"({"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}})");
  CHECK(e.status == 400);
  CHECK(e.message == "API key not valid. Please pass a valid API key.");
  CHECK(e.type == "invalid_argument");
  CHECK(e.code == "INVALID_ARGUMENT");
  const auto arr = gemini().parseError(
      429, R"([{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}])");
  CHECK(arr.status == 429);
  CHECK(arr.message == "Quota exceeded");
  CHECK(arr.type == "resource_exhausted");
  const auto html = gemini().parseError(502, "<html>bad gateway</html>");
  CHECK(html.status == 502);
  CHECK(html.message == "upstream gemini returned HTTP 502: <html>bad gateway</html>");
}

TEST_CASE("gemini: hostile shapes are 400s or read defensively, never exceptions") {
  CHECK(refused({{"messages", {{{"role", "user"}, {"content", {{{"type", 5}}}}}}}}).param ==
        "messages[0].content[0].type");
  CHECK(
      refused({{"messages", {user("x"), {{"role", "assistant"}, {"tool_calls", "x"}}}}}).message ==
      "tool_calls must be an array");
  CHECK(refused({{"messages", {user("x")}}, {"tools", {{{"type", 1}}}}}).param == "tools[0].type");
  CHECK(refused({{"messages", {user("x")}}, {"tool_choice", {{"type", 2}}}}).param ==
        "tool_choice");
  CHECK(refused({{"messages", "x"}}).param == "messages");
  const Json odd =
      Json::parse(R"({"candidates":[{"index":"zero","finishReason":5,"content":{"parts":[
      {"thought":"yes","text":"a"},{"functionCall":{"name":3,"args":[1]}},7]}}],"usageMetadata":"many"})");
  const Json out = reply(odd);
  CHECK(out["choices"][0]["index"] == 0);
  CHECK(out["choices"][0]["message"]["content"] == "a");
  CHECK(out["choices"][0]["finish_reason"] == "tool_calls");
  CHECK(out["usage"]["total_tokens"] == 0);
  CHECK(reply({{"embeddings", {5}}}, RouteType::Embeddings)["data"][0]["embedding"].is_null());
}
