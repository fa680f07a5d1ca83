// aigw quickstart end to end: files and modes, no key in the YAML, a detached gateway that
// answers, an Ollama found through OLLAMA_HOST, and the interactive flow on a pseudo-terminal
// (the typed key is never echoed).
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "integration/gateway_harness.hpp"
#include "quickstart/catalog.hpp"
#include "support/pty.hpp"

using namespace aigw::test;
using Json = nlohmann::json;

namespace {

constexpr int kTimeoutMs = 20000;

// Every value quickstart looks at, blanked (empty = unset to aigw), so the test's own
// environment never leaks a real key into a run; OLLAMA_HOST points at a closed port unless a
// test sets it.
std::map<std::string, std::string> cleanEnv(std::map<std::string, std::string> extra = {}) {
  static const ReservedPort no_ollama;  // bound, never listening: the probe is refused
  std::map<std::string, std::string> env = {
      {"NO_COLOR", "1"}, {"OLLAMA_HOST", no_ollama.hostPort()}, {"AIGW_API_KEY", ""}};
  for (const auto& spec : aigw::quickstart::catalog())
    for (const auto& field : spec.fields) env[std::string(field.env)] = "";
  for (auto& [k, v] : extra) env[k] = v;
  return env;
}

unsigned modeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

bool processGone(pid_t pid) {
  // The detached gateway is not our child; once it exits it may linger as a zombie until its
  // new parent reaps it, which counts as gone.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

const std::string kChatBody = R"({"messages":[{"role":"user","content":"ping"}]})";

}  // namespace

TEST_CASE("quickstart --yes --no-serve: files, .env mode 0600, the key only in .env") {
  const std::string dir = tempDir() + "/qs";
  const std::string key = "sk-test-quickstart-0123456789";
  Process p({AIGW_BINARY, "quickstart", "-o", dir, "--yes", "--no-serve"},
            cleanEnv({{"OPENAI_API_KEY", key}}));
  REQUIRE(p.wait(kTimeoutMs) == 0);
  const std::string yaml = readFile(dir + "/aigw.yaml");
  const std::string env = readFile(dir + "/.env");
  CHECK(yaml.find(key) == std::string::npos);
  CHECK(yaml.find(R"(${{ env "OPENAI_API_KEY" }})") != std::string::npos);
  CHECK(yaml.find("\"openai-chat\"") != std::string::npos);
  CHECK(yaml.find("\"/openai/chat\"") != std::string::npos);
  CHECK(yaml.find("provider: mock") == std::string::npos);  // a real provider: no demo route
  CHECK(env.find("OPENAI_API_KEY=" + key + "\n") != std::string::npos);
  CHECK(modeOf(dir + "/.env") == 0600);
  CHECK(readFile(dir + "/README.md").find("openai-chat") != std::string::npos);
  CHECK(p.log().find(key) == std::string::npos);  // never printed either

  // The written config validates once its variables are set.
  Process v({AIGW_BINARY, "validate", dir + "/aigw.yaml"}, {{"OPENAI_API_KEY", "x"}});
  CHECK(v.wait(kTimeoutMs) == 0);

  // An existing DIR is not overwritten without an answer (stdin is /dev/null here) ...
  writeFile(dir + "/aigw.yaml", "# mine\n");
  Process again({AIGW_BINARY, "quickstart", "-o", dir, "--no-serve"}, cleanEnv());
  CHECK(again.wait(kTimeoutMs) == 2);
  CHECK(again.log().find("left " + dir) != std::string::npos);
  CHECK(readFile(dir + "/aigw.yaml") == "# mine\n");
  // ... and is with --yes; the key typed or found before is kept from the old .env.
  Process yes({AIGW_BINARY, "quickstart", "-o", dir, "--yes", "--no-serve"}, cleanEnv());
  CHECK(yes.wait(kTimeoutMs) == 0);
  CHECK(readFile(dir + "/aigw.yaml").find("openai-chat") != std::string::npos);
  CHECK(readFile(dir + "/.env").find(key) != std::string::npos);
  removeTempDir(dir.substr(0, dir.rfind('/')));
}

TEST_CASE("quickstart --yes --detach with no key and no Ollama: the mock route answers") {
  const std::string dir = tempDir() + "/qs";
  // quickstart takes fixed ports; held until its gateway binds them (see ReservedPort).
  const ReservedPort port_slot, admin_slot;
  const int port = port_slot.port(), admin = admin_slot.port();
  Process p({AIGW_BINARY, "quickstart", "-o", dir, "--yes", "--detach", "--port",
             std::to_string(port), "--admin-port", std::to_string(admin)},
            cleanEnv());
  REQUIRE(p.wait(kTimeoutMs) == 0);
  const std::string out = p.log();
  CHECK(out.find("demo model") != std::string::npos);
  CHECK(out.find("aigw is ready") != std::string::npos);
  CHECK(out.find("aigw chat mock-chat --url http://127.0.0.1:" + std::to_string(port)) !=
        std::string::npos);
  CHECK(out.find("curl -s http://127.0.0.1:" + std::to_string(port) + "/mock/chat") !=
        std::string::npos);
  CHECK(out.find("\033[") == std::string::npos);  // not a terminal: no colours

  const pid_t pid = std::stoi(readFile(dir + "/aigw.pid"));
  REQUIRE(pid > 1);
  httplib::Client cli("127.0.0.1", port);
  auto res = cli.Post("/mock/chat", kChatBody, "application/json");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->body.find("mock answer") != std::string::npos);

