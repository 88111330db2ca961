#include "slipway/train/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace slipway::train {
namespace {

// Reference values from scikit-learn on the same float32 arrays (tests/unit/train/make_fixtures.py).
const nlohmann::json& fixture() {
  static const nlohmann::json json = [] {
    std::ifstream in(std::string(SLIPWAY_TEST_DATA) + "/../unit/train/fixtures/metrics.json");
    return nlohmann::json::parse(in);
  }();
  return json;
}

std::vector<float> floats(const nlohmann::json& values) {
  std::vector<float> out;
  for (const auto& v : values) out.push_back(static_cast<float>(v.get<double>()));
  return out;
}

constexpr double kTol = 1e-9;

void expect_classification(const ClassificationMetrics& m, const nlohmann::json& e, const std::string& name) {
  SCOPED_TRACE(name);
  if (e["auc"].is_null()) {
    EXPECT_TRUE(std::isnan(m.auc));
  } else {
    EXPECT_NEAR(m.auc, e["auc"].get<double>(), kTol);
  }
  EXPECT_NEAR(m.log_loss, e["log_loss"].get<double>(), kTol * std::max(1.0, e["log_loss"].get<double>()));
  EXPECT_NEAR(m.accuracy, e["accuracy"].get<double>(), kTol);
  EXPECT_NEAR(m.precision, e["precision"].get<double>(), kTol);
  EXPECT_NEAR(m.recall, e["recall"].get<double>(), kTol);
  EXPECT_NEAR(m.f1, e["f1"].get<double>(), kTol);
  EXPECT_EQ(m.confusion, e["confusion"].get<std::vector<std::vector<int64_t>>>());
  EXPECT_EQ(m.n, e["n"].get<size_t>());
}

void expect_regression(const RegressionMetrics& m, const nlohmann::json& e, const std::string& name) {
  SCOPED_TRACE(name);
  EXPECT_NEAR(m.rmse, e["rmse"].get<double>(), kTol * std::max(1.0, e["rmse"].get<double>()));
  EXPECT_NEAR(m.mae, e["mae"].get<double>(), kTol * std::max(1.0, e["mae"].get<double>()));
  EXPECT_NEAR(m.r2, e["r2"].get<double>(), kTol);
  EXPECT_EQ(m.n, e["n"].get<size_t>());
}

TEST(ClassificationMetrics, MatchScikitLearn) {
  ASSERT_FALSE(fixture()["classification"].empty());
  for (const auto& c : fixture()["classification"]) {
    const auto y = floats(c["y_true"]);
    const auto p = floats(c["proba"]);
    expect_classification(classification_metrics(y, p, c["n_classes"].get<size_t>()), c["expected"],
                          c["name"].get<std::string>());
  }
}

TEST(RegressionMetrics, MatchScikitLearn) {
  for (const auto& c : fixture()["regression"]) {
    expect_regression(regression_metrics(floats(c["y_true"]), floats(c["y_pred"])), c["expected"],
                      c["name"].get<std::string>());
  }
}

TEST(SegmentMetrics, MatchScikitLearnPerSubset) {
  const auto& s = fixture()["segments"];
  const auto segments = s["segment"].get<std::vector<std::string>>();
  const auto by_class = classification_metrics_by_segment(floats(s["y_true"]), floats(s["proba"]), 2, segments);
  ASSERT_EQ(by_class.size(), s["classification"].size());
  for (size_t i = 0; i < by_class.size(); ++i) {
    const auto& e = s["classification"][i];
    EXPECT_EQ(by_class[i].segment, e["segment"].get<std::string>());
    EXPECT_EQ(by_class[i].n, e["n"].get<size_t>());
    expect_classification(std::get<ClassificationMetrics>(by_class[i].metrics), e, by_class[i].segment);
  }
  const auto by_reg = regression_metrics_by_segment(floats(s["y_reg"]), floats(s["pred_reg"]), segments);
  ASSERT_EQ(by_reg.size(), s["regression"].size());
  for (size_t i = 0; i < by_reg.size(); ++i) {
    EXPECT_EQ(by_reg[i].segment, s["regression"][i]["segment"].get<std::string>());
    expect_regression(std::get<RegressionMetrics>(by_reg[i].metrics), s["regression"][i], by_reg[i].segment);
  }
}

TEST(RocAuc, TiesCountHalf) {
  // One positive tied with one negative, above the other negative: (1 + 0.5) / 2.
  const std::vector<float> y{0, 0, 1};
  const std::vector<float> s{0.2f, 0.7f, 0.7f};
  EXPECT_DOUBLE_EQ(roc_auc_binary(y, s), 0.75);
}

TEST(RocAuc, NaNWhenAClassIsAbsent) {
  const std::vector<float> y{1, 1, 1};
  const std::vector<float> s{0.2f, 0.7f, 0.9f};
  EXPECT_TRUE(std::isnan(roc_auc_binary(y, s)));
}

TEST(ClassificationMetrics, LogLossClipsAtFloat64Epsilon) {
  // A confidently wrong prediction costs -log(eps), not infinity.
  const std::vector<float> y{1};
  const std::vector<float> p{0.0f};
  const auto m = classification_metrics(y, p, 2);
  EXPECT_DOUBLE_EQ(m.log_loss, -std::log(std::numeric_limits<double>::epsilon()));
  EXPECT_DOUBLE_EQ(m.accuracy, 0.0);
}

TEST(ClassificationMetrics, ThresholdIsStrictlyAboveHalf) {
  const std::vector<float> y{1, 0};
  const std::vector<float> p{0.5f, 0.5f};
  const auto m = classification_metrics(y, p, 2);
  EXPECT_EQ(m.confusion, (std::vector<std::vector<int64_t>>{{1, 0}, {1, 0}}));
  EXPECT_DOUBLE_EQ(m.precision, 0.0);  // nothing predicted positive: 0/0 counts as 0
  EXPECT_DOUBLE_EQ(m.recall, 0.0);
}

TEST(ClassificationMetrics, RowsWithInvalidLabelsAreLeftOut) {
  const std::vector<float> y{0, 1, 2, -1, 0.5f, std::numeric_limits<float>::quiet_NaN()};
  const std::vector<float> p{0.1f, 0.9f, 0.9f, 0.9f, 0.9f, 0.9f};
  const auto m = classification_metrics(y, p, 2);
  EXPECT_EQ(m.n, 2u);
  EXPECT_DOUBLE_EQ(m.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(m.auc, 1.0);
}

TEST(ClassificationMetrics, MulticlassAucSkipsClassesAbsentFromTruth) {
  // Class 2 never occurs: the macro AUC averages classes 0 and 1 only (sklearn would refuse).
  const std::vector<float> y{0, 1, 0, 1};
  const std::vector<float> p{0.8f, 0.1f, 0.1f, 0.2f, 0.7f, 0.1f, 0.6f, 0.3f, 0.1f, 0.3f, 0.6f, 0.1f};
  const auto m = classification_metrics(y, p, 3);
  EXPECT_DOUBLE_EQ(m.auc, 1.0);
  EXPECT_EQ(m.confusion[2], (std::vector<int64_t>{0, 0, 0}));
}

TEST(ClassificationMetrics, MismatchedShapesGiveNaN) {
  const std::vector<float> y{0, 1};
  const std::vector<float> p{0.5f};
  const auto m = classification_metrics(y, p, 2);
  EXPECT_EQ(m.n, 0u);
  EXPECT_TRUE(std::isnan(m.auc));
}

TEST(RegressionMetrics, ConstantTargetFollowsScikitLearn) {
  const std::vector<float> y{2, 2, 2};
  EXPECT_DOUBLE_EQ(regression_metrics(y, y).r2, 1.0);
  const std::vector<float> off{2, 2, 3};
  EXPECT_DOUBLE_EQ(regression_metrics(y, off).r2, 0.0);
}

}  // namespace
}  // namespace slipway::train
