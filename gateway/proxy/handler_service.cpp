// Routes without ai-proxy: Kong's plain proxying to the route's service, so the governance
// plugins (templates, guards, the AI transformers) work in front of ordinary APIs.
#include "config/model.hpp"
#include "proxy/handler.hpp"
#include "proxy/pipeline.hpp"
#include "proxy/request_context.hpp"
#include "proxy/service_request.hpp"

namespace aigw::proxy {

namespace {

constexpr std::size_t kMaxWholeAnswer = 64u << 20;

double msBetween(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Kong's texts for a service that cannot be reached or answered badly.
ApiError serviceFailure(const UpstreamError& e) {
  if (e.kind == UpstreamFailure::Timeout)
    return ApiError{504, "The upstream server is timing out", "api_error", {}, "upstream_timeout",
                    -1};
  return ApiError{502,           "An invalid response was received from the upstream server",
                  "api_error",   {},
                  "bad_gateway", -1};
}

}  // namespace

net::Task<std::optional<ApiError>> ProxyHandler::proxyService(
    RequestContext& ctx, net::Exchange& exchange,
    const std::vector<const config::PluginInstance*>& chain, const LlmCaller& llm,
    UpstreamClient& client) const {
  const config::Config& cfg = *ctx.config;
  const config::Route& route = cfg.routes[static_cast<std::size_t>(ctx.route)];
  if (route.service < 0)
    co_return ApiError{503, "no Service found with those values", "api_error", {}, "no_service",
                       -1};
  const config::Service& service = cfg.services[static_cast<std::size_t>(route.service)];
  auto call = buildServiceRequest(service, route, ctx);
  if (!call) co_return call.error();

  const auto sent_at = std::chrono::steady_clock::now();
  auto sent = co_await client.send(call->request, call->timeouts);
  if (!sent) {
    ctx.outcome = "service " + service.name + ": " + sent.error().message;
    co_return serviceFailure(sent.error());
  }
  std::unique_ptr<UpstreamResponse> up = std::move(*sent);
  const auto answered_at = std::chrono::steady_clock::now();

  const int status = up->status();
  http::Headers headers;
  std::string content_type;
  for (const auto& h : up->headers()) {
    if (isHopByHop(h.name)) continue;
    if (http::iequals(h.name, "content-type")) {
      content_type = h.value;
      continue;
    }
    headers.push_back(h);
  }
  headers.push_back({"X-Kong-Upstream-Latency",
                     std::to_string(static_cast<long>(msBetween(sent_at, answered_at)))});
  headers.push_back(
      {"X-Kong-Proxy-Latency", std::to_string(static_cast<long>(msBetween(ctx.started, sent_at)))});
  for (const auto& h : ctx.response_headers) headers.push_back(h);

  if (responsePhaseNeeded(ctx, chain)) {
    std::string body;
    if (!co_await up->readAll(body, kMaxWholeAnswer)) {
      if (up->error().kind != UpstreamFailure::None) co_return serviceFailure(up->error());
      co_return ApiError::badGateway("service " + service.name + " answer exceeds " +
                                     std::to_string(kMaxWholeAnswer) + " bytes");
    }
    up.reset();
    if (!content_type.empty()) headers.push_back({"Content-Type", std::move(content_type)});
    Reply reply{status, std::move(headers), std::move(body)};
    co_await respond(ctx, exchange, chain, llm, std::move(reply));
    co_return std::nullopt;
  }

  const bool no_body =
      status < 200 || status == 204 || status == 304 || exchange.request().method == "HEAD";
  if (no_body) {
    up.reset();
    co_await exchange.respond(status, headers, {}, content_type);
    finish(ctx, chain, status);
    co_return std::nullopt;
  }
  // The answer streams through as it arrives: a large download or a server-sent event stream
  // costs a read buffer, never the whole body.
  if (!co_await exchange.startStream(status, headers, content_type)) {
    ctx.outcome = "client disconnected";
    finish(ctx, chain, status);
    co_return std::nullopt;
  }
  std::string piece;
  bool client_gone = false;
  while (true) {
    piece.clear();
    if (!co_await up->read(piece)) break;
    if (ctx.first_byte_ms < 0)
      ctx.first_byte_ms = msBetween(ctx.started, std::chrono::steady_clock::now());
    // The last piece of a clean body carries the end of the response.
    const bool last = up->exhausted() && up->error().kind == UpstreamFailure::None;
    if (!co_await exchange.writeStream(piece, last)) {
      client_gone = true;
      break;
    }
  }
  if (client_gone) {
    ctx.outcome = "client disconnected";
  } else if (up->error().kind != UpstreamFailure::None) {
    // The status is already sent: the only honest signal left is to cut the response short.
    ctx.outcome = "service " + service.name + ": " + up->error().message;
    exchange.abort();
  } else if (!co_await exchange.endStream()) {
    ctx.outcome = "client disconnected";
  }
  finish(ctx, chain, status);
  co_return std::nullopt;
}

}  // namespace aigw::proxy
