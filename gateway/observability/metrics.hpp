// Prometheus metrics of the proxy: requests, tokens, cost and latency per route, provider and
// model. Series are created on first use in one of 16 shards (a short lock to find or insert)
// and then updated with atomics; rendering reads the atomics.
// Label values are bounded: route and provider come from the configuration; the model is the
// configured one, or (for a route that lets clients choose) one of the first
// kMaxModelsPerRoute distinct models asked for on that route, then "other". So no client can
// grow /metrics or the gateway's memory by inventing model names.
// Thread-safety: record() and render() are safe from any thread.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace aigw::proxy {
struct RequestContext;
}

namespace aigw::observability {

class Metrics {
 public:
  static constexpr std::array<double, 12> kLatencyBucketsMs = {5,   10,   25,   50,   100,   250,
                                                               500, 1000, 2500, 5000, 10000, 30000};

  static constexpr std::size_t kMaxModelsPerRoute = 20;

  void record(const proxy::RequestContext& ctx);
  // Prometheus text exposition format (version 0.0.4).
  std::string render(std::uint64_t access_log_dropped) const;

 private:
  struct Series {
    std::string route, provider, model;
    int status = 0;
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> prompt_tokens{0}, completion_tokens{0};
    std::atomic<std::uint64_t> cost_micros{0};  // cost × 1e6, in the unit of input_cost/output_cost
    std::array<std::atomic<std::uint64_t>, kLatencyBucketsMs.size() + 1> latency{};
    std::atomic<std::uint64_t> latency_sum_us{0};
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::unique_ptr<Series>> series;
  };
  // Upstream attempts (several per request with ai-proxy-advanced's failover).
  struct AttemptSeries {
    std::string route, provider, model, outcome;
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint64_t> latency_sum_us{0};
  };
  struct AttemptShard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::unique_ptr<AttemptSeries>> series;
  };
  AttemptSeries& attemptSeries(const std::string& route, const std::string& provider,
                               const std::string& model, const std::string& outcome);
  std::array<AttemptShard, 16> attempt_shards_;
  using ModelSet = std::unordered_set<std::string>;
  struct ModelShard {
    std::mutex mu;
    std::unordered_map<std::string, ModelSet> per_route;
  };
  Series& series(const std::string& route, const std::string& provider, const std::string& model,
                 int status);
  // The model label for a client-chosen model on `route`: itself while the route has seen
  // fewer than kMaxModelsPerRoute, else "other". The reference stays valid for the Metrics'
  // lifetime (labels are never removed).
  const std::string& modelLabel(const std::string& route, const std::string& model);
  std::array<Shard, 16> shards_;
  std::array<ModelShard, 16> model_shards_;
};

}  // namespace aigw::observability
