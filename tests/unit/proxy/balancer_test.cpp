// ai-proxy-advanced's balancer and retry policy as pure units: the algorithms' choices, passive
// health, Retry-After, and which faults move to the next target.
#include <doctest/doctest.h>

#include <map>
#include <thread>

#include "proxy/balancer.hpp"
#include "proxy/retry_policy.hpp"

using namespace aigw::proxy;
using Clock = Balancer::Clock;

namespace {

BalancerConfig config(BalanceAlgorithm a, std::vector<int> weights) {
  BalancerConfig c;
  c.algorithm = a;
  c.weights = std::move(weights);
  return c;
}

constexpr std::uint64_t kAll = ~std::uint64_t{0};

}  // namespace

TEST_CASE("round-robin: weighted and smooth") {
  Balancer b(config(BalanceAlgorithm::RoundRobin, {3, 1}));
  std::string order;
  for (int i = 0; i < 8; ++i) order += static_cast<char>('A' + b.pick(0, kAll, "").target);
  // nginx's smooth weighted round-robin: B is spread out, never after three A's in a row twice.
  CHECK(order == "AABAAABA");
  std::map<int, int> count;
  for (int i = 0; i < 400; ++i) ++count[b.pick(0, kAll, "").target];
  CHECK(count[0] == 300);
  CHECK(count[1] == 100);
  // Tried targets are skipped.
  for (int i = 0; i < 10; ++i) CHECK(b.pick(0b01, kAll, "").target == 1);
  CHECK(b.pick(0b11, kAll, "").target == -1);
  // Allowed restricts.
  for (int i = 0; i < 10; ++i) CHECK(b.pick(0, 0b10, "").target == 1);
}

TEST_CASE("priority: the heaviest group first, the next only when it is exhausted") {
  BalancerConfig c = config(BalanceAlgorithm::Priority, {100, 100, 50});
  c.max_fails = 1;
  c.fail_timeout_ms = 60000;
  Balancer b(c);
  std::map<int, int> count;
  for (int i = 0; i < 10; ++i) ++count[b.pick(0, kAll, "").target];
  CHECK(count[0] == 5);
  CHECK(count[1] == 5);
  CHECK(count[2] == 0);
  CHECK(b.pick(0b011, kAll, "").target == 2);
  // One of the first group down: the other takes everything.
  b.begin(0);
  b.end(0, AttemptReport{true});
  for (int i = 0; i < 5; ++i) CHECK(b.pick(0, kAll, "").target == 1);
}

TEST_CASE("health: max_fails within fail_timeout takes a target out, then it is tried again") {
  BalancerConfig c = config(BalanceAlgorithm::RoundRobin, {1, 1});
  c.max_fails = 2;
  c.fail_timeout_ms = 1000;
  Balancer b(c);
  const auto t0 = Clock::now();
  b.begin(0);
  b.end(0, AttemptReport{true}, t0);
  CHECK(b.available(0, t0));  // one failure of two
  b.begin(0);
  b.end(0, AttemptReport{true}, t0);
  CHECK_FALSE(b.available(0, t0 + std::chrono::milliseconds(999)));
  for (int i = 0; i < 4; ++i)
    CHECK(b.pick(0, kAll, "", t0 + std::chrono::milliseconds(10)).target == 1);
  CHECK(b.available(0, t0 + std::chrono::milliseconds(1000)));
  // Everyone out: no target, and how long until the first is back.
  b.begin(1);
  b.end(1, AttemptReport{true}, t0);
  b.begin(1);
  b.end(1, AttemptReport{true}, t0);
  auto none = b.pick(0, kAll, "", t0 + std::chrono::milliseconds(500));
  CHECK(none.target == -1);
  CHECK_FALSE(none.rate_limited);
  CHECK(none.wait == std::chrono::milliseconds(500));
  // A success resets the count.
  BalancerConfig c2 = c;
  Balancer b2(c2);
  b2.begin(0);
  b2.end(0, AttemptReport{true}, t0);
  b2.begin(0);
  b2.end(0, AttemptReport{false}, t0);
  b2.begin(0);
  b2.end(0, AttemptReport{true}, t0);
  CHECK(b2.available(0, t0));
}

TEST_CASE("Retry-After holds a target even without max_fails") {
  Balancer b(config(BalanceAlgorithm::RoundRobin, {1}));
  const auto t0 = Clock::now();
  AttemptReport r;
  r.retry_after_ms = 7000;
  b.begin(0);
  b.end(0, r, t0);
  auto choice = b.pick(0, kAll, "", t0 + std::chrono::seconds(1));
  CHECK(choice.target == -1);
  CHECK(choice.rate_limited);
  CHECK(choice.wait == std::chrono::seconds(6));
  CHECK(b.pick(0, kAll, "", t0 + std::chrono::seconds(7)).target == 0);
}

TEST_CASE("consistent-hashing: a key keeps its target; only a lost target's keys move") {
  BalancerConfig c = config(BalanceAlgorithm::ConsistentHashing, {1, 1, 1});
  c.max_fails = 1;
  c.fail_timeout_ms = 60000;
  Balancer b(c);
  std::map<std::string, int> first;
  std::map<int, int> spread;
  for (int k = 0; k < 300; ++k) {
    const std::string key = "user-" + std::to_string(k);
    first[key] = b.pick(0, kAll, key).target;
    ++spread[first[key]];
    CHECK(b.pick(0, kAll, key).target == first[key]);
  }
  for (int t = 0; t < 3; ++t) CHECK(spread[t] > 60);
  b.begin(1);
  b.end(1, AttemptReport{true});
  for (const auto& [key, target] : first) {
    const int now = b.pick(0, kAll, key).target;
    if (target != 1)
      CHECK(now == target);
    else
      CHECK(now != 1);
  }
}