  // Re-running on the same DIR stops the earlier gateway first, so the ports are free again.
  Process again({AIGW_BINARY, "quickstart", "-o", dir, "--yes", "--detach", "--port",
                 std::to_string(port), "--admin-port", std::to_string(admin)},
                cleanEnv());
  REQUIRE(again.wait(kTimeoutMs) == 0);
  CHECK(again.log().find("Stopping the gateway started earlier") != std::string::npos);
  CHECK(waitUntil([&] { return processGone(pid); }, kTimeoutMs));
  const pid_t second = std::stoi(readFile(dir + "/aigw.pid"));
  CHECK(second != pid);
  CHECK(cli.Post("/mock/chat", kChatBody, "application/json")->status == 200);

  ::kill(second, SIGTERM);
  CHECK(waitUntil([&] { return processGone(second); }, kTimeoutMs));
  CHECK(readFile(dir + "/aigw.log").find("aigw: stopped") != std::string::npos);
  removeTempDir(dir.substr(0, dir.rfind('/')));
}

TEST_CASE("issue #8 - quickstart checks its ports first and names who holds one") {
  const std::string dir = tempDir() + "/qs";
  // Something else listens on the proxy port.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const int taken = ntohs(addr.sin_port);
  const ReservedPort admin_slot;
  Process p({AIGW_BINARY, "quickstart", "-o", dir, "--yes", "--detach", "--port",
             std::to_string(taken), "--admin-port", std::to_string(admin_slot.port())},
            cleanEnv());
  CHECK(p.wait(kTimeoutMs) == 1);
  CHECK(p.log().find("port " + std::to_string(taken) + " is already in use by pid " +
                     std::to_string(::getpid())) != std::string::npos);
  CHECK(p.log().find("Nothing was written") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir + "/aigw.yaml"));
  CHECK_FALSE(std::filesystem::exists(dir + "/.env"));
  ::close(fd);
  removeTempDir(dir.substr(0, dir.rfind('/')));
}

TEST_CASE("quickstart --api-key: every route needs the gateway key, kept only in .env") {
  const std::string dir = tempDir() + "/qs";
  const ReservedPort port_slot, admin_slot;
  const int port = port_slot.port(), admin = admin_slot.port();
  const std::string key = "gw-key-0123456789";
  Process p({AIGW_BINARY, "quickstart", "-o", dir, "--yes", "--detach", "--port",
             std::to_string(port), "--admin-port", std::to_string(admin), "--api-key", key},
            cleanEnv());
  REQUIRE(p.wait(kTimeoutMs) == 0);
  CHECK(p.log().find("--api-key \"$AIGW_API_KEY\"") != std::string::npos);
  CHECK(p.log().find(key) == std::string::npos);
  CHECK(readFile(dir + "/aigw.yaml").find(key) == std::string::npos);
  CHECK(readFile(dir + "/.env").find("AIGW_API_KEY=" + key) != std::string::npos);
  httplib::Client cli("127.0.0.1", port);
  auto none = cli.Post("/mock/chat", kChatBody, "application/json");
  REQUIRE(none);
  CHECK(none->status == 401);
  auto with = cli.Post("/mock/chat", {{"apikey", key}}, kChatBody, "application/json");
  REQUIRE(with);
  CHECK(with->status == 200);
  auto bearer =
      cli.Post("/mock/chat", {{"Authorization", "Bearer " + key}}, kChatBody, "application/json");
  REQUIRE(bearer);
  CHECK(bearer->status == 200);
  const pid_t pid = std::stoi(readFile(dir + "/aigw.pid"));
  ::kill(pid, SIGTERM);
  CHECK(waitUntil([&] { return processGone(pid); }, kTimeoutMs));
  removeTempDir(dir.substr(0, dir.rfind('/')));
}

TEST_CASE("quickstart --yes finds Ollama through OLLAMA_HOST and routes to its first model") {
  FakeProvider fake(FAKE_PROVIDER_BINARY);
  const std::string dir = tempDir() + "/qs";
  Process p({AIGW_BINARY, "quickstart", "-o", dir, "--yes", "--no-serve"},
            cleanEnv({{"OLLAMA_HOST", fake.baseUrl()}}));
  REQUIRE(p.wait(kTimeoutMs) == 0);
  CHECK(p.log().find("found, 2 model(s)") != std::string::npos);
  const std::string yaml = readFile(dir + "/aigw.yaml");
  CHECK(yaml.find("\"ollama-chat\"") != std::string::npos);
  CHECK(yaml.find("\"llama3.2:latest\"") != std::string::npos);
  CHECK(yaml.find(fake.baseUrl() + "/api/chat") != std::string::npos);
  CHECK(yaml.find("provider: mock") == std::string::npos);

  Gateway gw(yaml);
  auto res = gw.post("/ollama/chat", kChatBody);
  CHECK(res.status == 200);
  CHECK(res.json()["choices"][0]["message"]["content"] == "Hello from fake ollama: ping");
  removeTempDir(dir.substr(0, dir.rfind('/')));
}

