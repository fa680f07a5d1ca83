// RedisStore: one hiredis connection driven by one thread of its own, so no event loop ever
// waits on Redis. Requests queue up; the thread sends everything queued as one pipeline and
// reads the replies in order. Every socket operation is bounded by timeout_ms.
#include <hiredis/hiredis.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

#include "ratelimit/counter_store.hpp"

namespace aigw::ratelimit {

namespace {

using Clock = std::chrono::steady_clock;

// KEYS: per counter, the current and the previous window. ARGV: [1] counters, [2] reserve, then
// per counter i (from 1): [3i] limit, [3i+1] previous window's weight, [3i+2] ttl. Returns
// {blocked index or -1, used_1, used_2, ...} (used as strings: Lua numbers would be truncated).
constexpr const char* kAdmitScript = R"lua(
local n = tonumber(ARGV[1])
local reserve = tonumber(ARGV[2])
local out = {-1}
for i = 1, n do
  local used = tonumber(redis.call('GET', KEYS[2*i-1]) or '0')
  local w = tonumber(ARGV[3*i+1])
  if w > 0 then used = used + w * tonumber(redis.call('GET', KEYS[2*i]) or '0') end
  out[i+1] = tostring(used)
  local limit = tonumber(ARGV[3*i])
  if out[1] == -1 and (used >= limit or (reserve > 0 and used + reserve > limit)) then
    out[1] = i - 1
  end
end
if out[1] == -1 and reserve > 0 then
  for i = 1, n do
    redis.call('INCRBYFLOAT', KEYS[2*i-1], ARGV[2])
    redis.call('EXPIRE', KEYS[2*i-1], ARGV[3*i+2])
  end
end
return out
)lua";

// KEYS: the current windows. ARGV: [1] amount, then one ttl per key.
constexpr const char* kAddScript = R"lua(
for i = 1, #KEYS do
  redis.call('INCRBYFLOAT', KEYS[i], ARGV[1])
  redis.call('EXPIRE', KEYS[i], ARGV[i+1])
end
return 1
)lua";

// At most this many queued requests; beyond it a request fails at once (the server is too
// slow for the traffic), so memory stays bounded.
constexpr std::size_t kMaxQueue = 10000;
constexpr std::size_t kMaxBatch = 256;
constexpr auto kReconnectEvery = std::chrono::seconds(1);

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

struct Job {
  std::vector<std::string> argv;
  // reply is null when the request failed (error says why).
  std::function<void(const redisReply*, const std::string& error)> done;
};

class RedisWorker {
 public:
  explicit RedisWorker(RedisOptions o) : options_(std::move(o)), thread_([this] { run(); }) {}
  ~RedisWorker() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();  // bounded: the thread is at most in one timed socket operation
  }

  void submit(Job job) {
    {
      std::lock_guard lock(mu_);
      if (queue_.size() < kMaxQueue) {
        queue_.push_back(std::move(job));
        job.done = nullptr;
      }
    }
    if (job.done) {
      job.done(nullptr, "redis queue full");
      return;
    }
    cv_.notify_one();
  }

 private:
  void run() {
    std::vector<Job> batch;
    for (;;) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (stop_) break;
        while (!queue_.empty() && batch.size() < kMaxBatch) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      process(batch);
      batch.clear();
    }
    std::deque<Job> rest;
    {
      std::lock_guard lock(mu_);
      rest.swap(queue_);
    }
    for (auto& j : rest) j.done(nullptr, "gateway shutting down");
    disconnect();
  }

  void process(std::vector<Job>& batch) {
    std::string error;
    if (!connected(error)) {
      for (auto& j : batch) j.done(nullptr, error);
      return;
    }
    for (auto& j : batch) {
      std::vector<const char*> args;
      std::vector<std::size_t> lens;
      for (const auto& a : j.argv) {
        args.push_back(a.data());
        lens.push_back(a.size());
      }
      redisAppendCommandArgv(ctx_, static_cast<int>(args.size()), args.data(), lens.data());
    }
    std::size_t i = 0;
    for (; i < batch.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(ctx_, &raw) != REDIS_OK || !raw) break;
      auto* reply = static_cast<redisReply*>(raw);
      if (reply->type == REDIS_REPLY_ERROR)
        batch[i].done(nullptr, std::string("redis: ") + reply->str);
      else
        batch[i].done(reply, "");
      freeReplyObject(reply);
    }
    if (i < batch.size()) {
      const std::string why =
          std::string("redis: ") + (ctx_->errstr[0] ? ctx_->errstr : "no reply");
      for (; i < batch.size(); ++i) batch[i].done(nullptr, why);
      lost(why);
    }
  }

  bool connected(std::string& error) {
    if (ctx_) return true;
    const auto now = Clock::now();
    if (now < next_attempt_) {
      error = last_error_;
      return false;
    }
    next_attempt_ = now + kReconnectEvery;
    timeval tv{options_.timeout_ms / 1000, (options_.timeout_ms % 1000) * 1000};
    ctx_ = redisConnectWithTimeout(options_.host.c_str(), options_.port, tv);
    std::string why;
    if (!ctx_ || ctx_->err) {
      why = ctx_ ? ctx_->errstr : "cannot allocate a connection";
    } else {
      redisSetTimeout(ctx_, tv);
      redisEnableKeepAlive(ctx_);
      if (!options_.password.empty())
        why = options_.username.empty() ? command({"AUTH", options_.password})
                                        : command({"AUTH", options_.username, options_.password});
      if (why.empty() && options_.database != 0)
        why = command({"SELECT", std::to_string(options_.database)});
    }
    if (!why.empty()) {
      // Never the password: only what went wrong.
      lost("redis " + options_.host + ":" + std::to_string(options_.port) + ": " + why);
      error = last_error_;
      return false;
    }
    if (down_) {
      std::fprintf(stderr, "aigw: redis %s:%d reachable again\n", options_.host.c_str(),
                   options_.port);
      down_ = false;
    }
    return true;
  }

  // One command on the connection; "" or what went wrong.
  std::string command(const std::vector<std::string>& argv) {
    std::vector<const char*> args;
    std::vector<std::size_t> lens;
    for (const auto& a : argv) {
      args.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(ctx_, static_cast<int>(args.size()), args.data(), lens.data()));
    if (!reply) return ctx_->errstr[0] ? ctx_->errstr : "no reply";
    std::string err = reply->type == REDIS_REPLY_ERROR ? reply->str : "";
    freeReplyObject(reply);
    return err;
  }

  void lost(const std::string& why) {
    last_error_ = why;
    disconnect();
    if (!down_) {
      std::fprintf(stderr, "aigw: %s (rate-limit counters unavailable)\n", why.c_str());
      down_ = true;
    }
  }

  void disconnect() {
    if (ctx_) redisFree(ctx_);
    ctx_ = nullptr;
  }

  const RedisOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stop_ = false;
  // Worker-thread state.
  redisContext* ctx_ = nullptr;
  Clock::time_point next_attempt_{};
  std::string last_error_;
  bool down_ = false;
  std::thread thread_;  // last: starts once everything above is constructed
};

