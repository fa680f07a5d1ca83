// Internal to the upstream client: one TCP (optionally TLS) connection with deadline-bounded,
// non-blocking I/O, and the TLS context shared by all connections of one UpstreamClient.
// Thread-safety: a Conn is used by one thread at a time; TlsContext is immutable after
// construction and safe to share.
#pragma once

#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

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
  static std::unique_ptr<Conn> open(const ParsedUrl& url, std::string key, const TlsContext& tls,
                                    const Deadline& deadline, UpstreamError& err);

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

}  // namespace aigw::proxy::detail
