#include "proxy/net/socket_io.hpp"

#include <array>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>

namespace aigw::net {

namespace {
constexpr std::size_t kReadArea = 64 * 1024;  // one read; the loop thread's, free between reads
}

Task<void> readAvailable(boost::asio::ip::tcp::socket& socket, boost::beast::flat_buffer& buffer,
                         boost::system::error_code& ec) {
  namespace asio = boost::asio;
  thread_local std::array<char, kReadArea> area;
  if (!socket.non_blocking()) {
    socket.non_blocking(true, ec);  // the reads below never block the loop
    if (ec) co_return;
  }
  for (;;) {
    // Read first (the bytes are often there already); wait only when there are none. Asio's
    // speculative read would need the buffer before the wait, which is what this avoids.
    const std::size_t n = socket.read_some(asio::buffer(area), ec);
    if (ec != asio::error::would_block && ec != asio::error::try_again) {
      if (n > 0) {
        std::memcpy(buffer.prepare(n).data(), area.data(), n);
        buffer.commit(n);
      }
      co_return;
    }
    ec = {};
    co_await socket.async_wait(asio::ip::tcp::socket::wait_read,
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
  }
}

}  // namespace aigw::net
