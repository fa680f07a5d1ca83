#include "proxy/upstream.hpp"

#include <arpa/inet.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include "proxy/upstream_conn.hpp"

namespace aigw::proxy {

using detail::Clock;
using detail::Conn;
using detail::Deadline;
using detail::Io;

namespace {

constexpr std::size_t kMaxHead = 64 * 1024;
constexpr std::size_t kMaxHeaders = 100;
constexpr std::size_t kMaxChunkLine = 4096;
constexpr std::size_t kReadSize = 16 * 1024;
// Bodies below this are copied behind the head so a small request leaves in one write (and one
// TLS record); larger ones are written straight from the caller's string.
constexpr std::size_t kCoalesceBody = 16 * 1024;
constexpr int kMaxInterim = 32;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool isToken(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), isTokenChar); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls fn for each trimmed, non-empty element of a comma-separated header value.
template <typename Fn>
void forEachToken(std::string_view value, Fn fn) {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view item = trim(value.substr(0, comma));
    if (!item.empty()) fn(item);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

bool parseDecimal(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "1a;ext=1" -> 26. Extensions are ignored.
bool parseChunkSize(std::string_view line, std::uint64_t& out) {
  std::uint64_t v = 0;
  std::size_t i = 0;
  for (; i < line.size() && hexValue(line[i]) >= 0; ++i) {
    if (v >> 56) return false;  // would overflow; no real chunk is that large
    v = v * 16 + static_cast<std::uint64_t>(hexValue(line[i]));
  }
  if (i == 0) return false;
  std::string_view rest = trim(line.substr(i));
  if (!rest.empty() && rest.front() != ';') return false;
  out = v;
  return true;
}

// Byte buffer for what was received but not consumed yet.
class InBuf {
 public:
  std::string_view view() const { return {data_.get() + begin_, end_ - begin_}; }
  bool empty() const { return begin_ == end_; }
  void consume(std::size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  // Room for at least n more bytes at the end; fill it, then commit().
  char* prepare(std::size_t n) {
    if (cap_ - end_ >= n) return data_.get() + end_;
    const std::size_t live = end_ - begin_;
    if (cap_ - live < n) {
      std::size_t cap = std::max(cap_ * 2, live + n);
      std::unique_ptr<char[]> grown(new char[cap]);
      if (live) std::memcpy(grown.get(), data_.get() + begin_, live);
      data_ = std::move(grown);
      cap_ = cap;
    } else if (live) {
      std::memmove(data_.get(), data_.get() + begin_, live);
    }
    begin_ = 0;
    end_ = live;
    return data_.get() + end_;
  }
  void commit(std::size_t n) { end_ += n; }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t cap_ = 0, begin_ = 0, end_ = 0;
};

// Offset just past the blank line ending a response head, or npos. `scanned` carries the search
// position across calls so a head arriving in many pieces is not rescanned.
std::size_t findHeadEnd(std::string_view v, std::size_t& scanned) {
  for (std::size_t i = scanned; i < v.size(); ++i) {
    if (v[i] != '\n') continue;
    if (i + 1 == v.size()) {
      scanned = i;
      return std::string_view::npos;
    }
    if (v[i + 1] == '\n') return i + 2;
    if (v[i + 1] == '\r') {
      if (i + 2 == v.size()) {
        scanned = i;
        return std::string_view::npos;
      }
      if (v[i + 2] == '\n') return i + 3;
    }
  }
  scanned = v.size();
  return std::string_view::npos;
}

std::string hostHeader(const ParsedUrl& url) {
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  int default_port = url.scheme == "https" ? 443 : 80;
  if (url.port != default_port) host += ":" + std::to_string(url.port);
  return host;
}

bool hasCtl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

}  // namespace

// --- Connection pool

namespace detail {

class Pool {
 public:
  Pool(int max_idle, int idle_ms) : max_idle_(max_idle), idle_ms_(idle_ms) {}

  // Most recently used connection for `key` that still looks open, or null.
  std::unique_ptr<Conn> take(const std::string& key) {
    for (;;) {
      std::unique_ptr<Conn> conn;
      std::vector<std::unique_ptr<Conn>> doomed;  // closed after the lock is released
      {
        Shard& shard = shardFor(key);
        std::lock_guard<std::mutex> lock(shard.mu);
        auto it = shard.idle.find(key);
        if (it == shard.idle.end()) return nullptr;
        pruneExpired(it->second, Clock::now(), doomed);
        if (!it->second.empty()) {
          conn = std::move(it->second.back());
          it->second.pop_back();
        }
        if (it->second.empty()) shard.idle.erase(it);
      }
      if (!conn) return nullptr;
      if (conn->idleAndOpen()) {
        conn->reused = true;
        return conn;
      }
    }
  }

  void put(std::unique_ptr<Conn> conn) {
    if (max_idle_ <= 0) return;
    const auto now = Clock::now();
    conn->idle_since = now;
    std::vector<std::unique_ptr<Conn>> doomed;
    Shard& shard = shardFor(conn->key());
    std::lock_guard<std::mutex> lock(shard.mu);
    // Sweeping the whole shard keeps connections to hosts that are no longer used from
    // lingering; shards are small.
    for (auto it = shard.idle.begin(); it != shard.idle.end();) {
      pruneExpired(it->second, now, doomed);
      it = it->second.empty() ? shard.idle.erase(it) : std::next(it);
    }
    auto& list = shard.idle[conn->key()];
    if (list.size() >= static_cast<std::size_t>(max_idle_)) {
      doomed.push_back(std::move(list.front()));
      list.erase(list.begin());
    }
    list.push_back(std::move(conn));
  }

 private:
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::vector<std::unique_ptr<Conn>>> idle;
  };

  Shard& shardFor(const std::string& key) {
    return shards_[std::hash<std::string>{}(key) % shards_.size()];
  }

  // Lists are in return order, so expired connections are at the front.
  void pruneExpired(std::vector<std::unique_ptr<Conn>>& list, Clock::time_point now,
                    std::vector<std::unique_ptr<Conn>>& doomed) const {
    if (idle_ms_ <= 0) return;
    auto limit = std::chrono::milliseconds(idle_ms_);
    std::size_t n = 0;
    while (n < list.size() && now - list[n]->idle_since > limit) ++n;
    for (std::size_t i = 0; i < n; ++i) doomed.push_back(std::move(list[i]));
    list.erase(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(n));
  }

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

}  // namespace detail

using detail::Core;

struct UpstreamClient::Impl {
  std::shared_ptr<Core> core;
};

namespace {

class ResponseImpl final : public UpstreamResponse {
 public:
  enum class Start { Ok, Failed, Stale };

  ResponseImpl(std::shared_ptr<Core> core, std::unique_ptr<Conn> conn, bool head_request,
               const UpstreamTimeouts& timeouts, Clock::time_point total_end)
      : core_(std::move(core)),
        conn_(std::move(conn)),
        label_(conn_->label()),
        head_request_(head_request),
        timeouts_(timeouts),
        total_end_(total_end) {}

  int status() const override { return status_; }
  const Headers& headers() const override { return headers_; }
  const UpstreamError& error() const override { return error_; }

  bool read(std::string& out) override {
    try {
      return readBody(out);
    } catch (const std::exception&) {
      fail(UpstreamFailure::Closed, "upstream read failed: out of memory (" + label_ + ")");
      return false;
    }
  }

  // Writes the request and reads up to the final response head. Stale means a reused
  // connection died before answering, so the caller may retry on a fresh one.
  Start start(std::string_view head, std::string_view body) {
    iovec iov[2] = {{const_cast<char*>(head.data()), head.size()},
                    {const_cast<char*>(body.data()), body.size()}};
    int first = 0;
    while (first < 2) {
      if (iov[first].iov_len == 0) {
        ++first;
        continue;
      }
      // A peer that stops reading our request is bounded like a stalled body.
      Deadline dl = Deadline::make(Clock::now(), timeouts_.idle_ms, "sending the request",
                                   total_end_, timeouts_.total_ms);
      std::size_t n = 0;
      Io io = conn_->writeSome(iov + first, 2 - first, n, dl, error_);
      if (io != Io::Ok) return failStart(io, false);
      for (; n > 0 && first < 2; ++first) {
        std::size_t k = std::min(n, iov[first].iov_len);
        iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + k;
        iov[first].iov_len -= k;
        n -= k;
        if (iov[first].iov_len > 0) break;
      }
    }

    Deadline dl = Deadline::make(Clock::now(), timeouts_.first_byte_ms,
                                 "waiting for the first byte", total_end_, timeouts_.total_ms);
    bool received = false;
    int interim = 0;
    std::size_t scanned = 0;
    for (;;) {
      std::string_view v = in_.view();
      // Tolerate blank lines before a status line (RFC 9112 section 2.2).
      if (scanned == 0 && !v.empty() && (v.front() == '\n' || v.substr(0, 2) == "\r\n")) {
        in_.consume(v.front() == '\n' ? 1 : 2);
        continue;
      }
      if (scanned == 0 && v.size() == 1 && v.front() == '\r') v = {};  // wait for its '\n'
      std::size_t end = findHeadEnd(v, scanned);
      if (end == std::string_view::npos) {
        if (v.size() > kMaxHead) return protocolStart("response head exceeds 64 KiB");
        std::size_t n = 0;
        Io io = conn_->readSome(in_.prepare(kReadSize), kReadSize, n, dl, error_);
        if (io != Io::Ok) return failStart(io, received);
        in_.commit(n);
        received = true;
        continue;
      }
      if (end > kMaxHead) return protocolStart("response head exceeds 64 KiB");
      std::string reason;
      if (!parseHead(v.substr(0, end), reason)) return protocolStart(reason);
      in_.consume(end);
      scanned = 0;
      if (status_ >= 200) break;
      if (status_ == 101) return protocolStart("unexpected 101 Switching Protocols");
      if (++interim > kMaxInterim) return protocolStart("too many interim (1xx) responses");
    }
    std::string reason;
    if (!decideFraming(reason)) return protocolStart(reason);
    if (framing_ == Framing::None) finish();
    return Start::Ok;
  }

 private:
  enum class Framing { None, Length, Chunked, UntilClose };
  enum class ChunkState { Size, Data, DataEnd, Trailers };

  Start failStart(Io io, bool received_any) {
    if (io == Io::Eof || io == Io::Reset) {
      error_.kind = UpstreamFailure::Closed;
      if (io == Io::Eof) {
        error_.message = received_any
                             ? "upstream closed the connection in the middle of the response head (" + label_ + ")"
                             : "upstream closed the connection without sending a response (" + label_ + ")";
      }
      if (!received_any && conn_->reused) {
        conn_.reset();
        return Start::Stale;
      }
    }
    conn_.reset();
    done_ = true;
    return Start::Failed;
  }

  Start protocolStart(const std::string& what) {
    fail(UpstreamFailure::Protocol, "upstream sent a malformed response: " + what + " (" + label_ + ")");
    return Start::Failed;
  }

  bool parseHead(std::string_view head, std::string& reason) {
    headers_.clear();
    std::size_t pos = 0;
    auto nextLine = [&](std::string_view& line) {
      std::size_t nl = head.find('\n', pos);
      if (nl == std::string_view::npos) nl = head.size();
      line = head.substr(pos, nl - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      pos = nl + 1;
    };
    std::string_view line;
    nextLine(line);
    // "HTTP/1.x NNN[ reason]"
    if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || (line[7] != '0' && line[7] != '1') ||
        line[8] != ' ' || (line.size() > 12 && line[12] != ' ')) {
      reason = "bad status line";
      return false;
    }
    int status = 0;
    for (std::size_t i = 9; i < 12; ++i) {
      if (line[i] < '0' || line[i] > '9') {
        reason = "bad status code";
        return false;
      }
      status = status * 10 + (line[i] - '0');
    }
    if (status < 100 || status > 599) {
      reason = "bad status code";
      return false;
    }
    status_ = status;
    http11_ = line[7] == '1';
    while (pos < head.size()) {
      nextLine(line);
      if (line.empty()) break;
      if (line.front() == ' ' || line.front() == '\t') {
        reason = "obsolete header line folding";
        return false;
      }
      std::size_t colon = line.find(':');
      if (colon == std::string_view::npos || !isToken(line.substr(0, colon))) {
        reason = "bad header line";
        return false;
      }
      std::string_view value = trim(line.substr(colon + 1));
      if (hasCtl(value)) {
        reason = "control character in a header value";
        return false;
      }
      if (headers_.size() >= kMaxHeaders) {
        reason = "more than 100 headers";
        return false;
      }
      headers_.push_back({lowered(line.substr(0, colon)), std::string(value)});
    }
    return true;
  }

  // RFC 9112 section 6.3.
  bool decideFraming(std::string& reason) {
    bool close = false, keep_alive = false, has_te = false, te_chunked = false;
    std::optional<std::uint64_t> length;
    for (const Header& h : headers_) {
      if (h.name == "connection") {
        forEachToken(h.value, [&](std::string_view t) {
          close = close || iequals(t, "close");
          keep_alive = keep_alive || iequals(t, "keep-alive");
        });
      } else if (h.name == "transfer-encoding") {
        has_te = true;
        forEachToken(h.value, [&](std::string_view t) { te_chunked = iequals(t, "chunked"); });
      } else if (h.name == "content-length") {
        bool bad = false;
        forEachToken(h.value, [&](std::string_view t) {
          std::uint64_t v = 0;
          if (!parseDecimal(t, v) || (length && *length != v)) bad = true;
          length = v;
        });
        if (bad || !length) {
          reason = "invalid content-length";
          return false;
        }
      }
    }
    keep_alive_ = http11_ ? !close : (keep_alive && !close);
    if (head_request_ || status_ == 204 || status_ == 304) {
      framing_ = Framing::None;
    } else if (has_te) {
      framing_ = te_chunked ? Framing::Chunked : Framing::UntilClose;
      // Both headers is what request smuggling looks like; never reuse such a connection.
      if (length) keep_alive_ = false;
    } else if (length) {
      remaining_ = *length;
      framing_ = remaining_ == 0 ? Framing::None : Framing::Length;
    } else {
      framing_ = Framing::UntilClose;
    }
    if (framing_ == Framing::UntilClose) keep_alive_ = false;
    return true;
  }

  bool readBody(std::string& out) {
    if (done_) return false;
    const std::size_t before = out.size();
    for (;;) {
      if (!drain(out)) return false;
      if (complete_) {
        finish();
        return out.size() > before;
      }
      if (out.size() > before) return true;
      Deadline dl = Deadline::make(Clock::now(), timeouts_.idle_ms, "waiting for body data",
                                   total_end_, timeouts_.total_ms);
      std::size_t n = 0;
      Io io = conn_->readSome(in_.prepare(kReadSize), kReadSize, n, dl, error_);
      if (io == Io::Ok) {
        in_.commit(n);
        continue;
      }
      if (io == Io::Eof) {
        if (framing_ == Framing::UntilClose) {
          finish();
          return false;
        }
        fail(UpstreamFailure::Closed,
             framing_ == Framing::Length
                 ? "upstream closed the connection with " + std::to_string(remaining_) +
                       " bytes of the body missing (" + label_ + ")"
                 : "upstream closed the connection in the middle of a chunked body (" + label_ + ")");
        return false;
      }
      conn_.reset();  // error_ already says what happened
      done_ = true;
      return false;
    }
  }

  // Moves buffered body bytes to `out` according to the framing. False on a framing error.
  bool drain(std::string& out) {
    for (;;) {
      std::string_view v = in_.view();
      switch (framing_) {
        case Framing::None:
          complete_ = true;
          return true;
        case Framing::Length: {
          std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, v.size()));
          out.append(v.data(), take);
          in_.consume(take);
          remaining_ -= take;
          complete_ = remaining_ == 0;
          return true;
        }
        case Framing::UntilClose:
          out.append(v);
          in_.consume(v.size());
          return true;
        case Framing::Chunked:
          break;
      }
      switch (chunk_state_) {
        case ChunkState::Size: {
          std::size_t nl = v.find('\n');
          if (nl == std::string_view::npos) {
            return v.size() <= kMaxChunkLine || protocolError("chunk size line too long");
          }
          std::string_view line = v.substr(0, nl);
          if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
          std::uint64_t size = 0;
          if (!parseChunkSize(line, size)) return protocolError("bad chunk size");
          in_.consume(nl + 1);
          remaining_ = size;
          chunk_state_ = size == 0 ? ChunkState::Trailers : ChunkState::Data;
          continue;
        }
        case ChunkState::Data: {
          if (v.empty()) return true;
          std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, v.size()));
          out.append(v.data(), take);
          in_.consume(take);
          remaining_ -= take;
          if (remaining_ == 0) chunk_state_ = ChunkState::DataEnd;
          continue;
        }
        case ChunkState::DataEnd: {
          if (v.empty()) return true;
          if (v.front() == '\n') {
            in_.consume(1);
          } else if (v.front() == '\r') {
            if (v.size() < 2) return true;
            if (v[1] != '\n') return protocolError("missing CRLF after chunk data");
            in_.consume(2);
          } else {
            return protocolError("missing CRLF after chunk data");
          }
          chunk_state_ = ChunkState::Size;
          continue;
        }
        case ChunkState::Trailers: {
          std::size_t nl = v.find('\n');
          if (nl == std::string_view::npos) {
            return trailer_bytes_ + v.size() <= kMaxHead || protocolError("trailers too large");
          }
          bool blank = nl == 0 || (nl == 1 && v.front() == '\r');
          in_.consume(nl + 1);
          if (blank) {
            complete_ = true;
            return true;
          }
          trailer_bytes_ += nl + 1;
          if (trailer_bytes_ > kMaxHead) return protocolError("trailers too large");
          continue;
        }
      }
    }
  }

