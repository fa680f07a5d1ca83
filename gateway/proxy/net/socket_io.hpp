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

// A read that must wait for the socket (the one after a read that emptied it, or that found
// nothing) is, for a request head or a response head, Asio's own async_read_some: Asio tries
// the recv() and, when it finds nothing, waits on the registration it already has, where
// async_wait would re-arm epoll (an EPOLL_CTL_MOD, a costlier system call) on every wait. The
// price is a little buffer held while waiting: room for twice what the last such read brought
// (a request: a few hundred bytes; a fast upstream's whole answer: a few KB), within bounds.
// A read that fills it is followed at once by readNow() for the rest, so that what came
// together is handled (and relayed) together. (Between a stream's events, where thousands of
// streams wait at once, the upstream client waits for readiness instead and holds nothing.)
inline constexpr std::size_t kMinWaitRead = 512;
inline constexpr std::size_t kMaxWaitRead = 4096;

struct ReadState {
  bool drained = false;                  // the last read emptied the socket
  std::size_t wait_read = kMinWaitRead;  // what a waiting read takes
  std::size_t before = 0;                // the buffer's size when it began
};

// The waiting read: co_await it, then hand its result to afterWaitingRead().
inline auto waitingRead(boost::asio::ip::tcp::socket& socket, boost::beast::flat_buffer& buffer,
                        ReadState& state, boost::system::error_code& ec) {
  state.before = buffer.size();
  return socket.async_read_some(buffer.prepare(state.wait_read),
                                boost::asio::redirect_error(boost::asio::use_awaitable, ec));
}
void afterWaitingRead(boost::asio::ip::tcp::socket& socket, boost::beast::flat_buffer& buffer,
                      ReadState& state, std::size_t n, boost::system::error_code& ec);

// Feeds `parser` from `buffer`, reading more with readNow() or, waiting, with waitingRead()
// (while the socket has nothing; operation_aborted when the wait is cancelled), until
// `enough(parser)` (a head is whole, the message is done, some body arrived) or an error. The
// errors are Beast's own read's: end_of_stream for a close before any byte, partial_message for one
// inside a message.
template <typename Parser, typename Enough>
Task<void> parseFrom(boost::asio::ip::tcp::socket& socket, boost::beast::flat_buffer& buffer,
                     ReadState& state, Parser& parser, Enough enough,
                     boost::system::error_code& ec) {
  namespace bhttp = boost::beast::http;
  for (;;) {
    if (buffer.size() > 0) {
      buffer.consume(parser.put(buffer.data(), ec));
      if (ec && ec != bhttp::error::need_more) co_return;
      if (!ec && enough(parser)) co_return;
      ec = {};
    }
    if (state.drained || !readNow(socket, buffer, ec, state.drained)) {
      const std::size_t n = co_await waitingRead(socket, buffer, state, ec);
      afterWaitingRead(socket, buffer, state, n, ec);
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
