// Data drift between a reference and a current Frame: one test per column, chosen automatically
// (Evidently's defaults, overridable), an effect-size floor next to every p-value so a huge window
// does not flag a trivial shift, Benjamini–Hochberg across the columns, and a dataset verdict from
// the share of drifted columns. docs/drift.md states every rule and threshold.
//
// Two inputs: whole Frames (exact tests on the rows), or FrameSummary — bounded-memory, mergeable
// per-window counts binned against the reference's quantile bins — for streaming; there KS's D is
// known to within the largest bin mass and the report carries that bound.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "slipway/core/status.h"
#include "slipway/monitor/frame.h"

namespace slipway::monitor {

enum class DriftTest : uint8_t {
  kAuto,
  kKs,             // two-sample Kolmogorov–Smirnov (numeric); effect: D
  kChiSquared,     // chi-squared on the 2 x k table, rare categories pooled; effect: Cramér's V
  kZ,              // two-proportion z-test (two categories); effect: Cohen's h
  kWasserstein,    // Wasserstein distance / reference std (numeric); a distance, no p-value
  kJensenShannon,  // Jensen–Shannon distance (natural log) on shared bins; a distance
  kPsi,            // population stability index on shared bins; a distance
};

const char* drift_test_name(DriftTest test);  // "auto", "ks", "chi2", "z", "wasserstein", "jensenshannon", "psi"
Result<DriftTest> parse_drift_test(std::string_view name);
bool has_p_value(DriftTest test);  // ks, chi2, z
double default_threshold(DriftTest test);  // effect floor (p-value tests) or distance threshold

// The category that rare categories are pooled into, and the one unseen ones go to in summaries.
inline constexpr const char* kOtherCategory = "(other)";

struct DriftOptions {
  double alpha = 0.05;        // significance level, applied to Benjamini–Hochberg adjusted p-values
  double drift_share = 0.5;   // the dataset drifts when drifted / tested columns >= this
  bool adjust_p_values = true;  // false: compare raw p-values with alpha (no FDR control)
  uint64_t small_sample_rows = 1000;  // reference rows <= this: p-value tests, above: distances
  size_t max_discrete_values = 5;     // numeric columns with at most this many distinct values
                                      // are tested as categories (Evidently's rule)
  double min_expected = 5;            // chi-squared: categories expected < this in either row pooled
  size_t distance_bins = 30;          // numeric PSI / Jensen–Shannon: equal-width bins over both samples
  size_t histogram_bins = 20;         // bins of the histograms a report plots
  std::vector<std::string> columns;   // empty: every column present in both frames
  std::map<std::string, DriftTest> tests;   // per-column test override
  std::map<std::string, double> thresholds; // per-column threshold override
  unsigned threads = 0;               // 0: one per hardware thread
};

// Reference and current counts over the same bins, for plotting.
struct DriftHistogram {
  std::vector<double> edges;        // numeric: bins.size() + 1 edges
  std::vector<std::string> labels;  // categorical: one per bin
  std::vector<uint64_t> reference;
  std::vector<uint64_t> current;
};

struct ColumnDrift {
  std::string column;
  ColumnKind kind = ColumnKind::kNumeric;
  DriftTest test = DriftTest::kAuto;
  bool test_chosen = true;       // false: the user named the test
  bool tested = false;           // false when either side has no values (see note)
  double statistic = 0;          // D, chi-squared, z, or the distance
  std::optional<double> p_value;
  std::optional<double> adjusted_p_value;  // Benjamini–Hochberg over the tested p-value columns
  std::string effect_name;       // "D", "cramers_v", "cohens_h", or the distance's name
  double effect = 0;
  double threshold = 0;          // effect floor (p-value tests) or distance threshold
  bool drifted = false;
  // Summaries only: D lies in [statistic, statistic_upper] (exact data: equal).
  std::optional<double> statistic_upper;
  uint64_t reference_rows = 0;  // non-missing values used
  uint64_t current_rows = 0;
  uint64_t reference_missing = 0;
  uint64_t current_missing = 0;
  std::vector<std::string> pooled;  // categories pooled into "(other)" for chi-squared
  std::string note;
  DriftHistogram histogram;
};

struct DriftReport {
  std::vector<ColumnDrift> columns;
  double alpha = 0.05;
  double drift_share = 0.5;
  size_t tested_columns = 0;
  size_t drifted_columns = 0;
  double share = 0;
  bool dataset_drift = false;
  bool from_summaries = false;
};

// kInvalidArgument: a named column missing from either frame, a column numeric on one side and
// categorical on the other, or a test that does not fit the column's kind.
Result<DriftReport> detect_drift(const Frame& reference, const Frame& current, const DriftOptions& options);

nlohmann::json to_json(const DriftReport& report);

// ---- streaming summaries --------------------------------------------------------------------------

// One column's values binned against the reference: numeric values by the reference's quantile
// edges e_0 < ... < e_B into B + 3 cells (below e_0, equal to e_0, (e_{k-1}, e_k] for k = 1..B,
// above e_B); categories by the reference's most frequent categories plus "(other)". Two
// summaries with the same layout merge by adding counts, so memory is O(bins) whatever the rows.
struct ColumnSummary {
  std::string column;
  ColumnKind kind = ColumnKind::kNumeric;
  std::vector<double> edges;
  std::vector<std::string> categories;  // categorical: the last is "(other)"
  std::vector<uint64_t> counts;
  uint64_t missing = 0;
  // Numeric: the sum of squared deviations is not mergeable cheaply; keep sum and sum of squares
  // in long double for the Wasserstein normalisation.
  long double sum = 0;
  long double sum_squares = 0;
  double min = 0;  // numeric, over every value counted (meaningful when values() > 0)
  double max = 0;

  uint64_t values() const;  // non-missing values counted
};

struct FrameSummary {
  std::vector<ColumnSummary> columns;
  uint64_t rows = 0;

  const ColumnSummary* find(std::string_view name) const;
  // Counts every row of `frame` (columns matched by name; a column absent from `frame` counts its
  // rows as missing). kInvalidArgument when a column's kind differs from the layout.
  Status add(const Frame& frame);
  // kInvalidArgument when the layouts differ (another reference's bins).
  Status merge(const FrameSummary& other);
};

struct SummaryOptions {
  size_t bins = 1000;            // numeric quantile bins (fewer when the reference has ties)
  size_t max_categories = 1000;  // categorical: the rest of the reference's categories go to "(other)"
};

// An empty summary with the reference's bins (its counts are zero). Add the reference itself to
// the result to summarise the reference.
FrameSummary summary_layout(const Frame& reference, const SummaryOptions& options = {});

// Drift from two summaries of the same layout. KS's D is computed at the bin edges and is a lower
// bound; statistic_upper bounds the exact D from above (the gap is at most the largest bin mass).
// The p-value uses the lower D (errs towards "no drift"). Numeric PSI and Jensen–Shannon use the
// quantile bins coarsened to `distance_bins` groups of equal reference mass; Wasserstein places
// each cell's mass at its midpoint (cells below / above the reference range at the edge).
Result<DriftReport> detect_drift(const FrameSummary& reference, const FrameSummary& current,
                                 const DriftOptions& options);

}  // namespace slipway::monitor
