// Hugging Face: the router's OpenAI chat route (with TGI's finish reasons and missing roles
// normalised, unlike Kong), text-generation for completions, feature-extraction for embeddings,
// the use_cache / wait_for_model headers, errors and streams (Kong's fixtures where they exist).
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "providers/provider.hpp"
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

std::string fixture(const std::string& rel) {
  return readFile(std::string(AIGW_FIXTURES_DIR) + "/kong/huggingface/" + rel);
}

const Provider& hf() {
  const Provider* p = findProvider("huggingface");
  REQUIRE(p);
  return *p;
}

ProxyCall call(const Json& body, RouteType type = RouteType::Chat, bool stream = false) {
  ProxyCall c;
  c.route_type = type;
  c.stream = stream;
  c.model = "mistralai/Mistral-7B-Instruct-v0.2";
  c.body = &body;
  return c;
}

Target target() {
  Target t;
  t.provider = "huggingface";
  return t;
}

std::string header(const aigw::http::UpstreamRequest& r, std::string_view name) {
  for (const auto& h : r.headers)
    if (h.name == name) return h.value;
  return "<none>";
}

}  // namespace

TEST_CASE("huggingface: chat goes to the router's OpenAI route; options become headers") {
  const Json body = Json::parse(fixture("llm-v1-chat/requests/good.json"));
  Target t = target();
  t.options.max_tokens = 256;
  auto req = hf().buildRequest(call(body), t);
  REQUIRE(req);
  CHECK(req->url == "https://router.huggingface.co/v1/chat/completions");
  const Json sent = Json::parse(req->body);
  CHECK(sent["model"] == "mistralai/Mistral-7B-Instruct-v0.2");
  CHECK(sent["messages"] == body["messages"]);
  CHECK(sent["max_tokens"] == 256);
  CHECK(header(*req, "x-use-cache") == "<none>");

  t.options.blocks["huggingface"] = {{"use_cache", false}, {"wait_for_model", true}};
  req = hf().buildRequest(call(body, RouteType::Chat, true), t);
  REQUIRE(req);
  CHECK(header(*req, "x-use-cache") == "false");
  CHECK(header(*req, "x-wait-for-model") == "true");
  CHECK(Json::parse(req->body)["stream_options"]["include_usage"] == true);

  t.options.upstream_url = "http://tgi.internal:8080/v1/chat/completions";
  CHECK(hf().buildRequest(call(body), t)->url == "http://tgi.internal:8080/v1/chat/completions");
}

TEST_CASE("huggingface: chat answers are normalised (TGI's eos_token, no role, empty id)") {
  const Json body = Json::object();
  std::string raw = fixture("llm-v1-chat/responses/good.json");
  auto reply = hf().parseResponse(call(body), raw, target());
  REQUIRE(reply);
  const Json out = Json::parse(reply->body);
  CHECK(out["choices"][0]["finish_reason"] == "stop");  // was "eos_token"
  CHECK(out["choices"][0]["message"]["role"] == "assistant");
  CHECK(out["choices"][0]["message"]["content"].get<std::string>().rfind(" The sum of 1 + 1 is 2.",
                                                                         0) == 0);
  CHECK(out["id"].get<std::string>().rfind("chatcmpl-", 0) == 0);  // was ""
  CHECK(out["usage"]["total_tokens"] == 66);
  CHECK(reply->usage.prompt_tokens == 26);

  std::string no_role = R"({"id":"x","choices":[{"index":0,"message":{"content":"hi"},
    "finish_reason":"complete"},{"index":1,"message":{"role":"assistant","content":null,
    "tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},
    "finish_reason":"eos_token"},{"index":2,"message":{"content":"x"},"finish_reason":"length"}]})";
  const Json fixed = Json::parse(hf().parseResponse(call(body), no_role, target())->body);
  CHECK(fixed["choices"][0]["message"]["role"] == "assistant");
  CHECK(fixed["choices"][0]["finish_reason"] == "stop");
  CHECK(fixed["choices"][1]["finish_reason"] == "tool_calls");
  CHECK(fixed["choices"][2]["finish_reason"] == "length");
  CHECK(fixed["id"] == "x");
  CHECK(fixed["usage"] ==
        Json::parse(R"({"prompt_tokens":0,"completion_tokens":0,"total_tokens":0})"));

  std::string bad = R"({"object":"x"})";
  CHECK(hf().parseResponse(call(body), bad, target()).error().status == 502);
}

