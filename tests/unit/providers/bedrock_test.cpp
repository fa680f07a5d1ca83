// Bedrock Converse translation: request bodies (Kong's golden request, all tool calls, merged
// turns, images, refusals), URLs and SigV4 headers, responses, finish reasons, usage, errors,
// and streams (Kong's real event-stream frames through the real framer, split at every offset).
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "providers/bedrock.hpp"
#include "providers/provider.hpp"
#include "providers/sigv4.hpp"
#include "proxy/aws_eventstream.hpp"
#include "proxy/framing.hpp"

using namespace aigw::providers;
using Json = nlohmann::json;

namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Json fixture(const std::string& rel) {
  return Json::parse(readFile(std::string(AIGW_FIXTURES_DIR) + "/" + rel));
}

// 2015-08-30T12:36:00Z, the SigV4 suite's date.
const auto kFixedTime = std::chrono::system_clock::time_point(std::chrono::seconds(1440938160));

const Provider& fixedClockProvider() {
  static const auto p = bedrock::newProvider([] { return kFixedTime; });
  return *p;
}

Target target() {
  Target t;
  t.provider = "bedrock";
  t.model = "anthropic.claude-3-haiku-20240307-v1:0";
  t.options.blocks["bedrock"] = {{"aws_region", "us-east-1"}};
  t.cloud_auth.aws_access_key_id = "AKIDEXAMPLE";
  t.cloud_auth.aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  return t;
}

ProxyCall call(const Json& body, bool stream = false, RouteType type = RouteType::Chat) {
  ProxyCall c;
  c.route_type = type;
  c.stream = stream;
  c.model = "anthropic.claude-3-haiku-20240307-v1:0";
  c.body = &body;
  return c;
}

Json converse(const Json& body, const ModelOptions& options = {}) {
  auto out = bedrock::converseBody(body, RouteType::Chat, options);
  REQUIRE_MESSAGE(out, (out ? "" : out.error().message));
  return *out;
}

aigw::ApiError refused(const Json& body) {
  auto out = bedrock::converseBody(body, RouteType::Chat, {});
  REQUIRE_FALSE(out);
  return out.error();
}

std::string header(const aigw::http::UpstreamRequest& r, std::string_view name) {
  for (const auto& h : r.headers)
    if (h.name == name) return h.value;
  return "";
}

}  // namespace

TEST_CASE("bedrock: Kong's unit request becomes Kong's expected Converse body") {
  ModelOptions o;
  o.max_tokens = 8192;
  o.temperature = 0.8;
  o.top_p = 0.6;
  Json expected = fixture("kong/unit/expected-requests/bedrock/llm-v1-chat.json");
  expected.erase("anthropic_version");  // Kong's stray Anthropic field; Converse has none
  CHECK(converse(fixture("kong/unit/requests/llm-v1-chat.json"), o) == expected);
}

TEST_CASE("bedrock: every system message, merged turns, all tool calls and results") {
  const Json in = Json::parse(R"({"messages":[
    {"role":"system","content":"one"},
    {"role":"developer","content":[{"type":"text","text":"two"}]},
    {"role":"user","content":"hi"},
    {"role":"user","content":[{"type":"text","text":"there"},
      {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]},
    {"role":"assistant","content":"calling","tool_calls":[
      {"id":"t1","type":"function","function":{"name":"add","arguments":"{\"a\":1}"}},
      {"id":"t2","type":"function","function":{"name":"mul","arguments":""}}]},
    {"role":"tool","tool_call_id":"t1","content":"{\"sum\":3}"},
    {"role":"tool","tool_call_id":"t2","content":"six"},
    {"role":"user","content":"thanks"}]})");
  const Json out = converse(in);
  CHECK(out["system"] == Json::parse(R"([{"text":"one"},{"text":"two"}])"));
  CHECK(out["messages"] == Json::parse(R"([
    {"role":"user","content":[{"text":"hi"},{"text":"there"},
      {"image":{"format":"png","source":{"bytes":"iVBORw0KGgo="}}}]},
    {"role":"assistant","content":[{"text":"calling"},
      {"toolUse":{"toolUseId":"t1","name":"add","input":{"a":1}}},
      {"toolUse":{"toolUseId":"t2","name":"mul","input":{}}}]},
    {"role":"user","content":[
      {"toolResult":{"toolUseId":"t1","content":[{"json":{"sum":3}}]}},
      {"toolResult":{"toolUseId":"t2","content":[{"text":"six"}]}},
      {"text":"thanks"}]}])"));
  CHECK_FALSE(out.contains("inferenceConfig"));
}

