// Plays an in-process answer (providers::LocalReply, the mock provider) as an UpstreamResponse:
// its pieces arrive after their delays on the event loop's timers, exactly like a real
// upstream's stream, and never block the loop.
// Thread-safety: one loop thread.
#pragma once

#include <memory>

#include "providers/provider.hpp"
#include "proxy/upstream.hpp"

namespace aigw::proxy {

std::unique_ptr<UpstreamResponse> playLocalReply(providers::LocalReply reply,
                                                 const net::Executor& executor);

}  // namespace aigw::proxy
