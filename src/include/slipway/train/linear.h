// Regularised linear models: ridge-style linear regression (squared loss), logistic regression
// (binary) and softmax regression (multiclass), fitted by L-BFGS (OWL-QN when l1 > 0) in double
// precision, single-threaded in a fixed order so the same input gives bit-identical weights.
//
// Objective (w: weights, b: intercepts, s_i: sample weights, 1 when none are given):
//   sum_i s_i * loss_i + l2 / 2 * ||w||^2 + l1 * ||w||_1      (intercepts are not penalised)
//   loss = (y - f)^2 / 2 (regression), -log p(y) (binary / multiclass)
// so l2 = 1 / C of sklearn's LogisticRegression and l2 = alpha of sklearn's Ridge; the full mapping
// is in docs/training-metrics.md#linear. Missing feature values (NaN) count as 0, as the engine does.
//
// model.params: l2 (1.0), l1 (0), fit_intercept (true), max_iter (1000), tol (1e-6: stop when the
// largest gradient component of the objective divided by sum_i s_i is <= tol). Any other key ->
// kInvalidArgument "model.params.<key>: unknown parameter for linear (known: ...)".
// context.on_step(iteration, {"train-<metric>", "validation-<metric>"}) after iterations 0, 1, ..., the
// metric being logloss (binary), mlogloss (multiclass) or rmse (regression), unpenalised.
#pragma once

#include "slipway/core/status.h"
#include "slipway/train/trainer.h"

namespace slipway::train {

Result<TrainResult> train_linear(const TrainRequest& request, const TrainContext& context);

}  // namespace slipway::train