TEST_CASE("quickstart interactive on a terminal: menu, hidden key, foreground gateway, Ctrl-C") {
  const std::string dir = tempDir() + "/qs";
  // quickstart takes fixed ports; held until its gateway binds them (see ReservedPort).
  const ReservedPort port_slot, admin_slot;
  const int port = port_slot.port(), admin = admin_slot.port();
  const std::string key = "sk-typed-secret-abcdef123456";
  PtyProcess p({AIGW_BINARY, "quickstart", "-o", dir, "--port", std::to_string(port),
                "--admin-port", std::to_string(admin)},
               cleanEnv());
  REQUIRE(p.expect("Which providers?", kTimeoutMs));
  CHECK(p.output().find("openai") != std::string::npos);
  p.write("openai\r");
  REQUIRE(p.expect("OpenAI API key (OPENAI_API_KEY), typed without echo", kTimeoutMs));
  p.write(key + "\r");
  REQUIRE(p.expect("received (" + std::to_string(key.size()) + " characters)", kTimeoutMs));
  REQUIRE(p.expect("Model; Enter = gpt-4o-mini", kTimeoutMs));
  p.write("\r");
  REQUIRE(p.expect("aigw is ready", kTimeoutMs));
  REQUIRE(p.expect("Ctrl-C to stop", kTimeoutMs));
  CHECK(p.output().find(key) == std::string::npos);  // the terminal never showed the key

  CHECK(readFile(dir + "/.env").find("OPENAI_API_KEY=" + key) != std::string::npos);
  CHECK(readFile(dir + "/aigw.yaml").find(key) == std::string::npos);
  CHECK(modeOf(dir + "/.env") == 0600);
  httplib::Client cli("127.0.0.1", admin);
  auto routes = cli.Get("/routes/openai-chat");
  REQUIRE(routes);
  CHECK(routes->status == 200);

  p.write("\x03");  // Ctrl-C: graceful stop, exit 0
  CHECK(p.wait(kTimeoutMs) == 0);
  CHECK(p.output().find("aigw: stopped") != std::string::npos);

  // Again on the same DIR: asked before overwriting; Enter on the menu keeps the openai key it
  // finds in the old .env; nothing typed this time.
  PtyProcess again({AIGW_BINARY, "quickstart", "-o", dir, "--no-serve"}, cleanEnv());
  REQUIRE(again.expect("Overwrite it? [y/N]", kTimeoutMs));
  again.write("y\r");
  REQUIRE(again.expect("Enter = 1", kTimeoutMs));
  again.write("\r");
  REQUIRE(again.expect("Enter keeps sk-…3456", kTimeoutMs));
  again.write("\r");
  REQUIRE(again.expect("Model; Enter", kTimeoutMs));
  again.write("\r");
  CHECK(again.wait(kTimeoutMs) == 0);
  CHECK(readFile(dir + "/.env").find(key) != std::string::npos);
  removeTempDir(dir.substr(0, dir.rfind('/')));
}

TEST_CASE("quickstart interactive with nothing chosen ends with the demo model") {
  const std::string dir = tempDir() + "/qs";
  PtyProcess p({AIGW_BINARY, "quickstart", "-o", dir, "--no-serve"}, cleanEnv());
  REQUIRE(p.expect("Enter = none (the demo model)", kTimeoutMs));
  p.write("\r");
  REQUIRE(p.expect("demo model: no real LLM is called", kTimeoutMs));
  CHECK(p.wait(kTimeoutMs) == 0);
  CHECK(readFile(dir + "/aigw.yaml").find("provider: mock") != std::string::npos);
  removeTempDir(dir.substr(0, dir.rfind('/')));
}

TEST_CASE("quickstart interactive offers a detected Ollama and its models") {
  FakeProvider fake(FAKE_PROVIDER_BINARY);
  const std::string dir = tempDir() + "/qs";
  PtyProcess p({AIGW_BINARY, "quickstart", "-o", dir, "--no-serve"},
               cleanEnv({{"OLLAMA_HOST", fake.baseUrl()}}));
  REQUIRE(p.expect("found, 2 model(s)", kTimeoutMs));
  REQUIRE(p.expect("ollama", kTimeoutMs));
  REQUIRE(p.expect("Which providers?", kTimeoutMs));
  p.write("ollama\r");
  REQUIRE(p.expect("Model (number or name); Enter = llama3.2:latest", kTimeoutMs));
  p.write("2\r");
  CHECK(p.wait(kTimeoutMs) == 0);
  const std::string yaml = readFile(dir + "/aigw.yaml");
  CHECK(yaml.find("\"nomic-embed-text:latest\"") != std::string::npos);
  CHECK(yaml.find("provider: mock") == std::string::npos);
  removeTempDir(dir.substr(0, dir.rfind('/')));
}