TEST_CASE("bedrock: inference settings; the client's values win over options") {
  ModelOptions o;
  o.max_tokens = 100;
  o.temperature = 0.5;
  o.top_k = 40;
  const Json out = converse(Json::parse(R"({"messages":[{"role":"user","content":"x"}],
      "max_tokens":7,"top_p":0.9,"stop":"END"})"),
                            o);
  CHECK(out["inferenceConfig"] ==
        Json::parse(R"({"maxTokens":7,"temperature":0.5,"topP":0.9,"stopSequences":["END"]})"));
  CHECK(out["additionalModelRequestFields"] == Json::parse(R"({"top_k":40})"));
  CHECK(converse(Json::parse(R"({"messages":[{"role":"user","content":"x"}],
      "max_completion_tokens":9,"stop":["a","b"]})"))["inferenceConfig"] ==
        Json::parse(R"({"maxTokens":9,"stopSequences":["a","b"]})"));
}

TEST_CASE("bedrock: tools and tool_choice") {
  Json in = Json::parse(R"({"messages":[{"role":"user","content":"x"}],
    "tools":[{"type":"function","function":{"name":"f","description":"d",
      "parameters":{"type":"object","properties":{"a":{"type":"number"}}}}},
      {"type":"function","function":{"name":"g"}}]})");
  Json out = converse(in);
  CHECK(out["toolConfig"] == Json::parse(R"({"tools":[
    {"toolSpec":{"name":"f","description":"d","inputSchema":{"json":
      {"type":"object","properties":{"a":{"type":"number"}}}}}},
    {"toolSpec":{"name":"g","inputSchema":{"json":{"type":"object","properties":{}}}}}]})"));
  in["tool_choice"] = "auto";
  CHECK(converse(in)["toolConfig"]["toolChoice"] == Json::parse(R"({"auto":{}})"));
  in["tool_choice"] = "required";
  CHECK(converse(in)["toolConfig"]["toolChoice"] == Json::parse(R"({"any":{}})"));
  in["tool_choice"] = {{"type", "function"}, {"function", {{"name", "g"}}}};
  CHECK(converse(in)["toolConfig"]["toolChoice"] == Json::parse(R"({"tool":{"name":"g"}})"));
  in["tool_choice"] = "none";
  CHECK_FALSE(converse(in).contains("toolConfig"));
  in["messages"].push_back(Json::parse(R"({"role":"assistant","tool_calls":[
    {"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]})"));
  const auto e = refused(in);
  CHECK(e.param == "tool_choice");
  CHECK(e.message ==
        "tool_choice \"none\" is not supported by provider bedrock once the conversation holds "
        "tool calls; leave tool_choice out");
}

