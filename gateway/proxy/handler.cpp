#include "proxy/handler.hpp"

#include "config/router.hpp"
#include "core/json.hpp"
#include "observability/access_log.hpp"
#include "observability/metrics.hpp"
#include "observability/record.hpp"
#include "plugins/plugin.hpp"
#include "proxy/framing.hpp"
#include "proxy/pipeline.hpp"
#include "proxy/redact.hpp"
#include "proxy/request_context.hpp"

namespace aigw::proxy {

namespace {

constexpr std::size_t kMaxErrorBody = 1 << 20;
constexpr std::size_t kMaxResponseBody = 64u << 20;

ApiError fromUpstreamFailure(const UpstreamError& e, std::string_view provider) {
  std::string what = "upstream " + std::string(provider) + ": " + e.message;
  return e.kind == UpstreamFailure::Timeout ? ApiError::gatewayTimeout(std::move(what))
                                            : ApiError::badGateway(std::move(what));
}

// Writes OpenAI chunks to the client as SSE events. Events decoded from one upstream read go
// out in one socket write: each still leaves as soon as the upstream sent it, without a
// syscall and a client wake-up per event.
class SseSink : public providers::ChunkSink {
 public:
  explicit SseSink(httplib::DataSink& sink) : sink_(sink) {}
  bool emit(std::string_view chunk_json) override {
    if (!alive_) return false;
    pending_.append("data: ");
    pending_.append(chunk_json);
    pending_.append("\n\n");
    ++events_;
    return true;
  }
  void raw(std::string_view bytes) { pending_.append(bytes); }
  // Sends what is pending; false once the client has gone.
  bool flush() {
    if (alive_ && !pending_.empty()) {
      alive_ = sink_.write(pending_.data(), pending_.size());
      flushed_ = true;
    }
    pending_.clear();
    return alive_;
  }
  bool alive() const { return alive_; }
  bool flushedAny() const { return flushed_; }

