// The event loops: one io_context per thread, each thread owning its connections, upstream
// pool and timers (Envoy's model), so nothing on the request path takes a lock.
// Thread-safety: start()/stop()/join() from one controlling thread; context(i) may be used to
// post work from anywhere.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace aigw::net {

class EventLoops {
 public:
  // `name` labels the threads (visible in top/gdb), e.g. "aigw-proxy".
  EventLoops(std::size_t threads, std::string name);
  ~EventLoops();
  EventLoops(const EventLoops&) = delete;
  EventLoops& operator=(const EventLoops&) = delete;

  std::size_t size() const { return loops_.size(); }
  boost::asio::io_context& context(std::size_t i) { return loops_[i]->ctx; }

  void start();
  // Lets each loop return once it has no more work (graceful).
  void release();
  // Stops each loop now, abandoning what is pending.
  void stop();
  void join();

 private:
  struct Loop {
    boost::asio::io_context ctx{1};  // concurrency hint 1: one thread, no internal locking
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard;
    std::thread thread;
  };
  std::vector<std::unique_ptr<Loop>> loops_;
  std::string name_;
};

}  // namespace aigw::net