TEST_CASE("bedrock: what Converse cannot do is a 400 naming the field") {
  const Json base = Json::parse(R"({"messages":[{"role":"user","content":"x"}]})");
  Json in = base;
  in["response_format"] = {{"type", "json_object"}};
  auto e = refused(in);
  CHECK(e.status == 400);
  CHECK(e.param == "response_format");
  CHECK(e.message ==
        "response_format 'json_object' is not supported by provider bedrock: the Converse API has "
        "no JSON mode; describe the format in the prompt or use a tool");
  in = base;
  in["n"] = 2;
  CHECK(refused(in).message == "n > 1 is not supported by provider bedrock");
  in = base;
  in["logprobs"] = true;
  CHECK(refused(in).param == "logprobs");
  in = Json::parse(R"({"messages":[{"role":"user","content":[
    {"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]})");
  e = refused(in);
  CHECK(e.param == "messages[0].content[0].image_url.url");
  CHECK(e.message ==
        "bedrock accepts images only as data: URLs (data:image/png;base64,...); the Converse API "
        "cannot fetch an image from a URL");
  in = Json::parse(R"({"messages":[{"role":"user","content":[
    {"type":"image_url","image_url":{"url":"data:image/tiff;base64,AAAA"}}]}]})");
  CHECK(refused(in).message ==
        "image type 'image/tiff' is not supported by bedrock; use png, jpeg, gif or webp");
  in = Json::parse(R"({"messages":[{"role":"assistant","tool_calls":[
    {"id":"t","type":"function","function":{"name":"f","arguments":"[1]"}}]}]})");
  CHECK(refused(in).param == "messages[0].tool_calls[0].function.arguments");
  in = base;
  in["temperature"] = "hot";
  CHECK(refused(in).message == "temperature must be a number");
}

TEST_CASE("bedrock: the URL carries the region and the encoded model id; SigV4 headers") {
  const Json body = Json::parse(R"({"messages":[{"role":"user","content":"x"}]})");
  auto req = fixedClockProvider().buildRequest(call(body), target());
  REQUIRE_MESSAGE(req, (req ? "" : req.error().message));
  CHECK(req->url ==
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/"
        "anthropic.claude-3-haiku-20240307-v1%3A0/converse");
  CHECK(header(*req, "X-Amz-Date") == "20150830T123600Z");
  CHECK(header(*req, "Accept") == "application/json");
  // The signature is the one sigv4::sign gives for what is actually sent: double-encoded path,
  // Host as the client writes it, the body's hash.
  sigv4::Request expected;
  expected.path = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";
  expected.headers = {{"Host", "bedrock-runtime.us-east-1.amazonaws.com"}};
  expected.payload = req->body;
  const auto s =
      sigv4::sign(expected, {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""},
                  "us-east-1", "bedrock", kFixedTime);
  CHECK(s.canonical_request.find(
            "\n/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse\n") != std::string::npos);
  CHECK(header(*req, "Authorization") == s.authorization);
  CHECK(s.authorization.rfind(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=",
            0) == 0);

  auto streamed = fixedClockProvider().buildRequest(call(body, true), target());
  REQUIRE(streamed);
  CHECK(streamed->url.ends_with("/converse-stream"));
  CHECK(header(*streamed, "Accept") == "application/vnd.amazon.eventstream");
  CHECK(fixedClockProvider().framing(target()) == Framing::AwsEventStream);
}

TEST_CASE("bedrock: upstream_url replaces the origin and prefixes the path; Host is signed") {
  Target t = target();
  t.options.upstream_url = "http://127.0.0.1:9999/scenario/x/";
  const Json body = Json::parse(R"({"messages":[{"role":"user","content":"x"}]})");
  auto req = fixedClockProvider().buildRequest(call(body), t);
  REQUIRE(req);
  CHECK(req->url ==
        "http://127.0.0.1:9999/scenario/x/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse");
  sigv4::Request expected;
  expected.path = "/scenario/x/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";
  expected.headers = {{"Host", "127.0.0.1:9999"}};
  expected.payload = req->body;
  CHECK(header(*req, "Authorization") ==
        sigv4::sign(expected, {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""},
                    "us-east-1", "bedrock", kFixedTime)
            .authorization);
}

