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

TEST_CASE("metrics count requests, tokens (streams included), cost and latency per route and model") {
  Gateway gw(kCostly);
  REQUIRE(gw.post("/costly", R"({"messages":[{"role":"user","content":"a b c d"}]})").status == 200);
  REQUIRE(gw.stream("/costly", R"({"messages":[{"role":"user","content":"a b c d"}],"stream":true})").done());
  CHECK(gw.post("/costly", R"({"messages":[]})").status == 400);
  const std::string m = gw.admin("/metrics").body;
  const std::string labels = R"(route="costly",ai_provider="mock",ai_model="m")";
  CHECK(m.find("aigw_http_requests_total{" + labels + ",code=\"200\"} 2") != std::string::npos);
  CHECK(m.find("aigw_http_requests_total{route=\"costly\",ai_provider=\"\",ai_model=\"\",code=\"400\"} 1") != std::string::npos);
  // 4 prompt words and 3 completion words per answer, twice (the stream's usage counts too).
  CHECK(m.find("aigw_ai_llm_tokens_total{" + labels + ",token_type=\"prompt_tokens\"} 8") != std::string::npos);
  CHECK(m.find("aigw_ai_llm_tokens_total{" + labels + ",token_type=\"completion_tokens\"} 6") != std::string::npos);
  CHECK(m.find("aigw_ai_llm_cost_total{" + labels + "} 0.00026") != std::string::npos);
  CHECK(m.find("aigw_request_latency_ms_count{" + labels + ",code=\"200\"} 2") != std::string::npos);
}
