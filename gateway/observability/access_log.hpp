// Per-request records (route, status, latency, provider, model, token usage, cost) written as
// JSON lines by one writer thread. The request thread only formats its line and pushes it into
// a bounded lock-free queue; when the queue is full the line is dropped and counted, so a slow
// disk never slows the proxy.
// Thread-safety: push() is lock-free and safe from any thread; one writer thread drains.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace aigw::observability {

class AccessLog {
 public:
  // path "-" = stdout; otherwise appended to the file (created 0600).
  static std::unique_ptr<AccessLog> open(const std::string& path, std::string& error,
                                         std::size_t capacity = 8192);
  ~AccessLog();

  // Queues one line (without newline). Never blocks.
  void push(std::string line);
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  AccessLog(std::FILE* out, bool owned, std::size_t capacity);
  bool pop(std::string& line);
  void run();

  struct Cell {
    std::atomic<std::size_t> sequence;
    std::string line;
  };
  std::vector<Cell> cells_;
  std::size_t mask_;
  alignas(64) std::atomic<std::size_t> enqueue_pos_{0};
  alignas(64) std::atomic<std::size_t> dequeue_pos_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::FILE* out_;
  bool owned_;
  std::atomic<bool> stopping_{false};
  std::mutex wake_mu_;  // only the writer waits on it; pushers notify without taking it
  std::condition_variable wake_;
  std::thread writer_;
};

}  // namespace aigw::observability
