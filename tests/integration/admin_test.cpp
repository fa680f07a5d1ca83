// The admin API and the decK-style commands against the real binary: Kong's curl flows, JSON
// CRUD, error shapes, persistence across restarts and crashes, reload under load.
#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <thread>

#include "integration/gateway_harness.hpp"

using namespace aigw::test;
using Json = nlohmann::json;

namespace {

// A gateway started from a data dir the test owns (so it can restart on the same one).
struct Node {
  std::string data_dir;
  int port = 0, admin_port = 0;
  std::unique_ptr<Process> process;

  explicit Node(std::string dir, std::vector<std::string> extra = {}) : data_dir(std::move(dir)) {
    start(std::move(extra));
  }
  // On ports the kernel picks, reported by aigw (a restart gets new ones).
  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--data-dir", data_dir};
    args.insert(args.end(), extra.begin(), extra.end());
    Served served = startServe(std::move(args));
    process = std::move(served.process);
    port = served.ports.proxy;
    admin_port = served.ports.admin;
  }
  httplib::Client admin() const {
    httplib::Client c("127.0.0.1", admin_port);
    c.set_read_timeout(10, 0);
    return c;
  }
  int chat(const std::string& path) const {
    httplib::Client c("127.0.0.1", port);
    auto r = c.Post(path.c_str(), R"({"messages":[{"role":"user","content":"hi"}]})",
                    "application/json");
    return r ? r->status : 0;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(admin_port); }
};

httplib::Params form(std::initializer_list<std::pair<std::string, std::string>> fields) {
  httplib::Params p;
  for (const auto& f : fields) p.emplace(f.first, f.second);
  return p;
}

int runCli(std::vector<std::string> argv, std::string* out = nullptr,
           std::map<std::string, std::string> env = {}) {
  argv.insert(argv.begin(), AIGW_BINARY);
  Process p(std::move(argv), std::move(env));
  auto code = p.wait(20000);
  if (out) *out = p.log();
  return code ? *code : -1;
}

}  // namespace

