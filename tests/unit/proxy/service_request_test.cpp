// Kong's path_handling v0 table (docs: Route object, path_handling): the service path joined
// to what strip_path leaves of the request path.
#include <doctest/doctest.h>

#include "proxy/service_request.hpp"

using aigw::proxy::isHopByHop;
using aigw::proxy::joinServicePath;

TEST_CASE("service path joins: Kong's v0 table") {
  // service.path, what is left of the request path, upstream path
  CHECK(joinServicePath("/s", "req") == "/s/req");
  CHECK(joinServicePath("/s", "") == "/s");
  CHECK(joinServicePath("/s", "/req") == "/s/req");
  CHECK(joinServicePath("/s/", "req") == "/s/req");
  CHECK(joinServicePath("/s/", "") == "/s/");
  CHECK(joinServicePath("/s/", "/req") == "/s/req");
  CHECK(joinServicePath("/s", "/fv0req") == "/s/fv0req");  // strip_path false
  CHECK(joinServicePath("", "") == "/");
  CHECK(joinServicePath("", "/req") == "/req");
  CHECK(joinServicePath("", "req") == "/req");
  CHECK(joinServicePath("/", "/a/b/") == "/a/b/");
}

TEST_CASE("hop-by-hop headers are never forwarded") {
  for (const char* name : {"Connection", "keep-alive", "Proxy-Connection", "TE", "Trailer",
                           "Transfer-Encoding", "Upgrade", "Host", "Content-Length", "Expect"})
    CHECK(isHopByHop(name));
  for (const char* name : {"Authorization", "Content-Type", "X-Custom", "Accept"})
    CHECK_FALSE(isHopByHop(name));
}
