#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "providers/provider.hpp"
#include "proxy/framing.hpp"

using namespace aigw::providers;
using Json = nlohmann::json;

namespace {

std::string fixture(const std::string& rel) {
  std::ifstream in(std::string(AIGW_FIXTURES_DIR) + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const Provider& raw() {
  ModelOptions o;
  o.llama2_format = "raw";
  return *resolveProvider("llama2", o);
}

struct Collect : ChunkSink {
  std::vector<Json> chunks;
  bool emit(std::string_view c) override {
    chunks.push_back(Json::parse(c));
    return true;
  }
};

ProxyCall call(RouteType type, const Json& body, bool stream = false) {
  ProxyCall c;
  c.route_type = type;
  c.stream = stream;
  c.model = "llama2-7b";
  c.body = &body;
  return c;
}

}  // namespace

TEST_CASE("llama2 raw: the whole conversation in Llama 2's template, TGI parameters") {
  const Json body = Json::parse(fixture("kong/unit/requests/llm-v1-chat.json"));
  Target t{"llama2", "", {}, {}};
  t.options.llama2_format = "raw";
  t.options.upstream_url = "http://tgi:8080/generate";
  t.options.max_tokens = 512;
  t.options.temperature = 0.5;
  auto req = raw().buildRequest(call(RouteType::Chat, body), t);
  REQUIRE(req);
  CHECK(req->url == "http://tgi:8080/generate");
  Json sent = Json::parse(req->body);
  CHECK(sent["inputs"] ==
        "<s>[INST] <<SYS>>\nYou are a mathematician.\n<</SYS>>\n\nWhat is 1 + 2? [/INST] The sum "
        "of 1 + 2 is 3. If you have any "
        "more math questions or if there's anything else I can help you with, feel free to ask! "
        "</s><s>[INST] Multiply "
        "that by 2 [/INST] Certainly! If you multiply 3 by 2, the result is 6. If you have any "
        "more questions or if "
        "there's anything else I can help you with, feel free to ask! </s><s>[INST] Why can't you "
        "divide by zero? [/INST]");
  CHECK(sent["parameters"]["max_new_tokens"] == 512);
  CHECK(sent["parameters"]["temperature"] == 0.5);
  CHECK(sent["parameters"]["stream"] == false);
}

TEST_CASE("llama2 raw: Kong's captured response gives Kong's expected message") {
  std::string up = fixture("kong/unit/real-responses/llama2/raw/llm-v1-chat.json");
  const Json expected =
      Json::parse(fixture("kong/unit/expected-responses/llama2/raw/llm-v1-chat.json"));
  Json body = {{"messages", Json::array()}};
  auto reply = raw().parseResponse(call(RouteType::Chat, body), up, Target{});
  REQUIRE(reply);
  Json out = Json::parse(reply->body);
  CHECK(out["choices"][0]["message"] == expected["choices"][0]["message"]);
  CHECK(out["choices"][0]["finish_reason"] == "stop");
  CHECK(out["usage"]["total_tokens"].is_number());
  std::string tgi =
      R"([{"generated_text":"Hi there","details":{"finish_reason":"length","generated_tokens":2}}])";
  Json t = Json::parse(raw().parseResponse(call(RouteType::Chat, body), tgi, Target{})->body);
  CHECK(t["choices"][0]["finish_reason"] == "length");
  CHECK(t["usage"]["completion_tokens"] == 2);
}

TEST_CASE(
    "llama2 raw: TGI stream events at any split become chunks; special tokens hidden; truncation "
    "detected") {
  const std::string sse =
      "data:{\"index\":1,\"token\":{\"id\":1,\"text\":\"Hel\",\"special\":false},\"generated_"
      "text\":null,\"details\":null}\n\n"
      "data:{\"index\":2,\"token\":{\"id\":2,\"text\":\"lo\",\"special\":false},\"generated_text\":"
      "null,\"details\":null}\n\n"
      "data:{\"index\":3,\"token\":{\"id\":3,\"text\":\"</"
      "s>\",\"special\":true},\"generated_text\":\"Hello\","
      "\"details\":{\"finish_reason\":\"eos_token\",\"generated_tokens\":3}}\n\n";
  Json body = {{"messages", Json::array()}};
  for (std::size_t step = 1; step <= sse.size(); step += 7) {
    auto framer = aigw::proxy::newFramer(Framing::Sse);
    auto dec = raw().newStreamDecoder(call(RouteType::Chat, body, true), Target{});
    Collect out;
    auto cb = [&](std::string_view e, std::string_view d) { return dec->onEvent(e, d, out); };
    for (std::size_t i = 0; i < sse.size(); i += step)
      REQUIRE(framer->feed(std::string_view(sse).substr(i, step), cb));
    REQUIRE(framer->finish(cb));
    REQUIRE(dec->onEnd(out));
    REQUIRE(out.chunks.size() == 3);
    std::string text;
    for (const auto& c : out.chunks) text += c["choices"][0]["delta"].value("content", "");
    CHECK(text == "Hello");
    CHECK(out.chunks[2]["choices"][0]["finish_reason"] == "stop");
    CHECK(out.chunks[2]["usage"]["completion_tokens"] == 3);
  }
  auto dec = raw().newStreamDecoder(call(RouteType::Chat, body, true), Target{});
  Collect out;
  CHECK(dec->onEvent("", R"({"token":{"text":"a"},"generated_text":null})", out));
  CHECK_FALSE(dec->onEnd(out));
}
