#include "proxy/handler.hpp"

#include "config/router.hpp"
#include "core/json.hpp"
#include "observability/access_log.hpp"
#include "observability/metrics.hpp"
#include "observability/record.hpp"
#include "plugins/plugin.hpp"
#include "proxy/ai_request.hpp"
#include "proxy/credentials.hpp"
#include "proxy/framing.hpp"
#include "proxy/llm_call.hpp"
#include "proxy/local_response.hpp"
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

// Collects OpenAI chunks as SSE events; the events decoded from one upstream read leave in one
// client write, each still as soon as the upstream sent it.
class SseSink : public providers::ChunkSink {
 public:
  bool emit(std::string_view chunk_json) override {
    pending_.append("data: ");
    pending_.append(chunk_json);
    pending_.append("\n\n");
    return true;
  }
  void raw(std::string_view bytes) { pending_.append(bytes); }
  std::string& pending() { return pending_; }

 private:
  std::string pending_;
};

void addModelHeader(http::Headers& headers, const AiCall& ai) {
  if (ai.model_name_header)
    headers.push_back({"X-Kong-LLM-Model", ai.provider_name + "/" + ai.call.model});
}

// The smallest body limit a plugin of the route sets (ai-proxy's max_request_body_size), or
// 0 when none does.
std::size_t routeBodyLimit(const Chain& chain) {
  std::size_t limit = 0;
  for (const auto* p : chain) {
    const std::size_t own = p->impl->maxRequestBody();
    if (own > 0 && (limit == 0 || own < limit)) limit = own;
  }
  return limit;
}

double msSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

http::Headers errorHeaders(const ApiError& error) {
  http::Headers headers;
  if (error.retry_after_seconds >= 0)
    headers.push_back({"Retry-After", std::to_string(error.retry_after_seconds)});
  return headers;
}

// GCC 12 miscompiles temporaries with destructors inside a co_await expression (destroyed
// twice when a conditional picks them), so errors are built as named values before awaiting.
net::Task<void> ProxyHandler::fail(RequestContext& ctx, net::Exchange& exchange, const Chain& chain,
                                   const ApiError& error) const {
  http::Headers headers = errorHeaders(error);
  for (const auto& h : ctx.response_headers) headers.push_back(h);
  ctx.outcome = error.message;
  const std::string body = error.toJson();
  co_await exchange.respond(error.status, headers, body);
  finish(ctx, chain, error.status);
}

net::Task<void> ProxyHandler::respond(RequestContext& ctx, net::Exchange& exchange,
                                      const Chain& chain, const LlmCaller& llm, Reply reply) const {
  co_await runResponse(ctx, chain, reply, llm);
  if (ctx.error) {
    const ApiError error = *ctx.error;
    co_await fail(ctx, exchange, chain, error);
    co_return;
  }
  std::string content_type = "application/json";
  if (const std::string* ct = reply.header("content-type")) {
    content_type = *ct;
    reply.removeHeader("content-type");
  }
  co_await exchange.respond(reply.status, reply.headers, reply.body, content_type);
  finish(ctx, chain, reply.status);
}

void ProxyHandler::finish(RequestContext& ctx, const Chain& chain, int status) const {
  ctx.status = status;
  runLog(ctx, chain);
  metrics_.record(ctx);
  if (access_log_) access_log_->push(observability::accessRecord(ctx));
}

net::Task<void> ProxyHandler::handle(net::Exchange& exchange) const {
  RequestContext ctx(exchange.request(), store_.current());
  const Chain* chain = &ctx.config->global_plugins;
  std::optional<ApiError> error = co_await run(ctx, exchange, chain);
  if (error) co_await fail(ctx, exchange, *chain, *error);
}

