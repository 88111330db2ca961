// Rows whose values do not parse as a pinned column type, dropped identically by the ingest passes
// (--on-error skip|quarantine) and by scan_version when reading such a version back.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "slipway/table/reader.h"
#include "slipway/table/types.h"

namespace slipway::data::detail {

// Pinned column types (from a schema file), by column position in the input.
struct PinnedTypes {
  std::vector<std::optional<table::DataType>> by_column;
  bool any = false;
};

inline bool parses_as(table::DataType type, std::string_view v) {
  switch (type) {
    case table::DataType::kBool: { bool b; return table::parse_bool(v, &b); }
    case table::DataType::kInt64: { int64_t i; return table::parse_int64(v, &i); }
    case table::DataType::kFloat64: { double d; return table::parse_float64(v, &d); }
    case table::DataType::kTimestamp: { int64_t t; return table::parse_timestamp(v, &t); }
    case table::DataType::kString: return true;
  }
  return true;
}

// Drops rows whose pinned columns do not parse; calls on_bad(row, column) for each dropped row.
template <typename F>
void drop_rows_with_bad_values(table::RecordBatch& batch, const PinnedTypes& pinned, F&& on_bad) {
  if (!pinned.any) return;
  size_t kept = 0;
  for (size_t r = 0; r < batch.num_rows; ++r) {
    std::optional<size_t> bad_column;
    for (size_t c = 0; c < pinned.by_column.size() && !bad_column; ++c) {
      if (pinned.by_column[c] && !batch.nulls[c][r] && !parses_as(*pinned.by_column[c], batch.columns[c][r])) {
        bad_column = c;
      }
    }
    if (bad_column) {
      on_bad(r, *bad_column);
      continue;
    }
    if (kept != r) {
      for (size_t c = 0; c < batch.columns.size(); ++c) {
        batch.columns[c][kept] = batch.columns[c][r];
        batch.nulls[c][kept] = batch.nulls[c][r];
      }
      batch.line_numbers[kept] = batch.line_numbers[r];
      batch.row_numbers[kept] = batch.row_numbers[r];
    }
    ++kept;
  }
  for (size_t c = 0; c < batch.columns.size(); ++c) {
    batch.columns[c].resize(kept);
    batch.nulls[c].resize(kept);
  }
  batch.line_numbers.resize(kept);
  batch.row_numbers.resize(kept);
  batch.num_rows = kept;
}

}  // namespace slipway::data::detail
