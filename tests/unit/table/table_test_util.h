// Helpers shared by the table reader tests: read everything a reader yields into plain values.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "slipway/table/reader.h"

namespace slipway::table::testing {

struct Row {
  std::vector<std::optional<std::string>> values;  // nullopt = missing
  uint64_t line = 0;
  uint64_t row = 0;
  bool operator==(const Row&) const = default;
};

struct Table {
  std::vector<std::string> columns;
  std::vector<Row> rows;
};

// Reads all rows in batches of `batch_rows`; a read error is returned as its status.
inline Result<Table> read_all(RecordReader& reader, size_t batch_rows = 1000) {
  Table table;
  table.columns = reader.column_names();
  RecordBatch batch;
  for (;;) {
    SLIPWAY_ASSIGN_OR_RETURN(bool more, reader.next(batch, batch_rows));
    if (!more) break;
    for (size_t r = 0; r < batch.num_rows; ++r) {
      Row row;
      for (size_t c = 0; c < batch.columns.size(); ++c) {
        if (batch.nulls[c][r]) {
          row.values.emplace_back(std::nullopt);
        } else {
          row.values.emplace_back(std::string(batch.columns[c][r]));
        }
      }
      row.line = batch.line_numbers[r];
      row.row = batch.row_numbers[r];
      table.rows.push_back(std::move(row));
    }
  }
  return table;
}

inline std::string data_path(const std::string& relative) { return std::string(SLIPWAY_TEST_DATA) + "/" + relative; }

// A file under the test's temporary folder holding `contents`.
inline std::filesystem::path write_temp(const std::string& name, const std::string& contents) {
  auto dir = std::filesystem::path(::testing::TempDir()) / "slipway_table_tests";
  std::filesystem::create_directories(dir);
  auto path = dir / name;
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace slipway::table::testing
