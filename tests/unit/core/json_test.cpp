#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/api_error.hpp"
#include "core/json.hpp"

using namespace aigw;

TEST_CASE("parse refuses hostile nesting before it can exhaust a stack") {
  nlohmann::json out;
  std::string err;
  std::string deep(100000, '[');
  CHECK_FALSE(json::parse(deep, out, &err));
  CHECK(err == "JSON nested deeper than 128 levels");
  CHECK(json::parse("{\"a\":\"[[[[[[\"}", out));
  CHECK_FALSE(json::parse("{", out, &err));
  CHECK(err == "not valid JSON");
}

TEST_CASE("isObject: one whole JSON object, validated without building it") {
  CHECK(json::isObject(R"({"choices":[{"delta":{"content":"a}"}}]})"));
  CHECK(json::isObject(" {} "));
  CHECK_FALSE(json::isObject(R"({"choices":[{"delta":{"content":"Hel)"));
  CHECK_FALSE(json::isObject("{not json at all"));
  CHECK_FALSE(json::isObject("[1]"));
  CHECK_FALSE(json::isObject("{} {}"));
  CHECK_FALSE(json::isObject(""));
  CHECK_FALSE(json::isObject("{\"a\":" + std::string(100000, '[')));
}

TEST_CASE("dump never throws on invalid UTF-8") {
  nlohmann::json v = std::string("bad \xff byte");
  CHECK(json::dump(v) == "\"bad \xEF\xBF\xBD byte\"");
}

TEST_CASE("ApiError renders OpenAI's error shape") {
  auto e = ApiError::badRequest("cannot use own model - must be: gpt-4o", "model");
  CHECK(e.status == 400);
  CHECK(
      e.toJson() ==
      R"({"error":{"code":null,"message":"cannot use own model - must be: gpt-4o","param":"model","type":"invalid_request_error"}})");
}

TEST_CASE("isObject agrees with nlohmann's accept() on objects, without its lexer for ASCII") {
  const std::vector<std::string> cases = {
      R"({})",
      R"( { } )",
      R"({"a":1})",
      R"({"a":-0.5e+10,"b":[1,2,{"c":null}],"d":true})",
      R"({"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]})",
      R"({"s":"esc \" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00"})",
      R"({"s":"caf\u00e9","t":"café"})",
      R"({"a":01})",
      R"({"a":1.})",
      R"({"a":.5})",
      R"({"a":1e})",
      R"({"a":-})",
      R"({"a":+1})",
      R"({"a":tru})",
      R"({"a":truex})",
      R"({"a":nul})",
      R"({"a" 1})",
      R"({"a":1,})",
      R"({,})",
      R"({"a":[1,]})",
      R"({"a":[1 2]})",
      R"({"a":"\x"})",
      R"({"a":"\u12g4"})",
      "{\"a\":\"\x01\"}",
      R"({"a":1}x)",
      R"({"a":1} {"b":2})",
      R"({"a":1)",
      R"({"a":"unterminated)",
      R"({1:2})",
      "{\"a\":\"\xff\"}",
      "{\"a\":\"\xc3\xa9\"}",
      "{\"a\":\"\xf0\x9f\x98\x80 \xe2\x82\xac \xef\xbf\xbf \xf4\x8f\xbf\xbf\"}",
      "{\"a\":\"\xc0\xaf\"}",          // overlong
      "{\"a\":\"\xe0\x80\xaf\"}",      // overlong
      "{\"a\":\"\xed\xa0\x80\"}",      // a surrogate, encoded
      "{\"a\":\"\xf4\x90\x80\x80\"}",  // above U+10FFFF
      "{\"a\":\"\xe2\x82\"}",          // cut short
      "{\"a\":\"\x80\"}",              // a lone continuation byte
      "{\"a\":\"\xf5\x80\x80\x80\"}",
      R"({"a":"\uD800"})",
      R"({"a":"\uDC00"})",
      R"({"a":"\uD800\u0041"})",
      R"({"a":"\uD800x"})",
      R"({"a":"\ud83d\ude00"})",
      R"({"a":[[[[]]]]})",
      R"(not json)",
      R"([1,2])",
      R"("string")",
      "",
      "   ",
      R"({"a":1e5,"b":-0,"c":0.0e-0,"d":123456789012345678901234567890})"};
  for (const auto& text : cases) {
    const auto first = text.find_first_not_of(" \t\r\n");
    const bool expected =
        first != std::string::npos && text[first] == '{' && nlohmann::json::accept(text);
    CHECK_MESSAGE(aigw::json::isObject(text) == expected, text);
  }
  // Nesting is bounded as parse() bounds it.
  std::string deep = "{\"a\":";
  for (int i = 0; i < 200; ++i) deep += "[";
  for (int i = 0; i < 200; ++i) deep += "]";
  deep += "}";
  CHECK_FALSE(aigw::json::isObject(deep));
  std::string ok = "{\"a\":";
  for (int i = 0; i < 100; ++i) ok += "[";
  for (int i = 0; i < 100; ++i) ok += "]";
  ok += "}";
  CHECK(aigw::json::isObject(ok));
}

