// The plugin phases as loops over a route's chain (the contract of each hook is in
// plugins/plugin.hpp). The data plane calls these four functions and nothing plugin-specific:
//
//   runAccess    before the upstream call; afterwards ctx.error or ctx.reply is set when a
//                plugin answered, ctx.ai when ai-proxy prepared a call.
//   runResponse  on a whole answer (the upstream's, translated, or ctx.reply) before writing it.
//   ChunkPhase   on each chunk of a streamed answer, when chunkPhaseNeeded(); otherwise the
//                stream is relayed without parsing.
//   runLog       after the response was written.
//
// The only waits are the LLM calls a hook asks for (Verdict::CallLlm), awaited on the
// request's event loop through the LlmCaller passed in; hooks themselves never wait.
// Thread-safety: functions of one request's context; the chain is immutable and shared.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.hpp"
#include "providers/provider.hpp"
#include "proxy/net/task.hpp"

namespace aigw::proxy {

struct RequestContext;
struct Reply;
class LlmCaller;

using Chain = config::Chain;

// Access phase in priority order; stops at the first plugin that answers (ctx.error or
// ctx.reply set). Records in ctx.access_ran how many hooks ran. `chain` is the route's; once an
// authentication plugin identifies the consumer the rest of the phase runs on the consumer's
// chain (same plugins up to that point), and ctx.chain is the chain the later phases use.
net::Task<void> runAccess(RequestContext& ctx, const Chain& chain, const LlmCaller& llm);

// Response phase over the plugins whose access hook ran, in priority order. When a hook
// replaces the answer with an error, ctx.error is set and the rest of the phase is skipped;
// the caller then writes ctx.error instead of `reply`.
net::Task<void> runResponse(RequestContext& ctx, const Chain& chain, Reply& reply,
                            const LlmCaller& llm);

// True when some plugin whose access hook ran rewrites whole answers (an ordinary service's
// answer is then read whole instead of streamed through).
bool responsePhaseNeeded(const RequestContext& ctx, const Chain& chain);
// True when some plugin whose access hook ran wants stream chunks.
bool chunkPhaseNeeded(const RequestContext& ctx, const Chain& chain);

// A ChunkSink in front of the client's sink that runs the chunk phase on each chunk. Use it
// only when chunkPhaseNeeded(). After End, emit() returns false (the decoder stops) and
// ended() is true: the caller sends ctx.error as the stream's error event instead of [DONE].
class ChunkPhase : public providers::ChunkSink {
 public:
  ChunkPhase(RequestContext& ctx, const Chain& chain, providers::ChunkSink& next)
      : ctx_(ctx), chain_(chain), next_(next) {}
  bool emit(std::string_view chunk_json) override;
  bool ended() const { return ended_; }

 private:
  RequestContext& ctx_;
  const Chain& chain_;
  providers::ChunkSink& next_;
  bool ended_ = false;
};

// Log phase: every plugin of the chain, in reverse order.
void runLog(const RequestContext& ctx, const Chain& chain);

// An OpenAI-shaped error as one SSE event ("data: {...}\n\n"), for ending a stream.
std::string errorEvent(const std::string& message, const char* type);

}  // namespace aigw::proxy
