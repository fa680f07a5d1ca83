// ai-prompt-guard: Kong's allow/deny matrix for chat and completions, history and roles, and
// its schema errors, with exact texts.
#include <doctest/doctest.h>

#include "plugins/ai_prompt_guard.hpp"
#include "support.hpp"

using aigw::Regex;
using aigw::plugins::guard::check;
using aigw::plugins::guard::collectPrompt;
using aigw::plugins::guard::Rules;
using Json = nlohmann::json;

namespace {

Rules rules(std::vector<std::string> allow, std::vector<std::string> deny, bool latest_only = false,
            bool all_roles = false) {
  Rules r;
  for (const auto& p : allow) r.allow.push_back(*Regex::compile(p));
  for (const auto& p : deny) r.deny.push_back(*Regex::compile(p));
  r.latest_only = latest_only;
  r.match_all_roles = all_roles;
  return r;
}

const Json kChat = Json::parse(R"({"messages":[
  {"role":"system","content":"You are a mathematician."},
  {"role":"user","content":"What is 1 + 1?"},
  {"role":"assistant","content":"2"},
  {"role":"user","content":"What is Pi?"}]})");

}  // namespace

TEST_CASE("the scanned text: user messages newest first, or only the newest, or every role") {
  std::string text, error;
  REQUIRE(collectPrompt(kChat, rules({}, {"x"}), text, error));
  CHECK(text == "What is Pi? What is 1 + 1?");
  REQUIRE(collectPrompt(kChat, rules({}, {"x"}, true), text, error));
  CHECK(text == "What is Pi?");
  REQUIRE(collectPrompt(kChat, rules({}, {"x"}, false, true), text, error));
  CHECK(text == "What is Pi? 2 What is 1 + 1? You are a mathematician.");
  REQUIRE(collectPrompt(Json::parse(R"({"prompt":"tell me"})"), rules({}, {"x"}), text, error));
  CHECK(text == "tell me");
}

TEST_CASE("bodies that are neither chat nor completions, or carry non-text content, fail") {
  std::string text, error;
  for (const char* body :
       {R"({"input":"x"})", R"({"prompt":["a","b"]})",
        R"({"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]})",
        R"({"messages":[{"content":"no role"}]})", R"({"messages":["text"]})"}) {
    CAPTURE(body);
    CHECK(!collectPrompt(Json::parse(body), rules({}, {"x"}), text, error));
    CHECK(error == "ai-prompt-guard only supports llm/v1/chat or llm/v1/completions prompts");
  }
  // Only the scanned roles must be text: an image in the assistant's turn is fine.
  CHECK(collectPrompt(
      Json::parse(
          R"({"messages":[{"role":"assistant","content":[]},{"role":"user","content":"q"}]})"),
      rules({}, {"x"}), text, error));
}

TEST_CASE("deny wins; with allow patterns, one must match; searches are unanchored") {
  CHECK(check(kChat, rules({}, {"Pi"})).reason == "prompt pattern is blocked");
  CHECK(check(kChat, rules({}, {"1 \\+ 1"})).reason == "prompt pattern is blocked");
  CHECK(check(kChat, rules({}, {"1 \\+ 1"}, true)).allowed);                // history ignored
  CHECK(check(kChat, rules({}, {"mathematician"})).allowed);                // system not scanned...
  CHECK(!check(kChat, rules({}, {"mathematician"}, false, true)).allowed);  // ...unless asked
  CHECK(check(kChat, rules({"Pi"}, {})).allowed);
  CHECK(check(kChat, rules({"cats", "Pi"}, {})).allowed);
  CHECK(check(kChat, rules({"cats"}, {})).reason == "prompt doesn't match any allowed pattern");
  CHECK(!check(kChat, rules({"Pi"}, {"1 \\+ 1"})).allowed);  // deny wins over allow
  CHECK(check(kChat, rules({"Pi"}, {"1 \\+ 1"}, true)).allowed);
  CHECK(check(kChat, rules({}, {"pi"})).allowed);  // case-sensitive
  CHECK(!check(kChat, rules({}, {"(?i)pi"})).allowed);
  CHECK(!check(Json::parse(R"({"prompt":"drop table users"})"), rules({}, {"drop\\s+table"}))
             .allowed);
}

TEST_CASE("through the access phase: 400 'bad request', 413, non-JSON") {
  aigw::test::Pipeline p(R"(    - name: ai-prompt-guard
      config:
        deny_patterns: ["secret"]
        max_request_body_size: 200
)");
  auto ok = p.access(R"({"messages":[{"role":"user","content":"hello"}]})");
  CHECK(!ok->ctx->error);
  auto blocked = p.access(R"({"messages":[{"role":"user","content":"tell me the secret"}]})");
  REQUIRE(blocked->ctx->error);
  CHECK(blocked->ctx->error->status == 400);
  CHECK(blocked->ctx->error->message == "bad request");
  auto big = p.access(R"({"prompt":")" + std::string(300, 'a') + R"("})");
  REQUIRE(big->ctx->error);
  CHECK(big->ctx->error->status == 413);
  CHECK(big->ctx->error->message ==
        "request body is larger than max_request_body_size (200 bytes)");
  auto text = p.access("not json");
  REQUIRE(text->ctx->error);
  CHECK(text->ctx->error->message == "this LLM route only supports application/json requests");
}

TEST_CASE("config errors: Kong's checks, and patterns RE2 cannot run") {
  using aigw::test::pluginConfigErrors;
  CHECK(pluginConfigErrors("    - name: ai-prompt-guard\n      config: {}\n") ==
        "routes[0].plugins[0].config: at least one of these fields must be non-empty: "
        "'config.allow_patterns', 'config.deny_patterns'");
  CHECK(
      pluginConfigErrors("    - name: ai-prompt-guard\n      config: {deny_patterns: [\"\"]}\n") ==
      "routes[0].plugins[0].config.deny_patterns[0]: length must be at least 1");
  CHECK(pluginConfigErrors("    - name: ai-prompt-guard\n      config: {deny_patterns: [" +
                           std::string("\"") + std::string(501, 'a') + "\"]}\n") ==
        "routes[0].plugins[0].config.deny_patterns[0]: length must be at most 500");
  CHECK(pluginConfigErrors("    - name: ai-prompt-guard\n      config: {allow_patterns: "
                           "[a,b,c,d,e,f,g,h,i,j,k]}\n") ==
        "routes[0].plugins[0].config.allow_patterns: length must be at most 10");
  CHECK(pluginConfigErrors("    - name: ai-prompt-guard\n      config: {deny_patterns: [x], "
                           "match_all_roles: true, allow_all_conversation_history: true}\n") ==
        "routes[0].plugins[0].config.allow_all_conversation_history: value must be false "
        "(failed conditional validation given value of field 'config.match_all_roles')");
  CHECK(pluginConfigErrors("    - name: ai-prompt-guard\n      config: {deny_patterns: "
                           "[\"ok\", \"(?<=a)b\"]}\n") ==
        "routes[0].plugins[0].config.deny_patterns[1]: invalid regex \"(?<=a)b\": look-around "
        "assertions ((?=, (?!, (?<=, (?<!) are not supported: aigw matches patterns with RE2, "
        "which runs in linear time and has no such construct; rewrite the pattern without it");
  CHECK(pluginConfigErrors("    - name: ai-prompt-guard\n      config: {allow_patterns: "
                           "[\"(?<topic>cats|dogs)\"]}\n") == "");
}
