#include "slipway/train/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

namespace slipway::train {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The class index a stored label stands for, or -1 when it is not an integer in [0, n_classes).
int64_t class_of(float label, size_t n_classes) {
  if (!(label >= 0.0f) || label != std::floor(label) || static_cast<double>(label) >= static_cast<double>(n_classes)) {
    return -1;
  }
  return static_cast<int64_t>(label);
}

// Scores are compared as doubles; NaN ranks below every number (sklearn refuses NaN outright).
double score_key(float s) {
  return std::isnan(s) ? -std::numeric_limits<double>::infinity() : s;
}

// AUC as the Mann-Whitney statistic with tied scores counted as one half: the area under the ROC
// curve drawn through one point per distinct score, which is exactly what sklearn integrates.
double auc_of(const std::vector<uint8_t>& positive, const std::vector<double>& score) {
  const size_t n = positive.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
  double n_pos = 0, n_neg = 0, pairs = 0;  // counts stay exact in double below 2^53
  for (size_t i = 0; i < n;) {
    size_t j = i;
    double pos = 0, neg = 0;
    while (j < n && score[order[j]] == score[order[i]]) {
      (positive[order[j]] ? pos : neg) += 1;
      ++j;
    }
    pairs += pos * n_neg + 0.5 * pos * neg;  // positives above earlier negatives, half for ties
    n_pos += pos;
    n_neg += neg;
    i = j;
  }
  if (n_pos == 0 || n_neg == 0) return kNaN;
  return pairs / (n_pos * n_neg);
}

double safe_ratio(double num, double den) {
  return den > 0 ? num / den : 0.0;
}  // sklearn zero_division=0

ClassificationMetrics empty_classification(size_t n_classes) {
  ClassificationMetrics m;
  m.auc = m.log_loss = m.accuracy = m.precision = m.recall = m.f1 = kNaN;
  m.confusion.assign(n_classes, std::vector<int64_t>(n_classes, 0));
  return m;
}

}  // namespace

double roc_auc_binary(std::span<const float> y_true, std::span<const float> score) {
  const size_t n = std::min(y_true.size(), score.size());
  std::vector<uint8_t> positive(n);
  std::vector<double> key(n);
  for (size_t i = 0; i < n; ++i) {
    positive[i] = y_true[i] == 1.0f;
    key[i] = score_key(score[i]);
  }
  return auc_of(positive, key);
}

ClassificationMetrics classification_metrics(std::span<const float> y_true, std::span<const float> proba,
                                             size_t n_classes) {
  ClassificationMetrics m = empty_classification(n_classes);
  if (n_classes < 2) return m;
  const bool binary = n_classes == 2;
  const size_t width = binary ? 1 : n_classes;
  if (proba.size() != y_true.size() * width) return m;

  // Rows with a valid label, their class, the predicted class and P(true class).
  std::vector<size_t> rows;
  std::vector<int64_t> truth, pred;
  rows.reserve(y_true.size());
  for (size_t r = 0; r < y_true.size(); ++r) {
    const int64_t c = class_of(y_true[r], n_classes);
    if (c < 0) continue;
    rows.push_back(r);
    truth.push_back(c);
  }
  const size_t n = rows.size();
  m.n = n;
  if (n == 0) return m;

  // Column k's probability for row r, the binary case expanded to [1 - p, p] in double like sklearn.
  auto prob = [&](size_t r, size_t k) -> double {
    if (binary) {
      const double p = proba[r];
      return k == 1 ? p : 1.0 - p;
    }
    return proba[r * width + k];
  };

  // Log loss: probabilities clipped to [eps, 1 - eps] with eps = float64 machine epsilon
  // (sklearn >= 1.5 clips at the epsilon of the array's dtype; the fixtures pass float64).
  constexpr double kEps = std::numeric_limits<double>::epsilon();
  double loss = 0;
  pred.resize(n);
  int64_t correct = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t r = rows[i];
    loss -= std::log(std::clamp(prob(r, static_cast<size_t>(truth[i])), kEps, 1.0 - kEps));
    if (binary) {
      pred[i] = proba[r] > 0.5f ? 1 : 0;  // sklearn's predict: decision > 0, i.e. p > 0.5
    } else {
      size_t best = 0;  // first maximum, like numpy's argmax
      for (size_t k = 1; k < n_classes; ++k) {
        if (proba[r * width + k] > proba[r * width + best]) best = k;
      }
      pred[i] = static_cast<int64_t>(best);
    }
    ++m.confusion[truth[i]][pred[i]];
    correct += pred[i] == truth[i];
  }
  m.log_loss = loss / static_cast<double>(n);
  m.accuracy = static_cast<double>(correct) / static_cast<double>(n);

  // Per-class counts from the confusion matrix.
  auto tp = [&](size_t k) { return static_cast<double>(m.confusion[k][k]); };
  auto predicted = [&](size_t k) {
    double s = 0;
    for (size_t t = 0; t < n_classes; ++t) s += static_cast<double>(m.confusion[t][k]);
    return s;
  };
  auto actual = [&](size_t k) {
    double s = 0;
    for (size_t p = 0; p < n_classes; ++p) s += static_cast<double>(m.confusion[k][p]);
    return s;
  };

  if (binary) {
    m.precision = safe_ratio(tp(1), predicted(1));
    m.recall = safe_ratio(tp(1), actual(1));
    m.f1 = safe_ratio(2 * tp(1), predicted(1) + actual(1));
    std::vector<uint8_t> positive(n);
    std::vector<double> key(n);
    for (size_t i = 0; i < n; ++i) {
      positive[i] = truth[i] == 1;
      key[i] = score_key(proba[rows[i]]);
    }
    m.auc = auc_of(positive, key);
    return m;
  }

  // Macro averages over the classes that occur in y_true or in the predictions (sklearn's default
  // labels = unique_labels(y_true, y_pred)); a 0/0 ratio counts as 0.
  double p_sum = 0, r_sum = 0, f_sum = 0, labels = 0;
  for (size_t k = 0; k < n_classes; ++k) {
    const double pk = predicted(k), ak = actual(k);
    if (pk == 0 && ak == 0) continue;
    p_sum += safe_ratio(tp(k), pk);
    r_sum += safe_ratio(tp(k), ak);
    f_sum += safe_ratio(2 * tp(k), pk + ak);
    labels += 1;
  }
  m.precision = p_sum / labels;
  m.recall = r_sum / labels;
  m.f1 = f_sum / labels;

  // One-vs-rest AUC per class, macro averaged over the classes with both positives and negatives in
  // y_true (sklearn refuses to compute it when a class is absent; NaN when no class qualifies).
  double auc_sum = 0, auc_classes = 0;
  std::vector<uint8_t> positive(n);
  std::vector<double> key(n);
  for (size_t k = 0; k < n_classes; ++k) {
    for (size_t i = 0; i < n; ++i) {
      positive[i] = truth[i] == static_cast<int64_t>(k);
      key[i] = score_key(proba[rows[i] * width + k]);
    }
    const double auc = auc_of(positive, key);
    if (std::isnan(auc)) continue;
    auc_sum += auc;
    auc_classes += 1;
  }
  m.auc = auc_classes > 0 ? auc_sum / auc_classes : kNaN;
  return m;
}

