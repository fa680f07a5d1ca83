// Routes without ai-proxy go to their Kong service, as Kong proxies them: path handling
// (strip_path, the service path, regex routes), method, query, headers and body, Kong's
// X-Forwarded-* headers, preserve_host, the service's status and headers back, streamed
// answers, a service that breaks off or is down, and the governance plugins in front of an
// ordinary API (the request transformer's body reaches the service, the response transformer
// rewrites its answer, key-auth's hide_credentials).
#include <doctest/doctest.h>

#include <chrono>

#include "integration/gateway_harness.hpp"

using namespace aigw::test;
using Json = nlohmann::json;

namespace {

FakeProvider& fake() {
  static FakeProvider instance(FAKE_PROVIDER_BINARY);
  return instance;
}

const char* kConfig = R"(_format_version: "3.0"
consumers:
- username: alice
  keyauth_credentials: [{key: alice-key}]
services:
- name: echo
  url: "{FAKE}/svc/base"
  routes:
  - name: stripped
    paths: [/api]
  - name: kept
    paths: [/kept]
    strip_path: false
  - name: regex
    paths: ["~/v(?P<version>\\d+)/items"]
  - name: preserved
    paths: [/preserved]
    preserve_host: true
- name: root
  url: "{FAKE}"
  routes:
  - name: root-stripped
    paths: [/root]
  - name: hidden-key
    paths: [/hidden]
    plugins:
    - name: key-auth
      config: {hide_credentials: true}
  - name: shown-key
    paths: [/shown]
    plugins:
    - name: key-auth
  - name: transformed-in
    paths: [/transformed-in]
    plugins:
    - name: ai-request-transformer
      config:
        prompt: Rewrite the order as JSON.
        transformation_extract_pattern: '\{.*\}'
        llm:
          route_type: llm/v1/chat
          model:
            provider: mock
            name: rewriter
            options:
              mock: {reply: 'Here: {"order":"rewritten by the LLM"}'}
  - name: transformed-out
    paths: [/transformed-out]
    plugins:
    - name: ai-response-transformer
      config:
        prompt: Turn the answer into XML.
        parse_llm_response_json_instructions: true
        llm:
          route_type: llm/v1/chat
          model:
            provider: mock
            name: xml-writer
            options:
              mock: {reply: '{"status": 201, "headers": {"content-type": "application/xml", "x-rewritten": "yes"}, "body": "<order/>"}'}
- name: down
  url: http://127.0.0.1:9/
  connect_timeout: 2000
  routes:
  - name: down
    paths: [/down]
routes:
- name: serviceless
  paths: [/serviceless]
)";

Gateway& gateway() {
  static Gateway gw(withFake(kConfig, fake().baseUrl()));
  return gw;
}

httplib::Client client() {
  httplib::Client cli("127.0.0.1", gateway().port());
  cli.set_read_timeout(30, 0);
  return cli;
}

Json echoed(const httplib::Result& r) {
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return Json::parse(r->body);
}

}  // namespace

