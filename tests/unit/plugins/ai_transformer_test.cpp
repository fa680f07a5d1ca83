// The AI transformers: schema checks, the pure steps (introspection request, extract pattern,
// JSON instructions) and both plugins through the pipeline with scripted LLM answers.
#include <doctest/doctest.h>

#include "core/json.hpp"
#include "plugins/ai_transformer.hpp"
#include "support.hpp"

namespace tf = aigw::plugins::transformer;
using Json = nlohmann::json;

namespace {
const char* kLlm = R"(
        llm:
          route_type: llm/v1/chat
          auth: {header_name: Authorization, header_value: Bearer sk-test}
          model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "http://127.0.0.1:9/v1/chat/completions"}}
)";
}  // namespace

TEST_CASE("the introspection request: prompt as system, content as user, never streamed") {
  CHECK(tf::introspectionRequest("Redact emails", R"({"a":1})") ==
        Json::parse(R"({"messages":[{"role":"system","content":"Redact emails"},)"
                    R"({"role":"user","content":"{\"a\":1}"}],"stream":false})"));
}

TEST_CASE("extract pattern: first whole match, case-insensitive and multi-line as Kong's ijom") {
  auto re = aigw::Regex::compile("^\\{.*\\}$", aigw::RegexOptions{true, true});
  REQUIRE(re);
  std::optional<aigw::Regex> pattern = *re;
  CHECK(*tf::extract(pattern, "Sure! Here it is:\n{\"x\": 1}\nAnything else?") == "{\"x\": 1}");
  auto none = tf::extract(pattern, "no json here");
  REQUIRE(!none);
  CHECK(none.error().status == 400);
  CHECK(none.error().message == "AI response did not match specified regular expression");
  CHECK(*tf::extract(std::nullopt, "as is") == "as is");
}

TEST_CASE("JSON instructions: status, headers, body; defaults; errors") {
  auto full = tf::parseInstructions(
      R"({"status":209,"headers":{"content-type":"application/xml","x-n":3},"body":"<persons/>"})");
  REQUIRE(full);
  CHECK(full->status == 209);
  CHECK(full->headers == std::vector<std::pair<std::string, std::string>>{
                             {"content-type", "application/xml"}, {"x-n", "3"}});
  CHECK(full->body == "<persons/>");
  auto whole = tf::parseInstructions(R"({"name":"x"})");
  REQUIRE(whole);
  CHECK(whole->status == 200);
  CHECK(whole->body == R"({"name":"x"})");
  CHECK(tf::parseInstructions(R"({"body":{"k":[1]}})")->body == R"({"k":[1]})");
  CHECK(!tf::parseInstructions("not json"));
  CHECK(tf::parseInstructions("[1]").error() == "input not table or string");
  CHECK(tf::parseInstructions(R"({"status":"ok"})").error() ==
        "status must be an integer between 100 and 599");
  CHECK(tf::parseInstructions(R"({"headers":[]})").error() == "headers must be an object");
}

TEST_CASE("config: Kong's fields and checks") {
  using aigw::test::pluginConfigErrors;
  CHECK(pluginConfigErrors("    - name: ai-request-transformer\n      config:\n        prompt: p" +
                           std::string(kLlm)) == "");
  CHECK(pluginConfigErrors("    - name: ai-response-transformer\n      config:\n        prompt: p\n"
                           "        parse_llm_response_json_instructions: true\n"
                           "        transformation_extract_pattern: '\\{((.|\\n)*)\\}'\n"
                           "        http_timeout: 5000\n        https_verify: false" +
                           std::string(kLlm)) == "");
  CHECK(pluginConfigErrors("    - name: ai-request-transformer\n      config: {prompt: p}\n") ==
        "routes[0].plugins[0].config.llm: required field missing");
  CHECK(pluginConfigErrors("    - name: ai-request-transformer\n      config:\n"
                           "        parse_llm_response_json_instructions: true" +
                           std::string(kLlm)) ==
        "routes[0].plugins[0].config.parse_llm_response_json_instructions: unknown field\n"
        "routes[0].plugins[0].config.prompt: required field missing");
  std::string embeddings = kLlm;
  embeddings.replace(embeddings.find("llm/v1/chat"), 11, "llm/v1/embeddings");
  CHECK(pluginConfigErrors("    - name: ai-request-transformer\n      config:\n        prompt: p" +
                           embeddings) ==
        "routes[0].plugins[0].config.llm.route_type: 'config.llm.route_type' must be "
        "'llm/v1/chat' for AI transformer plugins");
  CHECK(pluginConfigErrors("    - name: ai-request-transformer\n      config:\n        prompt: p\n"
                           "        transformation_extract_pattern: '(a)\\1'" +
                           std::string(kLlm))
            .rfind("routes[0].plugins[0].config.transformation_extract_pattern: invalid regex "
                   "\"(a)\\1\": back-references",
                   0) == 0);
  CHECK(pluginConfigErrors("    - name: ai-request-transformer\n      config:\n        prompt: p\n"
                           "        http_proxy_host: proxy.local" +
                           std::string(kLlm)) ==
        "routes[0].plugins[0].config: all or none of these fields must be set: "
        "'config.http_proxy_host', 'config.http_proxy_port'");
  CHECK(pluginConfigErrors("    - name: ai-request-transformer\n      config:\n        prompt: p\n"
                           "        https_proxy_host: proxy.local\n        https_proxy_port: 3128" +
                           std::string(kLlm)) ==
        "routes[0].plugins[0].config.https_proxy_host: aigw does not call the LLM through a "
        "forward proxy yet; remove https_proxy_host and https_proxy_port");
}