TEST_CASE("bedrock: credentials from the environment, with a session token; none is a 500") {
  Target t = target();
  t.cloud_auth = {};
  const Json body = Json::parse(R"({"messages":[{"role":"user","content":"x"}]})");
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ::unsetenv("AWS_SESSION_TOKEN");
  auto none = fixedClockProvider().buildRequest(call(body), t);
  REQUIRE_FALSE(none);
  CHECK(none.error().status == 500);
  CHECK(none.error().message ==
        "LLM request failed before proxying: no AWS credentials; set auth.aws_access_key_id and "
        "auth.aws_secret_access_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  ::setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
  ::setenv("AWS_SESSION_TOKEN", "tok", 1);
  auto req = fixedClockProvider().buildRequest(call(body), t);
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ::unsetenv("AWS_SESSION_TOKEN");
  REQUIRE(req);
  CHECK(header(*req, "X-Amz-Security-Token") == "tok");
  CHECK(header(*req, "Authorization").find("Credential=AKENV/20150830/us-east-1/bedrock/") !=
        std::string::npos);
  CHECK(header(*req, "Authorization").find("SignedHeaders=host;x-amz-date;x-amz-security-token") !=
        std::string::npos);
}

TEST_CASE("bedrock: config checks: region required, keys in pairs, no role assumption yet") {
  ::unsetenv("AWS_REGION");
  ::unsetenv("AWS_DEFAULT_REGION");
  Target t = target();
  t.options.blocks = Json::object();
  t.cloud_auth.aws_secret_access_key.clear();
  t.options.blocks["bedrock"] = {{"aws_assume_role_arn", "arn:aws:iam::1:role/x"}};
  std::vector<std::pair<std::string, std::string>> errors;
  findProvider("bedrock")->checkTarget(t, RouteType::Chat, errors);
  REQUIRE(errors.size() == 3);
  CHECK(errors[0] == std::pair<std::string, std::string>{
                         "model.options.bedrock.aws_region",
                         "required for provider bedrock (or set the AWS_REGION environment "
                         "variable)"});
  CHECK(errors[1].first == "auth");
  CHECK(errors[2].first == "model.options.bedrock.aws_assume_role_arn");
  ::setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
  errors.clear();
  findProvider("bedrock")->checkTarget(target(), RouteType::Chat, errors);
  ::unsetenv("AWS_DEFAULT_REGION");
  CHECK(errors.empty());
  CHECK_FALSE(findProvider("bedrock")->supports(RouteType::Embeddings));
}

TEST_CASE("bedrock: answers become chat.completion; Kong's real response") {
  const Json body = Json::object();
  std::string raw = readFile(std::string(AIGW_FIXTURES_DIR) +
                             "/kong/unit/real-responses/bedrock/llm-v1-chat.json");
  auto reply = findProvider("bedrock")->parseResponse(call(body), raw, target());
  REQUIRE(reply);
  const Json out = Json::parse(reply->body);
  const Json expected = fixture("kong/unit/expected-responses/bedrock/llm-v1-chat.json");
  CHECK(out["choices"][0]["message"] == expected["choices"][0]["message"]);
  CHECK(out["choices"][0]["finish_reason"] == "stop");  // Kong leaks "end_turn"
  CHECK(out["object"] == "chat.completion");
  CHECK(out["model"] == "anthropic.claude-3-haiku-20240307-v1:0");
  CHECK(out["id"].get<std::string>().rfind("chatcmpl-", 0) == 0);
  CHECK(out["usage"].is_object());
}

TEST_CASE("bedrock: tool use answers keep every call; usage and finish reasons are mapped") {
  const Json body = Json::object();
  std::string raw = R"({"output":{"message":{"role":"assistant","content":[
    {"text":"Let me "},{"text":"check."},
    {"toolUse":{"toolUseId":"a","name":"f","input":{"x":1}}},
    {"toolUse":{"toolUseId":"b","name":"g","input":{}}}]}},
    "stopReason":"tool_use",
    "usage":{"inputTokens":10,"outputTokens":5,"totalTokens":17,"cacheReadInputTokens":2}})";
  auto reply = findProvider("bedrock")->parseResponse(call(body), raw, target());
  REQUIRE(reply);
  const Json out = Json::parse(reply->body);
  const Json& msg = out["choices"][0]["message"];
  CHECK(msg["content"] == "Let me check.");
  CHECK(msg["tool_calls"] == Json::parse(R"([
    {"id":"a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}},
    {"id":"b","type":"function","function":{"name":"g","arguments":"{}"}}])"));
  CHECK(out["choices"][0]["finish_reason"] == "tool_calls");
  CHECK(out["usage"] == Json::parse(R"({"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,
                        "prompt_tokens_details":{"cached_tokens":2}})"));
  CHECK(reply->usage.prompt_tokens == 12);

  for (const auto& [reason, expected] :
       std::vector<std::pair<const char*, const char*>>{{"end_turn", "stop"},
                                                        {"stop_sequence", "stop"},
                                                        {"max_tokens", "length"},
                                                        {"model_context_window_exceeded", "length"},
                                                        {"tool_use", "tool_calls"},
                                                        {"guardrail_intervened", "content_filter"},
                                                        {"content_filtered", "content_filter"},
                                                        {"malformed_model_output", "stop"},
                                                        {"something_new", "stop"}})
    CHECK(bedrock::finishReason(reason) == std::string(expected));

  std::string garbage = R"({"output":{}})";
  auto bad = findProvider("bedrock")->parseResponse(call(body), garbage, target());
  REQUIRE_FALSE(bad);
  CHECK(bad.error().status == 502);
}

