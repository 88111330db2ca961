// Times as people type them: an ISO 8601 date or date-time (UTC unless it names an offset:
// 2025-01-31, 2025-01-31T10:00:00Z, 2025-01-31T10:00:00.5+02:00) or a duration before now
// ("90s", "30m", "24h", "7d"). Used by `logs --since`, log windows (log:MODEL?since=24h), monitoring.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "slipway/core/status.h"

namespace slipway::monitor {

// Unix microseconds. `flag` names the option in the error ("--since '...': expected ...").
Result<int64_t> parse_time_text(std::string_view text, std::string_view flag, int64_t now_us);

int64_t unix_now_us();

// A positive duration: "500ms", "90s", "30m", "24h", "7d", or a plain number of seconds. `flag`
// names the option in the error: "--bucket 'soon': expected a duration such as 30m, 1h or 1d".
Result<std::chrono::microseconds> parse_duration(std::string_view text, std::string_view flag);

}  // namespace slipway::monitor
