// Times on the command line and in window specs (time_text.h).
#include "slipway/monitor/time_text.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <string>

namespace slipway::monitor {

// --since / --until: an ISO 8601 date or date-time (UTC unless it names an offset), or a duration
// before now ("90s", "30m", "24h", "7d").
Result<int64_t> parse_time_text(std::string_view text, std::string_view flag, int64_t now) {
  auto bad = [&] {
    return make_error(ErrorCode::kInvalidArgument,
                      "{} '{}': expected a date or time such as 2025-01-31, 2025-01-31T10:00:00Z or "
                      "2025-01-31T10:00:00+02:00, or a duration before now such as 30m, 24h or 7d",
                      flag, text);
  };
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])) != 0) ++digits;
  if (digits > 0 && digits <= 9 && digits < text.size() && text.size() - digits <= 1) {
    int64_t n = std::stoll(std::string(text.substr(0, digits)));
    int64_t unit = 0;
    switch (text[digits]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      default: return bad();
    }
    return now - n * unit * 1'000'000;
  }
  const std::string str(text);
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  int consumed = 0;
  if (std::sscanf(str.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &consumed) != 3 || consumed != 10) return bad();
  size_t pos = 10;
  int64_t micros = 0;
  int64_t offset_s = 0;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != ' ') return bad();
    ++pos;
    consumed = 0;
    if (std::sscanf(str.c_str() + pos, "%2d:%2d%n", &h, &mi, &consumed) != 2 || consumed != 5) return bad();
    pos += 5;
    if (pos < text.size() && text[pos] == ':') {
      consumed = 0;
      if (std::sscanf(str.c_str() + pos, ":%2d%n", &s, &consumed) != 1 || consumed != 3) return bad();
      pos += 3;
      if (pos < text.size() && text[pos] == '.') {
        ++pos;
        int64_t scale = 100000;
        size_t start = pos;
        while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])) != 0) {
          if (scale > 0) micros += (text[pos] - '0') * scale;
          scale /= 10;
          ++pos;
        }
        if (pos == start) return bad();
      }
    }
    if (pos < text.size()) {
      if (text[pos] == 'Z' && pos + 1 == text.size()) {
        ++pos;
      } else if ((text[pos] == '+' || text[pos] == '-') && text.size() - pos == 6 && text[pos + 3] == ':') {
        int oh = 0, om = 0;
        if (std::sscanf(str.c_str() + pos + 1, "%2d:%2d", &oh, &om) != 2) return bad();
        offset_s = (text[pos] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
        pos = text.size();
      } else {
        return bad();
      }
    }
  }
  using namespace std::chrono;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return bad();
  int64_t days = sys_days(ymd).time_since_epoch().count();
  return ((days * 86400 + h * 3600 + mi * 60 + s - offset_s) * 1'000'000) + micros;
}

Result<std::chrono::microseconds> parse_duration(std::string_view text, std::string_view flag) {
  auto bad = [&] {
    return make_error(ErrorCode::kInvalidArgument, "{} '{}': expected a duration such as 30m, 1h or 1d", flag, text);
  };
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])) != 0) ++digits;
  if (digits == 0 || digits > 12) return bad();
  const int64_t n = std::stoll(std::string(text.substr(0, digits)));
  const std::string_view unit = text.substr(digits);
  int64_t us = 0;
  if (unit.empty() || unit == "s") {
    us = n * 1'000'000;
  } else if (unit == "ms") {
    us = n * 1'000;
  } else if (unit == "m") {
    us = n * 60'000'000;
  } else if (unit == "h") {
    us = n * 3'600'000'000;
  } else if (unit == "d") {
    us = n * 86'400'000'000;
  } else {
    return bad();
  }
  if (us <= 0) return make_error(ErrorCode::kInvalidArgument, "{} must be more than 0, got '{}'", flag, text);
  return std::chrono::microseconds(us);
}

int64_t unix_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace slipway::monitor