net::Task<std::optional<ApiError>> ProxyHandler::run(RequestContext& ctx, net::Exchange& exchange,
                                                     const Chain*& chain_out) const {
  const http::Request& req = exchange.request();
  const auto& cfg = *ctx.config;
  const std::string* host = http::findHeader(req.headers, "host");
  ctx.route = cfg.router->match(req.method, host ? *host : std::string(), req.path);
  if (ctx.route < 0) co_return ApiError::notFound("no Route matched with those values");
  const Chain& route_chain = cfg.route_plugins[static_cast<std::size_t>(ctx.route)];
  chain_out = &route_chain;

  // The body is read only now that the route's limit is known: an oversized one is refused
  // from its Content-Length, or as soon as its chunks pass the limit.
  const std::size_t route_limit = routeBodyLimit(route_chain);
  const net::BodyStatus body_status =
      co_await exchange.readBody(route_limit > 0 ? route_limit : SIZE_MAX);
  switch (body_status) {
    case net::BodyStatus::Ok:
      break;
    case net::BodyStatus::TooLarge:
      if (route_limit == 0) co_return ApiError::payloadTooLarge("request body too large");
      co_return ApiError::payloadTooLarge("request body is larger than max_request_body_size (" +
                                          std::to_string(route_limit) + " bytes)");
    case net::BodyStatus::Invalid:
      co_return ApiError::badRequest("malformed request body framing");
    case net::BodyStatus::TimedOut:
      co_return ApiError{
          408, "timed out reading the request body", "invalid_request_error", {}, "request_timeout",
          -1};
    case net::BodyStatus::Closed:
      ctx.outcome = "client closed the connection while sending the body";
      finish(ctx, route_chain, 499);
      co_return std::nullopt;
  }

  const LoopClients& clients = clients_[exchange.loop()];
  const LoopLlmCaller llm(*clients.verified, *clients.unverified, exchange.executor());
  co_await runAccess(ctx, route_chain, llm);
  // Once a consumer is identified the rest of the request runs on its chain.
  chain_out = ctx.chain;
  const Chain& chain = *ctx.chain;
  if (ctx.error) co_return *ctx.error;
  if (ctx.reply) {
    Reply reply = std::move(*ctx.reply);
    ctx.reply.reset();
    co_await respond(ctx, exchange, chain, llm, std::move(reply));
    co_return std::nullopt;
  }
  if (!ctx.ai)
    co_return ApiError{503,           "route has no ai-proxy plugin; aigw proxies AI routes only",
                       "api_error",   {},
                       "no_upstream", -1};

  AiCall& ai = *ctx.ai;
  UpstreamClient& client = *clients.verified;
  if (auto source = ai.provider->credentialSource(*ai.target)) {
    std::optional<ApiError> refused = co_await refreshCredential(*source, client, ai.provider_name);
    if (refused) co_return refused;
  }
  auto request = buildAiRequest(ai, req, {ctx.credential_header, ctx.credential_query});
  if (!request) co_return request.error();

  std::unique_ptr<UpstreamResponse> up;
  if (auto local = ai.provider->localExchange(*request)) {
    up = playLocalReply(std::move(*local), exchange.executor());
  } else {
    auto sent = co_await client.send(*request, ai.timeouts);
    if (!sent) co_return fromUpstreamFailure(sent.error(), ai.provider_name);
    up = std::move(*sent);
  }

  const int status = up->status();
  if (status < 200 || status > 299) {
    std::string body;
    co_await up->readAll(body, kMaxErrorBody);
    if (auto ra = up->header("retry-after"); !ra.empty())
      ctx.response_headers.push_back({"Retry-After", ra});
    co_return redactUpstreamError(ai.provider->parseErrorResponse(status, body, up->headers()), ai,
                                  *request, status, body);
  }

  if (ai.call.stream) {
    co_await stream(ctx, exchange, chain, std::move(up));
    co_return std::nullopt;
  }
  std::string body;
  const bool complete = co_await up->readAll(body, kMaxResponseBody);
  if (!complete) {
    if (up->error().kind != UpstreamFailure::None)
      co_return fromUpstreamFailure(up->error(), ai.provider_name);
    co_return ApiError::badGateway("upstream " + ai.provider_name + " response exceeds " +
                                   std::to_string(kMaxResponseBody) + " bytes");
  }
  up.reset();  // the connection goes back to the pool before the client write
  auto translated = ai.provider->parseResponse(ai.call, body, *ai.target);
  if (!translated) co_return translated.error();
  ctx.usage = translated->usage;
  Reply answer{200, {{"Content-Type", "application/json"}}, std::move(translated->body)};
  addModelHeader(answer.headers, ai);
  for (const auto& h : ctx.response_headers) answer.headers.push_back(h);
  co_await respond(ctx, exchange, chain, llm, std::move(answer));
  co_return std::nullopt;
}

