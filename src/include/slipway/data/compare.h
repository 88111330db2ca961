// Comparing two dataset profiles (training vs serving, last week vs this week): what changed in the
// schema, and how far each column's distribution moved, with TFDV-style distances and thresholds.
// Works on profiles alone, so it needs neither dataset's rows. Method: docs/validation.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slipway/data/profile.h"
#include "slipway/table/types.h"

namespace slipway::data {

struct CompareOptions {
  // L-infinity distance between category frequency vectors (string and bool columns).
  double categorical_threshold = 0.1;
  // Jensen-Shannon distance, base 2, in [0, 1] (numeric and timestamp columns).
  double numeric_threshold = 0.1;
  // Bins of the common grid both histograms are re-binned onto; 0: the larger of the two inputs' bin counts.
  size_t bins = 0;
};

enum class ColumnVerdict {
  kSame,         // distance at or under its threshold
  kDrift,        // distance over its threshold
  kAdded,        // only in b
  kRemoved,      // only in a
  kTypeChanged,  // in both with different types; not compared
  kNotCompared,  // no values on one side (or no histogram) to compare
};
const char* column_verdict_name(ColumnVerdict v);  // "same", "drift", "added", ...

struct ColumnComparison {
  std::string name;
  std::optional<table::DataType> type_a, type_b;
  ColumnVerdict verdict = ColumnVerdict::kSame;
  std::string measure;              // "linf" or "jensen_shannon"; empty when not compared
  std::optional<double> distance;
  double threshold = 0;
  std::optional<double> missing_fraction_a, missing_fraction_b;  // of each dataset's rows
  std::optional<double> mean_a, mean_b;
  std::string note;                 // e.g. top values incomplete, so 'other' lumps values together
};

struct CompareReport {
  uint64_t rows_a = 0, rows_b = 0;
  std::vector<ColumnComparison> columns;  // a's columns in order, then columns only in b
  bool schema_changed = false;            // a column added, removed or retyped
  bool drift = false;                     // any column kDrift
};

CompareReport compare_profiles(const DatasetProfile& a, const DatasetProfile& b, const CompareOptions& options = {});

nlohmann::json to_json(const CompareReport& report);
std::string render_text(const CompareReport& report);

// Exposed for tests and for monitor's drift checks over the same kind of inputs.
// Re-bins `h` onto `edges` assuming each source bin's mass is spread uniformly over it; a bin of
// zero width puts its mass in the grid bin containing its edge. Returns mass per grid bin.
std::vector<double> rebin_histogram(const Histogram& h, const std::vector<double>& edges);
// Jensen-Shannon distance with base-2 logarithms (scipy.spatial.distance.jensenshannon(p, q, base=2)):
// both vectors are normalised to sum 1 first. Empty or all-zero input gives nullopt.
std::optional<double> jensen_shannon_distance(const std::vector<double>& p, const std::vector<double>& q);

}  // namespace slipway::data
