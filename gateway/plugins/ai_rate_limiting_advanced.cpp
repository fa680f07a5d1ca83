// ai-rate-limiting-advanced (Kong priority 905): token or cost limits per provider and window,
// per consumer (or credential, ip, header, path, service, consumer group), counted in this
// process (`strategy: local`) or in Redis shared by every gateway process (`strategy: redis`).
// Kong's schema (https://developer.konghq.com/plugins/ai-rate-limiting-advanced/reference/),
// legacy form: llm_providers[]{name, limit[], window_size[]}.
//
// What is counted (`tokens_count_strategy`): total_tokens, prompt_tokens, completion_tokens of
// the answer (streams: the usage read from the stream), or cost = (prompt * input_cost +
// completion * output_cost) / 1e6 with the model.options of the target that answered.
//
// When: the access hook checks every window of the providers the route's ai-proxy /
// ai-proxy-advanced may call, and reserves the request's estimated prompt tokens in each (one
// atomic step, so concurrent requests of all processes see each other). A window with nothing
// left rejects (429, Retry-After); so does one whose remainder is below the estimate, before
// the provider is called. After the answer, the log hook charges the real amount minus the
// reservation. As in Kong the answer's own tokens are known only afterwards: the request that
// crosses the limit is answered, the next one is refused.
//
// The estimate: a JSON body's message contents (strings and text parts) and `prompt`, one
// token per 4 characters plus 4 per message (OpenAI's rule of thumb for English); 0 for the
// completion_tokens and cost strategies (nothing is reserved; cost is charged afterwards).
//
// `fault_tolerant` (default true): when Redis does not answer within redis.timeout, the request
// goes through (the store writes one line to stderr when Redis goes away and one when it is
// back); false answers 503 instead. Either way nothing waits longer than the timeout.
#include <algorithm>
#include <cmath>

#include "plugins/builtin.hpp"
#include "plugins/rate_limit_common.hpp"
#include "plugins/schema_fields.hpp"
#include "proxy/deferred.hpp"
#include "proxy/request_context.hpp"
#include "ratelimit/counter_store.hpp"

namespace aigw::plugins {

namespace {

using config::Field;
using config::FieldType;
using config::Schema;
using Json = nlohmann::json;

const Schema& rateLimitSchema() {
  static const Schema schema = [] {
    using namespace fields;
    Field limit{"limit", FieldType::Array, true};
    limit.element = FieldType::Number;
    Field window{"window_size", FieldType::Array, true};
    window.element = FieldType::Integer;
    auto provider = record({required(str("name")), limit, window});
    Field providers = recordArray("llm_providers", provider, 32);
    providers.required = true;
    return Schema{
        {providers,
         str("tokens_count_strategy",
             {"total_tokens", "prompt_tokens", "completion_tokens", "cost"}, "total_tokens"),
         str("window_type", {"sliding", "fixed"}, "sliding"),
         str("identifier",
             {"consumer", "consumer-group", "credential", "ip", "header", "path", "service"},
             "consumer"),
         str("header_name"), str("path"), str("strategy", {"local", "redis"}, "local"),
         rec("redis", limits::redisSchema()), boolean("fault_tolerant", true),
         boolean("hide_client_headers", false), integer("error_code", 429, 0, 999),
         str("error_message", {}, "AI token rate limit exceeded for provider(s): "),
         boolean("error_hide_providers", false), str("namespace"),
         number("sync_rate", FieldType::Number), integer("retry_after_jitter_max", 0, 0),
         boolean("disable_penalty", false), maxRequestBodySize()}};
  }();
  return schema;
}

enum class Strategy { Total, Prompt, Completion, Cost };

struct ProviderLimits {
  std::string name;
  std::vector<double> limits;
  std::vector<int> windows;
};

// One request's counters (one per provider and window) and what it reserved in them.
struct RequestState {
  std::vector<ratelimit::Counter> counters;
  std::vector<ratelimit::WindowKey> windows;
  std::vector<std::string> provider_of;  // per counter
  double reserve = 0;
  std::optional<ratelimit::AdmitResult> result;
  bool admitted = false;
};

// The admission on the store's thread, awaited by the pipeline.
class AdmitWork : public proxy::Deferred {
 public:
  AdmitWork(std::shared_ptr<const ratelimit::CounterStore> store, std::shared_ptr<RequestState> st)
      : store_(std::move(store)), st_(std::move(st)) {}
  void start(std::function<void()> done) override {
    store_->admit(st_->counters, st_->windows, st_->reserve,
                  [st = st_, done = std::move(done)](ratelimit::AdmitResult r) {
                    st->result = std::move(r);
                    done();
                  });
  }

