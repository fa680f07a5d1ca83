// aigw chat against a gateway whose routes point at the fake provider: one-shot (stream and
// not, piped stdin, errors) and the REPL on a pseudo-terminal (history, /reset, Ctrl-C during
// a slow stream, /save).
#include <doctest/doctest.h>

#include "integration/gateway_harness.hpp"
#include "support/pty.hpp"

using namespace aigw::test;
using Json = nlohmann::json;

namespace {

constexpr int kTimeoutMs = 20000;

FakeProvider& fake() {
  static FakeProvider instance(FAKE_PROVIDER_BINARY);
  return instance;
}

// fake-chat answers at once; slow-chat streams with 300 ms between events (the fake's
// /scenario/ path prefix, as the route fixes the model); broken-chat drops the stream.
const char* kConfig = R"(_format_version: "3.0"
routes:
- name: fake-chat
  paths: ["/fake/chat"]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      auth: {header_name: Authorization, header_value: "Bearer sk-configured"}
      model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
- name: slow-chat
  paths: ["~/slow/chat$"]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      auth: {header_name: Authorization, header_value: "Bearer sk-fake"}
      model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "{FAKE}/scenario/fake-pace-300/v1/chat/completions"}}
- name: broken-chat
  paths: ["/broken/chat"]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      auth: {header_name: Authorization, header_value: "Bearer sk-fake"}
      model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "{FAKE}/scenario/fake-truncate/v1/chat/completions"}}
- name: locked-chat
  paths: ["/locked/chat"]
  plugins:
  - name: key-auth
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      auth: {header_name: Authorization, header_value: "Bearer sk-configured"}
      model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
- name: embeddings
  paths: ["/embed"]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/embeddings
      auth: {header_name: Authorization, header_value: "Bearer sk-fake"}
      model: {provider: openai, name: text-embedding-3-small, options: {upstream_url: "{FAKE}/v1/embeddings"}}
consumers:
- username: dev
  keyauth_credentials: [{key: dev-gateway-key}]
)";

Gateway& gw() {
  static Gateway instance(withFake(kConfig, fake().baseUrl()));
  return instance;
}

std::string url() {
  return "http://127.0.0.1:" + std::to_string(gw().port());
}
std::string admin() {
  return "http://127.0.0.1:" + std::to_string(gw().adminPort());
}

// Runs a shell command line with stderr to a file, so the log holds stdout alone.
struct Run {
  int code = -1;
  std::string out, err;
};
Run sh(const std::string& command) {
  const std::string dir = tempDir();
  Process p({"/bin/sh", "-c", command + " 2>" + dir + "/err"}, {{"NO_COLOR", "1"}});
  Run r;
  r.code = p.wait(kTimeoutMs).value_or(-1);
  r.out = p.log();
  r.err = readFile(dir + "/err");
  removeTempDir(dir);
  return r;
}

std::string chatCmd(const std::string& args) {
  return std::string("'") + AIGW_BINARY + "' chat --url " + url() + " --admin " + admin() + " " +
         args;
}

std::vector<std::string> userTexts(const Json& request) {
  std::vector<std::string> out;
  for (const auto& m : request["json"]["messages"])
    if (m["role"] == "user") out.push_back(m["content"]);
  return out;
}

}  // namespace

TEST_CASE("chat -m: only the answer on stdout, streamed or not") {
  auto r = sh(chatCmd("fake-chat -m 'hello there'"));
  CHECK(r.code == 0);
  CHECK(r.out == "Hello from fake openai: hello there\n");
  const Json sent = fake().lastRequest()["json"];
  CHECK(sent["stream"] == true);
  CHECK(sent["messages"].size() == 1);

  r = sh(chatCmd("fake-chat --no-stream --system 'be brief' -m 'no stream'"));
  CHECK(r.code == 0);
  CHECK(r.out == "Hello from fake openai: no stream\n");
  const Json plain = fake().lastRequest()["json"];
  CHECK(plain.value("stream", false) == false);
  CHECK(plain["messages"][0]["role"] == "system");
  CHECK(plain["messages"][0]["content"] == "be brief");

  // A URL is used as it is; piped stdin is the message.
  r = sh("echo 'from a pipe' | " + chatCmd(url() + "/fake/chat"));
  CHECK(r.code == 0);
  CHECK(r.out == "Hello from fake openai: from a pipe\n");

  // Without a route and without a terminal to ask on, the choices are named.
  r = sh(chatCmd("-m x"));
  CHECK(r.code == 2);
  CHECK(r.err.find("broken-chat, fake-chat, locked-chat, slow-chat") != std::string::npos);
  CHECK(r.err.find("embeddings") == std::string::npos);
}

TEST_CASE("chat --api-key / AIGW_API_KEY: the gateway key of a key-auth route") {
  auto r = sh(chatCmd("locked-chat -m hi"));
  CHECK(r.code == 1);
  CHECK(r.err.find("No API key found in request") != std::string::npos);
  r = sh(chatCmd("locked-chat --api-key dev-gateway-key -m hi"));
  CHECK(r.code == 0);
  CHECK(r.out == "Hello from fake openai: hi\n");
  // The provider gets its own key, never the gateway's.
  CHECK(fake().lastRequest()["headers"]["authorization"] == "Bearer sk-configured");
  r = sh("AIGW_API_KEY=dev-gateway-key " + chatCmd("locked-chat --no-stream -m env"));
  CHECK(r.code == 0);
  CHECK(r.out == "Hello from fake openai: env\n");
}

