// Cohere v1 (chosen by an upstream_url at /v1/...): Kong's request, response and stream
// fixtures, with the places where we differ from Kong on purpose.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "providers/cohere.hpp"
#include "providers/provider.hpp"
#include "proxy/framing.hpp"

using namespace aigw::providers;
using Json = nlohmann::json;

namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Json readJson(const std::string& path) {
  return Json::parse(readFile(path));
}

Target v1Target(const std::string& path = "/v1/chat") {
  Target t;
  t.provider = "cohere";
  t.model = "command";
  t.options.upstream_url = "https://api.cohere.com" + path;
  return t;
}

const Provider& v1() {
  const Provider* p = resolveProvider("cohere", v1Target().options);
  REQUIRE(p);
  return *p;
}

ProxyCall call(RouteType type, const Json& body, bool stream = false) {
  ProxyCall c;
  c.route_type = type;
  c.stream = stream;
  c.model = "command";
  c.body = &body;
  return c;
}

Json sent(const Json& body, const Target& t, RouteType type = RouteType::Chat) {
  auto req = v1().buildRequest(call(type, body), t);
  REQUIRE_MESSAGE(req, (req ? "" : req.error().message));
  CHECK(req->url == t.options.upstream_url);
  return Json::parse(req->body);
}

Json parsed(const std::string& upstream, RouteType type) {
  const Json body = {{"messages", Json::array({{{"role", "user"}, {"content", "x"}}})}};
  std::string raw = upstream;
  auto reply = v1().parseResponse(call(type, body), raw, v1Target());
  REQUIRE_MESSAGE(reply, (reply ? "" : reply.error().message));
  return Json::parse(reply->body);
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
};

StreamRun runStream(const std::string& text, std::size_t step, RouteType type = RouteType::Chat) {
  const Json body = {{"messages", Json::array()}};
  auto decoder = v1().newStreamDecoder(call(type, body, true), v1Target());
  auto framer = aigw::proxy::newFramer(v1().framing(v1Target()));
  Collect out;
  StreamRun run;
  auto on_event = [&](std::string_view e, std::string_view d) {
    return decoder->onEvent(e, d, out);
  };
  for (std::size_t i = 0; i < text.size() && run.status; i += step)
    run.status = framer->feed(std::string_view(text).substr(i, step), on_event);
  if (run.status) run.status = framer->finish(on_event);
  if (run.status) run.status = decoder->onEnd(out);
  for (auto& c : out.chunks) c.erase("created");
  run.chunks = std::move(out.chunks);
  run.usage = decoder->usage();
  return run;
}

std::string streamedText(const StreamRun& run) {
  std::string text;
  for (const auto& c : run.chunks)
    for (const auto& choice : c["choices"]) {
      if (choice.contains("delta") && choice["delta"].contains("content"))
        text += choice["delta"]["content"].get<std::string>();
      if (choice.contains("text")) text += choice["text"].get<std::string>();
    }
  return text;
}

}  // namespace

TEST_CASE("cohere v1: chosen by upstream_url at load time; v2 otherwise") {
  CHECK(v1().framing(v1Target()) == Framing::NdJson);
  for (const char* path : {"/v1/chat", "/v1/generate", "/v1/embed"}) {
    CAPTURE(path);
    CHECK(cohere::isV1Url(std::string("https://x") + path));
    CHECK(resolveProvider("cohere", v1Target(path).options) == &v1());
  }
  ModelOptions v2;
  CHECK(resolveProvider("cohere", v2) == findProvider("cohere"));
  v2.upstream_url = "http://127.0.0.1:1/v2/chat";
  CHECK(resolveProvider("cohere", v2) == findProvider("cohere"));
  CHECK(findProvider("cohere")->framing(Target{}) == Framing::Sse);
}

TEST_CASE("cohere v1: Kong's chat request, except that system becomes the preamble") {
  Target t = v1Target();
  t.options.max_tokens = 512;
  t.options.temperature = 0.5;
  t.options.top_p = 1.0;
  const Json out = sent(readJson(AIGW_FIXTURES_DIR "/kong/unit/requests/llm-v1-chat.json"), t);
  Json expected =
      readJson(AIGW_FIXTURES_DIR "/kong/unit/expected-requests/cohere/llm-v1-chat.json");
  // Kong sends the system message as a USER turn; v1 has a preamble for it.
  CHECK(expected["chat_history"][0]["message"] == "You are a mathematician.");
  expected["chat_history"].erase(0);
  expected["preamble"] = "You are a mathematician.";
  CHECK(out == expected);
}

TEST_CASE("cohere v1: Kong's completions request -> /v1/generate body") {
  Target t = v1Target("/v1/generate");
  t.options.max_tokens = 512;
  t.options.temperature = 0.5;
  t.options.top_p = 0.75;
  t.options.top_k = 5;
  const Json out = sent(readJson(AIGW_FIXTURES_DIR "/kong/unit/requests/llm-v1-completions.json"),
                        t, RouteType::Completions);
  CHECK(out ==
        readJson(AIGW_FIXTURES_DIR "/kong/unit/expected-requests/cohere/llm-v1-completions.json"));
}

