// ai-prompt-decorator: prepend/append around the client's messages, Kong's refusals and
// schema checks.
#include <doctest/doctest.h>

#include "core/json.hpp"
#include "support.hpp"

TEST_CASE("messages are inserted in order; the body is marked edited") {
  aigw::test::Pipeline p(R"(    - name: ai-prompt-decorator
      config:
        prompts:
          prepend: [{content: "Be brief."}, {role: user, content: "Context"}]
          append: [{role: assistant, content: "Done?"}]
)");
  auto run = p.access(R"({"messages":[{"role":"user","content":"hi"}],"model":"m"})");
  REQUIRE(!run->ctx->error);
  CHECK(run->ctx->body_edited);
  CHECK(
      run->ctx->upstreamBody() ==
      R"({"messages":[{"content":"Be brief.","role":"system"},{"content":"Context","role":"user"},)"
      R"({"content":"hi","role":"user"},{"content":"Done?","role":"assistant"}],"model":"m"})");

  auto not_chat = p.access(R"({"prompt":"x"})");
  REQUIRE(not_chat->ctx->error);
  CHECK(not_chat->ctx->error->message == "this LLM route only supports llm/chat type requests");
  auto empty = p.access(R"({"messages":[]})");
  REQUIRE(empty->ctx->error);
  CHECK(empty->ctx->error->message == "this LLM route only supports llm/chat type requests");
  auto text = p.access("hello");
  REQUIRE(text->ctx->error);
  CHECK(text->ctx->error->message == "this LLM route only supports application/json requests");
}

TEST_CASE("config errors with Kong's texts") {
  using aigw::test::pluginConfigErrors;
  CHECK(pluginConfigErrors("    - name: ai-prompt-decorator\n      config: {prompts: {}}\n") ==
        "routes[0].plugins[0].config.prompts: at least one of these fields must be non-empty: "
        "'config.prompts.prepend', 'config.prompts.append'");
  CHECK(pluginConfigErrors("    - name: ai-prompt-decorator\n      config: {prompts: {append: "
                           "[{role: user, content: \"\"}]}}\n") ==
        "routes[0].plugins[0].config.prompts.append[0].content: length must be at least 1");
  CHECK(pluginConfigErrors("    - name: ai-prompt-decorator\n      config: {prompts: {append: "
                           "[{role: tool, content: x}]}}\n")
            .find("config.prompts.append[0].role: invalid value \"tool\"; expected one of: "
                  "system, assistant, user") != std::string::npos);
}
