// Reading and writing a plain TCP socket without the event loop when it need not wait.
//
// Reads: without holding a buffer while the socket is quiet. Both sides of the proxy
// spend most of their time waiting (a client between requests, an upstream before its first
// byte, a stream between events); a read buffer reserved for each wait would cost thousands of
// connections a few KB each. Instead the socket is read when it has bytes, through the loop
// thread's read area, and the connection keeps only what came. TLS streams are not read this
// way: Asio's TLS stream may already hold a record that the socket will not signal again.
#pragma once

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>

#include "proxy/net/task.hpp"

namespace aigw::net {

// Appends to `buffer` what the socket has now, without waiting: true when it read bytes, or
// found the end (eof in `ec`) or an error; false when there was nothing yet. `drained` tells
// whether the read emptied the socket's receive queue (it took less than it could).
bool readNow(boost::asio::ip::tcp::socket& socket, boost::beast::flat_buffer& buffer,
             boost::system::error_code& ec, bool& drained);

// Feeds `parser` from `buffer`, reading more with readNow() (waiting for the socket, holding
// no buffer, while it has nothing; operation_aborted when the wait is cancelled), until
// `enough(parser)` (a head is whole, the message is done, some body arrived) or an error. The
// errors are Beast's own read's: end_of_stream for a close before any byte, partial_message for one
// inside a message.
template <typename Parser, typename Enough>
Task<void> parseFrom(boost::asio::ip::tcp::socket& socket, boost::beast::flat_buffer& buffer,
                     bool& drained, Parser& parser, Enough enough, boost::system::error_code& ec) {
  namespace bhttp = boost::beast::http;
  for (;;) {
    if (buffer.size() > 0) {
      buffer.consume(parser.put(buffer.data(), ec));
      if (ec && ec != bhttp::error::need_more) co_return;
      if (!ec && enough(parser)) co_return;
      ec = {};
    }
    // After a read that emptied the socket the next one waits first, as nginx does with its
    // ready flag, rather than trying a recv() that would only find nothing: Asio's async_wait
    // re-arms epoll (EPOLL_CTL_MOD), which reports at once bytes that came in between. A read
    // that finds nothing all the same (a spurious wake-up) waits again.
    for (;;) {
      if (!drained && readNow(socket, buffer, ec, drained)) break;
      drained = false;
      co_await socket.async_wait(boost::asio::ip::tcp::socket::wait_read,
                                 boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (ec) co_return;
    }
    if (ec == boost::asio::error::eof) {
      if (!parser.got_some()) {
        ec = bhttp::error::end_of_stream;
      } else {
        ec = {};
        parser.put_eof(ec);
        if (!ec && !parser.is_done()) ec = bhttp::error::partial_message;
      }
      co_return;
    }
    if (ec) co_return;
  }
}

// Writes: a write that the socket takes at once (almost all of them: the kernel's send buffer
// is rarely full) costs one send() and never suspends the coroutine; Asio's async_write would
// queue its completion on the loop and resume the writer from there.
//
// Sends what the socket takes now and advances `buffers` past it. True when all went; false
// with `ec` clear when the rest must be awaited (async_write), or with `ec` set on an error.
template <std::size_t N>
bool sendNow(boost::asio::ip::tcp::socket& socket,
             std::array<boost::asio::const_buffer, N>& buffers, boost::system::error_code& ec) {
  namespace asio = boost::asio;
  if (!socket.non_blocking()) {
    socket.non_blocking(true, ec);
    if (ec) return false;
  }
  std::size_t sent = socket.send(buffers, 0, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec = {};
    sent = 0;
  }
  if (ec) return false;
  bool all = true;
  for (auto& b : buffers) {
    const std::size_t n = std::min(sent, b.size());
    b += n;
    sent -= n;
    if (b.size() > 0) all = false;
  }
  return all;
}

}  // namespace aigw::net