 private:
  std::shared_ptr<const ratelimit::CounterStore> store_;
  std::shared_ptr<RequestState> st_;
};

// Characters of the prompt a chat or completions body carries (see the file comment).
long long estimatePromptTokens(const Json& body) {
  if (!body.is_object()) return 0;
  std::size_t chars = 0, messages = 0;
  auto text = [&](const Json& v) {
    if (v.is_string()) {
      chars += v.get_ref<const std::string&>().size();
    } else if (v.is_array()) {
      for (const auto& part : v)
        if (part.is_object())
          if (auto t = part.find("text"); t != part.end() && t->is_string())
            chars += t->get_ref<const std::string&>().size();
    }
  };
  if (auto m = body.find("messages"); m != body.end() && m->is_array())
    for (const auto& msg : *m)
      if (msg.is_object()) {
        ++messages;
        if (auto c = msg.find("content"); c != msg.end()) text(*c);
      }
  if (auto p = body.find("prompt"); p != body.end()) text(*p);
  return static_cast<long long>((chars + 3) / 4 + 4 * messages);
}

class AiRateLimitingAdvanced : public Plugin {
 public:
  std::vector<ProviderLimits> providers;
  Strategy strategy = Strategy::Total;
  bool sliding = true;
  limits::IdentifyBy by;
  std::string ns;
  std::shared_ptr<const ratelimit::CounterStore> store;
  bool fault_tolerant = true, hide_headers = false, hide_providers = false;
  int error_code = 429;
  std::string error_message;

  Verdict onAccess(proxy::RequestContext& ctx) const override {
    std::shared_ptr<RequestState> st = ctx.stateOf<RequestState>(this);
    if (!st) {
      st = prepare(ctx);
      ctx.plugin_state.emplace_back(this, st);
      if (st->counters.empty()) return Verdict::Continue;
      if (!store->synchronous()) {
        ctx.deferred = std::make_shared<AdmitWork>(store, st);
        return Verdict::Await;
      }
      store->admit(st->counters, st->windows, st->reserve,
                   [&st](ratelimit::AdmitResult r) { st->result = std::move(r); });
    }
    if (!st->result) return Verdict::Continue;
    return decide(ctx, *st);
  }

  void onLog(const proxy::RequestContext& ctx) const override {
    std::shared_ptr<RequestState> st = ctx.stateOf<RequestState>(this);
    if (!st || !st->admitted) return;
    const double used = ctx.ai ? amount(ctx) : 0;
    for (std::size_t i = 0; i < st->counters.size(); ++i) {
      const bool answered = ctx.ai && ctx.ai->provider_name == st->provider_of[i];
      const double delta = (answered ? used : 0) - st->reserve;
      if (delta != 0) store->add({st->windows[i]}, delta);
    }
  }

