#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

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
