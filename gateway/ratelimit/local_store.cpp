#include <array>
#include <chrono>
#include <cmath>
#include <mutex>
#include <unordered_map>

#include "ratelimit/counter_store.hpp"

namespace aigw::ratelimit {

std::vector<WindowKey> windowKeys(const std::vector<Counter>& counters, bool sliding,
                                  double now_s) {
  std::vector<WindowKey> out;
  out.reserve(counters.size());
  for (const auto& c : counters) {
    const long long size = std::max(1, c.window_s);
    const long long start = static_cast<long long>(std::floor(now_s / size)) * size;
    WindowKey w;
    w.current = c.key + ":" + std::to_string(size) + ":" + std::to_string(start);
    const double elapsed = now_s - static_cast<double>(start);
    w.reset_s = static_cast<double>(size) - elapsed;
    if (sliding) {
      w.previous = c.key + ":" + std::to_string(size) + ":" + std::to_string(start - size);
      w.previous_weight = std::clamp((static_cast<double>(size) - elapsed) / size, 0.0, 1.0);
    }
    // A sliding window still reads this counter as the previous one during the next window.
    w.ttl_s = static_cast<int>(sliding ? 2 * size + 1 : size + 1);
    out.push_back(std::move(w));
  }
  return out;
}

double nowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

namespace {

class LocalStore : public CounterStore {
 public:
  void admit(const std::vector<Counter>& counters, const std::vector<WindowKey>& windows,
             double reserve, std::function<void(AdmitResult)> done) const override {
    AdmitResult r;
    const double now = nowSeconds();
    // Shards are locked in index order, so two requests on overlapping counters cannot deadlock
    // and the check-and-reserve is atomic across all of them.
    std::array<bool, kShards> locked{};
    for (const auto& w : windows) locked[shardOf(w.current)] = true;
    for (const auto& w : windows)
      if (!w.previous.empty()) locked[shardOf(w.previous)] = true;
    for (std::size_t i = 0; i < kShards; ++i)
      if (locked[i]) shards_[i].mu.lock();
    for (std::size_t i = 0; i < windows.size(); ++i) {
      const WindowKey& w = windows[i];
      double used = value(w.current, now);
      if (w.previous_weight > 0) used += value(w.previous, now) * w.previous_weight;
      r.used.push_back(used);
      const double limit = counters[i].limit;
      if (r.blocked < 0 && (used >= limit || (reserve > 0 && used + reserve > limit)))
        r.blocked = static_cast<int>(i);
    }
    if (r.blocked < 0 && reserve > 0)
      for (const auto& w : windows) addLocked(w, reserve, now);
    for (std::size_t i = 0; i < kShards; ++i)
      if (locked[i]) shards_[i].mu.unlock();
    done(std::move(r));
  }

  void add(const std::vector<WindowKey>& windows, double amount) const override {
    const double now = nowSeconds();
    for (const auto& w : windows) {
      std::lock_guard lock(shards_[shardOf(w.current)].mu);
      addLocked(w, amount, now);
    }
  }

  bool synchronous() const override { return true; }

 private:
  static constexpr std::size_t kShards = 64;
  // Past this many counters a shard sweeps the windows that ended.
  static constexpr std::size_t kSweepAt = 4096;
  struct Entry {
    double value = 0;
    double expires_s = 0;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Entry> counters;
    std::size_t sweep_at = kSweepAt;
  };

  static std::size_t shardOf(const std::string& key) {
    return std::hash<std::string>{}(key) % kShards;
  }

  double value(const std::string& key, double now) const {
    const auto& map = shards_[shardOf(key)].counters;
    auto it = map.find(key);
    return it == map.end() || it->second.expires_s < now ? 0 : it->second.value;
  }

  void addLocked(const WindowKey& w, double amount, double now) const {
    Shard& s = shards_[shardOf(w.current)];
    Entry& e = s.counters[w.current];
    if (e.expires_s < now) e.value = 0;
    e.value += amount;
    e.expires_s = now + w.ttl_s;
    if (s.counters.size() >= s.sweep_at) {
      std::erase_if(s.counters, [now](const auto& kv) { return kv.second.expires_s < now; });
      s.sweep_at = std::max(kSweepAt, s.counters.size() * 2);
    }
  }

  mutable std::array<Shard, kShards> shards_;
};

}  // namespace

std::shared_ptr<const CounterStore> makeLocalStore() {
  return std::make_shared<LocalStore>();
}

}  // namespace aigw::ratelimit