TEST_CASE("Kong's guide with curl form data: service -> route -> ai-proxy plugin") {
  const std::string dir = tempDir();
  Node node(dir + "/data");
  auto admin = node.admin();
  auto svc = admin.Post("/services", form({{"name", "ai-svc"}, {"url", "http://localhost:32000"}}));
  REQUIRE(svc);
  CHECK(svc->status == 201);
  CHECK(Json::parse(svc->body)["host"] == "localhost");
  auto route = admin.Post(
      "/services/ai-svc/routes",
      form({{"name", "openai-chat"}, {"paths[]", "~/openai-chat$"}, {"methods[]", "POST"}}));
  REQUIRE(route);
  CHECK(route->status == 201);
  CHECK(Json::parse(route->body)["paths"] == Json::array({"~/openai-chat$"}));
  auto plugin = admin.Post("/routes/openai-chat/plugins",
                           form({{"name", "ai-proxy"},
                                 {"config.route_type", "llm/v1/chat"},
                                 {"config.auth.header_name", "Authorization"},
                                 {"config.auth.header_value", "Bearer x"},
                                 {"config.model.provider", "mock"},
                                 {"config.model.name", "demo"},
                                 {"config.model.options.max_tokens", "512"},
                                 {"config.model.options.temperature", "1.0"}}));
  REQUIRE(plugin);
  CHECK(plugin->status == 201);
  auto pj = Json::parse(plugin->body);
  CHECK(pj["config"]["model"]["options"]["max_tokens"] == 512);  // coerced by the schema
  CHECK(pj["route"]["id"] == Json::parse(route->body)["id"]);
  CHECK(node.chat("/openai-chat") == 200);

  SUBCASE("lists, lookups by name and id, nested lists, pagination, tags") {
    auto list = Json::parse(admin.Get("/routes")->body);
    CHECK(list["data"].size() == 1);
    CHECK(list["next"].is_null());
    const std::string rid = list["data"][0]["id"];
    CHECK(admin.Get(("/routes/" + rid).c_str())->status == 200);
    CHECK(Json::parse(admin.Get("/routes/openai-chat/service")->body)["name"] == "ai-svc");
    CHECK(Json::parse(admin.Get("/services/ai-svc/routes")->body)["data"].size() == 1);
    CHECK(Json::parse(admin.Get("/routes/openai-chat/plugins")->body)["data"].size() == 1);
    for (int i = 0; i < 3; ++i)
      admin.Post("/services",
                 Json{{"name", "s" + std::to_string(i)},
                      {"url", "http://x"},
                      {"tags", {i == 1 ? "blue" : "red"}}}
                     .dump(),
                 "application/json");
    auto page = Json::parse(admin.Get("/services?size=2")->body);
    CHECK(page["data"].size() == 2);
    CHECK(page["next"] == "/services?offset=2&size=2");
    CHECK(Json::parse(admin.Get("/services?size=2&offset=2")->body)["data"].size() == 2);
    CHECK(Json::parse(admin.Get("/services?tags=blue")->body)["data"].size() == 1);
  }
  SUBCASE("errors: 404, 409, 400 with the field path; a rejected change leaves the config") {
    CHECK(admin.Get("/routes/nope")->status == 404);
    CHECK(Json::parse(admin.Get("/routes/nope")->body)["message"] == "Not found");
    auto dup = admin.Post("/services", form({{"name", "ai-svc"}, {"url", "http://x"}}));
    CHECK(dup->status == 409);
    CHECK(Json::parse(dup->body)["name"] == "unique constraint violation");
    auto bad = admin.Patch("/plugins/" + pj["id"].get<std::string>(),
                           R"({"config":{"model":{"provider":"opneai"}}})", "application/json");
    REQUIRE(bad);
    CHECK(bad->status == 400);
    auto bj = Json::parse(bad->body);
    CHECK(bj["name"] == "schema violation");
    CHECK(bj["fields"]["config"]["model"]["provider"].get<std::string>().rfind(
              "unknown provider \"opneai\"", 0) == 0);
    CHECK(node.chat("/openai-chat") == 200);
    auto referenced = admin.Delete("/services/ai-svc");
    CHECK(referenced->status == 400);
    auto not_json = admin.Post("/services", "{", "application/json");
    CHECK(not_json->status == 400);
  }
  SUBCASE("PATCH, PUT upsert, DELETE cascade") {
    auto patched =
        admin.Patch("/routes/openai-chat", R"({"paths":["/renamed"]})", "application/json");
    CHECK(patched->status == 200);
    CHECK(node.chat("/renamed") == 200);
    CHECK(node.chat("/openai-chat") == 404);
    auto put = admin.Put("/services/other", R"({"url":"http://example.com"})", "application/json");
    CHECK(put->status == 200);
    CHECK(Json::parse(put->body)["name"] == "other");
    CHECK(admin.Delete("/routes/openai-chat")->status == 204);
    CHECK(Json::parse(admin.Get("/plugins")->body)["data"].empty());
    CHECK(admin.Delete("/routes/openai-chat")->status == 204);
  }
  SUBCASE("consumers and key-auth credentials") {
    CHECK(admin.Post("/consumers", form({{"username", "alice"}}))->status == 201);
    auto cred = admin.Post("/consumers/alice/key-auth", form({{"key", "alice-key"}}));
    CHECK(cred->status == 201);
    CHECK(Json::parse(admin.Get("/consumers/alice/key-auth")->body)["data"][0]["key"] ==
          "alice-key");
    CHECK(admin.Post("/consumers/alice/key-auth", form({{"key", "alice-key"}}))->status == 409);
    CHECK(admin.Delete("/consumers/alice/key-auth/alice-key")->status == 204);
  }
  removeTempDir(dir);
}

TEST_CASE(
    "every accepted change survives a restart; SIGKILL in a write burst leaves a valid state") {
  const std::string dir = tempDir();
  {
    Node node(dir + "/data");
    auto admin = node.admin();
    REQUIRE(
        admin.Post("/routes", Json{{"name", "r"}, {"paths", {"/r"}}}.dump(), "application/json")
            ->status == 201);
    REQUIRE(
        admin
            .Post(
                "/routes/r/plugins",
                R"({"name":"ai-proxy","config":{"route_type":"llm/v1/chat","model":{"provider":"mock"}}})",
                "application/json")
            ->status == 201);
    node.process->terminate();
  }
  {
    Node node(dir + "/data");
    CHECK(node.chat("/r") == 400);  // the route is back (mock needs a model: 400 from ai-proxy)
    CHECK(Json::parse(node.admin().Get("/routes/r")->body)["name"] == "r");
    // A burst of writes, killed without warning in the middle.
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      auto admin = node.admin();
      for (int i = 0; i < 2000 && !stop; ++i)
        admin.Post("/services",
                   Json{{"name", "burst-" + std::to_string(i)}, {"url", "http://x"}}.dump(),
                   "application/json");
    });
    REQUIRE(waitUntil(
        [&] {
          return Json::parse(node.admin().Get("/services?size=1000")->body)["data"].size() >= 20;
        },
        10000));
    node.process->signal(SIGKILL);
    node.process->wait(5000);
    stop = true;
    writer.join();
  }
  Node node(dir + "/data");
  auto services = Json::parse(node.admin().Get("/services?size=1000")->body)["data"];
  CHECK(services.size() >= 20);
  CHECK(node.chat("/r") == 400);
  removeTempDir(dir);
}

