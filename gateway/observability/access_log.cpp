#include "observability/access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace aigw::observability {

std::unique_ptr<AccessLog> AccessLog::open(const std::string& path, std::string& error,
                                           std::size_t capacity) {
  std::size_t cap = 1;
  while (cap < capacity) cap <<= 1;
  if (path == "-") return std::unique_ptr<AccessLog>(new AccessLog(stdout, false, cap));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "cannot open access log " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  std::FILE* f = fdopen(fd, "a");
  if (!f) {
    ::close(fd);
    error = "cannot open access log " + path;
    return nullptr;
  }
  return std::unique_ptr<AccessLog>(new AccessLog(f, true, cap));
}

AccessLog::AccessLog(std::FILE* out, bool owned, std::size_t capacity)
    : cells_(capacity), mask_(capacity - 1), out_(out), owned_(owned) {
  for (std::size_t i = 0; i < capacity; ++i) cells_[i].sequence.store(i, std::memory_order_relaxed);
  writer_ = std::thread([this] { run(); });
}

AccessLog::~AccessLog() {
  stopping_ = true;
  wake_.notify_all();
  writer_.join();
  std::fflush(out_);
  if (owned_) std::fclose(out_);
}

// Bounded multi-producer queue (D. Vyukov's design): each cell's sequence number says whose
// turn it is, so producers claim cells with one CAS and never wait for each other.
void AccessLog::push(std::string line) {
  std::size_t pos = enqueue_pos_.load(std::memory_order_relaxed);
  while (true) {
    Cell& cell = cells_[pos & mask_];
    const std::size_t seq = cell.sequence.load(std::memory_order_acquire);
    const auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos);
    if (diff == 0) {
      if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
        cell.line = std::move(line);
        cell.sequence.store(pos + 1, std::memory_order_release);
        wake_.notify_one();
        return;
      }
    } else if (diff < 0) {
      dropped_.fetch_add(1, std::memory_order_relaxed);  // full
      return;
    } else {
      pos = enqueue_pos_.load(std::memory_order_relaxed);
    }
  }
}

bool AccessLog::pop(std::string& line) {
  std::size_t pos = dequeue_pos_.load(std::memory_order_relaxed);
  Cell& cell = cells_[pos & mask_];
  const std::size_t seq = cell.sequence.load(std::memory_order_acquire);
  if (static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos + 1) < 0) return false;
  dequeue_pos_.store(pos + 1, std::memory_order_relaxed);
  line = std::move(cell.line);
  cell.sequence.store(pos + mask_ + 1, std::memory_order_release);
  return true;
}

void AccessLog::run() {
  std::string line;
  while (true) {
    bool wrote = false;
    while (pop(line)) {
      line += '\n';
      std::fwrite(line.data(), 1, line.size(), out_);
      wrote = true;
    }
    if (wrote) std::fflush(out_);
    if (stopping_) {
      if (!pop(line)) break;
      line += '\n';
      std::fwrite(line.data(), 1, line.size(), out_);
      continue;
    }
    // A missed notification costs at most this much latency, never a lost line.
    std::unique_lock lock(wake_mu_);
    wake_.wait_for(lock, std::chrono::milliseconds(200));
  }
}

}  // namespace aigw::observability
