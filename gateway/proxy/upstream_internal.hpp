// Internal to the upstream client (upstream.cpp, upstream_conn.cpp, upstream_response.cpp):
// one TCP (optionally TLS) connection with deadline-bounded non-blocking I/O, the TLS context
// and connection pool shared by all exchanges of one UpstreamClient, and the exchange itself.
// Thread-safety: a Conn is used by one thread at a time; TlsContext is immutable after
// construction; Pool is thread-safe.
#pragma once

#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/upstream.hpp"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct bio_method_st BIO_METHOD;

namespace aigw::proxy::detail {

using Clock = std::chrono::steady_clock;

// The earlier of a phase limit and the exchange's total limit, remembering which one it is so
// that a timeout can say what it was waiting for. A limit <= 0 means unlimited.
struct Deadline {
  Clock::time_point at = Clock::time_point::max();
  const char* waiting_for = "";  // e.g. "waiting for the first byte"
  int limit_ms = 0;
  bool is_total = false;

  static Deadline make(Clock::time_point now, int phase_ms, const char* waiting_for,
                       Clock::time_point total_end, int total_ms);
  std::string timeoutMessage(const std::string& label) const;
};

enum class Io {
  Ok,
  Eof,      // orderly close by the peer
  Reset,    // ECONNRESET / EPIPE: the peer is gone
  Timeout,  // the deadline passed; the error says which limit
  Error,    // anything else; the error carries the reason
};

class TlsContext {
 public:
  explicit TlsContext(const UpstreamClientOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* ctx() const { return ctx_; }
  BIO_METHOD* bioMethod() const { return bio_method_; }
  bool verify() const { return verify_; }
  // Why the context is unusable (e.g. the CA file could not be loaded); empty when fine.
  const std::string& setupError() const { return setup_error_; }

 private:
  SSL_CTX* ctx_ = nullptr;
  BIO_METHOD* bio_method_ = nullptr;
  bool verify_ = true;
  std::string setup_error_;
};

class Conn {
 public:
  Conn(int fd, std::string key, std::string label) noexcept;
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Resolves, connects and (for https) handshakes within `deadline`. On failure returns null and
  // fills `err` (Connect or Timeout).
  static std::unique_ptr<Conn> open(const ParsedUrl& url, const std::string& key,
                                    const TlsContext& tls, const Deadline& deadline,
                                    UpstreamError& err);

  // Returns Ok with n > 0 as soon as any bytes are available.
  Io readSome(char* buf, std::size_t cap, std::size_t& n, const Deadline& deadline,
              UpstreamError& err);
  // Writes some of the first non-empty iovec entries; Ok with n > 0 on progress.
  Io writeSome(const iovec* iov, int iovcnt, std::size_t& n, const Deadline& deadline,
               UpstreamError& err);

  // Zero-wait check for a pooled connection: false if the peer closed it or sent something
  // unsolicited.
  bool idleAndOpen();

  const std::string& key() const { return key_; }      // scheme://host:port (pool key)
  const std::string& label() const { return label_; }  // host:port, for messages

  Clock::time_point idle_since{};
  bool reused = false;

 private:
  bool handshake(const ParsedUrl& url, const TlsContext& tls, const Deadline& deadline,
                 UpstreamError& err);
  Io waitFor(short events, const Deadline& deadline, UpstreamError& err);
  Io sslFailure(int rc, const char* doing, const Deadline& deadline, UpstreamError& err,
                bool& retry);

  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string key_;
  std::string label_;
};

// Idle keep-alive connections by scheme://host:port, in 16 independently locked shards. Locks
// are held only to move a connection in or out, never across I/O.
class Pool {
 public:
  Pool(int max_idle, int idle_ms) : max_idle_(max_idle), idle_ms_(idle_ms) {}
  // Most recently used connection for `key` that still looks open, or null.
  std::unique_ptr<Conn> take(const std::string& key);
  void put(std::unique_ptr<Conn> conn);

 private:
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::vector<std::unique_ptr<Conn>>> idle;
  };
  Shard& shardFor(const std::string& key);
  void pruneExpired(std::vector<std::unique_ptr<Conn>>& list, Clock::time_point now,
                    std::vector<std::unique_ptr<Conn>>& doomed) const;

  const int max_idle_;
  const int idle_ms_;
  std::array<Shard, 16> shards_;
};

// Shared by the client and every live response, so a response can return its connection even
// if it outlives the UpstreamClient.
struct Core {
  explicit Core(const UpstreamClientOptions& options)
      : tls(options), pool(options.max_idle_per_host, options.idle_keepalive_ms) {}
  TlsContext tls;  // first: pooled connections reference its SSL_CTX and BIO method
  Pool pool;
};

enum class Exchange {
  Ok,
  Failed,
  Stale,  // a reused connection died before answering: the caller may retry on a fresh one
};

// Writes the request (`head`, then `body`) on `conn` and reads up to the final response head.
// On Ok `response` owns the connection; otherwise `err` says what went wrong.
Exchange startExchange(std::shared_ptr<Core> core, std::unique_ptr<Conn> conn,
                       std::string_view head, std::string_view body, bool head_request,
                       const UpstreamTimeouts& timeouts, Clock::time_point total_end,
                       std::unique_ptr<UpstreamResponse>& response, UpstreamError& err);

// --- Text helpers shared by request building and response parsing (ASCII only).

inline char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

inline bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

inline bool isToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), isTokenChar);
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

inline bool parseDecimal(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}

inline bool hasCtl(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

}  // namespace aigw::proxy::detail
