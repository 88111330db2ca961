// The training pipeline behind `slipway train` and `slipway runs reproduce`:
//
//   read the data (a dataset version or a file; left joins of more sources)
//   -> label the target, drop rows whose target is missing
//   -> split (random / stratified / group / time, seeded; split.h)
//   -> fit the feature transforms on the training split only (model::fit_inputs)
//   -> encode every split with model::FeatureEncoder, the code serving runs
//   -> train (xgboost / linear / mlp; trainer.h) with training curves logged per step
//   -> assemble the model::Model (signature, transforms, class labels, provenance naming the run
//      and the dataset versions) and evaluate it on the test split with the engine's Predictor
//   -> store the bundle in the object store as the run's output model (+ a file when asked)
//   -> record everything in the run (track::Tracking): params, tags, metrics, inputs, artifacts.
//
// Reproducibility: the same config, data versions, seed and thread count give a bit-identical
// bundle. The bundle's only run-specific bytes are provenance.run_id and provenance.created_at
// (the run's start time); a reproduction writes the original run's values there, so its bytes
// are comparable with the original's (docs/training.md#reproducibility).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "slipway/core/status.h"
#include "slipway/model/model.h"
#include "slipway/store/store.h"
#include "slipway/train/config.h"

namespace slipway::train {

struct TrainOptions {
  // Progress for people: a stage starting ("loading flights@q1", "training xgboost on 56,000 rows
  // x 30 features", ...) and every training step's metrics. Either may be empty.
  std::function<void(const std::string& stage)> on_stage;
  std::function<void(int64_t step, const std::vector<std::pair<std::string, double>>& metrics)> on_step;
  std::filesystem::path working_dir;  // whose git commit is recorded; empty: the current directory
  std::vector<std::string> command;   // argv, recorded as a tag
  // Set by reproduce_run: the run being reproduced. The bundle then carries its run id and
  // created_at, and the new run is tagged slipway.reproduces=<run>.
  std::optional<std::string> reproduces;
  std::optional<std::string> reproduce_created_at;
  // Source key ("data", "data.join[0]") -> the version id its data must have; a mismatch (a data
  // file that changed since) is a kFailedPrecondition. Set by reproduce_run.
  std::map<std::string, std::string> expected_versions;
};

struct TrainOutcome {
  std::string run_id;
  std::string run_name;
  int64_t experiment_id = 0;
  std::string experiment;
  std::string model_kind;
  model::Task task = model::Task::kRegression;
  std::vector<std::string> class_labels;
  std::string bundle_object_id;  // the bundle's SHA-256 (its id in the object store)
  std::filesystem::path bundle_path;  // the file written for config.output, else empty
  uint64_t bundle_bytes = 0;
  size_t rows_read = 0, rows_dropped = 0;  // dropped: missing target
  size_t rows_train = 0, rows_validation = 0, rows_test = 0;
  size_t n_inputs = 0, n_features = 0;
  std::string evaluated_on = "test";  // "test", or "validation"/"train" when the test split is empty
  // Final metrics as logged: "test-auc", "test-logloss", ... and per segment "test-auc/carrier/AA".
  std::vector<std::pair<std::string, double>> metrics;
  nlohmann::json report;  // what metrics.json holds (also confusion matrices and per-segment counts)
  int64_t best_iteration = -1;
  std::vector<std::pair<std::string, std::string>> dataset_versions;  // (source, version id)
  double seconds = 0;
};

// Runs the pipeline and records the run. Bad config or data (a column that is not there, a target
// with the wrong number of classes, an unknown model parameter) is a kParseError / kNotFound naming
// the config key, reported before any run is created. A failure after the run started marks it
// FAILED (tag slipway.error = the message) and returns the error.
Result<TrainOutcome> run_training(store::Store& store, const TrainConfig& config, const TrainOptions& options);

struct MetricDifference {
  std::string key;
  double original = 0, reproduced = 0;  // NaN when the metric is absent on that side
};

struct ReproduceOutcome {
  std::string original_run_id;
  std::string original_bundle;  // object id
  TrainOutcome rerun;           // the reproduction, itself a run
  bool bundle_identical = false;
  std::vector<MetricDifference> differences;  // metrics that are not bit-identical
  bool identical() const { return bundle_identical && differences.empty(); }
};

// Trains again from what `run_id` recorded (its config, the dataset version ids it read, seed,
// threads) and compares the bundle bytes and every final metric. kNotFound for an unknown run;
// kFailedPrecondition for a run without a recorded training (not made by `slipway train`) or
// whose data file changed since.
Result<ReproduceOutcome> reproduce_run(store::Store& store, const std::string& run_id, const TrainOptions& options);

}  // namespace slipway::train
