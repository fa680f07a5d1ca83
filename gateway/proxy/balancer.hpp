// The balancer of ai-proxy-advanced: which of a route's targets takes the next attempt, and
// what each attempt taught us about a target (passive health, Retry-After, latency, usage).
//
// Algorithms (Kong's names): round-robin (weighted, smooth: 3:1 gives A A B A, not A A A B),
// least-connections (fewest attempts in flight per unit of weight), lowest-latency (decayed
// average of e2e latency or of time per output token), lowest-usage (tokens or cost sent to a
// target, per unit of weight), consistent-hashing (rendezvous hashing of a header's value:
// the same value keeps its target while it is up, and only the keys of a target that goes
// down move), priority (targets grouped by weight, highest first; the next group only when
// every target of the current one is down or already tried for this request).
//
// Health: a target is skipped while it cools down after `max_fails` failures within
// `fail_timeout` (0 = never), and before the time its provider gave in Retry-After (always
// honoured), then tried again.
//
// Thread-safety: one Balancer per ai-proxy-advanced instance, shared by every event loop. The
// configuration is immutable; the per-target state is atomics only (relaxed: each value is an
// estimate, no invariant spans two of them), so picking and reporting never lock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace aigw::proxy {

enum class BalanceAlgorithm {
  RoundRobin,
  LeastConnections,
  LowestLatency,
  LowestUsage,
  ConsistentHashing,
  Priority,
};
enum class LatencyStrategy { Tpot, E2e };
enum class UsageStrategy { Total, Prompt, Completion, Cost };

struct BalancerConfig {
  BalanceAlgorithm algorithm = BalanceAlgorithm::RoundRobin;
  LatencyStrategy latency = LatencyStrategy::Tpot;
  UsageStrategy usage = UsageStrategy::Total;
  std::vector<int> weights;  // one per target, 1..65535
  int max_fails = 0;         // failures within fail_timeout that take a target out; 0 = off
  int fail_timeout_ms = 10000;
  // Per target, per 1M tokens (lowest-usage with the cost strategy).
  std::vector<double> input_cost, output_cost;
};

// What one attempt on a target came to, for the target's statistics.
struct AttemptReport {
  bool failed = false;      // counts towards max_fails
  int retry_after_ms = -1;  // the provider's Retry-After, when it sent one
  double latency_ms = -1;   // request sent -> answer complete (or first chunk for streams)
  long long prompt_tokens = -1;
  long long completion_tokens = -1;
};

// The bound on targets per balancer (a bitmask of those tried for one request).
inline constexpr std::size_t kMaxTargets = 64;

class Balancer {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Balancer(BalancerConfig config);
  ~Balancer();
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;

  std::size_t size() const { return config_.weights.size(); }
  const BalancerConfig& config() const { return config_; }

  struct Choice {
    int target = -1;  // -1: no target can take the request now
    // With target -1: when the earliest one can, and whether that is a provider's Retry-After
    // (which a request must not run ahead of) rather than a health cooldown.
    Clock::duration wait{};
    bool rate_limited = false;
  };
  // A target not in `tried` (bit i = target i) and not cooling down. `allowed` (bit mask)
  // restricts the candidates. `hash_key` is the consistent-hashing key ("" = round-robin).
  Choice pick(std::uint64_t tried, std::uint64_t allowed, std::string_view hash_key,
              Clock::time_point now = Clock::now()) const;

  // An attempt starts / ends on `target` (least-connections counts what is in flight).
  void begin(int target) const;
  void end(int target, const AttemptReport& report, Clock::time_point now = Clock::now()) const;

  // For tests and /metrics: the decayed latency estimate (ms, 0 = none yet), in-flight count,
  // usage and whether the target is cooling down.
  double latencyEstimate(int target) const;
  int inFlight(int target) const;
  bool available(int target, Clock::time_point now = Clock::now()) const;

 private:
  struct TargetState;
  bool usable(int target, std::int64_t now_ms) const;
  int pickRoundRobin(std::uint64_t candidates) const;
  int pickByScore(std::uint64_t candidates) const;
  int pickHashed(std::uint64_t candidates, std::string_view key) const;

  BalancerConfig config_;
  std::vector<int> schedule_;  // smooth weighted round-robin order, as target indexes
  std::unique_ptr<TargetState[]> state_;
  mutable std::atomic<std::uint64_t> next_{0};
};

}  // namespace aigw::proxy
