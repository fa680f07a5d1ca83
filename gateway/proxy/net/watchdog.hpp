// One timer per connection, re-armed lazily: moving a deadline later is a store, not a timer
// cancel and re-schedule (which per read would cost a fifth of a request's CPU). When the
// timer fires before the current deadline it simply waits again; when the deadline has passed
// it calls `on_expire` (which closes the socket, so the pending operation fails).
// Thread-safety: one loop thread.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "proxy/net/task.hpp"

namespace aigw::net {

class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;

  Watchdog(const Executor& executor, std::function<void()> on_expire)
      : state_(std::make_shared<State>(executor, std::move(on_expire))) {}
  ~Watchdog() {
    state_->on_expire = nullptr;
    state_->timer.cancel();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Expire at `at` (replacing any earlier deadline); Clock::time_point::max() = never.
  void arm(Clock::time_point at) {
    state_->deadline = at;
    state_->expired = false;
    if (at == Clock::time_point::max()) return;
    if (!state_->waiting || at < state_->timer_at) wait(state_);
  }
  void armAfter(std::chrono::milliseconds d) { arm(Clock::now() + d); }
  void disarm() { state_->deadline = Clock::time_point::max(); }
  // True once on_expire ran for the current deadline.
  bool expired() const { return state_->expired; }
  Clock::time_point deadline() const { return state_->deadline; }

 private:
  struct State {
    State(const Executor& ex, std::function<void()> fn) : timer(ex), on_expire(std::move(fn)) {}
    boost::asio::steady_timer timer;
    std::function<void()> on_expire;
    Clock::time_point deadline = Clock::time_point::max();
    Clock::time_point timer_at{};
    bool waiting = false;
    bool expired = false;
  };

  static void wait(const std::shared_ptr<State>& s) {
    s->timer.expires_at(s->deadline);  // cancels a pending wait: its handler sees aborted
    s->timer_at = s->deadline;
    s->waiting = true;
    s->timer.async_wait([s](const boost::system::error_code& ec) {
      if (ec == boost::asio::error::operation_aborted) return;  // re-armed or destroyed
      s->waiting = false;
      if (!s->on_expire || s->deadline == Clock::time_point::max()) return;
      if (Clock::now() < s->deadline) {
        wait(s);
        return;
      }
      s->expired = true;
      auto fn = s->on_expire;  // on_expire may destroy the owner, and with it this Watchdog
      fn();
    });
  }

  std::shared_ptr<State> state_;
};

}  // namespace aigw::net
