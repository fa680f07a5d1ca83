#include "proxy/net/socket_io.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>

namespace aigw::net {

namespace {
constexpr std::size_t kReadArea = 64 * 1024;  // one read; the loop thread's, free between reads
}

bool readNow(boost::asio::ip::tcp::socket& socket, boost::beast::flat_buffer& buffer,
             boost::system::error_code& ec, bool& drained) {
  namespace asio = boost::asio;
  thread_local std::array<char, kReadArea> area;
  if (!socket.non_blocking()) {
    socket.non_blocking(true, ec);  // the read below never blocks the loop
    if (ec) return true;
  }
  const std::size_t n = socket.read_some(asio::buffer(area), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec = {};
    drained = true;
    return false;
  }
  drained = n < area.size();
  if (n > 0) {
    std::memcpy(buffer.prepare(n).data(), area.data(), n);
    buffer.commit(n);
  }
  return true;
}

void afterWaitingRead(boost::asio::ip::tcp::socket& socket, boost::beast::flat_buffer& buffer,
                      ReadState& state, std::size_t n, boost::system::error_code& ec) {
  buffer.commit(n);
  state.drained = n < state.wait_read;
  if (!ec && !state.drained) {
    // What else came. An end or an error met here is left for the next read to report (a
    // closed socket reports it again): the bytes before it must be parsed first.
    boost::system::error_code after;
    if (readNow(socket, buffer, after, state.drained) && after) state.drained = false;
  }
  // Room for twice what came: an answer of the same size next time fits with room to spare,
  // so the read that takes it is known to have emptied the socket.
  state.wait_read = std::clamp(2 * (buffer.size() - state.before), kMinWaitRead, kMaxWaitRead);
}

}  // namespace aigw::net
