// Issue 8's findings, re-run as the attack: a web page driving the admin API (cross-site form
// posts, DNS rebinding), reading the gateway's environment through ${{ env }}, growing
// /metrics with invented model names, and a provider echoing the key back.
#include <doctest/doctest.h>

#include <fstream>
#include <thread>

#include "integration/gateway_harness.hpp"

using namespace aigw::test;
using Json = nlohmann::json;

namespace {

FakeProvider& fake() {
  static FakeProvider instance(FAKE_PROVIDER_BINARY);
  return instance;
}

struct Node {
  std::string dir = tempDir();
  int port = 0, admin_port = 0;
  std::unique_ptr<Process> process;
  // On ports the kernel picks (startServe adds --listen/--admin-listen 127.0.0.1:0).
  explicit Node(std::vector<std::string> extra = {}, std::map<std::string, std::string> env = {},
                const std::string& config = "") {
    std::vector<std::string> args = {"--data-dir", dir + "/data", "--access-log",
                                     dir + "/access.log"};
    if (!config.empty()) {
      writeFile(dir + "/aigw.yaml", withFake(config, fake().baseUrl()));
      args.insert(args.end(), {"-c", dir + "/aigw.yaml"});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    Served served = startServe(std::move(args), std::move(env));
    process = std::move(served.process);
    port = served.ports.proxy;
    admin_port = served.ports.admin;
  }
  ~Node() {
    process->terminate();
    removeTempDir(dir);
  }
  httplib::Client admin() const {
    httplib::Client c("127.0.0.1", admin_port);
    c.set_read_timeout(10, 0);
    return c;
  }
  int chat(const std::string& path, const std::string& model = "") const {
    httplib::Client c("127.0.0.1", port);
    Json body = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}};
    if (!model.empty()) body["model"] = model;
    auto r = c.Post(path.c_str(), body.dump(), "application/json");
    return r ? r->status : 0;
  }
  long rssKb() const {
    std::ifstream in("/proc/" + std::to_string(process->pid()) + "/status");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1;
  }
};

// What a browser sends for <form method=post action=http://127.0.0.1:8001/routes>.
httplib::Headers browser(const std::string& origin) {
  return {{"Origin", origin},
          {"Sec-Fetch-Site", "cross-site"},
          {"Sec-Fetch-Mode", "navigate"},
          {"User-Agent", "Mozilla/5.0"}};
}

int runCli(std::vector<std::string> argv, std::string* out,
           std::map<std::string, std::string> env = {}) {
  argv.insert(argv.begin(), AIGW_BINARY);
  Process p(std::move(argv), std::move(env));
  auto code = p.wait(20000);
  if (out) *out = p.log();
  return code ? *code : -1;
}

}  // namespace

TEST_CASE("issue #8 - a cross-site form POST creates nothing; a forged Host is refused") {
  Node node;
  auto admin = node.admin();
  httplib::Params route{{"name", "evil"}, {"paths[]", "/evil"}};
  auto posted = admin.Post("/routes", browser("http://evil.example"), route);
  REQUIRE(posted);
  CHECK(posted->status == 403);
  CHECK(Json::parse(posted->body)["message"].get<std::string>().find(
            "Origin \"http://evil.example\" is not allowed") != std::string::npos);
  // Browsers that leave Origin out still say where the request comes from.
  auto no_origin = admin.Post("/routes", {{"Sec-Fetch-Site", "cross-site"}},
                              "name=evil2&paths[]=/e2", "application/x-www-form-urlencoded");
  CHECK(no_origin->status == 403);
  CHECK(Json::parse(admin.Get("/routes")->body)["data"].empty());

  // DNS rebinding: the page's own name as Host.
  auto rebound = admin.Get("/config", {{"Host", "attacker.example:8001"}});
  CHECK(rebound->status == 403);
  CHECK(rebound->body.find("\"routes\"") == std::string::npos);
  CHECK(admin.Get("/config", {{"Host", "localhost:8001"}})->status == 200);
  CHECK(admin.Get("/config", {{"Host", "127.0.0.1:8001"}})->status == 200);
  CHECK(admin.Get("/config", {{"Host", "[::1]:8001"}})->status == 200);

  // curl-style clients (no Origin) and form data keep working.
  auto ok = admin.Post("/routes", route);
  CHECK(ok->status == 201);
}

