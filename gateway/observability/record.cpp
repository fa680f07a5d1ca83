#include "observability/record.hpp"

#include <chrono>
#include <ctime>

#include "core/json.hpp"
#include "providers/common.hpp"
#include "proxy/request_context.hpp"

namespace aigw::observability {

namespace {

std::string isoNow() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[40];
  std::snprintf(out, sizeof(out), "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}

}  // namespace

std::string accessRecord(const proxy::RequestContext& ctx) {
  const double latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - ctx.started)
          .count();
  nlohmann::json r = {{"time", isoNow()},
                      {"method", ctx.request.method},
                      {"path", ctx.request.path},
                      {"status", ctx.status},
                      {"latency_ms", static_cast<long long>(latency_ms * 1000) / 1000.0},
                      {"client_ip", ctx.request.remote_addr}};
  if (ctx.route >= 0) r["route"] = ctx.config->routes[static_cast<std::size_t>(ctx.route)].name;
  // Kong's log serializer names the authenticated consumer (never its credential).
  if (ctx.consumer >= 0) {
    const auto& c = ctx.config->consumers[static_cast<std::size_t>(ctx.consumer)];
    r["consumer"] = {{"id", c.id}, {"username", c.username}};
  }
  if (ctx.ai) {
    r["provider"] = ctx.ai->provider_name;
    r["model"] = ctx.ai->call.model;
    r["stream"] = ctx.ai->call.stream;
    if (ctx.first_byte_ms >= 0)
      r["ttfb_ms"] = static_cast<long long>(ctx.first_byte_ms * 1000) / 1000.0;
    if (ctx.usage.known()) {
      // OpenAI's usage shape, cached and reasoning details included when reported.
      r["usage"] = providers::usageJson(ctx.usage);
      if (auto cost = providers::usageCost(ctx.usage, ctx.ai->target->options)) r["cost"] = *cost;
    }
  }
  // Every upstream attempt (failover makes several): target, status, outcome, latency.
  if (ctx.attempts.size() > 1 || (ctx.ai && ctx.ai->targets)) {
    nlohmann::json attempts = nlohmann::json::array();
    for (const auto& a : ctx.attempts) {
      nlohmann::json e = {{"provider", a.provider},
                          {"model", a.model},
                          {"outcome", a.outcome},
                          {"latency_ms", static_cast<long long>(a.latency_ms * 1000) / 1000.0}};
      if (a.target >= 0) e["target"] = a.target;
      if (a.status > 0) e["status"] = a.status;
      attempts.push_back(std::move(e));
    }
    r["attempts"] = std::move(attempts);
  }
  if (!ctx.outcome.empty()) r["error"] = ctx.outcome;
  // Fields a plugin's config explicitly asked to log (e.g. ai-prompt-template's
  // log_original_request), under Kong's names.
  if (!ctx.log_fields.empty()) r.update(ctx.log_fields, true);
  return json::dump(r);
}

}  // namespace aigw::observability