TEST_CASE("huggingface: completions use text-generation on hf-inference") {
  const Json body = Json::parse(R"({"prompt":"What are you?","max_tokens":20,"stop":"\n"})");
  Target t = target();
  t.options.temperature = 0.2;
  t.options.top_k = 5;
  t.options.blocks["huggingface"] = {{"use_cache", true}, {"wait_for_model", false}};
  auto req = hf().buildRequest(call(body, RouteType::Completions), t);
  REQUIRE(req);
  CHECK(req->url ==
        "https://router.huggingface.co/hf-inference/models/mistralai/Mistral-7B-Instruct-v0.2");
  CHECK(Json::parse(req->body) == Json::parse(R"({"inputs":"What are you?",
    "parameters":{"max_new_tokens":20,"temperature":0.2,"top_k":5,"stop":["\n"],
      "return_full_text":false,"details":true},
    "options":{"use_cache":true,"wait_for_model":false}})"));
  CHECK(header(*req, "x-use-cache") == "true");

  std::string raw = fixture("llm-v1-completions/responses/good.json");
  auto reply = hf().parseResponse(call(body, RouteType::Completions), raw, t);
  REQUIRE(reply);
  const Json out = Json::parse(reply->body);
  CHECK(out["object"] == "text_completion");
  CHECK(out["choices"][0]["text"] == "I am a language model AI created by Mistral AI");
  CHECK(out["choices"][0]["finish_reason"] == "stop");
  CHECK(out["model"] == "mistralai/Mistral-7B-Instruct-v0.2");

  std::string detailed =
      R"([{"generated_text":"abc","details":{"finish_reason":"length","generated_tokens":20}}])";
  const Json d =
      Json::parse(hf().parseResponse(call(body, RouteType::Completions), detailed, t)->body);
  CHECK(d["choices"][0]["finish_reason"] == "length");
  CHECK(d["usage"]["completion_tokens"] == 20);

  const Json bad_model = Json::parse(R"({"prompt":"x"})");
  ProxyCall c = call(bad_model, RouteType::Completions);
  c.model = "../../admin?x";
  CHECK(hf().buildRequest(c, t).error().param == "model");
}

TEST_CASE("huggingface: embeddings use feature-extraction; one vector per input") {
  const Json body = Json::parse(R"({"input":["a","b"]})");
  auto req = hf().buildRequest(call(body, RouteType::Embeddings), target());
  REQUIRE(req);
  CHECK(req->url ==
        "https://router.huggingface.co/hf-inference/models/mistralai/Mistral-7B-Instruct-v0.2/"
        "pipeline/feature-extraction");
  CHECK(Json::parse(req->body) == Json::parse(R"({"inputs":["a","b"]})"));
  std::string raw = "[[0.1,0.2],[0.3,0.4]]";
  const Json out =
      Json::parse(hf().parseResponse(call(body, RouteType::Embeddings), raw, target())->body);
  CHECK(out["object"] == "list");
  CHECK(out["data"][1] == Json::parse(R"({"object":"embedding","index":1,"embedding":[0.3,0.4]})"));
  std::string flat = "[0.5,0.6]";
  CHECK(Json::parse(hf().parseResponse(call(body, RouteType::Embeddings), flat, target())
                        ->body)["data"][0]["embedding"] == Json::parse("[0.5,0.6]"));
  std::string tokens = "[[[0.1],[0.2]]]";
  CHECK(hf().parseResponse(call(body, RouteType::Embeddings), tokens, target()).error().status ==
        502);
  const Json ids = Json::parse(R"({"input":[[1,2,3]]})");
  CHECK(hf().buildRequest(call(ids, RouteType::Embeddings), target()).error().param == "input");
}