TEST_CASE("issue #8 - listed origins and hosts, CORS preflight") {
  Node node(
      {"--admin-allow-origin", "https://admin.example.com", "--admin-allow-host", "gw.internal"});
  auto admin = node.admin();
  auto get = admin.Get("/status", {{"Origin", "https://admin.example.com"}});
  CHECK(get->status == 200);
  CHECK(get->get_header_value("Access-Control-Allow-Origin") == "https://admin.example.com");
  auto preflight = admin.Options("/routes", {{"Origin", "https://admin.example.com"},
                                             {"Access-Control-Request-Method", "POST"}});
  CHECK(preflight->status == 204);
  CHECK(admin.Get("/status", {{"Origin", "https://other.example.com"}})->status == 403);
  CHECK(admin.Get("/status", {{"Host", "gw.internal:8001"}})->status == 200);
  CHECK(admin.Get("/status", {{"Host", "gw.internal.evil.example"}})->status == 403);
}

TEST_CASE("issue #8 - admin token: required when set, sent by every aigw command") {
  const std::string token = "t0ken-for-the-admin-api";
  Node node({}, {{"AIGW_ADMIN_TOKEN", token}});
  auto admin = node.admin();
  auto none = admin.Get("/config");
  CHECK(none->status == 401);
  CHECK(Json::parse(none->body)["message"] ==
        "Invalid credentials. Token or User credentials required");
  CHECK(none->body.find(token) == std::string::npos);
  CHECK(admin.Get("/config", {{"Kong-Admin-Token", "wrong"}})->status == 401);
  CHECK(admin.Get("/config", {{"Kong-Admin-Token", token}})->status == 200);
  CHECK(admin.Get("/config", {{"Authorization", "Bearer " + token}})->status == 200);

  const std::string url = "http://127.0.0.1:" + std::to_string(node.admin_port);
  writeFile(node.dir + "/mock.yaml", R"(_format_version: "3.0"
routes:
- name: mock-chat
  paths: [/mock]
  plugins:
  - name: ai-proxy
    config: {route_type: llm/v1/chat, model: {provider: mock, name: m}}
)");
  std::string out;
  CHECK(runCli({"sync", node.dir + "/mock.yaml", "--admin", url}, &out,
               {{"AIGW_ADMIN_TOKEN", ""}}) == 1);
  CHECK(out.find("--admin-token") != std::string::npos);
  CHECK(runCli({"sync", node.dir + "/mock.yaml", "--admin", url}, &out,
               {{"AIGW_ADMIN_TOKEN", token}}) == 0);
  CHECK(runCli({"diff", node.dir + "/mock.yaml", "--admin", url, "--admin-token", token}, &out,
               {{"AIGW_ADMIN_TOKEN", ""}}) == 0);
  CHECK(runCli({"dump", "--admin", url}, &out, {{"AIGW_ADMIN_TOKEN", token}}) == 0);
  CHECK(out.find("mock-chat") != std::string::npos);
  CHECK(runCli({"chat", "mock-chat", "-m", "hi", "--admin", url, "--url",
                "http://127.0.0.1:" + std::to_string(node.port)},
               &out, {{"AIGW_ADMIN_TOKEN", token}}) == 0);
  CHECK(runCli({"reset", "-f", "--admin", url}, &out, {{"AIGW_ADMIN_TOKEN", token}}) == 0);
}

TEST_CASE("issue #8 - a non-loopback admin listener needs a token or --admin-insecure") {
  const std::string dir = tempDir();
  std::string out;
  CHECK(runCli({"serve", "--listen", "127.0.0.1:0", "--admin-listen", "0.0.0.0:0", "--data-dir",
                dir + "/a"},
               &out, {{"AIGW_ADMIN_TOKEN", ""}}) == 2);
  CHECK(out.find("without a token") != std::string::npos);
  Process insecure({AIGW_BINARY, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "0.0.0.0:0",
                    "--admin-insecure", "--data-dir", dir + "/b"},
                   {{"AIGW_ADMIN_TOKEN", ""}});
  CHECK(waitForServePorts(insecure, 20000));
  Process with_token({AIGW_BINARY, "serve", "--listen", "127.0.0.1:0", "--admin-listen",
                      "0.0.0.0:0", "--data-dir", dir + "/c"},
                     {{"AIGW_ADMIN_TOKEN", "some-token"}});
  CHECK(waitForServePorts(with_token, 20000));
  removeTempDir(dir);
}

