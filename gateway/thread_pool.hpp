// An elastic worker pool for httplib: cpp-httplib serves one connection per task for the
// connection's whole life (keep-alive and long streams included), so a fixed pool of N
// threads caps concurrency at N. This pool starts threads on demand up to a maximum and lets
// idle ones exit, with small stacks so thousands of concurrent streams stay cheap.
// Thread-safety: enqueue() and shutdown() are thread-safe.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

namespace aigw {

class ElasticThreadPool : public httplib::TaskQueue {
 public:
  ElasticThreadPool(std::size_t max_threads, std::size_t stack_bytes = 256 * 1024,
                    int idle_exit_ms = 30000);
  ~ElasticThreadPool() override;
  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

 private:
  static void* threadMain(void* self);
  void work();

  const std::size_t max_threads_;
  const std::size_t stack_bytes_;
  const int idle_exit_ms_;
  std::mutex mu_;
  std::condition_variable cv_;      // jobs or shutdown
  std::condition_variable exited_;  // a thread ended
  std::deque<std::function<void()>> jobs_;
  std::size_t threads_ = 0;
  std::size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace aigw