TEST_CASE("bedrock: errors keep status and message; the type names the exception") {
  const auto& p = *findProvider("bedrock");
  auto e =
      p.parseError(429, R"({"message":"Too many requests, please wait before trying again."})");
  CHECK(e.status == 429);
  CHECK(e.message == "Too many requests, please wait before trying again.");
  CHECK(e.type == "throttling_exception");
  CHECK(e.code == "ThrottlingException");
  e = p.parseError(400, R"({"message":"Malformed input request"})");
  CHECK(e.code == "ValidationException");
  e = p.parseError(403, R"({"Message":"User is not authorized"})");
  CHECK(e.message == "User is not authorized");
  CHECK(e.type == "access_denied_exception");
  e = p.parseError(400,
                   R"({"__type":"com.amazon.coral#ServiceQuotaExceededException","message":"q"})");
  CHECK(e.code == "ServiceQuotaExceededException");
  e = p.parseError(408, "");
  CHECK(e.code == "ModelTimeoutException");
  CHECK(e.message == "upstream bedrock returned HTTP 408");
}

// ---- streams ----

namespace {

std::string base64Decode(const std::string& in) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    const auto v = kAlphabet.find(c);
    if (v == std::string::npos) continue;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

struct Collect : ChunkSink {
  std::vector<Json> chunks;
  bool emit(std::string_view c) override {
    chunks.push_back(Json::parse(c));
    return true;
  }
};

struct StreamRun {
  std::vector<Json> chunks;
  aigw::Status status;
  Usage usage;
  std::string text, arguments;
};

StreamRun runStream(const std::string& bytes, std::size_t cut, RouteType type = RouteType::Chat) {
  const Json body = Json::object();
  auto decoder = findProvider("bedrock")->newStreamDecoder(call(body, true, type), target());
  auto framer = aigw::proxy::newFramer(Framing::AwsEventStream);
  Collect out;
  auto cb = [&](std::string_view e, std::string_view d) { return decoder->onEvent(e, d, out); };
  StreamRun run;
  run.status = framer->feed(std::string_view(bytes).substr(0, cut), cb);
  if (run.status) run.status = framer->feed(std::string_view(bytes).substr(cut), cb);
  if (run.status) run.status = framer->finish(cb);
  if (run.status) run.status = decoder->onEnd(out);
  run.usage = decoder->usage();
  run.chunks = std::move(out.chunks);
  for (const auto& c : run.chunks) {
    for (const auto& choice : c["choices"]) {
      const Json& d = type == RouteType::Chat ? choice["delta"] : choice;
      const char* key = type == RouteType::Chat ? "content" : "text";
      if (d.contains(key) && d[key].is_string()) run.text += d[key].get<std::string>();
      if (d.contains("tool_calls"))
        for (const auto& tc : d["tool_calls"])
          run.arguments += tc["function"].value("arguments", "");
    }
  }
  return run;
}

std::string kongToolCall() {
  std::string all;
  for (int i = 1; i <= 3; ++i)
    all += base64Decode(readFile(std::string(AIGW_FIXTURES_DIR) + "/kong/bedrock/chunks/chunk-" +
                                 std::to_string(i) + ".txt"));
  return all;
}

}  // namespace

TEST_CASE("bedrock stream: Kong's tool call add(a=2,b=12) at every split") {
  const std::string bytes = kongToolCall();
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    CAPTURE(cut);
    const StreamRun run = runStream(bytes, cut);
    REQUIRE(run.status);
    REQUIRE(run.chunks.size() == 7);  // role, tool start, 4 non-empty fragments, finish
    CHECK(run.chunks[0]["choices"][0]["delta"] ==
          Json::parse(R"({"role":"assistant","content":""})"));
    CHECK(run.chunks[1]["choices"][0]["delta"]["tool_calls"] == Json::parse(R"([{"index":0,
      "id":"tooluse_UxbKWVKgTqe8cKjPPzopiQ","type":"function","function":{"name":"add","arguments":""}}])"));
    CHECK(Json::parse(run.arguments) == Json::parse(R"({"a":2,"b":12})"));
    for (std::size_t i = 2; i < 6; ++i)
      CHECK(run.chunks[i]["choices"][0]["delta"]["tool_calls"][0]["index"] == 0);
    const Json& last = run.chunks.back();
    CHECK(last["choices"][0]["finish_reason"] == "tool_calls");
    CHECK(last["usage"] ==
          Json::parse(R"({"prompt_tokens":478,"completion_tokens":44,"total_tokens":522})"));
    CHECK(run.usage.prompt_tokens == 478);
    for (const auto& c : run.chunks) {
      CHECK(c["object"] == "chat.completion.chunk");
      CHECK(c["id"] == run.chunks[0]["id"]);
      CHECK(c["model"] == "anthropic.claude-3-haiku-20240307-v1:0");
      CHECK(c["created"].is_number());
    }
  }
}

