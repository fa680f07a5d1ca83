#include "proxy/pipeline.hpp"

#include <algorithm>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>

#include "core/json.hpp"
#include "plugins/plugin.hpp"
#include "proxy/deferred.hpp"
#include "proxy/llm_call.hpp"
#include "proxy/request_context.hpp"

namespace aigw::proxy {

namespace {

using plugins::ChunkVerdict;
using plugins::Verdict;

// A hook that keeps asking for LLM calls is a bug; bound it rather than loop forever.
constexpr int kMaxLlmCallsPerHook = 4;

// A hook answered CallLlm (ctx.llm_request is set): performs the LLM calls it asks for and runs
// it again with each result, until it decides.
template <typename Hook>
net::Task<Verdict> runHook(RequestContext& ctx, const config::PluginInstance& plugin,
                           const LlmCaller& llm, Hook hook) {
  Verdict v = Verdict::CallLlm;  // the hook already asked for its first call
  for (int calls = 0; v == Verdict::CallLlm; ++calls) {
    if (calls == kMaxLlmCallsPerHook || !ctx.llm_request || !ctx.llm_request->target) {
      ctx.error = ApiError::internal("plugin " + plugin.name + " made an invalid LLM call request");
      v = Verdict::Respond;
      break;
    }
    LlmRequest request = std::move(*ctx.llm_request);
    ctx.llm_request.reset();
    ctx.llm_result = co_await llm.chat(request);  // the one wait of the pipeline
    v = hook();
  }
  ctx.llm_request.reset();
  ctx.llm_result.reset();
  co_return v;
}

// Awaits ctx.deferred on this loop: its completion (from any thread) is posted back here.
net::Task<void> awaitDeferred(Deferred& work) {
  const net::Executor executor = co_await boost::asio::this_coro::executor;
  co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void()>(
      [&work, executor](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        work.start([h, executor] { boost::asio::post(executor, [h] { (*h)(); }); });
      },
      boost::asio::use_awaitable);
}

// A hook that keeps asking to wait is a bug; bound it rather than loop forever.
constexpr int kMaxAwaitsPerHook = 4;

std::size_t ranCount(const RequestContext& ctx, const Chain& chain) {
  return std::min(ctx.access_ran, chain.size());
}

}  // namespace

net::Task<void> runAccess(RequestContext& ctx, const Chain& chain, const LlmCaller& llm) {
  ctx.access_ran = 0;
  ctx.chain = &chain;
  for (std::size_t i = 0; i < ctx.chain->size(); ++i) {
    const auto* p = (*ctx.chain)[i];
    ++ctx.access_ran;
    // Most hooks never ask for an LLM: they run without a coroutine frame of their own.
    ctx.llm_result.reset();
    Verdict v = p->impl->onAccess(ctx);
    if (v == Verdict::CallLlm)
      v = co_await runHook(ctx, *p, llm, [&ctx, p] { return p->impl->onAccess(ctx); });
    for (int waits = 0; v == Verdict::Await; ++waits) {
      std::shared_ptr<Deferred> work = std::move(ctx.deferred);
      if (!work || waits == kMaxAwaitsPerHook) {
        ctx.error = ApiError::internal("plugin " + p->name + " made an invalid wait request");
        v = Verdict::Respond;
        break;
      }
      co_await awaitDeferred(*work);
      v = p->impl->onAccess(ctx);
    }
    if (v == Verdict::Respond) {
      if (!ctx.error && !ctx.reply)
        ctx.error =
            ApiError::internal("plugin " + p->name + " ended the request without an answer");
      co_return;
    }
    // The consumer's chain starts with the same plugins as the route's down to here.
    if (ctx.consumer >= 0 && ctx.route >= 0 && p->impl->identifiesConsumer())
      ctx.chain = &ctx.config->chainFor(ctx.route, ctx.consumer);
  }
}

net::Task<void> runResponse(RequestContext& ctx, const Chain& chain, Reply& reply,
                            const LlmCaller& llm) {
  const std::size_t n = ranCount(ctx, chain);
  for (std::size_t i = 0; i < n; ++i) {
    const auto* p = chain[i];
    ctx.llm_result.reset();
    Verdict v = p->impl->onResponse(ctx, reply);
    if (v == Verdict::CallLlm)
      v = co_await runHook(ctx, *p, llm,
                           [&ctx, &reply, p] { return p->impl->onResponse(ctx, reply); });
    if (v == Verdict::Respond) {
      if (!ctx.error)
        ctx.error =
            ApiError::internal("plugin " + p->name + " rejected the answer without an error");
      co_return;
    }
  }
}

bool responsePhaseNeeded(const RequestContext& ctx, const Chain& chain) {
  const std::size_t n = ranCount(ctx, chain);
  for (std::size_t i = 0; i < n; ++i)
    if (chain[i]->impl->wantsResponse()) return true;
  return false;
}

bool chunkPhaseNeeded(const RequestContext& ctx, const Chain& chain) {
  const std::size_t n = ranCount(ctx, chain);
  for (std::size_t i = 0; i < n; ++i)
    if (chain[i]->impl->wantsChunks()) return true;
  return false;
}

bool ChunkPhase::emit(std::string_view chunk_json) {
  if (ended_) return false;
  nlohmann::json chunk;
  // Decoders only emit JSON; anything else is relayed untouched rather than lost.
  if (!json::parse(chunk_json, chunk)) return next_.emit(chunk_json);
  const std::size_t n = ranCount(ctx_, chain_);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& impl = *chain_[i]->impl;
    if (!impl.wantsChunks()) continue;
    switch (impl.onChunk(ctx_, chunk)) {
      case ChunkVerdict::Pass:
        break;
      case ChunkVerdict::Drop:
        return true;
      case ChunkVerdict::End:
        ended_ = true;
        if (!ctx_.error)
          ctx_.error = ApiError::internal("plugin " + chain_[i]->name + " ended the stream");
        return false;
    }
  }
  return next_.emit(json::dump(chunk));
}

void runLog(const RequestContext& ctx, const Chain& chain) {
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) (*it)->impl->onLog(ctx);
}

std::string errorEvent(const std::string& message, const char* type) {
  nlohmann::json e = {
      {"error", {{"message", message}, {"type", type}, {"code", nullptr}, {"param", nullptr}}}};
  return "data: " + json::dump(e) + "\n\n";
}

}  // namespace aigw::proxy