  bool protocolError(const char* what) {
    fail(UpstreamFailure::Protocol,
         std::string("upstream sent a malformed chunked body: ") + what + " (" + label_ + ")");
    return false;
  }

  void fail(UpstreamFailure kind, std::string message) {
    error_ = {kind, std::move(message)};
    conn_.reset();
    done_ = true;
  }

  // The body ended cleanly: hand the connection back if it may carry another exchange.
  void finish() {
    done_ = true;
    complete_ = true;
    if (conn_ && keep_alive_ && in_.empty()) {
      core_->pool.put(std::move(conn_));
    } else {
      conn_.reset();
    }
  }

  std::shared_ptr<Core> core_;
  std::unique_ptr<Conn> conn_;
  std::string label_;
  bool head_request_;
  UpstreamTimeouts timeouts_;
  Clock::time_point total_end_;

  int status_ = 0;
  bool http11_ = true;
  Headers headers_;
  UpstreamError error_;

  InBuf in_;
  Framing framing_ = Framing::None;
  ChunkState chunk_state_ = ChunkState::Size;
  std::uint64_t remaining_ = 0;  // body bytes (Length) or bytes left in the current chunk
  std::size_t trailer_bytes_ = 0;
  bool keep_alive_ = false;
  bool complete_ = false;
  bool done_ = false;
};