TEST_CASE("issue #8 - ${{ env }} over the admin API is refused; the secret never leaves") {
  fake().clear();
  const std::map<std::string, std::string> env = {{"SOME_SECRET", "gateway-env-secret-value"},
                                                  {"ALLOWED_KEY", "Bearer allowed-value"}};
  Node node({"--admin-env-allow", "ALLOWED_*"}, env);
  auto admin = node.admin();
  // The attack: a route whose upstream is the attacker's server, its header from the env.
  auto route = admin.Post("/routes", httplib::Params{{"name", "steal"}, {"paths[]", "/steal"}});
  REQUIRE(route->status == 201);
  const std::string plugin_form =
      "name=ai-proxy&config.route_type=llm/v1/chat&"
      "config.auth.header_name=Authorization&"
      "config.auth.header_value=%24%7B%7B+env+%22SOME_SECRET%22+%7D%7D&"
      "config.model.provider=openai&config.model.name=m&"
      "config.model.options.upstream_url=" +
      fake().baseUrl() + "/v1/chat/completions";
  auto refused =
      admin.Post("/routes/steal/plugins", plugin_form, "application/x-www-form-urlencoded");
  REQUIRE(refused);
  CHECK(refused->status == 400);
  const Json why = Json::parse(refused->body);
  const std::string field = why["fields"]["config"]["auth"]["header_value"];
  CHECK(field.find("${{ env \"SOME_SECRET\" }} is not allowed") != std::string::npos);
  CHECK(refused->body.find("gateway-env-secret-value") == std::string::npos);
  CHECK(Json::parse(admin.Get("/plugins")->body)["data"].empty());
  CHECK(node.chat("/steal") == 503);
  // POST /config and PATCH are limited the same way.
  auto config =
      admin.Post("/config", R"({"_format_version":"3.0","routes":[{"name":"r","paths":["/r"],
    "plugins":[{"name":"ai-proxy","config":{"route_type":"llm/v1/chat",
    "auth":{"header_name":"x","header_value":"${{ env \"SOME_SECRET\" }}"},
    "model":{"provider":"openai","name":"m","options":{"upstream_url":"http://127.0.0.1:1"}}}}]}]})",
                 "application/json");
  CHECK(config->status == 400);
  CHECK(config->body.find("SOME_SECRET") != std::string::npos);
  for (const auto& r : fake().requests())
    CHECK(r.dump().find("gateway-env-secret-value") == std::string::npos);
  // An allowed name goes through (the control: the same attack shape, allowed by the operator).
  std::string allowed = plugin_form;
  allowed.replace(allowed.find("SOME_SECRET"), 11, "ALLOWED_KEY");
  CHECK(admin.Post("/routes/steal/plugins", allowed, "application/x-www-form-urlencoded")->status ==
        201);
  CHECK(node.chat("/steal") == 200);
  CHECK(fake().lastRequest()["headers"]["authorization"] == "Bearer allowed-value");
}

TEST_CASE("issue #8 - serve -c files keep their env references; admin edits leave them be") {
  fake().clear();
  Node node({}, {{"FILE_KEY", "file-key-value"}}, R"(_format_version: "3.0"
routes:
- name: r
  paths: [/r]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      auth: {header_name: Authorization, header_value: 'Bearer ${{ env "FILE_KEY" }}'}
      model: {provider: openai, name: m, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
)");
  CHECK(node.chat("/r") == 200);
  CHECK(fake().lastRequest()["headers"]["authorization"] == "Bearer file-key-value");
  auto admin = node.admin();
  const std::string pid = Json::parse(admin.Get("/plugins")->body)["data"][0]["id"];
  auto patched =
      admin.Patch("/plugins/" + pid, R"({"config":{"model":{"name":"m2"}}})", "application/json");
  CHECK(patched->status == 200);
  CHECK(admin.Patch("/routes/r", R"({"paths":["/r2"]})", "application/json")->status == 200);
  CHECK(node.chat("/r2") == 200);
  CHECK(fake().lastRequest()["headers"]["authorization"] == "Bearer file-key-value");
  // Moving the reference to another field is a new reference: refused.
  auto moved = admin.Patch(
      "/plugins/" + pid,
      R"({"config":{"auth":{"header_name":"x-leak","header_value":"Bearer ${{ env \"FILE_KEY\" }}"}}})",
      "application/json");
  CHECK(moved->status == 200);  // same field, same string: not new
  auto other =
      admin.Post("/routes", R"({"name":"r3","paths":["/r3"],"tags":["${{ env \"FILE_KEY\" }}"]})",
                 "application/json");
  CHECK(other->status == 400);
}

