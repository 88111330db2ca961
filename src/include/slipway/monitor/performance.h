// Performance with delayed labels: a window of the prediction log joined with the feedback that has
// arrived for it (feedback.h), giving accuracy / AUC / log loss / precision / recall (classification)
// or RMSE / MAE / R² (regression) overall, per model version, per segment (any input column or
// request tag) and per time bucket; the error rate by segment with the worst segments first; latency
// percentiles; and business values (revenue, clicks, ...) with 95% confidence intervals.
//
// Metric definitions are train/metrics.h's (scikit-learn's). Rows without feedback count in
// `predictions` only; rows whose label cannot be read as a class of the model count in
// `unusable_labels`. Business values are averaged over the rows that carry them; `per_1k` is that
// mean times 1,000 (the value per thousand predictions that got feedback).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "slipway/core/status.h"
#include "slipway/monitor/log_window.h"
#include "slipway/store/store.h"

namespace slipway::monitor {

struct BusinessValue {
  std::string name;
  size_t n = 0;
  double sum = 0;
  double mean = 0;
  double ci_low = 0;  // 95% confidence interval of the mean (Student t)
  double ci_high = 0;
  double per_1k = 0;
};

struct PerformanceSlice {
  std::string column;  // "" overall, "version", "time", or the segment column
  std::string value;   // the segment value, version number, or bucket start (ISO 8601)
  size_t predictions = 0;
  size_t labelled = 0;
  size_t unusable_labels = 0;
  // Classification
  std::optional<double> accuracy, auc, log_loss, precision, recall, f1;
  // Regression
  std::optional<double> rmse, mae, r2;
  std::optional<double> error_rate;  // classification: 1 - accuracy
  double latency_p50_ms = 0, latency_p95_ms = 0, latency_p99_ms = 0;
  std::vector<BusinessValue> values;
};

struct PerformanceOptions {
  LogWindowSpec window;
  std::vector<std::string> segments;   // input columns or tag keys
  std::optional<int64_t> bucket_us;    // also slice by time buckets of this width
  size_t min_segment_rows = 30;        // a segment needs this many labelled rows to rank as "worst"
  size_t worst = 5;
};

struct PerformanceReport {
  std::string model;
  std::string task;  // binary | multiclass | regression | unknown (no labels yet)
  std::vector<std::string> classes;
  PerformanceSlice overall;
  std::vector<PerformanceSlice> by_version;
  std::vector<PerformanceSlice> by_segment;  // every segment column, value order
  std::vector<PerformanceSlice> by_time;
  std::vector<PerformanceSlice> worst_segments;  // highest error rate (or RMSE) first
  size_t feedback_rows = 0;        // feedback stored for the model
  size_t feedback_outside = 0;     // feedback whose id is not in this window
  int64_t feedback_duplicates = 0; // repeated feedback for rows of this window (the latest is used)
};

Result<PerformanceReport> compute_performance(store::Store& store, const PerformanceOptions& options);

}  // namespace slipway::monitor
