// Kong's rate-limiting periods (second, minute, hour, day, month, year) as fixed windows of the
// counter stores (counter_store.hpp). Second to day are whole multiples of their length since
// the Unix epoch (UTC), as in Kong; month and year are calendar months and years in UTC (Kong
// starts them there too), so they are 28 to 31 and 365 or 366 days long.
#pragma once

#include <array>
#include <string>

#include "ratelimit/counter_store.hpp"

namespace aigw::ratelimit {

enum class Period { Second, Minute, Hour, Day, Month, Year };

inline constexpr std::array<Period, 6> kPeriods = {Period::Second, Period::Minute, Period::Hour,
                                                   Period::Day,    Period::Month,  Period::Year};

// "second" ... "year": Kong's config field names.
const char* periodName(Period p);
// "Second" ... "Year": the suffix of Kong's X-RateLimit-Limit-<Window> headers.
const char* periodTitle(Period p);

// The window [start, end) of `p` that `now_s` (Unix seconds) falls in, in whole seconds.
struct PeriodWindow {
  long long start = 0;
  long long end = 0;
};
PeriodWindow periodWindow(Period p, double now_s);

// The store's key for `key` in that window: fixed (no previous window), kept as long as the
// window lasts, reset_s = the seconds until it ends.
WindowKey periodKey(const std::string& key, Period p, double now_s);

}  // namespace aigw::ratelimit