UpstreamError makeError(UpstreamFailure kind, std::string message) {
  return UpstreamError{kind, std::move(message)};
}

// Request line, Host, the caller's headers minus those the client owns, framing. False if the
// method or a header could corrupt the message.
bool buildHead(const UpstreamRequest& req, const ParsedUrl& url, std::string& head) {
  if (!isToken(req.method)) return false;
  std::size_t size = req.method.size() + url.target.size() + url.host.size() + 96;
  for (const Header& h : req.headers) size += h.name.size() + h.value.size() + 4;
  head.reserve(size + (req.body.size() < kCoalesceBody ? req.body.size() : 0));
  head += req.method;
  head += ' ';
  head += url.target;
  head += " HTTP/1.1\r\nHost: ";
  head += hostHeader(url);
  head += "\r\n";
  for (const Header& h : req.headers) {
    if (!isToken(h.name) || hasCtl(h.value)) return false;
    // Upgrade is dropped too: a 101 would hand us a protocol this client cannot speak.
    if (iequals(h.name, "host") || iequals(h.name, "content-length") ||
        iequals(h.name, "connection") || iequals(h.name, "transfer-encoding") ||
        iequals(h.name, "upgrade")) {
      continue;
    }
    head += h.name;
    head += ": ";
    head += h.value;
    head += "\r\n";
  }
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    head += "Content-Length: ";
    head += std::to_string(req.body.size());
    head += "\r\n";
  }
  head += "Connection: keep-alive\r\n\r\n";
  return true;
}

}  // namespace

