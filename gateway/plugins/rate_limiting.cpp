// rate-limiting (Kong priority 910): requests per second, minute, hour, day, month and year,
// per consumer (or credential, ip, header, path, service, route), counted in this process
// (`policy: local`) or in Redis shared by every gateway process (`policy: redis`). Kong's schema
// (https://developer.konghq.com/plugins/rate-limiting/reference/), on ai-proxy routes and on
// routes proxied to a service alike.
//
// Each request that reaches the plugin is checked against every configured period and, when
// all have room, counted in all of them in one atomic step (the counter stores of
// gateway/ratelimit/, shared with ai-rate-limiting-advanced): concurrent requests of all
// processes see each other, so a window admits exactly its limit. A refused request is not
// counted (as in Kong, which counts only after the check passed).
//
// Windows are fixed, as in Kong: second to day aligned on the epoch (UTC), month and year on
// the calendar (ratelimit/periods.hpp). Headers as Kong sends them: X-RateLimit-Limit-<Period>
// and X-RateLimit-Remaining-<Period> for every period, RateLimit-Limit / -Remaining / -Reset
// for the period with the least left (the longer one on a tie), Retry-After on a refusal.
//
// Counters are kept per plugin (a global plugin counts all routes together, a route's plugin
// that route), like Kong's keys made of the plugin's route and service.
//
// `fault_tolerant` (default true): when Redis does not answer within redis.timeout the request
// goes through without headers (the store logs once when Redis goes away and once when it is
// back); false answers 503. Nothing waits longer than the timeout.
#include <algorithm>
#include <cmath>

#include "plugins/builtin.hpp"
#include "plugins/rate_limit_common.hpp"
#include "plugins/schema_fields.hpp"
#include "proxy/deferred.hpp"
#include "proxy/request_context.hpp"
#include "ratelimit/periods.hpp"

namespace aigw::plugins {

namespace {

using config::Field;
using config::FieldType;
using config::Schema;
using Json = nlohmann::json;
using ratelimit::Period;

const Schema& rateLimitingSchema() {
  static const Schema schema = [] {
    using namespace fields;
    std::vector<Field> f;
    for (Period p : ratelimit::kPeriods) {
      Field limit = number(ratelimit::periodName(p), FieldType::Number);
      f.push_back(std::move(limit));
    }
    for (Field extra :
         {str("limit_by",
              {"consumer", "consumer-group", "credential", "ip", "service", "header", "path",
               "route"},
              "consumer"),
          str("header_name"), str("path"), str("policy", {"local", "cluster", "redis"}, "local"),
          rec("redis", limits::redisSchema()), boolean("fault_tolerant", true),
          boolean("hide_client_headers", false), integer("error_code", 429, 0, 999),
          str("error_message", {}, "API rate limit exceeded"),
          number("sync_rate", FieldType::Number)})
      f.push_back(std::move(extra));
    return Schema{std::move(f)};
  }();
  return schema;
}

// One request's counters (one per configured period) and the store's answer.
struct RequestState {
  std::vector<ratelimit::Counter> counters;
  std::vector<ratelimit::WindowKey> windows;
  std::vector<Period> periods;
  std::optional<ratelimit::AdmitResult> result;
};

// The admission on the store's thread, awaited by the pipeline.
class AdmitWork : public proxy::Deferred {
 public:
  AdmitWork(std::shared_ptr<const ratelimit::CounterStore> store, std::shared_ptr<RequestState> st)
      : store_(std::move(store)), st_(std::move(st)) {}
  void start(std::function<void()> done) override {
    store_->admit(st_->counters, st_->windows, 1,
                  [st = st_, done = std::move(done)](ratelimit::AdmitResult r) {
                    st->result = std::move(r);
                    done();
                  });
  }

 private:
  std::shared_ptr<const ratelimit::CounterStore> store_;
  std::shared_ptr<RequestState> st_;
};

std::string whole(double v) {
  return std::to_string(std::llround(v));
}

class RateLimiting : public Plugin {
 public:
  std::vector<std::pair<Period, double>> limits;  // configured periods, shortest first
  limits::IdentifyBy by;
  std::string ns;
  std::shared_ptr<const ratelimit::CounterStore> store;
  bool fault_tolerant = true, hide_headers = false;
  int error_code = 429;
  std::string error_message;

  Verdict onAccess(proxy::RequestContext& ctx) const override {
    std::shared_ptr<RequestState> st = ctx.stateOf<RequestState>(this);
    if (!st) {
      st = prepare(ctx);
      ctx.plugin_state.emplace_back(this, st);
      if (!store->synchronous()) {
        ctx.deferred = std::make_shared<AdmitWork>(store, st);
        return Verdict::Await;
      }
      store->admit(st->counters, st->windows, 1,
                   [&st](ratelimit::AdmitResult r) { st->result = std::move(r); });
    }
    if (!st->result) return Verdict::Continue;
    return decide(ctx, *st);
  }

 private:
  std::shared_ptr<RequestState> prepare(const proxy::RequestContext& ctx) const {
    auto st = std::make_shared<RequestState>();
    const std::string who = ns + ":" + limits::identify(ctx, by);
    const double now = ratelimit::nowSeconds();
    for (const auto& [period, limit] : limits) {
      const ratelimit::WindowKey w = ratelimit::periodKey(who, period, now);
      st->counters.push_back({who, limit, w.ttl_s});
      st->windows.push_back(w);
      st->periods.push_back(period);
    }
    return st;
  }

