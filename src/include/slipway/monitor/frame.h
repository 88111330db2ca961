// Frame: the columnar data monitoring compares — a reference (a dataset version, a file) and a
// current window (the prediction log, a dataset version, a file) — as named numeric or categorical
// columns of equal length. Numeric missing values are NaN; categorical missing values are
// `missing[i] == true` (the string is then empty).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace slipway::monitor {

enum class ColumnKind : uint8_t { kNumeric, kCategorical };

struct Column {
  std::string name;
  ColumnKind kind = ColumnKind::kNumeric;
  std::vector<double> numbers;       // kNumeric: one per row, NaN = missing
  std::vector<std::string> strings;  // kCategorical: one per row
  std::vector<bool> missing;         // kCategorical: one per row (empty vector = none missing)

  size_t size() const { return kind == ColumnKind::kNumeric ? numbers.size() : strings.size(); }
  bool is_missing(size_t i) const {
    return kind == ColumnKind::kNumeric ? numbers[i] != numbers[i] : (!missing.empty() && missing[i]);
  }
};

struct Frame {
  std::vector<Column> columns;
  size_t rows = 0;

  const Column* find(std::string_view name) const {
    for (const auto& c : columns) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }
  Column* find(std::string_view name) {
    for (auto& c : columns) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }
};

}  // namespace slipway::monitor
