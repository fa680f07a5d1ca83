// fast_upstream: a fake OpenAI chat-completions upstream for the benchmark.
//
// One epoll event loop per thread (default 1), non-blocking sockets, HTTP/1.1 keep-alive,
// request bodies by Content-Length or chunked. Binds 127.0.0.1 only.
//
//   POST .../chat/completions              -> fixed ~400-byte chat.completion JSON
//   same with "stream": true in the body   -> SSE (chunked): 10 content chunks, a usage chunk,
//                                             data: [DONE]; all written at once
//   POST /paced/...  (or any POST on --paced-port)
//                    with "stream": true   -> SSE, --paced-events content chunks --paced-delay-ms
//                                             apart (timer heap, no thread per connection), then
//                                             the usage chunk and [DONE]
//   GET /__stats                           -> JSON counters; GET /__stats?reset=1 also resets
//                                             the peak counters
//
// Usage: fast_upstream [--port P] [--paced-port Q] [--port-file F] [--threads N]
//                      [--paced-events N] [--paced-delay-ms D]
// Port 0 (default) = ephemeral; the bound ports are printed as "fast=P paced=Q" on stdout and
// written to --port-file. SIGINT/SIGTERM stop it.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

std::atomic<bool> g_stop{false};

struct Stats {
  std::atomic<uint64_t> requests{0}, chat{0}, streams{0}, paced_streams{0}, paced_done{0};
  std::atomic<int64_t> conns{0}, conns_peak{0}, paced_active{0}, paced_peak{0};
} g_stats;