TEST_CASE("50 reloads under a stream of requests: zero failed requests") {
  const std::string dir = tempDir();
  Node node(dir + "/data");
  auto admin = node.admin();
  auto config = [](int n) {
    return Json{
        {"_format_version", "3.0"},
        {"routes",
         {{{"name", "chat"},
           {"paths", {"/chat"}},
           {"tags", {"v" + std::to_string(n)}},
           {"plugins",
            {{{"name", "ai-proxy"},
              {"config",
               {{"route_type", "llm/v1/chat"},
                {"model", {{"provider", "mock"}, {"name", "m" + std::to_string(n)}}}}}}}}}}}}
        .dump();
  };
  REQUIRE(admin.Post("/config", config(0), "application/json")->status == 201);
  std::atomic<bool> done{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      httplib::Client c("127.0.0.1", node.port);
      for (int i = 0; i < 5000 && !done; ++i) {
        auto r = c.Post("/chat", R"({"messages":[{"role":"user","content":"x"}],"stream":true})",
                        "application/json");
        const SseParse sse = r ? parseSse(r->body) : SseParse{};
        const bool whole = r && r->status == 200 && !sse.data.empty() &&
                           sse.data.back() == "[DONE]" && sse.partial.empty();
        (whole ? ok : failed)++;
      }
    });
  }
  for (int n = 1; n <= 50; ++n)
    CHECK(admin.Post("/config", config(n), "application/json")->status == 201);
  done = true;
  for (auto& t : clients) t.join();
  CHECK(failed == 0);
  CHECK(ok > 50);
  CHECK(Json::parse(
            admin.Get("/config")->body)["routes"][0]["plugins"][0]["config"]["model"]["name"] ==
        "m50");
  removeTempDir(dir);
}

