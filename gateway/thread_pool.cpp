#include "thread_pool.hpp"

#include <pthread.h>

#include <chrono>

namespace aigw {

ElasticThreadPool::ElasticThreadPool(std::size_t max_threads, std::size_t stack_bytes,
                                     int idle_exit_ms)
    : max_threads_(max_threads), stack_bytes_(stack_bytes), idle_exit_ms_(idle_exit_ms) {}

ElasticThreadPool::~ElasticThreadPool() {
  shutdown();
}

void ElasticThreadPool::enqueue(std::function<void()> fn) {
  std::unique_lock lock(mu_);
  if (stopping_) return;
  jobs_.push_back(std::move(fn));
  if (idle_ >= jobs_.size() || threads_ >= max_threads_) {
    cv_.notify_one();
    return;
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack_bytes_);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t tid;
  if (pthread_create(&tid, &attr, &ElasticThreadPool::threadMain, this) == 0) ++threads_;
  pthread_attr_destroy(&attr);
  // When no thread could be started the job waits for a busy one to free up.
}

void* ElasticThreadPool::threadMain(void* self) {
  static_cast<ElasticThreadPool*>(self)->work();
  return nullptr;
}

void ElasticThreadPool::work() {
  std::unique_lock lock(mu_);
  while (true) {
    if (!jobs_.empty()) {
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
      continue;
    }
    if (stopping_) break;
    ++idle_;
    const bool woke = cv_.wait_for(lock, std::chrono::milliseconds(idle_exit_ms_),
                                   [this] { return stopping_ || !jobs_.empty(); });
    --idle_;
    if (!woke) break;  // idle too long: give the thread back
  }
  --threads_;
  exited_.notify_all();
}

void ElasticThreadPool::shutdown() {
  std::unique_lock lock(mu_);
  stopping_ = true;
  cv_.notify_all();
  // Jobs already queued still run (httplib hands over accepted sockets); wait for all threads.
  exited_.wait(lock, [this] { return threads_ == 0; });
}

}  // namespace aigw
