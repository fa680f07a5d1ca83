#include "observability/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <functional>
#include <vector>

#include "providers/common.hpp"
#include "proxy/request_context.hpp"

namespace aigw::observability {

namespace {

// Label values are escaped as the exposition format requires.
std::string esc(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

namespace {

// The lookup key of a series, built in the calling thread's own buffer: a request that finds
// its series (all but the first of each) allocates nothing here.
template <typename... Parts>
const std::string& seriesKey(Parts&&... parts) {
  thread_local std::string key;
  key.clear();
  ((key += parts, key += '\x1f'), ...);
  return key;
}

}  // namespace

Metrics::Series& Metrics::series(const std::string& route, const std::string& provider,
                                 const std::string& model, int status) {
  char code[12] = {};  // room for any int, and the terminator
  std::to_chars(code, code + sizeof code - 1, status);
  const std::string& key = seriesKey(route, provider, model, code);
  Shard& shard = shards_[std::hash<std::string>{}(key) % shards_.size()];
  std::lock_guard lock(shard.mu);
  if (auto it = shard.series.find(key); it != shard.series.end()) return *it->second;
  auto& slot = shard.series[key];
  slot = std::make_unique<Series>();
  slot->route = route;
  slot->provider = provider;
  slot->model = model;
  slot->status = status;
  return *slot;
}

Metrics::AttemptSeries& Metrics::attemptSeries(const std::string& route,
                                               const std::string& provider,
                                               const std::string& model,
                                               const std::string& outcome) {
  const std::string& key = seriesKey(route, provider, model, outcome);
  AttemptShard& shard = attempt_shards_[std::hash<std::string>{}(key) % attempt_shards_.size()];
  std::lock_guard lock(shard.mu);
  if (auto it = shard.series.find(key); it != shard.series.end()) return *it->second;
  auto& slot = shard.series[key];
  slot = std::make_unique<AttemptSeries>();
  slot->route = route;
  slot->provider = provider;
  slot->model = model;
  slot->outcome = outcome;
  return *slot;
}

const std::string& Metrics::modelLabel(const std::string& route, const std::string& model) {
  static const std::string kOther = "other";
  ModelShard& shard = model_shards_[std::hash<std::string>{}(route) % model_shards_.size()];
  std::lock_guard lock(shard.mu);
  auto it = shard.per_route.find(route);
  if (it == shard.per_route.end()) it = shard.per_route.emplace(route, ModelSet{}).first;
  auto& seen = it->second;
  // Set elements never move: the label stays valid after the lock is released.
  if (auto known = seen.find(model); known != seen.end()) return *known;
  if (seen.size() >= kMaxModelsPerRoute) return kOther;
  return *seen.insert(model).first;
}

void Metrics::record(const proxy::RequestContext& ctx) {
  static const std::string kNone;
  const std::string& route =
      ctx.route >= 0 ? ctx.config->routes[static_cast<std::size_t>(ctx.route)].name : kNone;
  const std::string& provider = ctx.ai ? ctx.ai->provider_name : kNone;
  const std::string* model = &kNone;
  if (ctx.ai && ctx.ai->target && !ctx.ai->target->model.empty())
    model = &ctx.ai->target->model;  // configured
  else if (ctx.ai && !ctx.ai->call.model.empty())
    model = &modelLabel(route, ctx.ai->call.model);  // chosen by the client: bounded
  // Statuses the gateway itself sets; anything odd from a provider is folded.
  const int status = ctx.status >= 100 && ctx.status <= 599 ? ctx.status : 0;
  // Outcomes are a closed set ("ok", "error", "timeout", "invalid", "http_<status>"); models
  // are bounded like the request series'.
  for (const auto& a : ctx.attempts) {
    AttemptSeries& as = attemptSeries(route, a.provider, modelLabel(route, a.model), a.outcome);
    as.count.fetch_add(1, std::memory_order_relaxed);
    as.latency_sum_us.fetch_add(static_cast<std::uint64_t>(a.latency_ms * 1000),
                                std::memory_order_relaxed);
  }
  Series& s = series(route, provider, *model, status);
  s.requests.fetch_add(1, std::memory_order_relaxed);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - ctx.started)
          .count();
  std::size_t bucket = 0;
  while (bucket < kLatencyBucketsMs.size() && ms > kLatencyBucketsMs[bucket]) ++bucket;
  s.latency[bucket].fetch_add(1, std::memory_order_relaxed);
  s.latency_sum_us.fetch_add(static_cast<std::uint64_t>(ms * 1000), std::memory_order_relaxed);
  if (ctx.usage.prompt_tokens > 0)
    s.prompt_tokens.fetch_add(static_cast<std::uint64_t>(ctx.usage.prompt_tokens),
                              std::memory_order_relaxed);
  if (ctx.usage.completion_tokens > 0)
    s.completion_tokens.fetch_add(static_cast<std::uint64_t>(ctx.usage.completion_tokens),
                                  std::memory_order_relaxed);
  if (ctx.ai && ctx.usage.known()) {
    const double cost = providers::usageCost(ctx.usage, ctx.ai->target->options).value_or(0);
    if (cost > 0)
      s.cost_micros.fetch_add(static_cast<std::uint64_t>(cost * 1e6), std::memory_order_relaxed);
  }
}

std::string Metrics::render(std::uint64_t access_log_dropped) const {
  std::vector<const Series*> all;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (const auto& [k, s] : shard.series) all.push_back(s.get());
  }
  std::sort(all.begin(), all.end(), [](const Series* a, const Series* b) {
    return std::tie(a->route, a->provider, a->model, a->status) <
           std::tie(b->route, b->provider, b->model, b->status);
  });
  std::string out;
  auto labels = [](const Series& s) {
    return "route=\"" + esc(s.route) + "\",ai_provider=\"" + esc(s.provider) + "\",ai_model=\"" +
           esc(s.model) + "\"";
  };
  out +=
      "# HELP aigw_http_requests_total Requests answered by the proxy.\n# TYPE "
      "aigw_http_requests_total counter\n";
  for (const auto* s : all)
    out += "aigw_http_requests_total{" + labels(*s) + ",code=\"" + std::to_string(s->status) +
           "\"} " + std::to_string(s->requests.load()) + "\n";
  out +=
      "# HELP aigw_ai_llm_tokens_total Tokens reported by providers.\n# TYPE "
      "aigw_ai_llm_tokens_total counter\n";
  for (const auto* s : all) {
    if (s->provider.empty()) continue;
    out += "aigw_ai_llm_tokens_total{" + labels(*s) + ",token_type=\"prompt_tokens\"} " +
           std::to_string(s->prompt_tokens.load()) + "\n";
    out += "aigw_ai_llm_tokens_total{" + labels(*s) + ",token_type=\"completion_tokens\"} " +
           std::to_string(s->completion_tokens.load()) + "\n";
  }
  out +=
      "# HELP aigw_ai_llm_cost_total Cost from input_cost/output_cost (per 1M tokens).\n# TYPE "
      "aigw_ai_llm_cost_total counter\n";
  for (const auto* s : all)
    if (s->cost_micros.load() > 0)
      out += "aigw_ai_llm_cost_total{" + labels(*s) + "} " +
             std::to_string(s->cost_micros.load() / 1e6) + "\n";
  out +=
      "# HELP aigw_request_latency_ms Time from request to the end of the answer.\n# TYPE "
      "aigw_request_latency_ms histogram\n";
  for (const auto* s : all) {
    std::uint64_t cumulative = 0;
    const std::string l = labels(*s) + ",code=\"" + std::to_string(s->status) + "\"";
    for (std::size_t i = 0; i < kLatencyBucketsMs.size(); ++i) {
      cumulative += s->latency[i].load();
      std::string le = std::to_string(kLatencyBucketsMs[i]);
      le.erase(le.find_last_not_of('0') + 1);
      if (le.back() == '.') le.pop_back();
      out += "aigw_request_latency_ms_bucket{" + l + ",le=\"" + le + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    cumulative += s->latency[kLatencyBucketsMs.size()].load();
    out += "aigw_request_latency_ms_bucket{" + l + ",le=\"+Inf\"} " + std::to_string(cumulative) +
           "\n";
    out += "aigw_request_latency_ms_sum{" + l + "} " +
           std::to_string(s->latency_sum_us.load() / 1000.0) + "\n";
    out += "aigw_request_latency_ms_count{" + l + "} " + std::to_string(cumulative) + "\n";
  }
  std::vector<const AttemptSeries*> attempts;
  for (const auto& shard : attempt_shards_) {
    std::lock_guard lock(shard.mu);
    for (const auto& [k, s] : shard.series) attempts.push_back(s.get());
  }
  std::sort(attempts.begin(), attempts.end(), [](const AttemptSeries* a, const AttemptSeries* b) {
    return std::tie(a->route, a->provider, a->model, a->outcome) <
           std::tie(b->route, b->provider, b->model, b->outcome);
  });
  out +=
      "# HELP aigw_upstream_attempts_total Upstream attempts, by target and outcome (failover "
      "makes several per request).\n# TYPE aigw_upstream_attempts_total counter\n";
  auto attemptLabels = [](const AttemptSeries& a) {
    return "route=\"" + esc(a.route) + "\",ai_provider=\"" + esc(a.provider) + "\",ai_model=\"" +
           esc(a.model) + "\",outcome=\"" + esc(a.outcome) + "\"";
  };
  for (const auto* a : attempts)
    out += "aigw_upstream_attempts_total{" + attemptLabels(*a) + "} " +
           std::to_string(a->count.load()) + "\n";
  out +=
      "# HELP aigw_upstream_attempt_latency_ms_sum Time spent in upstream attempts.\n# TYPE "
      "aigw_upstream_attempt_latency_ms_sum counter\n";
  for (const auto* a : attempts)
    out += "aigw_upstream_attempt_latency_ms_sum{" + attemptLabels(*a) + "} " +
           std::to_string(a->latency_sum_us.load() / 1000.0) + "\n";
  out +=
      "# HELP aigw_access_log_dropped_total Access-log lines dropped because the writer fell "
      "behind.\n"
      "# TYPE aigw_access_log_dropped_total counter\naigw_access_log_dropped_total " +
      std::to_string(access_log_dropped) + "\n";
  return out;
}

}  // namespace aigw::observability
