#include "slipway/train/linear.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "slipway/model/engine.h"

namespace slipway::train {
namespace {

// Coefficients from scikit-learn on the same float32 data (tests/unit/train/make_fixtures.py).
const nlohmann::json& fixture() {
  static const nlohmann::json json = [] {
    std::ifstream in(std::string(SLIPWAY_TEST_DATA) + "/../unit/train/fixtures/linear.json");
    return nlohmann::json::parse(in);
  }();
  return json;
}

Matrix dataset(const std::string& name) {
  const auto& d = fixture()["data"][name];
  Matrix m;
  m.rows = d["rows"].get<size_t>();
  m.cols = d["cols"].get<size_t>();
  for (const auto& v : d["x"]) m.x.push_back(static_cast<float>(v.get<double>()));
  for (const auto& v : d["y"]) m.y.push_back(static_cast<float>(v.get<double>()));
  return m;
}

model::Task task_of(const std::string& task) {
  return task == "binary"       ? model::Task::kBinary
         : task == "multiclass" ? model::Task::kMulticlass
                                : model::Task::kRegression;
}

std::vector<float> predict(const TrainResult& result, model::Task task, const Matrix& m, size_t n_classes) {
  model::Model mdl;
  mdl.task = task;
  for (size_t f = 0; f < m.cols; ++f) {
    mdl.inputs.push_back(model::InputColumn{"f" + std::to_string(f), model::InputKind::kNumeric, {}});
    mdl.feature_names.push_back("f" + std::to_string(f));
  }
  mdl.body = result.body;
  mdl.output_transform = result.output_transform;
  if (task == model::Task::kBinary) mdl.class_labels = {"0", "1"};
  if (task == model::Task::kMulticlass) {
    for (size_t k = 0; k < n_classes; ++k) mdl.class_labels.push_back(std::to_string(k));
  }
  for (size_t k = 0; k < (task == model::Task::kMulticlass ? n_classes : 1); ++k) {
    mdl.output_names.push_back("out" + std::to_string(k));
  }
  auto predictor = model::Predictor::create(mdl);
  EXPECT_TRUE(predictor.ok()) << predictor.status().message();
  std::vector<float> out(m.rows * (*predictor)->n_outputs());
  (*predictor)->predict(m.x.data(), m.rows, out.data());
  return out;
}

TEST(TrainLinear, MatchesScikitLearn) {
  ASSERT_FALSE(fixture()["cases"].empty());
  for (const auto& c : fixture()["cases"]) {
    const std::string name = c["name"].get<std::string>();
    SCOPED_TRACE(name);
    Matrix train = dataset(c["data"].get<std::string>());
    if (c.contains("weight")) {
      for (const auto& w : c["weight"]) train.weight.push_back(static_cast<float>(w.get<double>()));
    }
    TrainRequest request;
    request.task = task_of(c["task"].get<std::string>());
    const auto coef = c["coef"].get<std::vector<double>>();
    const auto intercept = c["intercept"].get<std::vector<double>>();
    request.n_classes = request.task == model::Task::kMulticlass ? intercept.size() : 0;
    request.train = &train;
    request.params = c["params"];
    request.params["max_iter"] = 10000;
    auto result = train_linear(request, TrainContext{});
    ASSERT_TRUE(result.ok()) << result.status().message();
    EXPECT_TRUE(result->details["converged"].get<bool>()) << result->details.dump();
    const auto& body = std::get<model::LinearModel>(result->body);
    ASSERT_EQ(body.weights.size(), coef.size());
    double scale = 0;
    for (double v : coef) scale = std::max(scale, std::fabs(v));
    // 1e-4 relative to the largest coefficient: L1 fits put many coefficients at (or near) zero.
    for (size_t i = 0; i < coef.size(); ++i) EXPECT_NEAR(body.weights[i], coef[i], 1e-4 * scale) << "coef " << i;
    for (size_t o = 0; o < intercept.size(); ++o) {
      EXPECT_NEAR(body.bias[o], intercept[o], 1e-4 * std::max(1.0, std::fabs(intercept[o]))) << "intercept " << o;
    }
    const auto predicted = predict(*result, request.task, train, request.n_classes);
    const auto expected = c["prediction"].get<std::vector<double>>();
    ASSERT_EQ(predicted.size(), expected.size());
    double worst = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
      worst = std::max(worst, std::fabs(predicted[i] - expected[i]) / std::max(1.0, std::fabs(expected[i])));
    }
    EXPECT_LE(worst, 1e-5);
  }
}

Matrix small_binary() {
  Matrix m;
  m.rows = 8;
  m.cols = 2;
  m.x = {0, 1, 1, 0, 2, 1, 3, 3, -1, 0, -2, 1, 0.5f, -1, -3, 2};
  m.y = {0, 1, 1, 1, 0, 0, 1, 0};
  return m;
}

// Enough rows for several 2048-row chunks, so thread counts really split the work.
Matrix synthetic_multiclass(size_t rows, size_t cols) {
  Matrix m;
  m.rows = rows;
  m.cols = cols;
  uint64_t state = 12345;
  const auto uniform = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  };
  for (size_t r = 0; r < rows; ++r) {
    double z = 0;
    for (size_t c = 0; c < cols; ++c) {
      const auto v = static_cast<float>(uniform() * 2 - 1);
      m.x.push_back(v);
      z += v * (static_cast<double>(c) - 2.0);
    }
    m.y.push_back(static_cast<float>(z + uniform() < -0.5 ? 0 : z + uniform() < 0.5 ? 1 : 2));
  }
  return m;
}

