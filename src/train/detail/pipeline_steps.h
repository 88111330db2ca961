// The pipeline's steps between loading and training: labels, the feature plan (which columns,
// which transforms), fitting it on the training rows, and encoding rows into trainer matrices.
// Private to src/train; run_training (pipeline.cpp) strings them together.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pipeline_data.h"
#include "slipway/core/status.h"
#include "slipway/model/model.h"
#include "slipway/model/transforms.h"
#include "slipway/train/config.h"
#include "slipway/train/trainer.h"

namespace slipway::train::detail {

struct Labels {
  model::Task task = model::Task::kRegression;
  size_t n_classes = 0;                   // classification: 2 (binary) or more
  std::vector<std::string> class_labels;  // classification: in class-index order
  std::vector<float> y;                   // per table row; NaN where the target is missing
  std::string description;                // "arr_delay > 15" or the column name
};

// Labels the target (config.data.target) and decides the task: model.task if given, else
// inferred (docs/training.md#task): text or bool -> binary (2 values) / multiclass; numbers with
// 2 distinct values -> binary, integers with 3..20 distinct values -> multiclass, else regression.
Result<Labels> make_labels(const LoadedTable& table, const TrainConfig& config);

struct FeaturePlan {
  std::vector<size_t> columns;               // table columns of the model inputs, in input order
  std::vector<model::FitRequest> requests;   // one per input
  std::vector<std::optional<double>> fill;   // impute: constant (fitted as if missing were this value)
  std::optional<size_t> segment;            // data.segment's column
};

// Which columns are inputs and how each is transformed (defaults by model kind, then
// features.default, then features.columns.<name>). Errors name the config key.
Result<FeaturePlan> plan_features(const LoadedTable& table, const TrainConfig& config);

// Fits the plan on `train_rows` only.
Result<std::vector<model::InputColumn>> fit_features(const LoadedTable& table, const FeaturePlan& plan,
                                                     const std::vector<uint32_t>& train_rows);

// One name per feature column: the input name, or "name=category" for one-hot columns
// ("name=<unknown>" for the unknown bucket).
std::vector<std::string> feature_names_of(const std::vector<model::InputColumn>& inputs);

// Encodes `rows` with model.inputs (the exact encoder serving runs) and attaches their labels.
Result<Matrix> encode_rows(const LoadedTable& table, const FeaturePlan& plan, const model::Model& model,
                           const Labels& labels, const std::vector<uint32_t>& rows);

}  // namespace slipway::train::detail
