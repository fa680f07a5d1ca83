// A redis-server of the test's own on a reserved loopback port (the Redis policies of
// rate-limiting and ai-rate-limiting-advanced). Needs Debian's redis-server (install.sh).
#pragma once

#include <csignal>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "integration/gateway_harness.hpp"

namespace aigw::test {

class Redis {
 public:
  Redis() { start(); }
  void start() {
    process_ = std::make_unique<Process>(
        std::vector<std::string>{"redis-server", "--port", std::to_string(port_.port()), "--bind",
                                 "127.0.0.1", "--save", "", "--appendonly", "no"});
    if (!waitForPort(port_.port(), 10000, process_.get()))
      throw std::runtime_error("redis-server did not start (apt install redis-server): " +
                               process_->log());
  }
  void kill() {
    process_->signal(SIGKILL);
    process_->wait(10000);
  }
  int port() const { return port_.port(); }

 private:
  ReservedPort port_;
  std::unique_ptr<Process> process_;
};

}  // namespace aigw::test