TEST_CASE("issue #8 - 100,000 invented model names keep /metrics small and RSS flat") {
  Node node({}, {}, R"(_format_version: "3.0"
routes:
- name: any
  paths: [/any]
  plugins:
  - name: ai-proxy
    config: {route_type: llm/v1/chat, model: {provider: mock}}
)");
  auto metrics_size = [&] { return node.admin().Get("/metrics")->body.size(); };
  std::atomic<int> next{0}, failed{0};
  auto run = [&](int until) {
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t)
      clients.emplace_back([&, until] {
        httplib::Client c("127.0.0.1", node.port);
        for (int i = next++; i < until; i = next++) {
          const Json body = {{"model", "invented-" + std::to_string(i)},
                             {"messages", {{{"role", "user"}, {"content", "x"}}}}};
          auto r = c.Post("/any", body.dump(), "application/json");
          if (!r || r->status != 200) ++failed;
        }
      });
    for (auto& t : clients) t.join();
  };
  run(10'000);
  const auto size_10k = metrics_size();
  const long rss_10k = node.rssKb();
  run(100'000);
  const auto size_100k = metrics_size();
  const long rss_100k = node.rssKb();
  CHECK(failed == 0);
  MESSAGE("/metrics: " << size_10k << " -> " << size_100k << " bytes; RSS " << rss_10k << " -> "
                       << rss_100k << " kB");
  CHECK(size_100k < size_10k + 256);  // the 21st model onwards is "other" (counts grow a digit)
  CHECK(size_100k < 64 * 1024);
  CHECK(rss_100k - rss_10k < 8 * 1024);  // flat (within allocator noise)
  const std::string text = node.admin().Get("/metrics")->body;
  CHECK(text.find("ai_model=\"other\"") != std::string::npos);
  CHECK(text.find("invented-99999") == std::string::npos);
}

TEST_CASE("issue #8 - a provider that echoes the key: no key for the client or the access log") {
  Node node({}, {}, R"(_format_version: "3.0"
routes:
- name: echo
  paths: [/echo]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      auth: {header_name: Authorization, header_value: "Bearer sk-live-0123456789abcdef"}
      model: {provider: openai, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
- name: query
  paths: [/query]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      auth: {header_name: Authorization, header_value: "Bearer sk-other-key-0000",
             param_name: key, param_value: "AIzaQueryKey0123456789", param_location: query}
      model: {provider: openai, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
)");
  httplib::Client c("127.0.0.1", node.port);
  auto echoed =
      c.Post("/echo", R"({"model":"fake-echo-key","messages":[{"role":"user","content":"x"}]})",
             "application/json");
  REQUIRE(echoed);
  CHECK(echoed->status == 401);
  CHECK(echoed->body.find("Incorrect API key provided") != std::string::npos);
  CHECK(echoed->body.find("0123456789abcdef") == std::string::npos);
  CHECK(echoed->body.find("[redacted]") != std::string::npos);
  auto query =
      c.Post("/query", R"({"model":"fake-echo-key","messages":[{"role":"user","content":"x"}]})",
             "application/json");
  CHECK(query->status == 401);
  CHECK(query->body.find("AIzaQueryKey0123456789") == std::string::npos);
  auto html = c.Post("/echo",
                     R"({"model":"fake-html-echo-key","messages":[{"role":"user","content":"x"}]})",
                     "application/json");
  CHECK(html->status == 502);
  const Json err = Json::parse(html->body)["error"];
  CHECK(err["message"] == "upstream openai returned HTTP 502 with a non-JSON body");
  CHECK(html->body.find("lb-7.internal.corp") == std::string::npos);
  CHECK(html->body.find("<html>") == std::string::npos);
  node.process->terminate();  // flushes the access log
  const std::string log = readFile(node.dir + "/access.log");
  CHECK(log.find("Incorrect API key provided") != std::string::npos);
  CHECK(log.find("0123456789abcdef") == std::string::npos);
  CHECK(log.find("AIzaQueryKey") == std::string::npos);
  CHECK(log.find("lb-7.internal.corp") == std::string::npos);
  CHECK(node.process->log().find("0123456789abcdef") == std::string::npos);
}

TEST_CASE("issue #8 - the admin API over HTTPS with --admin-tls-cert/--admin-tls-key") {
  const std::string dir = tempDir();
  Process openssl({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                   "-subj", "/CN=localhost", "-keyout", dir + "/key.pem", "-out",
                   dir + "/cert.pem"});
  REQUIRE(openssl.wait(30000) == 0);
  Node node({"--admin-tls-cert", dir + "/cert.pem", "--admin-tls-key", dir + "/key.pem",
             "--admin-token", "tls-token"});
  httplib::SSLClient tls("127.0.0.1", node.admin_port);
  tls.enable_server_certificate_verification(false);
  auto r = tls.Get("/status", {{"Kong-Admin-Token", "tls-token"}});
  REQUIRE(r);
  CHECK(r->status == 200);
  httplib::Client plain("127.0.0.1", node.admin_port);
  CHECK_FALSE(plain.Get("/status"));  // no plain HTTP on that port
  std::string out;
  CHECK(
      runCli({"serve", "--admin-tls-cert", dir + "/cert.pem", "--admin-tls-key", dir + "/cert.pem",
              "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", dir + "/d"},
             &out) == 1);
  CHECK(out.find("cannot use --admin-tls-cert") != std::string::npos);
  removeTempDir(dir);
}
