#include "proxy/retry_policy.hpp"

#include <ctime>

namespace aigw::proxy {

namespace {

struct Named {
  const char* name;
  std::uint32_t bit;
};
constexpr Named kCriteria[] = {
    {"error", kCritError},
    {"timeout", kCritTimeout},
    {"invalid_header", kCritInvalidHeader},
    {"http_500", kCritHttp500},
    {"http_502", kCritHttp502},
    {"http_503", kCritHttp503},
    {"http_504", kCritHttp504},
    {"http_403", kCritHttp403},
    {"http_404", kCritHttp404},
    {"http_429", kCritHttp429},
    {"non_idempotent", kCritNonIdempotent},
};

std::uint32_t statusBit(int status) {
  switch (status) {
    case 403:
      return kCritHttp403;
    case 404:
      return kCritHttp404;
    case 429:
      return kCritHttp429;
    case 500:
      return kCritHttp500;
    case 502:
      return kCritHttp502;
    case 503:
      return kCritHttp503;
    case 504:
      return kCritHttp504;
    default:
      return 0;  // any other status is final (a 400 means the request itself is wrong)
  }
}

constexpr long long kMaxRetryAfterS = 86400;

}  // namespace

bool parseCriteria(const std::vector<std::string>& names, std::uint32_t& out, std::string& bad) {
  out = 0;
  for (const auto& n : names) {
    bool found = false;
    for (const auto& c : kCriteria)
      if (n == c.name) {
        out |= c.bit;
        found = true;
      }
    if (!found) {
      bad = n;
      return false;
    }
  }
  return true;
}

std::vector<std::string> criterionNames() {
  std::vector<std::string> out;
  for (const auto& c : kCriteria) out.emplace_back(c.name);
  return out;
}

RetryDecision decide(const RetryPolicy& policy, const AttemptFault& fault) {
  std::uint32_t bit = 0;
  switch (fault.kind) {
    case AttemptFault::Kind::None:
      return {};
    case AttemptFault::Kind::Network:
      bit = kCritError;
      break;
    case AttemptFault::Kind::Timeout:
      bit = kCritTimeout;
      break;
    case AttemptFault::Kind::Invalid:
      bit = kCritInvalidHeader;
      break;
    case AttemptFault::Kind::Status:
      bit = statusBit(fault.status);
      break;
  }
  const bool matched = bit != 0 && (policy.criteria & bit) != 0;
  RetryDecision d;
  d.target_failed = matched;
  d.retry = matched && (!fault.sent || (policy.criteria & kCritNonIdempotent) != 0);
  return d;
}

int parseRetryAfterMs(std::string_view value, long long now_unix_s) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return -1;
  long long seconds = -1;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    if (value.size() > 9) return static_cast<int>(kMaxRetryAfterS * 1000);
    seconds = std::stoll(std::string(value));
  } else {
    // IMF-fixdate, e.g. "Wed, 21 Oct 2015 07:28:00 GMT".
    std::tm tm{};
    const std::string text(value);
    const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end != '\0') return -1;
    seconds = static_cast<long long>(timegm(&tm)) - now_unix_s;
    if (seconds < 0) seconds = 0;
  }
  if (seconds > kMaxRetryAfterS) seconds = kMaxRetryAfterS;
  return static_cast<int>(seconds * 1000);
}

AttemptFault faultOf(const UpstreamError& error) {
  AttemptFault f;
  f.sent = error.sent;
  switch (error.kind) {
    case UpstreamFailure::None:
      f.kind = AttemptFault::Kind::None;
      break;
    case UpstreamFailure::Connect:
    case UpstreamFailure::Closed:
      f.kind = AttemptFault::Kind::Network;
      break;
    case UpstreamFailure::Timeout:
      f.kind = AttemptFault::Kind::Timeout;
      break;
    case UpstreamFailure::Protocol:
      f.kind = AttemptFault::Kind::Invalid;
      break;
  }
  return f;
}

}  // namespace aigw::proxy
