#include "proxy/upstream_internal.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>

namespace aigw::proxy::detail {
namespace {

std::string errnoText(int e) {
  char buf[128];
  // GNU strerror_r: returns a pointer that may or may not be `buf`.
  return strerror_r(e, buf, sizeof buf);
}

int pollTimeoutMs(const Deadline& d) {
  if (d.at == Clock::time_point::max()) return -1;
  auto now = Clock::now();
  if (now >= d.at) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(d.at - now).count();
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

bool isIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string hostPort(const ParsedUrl& url) {
  bool v6 = url.host.find(':') != std::string::npos;
  return (v6 ? "[" + url.host + "]" : url.host) + ":" + std::to_string(url.port);
}

// --- A socket BIO that sends with MSG_NOSIGNAL, so a peer reset during SSL_write cannot raise
// SIGPIPE even in a process that did not ignore it. The BIO's data points at the owning Conn's
// fd, which outlives the BIO (the Conn frees the SSL, and with it the BIO, before closing).

int bioFd(BIO* b) {
  return *static_cast<const int*>(BIO_get_data(b));
}

int bioWrite(BIO* b, const char* data, size_t len, size_t* written) {
  BIO_clear_retry_flags(b);
  ssize_t r;
  do {
    r = ::send(bioFd(b), data, len, MSG_NOSIGNAL);
  } while (r < 0 && errno == EINTR);
  if (r >= 0) {
    *written = static_cast<size_t>(r);
    return 1;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(b);
  return 0;
}

int bioRead(BIO* b, char* data, size_t len, size_t* got) {
  BIO_clear_retry_flags(b);
  ssize_t r;
  do {
    r = ::recv(bioFd(b), data, len, 0);
  } while (r < 0 && errno == EINTR);
  if (r > 0) {
    *got = static_cast<size_t>(r);
    return 1;
  }
  if (r == 0) {
    // OpenSSL asks BIO_eof() to tell a closed socket from an error.
    BIO_set_flags(b, BIO_FLAGS_IN_EOF);
  } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
    BIO_set_retry_read(b);
  }
  return 0;
}

long bioCtrl(BIO* b, int cmd, long /*num*/, void* /*ptr*/) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
    default:
      return 0;
  }
}

int bioCreate(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

int bioDestroy(BIO* /*b*/) {
  return 1;
}

// --- DNS

struct AddrInfoFree {
  void operator()(addrinfo* p) const {
    if (p) freeaddrinfo(p);
  }
};
using AddrInfoPtr = std::unique_ptr<addrinfo, AddrInfoFree>;

// getaddrinfo cannot be interrupted, so a lookup that must respect the connect budget runs on
// a detached thread; on timeout the thread finishes on its own and frees the result.
struct Lookup {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int rc = 0;
  addrinfo* res = nullptr;
  ~Lookup() {
    if (res) freeaddrinfo(res);
  }
};

bool resolve(const ParsedUrl& url, const std::string& label, const Deadline& deadline,
             AddrInfoPtr& out, UpstreamError& err) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  const std::string port = std::to_string(url.port);

  addrinfo* res = nullptr;
  int rc = 0;
  if (isIpLiteral(url.host)) {
    hints.ai_flags |= AI_NUMERICHOST;
    rc = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &res);
  } else if (deadline.at == Clock::time_point::max()) {
    rc = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &res);
  } else {
    auto job = std::make_shared<Lookup>();
    bool started = true;
    try {
      std::thread([job, host = url.host, port, hints] {
        addrinfo* r = nullptr;
        int code = getaddrinfo(host.c_str(), port.c_str(), &hints, &r);
        std::lock_guard<std::mutex> lock(job->mu);
        job->rc = code;
        job->res = r;
        job->done = true;
        job->cv.notify_all();
      }).detach();
    } catch (const std::exception&) {
      started = false;  // no thread available: fall back to an unbounded lookup
    }
    if (started) {
      std::unique_lock<std::mutex> lock(job->mu);
      if (!job->cv.wait_until(lock, deadline.at, [&] { return job->done; })) {
        err = {UpstreamFailure::Timeout, deadline.timeoutMessage(label)};
        return false;
      }
      rc = job->rc;
      res = std::exchange(job->res, nullptr);
    } else {
      rc = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &res);
    }
  }
  if (rc != 0) {
    std::string why = rc == EAI_SYSTEM ? errnoText(errno) : gai_strerror(rc);
    err = {UpstreamFailure::Connect, "upstream DNS lookup for " + url.host + " failed: " + why};
    return false;
  }
  out.reset(res);
  return true;
}

