#include "ratelimit/periods.hpp"

#include <chrono>
#include <cmath>

namespace aigw::ratelimit {

const char* periodName(Period p) {
  switch (p) {
    case Period::Second:
      return "second";
    case Period::Minute:
      return "minute";
    case Period::Hour:
      return "hour";
    case Period::Day:
      return "day";
    case Period::Month:
      return "month";
    case Period::Year:
      return "year";
  }
  return "";
}

const char* periodTitle(Period p) {
  switch (p) {
    case Period::Second:
      return "Second";
    case Period::Minute:
      return "Minute";
    case Period::Hour:
      return "Hour";
    case Period::Day:
      return "Day";
    case Period::Month:
      return "Month";
    case Period::Year:
      return "Year";
  }
  return "";
}

PeriodWindow periodWindow(Period p, double now_s) {
  using namespace std::chrono;
  const auto now = static_cast<long long>(std::floor(now_s));
  auto aligned = [now](long long size) {
    // Floor division: a time before the epoch still falls in the window that contains it.
    const long long start = (now >= 0 ? now : now - size + 1) / size * size;
    return PeriodWindow{start, start + size};
  };
  switch (p) {
    case Period::Second:
      return aligned(1);
    case Period::Minute:
      return aligned(60);
    case Period::Hour:
      return aligned(3600);
    case Period::Day:
      return aligned(86400);
    case Period::Month:
    case Period::Year: {
      const year_month_day date{floor<days>(sys_seconds{seconds{now}})};
      const year_month first =
          p == Period::Month ? date.year() / date.month() : date.year() / January;
      const year_month next = p == Period::Month ? first + months{1} : first + years{1};
      auto secondsAt = [](year_month ym) {
        return sys_seconds{sys_days{ym / 1}}.time_since_epoch().count();
      };
      return PeriodWindow{secondsAt(first), secondsAt(next)};
    }
  }
  return aligned(1);
}

WindowKey periodKey(const std::string& key, Period p, double now_s) {
  const PeriodWindow w = periodWindow(p, now_s);
  WindowKey k;
  k.current = key + ":" + periodName(p) + ":" + std::to_string(w.start);
  k.ttl_s = static_cast<int>(w.end - w.start + 1);
  k.reset_s = static_cast<double>(w.end) - now_s;
  return k;
}

}  // namespace aigw::ratelimit
