#include "proxy/handler.hpp"

#include "config/router.hpp"
#include "core/json.hpp"
#include "formats/format.hpp"
#include "observability/access_log.hpp"
#include "observability/metrics.hpp"
#include "observability/record.hpp"
#include "plugins/plugin.hpp"
#include "proxy/ai_exchange.hpp"
#include "proxy/llm_call.hpp"
#include "proxy/models.hpp"
#include "proxy/pipeline.hpp"
#include "proxy/request_context.hpp"

namespace aigw::proxy {

namespace {

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

void addModelHeader(http::Headers& headers, const AiCall& ai) {
  if (ai.model_name_header)
    headers.push_back({"X-Kong-LLM-Model", ai.provider_name + "/" + ai.call.model});
}

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
  // In the client's own error shape (Anthropic's for llm_format anthropic).
  const std::string body = ctx.client_format ? ctx.client_format->errorBody(error) : error.toJson();
  co_await exchange.respond(error.status, headers, body);
  finish(ctx, chain, error.status);
}

net::Task<void> ProxyHandler::respond(RequestContext& ctx, net::Exchange& exchange,
                                      const Chain& chain, const LlmCaller& llm, Reply reply,
                                      bool from_hub) const {
  co_await runResponse(ctx, chain, reply, llm);
  if (!ctx.error && from_hub) {
    // Plugins saw the hub's (OpenAI) answer; the client gets it in its own format.
    auto converted = ctx.ai->format->fromHub(reply.body, replyContext(*ctx.ai));
    if (converted)
      reply.body = std::move(*converted);
    else
      ctx.error = converted.error();
  }
  if (ctx.error) {
    const ApiError error = *ctx.error;
    co_await fail(ctx, exchange, chain, error);
    co_return;
  }
  co_await deliver(ctx, exchange, chain, std::move(reply));
}

net::Task<void> ProxyHandler::deliver(RequestContext& ctx, net::Exchange& exchange,
                                      const Chain& chain, Reply reply) const {
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
  settleAttempt(ctx);
  runLog(ctx, chain);
  metrics_.record(ctx);
  if (access_log_) access_log_->push(observability::accessRecord(ctx));
}

net::Task<void> ProxyHandler::handle(net::Exchange& exchange) const {
  RequestContext ctx(exchange.request(), store_.current());
  const Chain* chain = &ctx.config->global_plugins;
  bool answered = false;
  std::optional<ApiError> error = co_await admit(ctx, exchange, chain, answered);
  if (!error && !answered) error = co_await forward(ctx, exchange, *chain);
  if (error) co_await fail(ctx, exchange, *chain, *error);
}

// Route, body, access phase. A coroutine of its own, done before the upstream is called: its
// frame (the rarer paths' locals) is not held while thousands of requests wait for upstreams.
net::Task<std::optional<ApiError>> ProxyHandler::admit(RequestContext& ctx, net::Exchange& exchange,
                                                       const Chain*& chain_out,
                                                       bool& answered) const {
  const http::Request& req = exchange.request();
  const auto& cfg = *ctx.config;
  const std::string* host = http::findHeader(req.headers, "host");
  const config::RouteMatch matched =
      cfg.router->find(req.method, host ? *host : std::string(), req.path);
  ctx.route = matched.route;
  ctx.route_matched = matched.matched;
  if (ctx.route < 0) {
    if (auto models = gatewayModels(cfg, req)) {  // GET /v1/models when no route claims it
      const Reply reply = std::move(*models);
      const http::Headers none;
      answered = true;
      co_await exchange.respond(reply.status, none, reply.body);
      finish(ctx, *chain_out, reply.status);
      co_return std::nullopt;
    }
    co_return ApiError::notFound("no Route matched with those values");
  }
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
      answered = true;
      finish(ctx, route_chain, 499);
      co_return std::nullopt;
  }

  const LoopClients& clients = clients_[exchange.loop()];
  const LoopLlmCaller llm(*clients.verified, *clients.unverified, exchange.executor());
  co_await runAccess(ctx, route_chain, llm);
  // Once a consumer is identified the rest of the request runs on its chain.
  chain_out = ctx.chain;
  if (ctx.error) co_return *ctx.error;
  if (ctx.reply) {
    Reply reply = std::move(*ctx.reply);
    ctx.reply.reset();
    answered = true;
    co_await respond(ctx, exchange, *ctx.chain, llm, std::move(reply));
  }
  co_return std::nullopt;
}

