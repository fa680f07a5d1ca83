// ai-prompt-template: rendering with JSON-escaped properties, references, and every 400 with
// Kong's text.
#include <doctest/doctest.h>

#include "core/json.hpp"
#include "plugins/ai_prompt_template.hpp"
#include "support.hpp"

namespace pt = aigw::plugins::prompt_template;
using Json = nlohmann::json;

TEST_CASE("placeholders are split once; values are JSON-escaped; missing ones are listed once") {
  auto t = pt::compile(
      "chat",
      R"({"messages":[{"role":"user","content":"Explain {{thing}} in {{lang}}, {{thing}}!"}]})");
  CHECK(t.placeholders == std::vector<std::string>{"thing", "lang", "thing"});
  const Json props = {{"thing", "lists"}, {"lang", "C++"}};
  auto ok = pt::render(t, &props);
  REQUIRE(ok);
  CHECK(*ok == R"({"messages":[{"role":"user","content":"Explain lists in C++, lists!"}]})");

  // Injection attempt: quotes and newlines stay inside the JSON string.
  const Json evil = {{"thing", "x\"}],\"model\":\"gpt-evil\",\"a\":[{\"b\":\"\n"}, {"lang", "\\"}};
  auto escaped = pt::render(t, &evil);
  REQUIRE(escaped);
  Json parsed;
  REQUIRE(aigw::json::parse(*escaped, parsed));
  CHECK(!parsed.contains("model"));
  CHECK(
      parsed["messages"][0]["content"] ==
      "Explain x\"}],\"model\":\"gpt-evil\",\"a\":[{\"b\":\"\n in \\, x\"}],\"model\":\"gpt-evil\","
      "\"a\":[{\"b\":\"\n!");

  auto missing = pt::render(t, nullptr);
  CHECK(missing.error() == "missing template parameters: [thing], [lang]");
  const Json number = {{"thing", 5}}, boolean = {{"thing", true}}, array = Json::array();
  CHECK(pt::render(t, &number).error() == "property values must be a string, got number");
  CHECK(pt::render(t, &boolean).error() == "property values must be a string, got boolean");
  CHECK(pt::render(t, &array).error() == "properties must be an object");

  // Braces that are no placeholder stay as they are.
  auto literal = pt::compile("l", "{{ not one }} {{a-b}} {{}} {x}");
  CHECK(literal.placeholders.empty());
  CHECK(*pt::render(literal, nullptr) == "{{ not one }} {{a-b}} {{}} {x}");
}

TEST_CASE("a reference is exactly {template://NAME}") {
  CHECK(*pt::referencedName(Json("{template://developer-chat}")) == "developer-chat");
  CHECK(!pt::referencedName(Json("template://x")));
  CHECK(!pt::referencedName(Json(" {template://x}")));
  CHECK(!pt::referencedName(Json::array()));
  CHECK(*pt::referencedName(Json("{template://}")) == "");
}

namespace {
const char* kPlugin = R"(    - name: ai-prompt-template
      config:
        allow_untemplated_requests: %s
        log_original_request: true
        templates:
        - name: developer-chat
          template: |-
            {"messages":[{"role":"system","content":"You are a {{language}} programmer."},{"role":"user","content":"Write a {{program}}."}]}
        - name: completion
          template: '{"prompt":"Summarise: {{text}}"}'
)";

std::string plugin(bool allow_untemplated) {
  char buf[1024];
  std::snprintf(buf, sizeof(buf), kPlugin, allow_untemplated ? "true" : "false");
  return buf;
}

std::string accessError(const aigw::test::Pipeline& p, const std::string& body) {
  auto run = p.access(body);
  return run->ctx->error ? std::to_string(run->ctx->error->status) + " " + run->ctx->error->message
                         : "";
}
}  // namespace

TEST_CASE("the rendered template replaces the whole body; the original is logged when asked") {
  aigw::test::Pipeline p(plugin(true));
  const std::string body =
      R"({"model":"m","messages":"{template://developer-chat}","properties":{"language":"python","program":"flask web server"}})";
  auto run = p.access(body);
  REQUIRE(!run->ctx->error);
  CHECK(
      run->ctx->rawBody() ==
      R"({"messages":[{"role":"system","content":"You are a python programmer."},{"role":"user","content":"Write a flask web server."}]})");
  REQUIRE(run->ctx->ensureBody());
  CHECK(!run->ctx->body.contains("model"));
  CHECK(run->ctx->log_fields["ai"]["payload"]["original_request"] == body);

  auto completion =
      p.access(R"({"prompt":"{template://completion}","properties":{"text":"a\nb"}})");
  CHECK(completion->ctx->rawBody() == R"({"prompt":"Summarise: a\nb"})");

  // Untemplated requests pass untouched when allowed.
  auto plain = p.access(R"({"messages":[{"role":"user","content":"hi"}]})");
  CHECK(!plain->ctx->error);
  CHECK(plain->ctx->rawBody() == R"({"messages":[{"role":"user","content":"hi"}]})");
}

TEST_CASE("every refusal is a 400 with Kong's text") {
  aigw::test::Pipeline strict(plugin(false));
  CHECK(accessError(strict, R"({"messages":[{"role":"user","content":"hi"}]})") ==
        "400 this LLM route only supports templated requests");
  aigw::test::Pipeline p(plugin(true));
  CHECK(accessError(p, R"({"messages":"{template://nope}"})") ==
        "400 could not find template name [nope]");
  CHECK(accessError(
            p, R"({"messages":"{template://developer-chat}","properties":{"language":"go"}})") ==
        "400 missing template parameters: [program]");
  CHECK(accessError(p, R"({"messages":"{template://developer-chat}"})") ==
        "400 missing template parameters: [language], [program]");
  CHECK(accessError(p, "language=go") ==
        "400 this LLM route only supports application/json requests");
  CHECK(accessError(p, R"({"input":"x"})") ==
        "400 only 'llm/v1/chat' and 'llm/v1/completions' formats are supported for templating");
  CHECK(accessError(p, R"({"messages":"{template://completion}","prompt":"x"})") ==
        "400 cannot run 'messages' and 'prompt' templates at the same time");
}

TEST_CASE("config: templates required, names unique") {
  using aigw::test::pluginConfigErrors;
  CHECK(pluginConfigErrors("    - name: ai-prompt-template\n      config: {}\n") ==
        "routes[0].plugins[0].config.templates: required field missing");
  CHECK(pluginConfigErrors("    - name: ai-prompt-template\n      config: {templates: [{name: a, "
                           "template: x}, {name: a, template: y}]}\n") ==
        "routes[0].plugins[0].config.templates[1].name: duplicate template name \"a\"");
  CHECK(pluginConfigErrors(
            "    - name: ai-prompt-template\n      config: {templates: [{name: a}]}\n") ==
        "routes[0].plugins[0].config.templates[0].template: required field missing");
}
