// Recording a training run (track::Tracking) and computing its final metrics. Private to src/train.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "slipway/core/status.h"
#include "slipway/model/model.h"
#include "slipway/store/store.h"
#include "slipway/track/tracking.h"
#include "slipway/train/config.h"
#include "slipway/train/pipeline.h"

namespace slipway::train::detail {

// Final metrics of `predictions` (the engine's output rows) against `y` into out.metrics
// ("<split>-auc", ... and "<split>-auc/<segment column>/<value>") and out.report (metrics.json).
void evaluate(model::Task task, size_t n_classes, const std::vector<float>& y, const std::vector<float>& predictions,
              const std::string& segment_column, const std::vector<std::string>& segments, const std::string& split,
              TrainOutcome& out);

// A metric or param key made acceptable to the tracking store (characters outside
// [A-Za-z0-9_-. /] become '_').
std::string tracking_key(const std::string& key);

class RunRecorder {
 public:
  RunRecorder(store::Store& store, const TrainConfig& config, const TrainOptions& options);

  // Creates the run (experiment created on first use) with its tags, params and dataset inputs.
  Status start(model::Task task, const std::vector<track::DatasetInput>& inputs);
  // Training curves: buffered, written in batches of up to 1,000 points.
  void log_step(int64_t step, const std::vector<std::pair<std::string, double>>& metrics);
  Status flush_steps();
  // Stores the bundle (object store + the run's output model + artifacts), the final metrics,
  // config.yaml, metrics.json and run.json, and marks the run FINISHED. Returns the bundle's id.
  Result<std::string> finish(const std::string& bundle, const std::string& xgboost_json,
                             const nlohmann::json& trainer_details, const TrainOutcome& out);
  // Marks the run FAILED (tag slipway.error) and returns `error`, naming the run.
  Status fail(const Status& error);

  const std::string& run_id() const { return run_id_; }
  const std::string& run_name() const { return run_name_; }
  int64_t experiment_id() const { return experiment_id_; }
  const std::string& created_at() const { return created_at_; }

 private:
  store::Store& store_;
  const TrainConfig& config_;
  const TrainOptions& options_;
  track::Tracking tracking_;
  std::string run_id_, run_name_, created_at_;
  int64_t experiment_id_ = 0;
  std::vector<track::MetricPoint> pending_;
  Status step_error_;
};

}  // namespace slipway::train::detail
