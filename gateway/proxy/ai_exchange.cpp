#include "proxy/ai_exchange.hpp"

#include <cmath>
#include <ctime>

#include "proxy/ai_request.hpp"
#include "proxy/balancer.hpp"
#include "proxy/credentials.hpp"
#include "proxy/local_response.hpp"
#include "proxy/redact.hpp"
#include "proxy/retry_policy.hpp"

namespace aigw::proxy {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxErrorBody = 1 << 20;
constexpr std::size_t kMaxResponseBody = 64u << 20;

ApiError fromUpstreamFailure(const UpstreamError& e, std::string_view provider) {
  std::string what = "upstream " + std::string(provider) + ": " + e.message;
  return e.kind == UpstreamFailure::Timeout ? ApiError::gatewayTimeout(std::move(what))
                                            : ApiError::badGateway(std::move(what));
}

double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// One attempt's result: an answer (whole or a primed stream), or a fault with its error.
struct Attempt {
  AiAnswer answer;
  AttemptFault fault;       // kind None on success
  int status = 0;           // the provider's HTTP status (0 = none)
  std::string retry_after;  // the provider's Retry-After header, as sent
  int retry_after_ms = -1;
};

std::string outcomeName(const AttemptFault& f) {
  switch (f.kind) {
    case AttemptFault::Kind::None:
      return "ok";
    case AttemptFault::Kind::Network:
      return "error";
    case AttemptFault::Kind::Timeout:
      return "timeout";
    case AttemptFault::Kind::Invalid:
      return "invalid";
    case AttemptFault::Kind::Status:
      return f.status > 0 ? "http_" + std::to_string(f.status) : "error";
  }
  return "error";
}

// Reads a stream until its first client chunk, or until it ends.
net::Task<void> prime(StreamRelay& relay) {
  while (relay.chunks() == 0 && !relay.ended()) co_await relay.pump();
}

// The steps of an attempt that hold large locals are coroutines of their own, so that the
// attempt's frame, alive while thousands of requests wait for their upstreams, stays small.

// Mints or refreshes the target's credential; false (the error in `a`) when that failed.
net::Task<bool> refreshFor(const AiCall& ai, UpstreamClient& client, Attempt& a) {
  auto source = ai.provider->credentialSource(*ai.target);
  if (!source) co_return true;
  std::optional<ApiError> refused = co_await refreshCredential(*source, client, ai.provider_name);
  if (!refused) co_return true;
  a.answer.error = std::move(*refused);
  a.fault = {AttemptFault::Kind::Network, false, 0};
  co_return false;
}

// Sends the request (or plays the provider's local answer); null (the error in `a`) when no
// answer came.
net::Task<std::unique_ptr<UpstreamResponse>> sendFor(const AiCall& ai,
                                                     const http::UpstreamRequest& request,
                                                     UpstreamClient& client,
                                                     const net::Executor& executor, Attempt& a) {
  if (auto local = ai.provider->localExchange(request))
    co_return playLocalReply(std::move(*local), executor);
  auto sent = co_await client.send(request, ai.timeouts);
  if (!sent) {
    a.answer.error = fromUpstreamFailure(sent.error(), ai.provider_name);
    a.fault = faultOf(sent.error());
    co_return nullptr;
  }
  co_return std::move(*sent);
}

// A non-2xx answer: the provider's error, in the client's terms.
net::Task<void> readFailure(const AiCall& ai, const http::UpstreamRequest& request,
                            std::unique_ptr<UpstreamResponse> up, Attempt& a) {
  std::string body;
  co_await up->readAll(body, kMaxErrorBody);
  if (std::string ra = up->header("retry-after"); !ra.empty()) {
    a.retry_after_ms = parseRetryAfterMs(ra, static_cast<long long>(std::time(nullptr)));
    a.retry_after = std::move(ra);
  }
  a.fault = {AttemptFault::Kind::Status, true, a.status};
  if (ai.relay) {
    // A native client gets the provider's own JSON error (secrets masked); anything else
    // (an HTML page from something in between may name internal hosts) is not echoed.
    if (std::optional<Reply> own = relayedError(ai, request, *up, std::move(body))) {
      a.answer.whole = std::move(*own);
      a.answer.native = true;
      co_return;
    }
  }
  a.answer.error = redactUpstreamError(
      ai.provider->parseErrorResponse(a.status, body, up->headers()), ai, request, a.status, body);
}

// A whole (non-streamed) answer, translated.
net::Task<void> readWhole(RequestContext& ctx, std::unique_ptr<UpstreamResponse> up, Attempt& a) {
  const AiCall& ai = *ctx.ai;
  std::string body;
  if (!co_await up->readAll(body, kMaxResponseBody)) {
    if (up->error().kind != UpstreamFailure::None) {
      a.answer.error = fromUpstreamFailure(up->error(), ai.provider_name);
      a.fault = faultOf(up->error());
    } else {
      a.answer.error = ApiError::badGateway("upstream " + ai.provider_name + " response exceeds " +
                                            std::to_string(kMaxResponseBody) + " bytes");
      a.fault = {AttemptFault::Kind::Status, true, 0};  // final: another would be as large
    }
    co_return;
  }
  up.reset();  // the connection goes back to the pool before the client write
  auto translated = ai.provider->parseResponse(ai.call, body, *ai.target);
  if (!translated) {
    a.answer.error = translated.error();
    // A body that is not an answer (empty, not JSON: 5xx from the translation) is the
    // provider's fault; a 4xx is about the request (e.g. a safety block) and final.
    a.fault = a.answer.error->status >= 500
                  ? AttemptFault{AttemptFault::Kind::Invalid, true, 0}
                  : AttemptFault{AttemptFault::Kind::Status, true, a.answer.error->status};
    co_return;
  }
  ctx.usage = translated->usage;
  a.answer.whole = Reply{200, {{"Content-Type", "application/json"}}, std::move(translated->body)};
}

// A stream, read up to its first client chunk.
net::Task<void> primeStream(RequestContext& ctx, const Chain& chain,
                            std::unique_ptr<UpstreamResponse> up, Attempt& a) {
  auto relay = std::make_unique<StreamRelay>(ctx, chain, std::move(up));
  co_await prime(*relay);
  if (relay->chunks() == 0 && !relay->failure().empty()) {
    // Broken before the client saw anything: a fault like any other, nothing was sent.
    const UpstreamError& e = relay->upstreamError();
    if (e.kind != UpstreamFailure::None) {
      a.fault = faultOf(e);
      a.answer.error = fromUpstreamFailure(e, ctx.ai->provider_name);
    } else {
      a.fault = {AttemptFault::Kind::Invalid, true, 0};
      a.answer.error = ApiError::badGateway(relay->failure());
    }
    co_return;
  }
  a.answer.stream = std::move(relay);
}

net::Task<Attempt> attemptOnce(RequestContext& ctx, const Chain& chain, UpstreamClient& client,
                               const net::Executor& executor) {
  Attempt a;
  const AiCall& ai = *ctx.ai;
  if (!co_await refreshFor(ai, client, a)) co_return a;
  auto request = buildAiRequest(ai, ctx.request, {ctx.credential_header, ctx.credential_query});
  if (!request) {
    a.answer.error = request.error();
    a.fault = {AttemptFault::Kind::Status, false, 0};  // this request cannot be translated: final
    co_return a;
  }
  std::unique_ptr<UpstreamResponse> up = co_await sendFor(ai, *request, client, executor, a);
  if (!up) co_return a;
  a.status = up->status();
  if (a.status < 200 || a.status > 299) {
    co_await readFailure(ai, *request, std::move(up), a);
  } else if (ai.relay) {
    // Native pass-through and preserve: the answer goes back as sent (handler_relay.cpp).
    a.answer.relay = std::move(up);
  } else if (ai.call.stream) {
    co_await primeStream(ctx, chain, std::move(up), a);
  } else {
    co_await readWhole(ctx, std::move(up), a);
  }
  co_return a;
}

void record(RequestContext& ctx, const Attempt& a, double latency_ms) {
  const AiCall& ai = *ctx.ai;
  ctx.attempts.push_back({ai.provider_name, ai.call.model, ai.target_index, a.status,
                          outcomeName(a.fault), latency_ms});
}

// The attempt that answers: its error carries the provider's Retry-After to the client.
AiAnswer conclude(RequestContext& ctx, Attempt a) {
  if (a.answer.error && !a.retry_after.empty())
    ctx.response_headers.push_back({"Retry-After", a.retry_after});
  return std::move(a.answer);
}

ApiError noTarget(const Balancer::Choice& choice) {
  const long long seconds = std::max<long long>(
      1, static_cast<long long>(std::ceil(std::chrono::duration<double>(choice.wait).count())));
  ApiError e;
  e.retry_after_seconds = static_cast<int>(seconds);
  if (choice.rate_limited) {
    e.status = 429;
    e.type = "rate_limit_error";
    e.code = "rate_limited";
    e.message =
        "every target of this route is rate limited by its provider (Retry-After); "
        "retry after " +
        std::to_string(seconds) + " s";
  } else {
    e.status = 503;
    e.type = "api_error";
    e.code = "no_healthy_target";
    e.message =
        "no healthy target: every target of this route failed max_fails times "
        "recently; retry after " +
        std::to_string(seconds) + " s";
  }
  return e;
}

}  // namespace