TEST_SUITE("service proxy") {
  TEST_CASE("Kong's path handling: strip_path, the service path, regex routes") {
    auto cli = client();
    CHECK(echoed(cli.Get("/api/items/7?color=red&x=%20y"))["path"] == "/svc/base/items/7");
    CHECK(echoed(cli.Get("/api/items/7?color=red&x=%20y"))["query"] == "color=red&x=%20y");
    CHECK(echoed(cli.Get("/api"))["path"] == "/svc/base");
    CHECK(echoed(cli.Get("/apix"))["path"] == "/svc/base/x");  // v0 joins with one "/"
    CHECK(echoed(cli.Get("/kept/a"))["path"] == "/svc/base/kept/a");
    CHECK(echoed(cli.Get("/v2/items/9"))["path"] == "/svc/base/9");
    CHECK(echoed(cli.Get("/root/svc/deep/path"))["path"] == "/svc/deep/path");
    // Escapes the client wrote go on as written.
    CHECK(echoed(cli.Get("/api/a%2Fb%20c"))["path"] == "/svc/base/a%2Fb%20c");
  }

  TEST_CASE("method, body and headers reach the service; hop-by-hop ones and Host do not") {
    auto cli = client();
    httplib::Headers headers = {
        {"X-Custom", "kept"},        {"Connection", "keep-alive, X-Drop"}, {"X-Drop", "hop-by-hop"},
        {"Keep-Alive", "timeout=5"}, {"X-Forwarded-For", "10.0.0.1"},      {"X-Real-IP", "6.6.6.6"},
        {"Host", "gateway.example"}};
    auto r = cli.Put("/api/things", headers, "{\"a\":1}", "application/json");
    const Json got = echoed(r);
    CHECK(got["method"] == "PUT");
    CHECK(got["body"] == "{\"a\":1}");
    const Json& h = got["headers"];
    CHECK(h["x-custom"] == "kept");
    CHECK(h["content-type"] == "application/json");
    CHECK_FALSE(h.contains("x-drop"));
    CHECK_FALSE(h.contains("keep-alive"));
    CHECK(h["host"] == "127.0.0.1:" + std::to_string(fake().port()));
    CHECK(h["x-forwarded-for"] == "10.0.0.1, 127.0.0.1");
    CHECK(h["x-real-ip"] == "127.0.0.1");
    CHECK(h["x-forwarded-proto"] == "http");
    CHECK(h["x-forwarded-host"] == "gateway.example");
    CHECK(h["x-forwarded-port"] == std::to_string(gateway().port()));
    CHECK(h["x-forwarded-path"] == "/api/things");
    CHECK(h["x-forwarded-prefix"] == "/api");

    auto preserved = cli.Get("/preserved", {{"Host", "gateway.example"}});
    CHECK(echoed(preserved)["headers"]["host"] == "gateway.example");
  }

  TEST_CASE("the service's status, headers and body come back; 204 has no body") {
    auto cli = client();
    auto r = cli.Get("/api/x?status=418&set=X-Service:teapot");
    REQUIRE(r);
    CHECK(r->status == 418);
    CHECK(r->get_header_value("X-Service") == "teapot");
    CHECK(r->get_header_value("Content-Type") == "application/json");
    CHECK(Json::parse(r->body)["path"] == "/svc/base/x");
    CHECK_FALSE(r->get_header_value("X-Kong-Upstream-Latency").empty());
    CHECK_FALSE(r->get_header_value("X-Kong-Proxy-Latency").empty());

    auto none = cli.Delete("/root/svc/nocontent");
    REQUIRE(none);
    CHECK(none->status == 204);
    CHECK(none->body.empty());
    CHECK_FALSE(none->has_header("Content-Length"));
    // The connection is still in step: the next request on it works.
    CHECK(echoed(cli.Get("/api/after"))["path"] == "/svc/base/after");
  }

  TEST_CASE("an answer streams through as the service sends it; a large one arrives whole") {
    auto cli = client();
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    std::vector<double> arrivals;
    std::string body;
    auto r = cli.Get("/root/svc/stream/5?pace=150", [&](const char* data, std::size_t n) {
      arrivals.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      body.append(data, n);
      return true;
    });
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(body == "piece 0\npiece 1\npiece 2\npiece 3\npiece 4\n");
    REQUIRE(arrivals.size() >= 2);
    // Four pauses of 150 ms: the first piece is out long before the last one (not buffered).
    CHECK(arrivals.back() - arrivals.front() > 300);

    auto big = cli.Get("/root/svc/bytes/20000000");
    REQUIRE(big);
    CHECK(big->status == 200);
    CHECK(big->body.size() == 20000000);
  }

  TEST_CASE("a service that breaks off mid-answer cuts the client's answer short") {
    auto cli = client();
    std::string body;
    auto r = cli.Get("/root/svc/cut/3", [&](const char* data, std::size_t n) {
      body.append(data, n);
      return true;
    });
    CHECK_FALSE(r);  // no final chunk: the client cannot take it for a complete answer
    CHECK(body.find("piece 0") != std::string::npos);
  }

  TEST_CASE("a service that is down is Kong's 502; a route without a service is Kong's 503") {
    auto cli = client();
    auto down = cli.Get("/down");
    REQUIRE(down);
    CHECK(down->status == 502);
    CHECK(Json::parse(down->body)["error"]["message"] ==
          "An invalid response was received from the upstream server");
    auto none = cli.Get("/serviceless");
    REQUIRE(none);
    CHECK(none->status == 503);
    CHECK(Json::parse(none->body)["error"]["message"] == "no Service found with those values");
  }

  TEST_CASE("key-auth in front of a service: hide_credentials decides whether it sees the key") {
    auto cli = client();
    const Json hidden = echoed(cli.Get("/hidden/svc/x?apikey=alice-key&q=1"));
    CHECK(hidden["query"] == "q=1");
    const Json hidden_header = echoed(cli.Get("/hidden/svc/x", {{"apikey", "alice-key"}}));
    CHECK_FALSE(hidden_header["headers"].contains("apikey"));
    const Json shown = echoed(cli.Get("/shown/svc/x", {{"apikey", "alice-key"}}));
    CHECK(shown["headers"]["apikey"] == "alice-key");
    auto refused = cli.Get("/shown/svc/x");
    REQUIRE(refused);
    CHECK(refused->status == 401);
  }

  TEST_CASE("AI transformers in front of an ordinary service: body in, answer out") {
    auto cli = client();
    // The request transformer's output is the body the service receives.
    const Json got = echoed(
        cli.Post("/transformed-in/svc/orders", R"({"order":"two coffees"})", "application/json"));
    CHECK(got["path"] == "/svc/orders");
    CHECK(Json::parse(got["body"].get<std::string>()) ==
          Json::parse(R"({"order":"rewritten by the LLM"})"));
    CHECK(got["headers"]["content-length"] ==
          std::to_string(got["body"].get<std::string>().size()));

    // The response transformer's instructions replace the service's answer.
    auto r =
        cli.Post("/transformed-out/svc/orders", R"({"order":"two coffees"})", "application/json");
    REQUIRE(r);
    CHECK(r->status == 201);
    CHECK(r->get_header_value("Content-Type") == "application/xml");
    CHECK(r->get_header_value("X-Rewritten") == "yes");
    CHECK(r->body == "<order/>");
  }
}
