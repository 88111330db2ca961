// The training pipeline's in-memory table: what run_training reads a dataset version or a file
// into, joins, splits and feeds to the feature transforms. Private to src/train.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slipway/core/status.h"
#include "slipway/store/store.h"
#include "slipway/table/reader.h"
#include "slipway/table/types.h"
#include "slipway/train/config.h"

namespace slipway::train::detail {

// One column. Every value is kept as its text, exactly as a reader gave it (that is what the
// FeatureEncoder parses at serving time too); numeric and timestamp columns also as doubles
// (timestamps in microseconds since the epoch), NaN where missing.
struct LoadedColumn {
  std::string name;
  table::DataType type = table::DataType::kString;
  std::string bytes;            // every value's text, back to back
  std::vector<uint64_t> ends;   // end offset of row r's text in `bytes`
  std::vector<uint8_t> missing; // 1: null or empty
  std::vector<double> numbers;  // numeric and timestamp columns only

  std::string_view text(size_t row) const {
    const uint64_t begin = row == 0 ? 0 : ends[row - 1];
    return std::string_view(bytes).substr(begin, ends[row] - begin);
  }
  bool numeric() const { return table::is_numeric(type); }
  void append(std::string_view value, bool is_missing) {
    bytes.append(is_missing ? std::string_view() : value);
    ends.push_back(bytes.size());
    missing.push_back(is_missing ? 1 : 0);
  }
};

struct LoadedTable {
  std::string source;        // "flights@q1" or the file path, for messages
  std::string dataset;       // the dataset name, or the file path (a tracked input's name)
  std::string version_id;    // the dataset version id, or "sha256:<hex>" of the file
  size_t rows = 0;
  std::vector<LoadedColumn> columns;

  std::optional<size_t> index_of(std::string_view name) const;
  std::string column_list() const;  // "a, b, c" (first 30, then "... (N in all)")
};

// Reads a whole dataset version (types from its manifest's schema) or file (types inferred over
// every row, as ingest does).
Result<LoadedTable> load_source(store::Store& store, const DataSource& source);

// Left join of `right` onto `left` (see JoinSpec). Keys compare as numbers when the key column is
// numeric (or a timestamp) on both sides, else as text; a row with a missing key matches nothing.
// `key` is the config path of the join ("data.join[0]") for messages.
Status left_join(LoadedTable& left, const LoadedTable& right, const JoinSpec& spec, const std::string& key,
                 const TrainConfig& config);

// Serves chosen rows and columns of a LoadedTable as a RecordReader (for model::fit_inputs).
class RowsReader final : public table::RecordReader {
 public:
  RowsReader(const LoadedTable& table, std::vector<size_t> columns, const std::vector<uint32_t>& rows,
             std::string source_name);
  const std::vector<std::string>& column_names() const override { return names_; }
  Result<bool> next(table::RecordBatch& batch, size_t max_rows) override;
  const std::string& source_name() const override { return source_name_; }
  uint64_t bytes_consumed() const override { return 0; }

 private:
  const LoadedTable& table_;
  std::vector<size_t> columns_;
  const std::vector<uint32_t>& rows_;
  std::vector<std::string> names_;
  std::string source_name_;
  size_t position_ = 0;
};

// Fills `batch` with rows[begin, end) of the given columns (views into `table`).
void fill_batch(const LoadedTable& table, const std::vector<size_t>& columns, const std::vector<uint32_t>& rows,
                size_t begin, size_t end, table::RecordBatch& batch);

}  // namespace slipway::train::detail