class RedisStore : public CounterStore {
 public:
  explicit RedisStore(RedisOptions o) : worker_(std::move(o)) {}

  void admit(const std::vector<Counter>& counters, const std::vector<WindowKey>& windows,
             double reserve, std::function<void(AdmitResult)> done) const override {
    Job job;
    job.argv = {"EVAL", kAdmitScript, std::to_string(windows.size() * 2)};
    for (const auto& w : windows) {
      job.argv.push_back(w.current);
      job.argv.push_back(w.previous.empty() ? w.current + ":none" : w.previous);
    }
    job.argv.push_back(std::to_string(windows.size()));
    job.argv.push_back(number(reserve));
    for (std::size_t i = 0; i < windows.size(); ++i) {
      job.argv.push_back(number(counters[i].limit));
      job.argv.push_back(number(windows[i].previous_weight));
      job.argv.push_back(std::to_string(windows[i].ttl_s));
    }
    const std::size_t n = windows.size();
    job.done = [done = std::move(done), n](const redisReply* reply, const std::string& error) {
      AdmitResult r;
      if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != n + 1 ||
          reply->element[0]->type != REDIS_REPLY_INTEGER) {
        r.reachable = false;
        r.error = error.empty() ? "redis: unexpected reply to the rate-limit script" : error;
        done(std::move(r));
        return;
      }
      r.blocked = static_cast<int>(reply->element[0]->integer);
      for (std::size_t i = 1; i <= n; ++i) {
        const redisReply* e = reply->element[i];
        r.used.push_back(e->type == REDIS_REPLY_STRING ? std::strtod(e->str, nullptr) : 0);
      }
      done(std::move(r));
    };
    worker_.submit(std::move(job));
  }

  void add(const std::vector<WindowKey>& windows, double amount) const override {
    if (windows.empty()) return;
    Job job;
    job.argv = {"EVAL", kAddScript, std::to_string(windows.size())};
    for (const auto& w : windows) job.argv.push_back(w.current);
    job.argv.push_back(number(amount));
    for (const auto& w : windows) job.argv.push_back(std::to_string(w.ttl_s));
    // A lost correction only makes the window more or less generous by one answer's tokens.
    job.done = [](const redisReply*, const std::string&) {};
    worker_.submit(std::move(job));
  }

  bool synchronous() const override { return false; }

 private:
  mutable RedisWorker worker_;
};

}  // namespace

std::shared_ptr<const CounterStore> makeRedisStore(RedisOptions options) {
  return std::make_shared<RedisStore>(std::move(options));
}

}  // namespace aigw::ratelimit
