#include "proxy/upstream.hpp"

#include <arpa/inet.h>

#include <cstdint>
#include <functional>
#include <iterator>
#include <mutex>
#include <utility>

#include "proxy/upstream_internal.hpp"

namespace aigw::proxy {

using detail::Clock;
using detail::Conn;
using detail::Core;
using detail::Deadline;
using detail::Exchange;
using detail::hasCtl;
using detail::iequals;
using detail::isToken;
using detail::lowered;
using detail::parseDecimal;

namespace {

// Bodies below this are copied behind the head so a small request leaves in one write (and one
// TLS record); larger ones are written straight from the caller's string.
constexpr std::size_t kCoalesceBody = std::size_t{16} * 1024;

std::string hostHeader(const ParsedUrl& url) {
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  int default_port = url.scheme == "https" ? 443 : 80;
  if (url.port != default_port) host += ":" + std::to_string(url.port);
  return host;
}

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

// --- Pool

namespace detail {

std::unique_ptr<Conn> Pool::take(const std::string& key) {
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

void Pool::put(std::unique_ptr<Conn> conn) {
  if (max_idle_ <= 0) return;
  const auto now = Clock::now();
  conn->idle_since = now;
  std::vector<std::unique_ptr<Conn>> doomed;  // declared first: closed after the lock is released
  Shard& shard = shardFor(conn->key());
  std::lock_guard<std::mutex> lock(shard.mu);
  // Sweeping the whole shard keeps connections to hosts that are no longer used from lingering;
  // shards are small.
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

Pool::Shard& Pool::shardFor(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % shards_.size()];
}

// Lists are in return order, so expired connections are at the front.
void Pool::pruneExpired(std::vector<std::unique_ptr<Conn>>& list, Clock::time_point now,
                        std::vector<std::unique_ptr<Conn>>& doomed) const {
  if (idle_ms_ <= 0) return;
  const auto limit = std::chrono::milliseconds(idle_ms_);
  std::size_t n = 0;
  while (n < list.size() && now - list[n]->idle_since > limit) ++n;
  for (std::size_t i = 0; i < n; ++i) doomed.push_back(std::move(list[i]));
  list.erase(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(n));
}

}  // namespace detail

struct UpstreamClient::Impl {
  std::shared_ptr<Core> core;
};

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
      std::unique_ptr<UpstreamResponse> response;
      UpstreamError err;
      switch (detail::startExchange(impl_->core, std::move(conn), head, body, head_request,
                                    timeouts, total_end, response, err)) {
        case Exchange::Ok:
          return R(std::move(response));
        case Exchange::Stale:
          if (attempt == 0) continue;
          [[fallthrough]];
        case Exchange::Failed:
          return R::failure(std::move(err));
      }
    }
  } catch (const std::exception& e) {
    return R::failure(
        makeError(UpstreamFailure::Connect, std::string("upstream request failed: ") + e.what()));
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
