// Incremental stream framers: upstream bytes, split at any point, in; whole events out.
// One framer per upstream stream; it keeps a cursor instead of re-splitting its buffer.
// Thread-safety: one stream, one thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "providers/provider.hpp"

namespace aigw::proxy {

// Called once per event: SSE event name (may be empty) and data. Returning an error stops.
using EventCallback = std::function<Status(std::string_view event, std::string_view data)>;

class Framer {
 public:
  virtual ~Framer() = default;
  virtual Status feed(std::string_view bytes, const EventCallback& on_event) = 0;
  // The upstream body ended: dispatches a final unterminated event if there is one.
  virtual Status finish(const EventCallback& on_event) = 0;
};

std::unique_ptr<Framer> newFramer(providers::Framing framing);

// Upper bound on one buffered, incomplete event: a stream that never delimits is an error.
inline constexpr std::size_t kMaxEventBytes = 8 * 1024 * 1024;

}  // namespace aigw::proxy