formats::ReplyContext replyContext(const AiCall& ai) {
  // ai-proxy-advanced sends each target's own model; the client hears back the one it named.
  return {ai.client_model.empty() ? ai.call.model : ai.client_model, ai.client_body.get(),
          ai.call.client_wants_usage};
}

StreamRelay::StreamRelay(RequestContext& ctx, const Chain& chain,
                         std::unique_ptr<UpstreamResponse> up)
    : ctx_(ctx),
      up_(std::move(up)),
      encoder_(ctx.ai->format->newEncoder(replyContext(*ctx.ai))),
      out_(*encoder_) {
  const AiCall& ai = *ctx.ai;
  decoder_ = ai.provider->newStreamDecoder(ai.call, *ai.target);
  framer_ = newFramer(ai.provider->framing(*ai.target));
  // Plugins' chunk phase, only when one of them wants chunks (else chunks are not parsed).
  if (chunkPhaseNeeded(ctx, chain)) phase_.emplace(ctx, chain, out_);
}

const UpstreamError& StreamRelay::upstreamError() const {
  return upstream_error_;
}

providers::Usage StreamRelay::usage() const {
  return decoder_->usage();
}

net::Task<void> StreamRelay::pump() {
  if (ended_) co_return;
  providers::ChunkSink& sink = phase_ ? static_cast<providers::ChunkSink&>(*phase_) : out_;
  read_.clear();
  // (No co_await inside a conditional expression: GCC 12 miscompiles its temporaries.)
  bool more = false;
  if (up_) more = co_await up_->read(read_);
  if (more) {
    // What comes out is about what went in (OpenAI events pass through): one allocation, not
    // one per doubling.
    std::string& out = encoder_->pending();
    out.reserve(out.size() + read_.size() + 64);
    status_ = framer_->feed(read_, [&](std::string_view event, std::string_view data) {
      return decoder_->onEvent(event, data, sink);
    });
  }
  // An upstream whose answer is complete ends the stream now: the end leaves in the same
  // write as the last events.
  if (!more || !status_ || (phase_ && phase_->ended()) || up_->exhausted()) end();
}