// --- UpstreamResponse helpers

std::string UpstreamResponse::header(std::string_view name) const {
  for (const Header& h : headers()) {
    if (iequals(h.name, name)) return h.value;
  }
  return {};
}

bool UpstreamResponse::readAll(std::string& out, std::size_t limit) {
  const std::size_t start = out.size();
  while (read(out)) {
    if (out.size() - start > limit) return false;
  }
  return error().kind == UpstreamFailure::None;
}

// --- UpstreamClient

UpstreamClient::UpstreamClient(UpstreamClientOptions options)
    : impl_(std::make_unique<Impl>(Impl{std::make_shared<Core>(options)})) {}

UpstreamClient::~UpstreamClient() = default;

Result<std::unique_ptr<UpstreamResponse>, UpstreamError> UpstreamClient::send(
    const UpstreamRequest& request, const UpstreamTimeouts& timeouts) {
  using R = Result<std::unique_ptr<UpstreamResponse>, UpstreamError>;
  try {
    const auto started = Clock::now();
    const auto total_end = timeouts.total_ms > 0
                               ? started + std::chrono::milliseconds(timeouts.total_ms)
                               : Clock::time_point::max();
    // The URL is not echoed: a query string may carry an API key.
    ParsedUrl url;
    if (!parseUrl(request.url, url)) {
      return R::failure(makeError(UpstreamFailure::Connect, "invalid upstream URL"));
    }
    std::string head;
    if (!buildHead(request, url, head)) {
      return R::failure(makeError(UpstreamFailure::Protocol,
                                  "invalid upstream request method or header name/value"));
    }
    std::string_view body = request.body;
    if (body.size() < kCoalesceBody) {
      head += body;
      body = {};
    }
    const std::string key = url.scheme + "://" + url.host + ":" + std::to_string(url.port);
    const bool head_request = request.method == "HEAD";
    Core& core = *impl_->core;

    for (int attempt = 0;; ++attempt) {
      std::unique_ptr<Conn> conn = attempt == 0 ? core.pool.take(key) : nullptr;
      if (!conn) {
        UpstreamError err;
        Deadline dl = Deadline::make(Clock::now(), timeouts.connect_ms, "connecting", total_end,
                                     timeouts.total_ms);
        conn = Conn::open(url, key, core.tls, dl, err);
        if (!conn) return R::failure(std::move(err));
      }
      auto response = std::make_unique<ResponseImpl>(impl_->core, std::move(conn), head_request,
                                                     timeouts, total_end);
      switch (response->start(head, body)) {
        case ResponseImpl::Start::Ok:
          return R(std::unique_ptr<UpstreamResponse>(std::move(response)));
        case ResponseImpl::Start::Stale:
          if (attempt == 0) continue;
          [[fallthrough]];
        case ResponseImpl::Start::Failed:
          return R::failure(response->error());
      }
    }
  } catch (const std::exception&) {
    return R::failure(makeError(UpstreamFailure::Connect, "upstream request failed: out of memory"));
  }
}