void bumpPeak(std::atomic<int64_t>& peak, int64_t v) {
  int64_t cur = peak.load(std::memory_order_relaxed);
  while (v > cur && !peak.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------------------------
// Canned payloads (built once).

const char* kModel = "gpt-4o-mini";

std::string chatJson() {
  return std::string(
             "{\"id\":\"chatcmpl-bench0000000000000000000001\",\"object\":\"chat.completion\","
             "\"created\":1732000000,\"model\":\"") +
         kModel +
         "\",\"system_fingerprint\":\"fp_bench\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
         "\"assistant\",\"content\":\"Hello! This is a canned answer from the benchmark upstream. "
         "It "
         "is short and always the "
         "same.\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
         "\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":21,\"total_tokens\":40}}";
}

std::string chunkEvent(int i, int n) {
  static const char* words[] = {"Hello",     "!",       " This", " is",  " a",
                                " streamed", " answer", " from", " the", " bench"};
  std::string delta = i == 0
                          ? std::string("{\"role\":\"assistant\",\"content\":\"") + words[0] + "\"}"
                          : std::string("{\"content\":\"") + words[i % 10] + "\"}";
  std::string finish = i == n - 1 ? "\"stop\"" : "null";
  return std::string(
             "data: "
             "{\"id\":\"chatcmpl-bench0000000000000000000002\",\"object\":\"chat.completion."
             "chunk\","
             "\"created\":1732000000,\"model\":\"") +
         kModel +
         "\",\"system_fingerprint\":\"fp_bench\",\"choices\":[{\"index\":0,\"delta\":" + delta +
         ",\"logprobs\":null,\"finish_reason\":" + finish + "}]}\n\n";
}

std::string usageEvent(int n) {
  return std::string(
             "data: "
             "{\"id\":\"chatcmpl-bench0000000000000000000002\",\"object\":\"chat.completion."
             "chunk\","
             "\"created\":1732000000,\"model\":\"") +
         kModel +
         "\",\"system_fingerprint\":\"fp_bench\",\"choices\":[],\"usage\":{\"prompt_tokens\":19,"
         "\"completion_tokens\":" +
         std::to_string(n) + ",\"total_tokens\":" + std::to_string(19 + n) + "}}\n\n";
}

const char* kDone = "data: [DONE]\n\n";

std::string asChunk(const std::string& data) {
  char hex[32];
  snprintf(hex, sizeof hex, "%zx\r\n", data.size());
  return hex + data + "\r\n";
}

const char* kSseHeaders =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    "Transfer-Encoding: chunked\r\n";

struct Canned {
  std::string json_body;
  std::string json_head_ka, json_head_close;  // headers incl. blank line
  std::string stream_ka, stream_close;        // whole streamed response
  std::vector<std::string> paced_events;      // each already chunk-framed
  std::string paced_tail;                     // usage + [DONE] + last chunk, chunk-framed
  int paced_events_n = 20;
  int paced_delay_ms = 200;

  void build() {
    json_body = chatJson();
    auto head = [&](bool close) {
      return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
             std::to_string(json_body.size()) + "\r\n" + (close ? "Connection: close\r\n" : "") +
             "\r\n";
    };
    json_head_ka = head(false);
    json_head_close = head(true);
    std::string body;
    for (int i = 0; i < 10; ++i) body += asChunk(chunkEvent(i, 10));
    body += asChunk(usageEvent(10));
    body += asChunk(kDone);
    body += "0\r\n\r\n";
    stream_ka = std::string(kSseHeaders) + "\r\n" + body;
    stream_close = std::string(kSseHeaders) + "Connection: close\r\n\r\n" + body;
    for (int i = 0; i < paced_events_n; ++i)
      paced_events.push_back(asChunk(chunkEvent(i, paced_events_n)));
    paced_tail = asChunk(usageEvent(paced_events_n)) + asChunk(kDone) + "0\r\n\r\n";
  }
} g_canned;

// ---------------------------------------------------------------------------------------------

bool iequalsPrefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (tolower(static_cast<unsigned char>(s[i])) != tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

bool containsCI(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (iequalsPrefix(hay.substr(i), needle)) return true;
  return false;
}

// "stream" : true anywhere in the body (whitespace tolerated).
bool wantsStream(std::string_view body) {
  size_t pos = 0;
  while ((pos = body.find("\"stream\"", pos)) != std::string_view::npos) {
    size_t i = pos + 8;
    while (i < body.size() && isspace(static_cast<unsigned char>(body[i]))) ++i;
    if (i < body.size() && body[i] == ':') {
      ++i;
      while (i < body.size() && isspace(static_cast<unsigned char>(body[i]))) ++i;
      if (body.substr(i, 4) == "true") return true;
    }
    pos += 8;
  }
  return false;
}

struct Conn {
  int fd = -1;
  uint64_t id = 0;
  bool paced_listener = false;
  std::string in;
  std::string out;
  size_t out_off = 0;
  bool want_out = false;  // EPOLLOUT registered
  bool close_after = false;
  // paced stream in progress
  bool pacing = false;
  int paced_next = 0;
};

struct Timer {
  int64_t due;
  uint64_t conn_id;
  bool operator>(const Timer& o) const { return due > o.due; }
};

int makeListener(int port, bool reuseport) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 4096) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int boundPort(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

class Loop {
 public:
  Loop(int fast_fd, int paced_fd) : fast_fd_(fast_fd), paced_fd_(paced_fd) {}

  void run() {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    addListener(fast_fd_);
    if (paced_fd_ >= 0) addListener(paced_fd_);
    std::vector<epoll_event> evs(512);
    while (!g_stop.load(std::memory_order_relaxed)) {
      int timeout = 200;
      if (!timers_.empty()) {
        int64_t d = timers_.top().due - nowMs();
        timeout = d <= 0 ? 0 : (d < 200 ? static_cast<int>(d) : 200);
      }
      int n = epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), timeout);
      for (int i = 0; i < n; ++i) {
        uint64_t tag = evs[i].data.u64;
        if (tag == kFastTag || tag == kPacedTag) {
          acceptAll(tag == kFastTag ? fast_fd_ : paced_fd_, tag == kPacedTag);
          continue;
        }
        auto it = conns_.find(tag);
        if (it == conns_.end()) continue;
        Conn* c = it->second;
        if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
          closeConn(c);
          continue;
        }
        if (evs[i].events & EPOLLOUT) {
          if (!flush(c)) continue;
        }
        if (evs[i].events & EPOLLIN) onReadable(c);
      }
      fireTimers();
    }
  }

 private:
  static constexpr uint64_t kFastTag = 1, kPacedTag = 2;

  void addListener(int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = fd == fast_fd_ ? kFastTag : kPacedTag;
    epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  }

  void acceptAll(int lfd, bool paced) {
    for (int k = 0; k < 256; ++k) {
      int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto* c = new Conn;
      c->fd = fd;
      c->id = next_id_++;
      c->paced_listener = paced;
      conns_[c->id] = c;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.u64 = c->id;
      epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
      bumpPeak(g_stats.conns_peak, ++g_stats.conns);
    }
  }

  void closeConn(Conn* c) {
    if (c->pacing) --g_stats.paced_active;
    epoll_ctl(ep_, EPOLL_CTL_DEL, c->fd, nullptr);
    close(c->fd);
    conns_.erase(c->id);
    --g_stats.conns;
    delete c;
  }

  // Writes pending output; false if the connection was closed.
  bool flush(Conn* c) {
    while (c->out_off < c->out.size()) {
      ssize_t w = send(c->fd, c->out.data() + c->out_off, c->out.size() - c->out_off, MSG_NOSIGNAL);
      if (w > 0) {
        c->out_off += static_cast<size_t>(w);
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        setWantOut(c, true);
        return true;
      }
      closeConn(c);
      return false;
    }
    c->out.clear();
    c->out_off = 0;
    setWantOut(c, false);
    if (c->close_after && !c->pacing) {
      closeConn(c);
      return false;
    }
    return true;
  }

  void setWantOut(Conn* c, bool on) {
    if (c->want_out == on) return;
    c->want_out = on;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (on ? static_cast<uint32_t>(EPOLLOUT) : 0u);
    ev.data.u64 = c->id;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c->fd, &ev);
  }

  void onReadable(Conn* c) {
    char buf[16384];
    bool eof = false;
    for (int k = 0; k < 64; ++k) {
      ssize_t r = recv(c->fd, buf, sizeof buf, 0);
      if (r > 0) {
        c->in.append(buf, static_cast<size_t>(r));
        if (static_cast<size_t>(r) < sizeof buf) break;
        continue;
      }
      if (r == 0) {
        eof = true;
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      closeConn(c);
      return;
    }
    if (c->in.size() > (8u << 20)) {
      closeConn(c);
      return;
    }
    if (!processRequests(c)) return;
    if (eof) closeConn(c);
  }

  // Handles every complete request in c->in (none while a paced stream is running).
  // false if the connection was closed.
  bool processRequests(Conn* c) {
    while (!c->pacing && !c->close_after) {
      size_t hend = c->in.find("\r\n\r\n");
      if (hend == std::string::npos) return true;
      std::string_view head(c->in.data(), hend);
      size_t line_end = head.find("\r\n");
      std::string_view reqline = head.substr(0, line_end);
      size_t sp1 = reqline.find(' ');
      size_t sp2 = reqline.rfind(' ');
      if (sp1 == std::string_view::npos || sp2 == sp1) {
        closeConn(c);
        return false;
      }
      std::string_view method = reqline.substr(0, sp1);
      std::string_view target = reqline.substr(sp1 + 1, sp2 - sp1 - 1);
      std::string_view version = reqline.substr(sp2 + 1);
      bool close_req = version == "HTTP/1.0";
      long content_length = 0;
      bool chunked = false;
      size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
      while (pos < head.size()) {
        size_t e = head.find("\r\n", pos);
        if (e == std::string_view::npos) e = head.size();
        std::string_view h = head.substr(pos, e - pos);
        if (iequalsPrefix(h, "content-length:"))
          content_length = strtol(std::string(h.substr(15)).c_str(), nullptr, 10);
        else if (iequalsPrefix(h, "transfer-encoding:") && containsCI(h, "chunked"))
          chunked = true;
        else if (iequalsPrefix(h, "connection:")) {
          if (containsCI(h, "close"))
            close_req = true;
          else if (containsCI(h, "keep-alive"))
            close_req = false;
        }
        pos = e + 2;
      }
      size_t body_start = hend + 4;
      std::string body;
      size_t consumed;
      if (chunked) {
        size_t p = body_start;
        bool complete = false;
        while (true) {
          size_t le = c->in.find("\r\n", p);
          if (le == std::string::npos) break;
          size_t n = strtoul(c->in.substr(p, le - p).c_str(), nullptr, 16);
          if (n == 0) {
            size_t te = c->in.find("\r\n\r\n", le);  // trailers end (usually immediately)
            if (te == std::string::npos && c->in.compare(le, 4, "\r\n\r\n") != 0) break;
            consumed = (te == std::string::npos ? le : te) + 4;
            complete = true;
            break;
          }
          if (c->in.size() < le + 2 + n + 2) break;
          body.append(c->in, le + 2, n);
          p = le + 2 + n + 2;
        }
        if (!complete) return true;
      } else {
        if (content_length < 0) content_length = 0;
        if (c->in.size() < body_start + static_cast<size_t>(content_length)) return true;
        body.assign(c->in, body_start, static_cast<size_t>(content_length));
        consumed = body_start + static_cast<size_t>(content_length);
      }
      c->close_after = close_req;
      ++g_stats.requests;
      handle(c, method, target, body);
      c->in.erase(0, consumed);
      if (!flush(c)) return false;
    }
    return true;
  }

  void handle(Conn* c, std::string_view method, std::string_view target, const std::string& body) {
    if (method == "GET" && target.substr(0, 8) == "/__stats") {
      std::string j = statsJson();
      if (target.find("reset=1") != std::string_view::npos) {
        g_stats.conns_peak = g_stats.conns.load();
        g_stats.paced_peak = g_stats.paced_active.load();
      }
      c->out += "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                std::to_string(j.size()) + "\r\n" +
                (c->close_after ? "Connection: close\r\n" : "") + "\r\n" + j;
      return;
    }
    if (method != "POST") {
      static const std::string nf =
          "{\"error\":{\"message\":\"not found\",\"type\":\"invalid_request_error\"}}";
      c->out += "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: " +
                std::to_string(nf.size()) + "\r\n" +
                (c->close_after ? "Connection: close\r\n" : "") + "\r\n" + nf;
      return;
    }
    ++g_stats.chat;
    bool stream = wantsStream(body);
    bool paced = c->paced_listener || target.substr(0, 7) == "/paced/";
    if (!stream) {
      c->out += c->close_after ? g_canned.json_head_close : g_canned.json_head_ka;
      c->out += g_canned.json_body;
      return;
    }
    ++g_stats.streams;
    if (!paced) {
      c->out += c->close_after ? g_canned.stream_close : g_canned.stream_ka;
      return;
    }
    ++g_stats.paced_streams;
    bumpPeak(g_stats.paced_peak, ++g_stats.paced_active);
    c->out += kSseHeaders;
    c->out += c->close_after ? "Connection: close\r\n\r\n" : "\r\n";
    c->pacing = true;
    c->paced_next = 0;
    pacedStep(c);  // first event at once, the rest paced
  }

  // Appends the next paced event (or the tail); arms the timer while events remain.
  void pacedStep(Conn* c) {
    if (c->paced_next < g_canned.paced_events_n) {
      c->out += g_canned.paced_events[static_cast<size_t>(c->paced_next++)];
      timers_.push(Timer{nowMs() + g_canned.paced_delay_ms, c->id});
    } else {
      c->out += g_canned.paced_tail;
      c->pacing = false;
      --g_stats.paced_active;
      ++g_stats.paced_done;
    }
  }

  void fireTimers() {
    int64_t now = nowMs();
    while (!timers_.empty() && timers_.top().due <= now) {
      Timer t = timers_.top();
      timers_.pop();
      auto it = conns_.find(t.conn_id);
      if (it == conns_.end()) continue;
      Conn* c = it->second;
      if (!c->pacing) continue;
      pacedStep(c);
      if (!flush(c)) continue;
      if (!c->pacing && !processRequests(c)) continue;  // pipelined requests waiting
    }
  }

  static std::string statsJson() {
    char b[512];
    snprintf(b, sizeof b,
             "{\"requests\":%llu,\"chat\":%llu,\"streams\":%llu,\"paced_streams\":%llu,\"paced_"
             "done\":%llu,"
             "\"conns\":%lld,\"conns_peak\":%lld,\"paced_active\":%lld,\"paced_peak\":%lld}",
             (unsigned long long)g_stats.requests.load(), (unsigned long long)g_stats.chat.load(),
             (unsigned long long)g_stats.streams.load(),
             (unsigned long long)g_stats.paced_streams.load(),
             (unsigned long long)g_stats.paced_done.load(), (long long)g_stats.conns.load(),
             (long long)g_stats.conns_peak.load(), (long long)g_stats.paced_active.load(),
             (long long)g_stats.paced_peak.load());
    return b;
  }

  int fast_fd_, paced_fd_;
  int ep_ = -1;
  uint64_t next_id_ = 16;
  std::unordered_map<uint64_t, Conn*> conns_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
};

