// load_client: opens N concurrent connections, sends one streaming chat request on each and
// reads the SSE answer to its end. Made for the "many simultaneous slow streams" test, which wrk
// cannot check (wrk neither looks for data: [DONE] nor for error events).
//
// One thread, epoll, non-blocking connects. For every connection: connect, send the request,
// parse the HTTP/1.1 response (chunked, Content-Length or until close), decode the body and
// count SSE "data:" events. A stream succeeds when the status is 200, "data: [DONE]" arrived,
// no error event was seen and the response ended cleanly.
//
// Usage: load_client --url http://127.0.0.1:PORT/path [-n 1000] [--body-file F] [-H 'K: V']...
//                    [--timeout-s 60] [--ramp-per-s 0]   (0 = open all connections at once)
// Prints one "key=value ..." line on stdout (times in ms); the first few failures on stderr.
// Exit 0 when it ran (whatever the results), 2 on bad usage.

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
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

double nowMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

enum class Phase { Idle, Connecting, Sending, Head, Body, Done };
enum class Framing { Chunked, Length, Close };
enum class ChunkState { Size, Data, DataCrlf, Trailer, End };

struct Conn {
  int fd = -1;
  Phase phase = Phase::Idle;
  size_t sent = 0;
  std::string in;   // raw bytes not yet consumed
  std::string sse;  // decoded body not yet split into lines
  Framing framing = Framing::Close;
  long long remaining = 0;  // Length framing
  ChunkState cs = ChunkState::Size;
  size_t chunk_left = 0;
  int status = 0;
  int events = 0;
  bool saw_done = false;
  bool saw_error = false;
  bool ended = false;  // body ended cleanly per framing
  double t_start = 0, t_connected = -1, t_headers = -1, t_first_event = -1, t_end = -1;
  std::string failure;
};

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string path = "/";
  int n = 1000;
  std::string body =
      "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],"
      "\"stream\":true}";
  std::vector<std::string> headers;
  double timeout_s = 60;
  double ramp_per_s = 0;
};

bool parseUrl(const std::string& url, Options& o) {
  const std::string pfx = "http://";
  if (url.compare(0, pfx.size(), pfx) != 0) return false;
  std::string rest = url.substr(pfx.size());
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  o.path = slash == std::string::npos ? "/" : rest.substr(slash);
  size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) {
    o.host = hostport;
    o.port = 80;
  } else {
    o.host = hostport.substr(0, colon);
    o.port = atoi(hostport.substr(colon + 1).c_str());
  }
  if (o.host == "localhost") o.host = "127.0.0.1";
  return o.port > 0;
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  size_t idx = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

bool iprefix(const std::string& s, const char* p) {
  size_t n = strlen(p);
  if (s.size() < n) return false;
  for (size_t i = 0; i < n; ++i)
    if (tolower(static_cast<unsigned char>(s[i])) != p[i]) return false;
  return true;
}

class Client {
 public:
  explicit Client(Options o) : o_(std::move(o)) {}

