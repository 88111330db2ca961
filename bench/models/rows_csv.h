// Reads the benchmark's scoring rows (bench/work/models/rows_1m.csv) into a dense row-major float32
// matrix, so slipway's engine and the C-level peers score exactly the rows the Python peers score.
// Shared by engine_bench and xgb_c_peer; header-only because both are single-file executables.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "slipway/table/reader.h"
#include "slipway/table/types.h"

namespace bench {

struct CsvMatrix {
  std::vector<std::string> names;  // the file's header
  std::vector<float> values;       // values[r * names.size() + c]; an empty field is NaN
  size_t rows = 0;
};

// Up to `max_rows` rows of `path`, every column parsed as a number. Returns false (with a message
// on stderr) on a read error or a field that is not a number.
inline bool read_csv_matrix(const std::string& path, size_t max_rows, CsvMatrix* out) {
  auto reader = slipway::table::open_csv(path, slipway::table::CsvOptions{});
  if (!reader.ok()) {
    std::fprintf(stderr, "%s\n", reader.status().message().c_str());
    return false;
  }
  out->names = (*reader)->column_names();
  const size_t nc = out->names.size();
  out->values.clear();
  out->rows = 0;
  slipway::table::RecordBatch batch;
  while (out->rows < max_rows) {
    auto more = (*reader)->next(batch, std::min<size_t>(max_rows - out->rows, 1 << 16));
    if (!more.ok()) {
      std::fprintf(stderr, "%s\n", more.status().message().c_str());
      return false;
    }
    if (!*more) break;
    const size_t base = out->values.size();
    out->values.resize(base + batch.num_rows * nc);
    for (size_t c = 0; c < nc; ++c) {
      for (size_t r = 0; r < batch.num_rows; ++r) {
        const auto field = batch.columns[c][r];
        double v = NAN;
        if (!batch.nulls[c][r] && !field.empty() && !slipway::table::parse_float64(field, &v)) {
          std::fprintf(stderr, "%s: row %zu, column '%s': '%.*s' is not a number\n", path.c_str(),
                       out->rows + r + 1, out->names[c].c_str(), static_cast<int>(field.size()), field.data());
          return false;
        }
        out->values[base + r * nc + c] = static_cast<float>(v);
      }
    }
    out->rows += batch.num_rows;
  }
  return true;
}

// "1,2,4" -> {1, 2, 4}; an empty or malformed entry yields an empty list.
inline std::vector<unsigned> parse_list(const std::string& text) {
  std::vector<unsigned> out;
  size_t at = 0;
  while (at <= text.size()) {
    const size_t comma = std::min(text.find(',', at), text.size());
    const std::string item = text.substr(at, comma - at);
    char* end = nullptr;
    const unsigned long v = std::strtoul(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v == 0) return {};
    out.push_back(static_cast<unsigned>(v));
    at = comma + 1;
  }
  return out;
}

}  // namespace bench
