// The relay half of the data plane: native pass-through (a client speaking the provider's own
// API) and route_type preserve. The status, the headers that describe the answer, the body and
// every byte of a stream go back as the provider sent them (SSE event: lines, AWS event-stream
// frames, NDJSON); the gateway only reads them on the way, for usage and, for native APIs, for
// the stream's natural end. A stream that breaks gets the client API's own error event, or is
// cut short when that API has no text error event (preserve, Bedrock's binary frames), so a
// truncated answer never looks complete.
#include "core/json.hpp"
#include "formats/native.hpp"
#include "proxy/ai_exchange.hpp"
#include "proxy/framing.hpp"
#include "proxy/handler.hpp"
#include "proxy/pipeline.hpp"
#include "proxy/redact.hpp"
#include "proxy/request_context.hpp"

namespace aigw::proxy {

namespace {

constexpr std::size_t kMaxResponseBody = 64u << 20;

// Headers that describe the connection or the framing (set by our server), or that a gateway
// should not pass on (cookies, as Kong drops them).
bool relayedHeader(std::string_view name) {
  for (std::string_view skip : {"connection", "keep-alive", "transfer-encoding", "content-length",
                                "content-type", "te", "trailer", "upgrade", "proxy-authenticate",
                                "proxy-connection", "date", "server", "set-cookie", "alt-svc"})
    if (http::iequals(name, skip)) return false;
  return true;
}

double msSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

std::optional<Reply> relayedError(const AiCall& ai, const http::UpstreamRequest& request,
                                  const UpstreamResponse& up, std::string body) {
  nlohmann::json parsed;
  if (!json::parse(body, parsed) || !parsed.is_object()) return std::nullopt;
  Reply reply;
  reply.status = up.status();
  for (const auto& h : up.headers())
    if (relayedHeader(h.name)) reply.headers.push_back(h);
  std::string content_type = up.header("content-type");
  reply.headers.push_back(
      {"Content-Type", content_type.empty() ? "application/json" : std::move(content_type)});
  reply.body = maskSecrets(std::move(body), callSecrets(ai, request));
  return reply;
}

net::Task<void> ProxyHandler::relay(RequestContext& ctx, net::Exchange& exchange,
                                    const Chain& chain, const LlmCaller& llm,
                                    std::unique_ptr<UpstreamResponse> up) const {
  const AiCall& ai = *ctx.ai;
  const int status = up->status();
  const std::string content_type = up->header("content-type");
  http::Headers headers;
  for (const auto& h : up->headers())
    if (relayedHeader(h.name)) headers.push_back(h);
  addModelHeader(headers, ai);
  for (const auto& h : ctx.response_headers) headers.push_back(h);

  if (!formats::isStreamContentType(content_type)) {
    std::string body;
    if (!co_await up->readAll(body, kMaxResponseBody)) {
      ApiError error = ApiError::badGateway("upstream " + ai.provider_name + " response exceeds " +
                                            std::to_string(kMaxResponseBody) + " bytes");
      if (up->error().kind != UpstreamFailure::None) {
        error.message = "upstream " + ai.provider_name + ": " + up->error().message;
        if (up->error().kind == UpstreamFailure::Timeout)
          error = ApiError::gatewayTimeout(std::move(error.message));
      }
      co_await fail(ctx, exchange, chain, error);
      co_return;
    }
    up.reset();  // the connection goes back to the pool before the client write
    ctx.usage = formats::sniffUsageText(body);
    if (!content_type.empty()) headers.push_back({"Content-Type", content_type});
    Reply reply{status, std::move(headers), std::move(body)};
    co_await respond(ctx, exchange, chain, llm, std::move(reply));
    co_return;
  }

  if (!co_await exchange.startStream(status, headers, content_type)) {
    ctx.outcome = "client disconnected";
    finish(ctx, chain, status);
    co_return;
  }
  ctx.releaseBody();  // as for a translated stream (handler.cpp): a stream may last minutes
  std::string().swap(exchange.request().body);
  auto framer = newFramer(formats::relayFraming(ai.call.native, content_type));
  formats::StreamWatcher watcher(ai.call.native);
  bool watching = true;  // until the framer cannot follow (the bytes still go through)
  const auto on_event = [&watcher](std::string_view event, std::string_view data) -> Status {
    watcher.onEvent(event, data);
    return {};
  };
  std::string chunk;
  while (true) {
    chunk.clear();
    if (!co_await up->read(chunk)) break;
    if (watching && !framer->feed(chunk, on_event)) watching = false;
    if (up->exhausted()) break;  // the last piece leaves with the end of the response, below
    if (!co_await exchange.writeStream(chunk)) {
      ctx.outcome = "client disconnected";
      ctx.usage = watcher.usage();
      finish(ctx, chain, status);
      co_return;
    }
    if (ctx.first_byte_ms < 0) ctx.first_byte_ms = msSince(ctx.started);
  }
  if (watching && up->error().kind == UpstreamFailure::None) watching = !!framer->finish(on_event);
  std::string broken;
  if (up->error().kind != UpstreamFailure::None)
    broken = "upstream " + ai.provider_name + ": " + up->error().message;
  else if (!watcher.complete())
    broken = "upstream " + ai.provider_name +
             " stream ended before its end marker; the answer is incomplete";
  ctx.usage = watcher.usage();
  up.reset();
  if (!broken.empty()) {
    ctx.outcome = broken;
    const std::string event = formats::relayErrorEvent(ai.call.native, broken);
    if (event.empty()) {
      // No error event this client could read: the response ends without its last chunk.
      exchange.closeAfter();
      if (!co_await exchange.writeStream(chunk)) ctx.outcome = "client disconnected";
      finish(ctx, chain, status);
      co_return;
    }
    chunk += event;
  }
  if (!co_await exchange.writeStream(chunk, true)) ctx.outcome = "client disconnected";
  if (ctx.first_byte_ms < 0) ctx.first_byte_ms = msSince(ctx.started);
  finish(ctx, chain, status);
}

}  // namespace aigw::proxy