TEST_CASE("cohere v1: tools, images and a last turn not from the user are 400s") {
  const Json tools = {{"messages", {{{"role", "user"}, {"content", "x"}}}},
                      {"tools", {{{"type", "function"}, {"function", {{"name", "f"}}}}}}};
  auto e = v1().buildRequest(call(RouteType::Chat, tools), v1Target());
  REQUIRE_FALSE(e);
  CHECK(e.error().param == "tools");
  CHECK(e.error().message == "tools need Cohere's v2 API; point upstream_url at /v2/chat");
  const Json image = {
      {"messages",
       {{{"role", "user"},
         {"content", {{{"type", "image_url"}, {"image_url", {{"url", "https://x"}}}}}}}}}};
  CHECK(v1().buildRequest(call(RouteType::Chat, image), v1Target()).error().param ==
        "messages[0].content[0].type");
  const Json last = {
      {"messages",
       {{{"role", "user"}, {"content", "x"}}, {{"role", "assistant"}, {"content", "y"}}}}};
  CHECK(v1().buildRequest(call(RouteType::Chat, last), v1Target()).error().message ==
        "the cohere v1 API needs the last message to be from the user");
}

TEST_CASE("cohere v1: Kong's response fixtures -> OpenAI chat and text_completion") {
  const Json chat =
      parsed(readFile(AIGW_FIXTURES_DIR "/kong/unit/real-responses/cohere/llm-v1-chat.json"),
             RouteType::Chat);
  const Json expected =
      readJson(AIGW_FIXTURES_DIR "/kong/unit/expected-responses/cohere/llm-v1-chat.json");
  for (const char* key : {"id", "model", "object"}) {
    CAPTURE(key);
    CHECK(chat[key] == expected[key]);
  }
  // Usage from meta.billed_units (what Cohere bills; Kong's chat transformer reads it too);
  // this older expected fixture still carries token_count's 102 prompt tokens.
  CHECK(chat["usage"] ==
        Json{{"prompt_tokens", 81}, {"completion_tokens", 258}, {"total_tokens", 339}});
  CHECK(chat["choices"][0]["message"] == expected["choices"][0]["message"]);
  CHECK(chat["choices"][0]["finish_reason"] == "stop");  // no finish_reason in the fixture

  const Json gen =
      parsed(readFile(AIGW_FIXTURES_DIR "/kong/unit/real-responses/cohere/llm-v1-completions.json"),
             RouteType::Completions);
  const Json gen_expected =
      readJson(AIGW_FIXTURES_DIR "/kong/unit/expected-responses/cohere/llm-v1-completions.json");
  for (const char* key : {"id", "model", "object", "usage"}) {
    CAPTURE(key);
    CHECK(gen[key] == gen_expected[key]);
  }
  CHECK(gen["choices"][0]["text"] == gen_expected["choices"][0]["text"]);
  CHECK(gen["choices"][0]["finish_reason"] == "length");  // MAX_TOKENS; Kong says "stop"

  const Json good = parsed(
      readFile(AIGW_FIXTURES_DIR "/kong/cohere/llm-v1-chat/responses/good.json"), RouteType::Chat);
  CHECK(good["choices"][0]["message"]["content"] == "The sum of 1 + 1 is 2.");
  CHECK(good["id"] == "3fa85f64-5717-4562-b3fc-2c963f66afa6");
  std::string bad =
      readFile(AIGW_FIXTURES_DIR "/kong/cohere/llm-v1-chat/responses/bad_upstream_response.json");
  const Json body = {{"messages", Json::array()}};
  CHECK(v1().parseResponse(call(RouteType::Chat, body), bad, v1Target()).error().status == 502);
}

TEST_CASE(
    "cohere v1: Kong's NDJSON stream gives the same chunks for every split, usage from "
    "meta.billed_units") {
  const std::string text = readFile(
      AIGW_FIXTURES_DIR "/kong/_extracted/streaming-spec-mocks/cohere-chat-good.stream.txt");
  REQUIRE(!text.empty());
  const StreamRun whole = runStream(text, text.size());
  REQUIRE(whole.status);
  for (std::size_t step = 1; step < text.size(); ++step) {
    CAPTURE(step);
    const StreamRun run = runStream(text, step);
    CHECK(run.chunks == whole.chunks);
    CHECK(run.status.ok());
  }
  CHECK(streamedText(whole) == "1 + 1 = 2. This is the most basic example of addition.");
  REQUIRE(whole.chunks.size() == 17);  // role, 15 text pieces, final
  for (const auto& c : whole.chunks) {
    CHECK(c["id"] == "3f41d0ea-0d9c-4ecd-990a-88ba46ede663");
    CHECK(c["object"] == "chat.completion.chunk");
    CHECK(c["model"] == "command");
  }
  CHECK(whole.chunks.back()["choices"][0]["finish_reason"] == "stop");
  CHECK(whole.chunks.back()["usage"] ==
        Json{{"prompt_tokens", 57}, {"completion_tokens", 123}, {"total_tokens", 180}});

  const auto end = text.find("{\"is_finished\":true");
  REQUIRE(end != std::string::npos);
  CHECK(runStream(text.substr(0, end), 7).status.message() ==
        "upstream cohere stream ended before stream-end; the answer is incomplete");
  const StreamRun gen = runStream(
      readFile(AIGW_FIXTURES_DIR "/kong/unit/real-stream-frames/cohere/llm-v1-completions.txt") +
          R"({"is_finished":true,"finish_reason":"COMPLETE","response":{"meta":{"billed_units":{"input_tokens":2,"output_tokens":2}}}})"
          "\n",
      5, RouteType::Completions);
  REQUIRE(gen.status);
  CHECK(streamedText(gen) == "the answer");
  CHECK(gen.chunks.front()["object"] == "text_completion");
  CHECK(gen.usage.prompt_tokens == 2);
}
