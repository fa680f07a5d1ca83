// When an attempt on one target may be given to another: Kong's failover_criteria (nginx's
// proxy_next_upstream), decided from what went wrong.
//
//   error           the connection failed: refused, reset, closed before or during the answer
//   timeout         connect, first byte or idle timeout
//   invalid_header  the answer is not one: malformed or empty head, a 2xx body that is empty,
//                   not JSON, or a stream that ends (or breaks) before its first chunk
//   http_403/404/429/500/502/503/504   that status from the provider
//   non_idempotent  also when the request was already sent (every LLM call is a POST, so
//                   without it only failures before sending — refused, connect timeout —
//                   move on, exactly as nginx does)
//
// Never retried, whatever the criteria: any other 4xx (the request itself is wrong, e.g. a
// context length or content filter 400: another attempt would fail the same way and cost
// tokens), and a stream whose first byte already reached the client.
// Thread-safety: pure functions and plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/upstream.hpp"

namespace aigw::proxy {

enum Criterion : std::uint32_t {
  kCritError = 1u << 0,
  kCritTimeout = 1u << 1,
  kCritInvalidHeader = 1u << 2,
  kCritHttp403 = 1u << 3,
  kCritHttp404 = 1u << 4,
  kCritHttp429 = 1u << 5,
  kCritHttp500 = 1u << 6,
  kCritHttp502 = 1u << 7,
  kCritHttp503 = 1u << 8,
  kCritHttp504 = 1u << 9,
  kCritNonIdempotent = 1u << 10,
};

// Kong's names -> bits; false (with the unknown name) when one is not a criterion.
bool parseCriteria(const std::vector<std::string>& names, std::uint32_t& out, std::string& bad);
std::vector<std::string> criterionNames();

struct RetryPolicy {
  std::uint32_t criteria = kCritError | kCritTimeout;  // Kong's default
  int retries = 5;                                     // attempts after the first
};

// What one attempt came to, as the retry decision needs it.
struct AttemptFault {
  enum class Kind {
    None,     // success
    Network,  // connection refused/reset/closed
    Timeout,
    Invalid,  // malformed or empty answer, unparseable 2xx body, broken before the first chunk
    Status,   // a non-2xx status
  };
  Kind kind = Kind::None;
  bool sent = true;  // the request had (possibly) reached the provider
  int status = 0;    // for Status
};

struct RetryDecision {
  bool retry = false;          // another target may take the request
  bool target_failed = false;  // counts against the target's health (max_fails)
};

RetryDecision decide(const RetryPolicy& policy, const AttemptFault& fault);

// A Retry-After value (delta-seconds or an HTTP-date) in milliseconds from `now_unix_s`; -1 when
// absent or unreadable. Bounded to a day.
int parseRetryAfterMs(std::string_view value, long long now_unix_s);

// The fault an upstream client failure stands for.
AttemptFault faultOf(const UpstreamError& error);

}  // namespace aigw::proxy
