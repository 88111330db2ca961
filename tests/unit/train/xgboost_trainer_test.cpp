// XGBoost trainer: the engine's predictions of the trained body against XGBoost's own predictions of
// the same booster (every task), bit-identical models for the same inputs, early stopping as the
// Python API does it, and the exact errors for bad parameters.
#include "slipway/train/xgboost_trainer.h"

#include <gtest/gtest.h>
#include <xgboost/c_api.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "slipway/model/engine.h"

namespace slipway::train {
namespace {

using nlohmann::json;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// splitmix64: a fixed, platform-independent generator for the test data.
struct TestRng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

// 5 features; every 17th value missing. Targets: a smooth function plus noise, thresholded for the
// classification tasks.
Matrix make_data(model::Task task, size_t rows, uint64_t seed, size_t n_classes = 3) {
  TestRng rng{seed};
  Matrix m;
  m.rows = rows;
  m.cols = 5;
  for (size_t r = 0; r < rows; ++r) {
    float f[5];
    for (float& v : f) v = static_cast<float>(rng.uniform() * 4 - 2);
    const double signal = std::sin(f[0]) + 0.5 * f[1] * f[2] - 0.3 * f[3] + 0.8 * rng.uniform();
    for (size_t c = 0; c < 5; ++c) m.x.push_back((r * 5 + c) % 17 == 0 ? kNaN : f[c]);
    switch (task) {
      case model::Task::kRegression:
        m.y.push_back(static_cast<float>(signal));
        break;
      case model::Task::kBinary:
        m.y.push_back(signal > 0.3 ? 1.0f : 0.0f);
        break;
      case model::Task::kMulticlass:
        m.y.push_back(
            static_cast<float>(std::min<size_t>(n_classes - 1, static_cast<size_t>(std::max(0.0, signal + 1.2)))));
        break;
    }
  }
  return m;
}

TrainRequest request_for(model::Task task, const Matrix* train, const Matrix* validation, json params) {
  TrainRequest request;
  request.task = task;
  request.n_classes = task == model::Task::kMulticlass ? 3 : 0;
  request.train = train;
  request.validation = validation;
  request.feature_names = {"f0", "f1", "f2", "f3", "f4"};
  request.params = std::move(params);
  return request;
}

model::Model model_of(const TrainRequest& request, const TrainResult& result) {
  model::Model m;
  m.task = request.task;
  for (const auto& name : request.feature_names) {
    model::InputColumn input;
    input.name = name;
    m.inputs.push_back(input);
  }
  m.feature_names = request.feature_names;
  m.body = result.body;
  m.output_transform = result.output_transform;
  return m;
}

std::vector<float> engine_predict(const model::Model& m, const Matrix& data) {
  auto predictor = model::Predictor::create(m);
  EXPECT_TRUE(predictor.ok()) << predictor.status().message();
  if (!predictor.ok()) return {};
  std::vector<float> out(data.rows * (*predictor)->n_outputs());
  (*predictor)->predict(data.x.data(), data.rows, out.data());
  return out;
}

// XGBoost's own predictions of a saved model (XGBoosterPredictFromDMatrix, normal output).
std::vector<float> xgboost_predict(const std::string& model_json, const Matrix& data) {
  BoosterHandle booster = nullptr;
  DMatrixHandle dmat = nullptr;
  EXPECT_EQ(XGBoosterCreate(nullptr, 0, &booster), 0);
  EXPECT_EQ(XGBoosterLoadModelFromBuffer(booster, model_json.data(), model_json.size()), 0) << XGBGetLastError();
  EXPECT_EQ(XGBoosterSetParam(booster, "nthread", "1"), 0);
  EXPECT_EQ(XGDMatrixCreateFromMat(data.x.data(), data.rows, data.cols, kNaN, &dmat), 0);
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  const char* config =
      R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false})";
  EXPECT_EQ(XGBoosterPredictFromDMatrix(booster, dmat, config, &shape, &dim, &result), 0) << XGBGetLastError();
  bst_ulong n = 1;
  for (bst_ulong i = 0; i < dim; ++i) n *= shape[i];
  std::vector<float> out(result, result + n);
  XGDMatrixFree(dmat);
  XGBoosterFree(booster);
  return out;
}

