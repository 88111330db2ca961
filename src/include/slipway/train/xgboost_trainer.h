// Gradient-boosted trees through XGBoost's C API (libxgboost, linked privately into slipway_train).
//
// The trainer maps the task to an objective (regression: reg:squarederror, binary: binary:logistic,
// multiclass: multi:softprob with num_class), passes every documented XGBoost learner / booster /
// objective parameter of `model.params` through, evaluates train and validation after every boosting
// round (reported to TrainContext::on_step as "train-<metric>" / "validation-<metric>"), stops early
// on the validation split's last eval metric as XGBoost's Python API does, keeps the best iteration,
// and converts the booster to the engine's TreeEnsemble (or LinearModel for gblinear) through the
// XGBoost JSON importer, so the engine predicts what XGBoost predicts. Parameters and guarantees:
// docs/trainers.md.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "slipway/core/status.h"
#include "slipway/model/model.h"
#include "slipway/train/trainer.h"

namespace slipway::train {

// What train_xgboost gives, plus XGBoost's own model of the kept iterations (the JSON that
// XGBoosterSaveModelToBuffer writes; loadable by any XGBoost >= 1.7, e.g. as a run artifact).
struct XgboostTraining {
  TrainResult result;
  std::string model_json;
};

// Checks `model.params` without training (names, value types, aliases given twice, objective vs
// task), so a config can be rejected before any data is read. Errors are kInvalidArgument
// "model.params.<key>: ...".
Status validate_xgboost_params(const nlohmann::json& params, model::Task task);

// Same data, params, seed and threads give a bit-identical model (checked by the tests on the JSON
// bytes). result.details holds: library, xgboost_version, objective, params (every parameter handed
// to XGBoost, as strings), n_estimators, rounds_trained, best_iteration, early_stopping_metric,
// best_score, num_trees.
Result<XgboostTraining> train_xgboost_model(const TrainRequest& request, const TrainContext& context);
Result<TrainResult> train_xgboost(const TrainRequest& request, const TrainContext& context);

// "1.7.4": the libxgboost this binary runs with.
std::string xgboost_version();

}  // namespace slipway::train
