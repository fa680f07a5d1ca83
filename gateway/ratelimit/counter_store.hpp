// Rate-limit counters: windows of a limit, counted in this process (LocalStore) or in a Redis
// server that several gateway processes share (RedisStore). The plugins (ai-rate-limiting-
// advanced) build the keys; a store only counts.
//
// admit() is one atomic check-and-reserve over several counters: every counter must still have
// room (used < limit, and used + reserve <= limit when something is reserved), and then
// `reserve` is added to each. On Redis this is one Lua script, so concurrent requests of all
// processes see each other's reservations: under any concurrency a window admits what its
// limit allows, not one request more per process. add() corrects a counter afterwards (the
// tokens an answer really used, minus what was reserved for it).
//
// Windows: fixed (the counter of [start, start + size)), or sliding (Kong's approximation: the
// current window plus the previous one weighted by how much of it still overlaps the last
// `size` seconds).
//
// Thread-safety: stores are shared by every event loop; LocalStore locks one of 64 shards per
// counter, RedisStore hands work to its own thread and never blocks the caller.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace aigw::ratelimit {

// One counter to check: its key (without the window), limit and window length.
struct Counter {
  std::string key;
  double limit = 0;
  int window_s = 60;
};

// A counter in one window: what admit() checked and reserved in, for add() to correct later.
struct WindowKey {
  std::string current;         // key of the window the time fell in
  std::string previous;        // key of the window before it (sliding)
  double previous_weight = 0;  // 0 for fixed windows
  int ttl_s = 0;               // how long the current window's counter must live
  double reset_s = 0;          // seconds until the current window ends
};

// Window keys for `counters` at `now_s` (Unix seconds, fractional).
std::vector<WindowKey> windowKeys(const std::vector<Counter>& counters, bool sliding, double now_s);
double nowSeconds();

struct AdmitResult {
  bool reachable = true;  // false: the store did not answer (error says why)
  std::string error;
  int blocked = -1;          // index of the first counter without room; -1 = admitted
  std::vector<double> used;  // per counter, before the reservation
};

class CounterStore {
 public:
  virtual ~CounterStore() = default;
  // Checks every counter and, when all have room, reserves `reserve` in each. `done` is called
  // exactly once: before admit() returns (local) or later from the store's thread (Redis).
  virtual void admit(const std::vector<Counter>& counters, const std::vector<WindowKey>& windows,
                     double reserve, std::function<void(AdmitResult)> done) const = 0;
  // Adds `amount` (may be negative) to each window's current counter; never waits.
  virtual void add(const std::vector<WindowKey>& windows, double amount) const = 0;
  // Whether admit() answers before it returns.
  virtual bool synchronous() const = 0;
};

// In-process counters. Windows that ended are swept as shards grow, so memory is bounded by
// the live (identifier, limit) pairs.
std::shared_ptr<const CounterStore> makeLocalStore();

// Kong's `redis` block.
struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string username, password;
  int database = 0;
  int timeout_ms = 2000;  // connect, send and read, each
};

// Counters in Redis, atomic on the server (Lua). One connection and one thread per store; a
// request whose answer does not come within timeout_ms, or any request while the server is
// unreachable, gets reachable = false. After a failure a new connection is tried at most once
// per second; transitions (unreachable / reachable again) are written to stderr once each.
std::shared_ptr<const CounterStore> makeRedisStore(RedisOptions options);

}  // namespace aigw::ratelimit