TEST_CASE("chat -m: errors print the gateway's message and exit 1") {
  auto r = sh(chatCmd("fake-chat --model other -m hi"));
  CHECK(r.code == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find("cannot use own model - must be: gpt-4o-mini") != std::string::npos);

  r = sh(chatCmd("broken-chat -m 'one two three four'"));
  CHECK(r.code == 1);
  CHECK(!r.err.empty());

  const ReservedPort closed;  // bound, never listening: connecting is refused
  const std::string down = "http://127.0.0.1:" + std::to_string(closed.port());
  r = sh(std::string("'") + AIGW_BINARY + "' chat " + down + "/x/chat -m hi");
  CHECK(r.code == 1);
  CHECK(r.err.find("cannot reach the gateway at " + down) != std::string::npos);

  r = sh(std::string("'") + AIGW_BINARY + "' chat fake-chat --admin " + down + " -m hi");
  CHECK(r.code == 1);
  CHECK(r.err.find("cannot reach the aigw admin API") != std::string::npos);

  r = sh(chatCmd("nosuch -m hi"));
  CHECK(r.code == 2);
  CHECK(r.err.find("no chat route named \"nosuch\"") != std::string::npos);
}

TEST_CASE("chat REPL on a terminal: history, /reset, Ctrl-C during a stream, /save") {
  const std::string dir = tempDir();
  PtyProcess p({AIGW_BINARY, "chat", "fake-chat", "--url", url(), "--admin", admin()},
               {{"NO_COLOR", "1"}});
  REQUIRE(p.expect("/help lists commands", kTimeoutMs));
  REQUIRE(p.expect("> ", kTimeoutMs));

  p.write("first question\r");
  REQUIRE(p.expect("Hello from fake openai: first question", kTimeoutMs));
  REQUIRE(p.expect("out tokens", kTimeoutMs));  // the stats line after the answer
  p.write("second \\\r");                       // a trailing backslash continues the message
  REQUIRE(p.expect("... ", kTimeoutMs));
  p.write("question\r");
  // The terminal shows the answer's newline as CR LF.
  REQUIRE(p.expect("Hello from fake openai: second \r\nquestion", kTimeoutMs));
  REQUIRE(p.expect("out tokens", kTimeoutMs));
  Json last = fake().lastRequest();
  CHECK(userTexts(last) == std::vector<std::string>{"first question", "second \nquestion"});
  CHECK(last["json"]["messages"].size() == 3);
  CHECK(last["json"]["stream_options"]["include_usage"] == true);

  p.write("/reset\r");
  REQUIRE(p.expect("conversation cleared", kTimeoutMs));
  p.write("third\r");
  REQUIRE(p.expect("Hello from fake openai: third", kTimeoutMs));
  REQUIRE(p.expect("out tokens", kTimeoutMs));
  CHECK(userTexts(fake().lastRequest()) == std::vector<std::string>{"third"});

  p.write("/save " + dir + "/conv.json\r");
  REQUIRE(p.expect("saved 2 messages", kTimeoutMs));
  const Json saved = Json::parse(readFile(dir + "/conv.json"), nullptr, false);
  REQUIRE(saved.is_object());
  REQUIRE(saved["messages"].size() == 2);
  CHECK(saved["messages"][1]["content"] == "Hello from fake openai: third");

  // Switch to the slow route (a regex path, resolved to its literal form), stop an answer.
  p.write("/routes slow-chat\r");
  REQUIRE(p.expect("now on slow-chat", kTimeoutMs));
  // Typed once the prompt is up: before that the terminal itself would echo it.
  REQUIRE(p.expect("> ", kTimeoutMs));
  p.write("w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12\r");
  REQUIRE(p.expect("Hello from", kTimeoutMs));
  p.write("\x03");
  REQUIRE(p.expect("[stopped]", kTimeoutMs));
  // Stopped early: the whole answer would have ended with w12.
  CHECK(p.output().find("openai: w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12") == std::string::npos);
  REQUIRE(p.expect("> ", kTimeoutMs));
  p.write("after\r");
  REQUIRE(p.expect("Hello from fake openai: after", kTimeoutMs));
  REQUIRE(p.expect("out tokens", kTimeoutMs));
  // The stopped answer's part stays in the conversation, so the turns still alternate.
  const Json after = fake().lastRequest()["json"]["messages"];
  REQUIRE(after.size() == 5);
  CHECK(after[3]["role"] == "assistant");
  CHECK(after[3]["content"].get<std::string>().rfind("Hello", 0) == 0);
  CHECK(after[4]["content"] == "after");

  REQUIRE(p.expect("> ", kTimeoutMs));
  p.write("\x04");  // Ctrl-D leaves
  CHECK(p.wait(kTimeoutMs) == 0);
  removeTempDir(dir);
}

TEST_CASE("chat REPL: with no route it lists the chat routes and takes a number") {
  PtyProcess p({AIGW_BINARY, "chat", "--url", url(), "--admin", admin()}, {{"NO_COLOR", "1"}});
  REQUIRE(p.expect("Route (number or name):", kTimeoutMs));
  CHECK(p.output().find("fake-chat") != std::string::npos);
  CHECK(p.output().find("embeddings") == std::string::npos);
  p.write("2\r");  // sorted by name: broken-chat, fake-chat, slow-chat
  REQUIRE(p.expect("aigw chat fake-chat", kTimeoutMs));
  p.write("/nope\r");
  REQUIRE(p.expect("unknown command /nope", kTimeoutMs));
  REQUIRE(p.expect("> ", kTimeoutMs));
  p.write("\x03");  // Ctrl-C on an empty prompt leaves
  CHECK(p.wait(kTimeoutMs) == 0);
}