TEST_CASE("request transformer: the LLM's answer (or its match) becomes the body") {
  aigw::test::Pipeline p(
      "    - name: ai-request-transformer\n      config:\n"
      "        prompt: Add a field\n"
      "        transformation_extract_pattern: '\\{.*\\}'" +
      std::string(kLlm));
  p.llm.answers.push_back(aigw::test::ScriptedLlm::text("Here you go: {\"a\":1,\"b\":2} Bye"));
  auto run = p.access(R"({"a":1})");
  REQUIRE(!run->ctx->error);
  CHECK(run->ctx->rawBody() == R"({"a":1,"b":2})");
  REQUIRE(p.llm.requests.size() == 1);
  CHECK(p.llm.requests[0]["messages"][0]["content"] == "Add a field");
  CHECK(p.llm.requests[0]["messages"][1]["content"] == R"({"a":1})");

  p.llm.answers.push_back(aigw::test::ScriptedLlm::text("nothing"));
  auto no_match = p.access(R"({"a":1})");
  REQUIRE(no_match->ctx->error);
  CHECK(no_match->ctx->error->message == "AI response did not match specified regular expression");

  p.llm.answers.push_back(aigw::proxy::LlmResult::failure(
      aigw::ApiError::badRequest("failed to introspect request with AI service: status code 500")));
  auto failed = p.access(R"({"a":1})");
  REQUIRE(failed->ctx->error);
  CHECK(failed->ctx->error->status == 400);
  CHECK(failed->ctx->error->message ==
        "failed to introspect request with AI service: status code 500");
}

TEST_CASE("response transformer: body replaced, or status and headers from instructions") {
  aigw::test::Pipeline p(
      "    - name: ai-response-transformer\n      config:\n"
      "        prompt: To XML\n"
      "        parse_llm_response_json_instructions: true" +
      std::string(kLlm));
  auto run = p.access("{}");
  REQUIRE(!run->ctx->error);
  aigw::proxy::Reply reply{
      200,
      {{"Content-Type", "application/json"}, {"Content-Length", "9"}, {"X-Upstream", "kept"}},
      R"({"n":"x"})"};
  p.llm.answers.push_back(aigw::test::ScriptedLlm::text(
      R"({"status":209,"headers":{"content-type":"application/xml"},"body":"<n>x</n>"})"));
  p.response(*run, reply);
  REQUIRE(!run->ctx->error);
  CHECK(reply.status == 209);
  CHECK(*reply.header("content-type") == "application/xml");
  CHECK(*reply.header("x-upstream") == "kept");
  CHECK(!reply.header("content-length"));
  CHECK(reply.body == "<n>x</n>");
  CHECK(p.llm.requests.back()["messages"][1]["content"] == R"({"n":"x"})");

  p.llm.answers.push_back(aigw::test::ScriptedLlm::text("not json"));
  p.response(*run, reply);
  REQUIRE(run->ctx->error);
  CHECK(run->ctx->error->status == 500);
  CHECK(run->ctx->error->message.rfind(
            "failed to parse JSON response instructions from AI backend: ", 0) == 0);
}