  int run() {
    std::ostringstream req;
    req << "POST " << o_.path << " HTTP/1.1\r\nHost: " << o_.host << ":" << o_.port
        << "\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: "
        << o_.body.size() << "\r\n";
    for (auto& h : o_.headers) req << h << "\r\n";
    req << "\r\n" << o_.body;
    request_ = req.str();

    ep_ = epoll_create1(EPOLL_CLOEXEC);
    conns_.resize(static_cast<size_t>(o_.n));
    const double t0 = nowMs();
    const double deadline = t0 + o_.timeout_s * 1000.0;
    size_t opened = 0;
    std::vector<epoll_event> evs(1024);
    while (finished_ < conns_.size()) {
      double now = nowMs();
      if (now > deadline) break;
      // Open connections: all at once, or at ramp_per_s.
      size_t target = o_.ramp_per_s <= 0
                          ? conns_.size()
                          : std::min(conns_.size(),
                                     static_cast<size_t>((now - t0) / 1000.0 * o_.ramp_per_s) + 1);
      while (opened < target) open(opened++);
      int timeout = opened < conns_.size() ? 1 : 100;
      int n = epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), timeout);
      for (int i = 0; i < n; ++i) {
        Conn& c = conns_[evs[i].data.u64];
        if (c.phase == Phase::Done) continue;
        if (c.phase == Phase::Connecting) {
          int err = 0;
          socklen_t len = sizeof err;
          getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err != 0) {
            fail(c, std::string("connect: ") + strerror(err), &connect_errors_);
            continue;
          }
          c.t_connected = nowMs();
          c.phase = Phase::Sending;
        }
        if (c.phase == Phase::Sending) {
          if (!sendMore(c)) continue;
        }
        if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) &&
            (c.phase == Phase::Head || c.phase == Phase::Body))
          readMore(c);
      }
    }
    const double elapsed = nowMs() - t0;
    size_t timeouts = 0;
    for (auto& c : conns_) {
      if (c.phase != Phase::Done) {
        ++timeouts;
        static const char* names[] = {"not opened",          "connecting",   "sending request",
                                      "waiting for headers", "reading body", "done"};
        fail(c,
             std::string("timeout while ") + names[static_cast<int>(c.phase)] + " (" +
                 std::to_string(c.events) + " events so far)",
             nullptr);
      }
    }
    report(elapsed, timeouts, opened);
    return 0;
  }

 private:
  void open(size_t idx) {
    Conn& c = conns_[idx];
    c.t_start = nowMs();
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
      fail(c, std::string("socket: ") + strerror(errno), &connect_errors_);
      return;
    }
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(o_.port));
    inet_pton(AF_INET, o_.host.c_str(), &a.sin_addr);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    ev.data.u64 = idx;
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    int r = connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    if (r == 0) {
      c.t_connected = nowMs();
      c.phase = Phase::Sending;
      sendMore(c);
    } else if (errno == EINPROGRESS) {
      c.phase = Phase::Connecting;
    } else {
      fail(c, std::string("connect: ") + strerror(errno), &connect_errors_);
    }
  }

  bool sendMore(Conn& c) {
    while (c.sent < request_.size()) {
      ssize_t w = send(c.fd, request_.data() + c.sent, request_.size() - c.sent, MSG_NOSIGNAL);
      if (w > 0) {
        c.sent += static_cast<size_t>(w);
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      fail(c, std::string("send: ") + strerror(errno), &io_errors_);
      return false;
    }
    c.phase = Phase::Head;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = static_cast<uint64_t>(&c - conns_.data());
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    return true;
  }

  void readMore(Conn& c) {
    char buf[16384];
    for (int k = 0; k < 64; ++k) {
      ssize_t r = recv(c.fd, buf, sizeof buf, 0);
      if (r > 0) {
        c.in.append(buf, static_cast<size_t>(r));
        if (!consume(c)) return;
        if (static_cast<size_t>(r) < sizeof buf) return;
        continue;
      }
      if (r == 0) {
        if (c.phase == Phase::Body && c.framing == Framing::Close) {
          c.ended = true;
          finish(c);
        } else {
          fail(c, c.phase == Phase::Head ? "closed before response headers" : "closed mid-body",
               &io_errors_);
        }
        return;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      fail(c, std::string("recv: ") + strerror(errno), &io_errors_);
      return;
    }
  }

  // Parses what is in c.in; false once the connection is finished.
  bool consume(Conn& c) {
    if (c.phase == Phase::Head) {
      size_t hend = c.in.find("\r\n\r\n");
      if (hend == std::string::npos) return true;
      c.t_headers = nowMs();
      std::string head = c.in.substr(0, hend);
      c.in.erase(0, hend + 4);
      if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0) {
        fail(c, "bad status line", &http_errors_);
        return false;
      }
      c.status = atoi(head.c_str() + 9);
      c.framing = Framing::Close;
      std::istringstream hs(head);
      std::string line;
      std::getline(hs, line);
      while (std::getline(hs, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (iprefix(line, "transfer-encoding:") && line.find("chunked") != std::string::npos)
          c.framing = Framing::Chunked;
        else if (iprefix(line, "content-length:") && c.framing != Framing::Chunked) {
          c.framing = Framing::Length;
          c.remaining = atoll(line.c_str() + 15);
        }
      }
      c.phase = Phase::Body;
      if (c.framing == Framing::Length && c.remaining == 0) {
        c.ended = true;
        finish(c);
        return false;
      }
    }
    if (c.phase != Phase::Body) return true;
    if (c.framing == Framing::Chunked) {
      while (!c.in.empty()) {
        if (c.cs == ChunkState::Size) {
          size_t le = c.in.find("\r\n");
          if (le == std::string::npos) break;
          c.chunk_left = strtoul(c.in.substr(0, le).c_str(), nullptr, 16);
          c.in.erase(0, le + 2);
          c.cs = c.chunk_left == 0 ? ChunkState::Trailer : ChunkState::Data;
        } else if (c.cs == ChunkState::Data) {
          size_t take = std::min(c.chunk_left, c.in.size());
          c.sse.append(c.in, 0, take);
          c.in.erase(0, take);
          c.chunk_left -= take;
          if (c.chunk_left == 0) c.cs = ChunkState::DataCrlf;
        } else if (c.cs == ChunkState::DataCrlf) {
          if (c.in.size() < 2) break;
          c.in.erase(0, 2);
          c.cs = ChunkState::Size;
        } else if (c.cs == ChunkState::Trailer) {
          size_t le = c.in.find("\r\n");
          if (le == std::string::npos) break;
          c.in.erase(0, le + 2);
          if (le == 0) {
            c.cs = ChunkState::End;
            break;
          }
        } else {
          break;
        }
      }
    } else {
      size_t take = c.in.size();
      if (c.framing == Framing::Length) take = std::min(take, static_cast<size_t>(c.remaining));
      c.sse.append(c.in, 0, take);
      c.in.erase(0, take);
      if (c.framing == Framing::Length) c.remaining -= static_cast<long long>(take);
    }
    scanEvents(c);
    bool done = (c.framing == Framing::Chunked && c.cs == ChunkState::End) ||
                (c.framing == Framing::Length && c.remaining <= 0);
    if (done) {
      c.ended = true;
      scanEvents(c, true);
      finish(c);
      return false;
    }
    return true;
  }

  void scanEvents(Conn& c, bool final_flush = false) {
    size_t pos = 0;
    while (true) {
      size_t nl = c.sse.find('\n', pos);
      if (nl == std::string::npos) break;
      std::string_view line(c.sse.data() + pos, nl - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      onLine(c, line);
      pos = nl + 1;
    }
    c.sse.erase(0, pos);
    if (final_flush && !c.sse.empty()) {
      onLine(c, c.sse);
      c.sse.clear();
    }
  }

  void onLine(Conn& c, std::string_view line) {
    if (line.substr(0, 5) == "data:") {
      std::string_view d = line.substr(5);
      if (!d.empty() && d.front() == ' ') d.remove_prefix(1);
      ++c.events;
      ++events_total_;
      if (c.t_first_event < 0) c.t_first_event = nowMs();
      if (d == "[DONE]")
        c.saw_done = true;
      else if (d.find("\"error\"") != std::string_view::npos)
        c.saw_error = true;
    } else if (line.substr(0, 6) == "event:" && line.find("error") != std::string_view::npos) {
      c.saw_error = true;
    } else if (c.status != 200 && line.find("\"error\"") != std::string_view::npos) {
      c.saw_error = true;  // a plain JSON error body
    }
  }

  void finish(Conn& c) {
    c.t_end = nowMs();
    if (c.status != 200)
      fail(c, "HTTP status " + std::to_string(c.status), &http_errors_);
    else if (c.saw_error)
      fail(c, "error event in stream", &error_streams_);
    else if (!c.saw_done)
      fail(c, "stream ended without data: [DONE]", &no_done_);
    else {
      ++completed_;
      closeFd(c);
      c.phase = Phase::Done;
      ++finished_;
    }
  }

  void fail(Conn& c, const std::string& why, size_t* counter) {
    if (counter) ++*counter;
    if (c.saw_error && counter != &error_streams_) ++error_events_in_failed_;
    if (shown_ < 5) {
      ++shown_;
      fprintf(stderr, "load_client: connection %zu: %s\n", static_cast<size_t>(&c - conns_.data()),
              why.c_str());
    }
    c.failure = why;
    closeFd(c);
    if (c.phase != Phase::Done) {
      c.phase = Phase::Done;
      ++finished_;
    }
  }

  void closeFd(Conn& c) {
    if (c.fd >= 0) {
      epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
      close(c.fd);
      c.fd = -1;
    }
  }

  void report(double elapsed, size_t timeouts, size_t opened) {
    std::vector<double> connect, ttfb, first, total;
    for (auto& c : conns_) {
      if (c.t_connected >= 0) connect.push_back(c.t_connected - c.t_start);
      if (c.t_headers >= 0) ttfb.push_back(c.t_headers - c.t_start);
      if (c.t_first_event >= 0) first.push_back(c.t_first_event - c.t_start);
      if (c.failure.empty() && c.t_end >= 0) total.push_back(c.t_end - c.t_start);
    }
    size_t failed = conns_.size() - completed_;
    printf(
        "RESULT n=%zu opened=%zu completed=%zu failed=%zu connect_errors=%zu io_errors=%zu "
        "http_errors=%zu "
        "error_streams=%zu no_done=%zu timeouts=%zu events=%llu "
        "connect_p50_ms=%.1f connect_p99_ms=%.1f connect_max_ms=%.1f ttfb_p50_ms=%.1f "
        "ttfb_p99_ms=%.1f "
        "first_event_p50_ms=%.1f first_event_p99_ms=%.1f total_p50_ms=%.1f total_p99_ms=%.1f "
        "total_max_ms=%.1f elapsed_ms=%.0f\n",
        conns_.size(), opened, completed_, failed, connect_errors_, io_errors_, http_errors_,
        error_streams_, no_done_, timeouts, static_cast<unsigned long long>(events_total_),
        pct(connect, 50), pct(connect, 99), pct(connect, 100), pct(ttfb, 50), pct(ttfb, 99),
        pct(first, 50), pct(first, 99), pct(total, 50), pct(total, 99), pct(total, 100), elapsed);
    fflush(stdout);
  }

  Options o_;
  std::string request_;
  int ep_ = -1;
  std::vector<Conn> conns_;
  size_t finished_ = 0, completed_ = 0, shown_ = 0;
  size_t connect_errors_ = 0, io_errors_ = 0, http_errors_ = 0, error_streams_ = 0, no_done_ = 0;
  size_t error_events_in_failed_ = 0;
  unsigned long long events_total_ = 0;
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
    if (a == "--url")
      url = next();
    else if (a == "-n")
      o.n = atoi(next().c_str());
    else if (a == "--body-file") {
      std::ifstream f(next());
      if (!f) {
        fprintf(stderr, "cannot read body file\n");
        return 2;
      }
      std::stringstream ss;
      ss << f.rdbuf();
      o.body = ss.str();
    } else if (a == "-H")
      o.headers.push_back(next());
    else if (a == "--timeout-s")
      o.timeout_s = atof(next().c_str());
    else if (a == "--ramp-per-s")
      o.ramp_per_s = atof(next().c_str());
    else {
      fprintf(stderr,
              "usage: %s --url http://127.0.0.1:PORT/path [-n N] [--body-file F] [-H 'K: V']... "
              "[--timeout-s S] "
              "[--ramp-per-s R]\n",
              argv[0]);
      return 2;
    }
  }
  if (url.empty() || !parseUrl(url, o) || o.n < 1) {
    fprintf(stderr, "load_client: --url http://HOST:PORT/path and -n >= 1 are required\n");
    return 2;
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  signal(SIGPIPE, SIG_IGN);
  return Client(std::move(o)).run();
}
