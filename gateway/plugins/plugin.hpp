// Plugins: one class per plugin, built at config load from its validated config, immutable,
// shared by all requests. Per-request state lives in the RequestContext, never in the plugin.
// Thread-safety: Plugin objects are const after construction and used from many threads.
//
// The pipeline (proxy/pipeline.hpp) runs the hooks of the plugins that apply to a route
// (global, service, route and consumer scopes, the most specific instance of each name) in
// Kong's priority order, highest first. The phases, in the order a request meets them:
//
//   access    onAccess(ctx): before the upstream call. Read and rewrite the request (edit
//             ctx.body and set ctx.body_edited, or replace the text with ctx.setRawBody()),
//             prepare ctx.ai (ai-proxy), or answer instead of the upstream: set ctx.error (an
//             OpenAI-shaped error) or ctx.reply (a full response: status, headers, body) and
//             return Respond. The remaining access hooks and the upstream call are skipped.
//   response  onResponse(ctx, reply): a whole, non-streamed answer before it is written:
//             status, headers and body, all of which the hook may rewrite. It runs on the
//             upstream's answer (for ai-proxy routes: 2xx, already translated to OpenAI's shape)
//             and on a plugin's ctx.reply, for the plugins whose access hook ran; not on errors
//             the gateway generated. Respond with ctx.error set sends that error instead and
//             skips the rest of the phase.
//   chunk     onChunk(ctx, chunk): each OpenAI-shaped chunk of a streamed answer, parsed. Pass
//             it (edited in place or not), Drop it, or End the stream: ctx.error goes to the
//             client as an error event and the upstream call is closed. Only plugins whose
//             wantsChunks() is true are called, and a chunk is parsed into JSON only when one
//             of them is in the chain, so the common streaming path stays a byte copy.
//   log       onLog(ctx): after the response was sent (status, usage and timings are final),
//             every plugin of the chain, in reverse order.
//
// Hooks are synchronous and do no I/O. A hook that needs an LLM's answer (the AI transformers)
// stores its chat request in ctx.llm_request and returns CallLlm; the pipeline performs the
// call (proxy/llm_call.hpp) and calls the same hook again with ctx.llm_result set. A hook whose
// answer comes from another thread (a Redis round trip: proxy/deferred.hpp) puts that work in
// ctx.deferred and returns Await (access phase only); the pipeline awaits it and calls the
// hook again. That keeps every wait in the pipeline, where an event loop can await it.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "config/errors.hpp"
#include "config/schema.hpp"

namespace aigw::proxy {
struct RequestContext;
struct Reply;
}  // namespace aigw::proxy

namespace aigw::plugins {

struct RoutableModel;

enum class Verdict {
  Continue,  // go on with the next plugin / the upstream call / writing the answer
  Respond,   // ctx.error (or, in access, ctx.reply) is the answer; skip the rest of the phase
  CallLlm,   // perform ctx.llm_request, then call this hook again with ctx.llm_result set
  Await,     // wait for ctx.deferred (work on another thread), then call this hook again
};

enum class ChunkVerdict {
  Pass,  // send the chunk (as edited)
  Drop,  // do not send this chunk; the stream goes on
  End,   // end the stream with ctx.error as an error event
};

class Plugin {
 public:
  virtual ~Plugin() = default;
  virtual Verdict onAccess(proxy::RequestContext&) const { return Verdict::Continue; }
  virtual Verdict onResponse(proxy::RequestContext&, proxy::Reply&) const {
    return Verdict::Continue;
  }
  // True when onResponse is overridden: an ordinary service's answer is then read whole for
  // the response phase; otherwise it streams through to the client as it arrives.
  virtual bool wantsResponse() const { return false; }
  // Chunks are parsed and offered only to plugins that say so here.
  virtual bool wantsChunks() const { return false; }
  virtual ChunkVerdict onChunk(proxy::RequestContext&, nlohmann::json& /*chunk*/) const {
    return ChunkVerdict::Pass;
  }
  virtual void onLog(const proxy::RequestContext&) const {}
  // The largest request body this plugin accepts (bytes; 0 = no limit of its own). The core
  // reads the body with the smallest limit of the route's plugins, so an oversized body is
  // refused (413) before it is read.
  virtual std::size_t maxRequestBody() const { return 0; }
  // True for authentication plugins (key-auth): their access hook may set ctx.consumer, and the
  // plugins after them are then the consumer's (config::Config::chainFor).
  virtual bool identifiesConsumer() const { return false; }
  // The models a client can name through this plugin: ai-proxy's configured model (and
  // ai-proxy-advanced's targets' aliases). Read by GET /v1/models; empty = none.
  virtual std::vector<RoutableModel> routableModels() const { return {}; }
  // The providers this plugin calls (ai-proxy: its provider; ai-proxy-advanced: its targets'),
  // for plugins that run before it and limit by provider (ai-rate-limiting-advanced).
  virtual std::vector<std::string> llmProviders() const { return {}; }
};

// A model a client can name through a plugin (GET /v1/models lists them).
struct RoutableModel {
  std::string id;
  std::string owned_by;  // the provider
};

struct PluginSpec {
  std::string_view name;
  int priority;  // Kong's PRIORITY, so configs order the same way
  const config::Schema& (*schema)();
  // Builds the plugin from its normalised config; cross-field problems go to `errors` with
  // paths under `path`. Returns null when there were errors.
  std::shared_ptr<const Plugin> (*create)(const nlohmann::json& config, const std::string& path,
                                          config::ConfigErrors& errors);
};

// The one table of plugins; null for unknown names.
const PluginSpec* findPlugin(std::string_view name);
std::vector<std::string> pluginNames();

}  // namespace aigw::plugins