TEST_CASE("scanObject validates and hands over the top-level members in one pass") {
  std::vector<std::pair<std::string, std::string>> seen;
  auto visit = [&](std::string_view key, std::string_view value) {
    seen.emplace_back(std::string(key), std::string(value));
  };
  CHECK(json::scanObject(
      R"( {"choices":[{"delta":{"usage":1}}], "u\u0073age" : {"prompt_tokens":3} ,"n":-1.5e3} )",
      visit));
  REQUIRE(seen.size() == 3);
  CHECK(seen[0] == std::pair<std::string, std::string>{"choices", R"([{"delta":{"usage":1}}])"});
  CHECK(seen[1] == std::pair<std::string, std::string>{"usage", R"({"prompt_tokens":3})"});
  CHECK(seen[2] == std::pair<std::string, std::string>{"n", "-1.5e3"});
  seen.clear();
  CHECK_FALSE(json::scanObject(R"({"a":1,"b":})", visit));
  CHECK_FALSE(json::scanObject(R"([{"a":1}])", visit));
  CHECK_FALSE(json::scanObject("{\"a\":\"\xc0\xaf\"}", visit));
}

TEST_CASE("parse builds the same document nlohmann's own parser builds, or fails as it does") {
  const std::string nested128 = std::string(127, '[') + "{}" + std::string(127, ']');
  const std::string nested129 = std::string(128, '[') + "{}" + std::string(128, ']');
  const std::vector<std::string> cases = {
      R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":64})",
      R"({"a":1,"a":2,"b":{"c":[1,2,3],"c":null}})",  // repeated keys: the last one stays
      R"({"n":[0,-0,1.0,-1.5e-7,1e3,18446744073709551615,9223372036854775807,-9223372036854775808]})",
      R"({"big":123456789012345678901234567890,"inf":1e400})",
      R"({"s":"esc \" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00 café"})",
      R"([true,false,null,"",{}])",
      R"("just a string")",
      R"(  42  )",
      "{\"bad\":\"\xc0\xaf\"}",
      R"({"a":"\uD800"})",
      R"({"a":1,})",
      R"({"a" 1})",
      R"({"a":01})",
      "",
      "{} {}",
      nested128,
      nested129};
  for (const auto& text : cases) {
    CAPTURE(text);
    nlohmann::json ours;
    std::string error;
    const bool parsed = json::parse(text, ours, &error);
    const auto theirs = nlohmann::json::parse(text, nullptr, false);
    const bool too_deep = json::nestingDepth(text) > json::kMaxDepth;
    CHECK(parsed == (!theirs.is_discarded() && !too_deep));
    if (parsed) {
      CHECK(ours == theirs);
      CHECK(json::dump(ours) == json::dump(theirs));
    }
  }
}
