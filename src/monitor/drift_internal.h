// Pieces shared by the exact (drift.cpp) and summary (summary.cpp) drift paths; not public.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "slipway/core/status.h"
#include "slipway/monitor/drift.h"

namespace slipway::monitor::detail {

// Counts per category in the reference and current sample, same order.
struct CategoryCounts {
  std::vector<std::string> labels;
  std::vector<double> reference;
  std::vector<double> current;
};

// Pools categories expected fewer than `min_expected` times in either row into "(other)" (and
// that pool into the smallest category when it is still rare); names them in *pooled, sorted.
void pool_rare_categories(CategoryCounts& counts, double min_expected, std::vector<std::string>* pooled);

// Runs out.test (chi2, z, jensenshannon or psi) on category counts, filling statistic/p/effect.
Status run_categorical(CategoryCounts counts, const DriftOptions& options, ColumnDrift& out);

// fn(0..n-1) on up to `threads` threads (0: hardware threads).
void for_each_index(size_t n, unsigned threads, const std::function<void(size_t)>& fn);

struct ColumnRef {
  std::string name;
  ColumnKind kind;
};

struct PlannedColumn {
  size_t reference_index;
  size_t current_index;
  DriftTest test;  // kAuto: chosen per column later
};

// Which columns to compare (options.columns, or every column in both) and their overrides.
// kInvalidArgument names a missing column, a kind mismatch or a test that does not fit the kind.
Result<std::vector<PlannedColumn>> plan_columns(const std::vector<ColumnRef>& reference,
                                                const std::vector<ColumnRef>& current, const DriftOptions& options);

// Thresholds, Benjamini–Hochberg, per-column verdicts, share and dataset verdict.
void finish_report(const DriftOptions& options, DriftReport& report);

}  // namespace slipway::monitor::detail
