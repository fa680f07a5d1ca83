// The response side of an upstream exchange: request write, status line and headers, then
// body framing (content-length, chunked, until-close) behind UpstreamResponse::read().
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "proxy/upstream_internal.hpp"

namespace aigw::proxy::detail {
namespace {

constexpr std::size_t kMaxHead = std::size_t{64} * 1024;
constexpr std::size_t kMaxHeaders = 100;
constexpr std::size_t kMaxChunkLine = 4096;
constexpr std::size_t kReadSize = std::size_t{16} * 1024;
constexpr int kMaxInterim = 32;

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

class ResponseImpl final : public UpstreamResponse {
 public:
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

  // See startExchange().
  Exchange start(std::string_view head, std::string_view body) {
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
    return Exchange::Ok;
  }

 private:
  enum class Framing { None, Length, Chunked, UntilClose };
  enum class ChunkState { Size, Data, DataEnd, Trailers };

  Exchange failStart(Io io, bool received_any) {
    if (io == Io::Eof || io == Io::Reset) {
      error_.kind = UpstreamFailure::Closed;
      if (io == Io::Eof) {
        error_.message =
            received_any
                ? "upstream closed the connection in the middle of the response head (" + label_ +
                      ")"
                : "upstream closed the connection without sending a response (" + label_ + ")";
      }
      if (!received_any && conn_->reused) {
        conn_.reset();
        return Exchange::Stale;
      }
    }
    conn_.reset();
    done_ = true;
    return Exchange::Failed;
  }

  Exchange protocolStart(const std::string& what) {
    fail(UpstreamFailure::Protocol,
         "upstream sent a malformed response: " + what + " (" + label_ + ")");
    return Exchange::Failed;
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
                 : "upstream closed the connection in the middle of a chunked body (" + label_ +
                       ")");
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
          std::size_t take =
              static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, v.size()));
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
          std::size_t take =
              static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, v.size()));
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

}  // namespace

Exchange startExchange(std::shared_ptr<Core> core, std::unique_ptr<Conn> conn,
                       std::string_view head, std::string_view body, bool head_request,
                       const UpstreamTimeouts& timeouts, Clock::time_point total_end,
                       std::unique_ptr<UpstreamResponse>& response, UpstreamError& err) {
  auto exchange = std::make_unique<ResponseImpl>(std::move(core), std::move(conn), head_request,
                                                 timeouts, total_end);
  Exchange result = exchange->start(head, body);
  if (result == Exchange::Ok) {
    response = std::move(exchange);
  } else {
    err = exchange->error();
  }
  return result;
}

}  // namespace aigw::proxy::detail
