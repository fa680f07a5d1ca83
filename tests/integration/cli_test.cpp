// Process-level behaviour of the binary: exit codes, messages, reload and graceful stop.
#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <thread>

#include "integration/gateway_harness.hpp"

using namespace aigw::test;

namespace {

const char* kMock = R"(_format_version: "3.0"
routes:
- name: one
  paths: ["/one"]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      model: {provider: mock, name: m}
)";

int run(std::vector<std::string> argv, std::string* log = nullptr) {
  argv.insert(argv.begin(), AIGW_BINARY);
  Process p(std::move(argv));
  auto code = p.wait(10000);
  if (log) *log = p.log();
  return code ? *code : -1;
}

}  // namespace

TEST_CASE("validate: 0 for a good file, 2 with file:line:col and path for a bad one") {
  const std::string dir = tempDir();
  writeFile(dir + "/good.yaml", kMock);
  std::string out;
  CHECK(run({"validate", dir + "/good.yaml"}, &out) == 0);
  CHECK(out.find("OK (0 services, 1 routes, 1 plugins)") != std::string::npos);
  std::string bad = kMock;
  bad.replace(bad.find("provider: mock"), 14, "provider: opneai");
  writeFile(dir + "/bad.yaml", bad);
  CHECK(run({"validate", dir + "/bad.yaml"}, &out) == 2);
  CHECK(out.find(dir + "/bad.yaml:9:25: routes[0].plugins[0].config.model.provider: unknown "
                       "provider \"opneai\"") != std::string::npos);
  CHECK(run({"validate", dir + "/missing.yaml"}, &out) == 2);
  CHECK(out.find("cannot read file") != std::string::npos);
  CHECK(run({"serve", "-c", dir + "/bad.yaml", "--listen", "127.0.0.1:0", "--admin-listen",
             "127.0.0.1:0"},
            &out) == 2);
  CHECK(run({"frobnicate"}, &out) == 2);
  CHECK(run({"version"}, &out) == 0);
  CHECK(out.rfind("aigw ", 0) == 0);
  removeTempDir(dir);
}

TEST_CASE("SIGHUP re-reads the file and swaps routes; a bad file keeps the running config") {
  Gateway gw(kMock);
  const std::string body = R"({"messages":[{"role":"user","content":"x"}]})";
  CHECK(gw.post("/one", body).status == 200);
  CHECK(gw.post("/two", body).status == 404);
  std::string next = kMock;
  next.replace(next.find("/one"), 4, "/two");
  writeFile(gw.configPath(), next);
  gw.process().signal(SIGHUP);
  CHECK(waitUntil([&] { return gw.post("/two", body).status == 200; }, 5000));
  CHECK(gw.post("/one", body).status == 404);

  writeFile(
      gw.configPath(),
      "_format_version: \"3.0\"\nroutes: [{name: x, paths: [/x], plugins: [{name: nope}]}]\n");
  gw.process().signal(SIGHUP);
  CHECK(waitUntil([&] { return gw.process().log().find("reload failed") != std::string::npos; },
                  5000));
  CHECK(gw.post("/two", body).status == 200);
}

TEST_CASE("SIGTERM lets an in-flight stream finish, then exits 0") {
  std::string cfg = kMock;
  cfg.replace(cfg.find("name: m}"), 8, "name: m, options: {mock: {tokens_per_second: 20}}}");
  Gateway gw(cfg);
  std::atomic<bool> started{false};
  std::string received;
  std::thread client([&] {
    httplib::Client cli("127.0.0.1", gw.port());
    cli.set_read_timeout(30, 0);
    httplib::Request req;
    req.method = "POST";
    req.path = "/one";
    req.body = R"({"messages":[{"role":"user","content":"a b c d e f g h"}],"stream":true})";
    req.content_receiver = [&](const char* d, size_t n, uint64_t, uint64_t) {
      received.append(d, n);
      started = true;
      return true;
    };
    httplib::Response res;
    httplib::Error err;
    cli.send(req, res, err);
  });
  // Stop only once the stream is in flight (the mock paces its tokens at 20/s).
  REQUIRE(waitUntil([&] { return started.load(); }, 5000));
  gw.process().signal(SIGTERM);
  client.join();
  const SseParse sse = parseSse(received);
  REQUIRE_FALSE(sse.data.empty());
  CHECK(sse.data.back() == "[DONE]");
  CHECK(sse.partial.empty());
  // A graceful stop takes milliseconds once the stream has ended; the bound only turns a hang
  // into a failure, so it is generous for a loaded 2-core CI machine.
  auto code = gw.process().wait(60000);
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(gw.process().log().find("stopped") != std::string::npos);
}
