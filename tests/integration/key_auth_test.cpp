// key-auth and consumers through the real binary: Kong's 401s, where a key may come from, that
// the gateway key never reaches the provider, plugins scoped to a consumer or a consumer group
// (Kong's precedence), anonymous, and the consumer in the access log.
#include <doctest/doctest.h>

#include "integration/gateway_harness.hpp"

using namespace aigw::test;
using Json = nlohmann::json;

namespace {

FakeProvider& fake() {
  static FakeProvider instance(FAKE_PROVIDER_BINARY);
  return instance;
}

const char* kConfig = R"(_format_version: "3.0"
consumer_groups:
- name: gold
  plugins:
  - name: ai-prompt-decorator
    config: {prompts: {prepend: [{role: system, content: "group gold"}]}}
- name: silver
  plugins:
  - name: ai-prompt-decorator
    config: {prompts: {prepend: [{role: system, content: "group silver"}]}}
consumers:
- username: alice
  keyauth_credentials: [{key: alice-key}]
  plugins:
  - name: ai-prompt-decorator
    config: {prompts: {prepend: [{role: system, content: "consumer alice"}]}}
- username: bob
  groups: [{name: silver}, {name: gold}]
  keyauth_credentials: [{key: bob-key}, {key: bob-second-key}]
- username: carol
  keyauth_credentials: [{key: carol-key}]
- username: guest
routes:
- name: chat
  paths: [/chat]
  plugins:
  - name: key-auth
    config: {key_names: [apikey, authorization], key_in_body: true}
  - name: ai-prompt-decorator
    config: {prompts: {prepend: [{role: system, content: "route chat"}]}}
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      auth: {header_name: Authorization, header_value: "Bearer sk-provider", allow_override: true}
      model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
- name: chat-realm
  paths: [/realm]
  plugins:
  - name: key-auth
    config: {realm: aigw, key_in_query: false}
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      auth: {header_name: Authorization, header_value: "Bearer sk-provider"}
      model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
- name: preserve
  paths: [/v1/chat/completions]
  plugins:
  - name: key-auth
  - name: ai-proxy
    config:
      route_type: preserve
      auth: {header_name: Authorization, header_value: "Bearer sk-provider"}
      model: {provider: openai, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
- name: open
  paths: [/open]
  plugins:
  - name: key-auth
    config: {anonymous: guest}
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      auth: {header_name: Authorization, header_value: "Bearer sk-provider"}
      model: {provider: openai, name: gpt-4o-mini, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
plugins:
- name: ai-prompt-decorator
  consumer: carol
  route: chat
  config: {prompts: {prepend: [{role: system, content: "carol on chat"}]}}
)";

const std::string kBody = R"({"messages":[{"role":"user","content":"hi"}]})";

std::string firstSystem(const Json& upstream) {
  const Json& m = upstream["json"]["messages"];
  return m.is_array() && !m.empty() ? m[0].value("content", "") : "";
}

}  // namespace

TEST_CASE("key-auth: Kong's 401s, key locations, and the key never reaches the provider") {
  Gateway gw(withFake(kConfig, fake().baseUrl()), {}, {"--access-log", "-"});
  fake().clear();

  SUBCASE("no key, unknown key, duplicate key: 401 with WWW-Authenticate, nothing upstream") {
    auto none = gw.post("/chat", kBody);
    CHECK(none.status == 401);
    CHECK(none.json()["error"]["message"] == "No API key found in request");
    CHECK(none.header("WWW-Authenticate") == "Key");
    auto wrong = gw.post("/chat", kBody, {{"apikey", "nobody-key"}});
    CHECK(wrong.status == 401);
    CHECK(wrong.json()["error"]["message"] == "Unauthorized");
    auto dup = gw.post("/chat", kBody, {{"apikey", "alice-key"}, {"apikey", "bob-key"}});
    CHECK(dup.status == 401);
    CHECK(dup.json()["error"]["message"] == "Duplicate API key found");
    auto realm = gw.post("/realm", kBody);
    CHECK(realm.status == 401);
    CHECK(realm.header("WWW-Authenticate") == "Key realm=\"aigw\"");
    // key_in_query: false
    CHECK(gw.post("/realm?apikey=alice-key", kBody).status == 401);
    CHECK(fake().requests().empty());
  }

  SUBCASE("header: the provider gets its own key, never the client's") {
    auto r = gw.post("/chat", kBody, {{"apikey", "alice-key"}});
    REQUIRE(r.status == 200);
    const Json up = fake().lastRequest();
    CHECK(up["headers"]["authorization"] == "Bearer sk-provider");
    CHECK_FALSE(up["headers"].contains("apikey"));
    CHECK(up["body"].get<std::string>().find("alice-key") == std::string::npos);
  }

  SUBCASE("Authorization: Bearer <key> (OpenAI SDKs) is not used as the provider override") {
    auto r = gw.post("/chat", kBody, {{"Authorization", "Bearer bob-key"}});
    REQUIRE(r.status == 200);
    CHECK(fake().lastRequest()["headers"]["authorization"] == "Bearer sk-provider");
    CHECK(gw.post("/chat", kBody, {{"Authorization", "Bearer nobody"}}).status == 401);
  }

  SUBCASE("query and body keys are taken out of what goes upstream") {
    auto q = gw.post("/v1/chat/completions?apikey=carol-key&keep=1", kBody);
    REQUIRE(q.status == 200);
    const Json up = fake().lastRequest();
    CHECK(up["query"] == "keep=1");
    auto b =
        gw.post("/chat", R"({"apikey":"alice-key","messages":[{"role":"user","content":"hi"}]})");
    REQUIRE(b.status == 200);
    const Json up2 = fake().lastRequest();
    CHECK_FALSE(up2["json"].contains("apikey"));
    CHECK(up2["body"].get<std::string>().find("alice-key") == std::string::npos);
  }

  SUBCASE("consumer-scoped plugins: consumer+route > consumer > group > route") {
    REQUIRE(gw.post("/chat", kBody, {{"apikey", "carol-key"}}).status == 200);
    CHECK(firstSystem(fake().lastRequest()) == "carol on chat");
    REQUIRE(gw.post("/chat", kBody, {{"apikey", "alice-key"}}).status == 200);
    CHECK(firstSystem(fake().lastRequest()) == "consumer alice");
    // Two groups with the plugin: the first by name wins.
    REQUIRE(gw.post("/chat", kBody, {{"apikey", "bob-second-key"}}).status == 200);
    CHECK(firstSystem(fake().lastRequest()) == "group gold");
    // Anonymous on a route without the route plugin: nothing prepended.
    REQUIRE(gw.post("/open", kBody).status == 200);
    CHECK(fake().lastRequest()["json"]["messages"].size() == 1);
  }

  SUBCASE("the access log names the consumer, never the key") {
    REQUIRE(gw.post("/chat", kBody, {{"apikey", "alice-key"}}).status == 200);
    REQUIRE(gw.post("/open", kBody).status == 200);
    std::string log;
    REQUIRE(waitUntil(
        [&] {
          log = gw.process().log();
          return log.find("\"username\":\"guest\"") != std::string::npos;
        },
        5000));
    CHECK(log.find("\"username\":\"alice\"") != std::string::npos);
    CHECK(log.find("alice-key") == std::string::npos);
  }
}

TEST_CASE("key-auth: a duplicate key or a key-auth scoped to a consumer is a config error") {
  const std::string dir = tempDir();
  writeFile(dir + "/dup.yaml", R"(_format_version: "3.0"
consumers:
- username: a
  keyauth_credentials: [{key: same-secret}]
- username: b
  keyauth_credentials: [{key: same-secret}]
)");
  Process check({AIGW_BINARY, "validate", dir + "/dup.yaml"});
  REQUIRE(check.wait(20000));
  const std::string out = check.log();
  CHECK(out.find("consumers[1].keyauth_credentials[0].key") != std::string::npos);
  CHECK(out.find("duplicate key-auth key") != std::string::npos);
  CHECK(out.find("same-secret") == std::string::npos);
  removeTempDir(dir);
}
