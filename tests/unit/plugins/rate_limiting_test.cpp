// rate-limiting: Kong's schema errors, the period windows (epoch-aligned second..day, calendar
// month and year in UTC), and the local policy's counting and headers through the pipeline.
#include <doctest/doctest.h>

#include "ratelimit/periods.hpp"
#include "support.hpp"

using aigw::ratelimit::Period;
using aigw::ratelimit::periodKey;
using aigw::ratelimit::periodWindow;
using aigw::test::pluginConfigErrors;

namespace {

// 2024-02-29T13:45:30Z (a leap day).
constexpr double kLeapDay = 1709214330.25;

std::string header(const aigw::proxy::RequestContext& ctx, const std::string& name) {
  const std::string* v = aigw::http::findHeader(ctx.response_headers, name);
  return v ? *v : std::string("<none>");
}

}  // namespace

TEST_CASE("rate-limiting config errors with Kong's texts") {
  CHECK(pluginConfigErrors("    - name: rate-limiting\n      config: {}\n") ==
        "routes[0].plugins[0].config: at least one of these fields must be non-empty: "
        "'config.second', 'config.minute', 'config.hour', 'config.day', 'config.month', "
        "'config.year'");
  CHECK(pluginConfigErrors("    - name: rate-limiting\n      config: {second: 10, hour: 5}\n") ==
        "routes[0].plugins[0].config: The limit for hour(5.0) cannot be lower than the limit "
        "for second(10.0)");
  CHECK(pluginConfigErrors("    - name: rate-limiting\n      config: {minute: 0}\n") ==
        "routes[0].plugins[0].config.minute: value must be greater than 0");
  CHECK(pluginConfigErrors("    - name: rate-limiting\n      config: {minute: 5, limit_by: "
                           "header}\n") ==
        "routes[0].plugins[0].config.header_name: required when limit_by is header");
  CHECK(pluginConfigErrors("    - name: rate-limiting\n      config: {minute: 5, limit_by: "
                           "path}\n") ==
        "routes[0].plugins[0].config.path: required when limit_by is path");
  CHECK(pluginConfigErrors("    - name: rate-limiting\n      config: {minute: 5, policy: "
                           "cluster}\n")
            .find("config.policy: cluster keeps counters in Kong's database") != std::string::npos);
  CHECK(pluginConfigErrors("    - name: rate-limiting\n      config: {minute: 5, limit_by: "
                           "nobody}\n")
            .find("config.limit_by: invalid value \"nobody\"") != std::string::npos);
  CHECK(pluginConfigErrors("    - name: rate-limiting\n      config: {minute: 5, policy: redis, "
                           "redis: {ssl: true}}\n")
            .find("config.redis.ssl: TLS to Redis needs hiredis 1.0") != std::string::npos);
  CHECK(pluginConfigErrors("    - name: rate-limiting\n      config: {second: 5, minute: 5, "
                           "year: 100, limit_by: ip, error_code: 403}\n") == "");
}

TEST_CASE("period windows: epoch-aligned up to a day, calendar month and year in UTC") {
  CHECK(periodWindow(Period::Second, kLeapDay).start == 1709214330);
  CHECK(periodWindow(Period::Second, kLeapDay).end == 1709214331);
  CHECK(periodWindow(Period::Minute, kLeapDay).start == 1709214300);  // 13:45:00
  CHECK(periodWindow(Period::Hour, kLeapDay).start == 1709211600);    // 13:00:00
  CHECK(periodWindow(Period::Day, kLeapDay).start == 1709164800);     // 2024-02-29
  CHECK(periodWindow(Period::Day, kLeapDay).end == 1709251200);       // 2024-03-01
  // February 2024 has 29 days; the year 2024 has 366.
  CHECK(periodWindow(Period::Month, kLeapDay).start == 1706745600);  // 2024-02-01
  CHECK(periodWindow(Period::Month, kLeapDay).end == 1709251200);    // 2024-03-01
  CHECK(periodWindow(Period::Year, kLeapDay).start == 1704067200);   // 2024-01-01
  CHECK(periodWindow(Period::Year, kLeapDay).end == 1735689600);     // 2025-01-01
  // December rolls into the next year.
  const double dec = 1734998400;                                // 2024-12-24T00:00:00Z
  CHECK(periodWindow(Period::Month, dec).start == 1733011200);  // 2024-12-01
  CHECK(periodWindow(Period::Month, dec).end == 1735689600);    // 2025-01-01
  // A window's first second belongs to it, its end to the next one.
  CHECK(periodWindow(Period::Minute, 1709214300).start == 1709214300);
  CHECK(periodWindow(Period::Minute, 1709214359.999).end == 1709214360);

  const auto k = periodKey("who", Period::Minute, kLeapDay);
  CHECK(k.current == "who:minute:1709214300");
  CHECK(k.previous.empty());
  CHECK(k.previous_weight == 0);
  CHECK(k.reset_s == doctest::Approx(29.75));
  CHECK(k.ttl_s == 61);
  CHECK(periodKey("who", Period::Month, kLeapDay).reset_s ==
        doctest::Approx(1709251200 - kLeapDay));
}

TEST_CASE("local policy: N admitted, then Kong's 429 with its headers") {
  aigw::test::Pipeline p("    - name: rate-limiting\n      config: {minute: 3, hour: 10}\n");
  for (int i = 0; i < 3; ++i) {
    auto run = p.access("{}");
    REQUIRE_FALSE(run->ctx->error);
    CHECK(header(*run->ctx, "X-RateLimit-Limit-Minute") == "3");
    CHECK(header(*run->ctx, "X-RateLimit-Remaining-Minute") == std::to_string(2 - i));
    CHECK(header(*run->ctx, "X-RateLimit-Limit-Hour") == "10");
    CHECK(header(*run->ctx, "X-RateLimit-Remaining-Hour") == std::to_string(9 - i));
    // The period with the least left is the minute.
    CHECK(header(*run->ctx, "RateLimit-Limit") == "3");
    CHECK(header(*run->ctx, "RateLimit-Remaining") == std::to_string(2 - i));
    const int reset = std::stoi(header(*run->ctx, "RateLimit-Reset"));
    CHECK(reset >= 1);
    CHECK(reset <= 60);
  }
  auto refused = p.access("{}");
  REQUIRE(refused->ctx->error);
  CHECK(refused->ctx->error->status == 429);
  CHECK(refused->ctx->error->message == "API rate limit exceeded");
  CHECK(refused->ctx->error->retry_after_seconds >= 1);
  CHECK(refused->ctx->error->retry_after_seconds <= 60);
  CHECK(header(*refused->ctx, "X-RateLimit-Remaining-Minute") == "0");
  CHECK(header(*refused->ctx, "X-RateLimit-Remaining-Hour") == "7");  // refused: not counted
  CHECK(header(*refused->ctx, "RateLimit-Remaining") == "0");
}

TEST_CASE("hide_client_headers, error_code and error_message") {
  aigw::test::Pipeline p(
      "    - name: rate-limiting\n      config: {second: 1, hour: 1, hide_client_headers: true, "
      "error_code: 403, error_message: Go away}\n");
  auto first = p.access("{}");
  REQUIRE_FALSE(first->ctx->error);
  CHECK(first->ctx->response_headers.empty());
  auto second = p.access("{}");
  REQUIRE(second->ctx->error);
  CHECK(second->ctx->error->status == 403);
  CHECK(second->ctx->error->message == "Go away");
  CHECK(second->ctx->response_headers.empty());
  // Both periods have nothing left: the longer one decides when to come back.
  CHECK(second->ctx->error->retry_after_seconds > 1);
}
