#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "providers/common.hpp"
#include "providers/provider.hpp"

using namespace aigw::providers;
using Json = nlohmann::json;

namespace {

struct Collect : ChunkSink {
  std::vector<std::string> chunks;
  bool emit(std::string_view c) override {
    chunks.emplace_back(c);
    return true;
  }
};

ProxyCall chatCall(const Json& body, bool stream = false) {
  ProxyCall call;
  call.route_type = RouteType::Chat;
  call.stream = stream;
  call.model = body.value("model", "gpt-4o-mini");
  call.body = &body;
  return call;
}

}  // namespace

TEST_CASE("openai: options fill in what the client left out; the client's value wins") {
  const Provider* p = findProvider("openai");
  REQUIRE(p);
  Target t{"openai", "gpt-4o-mini", {}};
  t.options.max_tokens = 512;
  t.options.temperature = 1.0;
  t.options.top_k = 5;  // not an OpenAI parameter: never sent
  Json body = {{"messages", {{{"role", "user"}, {"content", "hi"}}}},
               {"temperature", 0.2},
               {"tools", Json::array()}};
  auto req = p->buildRequest(chatCall(body), t);
  REQUIRE(req);
  CHECK(req->url == "https://api.openai.com/v1/chat/completions");
  Json sent = Json::parse(req->body);
  CHECK(sent["model"] == "gpt-4o-mini");
  CHECK(sent["max_tokens"] == 512);
  CHECK(sent["temperature"] == 0.2);
  CHECK_FALSE(sent.contains("top_k"));
  CHECK(sent["stream"] == false);
  CHECK(sent["tools"] == Json::array());
}

TEST_CASE(
    "openai: streaming asks for usage; upstream_url and upstream_path override the endpoint") {
  const Provider* p = findProvider("openai");
  Target t{"openai", "", {}};
  t.options.upstream_url = "http://127.0.0.1:9999/custom/chat";
  Json body = {
      {"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"stream", true}};
  auto req = p->buildRequest(chatCall(body, true), t);
  REQUIRE(req);
  CHECK(req->url == "http://127.0.0.1:9999/custom/chat");
  Json sent = Json::parse(req->body);
  CHECK(sent["stream_options"]["include_usage"] == true);
  t.options.upstream_path = "/v2/x";
  CHECK(p->buildRequest(chatCall(body, true), t)->url == "http://127.0.0.1:9999/v2/x");
}

TEST_CASE("openai: a body-located credential is added to the upstream body") {
  const Provider* p = findProvider("openai");
  Json body = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  auto call = chatCall(body);
  call.body_auth_name = "api_key";
  call.body_auth_value = "secret";
  auto req = p->buildRequest(call, Target{"openai", "gpt-4o-mini", {}});
  CHECK(Json::parse(req->body)["api_key"] == "secret");
}

TEST_CASE("azure: deployment URL with api-version") {
  const Provider* p = findProvider("azure");
  Target t{"azure", "gpt-4o", {}};
  t.options.azure_instance = "inst";
  t.options.azure_deployment_id = "dep";
  t.options.azure_api_version = "2024-10-21";
  Json body = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  auto req = p->buildRequest(chatCall(body), t);
  CHECK(req->url ==
        "https://inst.openai.azure.com/openai/deployments/dep/chat/"
        "completions?api-version=2024-10-21");
  ProxyCall emb;
  emb.route_type = RouteType::Embeddings;
  emb.model = "e";
  Json eb = {{"input", "x"}};
  emb.body = &eb;
  CHECK(p->buildRequest(emb, t)->url ==
        "https://inst.openai.azure.com/openai/deployments/dep/embeddings?api-version=2024-10-21");
}

TEST_CASE("openai: a 200 body passes through byte for byte; usage is read") {
  const Provider* p = findProvider("openai");
  Json body = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  std::string upstream =
      R"({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","system_fingerprint":"fp","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}})";
  const std::string copy = upstream;
  auto reply = p->parseResponse(chatCall(body), upstream, Target{"openai", "", {}});
  REQUIRE(reply);
  CHECK(reply->body == copy);
  CHECK(reply->usage.prompt_tokens == 3);
  CHECK(reply->usage.completion_tokens == 1);

  std::string garbage = "not json";
  auto bad = p->parseResponse(chatCall(body), garbage, Target{"openai", "", {}});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().status == 502);
  std::string no_choices = R"({"object":"chat.completion"})";
  auto missing = p->parseResponse(chatCall(body), no_choices, Target{"openai", "", {}});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message ==
        "upstream openai returned a response without 'choices' for llm/v1/chat");
}

TEST_CASE("openai stream: chunks pass through, the usage-only chunk only when the client asked") {
  const Provider* p = findProvider("openai");
  Json body = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"stream", true}};
  const std::string text_chunk =
      R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]})";
  const std::string usage_chunk =
      R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}})";
  for (bool wants : {false, true}) {
    CAPTURE(wants);
    auto call = chatCall(body, true);
    call.client_wants_usage = wants;
    auto dec = p->newStreamDecoder(call, Target{"openai", "", {}});
    Collect out;
    CHECK(dec->onEvent("", text_chunk, out));
    CHECK(dec->onEvent("", usage_chunk, out));
    CHECK(dec->onEvent("", "[DONE]", out));
    CHECK(dec->onEnd(out));
    CHECK(out.chunks.size() == (wants ? 2u : 1u));
    CHECK(out.chunks[0] == text_chunk);
    CHECK(dec->usage().prompt_tokens == 5);
    CHECK(dec->usage().completion_tokens == 2);
  }
}