TEST_CASE("huggingface: errors keep their status and message (Kong's fixtures)") {
  auto e = hf().parseError(401, fixture("llm-v1-chat/responses/unauthorized.json"));
  CHECK(e.status == 401);
  CHECK(e.message == "Authorization header is correct, but the token seems invalid");
  e = hf().parseError(503, fixture("llm-v1-chat/responses/bad_response_model_load.json"));
  CHECK(e.status == 503);
  CHECK(e.message == "Model mistralai/Mistral-7B-Instruct-v0.2 is currently loading");
  e = hf().parseError(400, fixture("llm-v1-chat/responses/bad_request.json"));
  CHECK(e.message == "Template error: undefined value (in <string>:1)");
  CHECK(e.type == "template_error");
  e = hf().parseError(422, fixture("llm-v1-completions/responses/bad_request.json"));
  CHECK(e.message ==
        "Failed to deserialize the JSON body into the target type: missing field `inputs` at line "
        "9 column 7");
}

namespace {

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
};

StreamRun runSse(const std::string& sse, RouteType type, bool wants_usage = false) {
  const Json body = Json::object();
  ProxyCall c = call(body, type, true);
  c.client_wants_usage = wants_usage;
  auto decoder = hf().newStreamDecoder(c, target());
  auto framer = aigw::proxy::newFramer(hf().framing(target()));
  Collect out;
  auto cb = [&](std::string_view e, std::string_view d) { return decoder->onEvent(e, d, out); };
  StreamRun run;
  for (std::size_t i = 0; run.status && i < sse.size(); i += 3)
    run.status = framer->feed(std::string_view(sse).substr(i, 3), cb);
  if (run.status) run.status = framer->finish(cb);
  if (run.status) run.status = decoder->onEnd(out);
  run.chunks = std::move(out.chunks);
  return run;
}

}  // namespace

TEST_CASE("huggingface stream: chat chunks normalised; usage chunk only when asked; [DONE]") {
  const std::string sse =
      "data: {\"id\":\"\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
      "\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n"
      "data: "
      "{\"id\":\"\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"eos_token\"}]}\n\n"
      "data: {\"id\":\"\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,"
      "\"total_tokens\":4}}\n\n"
      "data: [DONE]\n\n";
  StreamRun run = runSse(sse, RouteType::Chat);
  REQUIRE(run.status);
  REQUIRE(run.chunks.size() == 2);
  CHECK(run.chunks[1]["choices"][0]["finish_reason"] == "stop");
  CHECK(run.chunks[0]["id"] == run.chunks[1]["id"]);
  CHECK(run.chunks[0]["id"].get<std::string>().rfind("chatcmpl-", 0) == 0);
  CHECK(runSse(sse, RouteType::Chat, true).chunks.size() == 3);

  StreamRun cut = runSse(sse.substr(0, sse.find("data: [DONE]")), RouteType::Chat);
  CHECK(cut.status.message() == "upstream stream ended before [DONE]; the answer is incomplete");
  StreamRun err = runSse("data: {\"error\":\"Input validation error\"}\n\n", RouteType::Chat);
  CHECK(err.status.message() == "upstream error mid-stream: Input validation error");
}

TEST_CASE("huggingface stream: text-generation tokens become text_completion chunks") {
  const std::string sse =
      "data:{\"index\":1,\"token\":{\"id\":1,\"text\":\"Hello\",\"logprob\":-0.1,\"special\":false}"
      ","
      "\"generated_text\":null,\"details\":null}\n\n"
      "data:{\"index\":2,\"token\":{\"id\":2,\"text\":\" "
      "world\",\"logprob\":-0.1,\"special\":false},"
      "\"generated_text\":null,\"details\":null}\n\n"
      "data:{\"index\":3,\"token\":{\"id\":3,\"text\":\"</s>\",\"logprob\":-0.1,\"special\":true},"
      "\"generated_text\":\"Hello world\",\"details\":{\"finish_reason\":\"eos_token\","
      "\"generated_tokens\":3}}\n\n";
  StreamRun run = runSse(sse, RouteType::Completions);
  REQUIRE(run.status);
  REQUIRE(run.chunks.size() == 3);
  CHECK(run.chunks[0]["object"] == "text_completion");
  CHECK(run.chunks[0]["choices"][0]["text"] == "Hello");
  CHECK(run.chunks[2]["choices"][0]["text"] == "");  // the special </s> is not text
  CHECK(run.chunks[2]["choices"][0]["finish_reason"] == "stop");
  CHECK(run.chunks[2]["usage"]["completion_tokens"] == 3);
  CHECK(runSse(sse.substr(0, sse.rfind("data:")), RouteType::Completions).status.message() ==
        "upstream huggingface stream ended before the final event; the answer is incomplete");
}