// --- parseUrl

bool parseUrl(std::string_view url, ParsedUrl& out) {
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) return false;
  const std::string scheme = lowered(url.substr(0, sep));
  int port = 0;
  if (scheme == "http") {
    port = 80;
  } else if (scheme == "https") {
    port = 443;
  } else {
    return false;
  }
  std::string_view rest = url.substr(sep + 3);
  const std::size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view tail =
      authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return false;

  std::string_view host;
  std::string_view port_text;
  bool has_port = false;
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      port_text = after.substr(1);
      has_port = true;
    }
    unsigned char buf[sizeof(in6_addr)];
    if (inet_pton(AF_INET6, std::string(host).c_str(), buf) != 1) return false;
  } else {
    const std::size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
    if (host.empty()) return false;
    for (char c : host) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.' || c == '_';
      if (!ok) return false;
    }
  }
  if (has_port && !port_text.empty()) {
    std::uint64_t p = 0;
    if (port_text.size() > 5 || !parseDecimal(port_text, p) || p == 0 || p > 65535) return false;
    port = static_cast<int>(p);
  }
  // The fragment never goes on the wire.
  tail = tail.substr(0, tail.find('#'));
  for (char c : tail) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  out.scheme = scheme;
  out.host = lowered(host);
  out.port = port;
  if (tail.empty()) {
    out.target = "/";
  } else if (tail.front() == '?') {
    out.target = "/" + std::string(tail);
  } else {
    out.target = std::string(tail);
  }
  return true;
}

}  // namespace aigw::proxy