void onSignal(int) {
  g_stop = true;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0, paced_port = -1, threads = 1;
  std::string port_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        fprintf(stderr, "missing value for %s\n", a.c_str());
        exit(2);
      }
      return argv[++i];
    };
    if (a == "--port")
      port = atoi(next().c_str());
    else if (a == "--paced-port")
      paced_port = atoi(next().c_str());
    else if (a == "--port-file")
      port_file = next();
    else if (a == "--threads")
      threads = atoi(next().c_str());
    else if (a == "--paced-events")
      g_canned.paced_events_n = atoi(next().c_str());
    else if (a == "--paced-delay-ms")
      g_canned.paced_delay_ms = atoi(next().c_str());
    else {
      fprintf(
          stderr,
          "usage: %s [--port P] [--paced-port Q] [--port-file F] [--threads N] [--paced-events N] "
          "[--paced-delay-ms D]\n",
          argv[0]);
      return 2;
    }
  }
  if (threads < 1) threads = 1;
  if (g_canned.paced_events_n < 1) g_canned.paced_events_n = 1;
  if (g_canned.paced_delay_ms < 0) g_canned.paced_delay_ms = 0;
  g_canned.build();

  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  // The first thread binds (possibly ephemeral) ports; the others join them with SO_REUSEPORT.
  bool reuse = threads > 1;
  std::vector<int> fast_fds, paced_fds;
  int fast0 = makeListener(port, reuse);
  if (fast0 < 0) {
    fprintf(stderr, "fast_upstream: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
    return 1;
  }
  port = boundPort(fast0);
  fast_fds.push_back(fast0);
  int paced0 = -1;
  if (paced_port >= 0) {
    paced0 = makeListener(paced_port, reuse);
    if (paced0 < 0) {
      fprintf(stderr, "fast_upstream: cannot listen on 127.0.0.1:%d: %s\n", paced_port,
              strerror(errno));
      return 1;
    }
    paced_port = boundPort(paced0);
  }
  paced_fds.push_back(paced0);
  for (int t = 1; t < threads; ++t) {
    int f = makeListener(port, true);
    int p = paced0 >= 0 ? makeListener(paced_port, true) : -1;
    if (f < 0 || (paced0 >= 0 && p < 0)) {
      fprintf(stderr, "fast_upstream: SO_REUSEPORT listener failed: %s\n", strerror(errno));
      return 1;
    }
    fast_fds.push_back(f);
    paced_fds.push_back(p);
  }

  char line[128];
  snprintf(line, sizeof line, "fast=%d paced=%d\n", port, paced0 >= 0 ? paced_port : port);
  fputs(line, stdout);
  fflush(stdout);
  if (!port_file.empty()) {
    std::string tmp = port_file + ".tmp";
    if (FILE* f = fopen(tmp.c_str(), "w")) {
      fputs(line, f);
      fclose(f);
      rename(tmp.c_str(), port_file.c_str());
    }
  }

  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t)
    pool.emplace_back([&, t] { Loop(fast_fds[t], paced_fds[t]).run(); });
  Loop(fast_fds[0], paced_fds[0]).run();
  for (auto& th : pool) th.join();
  return 0;
}
