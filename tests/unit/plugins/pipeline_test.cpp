// The phase loops: order, short-circuits, a plugin's own answer, LLM-call steps and the
// stream-chunk phase (with the tests-only aigw-test-chunks plugin).
#include <doctest/doctest.h>

#include <cstdlib>

#include "core/json.hpp"
#include "support.hpp"

using Json = nlohmann::json;

namespace {

class Collect : public aigw::providers::ChunkSink {
 public:
  std::vector<std::string> chunks;
  bool emit(std::string_view chunk) override {
    chunks.emplace_back(chunk);
    return true;
  }
};

std::string chunk(const std::string& text) {
  return aigw::json::dump(
      Json{{"choices", Json::array({{{"index", 0}, {"delta", {{"content", text}}}}})}});
}

}  // namespace

TEST_CASE("access runs in Kong's priority order and stops at the first answer") {
  // Template (773) renders, decorator (772) decorates the rendered body, guard (771) checks it.
  aigw::test::Pipeline p(R"(    - name: ai-prompt-guard
      config: {deny_patterns: ["forbidden"]}
    - name: ai-prompt-decorator
      config: {prompts: {append: [{role: user, content: "forbidden words"}]}}
    - name: ai-prompt-template
      config: {templates: [{name: t, template: '{"messages":[{"role":"user","content":"{{q}}"}]}'}]}
)");
  REQUIRE(p.chain().size() == 3);
  CHECK(p.chain()[0]->name == "ai-prompt-template");
  CHECK(p.chain()[2]->name == "ai-prompt-guard");
  auto run = p.access(R"({"messages":"{template://t}","properties":{"q":"hello"}})");
  // The decorator's appended message is what the guard blocks: it saw the decorated body.
  REQUIRE(run->ctx->error);
  CHECK(run->ctx->error->message == "bad request");
  CHECK(run->ctx->access_ran == 3);

  auto stopped = p.access(R"({"messages":"{template://missing}"})");
  REQUIRE(stopped->ctx->error);
  CHECK(stopped->ctx->access_ran == 1);  // the template answered; nothing after it ran
}

TEST_CASE("an LLM call step: the hook resumes with the result, the slots are cleared after") {
  aigw::test::Pipeline p(R"(    - name: ai-request-transformer
      config:
        prompt: p
        llm: {route_type: llm/v1/chat, model: {provider: mock, name: m}}
)");
  p.llm.answers.push_back(aigw::test::ScriptedLlm::text("new body"));
  auto run = p.access("old");
  CHECK(!run->ctx->error);
  CHECK(run->ctx->rawBody() == "new body");
  CHECK(!run->ctx->llm_request);
  CHECK(!run->ctx->llm_result);
}

TEST_CASE("no plugin wants chunks: the chunk phase is not needed (chunks are never parsed)") {
  aigw::test::Pipeline p(R"(    - name: ai-prompt-decorator
      config: {prompts: {append: [{content: "x"}]}}
)");
  auto run = p.access(R"({"messages":[{"role":"user","content":"ok"}]})");
  CHECK(!aigw::proxy::chunkPhaseNeeded(*run->ctx, p.chain()));
}

TEST_CASE("chunk phase: rewrite, drop, end with an error") {
  setenv("AIGW_TEST_PLUGINS", "1", 1);
  aigw::test::Pipeline p(R"(    - name: aigw-test-chunks
      config: {uppercase: true, drop_matching: "skip", end_matching: "stop"}
)");
  unsetenv("AIGW_TEST_PLUGINS");
  auto run = p.access(R"({"prompt":"ok"})");
  REQUIRE(aigw::proxy::chunkPhaseNeeded(*run->ctx, p.chain()));
  Collect out;
  aigw::proxy::ChunkPhase phase(*run->ctx, p.chain(), out);
  CHECK(phase.emit(chunk("hello")));
  CHECK(phase.emit(chunk(" skip me")));
  CHECK(phase.emit(R"({"choices":[]})"));
  CHECK(!phase.emit(chunk(" stop here")));
  CHECK(phase.ended());
  CHECK(!phase.emit(chunk(" after")));
  REQUIRE(out.chunks.size() == 2);
  CHECK(out.chunks[0] == chunk("HELLO"));
  CHECK(out.chunks[1] == R"({"choices":[]})");
  REQUIRE(run->ctx->error);
  CHECK(run->ctx->error->message == "stream ended by aigw-test-chunks");
}

TEST_CASE("the tests-only plugin is unknown without AIGW_TEST_PLUGINS=1") {
  CHECK(aigw::test::pluginConfigErrors("    - name: aigw-test-chunks\n")
            .rfind("routes[0].plugins[0].name: unknown plugin \"aigw-test-chunks\"; available: ",
                   0) == 0);
}