void StreamRelay::end() {
  ended_ = true;
  providers::ChunkSink& sink = phase_ ? static_cast<providers::ChunkSink&>(*phase_) : out_;
  auto on_event = [&](std::string_view event, std::string_view data) {
    return decoder_->onEvent(event, data, sink);
  };
  if (phase_ && phase_->ended()) {
    // A plugin ended the stream: its error is the last event; the upstream is dropped.
    failure_ = ctx_.error->message;
    encoder_->fail(ctx_.error->message, ctx_.error->type);
  } else {
    if (status_ && up_ && up_->error().kind != UpstreamFailure::None) {
      upstream_error_ = up_->error();
      status_ =
          Status::error("upstream " + ctx_.ai->provider_name + ": " + upstream_error_.message);
    }
    if (status_) status_ = framer_->finish(on_event);
    if (status_) status_ = decoder_->onEnd(sink);
    if (!status_) {
      failure_ = status_.message();
      encoder_->fail(failure_, "upstream_error");
    } else {
      encoder_->finish(decoder_->usage());
    }
  }
  if (!failure_.empty() && ctx_.open_attempt.balancer) ctx_.open_attempt.failed = true;
  up_.reset();
}

namespace {

// ai-proxy: one target, one attempt. (A coroutine of its own: its frame, alive while the
// upstream is awaited, holds none of the failover loop's state.)
net::Task<AiAnswer> exchangeOnce(RequestContext& ctx, const Chain& chain, UpstreamClient& client,
                                 const net::Executor& executor) {
  const auto since = Clock::now();
  Attempt a = co_await attemptOnce(ctx, chain, client, executor);
  record(ctx, a, msSince(since));
  co_return conclude(ctx, std::move(a));
}

// ai-proxy-advanced: balance, retry and fail over between the targets.
net::Task<AiAnswer> exchangeBalanced(RequestContext& ctx, const Chain& chain,
                                     UpstreamClient& client, const net::Executor& executor) {
  const TargetSet* set = ctx.ai->targets;
  const Balancer& balancer = set->balancer();
  const RetryPolicy& policy = set->retryPolicy();
  std::string hash_key;
  if (!set->hashHeader().empty())
    if (const std::string* v = http::findHeader(ctx.request.headers, set->hashHeader()))
      hash_key = *v;
  std::uint64_t tried = 0;
  std::optional<Attempt> last;
  for (int retries = 0;;) {
    const Balancer::Choice choice = balancer.pick(tried, ctx.ai->allowed_targets, hash_key);
    if (choice.target < 0) {
      if (last) co_return conclude(ctx, std::move(*last));
      AiAnswer none;
      none.error = noTarget(choice);
      co_return none;
    }
    tried |= std::uint64_t{1} << choice.target;
    if (choice.target != ctx.ai->target_index) {
      if (std::optional<ApiError> refused = set->select(ctx, choice.target)) {
        Attempt skipped;  // this target cannot take the request; another may
        skipped.answer.error = std::move(*refused);
        last = std::move(skipped);
        continue;
      }
    }
    balancer.begin(choice.target);
    const auto since = Clock::now();
    Attempt a = co_await attemptOnce(ctx, chain, client, executor);
    const double latency = msSince(since);
    record(ctx, a, latency);
    const RetryDecision decision = decide(policy, a.fault);
    AttemptReport report;
    report.failed = decision.target_failed;
    report.retry_after_ms = a.retry_after_ms;
    if (a.fault.kind == AttemptFault::Kind::None) {
      if (a.answer.stream || a.answer.relay) {
        // The target keeps the attempt until the stream ends (settleAttempt).
        ctx.open_attempt = {&balancer, choice.target, since, false};
      } else {
        report.latency_ms = latency;
        report.prompt_tokens = ctx.usage.prompt_tokens;
        report.completion_tokens = ctx.usage.completion_tokens;
        balancer.end(choice.target, report);
      }
      co_return conclude(ctx, std::move(a));
    }
    balancer.end(choice.target, report);
    if (!decision.retry || retries++ >= policy.retries) co_return conclude(ctx, std::move(a));
    last = std::move(a);
  }
}

}  // namespace

net::Task<AiAnswer> exchangeAi(RequestContext& ctx, const Chain& chain, UpstreamClient& client,
                               const net::Executor& executor) {
  if (!ctx.ai->targets) return exchangeOnce(ctx, chain, client, executor);
  return exchangeBalanced(ctx, chain, client, executor);
}

void settleAttempt(RequestContext& ctx) {
  auto& open = ctx.open_attempt;
  if (!open.balancer) return;
  AttemptReport report;
  report.failed = open.failed;
  report.latency_ms = msSince(open.since);
  report.prompt_tokens = ctx.usage.prompt_tokens;
  report.completion_tokens = ctx.usage.completion_tokens;
  open.balancer->end(open.target, report);
  open.balancer = nullptr;
}

}  // namespace aigw::proxy