TEST_CASE("bedrock stream: Kong's text stream, and as a completions route") {
  const std::string bytes =
      readFile(std::string(AIGW_FIXTURES_DIR) + "/kong/unit/streaming-chunk-formats/aws/input.bin");
  for (std::size_t cut = 0; cut <= bytes.size(); cut += 7) {
    const StreamRun run = runStream(bytes, cut);
    REQUIRE(run.status);
    CHECK(run.text.rfind("Hello! Relativity is a set of physical theories", 0) == 0);
    CHECK(run.text.ends_with("the nature of space, time, and matter."));
    CHECK(run.chunks.back()["choices"][0]["finish_reason"] == "stop");
    CHECK(run.chunks.back()["usage"]["total_tokens"] == 106);
  }
  const StreamRun completion = runStream(bytes, 0, RouteType::Completions);
  REQUIRE(completion.status);
  CHECK(completion.chunks[0]["object"] == "text_completion");
  CHECK(completion.text.rfind("Hello! Relativity", 0) == 0);
  CHECK(completion.chunks.back()["choices"][0]["finish_reason"] == "stop");
}

TEST_CASE("bedrock stream: a stream cut before messageStop is an error, never a clean end") {
  const std::string bytes = kongToolCall();
  // Whole messages only (the framer reports a cut inside one itself): drop the last two.
  const std::size_t message_stop = bytes.size() - 0xda - 0x83;
  const StreamRun run = runStream(bytes.substr(0, message_stop), 0);
  CHECK(run.status.message() ==
        "upstream bedrock stream ended before messageStop; the answer is incomplete");
  // Without metadata the finish chunk still goes out at the end, without usage counts.
  const StreamRun no_meta = runStream(bytes.substr(0, bytes.size() - 0xda), 0);
  REQUIRE(no_meta.status);
  CHECK(no_meta.chunks.back()["choices"][0]["finish_reason"] == "tool_calls");
  CHECK(no_meta.chunks.back()["usage"]["total_tokens"] == 0);
}

