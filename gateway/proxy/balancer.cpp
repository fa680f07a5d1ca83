#include "proxy/balancer.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>

namespace aigw::proxy {

namespace {

// Longest round-robin schedule kept (Kong's `slots` default); weights are scaled down to it.
constexpr std::size_t kMaxSchedule = 10000;
// How fast the latency average forgets: a sample's weight halves in about 7 s.
constexpr double kLatencyDecayMs = 10000;

std::int64_t toMs(Balancer::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// splitmix64: a strong 64-bit mix, for rendezvous hashing.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// nginx's smooth weighted round-robin, unrolled once into a fixed order.
std::vector<int> smoothSchedule(std::vector<int> weights) {
  long long total = std::accumulate(weights.begin(), weights.end(), 0LL);
  int g = 0;
  for (int w : weights) g = std::gcd(g, w);
  if (g > 1)
    for (int& w : weights) w /= g;
  total = std::accumulate(weights.begin(), weights.end(), 0LL);
  if (total > static_cast<long long>(kMaxSchedule)) {
    for (int& w : weights)
      w = std::max(1, static_cast<int>(static_cast<long long>(w) * kMaxSchedule / total));
    total = std::accumulate(weights.begin(), weights.end(), 0LL);
  }
  std::vector<int> order;
  std::vector<long long> current(weights.size(), 0);
  for (long long n = 0; n < total; ++n) {
    std::size_t best = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
      current[i] += weights[i];
      if (current[i] > current[best]) best = i;
    }
    current[best] -= total;
    order.push_back(static_cast<int>(best));
  }
  return order;
}

}  // namespace

struct Balancer::TargetState {
  std::atomic<int> active{0};
  std::atomic<int> fails{0};
  std::atomic<std::int64_t> fails_since_ms{std::numeric_limits<std::int64_t>::min()};
  std::atomic<std::int64_t> down_until_ms{std::numeric_limits<std::int64_t>::min()};
  std::atomic<std::int64_t> hold_until_ms{std::numeric_limits<std::int64_t>::min()};
  std::atomic<double> latency{0};
  std::atomic<std::int64_t> latency_at_ms{0};
  std::atomic<std::uint64_t> usage{0};
};

Balancer::Balancer(BalancerConfig config)
    : config_(std::move(config)),
      schedule_(smoothSchedule(config_.weights)),
      state_(std::make_unique<TargetState[]>(config_.weights.size())) {}

Balancer::~Balancer() = default;

bool Balancer::usable(int t, std::int64_t now_ms) const {
  const auto& s = state_[static_cast<std::size_t>(t)];
  return now_ms >= s.down_until_ms.load(std::memory_order_relaxed) &&
         now_ms >= s.hold_until_ms.load(std::memory_order_relaxed);
}

bool Balancer::available(int target, Clock::time_point now) const {
  return usable(target, toMs(now));
}

Balancer::Choice Balancer::pick(std::uint64_t tried, std::uint64_t allowed,
                                std::string_view hash_key, Clock::time_point now) const {
  const std::int64_t now_ms = toMs(now);
  std::uint64_t open = 0, candidates = 0;
  for (std::size_t i = 0; i < size(); ++i) {
    const std::uint64_t bit = std::uint64_t{1} << i;
    if ((allowed & bit) == 0 || (tried & bit) != 0) continue;
    open |= bit;
    if (usable(static_cast<int>(i), now_ms)) candidates |= bit;
  }
  Choice choice;
  if (candidates == 0) {
    // Nobody can take it now: say when the first one could, and why it waits.
    std::int64_t earliest = std::numeric_limits<std::int64_t>::max();
    for (std::size_t i = 0; i < size(); ++i) {
      if ((open & (std::uint64_t{1} << i)) == 0) continue;
      const auto& s = state_[i];
      const std::int64_t down = s.down_until_ms.load(std::memory_order_relaxed);
      const std::int64_t hold = s.hold_until_ms.load(std::memory_order_relaxed);
      const std::int64_t until = std::max(down, hold);
      if (until < earliest) {
        earliest = until;
        choice.rate_limited = hold >= down;
      }
    }
    if (earliest != std::numeric_limits<std::int64_t>::max())
      choice.wait = std::chrono::milliseconds(std::max<std::int64_t>(0, earliest - now_ms));
    return choice;
  }
  switch (config_.algorithm) {
    case BalanceAlgorithm::RoundRobin:
      choice.target = pickRoundRobin(candidates);
      break;
    case BalanceAlgorithm::Priority: {
      // Groups by weight, heaviest first; within the group, round-robin.
      int best_weight = 0;
      for (std::size_t i = 0; i < size(); ++i)
        if (candidates & (std::uint64_t{1} << i))
          best_weight = std::max(best_weight, config_.weights[i]);
      std::uint64_t group = 0;
      for (std::size_t i = 0; i < size(); ++i)
        if ((candidates & (std::uint64_t{1} << i)) && config_.weights[i] == best_weight)
          group |= std::uint64_t{1} << i;
      const int count = std::popcount(group);
      int skip = static_cast<int>(next_.fetch_add(1, std::memory_order_relaxed) %
                                  static_cast<std::uint64_t>(count));
      for (std::size_t i = 0; i < size(); ++i)
        if ((group & (std::uint64_t{1} << i)) && skip-- == 0) choice.target = static_cast<int>(i);
      break;
    }
    case BalanceAlgorithm::ConsistentHashing:
      choice.target =
          hash_key.empty() ? pickRoundRobin(candidates) : pickHashed(candidates, hash_key);
      break;
    default:
      choice.target = pickByScore(candidates);
      break;
  }
  return choice;
}

int Balancer::pickRoundRobin(std::uint64_t candidates) const {
  const std::uint64_t n = next_.fetch_add(1, std::memory_order_relaxed);
  const std::size_t len = schedule_.size();
  for (std::size_t k = 0; k < len; ++k) {
    const int t = schedule_[(n + k) % len];
    if (candidates & (std::uint64_t{1} << t)) return t;
  }
  return -1;
}

int Balancer::pickByScore(std::uint64_t candidates) const {
  // Ties (e.g. no data yet) rotate, so equal targets share the load.
  const std::size_t start =
      static_cast<std::size_t>(next_.fetch_add(1, std::memory_order_relaxed) % size());
  int best = -1;
  double best_score = 0;
  for (std::size_t k = 0; k < size(); ++k) {
    const std::size_t i = (start + k) % size();
    if ((candidates & (std::uint64_t{1} << i)) == 0) continue;
    const auto& s = state_[i];
    const double weight = config_.weights[i];
    const double active = s.active.load(std::memory_order_relaxed);
    double score = 0;
    switch (config_.algorithm) {
      case BalanceAlgorithm::LeastConnections:
        score = (active + 1) / weight;
        break;
      case BalanceAlgorithm::LowestLatency:
        // The decayed average, scaled by what is already in flight there (a slow-to-start
        // burst does not all land on the target that was fastest a moment ago).
        score = s.latency.load(std::memory_order_relaxed) * (active + 1);
        break;
      default:
        score = static_cast<double>(s.usage.load(std::memory_order_relaxed)) / weight;
        break;
    }
    if (best < 0 || score < best_score) {
      best = static_cast<int>(i);
      best_score = score;
    }
  }
  return best;
}

int Balancer::pickHashed(std::uint64_t candidates, std::string_view key) const {
  // Weighted rendezvous hashing: score = -weight / ln(u), u uniform in (0, 1) per (key, target).
  const std::uint64_t h = fnv1a(key);
  int best = -1;
  double best_score = 0;
  for (std::size_t i = 0; i < size(); ++i) {
    if ((candidates & (std::uint64_t{1} << i)) == 0) continue;
    const std::uint64_t r = mix(h ^ mix(i + 1));
    const double u = (static_cast<double>(r >> 11) + 0.5) / 9007199254740992.0;  // (0, 1)
    const double score = -static_cast<double>(config_.weights[i]) / std::log(u);
    if (best < 0 || score > best_score) {
      best = static_cast<int>(i);
      best_score = score;
    }
  }
  return best;
}

void Balancer::begin(int target) const {
  state_[static_cast<std::size_t>(target)].active.fetch_add(1, std::memory_order_relaxed);
}

void Balancer::end(int target, const AttemptReport& report, Clock::time_point now) const {
  auto& s = state_[static_cast<std::size_t>(target)];
  s.active.fetch_sub(1, std::memory_order_relaxed);
  const std::int64_t now_ms = toMs(now);
  if (report.retry_after_ms >= 0) {
    const std::int64_t until = now_ms + report.retry_after_ms;
    std::int64_t cur = s.hold_until_ms.load(std::memory_order_relaxed);
    while (cur < until && !s.hold_until_ms.compare_exchange_weak(cur, until)) {
    }
  }
  if (report.failed) {
    if (config_.max_fails > 0) {
      // nginx's max_fails: that many failures within fail_timeout take the target out for
      // fail_timeout.
      const std::int64_t since = s.fails_since_ms.load(std::memory_order_relaxed);
      if (now_ms - since > config_.fail_timeout_ms) {
        s.fails_since_ms.store(now_ms, std::memory_order_relaxed);
        s.fails.store(0, std::memory_order_relaxed);
      }
      if (s.fails.fetch_add(1, std::memory_order_relaxed) + 1 >= config_.max_fails) {
        s.down_until_ms.store(now_ms + config_.fail_timeout_ms, std::memory_order_relaxed);
        s.fails.store(0, std::memory_order_relaxed);
      }
    }
    return;
  }
  s.fails.store(0, std::memory_order_relaxed);
  if (report.latency_ms >= 0) {
    double sample = report.latency_ms;
    if (config_.latency == LatencyStrategy::Tpot && report.completion_tokens > 0)
      sample /= static_cast<double>(report.completion_tokens);
    const std::int64_t last = s.latency_at_ms.exchange(now_ms, std::memory_order_relaxed);
    const double dt = static_cast<double>(std::max<std::int64_t>(0, now_ms - last));
    const double alpha = std::max(0.1, 1.0 - std::exp(-dt / kLatencyDecayMs));
    double cur = s.latency.load(std::memory_order_relaxed);
    double next = 0;
    do {
      next = cur <= 0 ? sample : cur + alpha * (sample - cur);
    } while (!s.latency.compare_exchange_weak(cur, next, std::memory_order_relaxed));
  }
  const long long p = std::max(0LL, report.prompt_tokens);
  const long long c = std::max(0LL, report.completion_tokens);
  std::uint64_t add = 0;
  switch (config_.usage) {
    case UsageStrategy::Total:
      add = static_cast<std::uint64_t>(p + c);
      break;
    case UsageStrategy::Prompt:
      add = static_cast<std::uint64_t>(p);
      break;
    case UsageStrategy::Completion:
      add = static_cast<std::uint64_t>(c);
      break;
    case UsageStrategy::Cost: {
      const std::size_t i = static_cast<std::size_t>(target);
      const double in = i < config_.input_cost.size() ? config_.input_cost[i] : 0;
      const double out = i < config_.output_cost.size() ? config_.output_cost[i] : 0;
      add = static_cast<std::uint64_t>(
          std::llround(static_cast<double>(p) * in + static_cast<double>(c) * out));  // micro-units
      break;
    }
  }
  if (add > 0) s.usage.fetch_add(add, std::memory_order_relaxed);
}

double Balancer::latencyEstimate(int target) const {
  return state_[static_cast<std::size_t>(target)].latency.load(std::memory_order_relaxed);
}

int Balancer::inFlight(int target) const {
  return state_[static_cast<std::size_t>(target)].active.load(std::memory_order_relaxed);
}

}  // namespace aigw::proxy