std::string sslReason(const char* fallback) {
  unsigned long code = ERR_peek_last_error();
  const char* reason = code ? ERR_reason_error_string(code) : nullptr;
  std::string text = reason ? reason : fallback;
  ERR_clear_error();
  return text;
}

}  // namespace

// --- Deadline

Deadline Deadline::make(Clock::time_point now, int phase_ms, const char* waiting_for,
                        Clock::time_point total_end, int total_ms) {
  Deadline d;
  d.waiting_for = waiting_for;
  auto phase_end =
      phase_ms > 0 ? now + std::chrono::milliseconds(phase_ms) : Clock::time_point::max();
  if (total_end < phase_end) {
    d.at = total_end;
    d.limit_ms = total_ms;
    d.is_total = true;
  } else {
    d.at = phase_end;
    d.limit_ms = phase_ms;
  }
  return d;
}

std::string Deadline::timeoutMessage(const std::string& label) const {
  if (is_total) {
    return "upstream timed out after the total limit of " + std::to_string(limit_ms) +
           " ms while " + waiting_for + " (" + label + ")";
  }
  return std::string("upstream timed out ") + waiting_for + " after " + std::to_string(limit_ms) +
         " ms (" + label + ")";
}

// --- TlsContext

TlsContext::TlsContext(const UpstreamClientOptions& options) : verify_(options.verify_tls) {
  bio_method_ = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "aigw-upstream-socket");
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (!bio_method_ || !ctx_) {
    setup_error_ = "upstream TLS setup failed: " + sslReason("out of memory");
    return;
  }
  BIO_meth_set_write_ex(bio_method_, bioWrite);
  BIO_meth_set_read_ex(bio_method_, bioRead);
  BIO_meth_set_ctrl(bio_method_, bioCtrl);
  BIO_meth_set_create(bio_method_, bioCreate);
  BIO_meth_set_destroy(bio_method_, bioDestroy);

  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  // Many HTTPS servers close without close_notify; body framing (content-length, chunked)
  // still detects truncation, so treat a bare EOF as an orderly close.
  SSL_CTX_set_options(ctx_, SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Partial writes let writeSome() report progress; RELEASE_BUFFERS keeps idle pooled
  // connections small.
  SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                             SSL_MODE_RELEASE_BUFFERS);
  static constexpr unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(ctx_, kAlpn, sizeof kAlpn);
  SSL_CTX_set_default_verify_paths(ctx_);
  if (!options.ca_file.empty() &&
      SSL_CTX_load_verify_locations(ctx_, options.ca_file.c_str(), nullptr) != 1) {
    setup_error_ = "upstream TLS setup failed: cannot load CA file " + options.ca_file + ": " +
                   sslReason("unreadable");
  }
  SSL_CTX_set_verify(ctx_, verify_ ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  ERR_clear_error();
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
  BIO_meth_free(bio_method_);
}

// --- Conn

Conn::Conn(int fd, std::string key, std::string label) noexcept
    : fd_(fd), key_(std::move(key)), label_(std::move(label)) {}

