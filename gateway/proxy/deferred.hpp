// Work a plugin hook hands to another thread (e.g. a Redis round trip, ratelimit/), awaited by
// the pipeline on the request's event loop: the hook stores it in ctx.deferred and returns
// Verdict::Await, and is called again once it is done. The loop never blocks on it.
// Thread-safety: start() is called on the request's loop; `done` may be called from any
// thread, exactly once.
#pragma once

#include <functional>

namespace aigw::proxy {

class Deferred {
 public:
  virtual ~Deferred() = default;
  virtual void start(std::function<void()> done) = 0;
};

}  // namespace aigw::proxy
