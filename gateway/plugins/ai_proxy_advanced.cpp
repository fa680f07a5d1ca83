// ai-proxy-advanced (Kong priority 770): ai-proxy over several targets, with a balancer and
// failover. Each target is a full ai-proxy target (route_type, auth, model, logging) plus
// `weight` and `description`; `balancer` chooses the algorithm, retries, failover_criteria,
// passive health (max_fails / fail_timeout) and the timeouts. Kong's schema (3.10-3.14 docs:
// https://developer.konghq.com/plugins/ai-proxy-advanced/reference/).
//
// The plugin prepares the call like ai-proxy (each target is checked by an ai-proxy instance
// built from it, so the request rules are ai-proxy's exactly); the core's attempt loop
// (proxy/ai_exchange.hpp) picks targets through the balancer (proxy/balancer.hpp) and asks
// select() to point the call at each one it tries.
//
// Models: each target sends its own configured model, whatever model the client named (OpenAI
// SDKs always send one, and Kong users strip it with a pre-function before balancing). When the
// client's model is the model of some targets, only those are used (Kong 3.14 "select target
// models by request models"); a target without a model uses the client's.
//
// Not supported (config errors that say so): the `semantic` algorithm and `llm-accuracy`
// (they need an embeddings model and a vector database), and targets of different route_types.
#include <algorithm>
#include <bit>

#include "core/json.hpp"
#include "formats/models.hpp"
#include "plugins/builtin.hpp"
#include "plugins/llm_config.hpp"
#include "plugins/schema_fields.hpp"
#include "proxy/balancer.hpp"
#include "proxy/request_context.hpp"
#include "proxy/retry_policy.hpp"

namespace aigw::plugins {

namespace {

using config::Field;
using config::FieldType;
using config::Schema;
using Json = nlohmann::json;

// ai-proxy's own definition of a top-level field, so both plugins accept the same values.
Field fromAiProxy(const char* name) {
  if (const Field* f = aiProxySpec().schema().find(name)) return *f;
  return Field{name, FieldType::Any};
}

const Schema& advancedSchema() {
  static const Schema schema = [] {
    using namespace fields;
    std::vector<Field> target = llmFields();
    target.push_back(integer("weight", 100, 1, 65535));
    target.push_back(str("description"));
    Field criteria{"failover_criteria", FieldType::Array};
    criteria.element = FieldType::String;
    criteria.default_value = Json::array({"error", "timeout"});
    const double kMaxMs = 2147483646;
    auto balancer = record(
        {str("algorithm",
             {"round-robin", "consistent-hashing", "least-connections", "lowest-latency",
              "lowest-usage", "priority", "semantic"},
             "round-robin"),
         integer("connect_timeout", 60000, 1, kMaxMs), integer("read_timeout", 60000, 1, kMaxMs),
         integer("write_timeout", 60000, 1, kMaxMs), integer("retries", 5, 0, 32767),
         integer("slots", 10000, 10, 65536), str("hash_on_header", {}, "X-Kong-LLM-Request-ID"),
         str("latency_strategy", {"tpot", "e2e"}, "tpot"),
         str("tokens_count_strategy",
             {"total-tokens", "prompt-tokens", "completion-tokens", "cost", "llm-accuracy"},
             "total-tokens"),
         criteria, integer("max_fails", 0, 0, 32767), integer("fail_timeout", 10000, 1, kMaxMs)});
    Field targets = recordArray("targets", record(std::move(target)), proxy::kMaxTargets);
    targets.required = true;
    return Schema{{targets, rec("balancer", balancer), fromAiProxy("response_streaming"),
                   fromAiProxy("model_name_header"), fromAiProxy("max_request_body_size"),
                   fromAiProxy("llm_format"), Field{"embeddings", FieldType::Any},
                   Field{"vectordb", FieldType::Any}}};
  }();
  return schema;
}

struct TargetEntry {
  std::shared_ptr<const Plugin> proxy;  // ai-proxy for this target
  std::string model;                    // configured model name ("" = the client's)
};

class AiProxyAdvanced : public Plugin, public proxy::TargetSet {
 public:
  AiProxyAdvanced(std::vector<TargetEntry> targets, proxy::BalancerConfig balancer,
                  proxy::RetryPolicy policy, std::string hash_header, long long max_body,
                  bool preserve, std::string llm_format)
      : targets_(std::move(targets)),
        balancer_(std::move(balancer)),
        policy_(policy),
        hash_header_(std::move(hash_header)),
        max_body_(max_body),
        preserve_(preserve),
        llm_format_(std::move(llm_format)) {}

