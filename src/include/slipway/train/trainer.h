// What every trainer (xgboost, linear, mlp) takes and gives back. The training pipeline
// (pipeline.h) reads the data, splits it, fits the feature transforms on the training split,
// encodes every split with model::FeatureEncoder (the exact code serving runs) and hands the
// dense float32 matrices below to a trainer. The trainer returns the model body and its output
// transform; the pipeline assembles the model::Model, evaluates it with the engine and records
// everything in the run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slipway/core/status.h"
#include "slipway/model/model.h"

namespace slipway::train {

// Row-major features (NaN = missing) and labels. Classification labels are class indices
// 0..n_classes-1 stored as floats; regression labels are the values.
struct Matrix {
  size_t rows = 0;
  size_t cols = 0;
  std::vector<float> x;       // rows * cols
  std::vector<float> y;       // rows
  std::vector<float> weight;  // empty, or rows (sample weights)
};

struct TrainContext {
  uint64_t seed = 0;
  int threads = 1;  // passed explicitly to every library (XGBoost nthread, torch set_num_threads)
  // Called once per iteration / epoch with the metrics of that step ("train-logloss",
  // "validation-auc", ...); the pipeline logs them as metric series. May be empty.
  std::function<void(int64_t step, const std::vector<std::pair<std::string, double>>& metrics)> on_step;
};

struct TrainRequest {
  model::Task task = model::Task::kRegression;
  size_t n_classes = 0;  // multiclass only
  const Matrix* train = nullptr;
  const Matrix* validation = nullptr;  // may be null or empty (no early stopping then)
  std::vector<std::string> feature_names;
  // The `model.params` map of the config, as given (a trainer rejects keys it does not know with a
  // kInvalidArgument naming the key, "model.params.<key>").
  nlohmann::json params = nlohmann::json::object();
};

struct TrainResult {
  model::Body body;
  model::OutputTransform output_transform = model::OutputTransform::kIdentity;
  int64_t best_iteration = -1;  // early stopping; -1 when not used
  nlohmann::json details = nlohmann::json::object();  // library versions, objective, resolved params
};

}  // namespace slipway::train
