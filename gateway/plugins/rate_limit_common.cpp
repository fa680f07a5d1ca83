#include "plugins/rate_limit_common.hpp"

#include <nlohmann/json.hpp>

#include "config/errors.hpp"
#include "plugins/schema_fields.hpp"
#include "proxy/request_context.hpp"

namespace aigw::plugins::limits {

std::shared_ptr<const config::Schema> redisSchema() {
  using namespace fields;
  static const auto schema = record(
      {str("host", {}, "127.0.0.1"), integer("port", 6379, 1, 65535), str("username"),
       secret("password"), integer("database", 0, 0, 1000), integer("timeout", 2000, 1, 600000),
       boolean("ssl", false), boolean("ssl_verify", false), str("server_name")});
  return schema;
}

std::shared_ptr<const ratelimit::CounterStore> makeStore(bool redis, const nlohmann::json& cfg,
                                                         const std::string& path,
                                                         config::ConfigErrors& errors,
                                                         std::size_t errors_before) {
  if (!redis) return ratelimit::makeLocalStore();
  auto options = redisOptions(cfg, path, errors);
  if (!options || errors.list().size() != errors_before) return nullptr;
  return ratelimit::makeRedisStore(std::move(*options));
}

std::optional<ratelimit::RedisOptions> redisOptions(const nlohmann::json& cfg,
                                                    const std::string& path,
                                                    config::ConfigErrors& errors) {
  const nlohmann::json r = cfg.value("redis", nlohmann::json::object());
  if (r.value("ssl", false)) {
    errors.add(config::joinPath(config::joinPath(path, "redis"), "ssl"),
               "TLS to Redis needs hiredis 1.0 or later; this build's hiredis has none");
    return std::nullopt;
  }
  ratelimit::RedisOptions o;
  o.host = r.value("host", "127.0.0.1");
  o.port = r.value("port", 6379);
  o.username = r.value("username", "");
  o.password = r.value("password", "");
  o.database = r.value("database", 0);
  o.timeout_ms = r.value("timeout", 2000);
  return o;
}

std::string stableHash(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return std::to_string(h);
}

std::string shortKey(const std::string& value) {
  if (value.size() <= 128) return value;
  return "h" + stableHash(value);
}

std::string identify(const proxy::RequestContext& ctx, const IdentifyBy& how) {
  const auto& cfg = *ctx.config;
  const std::string& by = how.by;
  if (by == "consumer" && ctx.consumer >= 0) {
    const auto& c = cfg.consumers[static_cast<std::size_t>(ctx.consumer)];
    return "consumer:" + (c.username.empty() ? c.id : c.username);
  }
  if ((by == "credential" || by == "consumer") && ctx.credential >= 0)
    return "credential:" +
           stableHash(cfg.keyauth_credentials[static_cast<std::size_t>(ctx.credential)].key);
  if (by == "consumer-group" && ctx.consumer >= 0) {
    const auto& groups = cfg.consumers[static_cast<std::size_t>(ctx.consumer)].groups;
    if (!groups.empty())
      return "group:" + cfg.consumer_groups[static_cast<std::size_t>(groups[0])].name;
  }
  if (by == "header")
    if (const std::string* v = http::findHeader(ctx.request.headers, how.header_name))
      return "header:" + shortKey(*v);
  if (by == "path" && (how.path.empty() || ctx.request.path == how.path))
    return "path:" + shortKey(ctx.request.path);
  if ((by == "service" || by == "route") && ctx.route >= 0) {
    const auto& route = cfg.routes[static_cast<std::size_t>(ctx.route)];
    if (by == "route") return "route:" + (route.name.empty() ? route.id : route.name);
    if (route.service >= 0) {
      const auto& s = cfg.services[static_cast<std::size_t>(route.service)];
      return "service:" + (s.name.empty() ? s.id : s.name);
    }
  }
  return "ip:" + ctx.request.remote_addr;
}

}  // namespace aigw::plugins::limits