  Verdict onAccess(proxy::RequestContext& ctx) const override {
    // GET <route>/models: every target's model, in the route's client API shape (a preserve
    // route passes the GET on instead).
    const auto& req = ctx.request;
    if ((req.method == "GET" || req.method == "HEAD") && !preserve_) {
      if (auto id = formats::modelsPath(req.path)) {
        const auto answer = formats::modelsAnswer(routableModels(), *id, llm_format_);
        ctx.reply =
            proxy::Reply{answer.status, {{"Content-Type", "application/json"}}, answer.body};
        return Verdict::Respond;
      }
    }
    // The client's model picks its targets when some of them serve it.
    std::string client_model;
    if (ctx.ensureBody() && ctx.body.is_object())
      if (auto m = ctx.body.find("model"); m != ctx.body.end() && m->is_string())
        client_model = m->get<std::string>();
    std::uint64_t allowed = 0;
    if (!client_model.empty())
      for (std::size_t i = 0; i < targets_.size(); ++i)
        if (targets_[i].model == client_model) allowed |= std::uint64_t{1} << i;
    if (allowed == 0) allowed = ~std::uint64_t{0};
    const int first = std::countr_zero(allowed);
    ctx.ai.reset();
    std::optional<ApiError> refused = prepare(ctx, first, allowed, client_model);
    if (!refused) return Verdict::Continue;
    ctx.error = std::move(*refused);
    return Verdict::Respond;
  }

  std::vector<RoutableModel> routableModels() const override {
    std::vector<RoutableModel> models;
    for (const auto& t : targets_)
      for (auto& m : t.proxy->routableModels())
        if (std::none_of(models.begin(), models.end(), [&](const auto& k) { return k.id == m.id; }))
          models.push_back(std::move(m));
    return models;
  }

  std::size_t maxRequestBody() const override {
    return max_body_ > 0 ? static_cast<std::size_t>(max_body_) : 0;
  }

  std::vector<std::string> llmProviders() const override {
    std::vector<std::string> out;
    for (const auto& t : targets_)
      for (const auto& p : t.proxy->llmProviders())
        if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
    return out;
  }

  const proxy::Balancer& balancer() const override { return balancer_; }
  const proxy::RetryPolicy& retryPolicy() const override { return policy_; }
  const std::string& hashHeader() const override { return hash_header_; }

  std::optional<ApiError> select(proxy::RequestContext& ctx, int index) const override {
    const std::uint64_t allowed = ctx.ai ? ctx.ai->allowed_targets : ~std::uint64_t{0};
    const std::string client_model = ctx.ai ? ctx.ai->client_model : std::string();
    return prepare(ctx, index, allowed, client_model);
  }

 private:
  // Runs target `index`'s ai-proxy on the request (it rebuilds ctx.ai), the body's model set to
  // the target's own.
  std::optional<ApiError> prepare(proxy::RequestContext& ctx, int index, std::uint64_t allowed,
                                  const std::string& client_model) const {
    const TargetEntry& t = targets_[static_cast<std::size_t>(index)];
    if (ctx.body_parsed && ctx.body.is_object()) {
      if (!t.model.empty())
        ctx.body["model"] = t.model;
      else if (!client_model.empty())
        ctx.body["model"] = client_model;
    }
    std::optional<ApiError> saved_error = std::move(ctx.error);
    ctx.error.reset();
    const Verdict v = t.proxy->onAccess(ctx);
    std::optional<ApiError> refused;
    if (v != Verdict::Continue || !ctx.ai)
      refused = ctx.error ? std::move(*ctx.error) : ApiError::internal("target was not prepared");
    ctx.error = std::move(saved_error);
    if (refused) return refused;
    ctx.ai->targets = this;
    ctx.ai->target_index = index;
    ctx.ai->allowed_targets = allowed;
    ctx.ai->client_model = client_model;
    return std::nullopt;
  }

