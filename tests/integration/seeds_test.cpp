// The seed documents' command sequences, run as a user types them: curl against the admin API
// and the proxy, `aigw sync` in place of `deck gateway sync`, from a shell whose environment is
// the client's (never the gateway's). Only hosts and ports differ from Kong's guides (and the
// openai upstream, which points at the fake provider).
#include <doctest/doctest.h>

#include <filesystem>

#include "integration/gateway_harness.hpp"

using namespace aigw::test;
using Json = nlohmann::json;

namespace {

FakeProvider& fake() {
  static FakeProvider instance(FAKE_PROVIDER_BINARY);
  return instance;
}

// A gateway from an empty data dir, whose own environment has no provider keys.
struct Node {
  std::string dir = tempDir();
  int port = 0, admin_port = 0;
  std::unique_ptr<Process> process;
  Node() {
    Served served = startServe({"--data-dir", dir + "/data"},
                               {{"DECK_OPENAI_API_KEY", ""}, {"OPENAI_API_KEY", ""}});
    process = std::move(served.process);
    port = served.ports.proxy;
    admin_port = served.ports.admin;
  }
  ~Node() {
    process->terminate();
    removeTempDir(dir);
  }
  // The command as the guide writes it, with localhost:8001/8000 and the provider's host
  // pointed at this gateway and the fake.
  std::string localize(std::string cmd) const {
    for (auto [from, to] : {std::pair<std::string, std::string>{
                                "localhost:8001", "127.0.0.1:" + std::to_string(admin_port)},
                            {"localhost:8000", "127.0.0.1:" + std::to_string(port)},
                            {"{FAKE}", fake().baseUrl()}})
      for (auto pos = cmd.find(from); pos != std::string::npos;
           pos = cmd.find(from, pos + to.size()))
        cmd.replace(pos, from.size(), to);
    return cmd;
  }
  // Runs one step in bash with the client's environment; returns exit code and output.
  int sh(const std::string& cmd, std::string& out,
         std::map<std::string, std::string> env = {}) const {
    env["PATH"] = std::filesystem::path(AIGW_BINARY).parent_path().string() + ":" +
                  (std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin");
    Process p({"bash", "-c", "cd '" + dir + "' && " + localize(cmd)}, env);
    auto code = p.wait(30000);
    out = p.log();
    return code ? *code : -1;
  }
};

}  // namespace

// Seed 002: Kong's AI Gateway workshop with decK. The key is exported in the shell that runs
// the sync, never in the gateway's environment; the sync runs without a terminal.
TEST_CASE("seed 002: export DECK_OPENAI_API_KEY, sync the decK file, call the route") {
  fake().clear();
  Node node;
  writeFile(node.dir + "/ai-proxy.yaml", node.localize(R"(_format_version: "3.0"
services:
- name: ai-proxy
  url: http://localhost:32000
  routes:
  - name: openai-chat
    paths:
    - "~/openai-chat$"
    methods:
    - POST
    plugins:
    - name: ai-proxy
      config:
        route_type: "llm/v1/chat"
        auth:
          header_name: "Authorization"
          header_value: Bearer ${{ env "DECK_OPENAI_API_KEY" }}
        model:
          provider: "openai"
          name: "gpt-4o"
          options:
            max_tokens: 512
            temperature: 1.0
            upstream_url: "{FAKE}/v1/chat/completions"
)"));
  const std::map<std::string, std::string> shell = {
      {"DECK_OPENAI_API_KEY", "sk-seed002-workshop-key"}};
  std::string out;

  // Unset in the client: an error naming it, exit 2, nothing sent.
  CHECK(node.sh("env -u DECK_OPENAI_API_KEY aigw sync ai-proxy.yaml --admin http://localhost:8001",
                out) == 2);
  CHECK(out.find("DECK_OPENAI_API_KEY is not set") != std::string::npos);
  CHECK(out.find("ai-proxy.yaml:") != std::string::npos);
  CHECK(
      Json::parse(node.sh("curl -s localhost:8001/routes", out) == 0 ? out : "{}")["data"].empty());

  // What the workshop types (deck gateway sync -> aigw sync), without a terminal.
  REQUIRE(node.sh("export DECK_OPENAI_API_KEY='sk-seed002-workshop-key'\n"
                  "aigw sync ai-proxy.yaml --admin http://localhost:8001",
                  out) == 0);
  CHECK(out.find("creating route \"openai-chat\"") != std::string::npos);
  CHECK(out.find("Applied.") != std::string::npos);
  CHECK(out.find("sk-seed002-workshop-key") == std::string::npos);

  REQUIRE(node.sh(R"(curl -s -X POST localhost:8000/openai-chat \
  -H "Content-Type: application/json" \
  --json '{"messages": [{"role": "system", "content": "You are a mathematician"}, {"role": "user", "content": "What is 1+1?"}]}')",
                  out, shell) == 0);
  CHECK(Json::parse(out, nullptr, false)["object"] == "chat.completion");
  const Json up = fake().lastRequest();
  CHECK(up["headers"]["authorization"] == "Bearer sk-seed002-workshop-key");
  CHECK(up["json"]["model"] == "gpt-4o");

  // Again: nothing to change. A new key: an update whose value is masked, unless asked.
  CHECK(node.sh("aigw sync ai-proxy.yaml --admin http://localhost:8001", out, shell) == 0);
  CHECK(out.find("Created: 0\n  Updated: 0\n  Deleted: 0") != std::string::npos);
  const std::map<std::string, std::string> rotated = {{"DECK_OPENAI_API_KEY", "sk-seed002-new"}};
  CHECK(node.sh("aigw diff ai-proxy.yaml --admin http://localhost:8001", out, rotated) == 0);
  CHECK(out.find("updating plugin \"ai-proxy\"") != std::string::npos);
  CHECK(out.find("[masked]") != std::string::npos);
  CHECK(out.find("sk-seed002") == std::string::npos);
  CHECK(node.sh("aigw diff ai-proxy.yaml --no-mask-deck-env-vars-value --admin "
                "http://localhost:8001",
                out, rotated) == 0);
  CHECK(out.find("Bearer sk-seed002-new") != std::string::npos);
  CHECK(node.sh("aigw sync ai-proxy.yaml --admin http://localhost:8001", out, rotated) == 0);
  REQUIRE(
      node.sh(
          R"(curl -s -X POST localhost:8000/openai-chat -H "Content-Type: application/json" --json '{"messages":[{"role":"user","content":"hi"}]}')",
          out) == 0);
  CHECK(fake().lastRequest()["headers"]["authorization"] == "Bearer sk-seed002-new");

  // The synced secret is stored like Kong stores what decK sends: in the data dir, 0600.
  const std::string saved = node.dir + "/data/aigw.json";
  CHECK((std::filesystem::status(saved).permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));

  // reset asks; without a terminal it deletes nothing unless -f.
  CHECK(node.sh("aigw reset --admin http://localhost:8001", out) == 2);
  CHECK(out.find("-f/--force") != std::string::npos);
  CHECK(node.sh("curl -s -o /dev/null -w '%{http_code}' -X POST localhost:8000/openai-chat "
                "--json '{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}'",
                out) == 0);
  CHECK(out == "200");
  CHECK(node.sh("aigw reset -f --admin http://localhost:8001", out) == 0);
  CHECK(node.sh("curl -s -o /dev/null -w '%{http_code}' -X POST localhost:8000/openai-chat "
                "--json '{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}'",
                out) == 0);
  CHECK(out == "404");
}

// Seed 004: Kong's admin API guide with curl form data, then the plugin and route managed
// through Kong's nested paths.
TEST_CASE("seed 004: services -> routes -> ai-proxy with curl form data, then nested paths") {
  fake().clear();
  Node node;
  const std::map<std::string, std::string> shell = {{"OPENAI_API_KEY", "sk-seed004-key"}};
  std::string out;
  auto run = [&](const std::string& cmd) {
    CAPTURE(cmd);
    const int code = node.sh(cmd, out, shell);
    CHECK_MESSAGE(code == 0, out);
    return out;
  };
  auto status = [&](const std::string& text) {
    // curl -i: "HTTP/1.1 201 Created" (after curl's progress meter, which goes to the log too)
    const auto at = text.find("HTTP/1.1 ");
    return at == std::string::npos ? 0 : std::atoi(text.c_str() + at + 9);
  };
  CHECK(status(run(R"(curl -i -X POST http://localhost:8001/services \
  --data name=ai-proxy \
  --data url=http://localhost:32000)")) == 201);
  CHECK(status(run(R"(curl -i -X POST http://localhost:8001/services/ai-proxy/routes \
  --data name=openai-chat \
  --data "paths[]=~/openai-chat$")")) == 201);
  CHECK(status(run(R"(curl -i -X POST http://localhost:8001/routes/openai-chat/plugins \
  --data name=ai-proxy \
  --data config.route_type=llm/v1/chat \
  --data config.auth.header_name=Authorization \
  --data "config.auth.header_value=Bearer $OPENAI_API_KEY" \
  --data config.model.provider=openai \
  --data config.model.name=gpt-4o \
  --data config.model.options.max_tokens=512 \
  --data config.model.options.temperature=1.0 \
  --data config.model.options.upstream_url={FAKE}/v1/chat/completions)")) == 201);
  const Json answer = Json::parse(run(R"(curl -s -X POST http://localhost:8000/openai-chat \
  -H "Content-Type: application/json" \
  --data '{"messages":[{"role":"system","content":"You are a mathematician"},{"role":"user","content":"What is 1+1?"}]}')"),
                                  nullptr, false);
  CHECK(answer["object"] == "chat.completion");
  CHECK(fake().lastRequest()["headers"]["authorization"] == "Bearer sk-seed004-key");
  CHECK(fake().lastRequest()["json"]["max_tokens"] == 512);

  // A decorator with Kong's 1-based form arrays.
  CHECK(status(run(R"(curl -i -X POST http://localhost:8001/routes/openai-chat/plugins \
  --data name=ai-prompt-decorator \
  --data "config.prompts.prepend[1].role=system" \
  --data "config.prompts.prepend[1].content=Answer in one word.")")) == 201);

  // The plugin by id under its route: GET, PATCH, then the route under its service.
  const std::string id =
      run("curl -s http://localhost:8001/routes/openai-chat/plugins | jq -r "
          "'.data[] | select(.name == \"ai-proxy\") | .id'");
  const std::string pid = id.substr(0, id.find('\n'));
  REQUIRE(pid.size() == 36);
  CHECK(Json::parse(run("curl -s http://localhost:8001/routes/openai-chat/plugins/" +
                        pid))["config"]["model"]["name"] == "gpt-4o");
  CHECK(status(run("curl -i -X PATCH http://localhost:8001/routes/openai-chat/plugins/" + pid +
                   " --data config.model.name=gpt-4o-mini")) == 200);
  run(R"(curl -s -X POST http://localhost:8000/openai-chat -H "Content-Type: application/json" --data '{"messages":[{"role":"user","content":"What is 1+1?"}]}')");
  const Json up = fake().lastRequest();
  CHECK(up["json"]["model"] == "gpt-4o-mini");
  CHECK(up["json"]["messages"][0] == Json{{"role", "system"}, {"content", "Answer in one word."}});
  CHECK(Json::parse(
            run("curl -s http://localhost:8001/services/ai-proxy/routes/openai-chat"))["paths"] ==
        Json::array({"~/openai-chat$"}));
  CHECK(status(run(R"(curl -i -X PUT http://localhost:8001/services/ai-proxy/routes/openai-chat \
  --data "paths[]=~/openai-chat$" \
  --data "methods[]=POST")")) == 200);
  CHECK(Json::parse(run("curl -s http://localhost:8001/routes/openai-chat"))["methods"] ==
        Json::array({"POST"}));
  CHECK(status(run("curl -i -X DELETE http://localhost:8001/routes/openai-chat/plugins/" + pid)) ==
        204);
  CHECK(status(run("curl -i http://localhost:8001/routes/openai-chat/plugins/" + pid)) == 404);
  // The decorator is still on the route; it needs a message to decorate (Kong answers 400 to an
  // empty list), then the request goes to the route's service as in Kong, and nothing listens
  // there: Kong's 502.
  CHECK(run("curl -s -o /dev/null -w '%{http_code}' -X POST http://localhost:8000/openai-chat "
            "-H 'Content-Type: application/json' "
            "--data '{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}'") == "502");
}
