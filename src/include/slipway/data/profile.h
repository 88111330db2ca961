// Dataset profiles: per-column statistics computed while a version is ingested. Drift detection
// compares against them, so numbers are exact where that is cheap and carry a stated error bound
// where a sketch is used (distinct counts above a limit: HyperLogLog; quantiles above a limit, where
// the profiler keeps no values: a deterministic quantile sketch with its rank error recorded).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slipway/core/status.h"
#include "slipway/table/infer.h"
#include "slipway/table/reader.h"
#include "slipway/table/types.h"

namespace slipway::data {

struct Histogram {
  std::vector<double> edges;    // edges.size() == counts.size() + 1, ascending; last bin closed
  std::vector<uint64_t> counts;
};

struct ValueCount {
  std::string value;
  uint64_t count = 0;
};

struct ColumnProfile {
  std::string name;
  table::DataType type = table::DataType::kString;
  uint64_t count = 0;    // non-missing values
  uint64_t missing = 0;
  uint64_t distinct = 0;
  bool distinct_exact = true;      // false: HyperLogLog estimate (relative standard error stated in docs)
  // Numeric (int64/float64), bool (as 0/1) and timestamp (micros since epoch) columns:
  std::optional<double> min, max, mean, stddev;   // stddev: sample standard deviation (n-1)
  std::vector<std::pair<double, double>> quantiles;  // (q, value) for q in 0.01 .. 0.99
  double quantile_rank_error = 0;  // 0: exact; else max |rank error| as a fraction of count
  Histogram histogram;             // numeric and timestamp columns
  std::vector<ValueCount> top_values;  // most frequent values (strings, bools, low-cardinality ints), exact counts
  bool top_values_exact = true;
  // String columns: length in bytes of the shortest and longest value.
  std::optional<uint64_t> min_length, max_length;
};

struct DatasetProfile {
  uint64_t row_count = 0;
  std::vector<ColumnProfile> columns;
  const ColumnProfile* find(std::string_view name) const;
};

struct ProfileOptions {
  size_t histogram_bins = 20;
  size_t top_values = 50;  // enough for schema inference to list every value of small categoricals
  size_t exact_distinct_limit = 100000;   // exact distinct counting up to here, HyperLogLog above
  size_t exact_quantile_limit = 100000;  // kept in memory up to here per column (8 bytes each); above: spill or sketch
  // A profiler that spills keeps the first this many bytes of its spill in memory, the rest in its
  // temporary file (ingest divides one budget between its parallel profilers).
  size_t spill_memory_bytes = 0;
};

// Computes a profile in one streaming pass over batches whose column types are already known
// (from TypeInferrer, whose min/max also fix the histogram range). Mergeable for parallel passes.
class Profiler {
 public:
  Profiler(const std::vector<table::InferredColumn>& columns, ProfileOptions options = {});
  ~Profiler();
  Profiler(Profiler&&) noexcept;
  Profiler& operator=(Profiler&&) noexcept;

  // A profiler for a pass that learns the column ranges while it profiles (ingest's single pass):
  // histograms are binned by finish_histograms() once the ranges are known. Values a column holds
  // beyond exact_quantile_limit wait for that in an unnamed temporary file in `spill_dir`
  // (8 bytes each, gone with the profiler); quantiles are exact, as with with_kept_values().
  static Profiler with_deferred_histograms(const std::vector<table::InferredColumn>& columns, ProfileOptions options,
                                           std::filesystem::path spill_dir);

  // A profiler that keeps every numeric value for exact quantiles: up to exact_quantile_limit per
  // column in memory, beyond it in an unnamed temporary file in `spill_dir` (8 bytes each, gone
  // with the profiler). A profiler made by the constructor keeps no more than the limit and uses a
  // quantile sketch above it. Profilers merged must be made the same way.
  static Profiler with_kept_values(const std::vector<table::InferredColumn>& columns, ProfileOptions options,
                                   std::filesystem::path spill_dir);

  // A value that does not parse as its column's type is a kParseError naming the row.
  Status add(const table::RecordBatch& batch);
  // Adds the float64 columns flagged in `columns`, whose values TypeInferrer already parsed into
  // `values` (it must have marked them valid); counts the batch's rows. The other columns are left
  // as they are.
  Status add_float64(const table::RecordBatch& batch, const table::FloatValues& values,
                     const std::vector<uint8_t>& columns);
  // From now on add() profiles only the columns flagged here (a pass over columns an earlier pass
  // could not finish); the others stay empty.
  void restrict_to(std::vector<uint8_t> columns);
  // For a profiler with deferred histograms: sets each numeric column's histogram range from
  // `columns` (the inferred min and max, as the constructor does) and bins the values seen so far.
  // Call once, before merge() and finish().
  Status finish_histograms(const std::vector<table::InferredColumn>& columns);
  void merge(Profiler&& other);
  // Exact quantiles of spilled values are selected here (reading the spills again): an I/O error
  // reading them is returned.
  Result<DatasetProfile> finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

nlohmann::json to_json(const DatasetProfile& profile);
Result<DatasetProfile> profile_from_json(const nlohmann::json& json);

}  // namespace slipway::data
