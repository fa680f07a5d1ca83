// The fake provider's fault helpers that need more than an HTTP answer: dropping the connection
// before any response byte (cpp-httplib never hands out its socket, so it is found by the
// peer's address), and the bodies of the failover faults (failoverbench's list).
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cstdlib>

#include "fake_common.hpp"

namespace aigw::fake {

namespace {

int portOf(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
  return -1;
}

}  // namespace

bool resetConnection(int local_port, int peer_port) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return false;
  bool done = false;
  while (dirent* e = ::readdir(dir)) {
    const int fd = std::atoi(e->d_name);
    if (fd <= 2) continue;
    sockaddr_storage local{}, peer{};
    socklen_t ll = sizeof local, pl = sizeof peer;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &ll) != 0) continue;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &pl) != 0) continue;
    if (portOf(local) != local_port || portOf(peer) != peer_port) continue;
    // SO_LINGER 0 makes the close a reset; shutdown stops httplib from answering on it.
    linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::shutdown(fd, SHUT_RDWR);
    done = true;
    break;
  }
  ::closedir(dir);
  return done;
}

std::string garbageSseBody() {
  // Framed like SSE, but no event is a chunk: broken JSON.
  return "data: {\"id\": \"chatcmpl-x\", \"choices\": [{\"delta\": {\"content\": \"Hel\n\n"
         "data: {not json at all\n\n"
         "data: [DONE]\n\n";
}

std::string contextLengthMessage() {
  return "This model's maximum context length is 8192 tokens. However, your messages resulted "
         "in 9021 tokens. Please reduce the length of the messages.";
}

std::string contentFilterMessage() {
  return "The response was filtered due to the prompt triggering the content management "
         "policy. Please modify your prompt and retry.";
}

}  // namespace aigw::fake
