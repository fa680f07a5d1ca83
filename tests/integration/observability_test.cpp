// Usage, cost and latency as an operator sees them: Prometheus metrics on the admin API and
// the JSON access log.
#include <doctest/doctest.h>

#include "integration/gateway_harness.hpp"

using namespace aigw::test;
using Json = nlohmann::json;

namespace {
const char* kCostly = R"(_format_version: "3.0"
routes:
- name: costly
  paths: [/costly]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      model: {provider: mock, name: m, options: {input_cost: 10, output_cost: 30, mock: {reply: "one two three"}}}
)";
}  // namespace

TEST_CASE(
    "metrics count requests, tokens (streams included), cost and latency per route and model") {
  Gateway gw(kCostly);
  REQUIRE(gw.post("/costly", R"({"messages":[{"role":"user","content":"a b c d"}]})").status ==
          200);
  REQUIRE(
      gw.stream("/costly", R"({"messages":[{"role":"user","content":"a b c d"}],"stream":true})")
          .done());
  CHECK(gw.post("/costly", R"({"messages":[]})").status == 400);
  const std::string labels = R"(route="costly",ai_provider="mock",ai_model="m")";
  // A request is counted once its last byte has gone, which can be just after the client saw
  // it: wait (bounded) for both the streamed 200 and the 400.
  const std::string refused =
      R"(aigw_http_requests_total{route="costly",ai_provider="",ai_model="",code="400"} 1)";
  std::string m;
  CHECK(waitUntil(
      [&] {
        m = gw.admin("/metrics").body;
        return m.find("aigw_http_requests_total{" + labels + ",code=\"200\"} 2") !=
                   std::string::npos &&
               m.find(refused) != std::string::npos;
      },
      5000));
  CHECK(m.find("aigw_http_requests_total{" + labels + ",code=\"200\"} 2") != std::string::npos);
  CHECK(m.find("aigw_http_requests_total{route=\"costly\",ai_provider=\"\",ai_model=\"\",code="
               "\"400\"} 1") != std::string::npos);
  // 4 prompt words and 3 completion words per answer, twice (the stream's usage counts too).
  CHECK(m.find("aigw_ai_llm_tokens_total{" + labels + ",token_type=\"prompt_tokens\"} 8") !=
        std::string::npos);
  CHECK(m.find("aigw_ai_llm_tokens_total{" + labels + ",token_type=\"completion_tokens\"} 6") !=
        std::string::npos);
  CHECK(m.find("aigw_ai_llm_cost_total{" + labels + "} 0.00026") != std::string::npos);
  CHECK(m.find("aigw_request_latency_ms_count{" + labels + ",code=\"200\"} 2") !=
        std::string::npos);
}

TEST_CASE("the access log has one JSON line per request with usage and cost, and no secrets") {
  const std::string dir = tempDir();
  const std::string log = dir + "/access.log";
  Gateway gw(std::string(kCostly) + R"(- name: keyed
  paths: [/keyed]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      auth: {header_name: Authorization, header_value: "Bearer sk-very-secret"}
      model: {provider: mock, name: m}
)",
             {}, {"--access-log", log});
  httplib::Client c("127.0.0.1", gw.port());
  REQUIRE(c.Post("/costly?key=sk-in-query", R"({"messages":[{"role":"user","content":"a b c d"}]})",
                 "application/json")
              ->status == 200);
  REQUIRE(c.Post("/keyed", httplib::Headers{{"Authorization", "Bearer client-secret"}},
                 R"({"messages":[{"role":"user","content":"x"}],"stream":true})",
                 "application/json")
              ->status == 200);
  REQUIRE(c.Post("/nowhere", "{}", "application/json")->status == 404);
  std::vector<Json> lines;
  REQUIRE(waitUntil(
      [&] {
        lines.clear();
        std::string text = readFile(log);
        for (std::size_t pos = 0, nl; (nl = text.find('\n', pos)) != std::string::npos;
             pos = nl + 1)
          lines.push_back(Json::parse(text.substr(pos, nl - pos)));
        return lines.size() == 3;
      },
      5000));
  // A stream's line is written when its last byte has gone, so lines may come in any order.
  auto lineFor = [&](const char* status_or_route) -> Json {
    for (const auto& l : lines)
      if (l.value("route", "") == status_or_route ||
          std::to_string(l.value("status", 0)) == status_or_route)
        return l;
    return Json();
  };
  const Json costly = lineFor("costly"), keyed = lineFor("keyed"), missing = lineFor("404");
  CHECK(costly["path"] == "/costly");
  CHECK(costly["status"] == 200);
  CHECK(costly["usage"]["prompt_tokens"] == 4);
  CHECK(costly["usage"]["completion_tokens"] == 3);
  CHECK(costly["cost"] == doctest::Approx(0.00013));
  CHECK(keyed["stream"] == true);
  CHECK(keyed["ttfb_ms"].is_number());
  CHECK(keyed["usage"]["total_tokens"].is_number());
  CHECK(missing["path"] == "/nowhere");
  const std::string all = readFile(log);
  for (const char* secret : {"sk-very-secret", "client-secret", "sk-in-query"})
    CHECK(all.find(secret) == std::string::npos);
  removeTempDir(dir);
}

namespace {
FakeProvider& pacedFake() {
  static FakeProvider instance(FAKE_PROVIDER_BINARY);
  return instance;
}
}  // namespace

TEST_CASE("a client that goes away mid-stream cancels the upstream call") {
  const std::string dir = tempDir();
  const std::string log = dir + "/access.log";
  Gateway gw(withFake(R"(_format_version: "3.0"
routes:
- name: paced
  paths: [/paced]
  plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      auth: {header_name: Authorization, header_value: "Bearer sk-fake"}
      model: {provider: openai, name: fake-pace-200, options: {upstream_url: "{FAKE}/v1/chat/completions"}}
)",
                      pacedFake().baseUrl()),
             {}, {"--access-log", log});
  {
    httplib::Client c("127.0.0.1", gw.port());
    httplib::Request req;
    req.method = "POST";
    req.path = "/paced";
    req.body =
        R"({"messages":[{"role":"user","content":"one two three four five six seven eight nine ten"}],"stream":true})";
    int chunks = 0;
    req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) {
      return ++chunks < 2;
    };  // hang up
    httplib::Response res;
    httplib::Error err;
    c.send(req, res, err);
  }
  // The gateway notices at its next write and drops the upstream connection. Told by order,
  // not by the clock: the fake records that its peer went away before the paced stream
  // (12+ events, 200 ms apart) was fully written.
  Json upstream;
  REQUIRE(waitUntil(
      [&] {
        upstream = pacedFake().lastRequest();
        return upstream.is_object() && upstream.contains("stream");
      },
      20000));
  CHECK(upstream["stream"]["outcome"] == "peer closed");
  CHECK(upstream["stream"]["events_written"] < upstream["stream"]["events_total"]);
  std::string text;
  REQUIRE(waitUntil(
      [&] { return (text = readFile(log)).find("client disconnected") != std::string::npos; },
      20000));
  auto line = Json::parse(text.substr(0, text.find('\n')));
  CHECK(line["route"] == "paced");
  CHECK(line["error"] == "client disconnected");
  removeTempDir(dir);
}
