// The upstream side of an AI call, after the access phase: one attempt for ai-proxy, or
// ai-proxy-advanced's loop of attempts (balancer pick, send, classify, maybe the next target).
//
// An attempt ends in one of three ways: a whole answer (2xx, read and translated), a stream
// whose first chunk is ready for the client, or a fault. A fault is given to another target
// when the retry policy allows it (proxy/retry_policy.hpp); the last one becomes the client's
// error. A stream can fail over only until its first byte is written to the client, which is
// why the client's stream starts with the first chunk rather than with the upstream's headers;
// afterwards a failure ends it with an error event (StreamRelay).
//
// Every attempt is recorded in ctx.attempts and reported to the balancer (health, latency,
// usage; a stream's when it ends, see settleAttempt).
// Thread-safety: one request, on its loop.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/api_error.hpp"
#include "formats/format.hpp"
#include "proxy/framing.hpp"
#include "proxy/pipeline.hpp"
#include "proxy/request_context.hpp"
#include "proxy/upstream.hpp"

namespace aigw::proxy {

// Counts the chunks that reach the client's encoder, so that a stream is known to have output
// (failover is possible until then).
class CountingSink : public providers::ChunkSink {
 public:
  explicit CountingSink(formats::StreamEncoder& encoder) : encoder_(encoder) {}
  bool emit(std::string_view chunk_json) override {
    ++emitted_;
    return encoder_.emit(chunk_json);
  }
  std::size_t emitted() const { return emitted_; }

 private:
  formats::StreamEncoder& encoder_;
  std::size_t emitted_ = 0;
};

// An upstream stream being relayed: bytes -> framer -> provider decoder -> (chunk phase) -> the
// client format's encoder (OpenAI chunks, Anthropic or Responses events). pump() reads once;
// pending() is what to write next. When the upstream ends (or a plugin ends the stream) the last
// event is the format's end ([DONE], message_stop, response.completed) or its error event, never
// a clean end after a failure.
class StreamRelay {
 public:
  StreamRelay(RequestContext& ctx, const Chain& chain, std::unique_ptr<UpstreamResponse> up);
  StreamRelay(const StreamRelay&) = delete;
  StreamRelay& operator=(const StreamRelay&) = delete;

  // One upstream read and what it decodes to; after the last one ended() is true and pending()
  // holds the closing event.
  net::Task<void> pump();
  bool ended() const { return ended_; }
  std::string& pending() { return encoder_->pending(); }
  // Client chunks produced so far (0 = nothing the client would see yet).
  std::size_t chunks() const { return out_.emitted(); }
  // Why the stream failed ("" when it did not).
  const std::string& failure() const { return failure_; }
  const UpstreamError& upstreamError() const;
  providers::Usage usage() const;
  // Drops the upstream response (closes its connection: the call is cancelled).
  void close() { up_.reset(); }

 private:
  void end();

  RequestContext& ctx_;
  std::unique_ptr<UpstreamResponse> up_;
  std::unique_ptr<providers::StreamDecoder> decoder_;
  std::unique_ptr<Framer> framer_;
  std::unique_ptr<formats::StreamEncoder> encoder_;
  CountingSink out_;
  std::optional<ChunkPhase> phase_;
  Status status_;
  bool ended_ = false;
  std::string failure_;
  UpstreamError upstream_error_;
  std::string read_;
};

struct AiAnswer {
  std::optional<ApiError> error;        // answer this (Retry-After in ctx.response_headers)
  std::optional<Reply> whole;           // a non-streamed answer, translated
  std::unique_ptr<StreamRelay> stream;  // a stream with its first output ready
  // Native pass-through and preserve (ctx.ai->relay): a 2xx answer, to relay as sent
  // (handler_relay.cpp); `whole` may instead be the provider's own error, already in the
  // client's format (`native`).
  std::unique_ptr<UpstreamResponse> relay;
  bool native = false;
};

// The provider's own error for a native pass-through client: its JSON body (configured secrets
// masked) with the headers that describe it; nothing when the body is not a JSON object
// (handler_relay.cpp).
std::optional<Reply> relayedError(const AiCall& ai, const http::UpstreamRequest& request,
                                  const UpstreamResponse& up, std::string body);

// What the client format needs to answer: the model the client named, its request.
formats::ReplyContext replyContext(const AiCall& ai);

// Performs the AI call ctx.ai describes: refresh a minted credential, build, send, read the
// answer (a stream up to its first chunk), with ai-proxy-advanced's failover when ctx.ai has
// targets.
net::Task<AiAnswer> exchangeAi(RequestContext& ctx, const Chain& chain, UpstreamClient& client,
                               const net::Executor& executor);

// Reports a stream's open attempt to its balancer (usage, latency); a no-op otherwise. Called
// once the request is over.
void settleAttempt(RequestContext& ctx);

}  // namespace aigw::proxy