void expect_engine_matches_xgboost(model::Task task, json params) {
  const Matrix train = make_data(task, 600, 1);
  const Matrix valid = make_data(task, 200, 2);
  const Matrix test = make_data(task, 300, 3);
  const TrainRequest request = request_for(task, &train, &valid, std::move(params));
  TrainContext context;
  context.seed = 7;
  context.threads = 1;
  auto trained = train_xgboost_model(request, context);
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  const std::vector<float> ours = engine_predict(model_of(request, trained->result), test);
  const std::vector<float> theirs = xgboost_predict(trained->model_json, test);
  ASSERT_EQ(ours.size(), theirs.size());
  ASSERT_EQ(ours.size(), test.rows * (task == model::Task::kMulticlass ? 3 : 1));
  for (size_t i = 0; i < ours.size(); ++i) {
    ASSERT_NEAR(ours[i], theirs[i], 1e-6 * std::max(1.0f, std::fabs(theirs[i]))) << "output " << i;
  }
}

TEST(XgboostTrainer, RegressionPredictionsEqualXgboost) {
  expect_engine_matches_xgboost(model::Task::kRegression, {{"n_estimators", 40}, {"max_depth", 4}});
}

TEST(XgboostTrainer, BinaryPredictionsEqualXgboost) {
  expect_engine_matches_xgboost(
      model::Task::kBinary, {{"n_estimators", 40}, {"learning_rate", 0.2}, {"subsample", 0.8}, {"eval_metric", "auc"}});
}

TEST(XgboostTrainer, MulticlassPredictionsEqualXgboost) {
  expect_engine_matches_xgboost(model::Task::kMulticlass, {{"n_estimators", 25}, {"max_depth", 3}});
}

TEST(XgboostTrainer, OtherObjectivesAndBoostersEqualXgboost) {
  expect_engine_matches_xgboost(
      model::Task::kRegression,
      {{"n_estimators", 20}, {"objective", "reg:pseudohubererror"}, {"tree_method", "exact"}});
  expect_engine_matches_xgboost(model::Task::kRegression,
                                {{"n_estimators", 20}, {"booster", "dart"}, {"rate_drop", 0.1}});
  expect_engine_matches_xgboost(model::Task::kBinary,
                                {{"n_estimators", 10}, {"booster", "gblinear"}, {"eval_metric", "logloss"}});
}

TEST(XgboostTrainer, SameInputsGiveBitIdenticalModels) {
  const Matrix train = make_data(model::Task::kBinary, 800, 11);
  const Matrix valid = make_data(model::Task::kBinary, 200, 12);
  const json params = {{"n_estimators", 30}, {"subsample", 0.7}, {"colsample_bytree", 0.8}, {"max_bin", 64}};
  const TrainRequest request = request_for(model::Task::kBinary, &train, &valid, params);
  TrainContext context;
  context.seed = 42;
  context.threads = 2;
  auto first = train_xgboost_model(request, context);
  auto second = train_xgboost_model(request, context);
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(first->model_json, second->model_json);
  // The seed reaches XGBoost: row subsampling draws other rows.
  context.seed = 43;
  auto other = train_xgboost_model(request, context);
  ASSERT_TRUE(other.ok()) << other.status().message();
  EXPECT_NE(first->model_json, other->model_json);
}