 private:
  std::shared_ptr<RequestState> prepare(proxy::RequestContext& ctx) const {
    auto st = std::make_shared<RequestState>();
    // The providers the route's proxy plugin may call (it runs after this one).
    std::vector<std::string> called;
    if (ctx.chain)
      for (const auto* p : *ctx.chain)
        for (auto& name : p->impl->llmProviders()) called.push_back(std::move(name));
    const std::string who = ns + ":" + limits::identify(ctx, by);
    for (const auto& p : providers) {
      if (std::find(called.begin(), called.end(), p.name) == called.end()) continue;
      for (std::size_t i = 0; i < p.limits.size(); ++i) {
        st->counters.push_back({who + ":" + p.name, p.limits[i], p.windows[i]});
        st->provider_of.push_back(p.name);
      }
    }
    if (st->counters.empty()) return st;
    st->windows = ratelimit::windowKeys(st->counters, sliding, ratelimit::nowSeconds());
    if (strategy == Strategy::Total || strategy == Strategy::Prompt)
      st->reserve = static_cast<double>(ctx.ensureBody() ? estimatePromptTokens(ctx.body) : 0);
    return st;
  }

  double amount(const proxy::RequestContext& ctx) const {
    const double p = static_cast<double>(std::max(0LL, ctx.usage.prompt_tokens));
    const double c = static_cast<double>(std::max(0LL, ctx.usage.completion_tokens));
    switch (strategy) {
      case Strategy::Prompt:
        return p;
      case Strategy::Completion:
        return c;
      case Strategy::Cost: {
        const auto& o = ctx.ai->target->options;
        return (p * o.input_cost.value_or(0) + c * o.output_cost.value_or(0)) / 1e6;
      }
      case Strategy::Total:
        break;
    }
    return p + c;
  }

  Verdict decide(proxy::RequestContext& ctx, RequestState& st) const {
    const ratelimit::AdmitResult& r = *st.result;
    if (!r.reachable) {
      if (fault_tolerant) return Verdict::Continue;
      ApiError e;
      e.status = 503;
      e.message = "rate-limit counters are unavailable: " + r.error;
      ctx.error = std::move(e);
      return Verdict::Respond;
    }
    if (!hide_headers)
      for (std::size_t i = 0; i < st.counters.size() && i < r.used.size(); ++i) {
        const auto& c = st.counters[i];
        const std::string suffix = std::to_string(c.window_s) + "-" + st.provider_of[i];
        const double left = std::max(0.0, c.limit - r.used[i] - (r.blocked < 0 ? st.reserve : 0.0));
        ctx.response_headers.push_back({"X-AI-RateLimit-Limit-" + suffix, format(c.limit)});
        ctx.response_headers.push_back({"X-AI-RateLimit-Remaining-" + suffix, format(left)});
      }
    if (r.blocked < 0) {
      st.admitted = true;
      return Verdict::Continue;
    }
    const auto b = static_cast<std::size_t>(r.blocked);
    const int retry = std::max(1, static_cast<int>(std::ceil(st.windows[b].reset_s)));
    if (!hide_headers) {
      const std::string suffix = std::to_string(st.counters[b].window_s) + "-" + st.provider_of[b];
      ctx.response_headers.push_back({"X-AI-RateLimit-Reset-" + suffix, std::to_string(retry)});
      ctx.response_headers.push_back(
          {"X-AI-RateLimit-Retry-After-" + suffix, std::to_string(retry)});
    }
    std::vector<std::string> blocked;
    for (std::size_t i = 0; i < st.counters.size(); ++i)
      if (i < r.used.size() &&
          (r.used[i] >= st.counters[i].limit || r.used[i] + st.reserve > st.counters[i].limit) &&
          std::find(blocked.begin(), blocked.end(), st.provider_of[i]) == blocked.end())
        blocked.push_back(st.provider_of[i]);
    ApiError e;
    e.status = error_code;
    e.type = "rate_limit_error";
    e.code = "rate_limit_exceeded";
    e.message = error_message + (hide_providers ? std::string() : config::joinList(blocked));
    if (r.used[b] < st.counters[b].limit)
      e.message += " (this request's estimated " + format(st.reserve) +
                   " prompt tokens exceed the " + format(st.counters[b].limit - r.used[b]) +
                   " left)";
    e.retry_after_seconds = retry;
    ctx.error = std::move(e);
    return Verdict::Respond;
  }