TEST_CASE("openai stream: no [DONE] is a truncation error; an error event is reported") {
  const Provider* p = findProvider("openai");
  Json body = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  auto dec = p->newStreamDecoder(chatCall(body, true), Target{"openai", "", {}});
  Collect out;
  CHECK(dec->onEvent("", R"({"choices":[{"index":0,"delta":{"content":"a"}}]})", out));
  auto end = dec->onEnd(out);
  CHECK_FALSE(end);
  CHECK(end.message() == "upstream stream ended before [DONE]; the answer is incomplete");

  auto dec2 = p->newStreamDecoder(chatCall(body, true), Target{"openai", "", {}});
  auto err = dec2->onEvent("", R"({"error":{"message":"overloaded","type":"server_error"}})", out);
  CHECK_FALSE(err);
  CHECK(err.message() == "upstream error mid-stream: overloaded");
}

TEST_CASE("upstream errors keep their status and OpenAI fields") {
  const Provider* p = findProvider("openai");
  auto e = p->parseError(
      401,
      R"({"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key","param":null}})");
  CHECK(e.status == 401);
  CHECK(e.message == "Incorrect API key provided");
  CHECK(e.code == "invalid_api_key");
  auto html = p->parseError(503, "<html>Service Unavailable</html>");
  CHECK(html.status == 503);
  CHECK(html.message == "upstream openai returned HTTP 503: <html>Service Unavailable</html>");
  CHECK(html.type == "upstream_error");
}

TEST_CASE("format options select the wire format at load time") {
  ModelOptions o;
  o.mistral_format = "ollama";
  const Provider* p = resolveProvider("mistral", o);
  REQUIRE(p);
  CHECK(p->framing(Target{}) == Framing::NdJson);
  o.mistral_format = "openai";
  CHECK(resolveProvider("mistral", o)->framing(Target{}) == Framing::Sse);
  CHECK(resolveProvider("nope", o) == nullptr);
}

TEST_CASE(
    "openai: the pass-through scan reads usage only at the top level and refuses non-objects") {
  const Provider* p = findProvider("openai");
  Json body = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  std::string nested =
      R"({"choices":[{"message":{"usage":{"prompt_tokens":99}}}],"usage":{"completion_tokens":4,"details":{"prompt_tokens":1},"prompt_tokens":6}})";
  auto reply = p->parseResponse(chatCall(body), nested, Target{"openai", "", {}, {}});
  REQUIRE(reply);
  CHECK(reply->usage.prompt_tokens == 6);
  CHECK(reply->usage.completion_tokens == 4);
  std::string no_usage = R"({"choices":[]})";
  CHECK(p->parseResponse(chatCall(body), no_usage, Target{"openai", "", {}, {}})->usage.known() ==
        false);
  for (std::string bad :
       {std::string("[1,2]"), std::string("{\"choices\":[}"), std::string(200, '[')}) {
    auto r = p->parseResponse(chatCall(body), bad, Target{"openai", "", {}, {}});
    REQUIRE_FALSE(r);
    CHECK(r.error().status == 502);
  }
}

TEST_CASE("responses: passed through to OpenAI and Azure as written, at each one's endpoint") {
  // The client's text, with spacing a re-serialisation would change and fields the chat hub has
  // no place for (store, previous_response_id, reasoning).
  const std::string raw =
      R"({"model":"gpt-5",  "input":"hi","store":true,"previous_response_id":"resp_1",)"
      R"("reasoning":{"effort":"low"}})";
  const Json body = Json::parse(raw);
  auto native = [&](const std::string& model) {
    ProxyCall call;
    call.route_type = RouteType::Chat;
    call.model = model;
    call.body = &body;
    call.native = NativeApi::Responses;
    call.native_op = "responses";
    call.raw_body = raw;
    return call;
  };

  const Provider* openai = findProvider("openai");
  REQUIRE(openai->speaks(NativeApi::Responses));
  CHECK_FALSE(openai->speaks(NativeApi::Anthropic));
  auto req = openai->buildRequest(native("gpt-5"), Target{"openai", "", {}});
  REQUIRE(req);
  CHECK(req->url == "https://api.openai.com/v1/responses");
  CHECK(req->body == raw);

  const Provider* azure = findProvider("azure");
  REQUIRE(azure->speaks(NativeApi::Responses));
  Target t{"azure", "gpt-5-deployment", {}};
  t.options.azure_instance = "inst";
  t.options.azure_deployment_id = "dep";
  t.options.azure_api_version = "2023-05-15";  // Kong's default predates the Responses API
  t.options.max_tokens = 99;                   // filled in as max_output_tokens
  auto az = azure->buildRequest(native("gpt-5-deployment"), t);
  REQUIRE(az);
  CHECK(az->url == "https://inst.openai.azure.com/openai/responses?api-version=2025-04-01-preview");
  std::string expected = raw;
  expected.replace(expected.find("gpt-5"), 5, "gpt-5-deployment");
  expected.insert(expected.size() - 1, R"(,"max_output_tokens":99)");
  CHECK(az->body == expected);
  t.options.azure_api_version = "2025-05-01-preview";  // a newer one is kept
  CHECK(azure->buildRequest(native("gpt-5-deployment"), t)->url ==
        "https://inst.openai.azure.com/openai/responses?api-version=2025-05-01-preview");

  // Providers without the Responses API never take it natively (the hub translates).
  for (const char* name : {"anthropic", "mistral", "ollama", "bedrock", "cohere", "mock"})
    CHECK_FALSE(findProvider(name)->speaks(NativeApi::Responses));
}

