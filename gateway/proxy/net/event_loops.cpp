#include "proxy/net/event_loops.hpp"

#include <pthread.h>

#include <iostream>

namespace aigw::net {

EventLoops::EventLoops(std::size_t threads, std::string name) : name_(std::move(name)) {
  if (threads == 0) threads = 1;
  for (std::size_t i = 0; i < threads; ++i) {
    loops_.push_back(std::make_unique<Loop>());
    loops_.back()->guard.emplace(loops_.back()->ctx.get_executor());
  }
}

EventLoops::~EventLoops() {
  stop();
  join();
}

void EventLoops::start() {
  for (std::size_t i = 0; i < loops_.size(); ++i) {
    Loop& loop = *loops_[i];
    if (loop.thread.joinable()) continue;
    const std::string thread_name = (name_ + "-" + std::to_string(i)).substr(0, 15);
    loop.thread = std::thread([&loop, thread_name] {
      pthread_setname_np(pthread_self(), thread_name.c_str());
      for (;;) {
        try {
          loop.ctx.run();
          return;
        } catch (const std::exception& e) {
          // A handler that throws is a bug; the loop must keep serving everyone else.
          std::cerr << "aigw: internal error on " << thread_name << ": " << e.what() << "\n";
        }
      }
    });
  }
}

void EventLoops::release() {
  for (auto& loop : loops_) loop->guard.reset();
}

void EventLoops::stop() {
  for (auto& loop : loops_) {
    loop->guard.reset();
    loop->ctx.stop();
  }
}

void EventLoops::join() {
  for (auto& loop : loops_)
    if (loop->thread.joinable() && loop->thread.get_id() != std::this_thread::get_id())
      loop->thread.join();
}

}  // namespace aigw::net