  std::vector<TargetEntry> targets_;
  proxy::Balancer balancer_;
  proxy::RetryPolicy policy_;
  std::string hash_header_;
  long long max_body_;
  bool preserve_;
  std::string llm_format_;  // the client API, whose shapes the model list takes
};

std::shared_ptr<const Plugin> createAdvanced(const Json& cfg, const std::string& path,
                                             config::ConfigErrors& errors) {
  const std::size_t errors_before = errors.list().size();
  const Json balancer = cfg.value("balancer", Json::object());
  const std::string bpath = config::joinPath(path, "balancer");
  const std::string algorithm = balancer.value("algorithm", "round-robin");
  const std::string tokens = balancer.value("tokens_count_strategy", "total-tokens");
  if (algorithm == "semantic")
    errors.add(config::joinPath(bpath, "algorithm"),
               "the semantic algorithm needs an embeddings model and a vector database, which "
               "aigw does not provide; choose another algorithm");
  if (tokens == "llm-accuracy")
    errors.add(config::joinPath(bpath, "tokens_count_strategy"),
               "llm-accuracy is not supported by aigw; use total-tokens, prompt-tokens, "
               "completion-tokens or cost");

  proxy::BalancerConfig bc;
  bc.algorithm = algorithm == "consistent-hashing"  ? proxy::BalanceAlgorithm::ConsistentHashing
                 : algorithm == "least-connections" ? proxy::BalanceAlgorithm::LeastConnections
                 : algorithm == "lowest-latency"    ? proxy::BalanceAlgorithm::LowestLatency
                 : algorithm == "lowest-usage"      ? proxy::BalanceAlgorithm::LowestUsage
                 : algorithm == "priority"          ? proxy::BalanceAlgorithm::Priority
                                                    : proxy::BalanceAlgorithm::RoundRobin;
  bc.latency = balancer.value("latency_strategy", "tpot") == "e2e" ? proxy::LatencyStrategy::E2e
                                                                   : proxy::LatencyStrategy::Tpot;
  bc.usage = tokens == "prompt-tokens"       ? proxy::UsageStrategy::Prompt
             : tokens == "completion-tokens" ? proxy::UsageStrategy::Completion
             : tokens == "cost"              ? proxy::UsageStrategy::Cost
                                             : proxy::UsageStrategy::Total;
  bc.max_fails = balancer.value("max_fails", 0);
  bc.fail_timeout_ms = balancer.value("fail_timeout", 10000);

  proxy::RetryPolicy policy;
  policy.retries = balancer.value("retries", 5);
  std::vector<std::string> names;
  for (const auto& n : balancer.value("failover_criteria", Json::array({"error", "timeout"})))
    if (n.is_string()) names.push_back(n.get<std::string>());
  std::string bad;
  if (!proxy::parseCriteria(names, policy.criteria, bad))
    errors.add(config::joinPath(bpath, "failover_criteria"),
               "unknown criterion \"" + bad +
                   "\"; expected one of: " + config::joinList(proxy::criterionNames()));

  // Every target as an ai-proxy config with the shared top-level fields and the timeouts.
  const int connect = balancer.value("connect_timeout", 60000);
  const int read = balancer.value("read_timeout", 60000);
  std::vector<TargetEntry> entries;
  const Json targets = cfg.value("targets", Json::array());
  const std::string tpath = config::joinPath(path, "targets");
  if (targets.empty()) errors.add(tpath, "at least one target is required");
  std::string route_type;
  bool any_cost = false;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const Json& t = targets[i];
    const std::string ipath = config::indexPath(tpath, i);
    Json inner = Json::object();
    for (const char* k : {"route_type", "auth", "model", "logging"})
      if (t.contains(k)) inner[k] = t[k];
    for (const char* k :
         {"response_streaming", "model_name_header", "max_request_body_size", "llm_format"})
      if (cfg.contains(k)) inner[k] = cfg[k];
    inner["timeouts"] = {{"connect_ms", connect}, {"first_byte_ms", read}, {"idle_ms", read}};
    const std::string rt = t.value("route_type", "");
    if (i == 0) {
      route_type = rt;
    } else if (rt != route_type) {
      errors.add(config::joinPath(ipath, "route_type"),
                 "every target must have the same route_type (targets[0] has " + route_type + ")");
    }
    Json normalized = config::validate(inner, aiProxySpec().schema(), ipath, errors);
    TargetEntry entry;
    entry.proxy = aiProxySpec().create(normalized, ipath, errors);
    const Json model = t.value("model", Json::object());
    entry.model = model.value("name", "");
    const Json options = model.value("options", Json::object());
    bc.weights.push_back(t.value("weight", 100));
    bc.input_cost.push_back(options.value("input_cost", 0.0));
    bc.output_cost.push_back(options.value("output_cost", 0.0));
    any_cost = any_cost || options.contains("input_cost") || options.contains("output_cost");
    entries.push_back(std::move(entry));
  }
  if (bc.usage == proxy::UsageStrategy::Cost && !any_cost)
    errors.add(config::joinPath(bpath, "tokens_count_strategy"),
               "cost needs model.options.input_cost / output_cost on the targets");
  if (errors.list().size() != errors_before) return nullptr;
  const std::string hash_header = bc.algorithm == proxy::BalanceAlgorithm::ConsistentHashing
                                      ? balancer.value("hash_on_header", "X-Kong-LLM-Request-ID")
                                      : std::string();
  return std::make_shared<AiProxyAdvanced>(std::move(entries), std::move(bc), policy, hash_header,
                                           cfg.value("max_request_body_size", 1048576LL),
                                           route_type == "preserve",
                                           cfg.value("llm_format", "openai"));
}

}  // namespace

const PluginSpec& aiProxyAdvancedSpec() {
  static const PluginSpec spec{"ai-proxy-advanced", 770, advancedSchema, createAdvanced};
  return spec;
}

}  // namespace aigw::plugins