// The upstream call and its answer.
net::Task<std::optional<ApiError>> ProxyHandler::forward(RequestContext& ctx,
                                                         net::Exchange& exchange,
                                                         const Chain& chain) const {
  const LoopClients& clients = clients_[exchange.loop()];
  if (!ctx.ai) {
    const LoopLlmCaller llm(*clients.verified, *clients.unverified, exchange.executor());
    co_return co_await proxyService(ctx, exchange, chain, llm, *clients.verified);
  }
  // The upstream exchange, with ai-proxy-advanced's failover (proxy/ai_exchange.hpp).
  AiAnswer answer = co_await exchangeAi(ctx, chain, *clients.verified, exchange.executor());
  if (answer.error) co_return std::move(*answer.error);
  if (answer.stream) {
    // The request's body (text and document) is not read again: a stream may last minutes.
    ctx.releaseBody();
    std::string().swap(exchange.request().body);
    co_await stream(ctx, exchange, chain, std::move(answer.stream));
    co_return std::nullopt;
  }
  co_await answerWhole(ctx, exchange, chain, answer);
  co_return std::nullopt;
}

// A relayed (native pass-through, preserve) or whole answer.
net::Task<void> ProxyHandler::answerWhole(RequestContext& ctx, net::Exchange& exchange,
                                          const Chain& chain, AiAnswer& answer) const {
  const LoopClients& clients = clients_[exchange.loop()];
  const LoopLlmCaller llm(*clients.verified, *clients.unverified, exchange.executor());
  if (answer.relay) {
    // Native pass-through and preserve: the answer goes back as the provider sent it.
    co_await relay(ctx, exchange, chain, llm, std::move(answer.relay));
    co_return;
  }
  Reply reply = std::move(*answer.whole);
  addModelHeader(reply.headers, *ctx.ai);
  for (const auto& h : ctx.response_headers) reply.headers.push_back(h);
  if (answer.native) {
    // The provider's own error for a native client, as sent: like any error, it skips the
    // response phase.
    ctx.outcome =
        "upstream " + ctx.ai->provider_name + " returned HTTP " + std::to_string(reply.status);
    co_await deliver(ctx, exchange, chain, std::move(reply));
    co_return;
  }
  co_await respond(ctx, exchange, chain, llm, std::move(reply), true);
}

// Relays a stream whose first chunk is ready: upstream bytes -> framer -> decoder -> (chunk
// phase) -> client, until it ends, fails or the client goes away (then the upstream response is
// dropped, which closes its connection: the call is cancelled).
net::Task<void> ProxyHandler::stream(RequestContext& ctx, net::Exchange& exchange,
                                     const Chain& chain, std::unique_ptr<StreamRelay> relay) const {
  http::Headers headers;
  addModelHeader(headers, *ctx.ai);
  for (const auto& h : ctx.response_headers) headers.push_back(h);
  headers.push_back({"Cache-Control", "no-cache"});
  headers.push_back({"X-Accel-Buffering", "no"});
  auto gone = [&] {
    ctx.outcome = "client disconnected";
    ctx.usage = relay->usage();
    relay->close();
    finish(ctx, chain, 200);
  };
  // The first chunk is at hand (the attempt waited for it): it leaves with the head, and the
  // end of the stream with its last events.
  bool written = co_await exchange.startStream(200, headers, "text/event-stream", relay->pending(),
                                               relay->ended());
  relay->pending().clear();
  ctx.first_byte_ms = msSince(ctx.started);
  while (written && !relay->ended()) {
    co_await relay->pump();
    if (relay->pending().empty() && !relay->ended()) continue;
    written = co_await exchange.writeStream(relay->pending(), relay->ended());
    relay->pending().clear();
  }
  if (!written) {
    gone();
    co_return;
  }
  if (!relay->failure().empty()) ctx.outcome = relay->failure();
  ctx.usage = relay->usage();
  finish(ctx, chain, 200);
}

}  // namespace aigw::proxy