TEST_CASE("openai: the client's text is spliced, and says what the document path would send") {
  const Provider* p = findProvider("openai");
  const std::vector<std::string> bodies = {
      R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})",
      R"({"messages":[{"role":"user","content":"hi"}],"model":"other","max_tokens":7})",
      R"( { "messages" : [ {"role":"user","content":"h\u00e9"} ], "stream":true,
            "stream_options":{"x":1}, "temperature":null, "top_p":1.50, "n":1e0 } )",
      R"({"messages":[],"stream":false,"stream_options":{"include_usage":true},"model":"a","model":"gpt-4o-mini"})",
      R"({"messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":null})",
      R"({"input":"x","model":"e"})"};
  for (const auto& text : bodies) {
    for (const bool stream : {false, true}) {
      for (const bool embeddings : {false, true}) {
        CAPTURE(text);
        CAPTURE(stream);
        CAPTURE(embeddings);
        const Json body = Json::parse(text);
        Target t{"openai", "gpt-4o-mini", {}};
        t.options.max_tokens = 64;
        t.options.top_p = 0.5;
        ProxyCall call = chatCall(body, stream && !embeddings);
        call.model = "gpt-4o-mini";
        if (embeddings) call.route_type = RouteType::Embeddings;
        call.body_auth_name = "api_key";
        call.body_auth_value = "k\"1";
        auto by_document = p->buildRequest(call, t);
        call.raw_body = text;
        auto spliced = p->buildRequest(call, t);
        REQUIRE(by_document);
        REQUIRE(spliced);
        CHECK(Json::parse(spliced->body) == Json::parse(by_document->body));
      }
    }
  }
}

TEST_CASE("openai: a spliced body keeps the client's bytes where nothing changes") {
  const Provider* p = findProvider("openai");
  const std::string text =
      R"({"model":"gpt-4o-mini", "messages":[{"role":"user","content":"hi","cache_control":{"type":"ephemeral"}}],"temperature":0.70,"zeta":1E2,"stream":false})";
  const Json body = Json::parse(text);
  ProxyCall call = chatCall(body);
  call.raw_body = text;
  auto req = p->buildRequest(call, Target{"openai", "gpt-4o-mini", {}});
  REQUIRE(req);
  CHECK(req->body == text);  // nothing to change: the very bytes
  Target t{"openai", "gpt-4o-mini", {}};
  t.options.max_tokens = 10;
  call.stream = true;
  auto edited = p->buildRequest(call, t);
  REQUIRE(edited);
  CHECK(
      edited->body ==
      R"({"model":"gpt-4o-mini", "messages":[{"role":"user","content":"hi","cache_control":{"type":"ephemeral"}}],"temperature":0.70,"zeta":1E2,"stream":true,"max_tokens":10,"stream_options":{"include_usage":true}})");
}

TEST_CASE("openai: usage read from an answer's text agrees with the document reader") {
  const std::vector<std::string> usages = {
      R"({"prompt_tokens":3,"completion_tokens":1,"total_tokens":4})",
      R"({"prompt_tokens":12.0,"completion_tokens":"x","prompt_tokens_details":{"cached_tokens":8,"cache_write_tokens":2},"completion_tokens_details":{"reasoning_tokens":5}})",
      R"({"prompt_tokens":1,"prompt_tokens":2,"prompt_tokens_details":null,"completion_tokens_details":{"reasoning_tokens":1e2}})",
      R"({ "prompt_tokens" : -4 , "completion_tokens" : 9007199254740993 })", R"({})"};
  for (const auto& text : usages) {
    CAPTURE(text);
    const Usage want = usageFromOpenAI(Json::parse(text));
    const auto got = usageFromOpenAIText(text);
    REQUIRE(got);
    CHECK(got->prompt_tokens == want.prompt_tokens);
    CHECK(got->completion_tokens == want.completion_tokens);
    CHECK(got->cached_tokens == want.cached_tokens);
    CHECK(got->cache_write_tokens == want.cache_write_tokens);
    CHECK(got->reasoning_tokens == want.reasoning_tokens);
  }
  CHECK_FALSE(usageFromOpenAIText("null"));
}