Conn::~Conn() {
  // No close_notify: the connection is dropped either idle or mid-exchange, and waiting for the
  // peer would block; the kernel's FIN is enough for an HTTP/1.1 server.
  if (ssl_) SSL_free(ssl_);
  if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<Conn> Conn::open(const ParsedUrl& url, const std::string& key,
                                 const TlsContext& tls, const Deadline& deadline,
                                 UpstreamError& err) {
  const std::string label = hostPort(url);
  const bool https = url.scheme == "https";
  if (https && !tls.setupError().empty()) {
    err = {UpstreamFailure::Connect, tls.setupError()};
    return nullptr;
  }
  AddrInfoPtr addrs;
  if (!resolve(url, label, deadline, addrs, err)) return nullptr;

  std::string last_error = "no usable address";
  for (const addrinfo* ai = addrs.get(); ai; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = errnoText(errno);
      continue;
    }
    auto conn = std::make_unique<Conn>(fd, key, label);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS && errno != EINTR) {
        last_error = errnoText(errno);
        continue;
      }
      Io io = conn->waitFor(POLLOUT, deadline, err);
      if (io == Io::Timeout) return nullptr;
      if (io != Io::Ok) {
        last_error = err.message;
        continue;
      }
      int so_error = 0;
      socklen_t len = sizeof so_error;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) so_error = errno;
      if (so_error != 0) {
        last_error = errnoText(so_error);
        continue;
      }
    }
    if (https && !conn->handshake(url, tls, deadline, err)) return nullptr;
    return conn;
  }
  err = {UpstreamFailure::Connect, "upstream connect to " + label + " failed: " + last_error};
  return nullptr;
}

bool Conn::handshake(const ParsedUrl& url, const TlsContext& tls, const Deadline& deadline,
                     UpstreamError& err) {
  ERR_clear_error();
  ssl_ = SSL_new(tls.ctx());
  BIO* bio = ssl_ ? BIO_new(tls.bioMethod()) : nullptr;
  if (!bio) {
    err = {UpstreamFailure::Connect, "upstream TLS setup failed: " + sslReason("out of memory")};
    return false;
  }
  BIO_set_data(bio, &fd_);
  SSL_set_bio(ssl_, bio, bio);
  SSL_set_connect_state(ssl_);
  const bool ip = isIpLiteral(url.host);
  if (!ip) SSL_set_tlsext_host_name(ssl_, url.host.c_str());  // SNI must not carry an IP
  if (tls.verify()) {
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), url.host.c_str());
    } else {
      SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      SSL_set1_host(ssl_, url.host.c_str());
    }
  }
  for (;;) {
    errno = 0;
    ERR_clear_error();
    int rc = SSL_connect(ssl_);
    if (rc == 1) return true;
    int e = SSL_get_error(ssl_, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      Io io = waitFor(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, err);
      if (io == Io::Ok) continue;
      if (io != Io::Timeout) err.kind = UpstreamFailure::Connect;
      return false;
    }
    long verify_result = SSL_get_verify_result(ssl_);
    if (tls.verify() && verify_result != X509_V_OK) {
      ERR_clear_error();
      err = {UpstreamFailure::Connect, "upstream TLS certificate verification failed for " +
                                           label_ + ": " +
                                           X509_verify_cert_error_string(verify_result)};
    } else {
      int saved = errno;
      std::string why = sslReason(saved ? errnoText(saved).c_str() : "connection closed");
      err = {UpstreamFailure::Connect, "upstream TLS handshake with " + label_ + " failed: " + why};
    }
    return false;
  }
}

Io Conn::waitFor(short events, const Deadline& deadline, UpstreamError& err) {
  for (;;) {
    pollfd p{fd_, events, 0};
    int r = ::poll(&p, 1, pollTimeoutMs(deadline));
    // POLLERR/POLLHUP also count as ready: the next I/O call reports what happened.
    if (r > 0) return Io::Ok;
    if (r == 0) {
      if (Clock::now() < deadline.at) continue;
      err = {UpstreamFailure::Timeout, deadline.timeoutMessage(label_)};
      return Io::Timeout;
    }
    if (errno == EINTR) continue;
    err = {UpstreamFailure::Closed,
           "upstream poll failed: " + errnoText(errno) + " (" + label_ + ")"};
    return Io::Error;
  }
}

namespace {

Io socketError(int e, const char* doing, const std::string& label, UpstreamError& err) {
  if (e == ECONNRESET || e == EPIPE) {
    err = {UpstreamFailure::Closed,
           std::string("upstream connection reset while ") + doing + " (" + label + ")"};
    return Io::Reset;
  }
  err = {UpstreamFailure::Closed, std::string("upstream I/O error while ") + doing + ": " +
                                      errnoText(e) + " (" + label + ")"};
  return Io::Error;
}

}  // namespace