// Pumps upstream bytes -> framer -> decoder -> (chunk phase) -> client until the stream ends,
// fails or the client goes away (then the upstream response is dropped, which closes its
// connection: the call is cancelled).
net::Task<void> ProxyHandler::stream(RequestContext& ctx, net::Exchange& exchange,
                                     const Chain& chain,
                                     std::unique_ptr<UpstreamResponse> up) const {
  const AiCall& ai = *ctx.ai;
  http::Headers headers;
  addModelHeader(headers, ai);
  for (const auto& h : ctx.response_headers) headers.push_back(h);
  headers.push_back({"Cache-Control", "no-cache"});
  headers.push_back({"X-Accel-Buffering", "no"});
  if (!co_await exchange.startStream(200, headers, "text/event-stream")) {
    ctx.outcome = "client disconnected";
    finish(ctx, chain, 200);
    co_return;
  }
  auto decoder = ai.provider->newStreamDecoder(ai.call, *ai.target);
  auto framer = newFramer(ai.provider->framing(*ai.target));
  SseSink out;
  // Plugins' chunk phase, only when one of them wants chunks (else chunks are not parsed).
  std::optional<ChunkPhase> phase;
  if (chunkPhaseNeeded(ctx, chain)) phase.emplace(ctx, chain, out);
  providers::ChunkSink& chunks = phase ? static_cast<providers::ChunkSink&>(*phase) : out;
  auto on_event = [&](std::string_view event, std::string_view data) -> Status {
    return decoder->onEvent(event, data, chunks);
  };
  auto flush = [&]() -> net::Task<bool> {
    if (out.pending().empty()) co_return true;
    const bool ok = co_await exchange.writeStream(out.pending());
    out.pending().clear();
    if (ctx.first_byte_ms < 0) ctx.first_byte_ms = msSince(ctx.started);
    co_return ok;
  };

  std::string chunk;
  Status status;
  while (status && !(phase && phase->ended())) {
    chunk.clear();
    if (!co_await up->read(chunk)) break;
    status = framer->feed(chunk, on_event);
    if (!co_await flush()) {
      ctx.outcome = "client disconnected";
      ctx.usage = decoder->usage();
      finish(ctx, chain, 200);
      co_return;
    }
  }
  if (phase && phase->ended()) {
    // A plugin ended the stream: its error is the last event; the upstream is dropped.
    ctx.outcome = ctx.error->message;
    out.raw(errorEvent(ctx.error->message, ctx.error->type.c_str()));
  } else {
    if (status && up->error().kind != UpstreamFailure::None)
      status = Status::error("upstream " + ai.provider_name + ": " + up->error().message);
    if (status) status = framer->finish(on_event);
    if (status) status = decoder->onEnd(chunks);
    if (!status) {
      ctx.outcome = status.message();
      out.raw(errorEvent(status.message(), "upstream_error"));
    } else {
      out.raw("data: [DONE]\n\n");
    }
  }
  ctx.usage = decoder->usage();
  up.reset();
  if (!co_await flush() || !co_await exchange.endStream()) ctx.outcome = "client disconnected";
  finish(ctx, chain, 200);
}

}  // namespace aigw::proxy