TEST(XgboostTrainer, EarlyStoppingKeepsTheBestIteration) {
  const Matrix train = make_data(model::Task::kRegression, 300, 21);
  const Matrix valid = make_data(model::Task::kRegression, 300, 22);
  // Deep trees and a large learning rate overfit quickly: validation RMSE turns up early.
  const json params = {{"n_estimators", 500}, {"max_depth", 8}, {"eta", 0.7}, {"early_stopping_rounds", 5}};
  const TrainRequest request = request_for(model::Task::kRegression, &train, &valid, params);
  TrainContext context;
  context.threads = 1;
  std::vector<std::vector<std::pair<std::string, double>>> steps;
  context.on_step = [&](int64_t step, const std::vector<std::pair<std::string, double>>& metrics) {
    EXPECT_EQ(step, static_cast<int64_t>(steps.size()));
    steps.push_back(metrics);
  };
  auto trained = train_xgboost(request, context);
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  const int64_t best = trained->best_iteration;
  ASSERT_GE(best, 0);
  // Stopped 5 rounds after the best, long before 500.
  ASSERT_EQ(static_cast<int64_t>(steps.size()), best + 1 + 5);
  ASSERT_EQ(steps[0].size(), 2u);
  EXPECT_EQ(steps[0][0].first, "train-rmse");
  EXPECT_EQ(steps[0][1].first, "validation-rmse");
  double best_score = std::numeric_limits<double>::infinity();
  int64_t argmin = -1;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i][1].second < best_score) {
      best_score = steps[i][1].second;
      argmin = static_cast<int64_t>(i);
    }
  }
  EXPECT_EQ(best, argmin);
  const json& d = trained->details;
  EXPECT_EQ(d["best_iteration"], best);
  EXPECT_EQ(d["num_trees"], best + 1);
  EXPECT_EQ(d["rounds_trained"], best + 1 + 5);
  EXPECT_EQ(d["early_stopping_metric"], "validation-rmse");
  EXPECT_DOUBLE_EQ(d["best_score"].get<double>(), best_score);
  EXPECT_EQ(d["xgboost_version"], xgboost_version());
  EXPECT_EQ(d["params"]["objective"], "reg:squarederror");
  EXPECT_EQ(d["params"]["tree_method"], "hist");
  EXPECT_EQ(d["params"]["eta"], "0.7");
  EXPECT_EQ(d["params"]["nthread"], "1");
}

TEST(XgboostTrainer, EarlyStoppingUsesTheLastMetricAndItsDirection) {
  const Matrix train = make_data(model::Task::kBinary, 400, 31);
  const Matrix valid = make_data(model::Task::kBinary, 300, 32);
  const json params = {{"n_estimators", 300},
                       {"max_depth", 6},
                       {"eta", 0.5},
                       {"eval_metric", json::array({"logloss", "auc"})},
                       {"early_stopping_rounds", 3}};
  const TrainRequest request = request_for(model::Task::kBinary, &train, &valid, params);
  TrainContext context;
  std::vector<double> auc;
  context.on_step = [&](int64_t, const std::vector<std::pair<std::string, double>>& metrics) {
    ASSERT_EQ(metrics.size(), 4u);
    EXPECT_EQ(metrics[0].first, "train-logloss");
    EXPECT_EQ(metrics[1].first, "train-auc");
    EXPECT_EQ(metrics[2].first, "validation-logloss");
    EXPECT_EQ(metrics[3].first, "validation-auc");
    auc.push_back(metrics[3].second);
  };
  auto trained = train_xgboost(request, context);
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  EXPECT_EQ(trained->details["early_stopping_metric"], "validation-auc");
  // AUC is maximised: the best iteration has the first highest AUC.
  const auto best = std::max_element(auc.begin(), auc.end()) - auc.begin();
  EXPECT_EQ(trained->best_iteration, best);
  EXPECT_EQ(static_cast<int64_t>(auc.size()), best + 1 + 3);
}

TEST(XgboostTrainer, WithoutValidationOnlyTrainIsEvaluated) {
  const Matrix train = make_data(model::Task::kMulticlass, 200, 41);
  const TrainRequest request = request_for(model::Task::kMulticlass, &train, nullptr, {{"n_estimators", 4}});
  TrainContext context;
  int steps = 0;
  context.on_step = [&](int64_t, const std::vector<std::pair<std::string, double>>& metrics) {
    ASSERT_EQ(metrics.size(), 1u);
    EXPECT_EQ(metrics[0].first, "train-mlogloss");
    ++steps;
  };
  auto trained = train_xgboost(request, context);
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  EXPECT_EQ(steps, 4);
  EXPECT_EQ(trained->best_iteration, -1);
  EXPECT_EQ(trained->details["num_trees"], 12);  // 4 rounds x 3 classes
  EXPECT_EQ(trained->output_transform, model::OutputTransform::kSoftmax);
}

