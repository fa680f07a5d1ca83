#include "proxy/local_response.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace aigw::proxy {

namespace {

class LocalResponse : public UpstreamResponse {
 public:
  LocalResponse(providers::LocalReply reply, const net::Executor& executor)
      : reply_(std::move(reply)), timer_(executor) {}

  int status() const override { return reply_.status; }
  const Headers& headers() const override { return reply_.headers; }
  const UpstreamError& error() const override { return error_; }

  net::Task<bool> read(std::string& out) override {
    if (next_ >= reply_.pieces.size()) co_return false;
    // Simulated model latency: the mock stands in for a slow upstream.
    const auto wait =
        next_ == 0 ? std::chrono::microseconds(reply_.first_delay_ms * 1000LL) : reply_.interval;
    if (wait.count() > 0) {
      timer_.expires_after(wait);
      boost::system::error_code ec;
      co_await timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
    out += reply_.pieces[next_++];
    co_return true;
  }

 private:
  providers::LocalReply reply_;
  boost::asio::steady_timer timer_;
  std::size_t next_ = 0;
  UpstreamError error_;
};

}  // namespace

std::unique_ptr<UpstreamResponse> playLocalReply(providers::LocalReply reply,
                                                 const net::Executor& executor) {
  return std::make_unique<LocalResponse>(std::move(reply), executor);
}

}  // namespace aigw::proxy
