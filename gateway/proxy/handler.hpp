// The data plane: one coroutine per request, read top to bottom: match a route, read the body
// within the route's limit, run the plugins' access phase (proxy/pipeline.hpp), refresh a
// minted credential, build and send the upstream request, then answer whole (response phase)
// or stream (chunk phase), and log. No business logic of any one provider or plugin.
// Thread-safety: one ProxyHandler serves all loops; handle() runs on the loop of its connection
// and uses that loop's upstream clients.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "config/store.hpp"
#include "core/api_error.hpp"
#include "proxy/net/http_server.hpp"
#include "proxy/upstream.hpp"

namespace aigw::observability {
class AccessLog;
class Metrics;
}  // namespace aigw::observability

namespace aigw::proxy {

struct RequestContext;
struct Reply;
struct AiCall;
class LlmCaller;
class StreamRelay;
struct AiAnswer;

// The upstream clients of one event loop.
struct LoopClients {
  UpstreamClient* verified = nullptr;    // every call, unless a plugin's target says otherwise
  UpstreamClient* unverified = nullptr;  // LLM targets of plugins with https_verify: false
};

class ProxyHandler {
 public:
  // `clients[i]` are the upstream clients of loop i.
  ProxyHandler(const config::ConfigStore& store, std::vector<LoopClients> clients,
               observability::Metrics& metrics, observability::AccessLog* access_log = nullptr)
      : store_(store), clients_(std::move(clients)), metrics_(metrics), access_log_(access_log) {}

  net::Task<void> handle(net::Exchange& exchange) const;

  // The end of every request: plugins' log phase (reverse order), then metrics and the access
  // log line.
  void finish(RequestContext& ctx, const std::vector<const config::PluginInstance*>& chain,
              int status) const;

 private:
  // The request up to the upstream call (route, body, access phase): an error to send
  // instead, or nothing (`answered` when a plugin or the gateway already answered). `chain` is
  // set to the plugins that ran (for the log phase).
  net::Task<std::optional<ApiError>> admit(RequestContext& ctx, net::Exchange& exchange,
                                           const std::vector<const config::PluginInstance*>*& chain,
                                           bool& answered) const;
  // The upstream call and the answer: an error to send instead, or nothing once answered.
  net::Task<std::optional<ApiError>> forward(
      RequestContext& ctx, net::Exchange& exchange,
      const std::vector<const config::PluginInstance*>& chain) const;
  net::Task<void> answerWhole(RequestContext& ctx, net::Exchange& exchange,
                              const std::vector<const config::PluginInstance*>& chain,
                              AiAnswer& answer) const;
  net::Task<void> fail(RequestContext& ctx, net::Exchange& exchange,
                       const std::vector<const config::PluginInstance*>& chain,
                       const ApiError& error) const;
  // A whole answer (the upstream's or a plugin's) through the response phase, then out;
  // `from_hub`: the provider's OpenAI answer, converted into the client's format after the
  // response phase.
  net::Task<void> respond(RequestContext& ctx, net::Exchange& exchange,
                          const std::vector<const config::PluginInstance*>& chain,
                          const LlmCaller& llm, Reply reply, bool from_hub = false) const;
  // Writes a whole answer as it is, then finish().
  net::Task<void> deliver(RequestContext& ctx, net::Exchange& exchange,
                          const std::vector<const config::PluginInstance*>& chain,
                          Reply reply) const;
  // A route without ai-proxy: the request goes to the route's Kong service
  // (proxy/service_request.hpp) and its answer comes back streamed as it arrives, or whole
  // through the response phase when a plugin rewrites answers.
  net::Task<std::optional<ApiError>> proxyService(
      RequestContext& ctx, net::Exchange& exchange,
      const std::vector<const config::PluginInstance*>& chain, const LlmCaller& llm,
      UpstreamClient& client) const;
  net::Task<void> stream(RequestContext& ctx, net::Exchange& exchange,
                         const std::vector<const config::PluginInstance*>& chain,
                         std::unique_ptr<StreamRelay> relay) const;
  // Native pass-through and preserve (handler_relay.cpp): a 2xx answer's status, body and
  // stream go back as the provider sent them; usage is read on the way.
  net::Task<void> relay(RequestContext& ctx, net::Exchange& exchange,
                        const std::vector<const config::PluginInstance*>& chain,
                        const LlmCaller& llm, std::unique_ptr<UpstreamResponse> upstream) const;

  const config::ConfigStore& store_;
  std::vector<LoopClients> clients_;
  observability::Metrics& metrics_;
  observability::AccessLog* access_log_;
};

// The headers of an OpenAI-shaped error answer (Retry-After when set).
http::Headers errorHeaders(const ApiError& error);
// X-Kong-LLM-Model: <provider>/<model>, when the route wants it.
void addModelHeader(http::Headers& headers, const AiCall& ai);

}  // namespace aigw::proxy