std::string error_of(model::Task task, json params, bool with_validation = true) {
  const Matrix train = make_data(task, 50, 51);
  const TrainRequest request = request_for(task, &train, with_validation ? &train : nullptr, std::move(params));
  auto trained = train_xgboost(request, TrainContext{});
  EXPECT_FALSE(trained.ok());
  if (trained.ok()) return "";
  const Status checked = validate_xgboost_params(request.params, task);
  if (!checked.ok()) {
    EXPECT_EQ(checked.message(), trained.status().message());
  }
  return trained.status().message();
}

TEST(XgboostTrainer, BadParametersNameTheKey) {
  using model::Task;
  EXPECT_EQ(error_of(Task::kRegression, {{"max_dpeth", 3}}), "model.params.max_dpeth: unknown XGBoost parameter");
  EXPECT_EQ(error_of(Task::kRegression, {{"eta", 0.1}, {"learning_rate", 0.2}}),
            "model.params.learning_rate: is another name for eta; give only one of them");
  EXPECT_EQ(error_of(Task::kRegression, {{"n_estimators", 0}}),
            "model.params.n_estimators: must be an integer from 1 to 1000000, got 0");
  EXPECT_EQ(error_of(Task::kRegression, {{"early_stopping_rounds", "5"}}),
            "model.params.early_stopping_rounds: must be an integer from 1 to 1000000, got \"5\"");
  EXPECT_EQ(error_of(Task::kBinary, {{"objective", "reg:squarederror"}}),
            "model.params.objective: 'reg:squarederror' is not an objective for a binary task (use one of: "
            "binary:logistic)");
  EXPECT_EQ(error_of(Task::kRegression, {{"seed", 3}}),
            "model.params.seed: XGBoost's seed is the run's seed; set the top-level seed instead");
  EXPECT_EQ(error_of(Task::kRegression, {{"n_jobs", 3}}),
            "model.params.n_jobs: XGBoost's thread count is the run's; set the top-level threads instead");
  EXPECT_EQ(error_of(Task::kRegression, {{"max_depth", {{"a", 1}}}}),
            "model.params.max_depth: must be a number, a string or a boolean, got {\"a\":1}");
  EXPECT_EQ(error_of(Task::kRegression, {{"booster", "gbforest"}}),
            "model.params.booster: 'gbforest' is not a booster (use gbtree, dart or gblinear)");
  EXPECT_EQ(error_of(Task::kRegression, {{"early_stopping_rounds", 3}}, /*with_validation=*/false),
            "model.params.early_stopping_rounds: early stopping needs a validation split, and this run has none");
  EXPECT_EQ(error_of(Task::kRegression, json::array()), "model.params: must be a mapping, got []");
}

TEST(XgboostTrainer, ValuesXgboostRejectsAreReportedWithItsMessage) {
  const std::string message = error_of(model::Task::kRegression, {{"max_depth", "deep"}});
  EXPECT_EQ(message.rfind("XGBoost training failed at round 0: ", 0), 0u) << message;
  EXPECT_NE(message.find("max_depth"), std::string::npos) << message;
  EXPECT_EQ(message.find("Stack trace"), std::string::npos) << message;
}

TEST(XgboostTrainer, ConstraintListsPassThrough) {
  const Matrix train = make_data(model::Task::kRegression, 300, 61);
  const TrainRequest request = request_for(model::Task::kRegression, &train, nullptr,
                                           {{"n_estimators", 5},
                                            {"monotone_constraints", {1, 0, 0, -1, 0}},
                                            {"interaction_constraints", {{0, 1}, {2, 3, 4}}}});
  auto trained = train_xgboost(request, TrainContext{});
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  EXPECT_EQ(trained->details["params"]["monotone_constraints"], "(1,0,0,-1,0)");
  EXPECT_EQ(trained->details["params"]["interaction_constraints"], "[[0,1],[2,3,4]]");
}

}  // namespace
}  // namespace slipway::train
