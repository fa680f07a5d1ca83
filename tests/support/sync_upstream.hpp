// The event-loop upstream client driven synchronously, for tests: each call runs the test's own
// io_context until that call's coroutine completes (other pending work, such as the timers of
// pooled connections, stays pending and never blocks the test).
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "proxy/upstream.hpp"

namespace aigw::testing {

// Runs `task` on `ioc` until it completes and returns its value.
template <typename T>
T runTask(boost::asio::io_context& ioc, net::Task<T> task) {
  std::optional<T> out;
  bool done = false;
  boost::asio::co_spawn(
      ioc,
      [&]() -> net::Task<void> {
        out.emplace(co_await std::move(task));
        done = true;
      },
      boost::asio::detached);
  ioc.restart();
  while (!done) {
    if (ioc.run_one() == 0) ioc.restart();
  }
  return std::move(*out);
}

class SyncClient;

class SyncResponse {
 public:
  SyncResponse(boost::asio::io_context& ioc, std::unique_ptr<proxy::UpstreamResponse> r)
      : ioc_(ioc), r_(std::move(r)) {}
  int status() const { return r_->status(); }
  const proxy::Headers& headers() const { return r_->headers(); }
  std::string header(std::string_view name) const { return r_->header(name); }
  const proxy::UpstreamError& error() const { return r_->error(); }
  bool exhausted() const { return r_->exhausted(); }
  bool read(std::string& out) { return runTask(ioc_, r_->read(out)); }
  bool readAll(std::string& out, std::size_t limit) {
    return runTask(ioc_, r_->readAll(out, limit));
  }

 private:
  boost::asio::io_context& ioc_;
  std::unique_ptr<proxy::UpstreamResponse> r_;
};

class SyncClient {
 public:
  explicit SyncClient(proxy::UpstreamClientOptions options = {}) {
    auto tls = proxy::makeTlsSettings(options);
    if (!tls) throw std::runtime_error(tls.error());
    client_ = std::make_unique<proxy::UpstreamClient>(ioc_.get_executor(), *tls, options);
  }
  Result<std::unique_ptr<SyncResponse>, proxy::UpstreamError> send(
      const http::UpstreamRequest& request, const proxy::UpstreamTimeouts& timeouts) {
    using R = Result<std::unique_ptr<SyncResponse>, proxy::UpstreamError>;
    auto sent = runTask(ioc_, client_->send(request, timeouts));
    if (!sent) return R::failure(sent.error());
    return R(std::make_unique<SyncResponse>(ioc_, std::move(*sent)));
  }
  proxy::UpstreamClient& client() { return *client_; }
  boost::asio::io_context& context() { return ioc_; }
  std::size_t idleConnections() const { return client_->idleConnections(); }

 private:
  boost::asio::io_context ioc_{1};
  std::unique_ptr<proxy::UpstreamClient> client_;
};

}  // namespace aigw::testing
