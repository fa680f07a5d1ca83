// Helpers for plugin units: build a config with one route and the plugins under test, run the
// pipeline's phases on a request, and answer LLM calls from a script instead of the network.
#pragma once

#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "proxy/llm_call.hpp"
#include "proxy/pipeline.hpp"
#include "proxy/request_context.hpp"
#include "support/sync_upstream.hpp"

namespace aigw::test {

// Loads a decK document whose one route (/r) carries `plugins_yaml` (a YAML list, indented
// by 4); returns the errors' text, "" when it loads.
std::string pluginConfigErrors(const std::string& plugins_yaml);

// Answers LLM calls in order from a list of results, and remembers the requests.
class ScriptedLlm : public proxy::LlmCaller {
 public:
  mutable std::deque<proxy::LlmResult> answers;
  mutable std::vector<nlohmann::json> requests;
  net::Task<proxy::LlmResult> chat(const proxy::LlmRequest& request) const override;
  static proxy::LlmResult text(std::string t) { return proxy::LlmAnswer{std::move(t), {}}; }
};

// One route's chain built from `plugins_yaml`, and requests run through it.
class Pipeline {
 public:
  explicit Pipeline(const std::string& plugins_yaml);
  const proxy::Chain& chain() const;

  struct Run {
    http::Request request;
    std::unique_ptr<proxy::RequestContext> ctx;
  };
  // Runs the access phase on a POST /r with this body.
  std::unique_ptr<Run> access(const std::string& body) const;
  // Runs the response phase on `reply`, for a request that went through access().
  void response(Run& run, proxy::Reply& reply) const;
  ScriptedLlm llm;

 private:
  config::ConfigPtr config_;
  mutable boost::asio::io_context loop_{1};  // the phases' coroutines run here
};

}  // namespace aigw::test
