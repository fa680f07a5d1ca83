// The data plane: match a route, run the plugins' access phase, perform the upstream
// exchange (streaming or not) and write the answer. No business logic of any one provider.
// Thread-safety: one ProxyHandler serves all worker threads; handle() is reentrant.
#pragma once

#include <httplib.h>

#include "config/store.hpp"
#include "core/api_error.hpp"
#include "proxy/llm_call.hpp"
#include "proxy/upstream.hpp"

namespace aigw::observability {
class AccessLog;
class Metrics;
}  // namespace aigw::observability

namespace aigw::proxy {

struct RequestContext;
struct Reply;

class ProxyHandler {
 public:
  ProxyHandler(const config::ConfigStore& store, UpstreamClient& client,
               observability::Metrics& metrics, observability::AccessLog* access_log = nullptr)
      : store_(store), client_(client), metrics_(metrics), access_log_(access_log), llm_(client) {}
  void handle(const httplib::Request& req, httplib::Response& res) const;

  // The end of every request: plugins' log phase (reverse order), then the access log line.
  void finish(RequestContext& ctx, const std::vector<const config::PluginInstance*>& chain,
              int status) const;

 private:
  void fail(RequestContext& ctx, httplib::Response& res,
            const std::vector<const config::PluginInstance*>& chain, const ApiError& error) const;
  // A whole answer (upstream's or a plugin's) through the response phase, then to the client.
  void respond(RequestContext& ctx, httplib::Response& res,
               const std::vector<const config::PluginInstance*>& chain, Reply reply) const;
  const config::ConfigStore& store_;
  UpstreamClient& client_;
  observability::Metrics& metrics_;
  observability::AccessLog* access_log_;
  BlockingLlmCaller llm_;  // LLM calls plugins ask for (pipeline.hpp)
};

// Writes an OpenAI-shaped error (and Retry-After when set).
void writeError(httplib::Response& res, const ApiError& error);

}  // namespace aigw::proxy