  Verdict decide(proxy::RequestContext& ctx, const RequestState& st) const {
    const ratelimit::AdmitResult& r = *st.result;
    if (!r.reachable) {
      if (fault_tolerant) return Verdict::Continue;
      ApiError e;
      e.status = 503;
      e.message = "rate-limit counters are unavailable: " + r.error;
      ctx.error = std::move(e);
      return Verdict::Respond;
    }
    const bool admitted = r.blocked < 0;
    // Kong's choice for the RateLimit-* headers: the period with the least left, the longer
    // one on a tie; Retry-After is its reset.
    std::size_t shown = 0;
    double shown_left = 0;
    for (std::size_t i = 0; i < st.counters.size() && i < r.used.size(); ++i) {
      // This request counts in every period when admitted; a refused one only shows 0 left in
      // the period that refused it.
      const double taken = admitted || static_cast<int>(i) == r.blocked ? 1 : 0;
      const double left = std::max(0.0, st.counters[i].limit - r.used[i] - taken);
      if (i == 0 || left <= shown_left) {
        shown = i;
        shown_left = left;
      }
      if (!hide_headers) {
        const std::string title = ratelimit::periodTitle(st.periods[i]);
        ctx.response_headers.push_back({"X-RateLimit-Limit-" + title, whole(st.counters[i].limit)});
        ctx.response_headers.push_back({"X-RateLimit-Remaining-" + title, whole(left)});
      }
    }
    const int reset = std::max(1, static_cast<int>(std::ceil(st.windows[shown].reset_s)));
    if (!hide_headers) {
      ctx.response_headers.push_back({"RateLimit-Limit", whole(st.counters[shown].limit)});
      ctx.response_headers.push_back({"RateLimit-Remaining", whole(shown_left)});
      ctx.response_headers.push_back({"RateLimit-Reset", std::to_string(reset)});
    }
    if (admitted) return Verdict::Continue;
    ApiError e;
    e.status = error_code;
    e.message = error_message;
    e.type = "rate_limit_error";
    e.code = "rate_limit_exceeded";
    e.retry_after_seconds = reset;
    ctx.error = std::move(e);
    return Verdict::Respond;
  }
};

std::shared_ptr<const Plugin> createRateLimiting(const Json& cfg, const std::string& path,
                                                 config::ConfigErrors& errors) {
  const std::size_t errors_before = errors.list().size();
  auto plugin = std::make_shared<RateLimiting>();
  std::string names;
  for (Period p : ratelimit::kPeriods) {
    const char* name = ratelimit::periodName(p);
    names += std::string(names.empty() ? "" : ", ") + "'config." + name + "'";
    const Json v = cfg.value(name, Json());
    if (!v.is_number()) continue;
    const double limit = v.get<double>();
    if (limit <= 0) {
      errors.add(config::joinPath(path, name), "value must be greater than 0");
      continue;
    }
    plugin->limits.emplace_back(p, limit);
  }
  if (plugin->limits.empty() && errors.list().size() == errors_before)
    errors.add(path, "at least one of these fields must be non-empty: " + names);
  // Kong: a longer period may not allow fewer requests than a shorter one.
  for (std::size_t i = 0; i < plugin->limits.size(); ++i)
    for (std::size_t j = i + 1; j < plugin->limits.size(); ++j)
      if (plugin->limits[j].second < plugin->limits[i].second) {
        char text[256];
        std::snprintf(text, sizeof text,
                      "The limit for %s(%.1f) cannot be lower than the limit for %s(%.1f)",
                      ratelimit::periodName(plugin->limits[j].first), plugin->limits[j].second,
                      ratelimit::periodName(plugin->limits[i].first), plugin->limits[i].second);
        errors.add(path, text);
        i = j = plugin->limits.size();  // Kong reports the first pair only
        break;
      }
  plugin->by.by = cfg.value("limit_by", "consumer");
  plugin->by.header_name = cfg.value("header_name", "");
  plugin->by.path = cfg.value("path", "");
  if (plugin->by.by == "header" && plugin->by.header_name.empty())
    errors.add(config::joinPath(path, "header_name"), "required when limit_by is header");
  if (plugin->by.by == "path" && plugin->by.path.empty())
    errors.add(config::joinPath(path, "path"), "required when limit_by is path");
  plugin->fault_tolerant = cfg.value("fault_tolerant", true);
  plugin->hide_headers = cfg.value("hide_client_headers", false);
  plugin->error_code = cfg.value("error_code", 429);
  plugin->error_message = cfg.value("error_message", "API rate limit exceeded");
  // Every process must count this plugin under the same keys: the namespace comes from where
  // the plugin is and what it says, not from chance.
  plugin->ns = "aigw:rl:" + limits::stableHash(path + cfg.dump());
  const std::string policy = cfg.value("policy", "local");
  if (policy == "cluster") {
    errors.add(config::joinPath(path, "policy"),
               "cluster keeps counters in Kong's database, which aigw does not have; use local "
               "or redis");
  } else {
    plugin->store = limits::makeStore(policy == "redis", cfg, path, errors, errors_before);
  }
  if (errors.list().size() != errors_before) return nullptr;
  return plugin;
}

}  // namespace

const PluginSpec& rateLimitingSpec() {
  static const PluginSpec spec{"rate-limiting", 910, rateLimitingSchema, createRateLimiting};
  return spec;
}

}  // namespace aigw::plugins
