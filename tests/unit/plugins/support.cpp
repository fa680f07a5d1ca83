#include "support.hpp"

#include <doctest/doctest.h>

#include "config/document.hpp"
#include "config/load.hpp"

namespace aigw::test {

namespace {

std::string document(const std::string& plugins_yaml) {
  return "_format_version: \"3.0\"\nroutes:\n- name: r\n  paths: [/r]\n  plugins:\n" + plugins_yaml;
}

config::EnvLookup noEnv() {
  return [](const std::string&) -> const char* { return nullptr; };
}

}  // namespace

std::string pluginConfigErrors(const std::string& plugins_yaml) {
  auto doc = config::parseDocument(document(plugins_yaml), "test.yaml");
  if (!doc) return doc.error().toString();
  auto built = config::build(doc->value, noEnv());
  if (built) return "";
  auto errors = built.error();
  return errors.toString();
}

net::Task<proxy::LlmResult> ScriptedLlm::chat(const proxy::LlmRequest& request) const {
  requests.push_back(request.body);
  REQUIRE(!answers.empty());
  proxy::LlmResult r = std::move(answers.front());
  answers.pop_front();
  co_return r;
}

Pipeline::Pipeline(const std::string& plugins_yaml) {
  auto doc = config::parseDocument(document(plugins_yaml), "test.yaml");
  REQUIRE(doc);
  auto built = config::build(doc->value, noEnv());
  if (!built) FAIL(built.error().toString());
  config_ = *built;
}

const proxy::Chain& Pipeline::chain() const {
  return config_->route_plugins[0];
}

std::unique_ptr<Pipeline::Run> Pipeline::access(const std::string& body) const {
  auto run = std::make_unique<Run>();
  run->request.method = "POST";
  run->request.path = "/r";
  run->request.body = body;
  run->ctx = std::make_unique<proxy::RequestContext>(run->request, config_);
  run->ctx->route = 0;
  testing::runTask(loop_, [&]() -> net::Task<bool> {
    co_await proxy::runAccess(*run->ctx, chain(), llm);
    co_return true;
  }());
  return run;
}

void Pipeline::response(Run& run, proxy::Reply& reply) const {
  testing::runTask(loop_, [&]() -> net::Task<bool> {
    co_await proxy::runResponse(*run.ctx, chain(), reply, llm);
    co_return true;
  }());
}

}  // namespace aigw::test
