// LiveMonitor: monitoring inside the server. Every `interval` it closes a window of each served
// model's prediction log and computes, with bounded memory:
//   - data drift of the window's inputs against the reference (the served version's training data,
//     found through the registry's lineage, or the dataset / file given), from binned summaries
//     (drift.h: FrameSummary), and prediction drift of the outputs against the version's first
//     `prediction_reference_rows` logged predictions;
//   - performance over the last `performance_window` of predictions joined with feedback
//     (performance.h), overall and by each `segments` column;
//   - latency percentiles and throughput of the window;
// exports them as Prometheus gauges, and evaluates the alert rules (alerts.h) on them, so an alert
// can fire a webhook or a retraining command. Metric names the rules use (per model):
//   predictions, throughput_rps, p50_latency_ms, p99_latency_ms,
//   drift_share, dataset_drift, drift_score{column=C}, prediction_drift_score{column=C},
//   auc, accuracy, log_loss, error_rate, precision, recall, rmse, mae, labelled,
//   error_rate{segment=COL,value=V} (and auc{segment=..}, rmse{segment=..}),
//   VALUE_per_1k, VALUE_mean for each business value in the feedback (revenue_per_1k, ...).
// In /metrics each is the gauge slipway_monitor_<name>{model,...}; *_ms metrics are exported in seconds
// (slipway_monitor_p99_latency_seconds), as Prometheus asks.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "slipway/core/status.h"
#include "slipway/monitor/alerts.h"
#include "slipway/monitor/drift.h"

namespace slipway::monitor {

struct LiveModel {
  std::string name;           // the served name (the prediction log's folder)
  std::string registry_name;  // the registered model it comes from; empty for a bundle file
};

struct LiveMonitorOptions {
  std::filesystem::path store_root;
  std::vector<LiveModel> models;
  std::chrono::milliseconds interval{60'000};
  // Performance looks back this far (labels arrive late); 0: only the window itself.
  std::chrono::milliseconds performance_window{std::chrono::hours(24)};
  // NAME@REF or a file; empty: the served version's training dataset (registry lineage).
  std::string reference;
  uint64_t prediction_reference_rows = 10'000;
  std::vector<std::string> segments;
  size_t min_segment_rows = 30;  // segment series need this many labelled rows in the look-back
  DriftOptions drift;
  SummaryOptions summary;
  std::vector<AlertRule> rules;
  std::function<void(std::string_view)> log;  // events a person should see
  // Makes every prediction answered so far readable (the prediction log's flush); called before a
  // window is read. Records still in flight land in the next window: none is lost or counted twice.
  std::function<void()> flush_log;
};

struct LiveWindowResult {
  std::string model;
  int64_t window_start_us = 0;
  int64_t window_end_us = 0;
  std::vector<MetricSample> samples;
  std::optional<DriftReport> drift;
  std::optional<DriftReport> prediction_drift;
  std::string note;  // why something was not computed (no reference, empty window)
};

class LiveMonitor {
 public:
  // Loads the rules' alert engine (resuming firings stored as firing) and starts the window thread.
  static Result<std::unique_ptr<LiveMonitor>> start(LiveMonitorOptions options);
  ~LiveMonitor();  // stop()
  LiveMonitor(const LiveMonitor&) = delete;
  LiveMonitor& operator=(const LiveMonitor&) = delete;

  // Closes a window now (tests; `POST /v2/monitor/evaluate`) and returns what was computed.
  Result<std::vector<LiveWindowResult>> evaluate_now();
  // Stops the thread, waits for running alert actions.
  void stop();

  // Gauges of the latest window and the alert engine's metrics, Prometheus text.
  std::string render_metrics() const;
  // The latest window's results as JSON (GET /v2/monitor).
  std::string latest_json() const;

  struct Impl;

 private:
  explicit LiveMonitor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace slipway::monitor