TEST_CASE("least-connections, lowest-latency, lowest-usage") {
  Balancer lc(config(BalanceAlgorithm::LeastConnections, {1, 2}));
  lc.begin(1);
  lc.begin(1);
  CHECK(lc.pick(0, kAll, "").target == 0);  // 1/1 vs 3/2
  lc.begin(0);
  CHECK(lc.pick(0, kAll, "").target == 1);  // 2/1 vs 3/2
  CHECK(lc.inFlight(1) == 2);

  BalancerConfig lat = config(BalanceAlgorithm::LowestLatency, {1, 1});
  lat.latency = LatencyStrategy::E2e;
  Balancer ll(lat);
  AttemptReport slow, fast;
  slow.latency_ms = 300;
  fast.latency_ms = 20;
  ll.begin(0);
  ll.end(0, slow);
  ll.begin(1);
  ll.end(1, fast);
  for (int i = 0; i < 5; ++i) CHECK(ll.pick(0, kAll, "").target == 1);
  CHECK(ll.latencyEstimate(1) == doctest::Approx(20));
  // tpot divides by the completion tokens.
  BalancerConfig tp = config(BalanceAlgorithm::LowestLatency, {1, 1});
  Balancer tpot(tp);
  AttemptReport many, few;
  many.latency_ms = 1000;
  many.completion_tokens = 100;  // 10 ms per token
  few.latency_ms = 100;
  few.completion_tokens = 2;  // 50 ms per token
  tpot.begin(0);
  tpot.end(0, many);
  tpot.begin(1);
  tpot.end(1, few);
  CHECK(tpot.pick(0, kAll, "").target == 0);

  BalancerConfig usage = config(BalanceAlgorithm::LowestUsage, {1, 1});
  usage.usage = UsageStrategy::Cost;
  usage.input_cost = {10, 1};
  usage.output_cost = {10, 1};
  Balancer lu(usage);
  AttemptReport tokens;
  tokens.prompt_tokens = 10;
  tokens.completion_tokens = 10;
  lu.begin(0);
  lu.end(0, tokens);  // 200 micro-units
  lu.begin(1);
  lu.end(1, tokens);  // 20
  CHECK(lu.pick(0, kAll, "").target == 1);
}

TEST_CASE("picking is safe from many threads at once") {
  Balancer b(config(BalanceAlgorithm::LeastConnections, {1, 1, 1, 1}));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        const int target = b.pick(0, kAll, "").target;
        b.begin(target);
        b.end(target, AttemptReport{});
      }
    });
  for (auto& t : threads) t.join();
  for (int t = 0; t < 4; ++t) CHECK(b.inFlight(t) == 0);
}

TEST_CASE("retry policy: Kong's failover_criteria with nginx's non_idempotent rule") {
  RetryPolicy kong_default;  // error, timeout
  using K = AttemptFault::Kind;
  // Refused before sending: retried even for a POST.
  CHECK(decide(kong_default, {K::Network, false, 0}).retry);
  CHECK(decide(kong_default, {K::Timeout, false, 0}).retry);
  // After sending, only with non_idempotent.
  CHECK_FALSE(decide(kong_default, {K::Network, true, 0}).retry);
  CHECK(decide(kong_default, {K::Network, true, 0}).target_failed);
  CHECK_FALSE(decide(kong_default, {K::Status, true, 503}).retry);
  CHECK_FALSE(decide(kong_default, {K::Status, true, 503}).target_failed);

  RetryPolicy all;
  std::string bad;
  REQUIRE(parseCriteria({"error", "timeout", "invalid_header", "http_429", "http_500", "http_502",
                         "http_503", "http_504", "http_403", "http_404", "non_idempotent"},
                        all.criteria, bad));
  for (int s : {403, 404, 429, 500, 502, 503, 504}) CHECK(decide(all, {K::Status, true, s}).retry);
  // A 400 (context length, content filter) or 401 is about the request: never retried.
  for (int s : {400, 401, 413, 422, 501}) CHECK_FALSE(decide(all, {K::Status, true, s}).retry);
  CHECK(decide(all, {K::Invalid, true, 0}).retry);
  CHECK_FALSE(decide(all, {K::None, true, 0}).retry);
  CHECK_FALSE(parseCriteria({"http_418"}, all.criteria, bad));
  CHECK(bad == "http_418");
}

TEST_CASE("Retry-After: seconds or an HTTP-date, bounded") {
  CHECK(parseRetryAfterMs("7", 0) == 7000);
  CHECK(parseRetryAfterMs(" 0 ", 0) == 0);
  CHECK(parseRetryAfterMs("999999999999", 0) == 86400 * 1000);
  // Wed, 21 Oct 2015 07:28:00 GMT = 1445412480
  CHECK(parseRetryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470) == 10000);
  CHECK(parseRetryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490) == 0);
  CHECK(parseRetryAfterMs("soon", 0) == -1);
  CHECK(parseRetryAfterMs("", 0) == -1);
}
