// Evaluation metrics for trained models, computed the way scikit-learn computes them so numbers can
// be compared with a notebook (the unit tests check 1e-9 agreement on fixtures made by sklearn).
// Definitions and conventions (ties, clipping, averaging): docs/training-metrics.md.
//
// Inputs are what the engine produces: class indices stored as floats for y_true, and the model's
// output rows for proba (binary: 1 column = P(class 1); multiclass: n_classes columns).
// Rows whose y_true is not an integer in [0, n_classes) are left out of every metric (and of n).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace slipway::train {

struct ClassificationMetrics {
  double auc = 0;       // binary: ROC AUC of P(class 1); multiclass: macro one-vs-rest AUC
  double log_loss = 0;  // mean negative log-likelihood, probabilities clipped to [eps, 1 - eps]
  double accuracy = 0;
  double precision = 0;  // binary: of class 1 at threshold 0.5 (p > 0.5); multiclass: macro average
  double recall = 0;
  double f1 = 0;
  std::vector<std::vector<int64_t>> confusion;  // confusion[true][pred], n_classes x n_classes
  size_t n = 0;
};

// n_classes: 2 for binary (proba has 1 column), >= 3 for multiclass (proba has n_classes columns).
ClassificationMetrics classification_metrics(std::span<const float> y_true, std::span<const float> proba,
                                             size_t n_classes);

struct RegressionMetrics {
  double rmse = 0;
  double mae = 0;
  double r2 = 0;  // 1 - SS_res / SS_tot; constant y_true: 1 when predictions are exact, else 0 (sklearn)
  size_t n = 0;
};

RegressionMetrics regression_metrics(std::span<const float> y_true, std::span<const float> y_pred);

// ROC AUC with tied scores counted as half (the trapezoid through tied points, as sklearn).
// y_true == 1 is positive, anything else negative. NaN when either class is absent.
double roc_auc_binary(std::span<const float> y_true, std::span<const float> score);

// Metrics of the rows sharing one value of a segment column (e.g. per carrier).
struct SegmentMetrics {
  std::string segment;
  size_t n = 0;  // rows with this segment value (those counted by the metrics)
  std::variant<ClassificationMetrics, RegressionMetrics> metrics;
};

// One entry per distinct segment value, sorted by value (byte order). segments has one value per row.
std::vector<SegmentMetrics> classification_metrics_by_segment(std::span<const float> y_true,
                                                              std::span<const float> proba, size_t n_classes,
                                                              std::span<const std::string> segments);
std::vector<SegmentMetrics> regression_metrics_by_segment(std::span<const float> y_true, std::span<const float> y_pred,
                                                          std::span<const std::string> segments);

}  // namespace slipway::train
