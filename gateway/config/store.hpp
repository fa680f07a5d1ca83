// ConfigStore: the running config as an atomically swapped immutable snapshot. Readers take a
// shared_ptr and keep it for the whole request; publish() never waits for them.
// Thread-safety: all methods are thread-safe.
#pragma once

#include <atomic>
#include <memory>

#include "config/model.hpp"

namespace aigw::config {

class ConfigStore {
 public:
  explicit ConfigStore(ConfigPtr initial) : current_(std::move(initial)) {}
  ConfigPtr current() const { return current_.load(std::memory_order_acquire); }
  void publish(ConfigPtr next) { current_.store(std::move(next), std::memory_order_release); }

 private:
  std::atomic<ConfigPtr> current_;
};

}  // namespace aigw::config