RegressionMetrics regression_metrics(std::span<const float> y_true, std::span<const float> y_pred) {
  RegressionMetrics m;
  const size_t n = std::min(y_true.size(), y_pred.size());
  m.n = n;
  if (n == 0) {
    m.rmse = m.mae = m.r2 = kNaN;
    return m;
  }
  double sq = 0, abs_sum = 0, mean = 0;
  for (size_t i = 0; i < n; ++i) {
    const double e = static_cast<double>(y_true[i]) - static_cast<double>(y_pred[i]);
    sq += e * e;
    abs_sum += std::fabs(e);
    mean += y_true[i];
  }
  mean /= static_cast<double>(n);
  double total = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(y_true[i]) - mean;
    total += d * d;
  }
  m.rmse = std::sqrt(sq / static_cast<double>(n));
  m.mae = abs_sum / static_cast<double>(n);
  // sklearn's r2_score with force_finite=True: a constant y_true gives 1 for a perfect fit, else 0.
  if (total == 0) {
    m.r2 = sq == 0 ? 1.0 : 0.0;
  } else {
    m.r2 = 1.0 - sq / total;
  }
  return m;
}

namespace {

// Row indices per distinct segment value, in byte order of the values.
std::map<std::string, std::vector<size_t>> rows_by_segment(std::span<const std::string> segments, size_t n) {
  std::map<std::string, std::vector<size_t>> groups;
  for (size_t r = 0; r < std::min(n, segments.size()); ++r) groups[segments[r]].push_back(r);
  return groups;
}

}  // namespace

std::vector<SegmentMetrics> classification_metrics_by_segment(std::span<const float> y_true,
                                                              std::span<const float> proba, size_t n_classes,
                                                              std::span<const std::string> segments) {
  const size_t width = n_classes == 2 ? 1 : n_classes;
  std::vector<SegmentMetrics> out;
  if (width == 0 || proba.size() != y_true.size() * width) return out;
  for (const auto& [segment, rows] : rows_by_segment(segments, y_true.size())) {
    std::vector<float> y, p;
    y.reserve(rows.size());
    p.reserve(rows.size() * width);
    for (size_t r : rows) {
      y.push_back(y_true[r]);
      p.insert(p.end(), proba.begin() + static_cast<ptrdiff_t>(r * width),
               proba.begin() + static_cast<ptrdiff_t>((r + 1) * width));
    }
    ClassificationMetrics m = classification_metrics(y, p, n_classes);
    const size_t n = m.n;
    out.push_back(SegmentMetrics{segment, n, std::move(m)});
  }
  return out;
}

std::vector<SegmentMetrics> regression_metrics_by_segment(std::span<const float> y_true, std::span<const float> y_pred,
                                                          std::span<const std::string> segments) {
  std::vector<SegmentMetrics> out;
  for (const auto& [segment, rows] : rows_by_segment(segments, std::min(y_true.size(), y_pred.size()))) {
    std::vector<float> y, p;
    y.reserve(rows.size());
    p.reserve(rows.size());
    for (size_t r : rows) {
      y.push_back(y_true[r]);
      p.push_back(y_pred[r]);
    }
    RegressionMetrics m = regression_metrics(y, p);
    out.push_back(SegmentMetrics{segment, m.n, m});
  }
  return out;
}

}  // namespace slipway::train
