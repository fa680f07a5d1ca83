// The coroutine type of the data plane: every wait on the event loop is `co_await`ed in a
// Task. A thin alias so that headers need only Asio's small awaitable header.
#pragma once

#include <utility>  // before Asio: awaitable.hpp uses std::exchange without including it (GCC 12)

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace aigw::net {

template <typename T = void>
using Task = boost::asio::awaitable<T>;
using Executor = boost::asio::any_io_executor;

}  // namespace aigw::net
