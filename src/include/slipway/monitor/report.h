// A monitoring report for one served model: what `slipway monitor report` writes as a self-contained
// HTML page (inline SVG plots and CSS, nothing fetched) and as JSON. It gathers, for a window of
// the model's prediction log:
//   - the header: versions seen, first / last prediction time, predictions, labelled rows, the
//     reference used;
//   - data drift of the inputs against the reference and prediction drift of the outputs, per
//     column with the reference / current histograms (drift.h);
//   - drift over time: the window cut into time buckets, the drift share and the top drifting
//     columns' scores per bucket;
//   - performance with feedback over time, by version and by segment, business values with 95%
//     confidence intervals (performance.h);
//   - the model's alert firings (alerts.h).
// The log is read in chunks into binned summaries (FrameSummary), so memory is bounded by the
// number of buckets and bins, not the number of predictions. docs/reports.md describes every plot.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slipway/core/status.h"
#include "slipway/monitor/alerts.h"
#include "slipway/monitor/drift.h"
#include "slipway/monitor/log_window.h"
#include "slipway/monitor/performance.h"
#include "slipway/monitor/system_health.h"
#include "slipway/store/store.h"

namespace slipway::monitor {

struct ReportOptions {
  LogWindowSpec window;
  // NAME@REF or a CSV / JSON Lines file. Empty: the training dataset of the newest version in the
  // window (registry lineage of `registered_model`, default the served name); when there is none,
  // the window's first time bucket (the "reference period").
  std::string reference;
  std::string registered_model;
  size_t buckets = 12;               // time buckets over the window (ignored with bucket_us)
  std::optional<int64_t> bucket_us;  // bucket width; rounded up to whole seconds either way
  std::vector<std::string> segments; // performance by these input columns / tags
  size_t top_columns = 5;            // columns plotted in "drift over time"
  DriftOptions drift;
  SummaryOptions summary;
  uint64_t reference_period_rows = 100'000;  // at most this many rows of the first bucket as reference
  size_t chunk_rows = 65'536;
  size_t alerts_limit = 200;
};

struct ReportReference {
  std::string source;  // what was compared against, in words ("flights@3f2a... (training data of flights/2)")
  std::string kind;    // "dataset" | "file" | "reference period"
  uint64_t rows = 0;
  std::vector<std::string> columns;  // the model inputs compared
  std::string note;                  // why the lineage reference was not used (empty when it was)
};

struct DriftBucket {
  int64_t start_us = 0;
  int64_t end_us = 0;  // exclusive
  uint64_t rows = 0;
  bool tested = false;  // false: empty bucket, or the reference period itself
  double share = 0;
  bool dataset_drift = false;
  std::map<std::string, double> scores;             // input column -> effect (the drift_score gauge)
  std::map<std::string, double> prediction_scores;  // output column -> effect
};

struct MonitorReport {
  std::string model;
  std::string window;  // the window as asked, in words
  std::vector<int64_t> versions;
  int64_t first_us = 0;
  int64_t last_us = 0;
  uint64_t predictions = 0;
  int64_t generated_us = 0;
  ReportReference reference;
  std::optional<DriftReport> drift;             // inputs vs the reference
  std::optional<DriftReport> prediction_drift;  // outputs: after the first bucket vs the first bucket
  std::string drift_note;                       // why drift is missing, when it is
  std::string prediction_drift_note;
  int64_t bucket_us = 0;
  std::vector<DriftBucket> buckets;
  std::vector<std::string> top_columns;  // highest overall drift score first
  std::optional<PerformanceReport> performance;
  std::string performance_note;
  std::vector<AlertFiring> alerts;  // this model's firings, newest first
  // The serving process's health over the window (one sample per live-monitor window, from
  // <store>/monitor/health.jsonl); empty when no server monitored this store in the window.
  std::vector<HealthSample> health;
  std::string health_note;
  std::vector<std::string> notes;
};

// kNotFound when the model has no prediction log; kInvalidArgument for a window with no
// predictions, a bad reference or segment.
Result<MonitorReport> build_report(store::Store& store, const ReportOptions& options, int64_t now_us);

nlohmann::json to_json(const MonitorReport& report);
// The keys `slipway monitor performance --json` prints.
nlohmann::json to_json(const PerformanceReport& report);

// The page: one HTML document, UTF-8, no external resources.
std::string render_report_html(const MonitorReport& report);

// "2025-01-31T10:00:00Z" (whole seconds) or with microseconds when it has them.
std::string report_time(int64_t us);

}  // namespace slipway::monitor