TEST_CASE("sync, diff, dump, reset round trips") {
  const std::string dir = tempDir();
  Node node(dir + "/data");
  writeFile(dir + "/a.yaml", R"(_format_version: "3.0"
services:
- name: svc
  url: http://localhost:1
  routes:
  - name: mock-chat
    paths: [/mock]
    plugins:
    - name: ai-proxy
      config: {route_type: llm/v1/chat, model: {provider: mock, name: m}}
)");
  std::string out;
  CHECK(runCli({"diff", dir + "/a.yaml", "--admin", node.url()}, &out) == 0);
  CHECK(out.find("creating route \"mock-chat\"") != std::string::npos);
  CHECK(node.chat("/mock") == 404);
  // As decK: sync applies without asking (here without a terminal, without --yes).
  CHECK(runCli({"sync", dir + "/a.yaml", "--admin", node.url()}, &out) == 0);
  CHECK(out.find("Applied.") != std::string::npos);
  CHECK(node.chat("/mock") == 200);
  CHECK(runCli({"sync", dir + "/a.yaml", "--yes", "--admin", node.url()}, &out) == 0);
  CHECK(out.find("Already in sync.") != std::string::npos);
  CHECK(runCli({"dump", "-o", dir + "/dump.yaml", "--admin", node.url()}, &out) == 0);
  CHECK(runCli({"sync", dir + "/dump.yaml", "--admin", node.url()}, &out) == 0);
  CHECK(out.find("Already in sync.") != std::string::npos);
  // A field-level update.
  std::string b = readFile(dir + "/a.yaml");
  b.replace(b.find("name: m}"), 8, "name: m2}");
  writeFile(dir + "/b.yaml", b);
  CHECK(runCli({"diff", dir + "/b.yaml", "--admin", node.url()}, &out) == 0);
  CHECK(out.find("updating plugin \"ai-proxy\" on route \"mock-chat\"") != std::string::npos);
  CHECK(out.find("config.model.name: \"m\" -> \"m2\"") != std::string::npos);
  // select-tag: only tagged entities are touched.
  writeFile(dir + "/t.yaml", R"(_format_version: "3.0"
_info: {select_tags: [team-a]}
routes:
- name: tagged
  paths: [/tagged]
  plugins:
  - name: ai-proxy
    config: {route_type: llm/v1/chat, model: {provider: mock, name: t}}
)");
  CHECK(runCli({"sync", dir + "/t.yaml", "--yes", "--admin", node.url()}, &out) == 0);
  CHECK(node.chat("/tagged") == 200);
  CHECK(node.chat("/mock") == 200);
  CHECK(runCli({"reset", "--select-tag", "team-a", "--force", "--admin", node.url()}, &out) == 0);
  CHECK(node.chat("/tagged") == 404);
  CHECK(node.chat("/mock") == 200);
  CHECK(runCli({"reset", "--force", "--admin", node.url()}, &out) == 0);
  CHECK(node.chat("/mock") == 404);
  // Errors: invalid file -> 2; unreachable gateway -> 1 naming the URL.
  writeFile(
      dir + "/bad.yaml",
      "_format_version: \"3.0\"\nroutes: [{name: x, paths: [/x], plugins: [{name: nope}]}]\n");
  CHECK(runCli({"sync", dir + "/bad.yaml", "--admin", node.url()}, &out) == 2);
  CHECK(out.find("unknown plugin \"nope\"") != std::string::npos);
  CHECK(runCli({"dump", "--admin", "http://127.0.0.1:1"}, &out) == 1);
  CHECK(out.find("cannot reach the aigw admin API at http://127.0.0.1:1") != std::string::npos);
  removeTempDir(dir);
}

TEST_CASE("every example syncs into a running gateway, and a second sync finds nothing to change") {
  std::map<std::string, std::string> keys;
  for (const char* name :
       {"OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "MISTRAL_API_KEY", "ANTHROPIC_API_KEY",
        "GEMINI_API_KEY", "COHERE_API_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
        "HF_TOKEN", "DECK_OPENAI_API_KEY"})
    keys[name] = "test-key";
  Gateway gw("_format_version: \"3.0\"\n", keys);
  const std::string admin = "http://127.0.0.1:" + std::to_string(gw.adminPort());
  int synced = 0;
  for (const auto& entry : std::filesystem::directory_iterator(AIGW_SOURCE_DIR "/examples")) {
    if (entry.path().extension() != ".yaml") continue;
    CAPTURE(entry.path().string());
    std::string out;
    // The keys are in the client's environment too: sync renders ${{ env }} there (decK).
    CHECK(runCli({"sync", entry.path().string(), "--yes", "--admin", admin}, &out, keys) == 0);
    CHECK(runCli({"diff", entry.path().string(), "--admin", admin}, &out, keys) == 0);
    CHECK(out.find("Created: 0\n  Updated: 0\n  Deleted: 0") != std::string::npos);
    ++synced;
  }
  CHECK(synced >= 10);
  std::string out;
  REQUIRE(runCli({"sync", AIGW_SOURCE_DIR "/examples/mock.yaml", "--yes", "--admin", admin}, &out,
                 keys) == 0);
  CHECK(gw.post("/mock/chat", R"({"messages":[{"role":"user","content":"hi"}]})").status == 200);
}