 private:
  httplib::DataSink& sink_;
  std::string pending_;
  std::size_t events_ = 0;
  bool alive_ = true;
  bool flushed_ = false;
};

// Everything a streamed answer needs after the handler has returned.
struct StreamState {
  std::unique_ptr<RequestContext> ctx;
  std::unique_ptr<UpstreamResponse> upstream;
  std::unique_ptr<providers::StreamDecoder> decoder;
  std::unique_ptr<Framer> framer;
  std::vector<const config::PluginInstance*> chain;
  const ProxyHandler* handler = nullptr;
};

// Pumps upstream bytes -> framer -> decoder -> client until the stream ends, fails or the
// client goes away (then the upstream connection is dropped, which cancels the call).
bool pumpStream(StreamState& st, httplib::DataSink& sink) {
  SseSink out(sink);
  // Plugins' chunk phase, only when one of them wants chunks (else chunks are not parsed).
  std::optional<ChunkPhase> phase;
  if (chunkPhaseNeeded(*st.ctx, st.chain)) phase.emplace(*st.ctx, st.chain, out);
  providers::ChunkSink& chunks = phase ? static_cast<providers::ChunkSink&>(*phase) : out;
  auto on_event = [&](std::string_view event, std::string_view data) -> Status {
    return st.decoder->onEvent(event, data, chunks);
  };
  auto flush = [&] {
    const bool ok = out.flush();
    if (st.ctx->first_byte_ms < 0 && out.flushedAny())
      st.ctx->first_byte_ms = std::chrono::duration<double, std::milli>(
                                  std::chrono::steady_clock::now() - st.ctx->started)
                                  .count();
    return ok;
  };
  std::string chunk;
  Status status;
  while (status && !(phase && phase->ended())) {
    chunk.clear();
    if (!st.upstream->read(chunk)) break;
    status = st.framer->feed(chunk, on_event);
    if (!flush()) {
      st.ctx->outcome = "client disconnected";
      return false;  // dropping the upstream response closes its connection: the call is cancelled
    }
  }
  if (status && st.upstream->error().kind != UpstreamFailure::None) {
    status = Status::error("upstream " + st.ctx->ai->provider_name + ": " +
                           st.upstream->error().message);
  }
  if (phase && phase->ended()) {
    // A plugin ended the stream: its error is the last event; the upstream is dropped.
    st.ctx->usage = st.decoder->usage();
    st.ctx->outcome = st.ctx->error->message;
    out.raw(errorEvent(st.ctx->error->message, st.ctx->error->type.c_str()));
    if (!flush()) return false;
    sink.done();
    return true;
  }
  if (status) status = st.framer->finish(on_event);
  if (status) status = st.decoder->onEnd(chunks);
  st.ctx->usage = st.decoder->usage();
  if (!status) {
    st.ctx->outcome = status.message();
    out.raw(errorEvent(status.message(), "upstream_error"));
  } else {
    out.raw("data: [DONE]\n\n");
  }
  if (!flush()) {
    st.ctx->outcome = "client disconnected";
    return false;
  }
  sink.done();
  return true;
}

void setModelHeader(httplib::Response& res, const AiCall& ai) {
  if (ai.model_name_header)
    res.set_header("X-Kong-LLM-Model", ai.provider_name + "/" + ai.call.model);
}

}  // namespace

void writeError(httplib::Response& res, const ApiError& error) {
  res.status = error.status;
  if (error.retry_after_seconds >= 0)
    res.set_header("Retry-After", std::to_string(error.retry_after_seconds));
  res.set_content(error.toJson(), "application/json");
}

void ProxyHandler::fail(RequestContext& ctx, httplib::Response& res,
                        const std::vector<const config::PluginInstance*>& chain,
                        const ApiError& error) const {
  writeError(res, error);
  ctx.outcome = error.message;
  finish(ctx, chain, error.status);
}

void ProxyHandler::respond(RequestContext& ctx, httplib::Response& res,
                           const std::vector<const config::PluginInstance*>& chain,
                           Reply reply) const {
  runResponse(ctx, chain, reply, llm_);
  if (ctx.error) {
    fail(ctx, res, chain, *ctx.error);
    return;
  }
  res.status = reply.status;
  std::string content_type = "application/json";
  if (const std::string* ct = reply.header("content-type")) {
    content_type = *ct;
    reply.removeHeader("content-type");
  }
  for (const auto& h : reply.headers) res.set_header(h.name.c_str(), h.value);
  res.set_content(std::move(reply.body), content_type.c_str());
  finish(ctx, chain, reply.status);
}

void ProxyHandler::finish(RequestContext& ctx,
                          const std::vector<const config::PluginInstance*>& chain,
                          int status) const {
  ctx.status = status;
  runLog(ctx, chain);
  metrics_.record(ctx);
  if (access_log_) access_log_->push(observability::accessRecord(ctx));
}

void ProxyHandler::handle(const httplib::Request& req, httplib::Response& res) const {
  auto ctx = std::make_unique<RequestContext>(req, store_.current());
  const auto& cfg = *ctx->config;
  const std::string host = req.get_header_value("Host");
  ctx->route = cfg.router->match(req.method, host, req.path);
  if (ctx->route < 0) {
    fail(*ctx, res, cfg.global_plugins, ApiError::notFound("no Route matched with those values"));
    return;
  }
  const auto& chain = cfg.route_plugins[static_cast<std::size_t>(ctx->route)];
  runAccess(*ctx, chain, llm_);
  if (ctx->error) {
    fail(*ctx, res, chain, *ctx->error);
    return;
  }
  if (ctx->reply) {
    Reply reply = std::move(*ctx->reply);
    ctx->reply.reset();
    respond(*ctx, res, chain, std::move(reply));
    return;
  }
  if (!ctx->ai) {
    fail(*ctx, res, chain,
         ApiError{503,
                  "route has no ai-proxy plugin; aigw proxies AI routes only",
                  "api_error",
                  {},
                  "no_upstream",
                  -1});
    return;
  }

  AiCall& ai = *ctx->ai;
  std::unique_ptr<UpstreamResponse> up = ai.provider->localExchange(ai.upstream);
  if (!up) {
    auto sent = client_.send(ai.upstream, ai.timeouts);
    if (!sent) {
      fail(*ctx, res, chain, fromUpstreamFailure(sent.error(), ai.provider_name));
      return;
    }
    up = std::move(*sent);
  }

  const int status = up->status();
  if (status < 200 || status > 299) {
    std::string body;
    up->readAll(body, kMaxErrorBody);
    ApiError e = redactUpstreamError(ai.provider->parseErrorResponse(status, body, up->headers()),
                                     ai, status, body);
    if (auto ra = up->header("retry-after"); !ra.empty()) res.set_header("Retry-After", ra);
    fail(*ctx, res, chain, e);
    return;
  }

  if (!ai.call.stream) {
    std::string body;
    if (!up->readAll(body, kMaxResponseBody)) {
      fail(*ctx, res, chain,
           up->error().kind == UpstreamFailure::None
               ? ApiError::badGateway("upstream " + ai.provider_name + " response exceeds " +
                                      std::to_string(kMaxResponseBody) + " bytes")
               : fromUpstreamFailure(up->error(), ai.provider_name));
      return;
    }
    auto reply = ai.provider->parseResponse(ai.call, body, *ai.target);
    if (!reply) {
      fail(*ctx, res, chain, reply.error());
      return;
    }
    ctx->usage = reply->usage;
    Reply answer{200, {{"Content-Type", "application/json"}}, std::move(reply->body)};
    if (ai.model_name_header)
      answer.headers.push_back({"X-Kong-LLM-Model", ai.provider_name + "/" + ai.call.model});
    for (const auto& h : ctx->response_headers) answer.headers.push_back(h);
    respond(*ctx, res, chain, std::move(answer));
    return;
  }

  setModelHeader(res, ai);
  for (const auto& h : ctx->response_headers) res.set_header(h.name.c_str(), h.value);
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  auto st = std::make_shared<StreamState>();
  st->handler = this;
  st->decoder = ai.provider->newStreamDecoder(ai.call, *ai.target);
  st->framer = newFramer(ai.provider->framing(*ai.target));
  st->upstream = std::move(up);
  st->chain = chain;
  st->ctx = std::move(ctx);
  res.status = 200;
  res.set_chunked_content_provider(
      "text/event-stream",
      [st](std::size_t, httplib::DataSink& sink) { return pumpStream(*st, sink); },
      [st](bool) {
        // The upstream connection is released here, on the worker thread, after the last write.
        st->upstream.reset();
        st->handler->finish(*st->ctx, st->chain, 200);
      });
}

}  // namespace aigw::proxy
