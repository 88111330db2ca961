// How schema files and validation reports print a bound or an observed value, so both say the same.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "slipway/table/types.h"

namespace slipway::data::detail {

// Shortest text that reads back as the same double; integral values without a fraction.
inline std::string format_number(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
    return fmt::format("{}", static_cast<int64_t>(v));
  }
  return fmt::format("{}", v);
}

// Timestamps (micros since the epoch) as ISO 8601, numbers as format_number.
inline std::string format_value(double v, std::optional<table::DataType> type) {
  if (type == table::DataType::kTimestamp) return table::format_timestamp(static_cast<int64_t>(v));
  return format_number(v);
}

}  // namespace slipway::data::detail