  static std::string format(double v) {
    if (std::fabs(v - std::round(v)) < 1e-9) return std::to_string(std::llround(v));
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
  }
};

std::shared_ptr<const Plugin> createRateLimit(const Json& cfg, const std::string& path,
                                              config::ConfigErrors& errors) {
  const std::size_t errors_before = errors.list().size();
  auto plugin = std::make_shared<AiRateLimitingAdvanced>();
  const std::string ppath = config::joinPath(path, "llm_providers");
  const Json list = cfg.value("llm_providers", Json::array());
  if (list.empty()) errors.add(ppath, "at least one provider is required");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Json& p = list[i];
    const std::string ipath = config::indexPath(ppath, i);
    ProviderLimits pl;
    pl.name = p.value("name", "");
    if (!providers::findProvider(pl.name))
      errors.add(config::joinPath(ipath, "name"),
                 "unknown provider \"" + pl.name +
                     "\" (requestPrompt and customCost are not supported by aigw); expected one "
                     "of: " +
                     config::joinList(providers::providerNames()));
    for (const auto& l : p.value("limit", Json::array()))
      if (l.is_number()) pl.limits.push_back(l.get<double>());
    for (const auto& w : p.value("window_size", Json::array()))
      if (w.is_number_integer()) pl.windows.push_back(w.get<int>());
    if (pl.limits.empty() || pl.limits.size() != pl.windows.size())
      errors.add(ipath, "limit and window_size must be non-empty and of the same length");
    for (std::size_t k = 0; k < pl.windows.size(); ++k)
      if (pl.windows[k] < 1 || pl.windows[k] > 31536000)
        errors.add(config::indexPath(config::joinPath(ipath, "window_size"), k),
                   "a window is 1 to 31536000 seconds");
    for (std::size_t k = 0; k < pl.limits.size(); ++k)
      if (pl.limits[k] <= 0)
        errors.add(config::indexPath(config::joinPath(ipath, "limit"), k),
                   "a limit must be greater than 0");
    plugin->providers.push_back(std::move(pl));
  }
  const std::string strategy = cfg.value("tokens_count_strategy", "total_tokens");
  plugin->strategy = strategy == "prompt_tokens"       ? Strategy::Prompt
                     : strategy == "completion_tokens" ? Strategy::Completion
                     : strategy == "cost"              ? Strategy::Cost
                                                       : Strategy::Total;
  plugin->sliding = cfg.value("window_type", "sliding") == "sliding";
  plugin->by.by = cfg.value("identifier", "consumer");
  plugin->by.header_name = cfg.value("header_name", "");
  plugin->by.path = cfg.value("path", "");
  if (plugin->by.by == "header" && plugin->by.header_name.empty())
    errors.add(config::joinPath(path, "header_name"), "required when identifier is header");
  plugin->fault_tolerant = cfg.value("fault_tolerant", true);
  plugin->hide_headers = cfg.value("hide_client_headers", false);
  plugin->hide_providers = cfg.value("error_hide_providers", false);
  plugin->error_code = cfg.value("error_code", 429);
  plugin->error_message =
      cfg.value("error_message", "AI token rate limit exceeded for provider(s): ");
  // Counters of the same plugin in several processes must meet under the same keys: the
  // default namespace comes from where the plugin is and what it says, not from chance.
  plugin->ns = cfg.value("namespace", "");
  if (plugin->ns.empty()) plugin->ns = limits::stableHash(path + cfg.dump());
  plugin->ns = "aigw:ai-rl:" + plugin->ns;
  plugin->store = limits::makeStore(cfg.value("strategy", "local") == "redis", cfg, path, errors,
                                    errors_before);
  if (errors.list().size() != errors_before) return nullptr;
  return plugin;
}

}  // namespace

const PluginSpec& aiRateLimitingAdvancedSpec() {
  static const PluginSpec spec{"ai-rate-limiting-advanced", 905, rateLimitSchema, createRateLimit};
  return spec;
}

}  // namespace aigw::plugins
