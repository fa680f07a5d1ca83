// What rate-limiting and ai-rate-limiting-advanced share: Kong's `redis` block (schema and the
// store options it gives), whom a request is counted for (Kong's limit_by / identifier), and
// stable, bounded key parts (the same in every process that shares a Redis).
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "config/schema.hpp"
#include "ratelimit/counter_store.hpp"

namespace aigw::config {
class ConfigErrors;
}
namespace aigw::proxy {
struct RequestContext;
}

namespace aigw::plugins::limits {

// Kong's `redis` record: host, port, username, password, database, timeout, ssl, ...
std::shared_ptr<const config::Schema> redisSchema();

// The Redis options of a plugin's `redis` block (at `path`.redis); errors for what this build
// cannot do (TLS). nullopt when there were errors.
std::optional<ratelimit::RedisOptions> redisOptions(const nlohmann::json& cfg,
                                                    const std::string& path,
                                                    config::ConfigErrors& errors);

// The counters a plugin uses: Redis (`redis` = true, from its `redis` block) or this process's
// memory. Null when the redis block has errors, or when errors were reported since
// `errors_before` (a plugin that will not be created needs no connection).
std::shared_ptr<const ratelimit::CounterStore> makeStore(bool redis, const nlohmann::json& cfg,
                                                         const std::string& path,
                                                         config::ConfigErrors& errors,
                                                         std::size_t errors_before);

// FNV-1a: the same in every process and build (std::hash need not be).
std::string stableHash(std::string_view s);
// `value`, or its hash when longer than 128 bytes (bounded Redis keys).
std::string shortKey(const std::string& value);

// Whom a request is counted for. `by` is Kong's limit_by / identifier: consumer (falls back to
// the credential), consumer-group, credential, ip, header (header_name), path (only a request
// for exactly `path` when one is configured), service, route. Anything missing falls back to
// the client's address, as in Kong. Keyed by names, not ids: ids a decK file leaves out are
// generated per process, and every process sharing Redis must count one consumer under one
// key. A credential is hashed: its key is a secret and must not be stored in Redis.
struct IdentifyBy {
  std::string by = "consumer";
  std::string header_name;
  std::string path;
};
std::string identify(const proxy::RequestContext& ctx, const IdentifyBy& how);

}  // namespace aigw::plugins::limits