TEST(TrainLinear, BitIdenticalAcrossRunsAndThreadCounts) {
  const Matrix train = synthetic_multiclass(9000, 5);
  TrainRequest request;
  request.task = model::Task::kMulticlass;
  request.n_classes = 3;
  request.train = &train;
  TrainContext one, three;
  three.threads = 3;
  auto a = train_linear(request, one);
  auto b = train_linear(request, one);
  auto c = train_linear(request, three);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_GT(a->details["iterations"].get<int>(), 5);
  const auto& wa = std::get<model::LinearModel>(a->body);
  const auto& wb = std::get<model::LinearModel>(b->body);
  const auto& wc = std::get<model::LinearModel>(c->body);
  EXPECT_EQ(wa.weights, wb.weights);
  EXPECT_EQ(wa.bias, wb.bias);
  EXPECT_EQ(wa.weights, wc.weights);
  EXPECT_EQ(wa.bias, wc.bias);
  EXPECT_EQ(a->details["objective_value"].get<double>(), c->details["objective_value"].get<double>());
}

TEST(TrainLinear, MissingValuesCountAsZero) {
  Matrix with_nan = small_binary();
  Matrix with_zero = small_binary();
  with_nan.x[2] = std::numeric_limits<float>::quiet_NaN();
  with_zero.x[2] = 0;
  TrainRequest a, b;
  a.task = b.task = model::Task::kBinary;
  a.train = &with_nan;
  b.train = &with_zero;
  auto ra = train_linear(a, {});
  auto rb = train_linear(b, {});
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_EQ(std::get<model::LinearModel>(ra->body).weights, std::get<model::LinearModel>(rb->body).weights);
}

TEST(TrainLinear, ReportsEveryIterationWithValidation) {
  const Matrix train = small_binary();
  const Matrix validation = small_binary();
  TrainRequest request;
  request.task = model::Task::kBinary;
  request.train = &train;
  request.validation = &validation;
  std::vector<int64_t> steps;
  std::vector<std::string> names;
  TrainContext context;
  context.on_step = [&](int64_t step, const std::vector<std::pair<std::string, double>>& metrics) {
    steps.push_back(step);
    if (names.empty()) {
      for (const auto& [name, value] : metrics) names.push_back(name);
    }
    EXPECT_NEAR(metrics[0].second, metrics[1].second, 1e-12);  // same data, same loss
  };
  auto result = train_linear(request, context);
  ASSERT_TRUE(result.ok());
  ASSERT_FALSE(steps.empty());
  EXPECT_EQ(steps.front(), 0);
  EXPECT_EQ(static_cast<int64_t>(steps.size()), result->details["iterations"].get<int64_t>());
  EXPECT_EQ(names, (std::vector<std::string>{"train-logloss", "validation-logloss"}));
  EXPECT_EQ(result->output_transform, model::OutputTransform::kSigmoid);
}

TEST(TrainLinear, L1ZeroesWeakFeatures) {
  Matrix train = dataset("diabetes");
  TrainRequest request;
  request.task = model::Task::kRegression;
  request.train = &train;
  request.params = {{"l1", 1e5}, {"l2", 0.0}};
  auto result = train_linear(request, {});
  ASSERT_TRUE(result.ok());
  const auto& w = std::get<model::LinearModel>(result->body).weights;
  EXPECT_EQ(std::count(w.begin(), w.end(), 0.0f), static_cast<ptrdiff_t>(w.size()));
  EXPECT_EQ(result->details["solver"], "owlqn");
}

TEST(TrainLinear, ParamErrorsNameTheKey) {
  const Matrix train = small_binary();
  TrainRequest request;
  request.task = model::Task::kBinary;
  request.train = &train;
  const auto error = [&](nlohmann::json params) {
    request.params = std::move(params);
    auto r = train_linear(request, {});
    EXPECT_FALSE(r.ok());
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
    }
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_EQ(error({{"alpha", 1}}),
            "model.params.alpha: unknown parameter for linear (known: l2, l1, fit_intercept, max_iter, tol)");
  EXPECT_EQ(error({{"l2", -1}}), "model.params.l2 must be a number >= 0, got -1");
  EXPECT_EQ(error({{"l1", "x"}}), "model.params.l1 must be a number >= 0, got \"x\"");
  EXPECT_EQ(error({{"tol", 0}}), "model.params.tol must be a number > 0, got 0");
  EXPECT_EQ(error({{"max_iter", 0}}), "model.params.max_iter must be an integer >= 1, got 0");
  EXPECT_EQ(error({{"max_iter", 2.5}}), "model.params.max_iter must be an integer >= 1, got 2.5");
  EXPECT_EQ(error({{"fit_intercept", 1}}), "model.params.fit_intercept must be true or false, got 1");
}

TEST(TrainLinear, DataErrors) {
  Matrix train = small_binary();
  train.y[3] = 2;
  TrainRequest request;
  request.task = model::Task::kBinary;
  request.train = &train;
  auto r = train_linear(request, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "linear: training label 2 at row 3 is not a class index in [0, 2)");
  Matrix empty;
  request.train = &empty;
  r = train_linear(request, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "linear: the training split has no rows");
}

TEST(TrainLinear, MaxIterStopsEarly) {
  const Matrix train = dataset("wine");
  TrainRequest request;
  request.task = model::Task::kMulticlass;
  request.n_classes = 3;
  request.train = &train;
  request.params = {{"max_iter", 3}};
  auto r = train_linear(request, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->details["iterations"], 3);
  EXPECT_FALSE(r->details["converged"].get<bool>());
  EXPECT_EQ(r->details["stop"], "max_iter reached");
  EXPECT_EQ(r->output_transform, model::OutputTransform::kSoftmax);
}

}  // namespace
}  // namespace slipway::train