namespace {

void putU32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

std::string stringHeader(const std::string& name, const std::string& value) {
  std::string h(1, static_cast<char>(name.size()));
  h += name + '\x07';
  h += static_cast<char>(value.size() >> 8);
  h += static_cast<char>(value.size() & 0xff);
  return h + value;
}

std::string frame(const std::string& type, const std::string& payload) {
  const std::string headers =
      stringHeader(":event-type", type) + stringHeader(":message-type", "event");
  std::string out;
  putU32(out, static_cast<std::uint32_t>(16 + headers.size() + payload.size()));
  putU32(out, static_cast<std::uint32_t>(headers.size()));
  putU32(out, aigw::proxy::crc32(out));
  out += headers + payload;
  putU32(out, aigw::proxy::crc32(out));
  return out;
}

}  // namespace

TEST_CASE("bedrock stream: tool indexes count tool calls only (contentBlockIndex counts text)") {
  const std::string bytes =
      frame("messageStart", R"({"role":"assistant"})") +
      frame("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Checking."}})") +
      frame("contentBlockStop", R"({"contentBlockIndex":0})") +
      frame("contentBlockStart",
            R"({"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"a","name":"f"}}})") +
      frame("contentBlockDelta",
            R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"x\":1}"}}})") +
      frame("contentBlockStart",
            R"({"contentBlockIndex":2,"start":{"toolUse":{"toolUseId":"b","name":"g"}}})") +
      frame("contentBlockDelta", R"({"contentBlockIndex":2,"delta":{"toolUse":{"input":"{}"}}})") +
      frame("reasoningSomethingNew", R"({"x":1})") +
      frame("messageStop", R"({"stopReason":"tool_use"})") +
      frame("metadata", R"({"usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3}})");
  const StreamRun run = runStream(bytes, 5);
  REQUIRE(run.status);
  CHECK(run.text == "Checking.");
  std::vector<Json> calls;
  for (const auto& c : run.chunks)
    if (c["choices"][0]["delta"].contains("tool_calls"))
      calls.push_back(c["choices"][0]["delta"]["tool_calls"][0]);
  REQUIRE(calls.size() == 4);
  CHECK(calls[0]["index"] == 0);
  CHECK(calls[0]["id"] == "a");
  CHECK(calls[1] == Json::parse(R"({"index":0,"function":{"arguments":"{\"x\":1}"}})"));
  CHECK(calls[2]["index"] == 1);
  CHECK(calls[2]["function"]["name"] == "g");
  CHECK(calls[3]["index"] == 1);
  CHECK(run.chunks.back()["usage"]["total_tokens"] == 3);

  const StreamRun unknown =
      runStream(frame("messageStart", "{}") +
                    frame("contentBlockDelta",
                          R"({"contentBlockIndex":4,"delta":{"toolUse":{"input":"{}"}}})"),
                0);
  CHECK(unknown.status.message() ==
        "upstream bedrock sent toolUse input for an unknown content block");
}

TEST_CASE("bedrock: the x-amzn-ErrorType header names the error when present") {
  const Provider* p = findProvider("bedrock");
  REQUIRE(p);
  aigw::http::Headers headers = {
      {"x-amzn-errortype",
       "ModelStreamErrorException:http://internal.amazon.com/coral/com.amazon.bedrock/"}};
  auto e = p->parseErrorResponse(424, R"({"message":"The model stream failed"})", headers);
  CHECK(e.status == 424);
  CHECK(e.message == "The model stream failed");
  CHECK(e.code == "ModelStreamErrorException");
  CHECK(e.type == "model_stream_error_exception");
  auto fallback = p->parseErrorResponse(429, R"({"message":"slow down"})", {});
  CHECK(fallback.code == "ThrottlingException");
}