Io Conn::sslFailure(int rc, const char* doing, const Deadline& deadline, UpstreamError& err,
                    bool& retry) {
  retry = false;
  int saved_errno = errno;
  const int e = SSL_get_error(ssl_, rc);
  switch (e) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: {
      Io io = waitFor(e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, deadline, err);
      retry = io == Io::Ok;
      return io;
    }
    case SSL_ERROR_ZERO_RETURN:
      return Io::Eof;
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0) {
        if (saved_errno == 0) return Io::Eof;
        return socketError(saved_errno, doing, label_, err);
      }
      [[fallthrough]];
    default:
      err = {UpstreamFailure::Closed, std::string("upstream TLS error while ") + doing + ": " +
                                          sslReason("unknown error") + " (" + label_ + ")"};
      return Io::Error;
  }
}

Io Conn::readSome(char* buf, std::size_t cap, std::size_t& n, const Deadline& deadline,
                  UpstreamError& err) {
  n = 0;
  for (;;) {
    if (ssl_) {
      // Try first: OpenSSL may already hold decrypted bytes that poll() cannot see.
      errno = 0;
      ERR_clear_error();
      if (SSL_read_ex(ssl_, buf, cap, &n) == 1) return Io::Ok;
      bool retry = false;
      Io io = sslFailure(0, "reading", deadline, err, retry);
      if (!retry) return io;
      continue;
    }
    ssize_t r = ::recv(fd_, buf, cap, 0);
    if (r > 0) {
      n = static_cast<std::size_t>(r);
      return Io::Ok;
    }
    if (r == 0) return Io::Eof;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return socketError(errno, "reading", label_, err);
    Io io = waitFor(POLLIN, deadline, err);
    if (io != Io::Ok) return io;
  }
}

Io Conn::writeSome(const iovec* iov, int iovcnt, std::size_t& n, const Deadline& deadline,
                   UpstreamError& err) {
  n = 0;
  while (iovcnt > 0 && iov->iov_len == 0) {
    ++iov;
    --iovcnt;
  }
  if (iovcnt == 0) return Io::Ok;
  for (;;) {
    if (ssl_) {
      errno = 0;
      ERR_clear_error();
      if (SSL_write_ex(ssl_, iov->iov_base, iov->iov_len, &n) == 1) return Io::Ok;
      bool retry = false;
      Io io = sslFailure(0, "writing", deadline, err, retry);
      if (!retry) return io == Io::Eof ? Io::Reset : io;
      continue;
    }
    msghdr msg{};
    msg.msg_iov = const_cast<iovec*>(iov);
    msg.msg_iovlen = static_cast<std::size_t>(iovcnt);
    ssize_t r = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (r > 0) {
      n = static_cast<std::size_t>(r);
      return Io::Ok;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      return socketError(errno, "writing", label_, err);
    }
    Io io = waitFor(POLLOUT, deadline, err);
    if (io != Io::Ok) return io;
  }
}

bool Conn::idleAndOpen() {
  if (ssl_ && SSL_pending(ssl_) > 0) return false;
  pollfd p{fd_, POLLIN, 0};
  int r;
  do {
    r = ::poll(&p, 1, 0);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return true;
  if (r < 0 || (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) return false;
  if (!ssl_) return false;  // EOF or unsolicited bytes: either way not reusable
  // TLS 1.3 servers send session tickets after the handshake; they make the socket readable
  // without meaning anything is wrong. Let OpenSSL consume them and see what is left.
  char byte;
  std::size_t got = 0;
  errno = 0;
  ERR_clear_error();
  if (SSL_peek_ex(ssl_, &byte, 1, &got) == 1) return false;
  bool open = SSL_get_error(ssl_, 0) == SSL_ERROR_WANT_READ;
  ERR_clear_error();
  return open;
}

}  // namespace aigw::proxy::detail
