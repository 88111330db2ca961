// MLP trainer (libtorch, through the libslipway_mlp.so module): the engine's predictions of the
// trained model::Mlp against torch's own eval-mode forward pass, bit-identical weights for the same
// inputs, early stopping on the validation loss, and the exact errors. Where slipway was built
// without libtorch only the "built without" error is checked.
#include "slipway/train/mlp_trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "slipway/model/engine.h"

namespace slipway::train {
namespace {

using nlohmann::json;

constexpr char kWithoutTorch[] =
    "the MLP trainer was built without libtorch: apt install libtorch-dev and rebuild (cmake -DSLIPWAY_WITH_TORCH=ON)";

// A build configured with libtorch must have a working MLP module: there a missing module fails the
// test. A build without libtorch checks the other half of the contract instead — the trainer is
// refused with a message that says how to get it — and nothing is skipped.
#if defined(SLIPWAY_TEST_WITH_TORCH)
#define SKIP_WITHOUT_TORCH()                                          \
  do {                                                                \
    const Status available = mlp_trainer_available();                 \
    ASSERT_TRUE(available.ok()) << available.message();               \
  } while (0)
#else
#define SKIP_WITHOUT_TORCH()                                                                   \
  do {                                                                                         \
    const Status available = mlp_trainer_available();                                          \
    ASSERT_FALSE(available.ok()) << "built without libtorch, yet the MLP module is available"; \
    EXPECT_NE(available.message().find("libtorch-dev"), std::string::npos) << available.message(); \
    return;                                                                                    \
  } while (0)
#endif

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

// 4 standardised-looking features; the target is a smooth function plus noise (thresholded into
// classes for classification).
Matrix make_data(model::Task task, size_t rows, uint64_t seed, double noise = 0.3) {
  TestRng rng{seed};
  Matrix m;
  m.rows = rows;
  m.cols = 4;
  for (size_t r = 0; r < rows; ++r) {
    float f[4];
    for (float& v : f) v = static_cast<float>(rng.uniform() * 3.4 - 1.7);
    const double signal = std::sin(1.5 * f[0]) + 0.6 * f[1] * f[2] - 0.4 * f[3] + noise * (rng.uniform() - 0.5);
    m.x.insert(m.x.end(), f, f + 4);
    switch (task) {
      case model::Task::kRegression:
        m.y.push_back(static_cast<float>(signal));
        break;
      case model::Task::kBinary:
        m.y.push_back(signal > 0 ? 1.0f : 0.0f);
        break;
      case model::Task::kMulticlass:
        m.y.push_back(signal < -0.5 ? 0.0f : signal < 0.5 ? 1.0f : 2.0f);
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
  request.feature_names = {"a", "b", "c", "d"};
  request.params = std::move(params);
  return request;
}

struct Steps {
  std::vector<double> train, validation;
};

TrainContext context_for(uint64_t seed, int threads, Steps* steps) {
  TrainContext context;
  context.seed = seed;
  context.threads = threads;
  if (steps != nullptr) {
    context.on_step = [steps](int64_t step, const std::vector<std::pair<std::string, double>>& metrics) {
      EXPECT_EQ(step, static_cast<int64_t>(steps->train.size()));
      ASSERT_GE(metrics.size(), 1u);
      EXPECT_EQ(metrics[0].first, "train-loss");
      steps->train.push_back(metrics[0].second);
      if (metrics.size() > 1) {
        EXPECT_EQ(metrics[1].first, "validation-loss");
        steps->validation.push_back(metrics[1].second);
      }
    };
  }
  return context;
}

// Trains, then checks the shape of the network and that the engine agrees with torch on the check
// rows to 1e-5 (relative to max(1, |value|)), margins and outputs.
TrainResult train_and_check(model::Task task, json params, Steps* steps = nullptr) {
  const Matrix train = make_data(task, 500, 1);
  const Matrix valid = make_data(task, 200, 2);
  const TrainRequest request = request_for(task, &train, &valid, std::move(params));
  auto trained = train_mlp(request, context_for(5, 1, steps));
  EXPECT_TRUE(trained.ok()) << trained.status().message();
  if (!trained.ok()) return {};
  const json& check = trained->details["torch_check"];
  EXPECT_EQ(check["rows"], 200);
  EXPECT_LE(check["max_relative_difference"].get<double>(), 1e-5) << check.dump();
  const auto& mlp = std::get<model::Mlp>(trained->body);
  const size_t n_out = task == model::Task::kMulticlass ? 3 : 1;
  EXPECT_EQ(mlp.layers.front().in, 4u);
  EXPECT_EQ(mlp.layers.back().out, n_out);
  EXPECT_EQ(mlp.layers.back().activation, model::Activation::kIdentity);
  for (const auto& layer : mlp.layers) {
    EXPECT_EQ(layer.weights.size(), size_t{layer.in} * layer.out);
    EXPECT_EQ(layer.bias.size(), layer.out);
  }
  EXPECT_EQ(trained->output_transform, task == model::Task::kBinary       ? model::OutputTransform::kSigmoid
                                       : task == model::Task::kMulticlass ? model::OutputTransform::kSoftmax
                                                                          : model::OutputTransform::kIdentity);
  return std::move(trained).value();
}

TEST(MlpTrainer, RegressionMatchesTorchAndLearns) {
  SKIP_WITHOUT_TORCH();
  Steps steps;
  const TrainResult result =
      train_and_check(model::Task::kRegression, {{"hidden", {16, 8}}, {"epochs", 40}, {"learning_rate", 0.01}}, &steps);
  const auto& mlp = std::get<model::Mlp>(result.body);
  ASSERT_EQ(mlp.layers.size(), 3u);
  EXPECT_EQ(mlp.layers[0].out, 16u);
  EXPECT_EQ(mlp.layers[1].out, 8u);
  EXPECT_EQ(mlp.layers[0].activation, model::Activation::kRelu);
  ASSERT_EQ(steps.validation.size(), steps.train.size());
  ASSERT_GE(steps.train.size(), 5u);
  EXPECT_LT(steps.validation.back(), 0.5 * steps.validation.front());
  EXPECT_EQ(result.details["loss"], "mse");
  EXPECT_EQ(result.details["params"]["optimizer"], "adam");
  EXPECT_EQ(result.details["params"]["batch_size"], 128);
}

TEST(MlpTrainer, BinaryMatchesTorch) {
  SKIP_WITHOUT_TORCH();
  const TrainResult result =
      train_and_check(model::Task::kBinary, {{"hidden", {12}}, {"activation", "tanh"}, {"epochs", 15}});
  EXPECT_EQ(result.details["loss"], "binary_cross_entropy");
  EXPECT_EQ(std::get<model::Mlp>(result.body).layers[0].activation, model::Activation::kTanh);
}

TEST(MlpTrainer, MulticlassMatchesTorch) {
  SKIP_WITHOUT_TORCH();
  const TrainResult result = train_and_check(
      model::Task::kMulticlass, {{"hidden", {10, 10}}, {"activation", "gelu"}, {"dropout", 0.2}, {"epochs", 15}});
  EXPECT_EQ(result.details["loss"], "cross_entropy");
}

TEST(MlpTrainer, OtherActivationsAndOptimizersMatchTorch) {
  SKIP_WITHOUT_TORCH();
  train_and_check(model::Task::kRegression,
                  {{"hidden", {8}}, {"activation", "sigmoid"}, {"optimizer", "sgd"}, {"momentum", 0.9}, {"epochs", 5}});
  const TrainResult adamw =
      train_and_check(model::Task::kBinary, {{"hidden", json::array()}, {"optimizer", "adamw"}, {"epochs", 5}});
  EXPECT_EQ(std::get<model::Mlp>(adamw.body).layers.size(), 1u);  // no hidden layer: logistic regression
  EXPECT_DOUBLE_EQ(adamw.details["params"]["weight_decay"].get<double>(), 0.01);
}

std::vector<float> all_weights(const TrainResult& result) {
  std::vector<float> out;
  for (const auto& layer : std::get<model::Mlp>(result.body).layers) {
    out.insert(out.end(), layer.weights.begin(), layer.weights.end());
    out.insert(out.end(), layer.bias.begin(), layer.bias.end());
  }
  return out;
}

bool bit_identical(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(MlpTrainer, SameInputsGiveBitIdenticalWeights) {
  SKIP_WITHOUT_TORCH();
  const Matrix train = make_data(model::Task::kBinary, 600, 7);
  const Matrix valid = make_data(model::Task::kBinary, 150, 8);
  const json params = {{"hidden", {32, 16}}, {"dropout", 0.1}, {"batch_size", 64}, {"epochs", 8}};
  const TrainRequest request = request_for(model::Task::kBinary, &train, &valid, params);
  auto first = train_mlp(request, context_for(42, 2, nullptr));
  auto second = train_mlp(request, context_for(42, 2, nullptr));
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_TRUE(bit_identical(all_weights(*first), all_weights(*second)));
  auto other = train_mlp(request, context_for(43, 2, nullptr));
  ASSERT_TRUE(other.ok()) << other.status().message();
  EXPECT_FALSE(bit_identical(all_weights(*first), all_weights(*other)));
}

TEST(MlpTrainer, EarlyStoppingKeepsTheBestEpoch) {
  SKIP_WITHOUT_TORCH();
  // 40 noisy rows and a wide network: the validation loss turns up after a few epochs.
  const Matrix train = make_data(model::Task::kRegression, 40, 11, /*noise=*/3.0);
  const Matrix valid = make_data(model::Task::kRegression, 200, 12, /*noise=*/3.0);
  const json params = {{"hidden", {128, 128}},
                       {"learning_rate", 0.01},
                       {"batch_size", 8},
                       {"epochs", 1000},
                       {"early_stopping_patience", 4}};
  const TrainRequest request = request_for(model::Task::kRegression, &train, &valid, params);
  Steps steps;
  auto trained = train_mlp(request, context_for(3, 1, &steps));
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  const int64_t best = trained->best_iteration;
  ASSERT_GE(best, 0);
  ASSERT_EQ(static_cast<int64_t>(steps.validation.size()), best + 1 + 4);
  const auto argmin = std::min_element(steps.validation.begin(), steps.validation.end()) - steps.validation.begin();
  EXPECT_EQ(best, argmin);
  EXPECT_EQ(trained->details["epochs_run"], best + 1 + 4);
  EXPECT_EQ(trained->details["best_epoch"], best);
  // The kept weights are the best epoch's: their validation loss is the minimum seen. The torch
  // check rows are the validation rows, so the engine's MSE over them must equal that minimum.
  model::Model m;
  m.task = model::Task::kRegression;
  for (const char* name : {"a", "b", "c", "d"}) {
    model::InputColumn input;
    input.name = name;
    m.inputs.push_back(input);
    m.feature_names.push_back(name);
  }
  m.body = trained->body;
  auto predictor = model::Predictor::create(m);
  ASSERT_TRUE(predictor.ok()) << predictor.status().message();
  std::vector<float> out(valid.rows);
  (*predictor)->predict(valid.x.data(), valid.rows, out.data());
  double mse = 0;
  for (size_t r = 0; r < valid.rows; ++r) mse += (out[r] - valid.y[r]) * double{out[r] - valid.y[r]};
  EXPECT_NEAR(mse / valid.rows, steps.validation[best], 1e-4 * steps.validation[best]);
}

TEST(MlpTrainer, WithoutValidationAllEpochsRun) {
  SKIP_WITHOUT_TORCH();
  const Matrix train = make_data(model::Task::kMulticlass, 100, 21);
  const TrainRequest request = request_for(model::Task::kMulticlass, &train, nullptr, {{"epochs", 3}});
  Steps steps;
  auto trained = train_mlp(request, context_for(1, 1, &steps));
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  EXPECT_EQ(steps.train.size(), 3u);
  EXPECT_TRUE(steps.validation.empty());
  EXPECT_EQ(trained->best_iteration, -1);
  EXPECT_EQ(trained->details["torch_check"]["rows"], 100);  // checked on the training rows
}

std::string error_of(json params, bool with_validation = true, Matrix train = make_data(model::Task::kBinary, 30, 31)) {
  const TrainRequest request =
      request_for(model::Task::kBinary, &train, with_validation ? &train : nullptr, std::move(params));
  auto trained = train_mlp(request, context_for(1, 1, nullptr));
  EXPECT_FALSE(trained.ok());
  return trained.ok() ? "" : trained.status().message();
}

TEST(MlpTrainer, BadParametersNameTheKey) {
  EXPECT_EQ(error_of({{"hiden", {8}}}), "model.params.hiden: unknown MLP parameter");
  EXPECT_EQ(error_of({{"seed", 3}}), "model.params.seed: the MLP's seed is the run's; set the top-level seed instead");
  EXPECT_EQ(error_of({{"activation", "swish"}}),
            "model.params.activation: must be one of relu, tanh, sigmoid, gelu, got \"swish\"");
  EXPECT_EQ(error_of({{"hidden", {8, 0}}}),
            "model.params.hidden: layer sizes must be integers from 1 to 65536, got [8,0]");
  EXPECT_EQ(error_of({{"dropout", 1}}), "model.params.dropout: must be a number from 0 up to (not including) 1, got 1");
  EXPECT_EQ(error_of({{"optimizer", "rmsprop"}}),
            "model.params.optimizer: must be one of adam, sgd, adamw, got \"rmsprop\"");
  EXPECT_EQ(error_of({{"momentum", 0.9}}), "model.params.momentum: only applies to optimizer sgd");
  EXPECT_EQ(error_of({{"learning_rate", 0}}), "model.params.learning_rate: must be a number above 0, got 0");
  EXPECT_EQ(error_of({{"epochs", 2.5}}), "model.params.epochs: must be an integer from 1 to 1000000, got 2.5");
  EXPECT_EQ(validate_mlp_params({{"batch_size", 0}}, model::Task::kBinary).message(),
            "model.params.batch_size: must be an integer from 1 to 10000000, got 0");
  EXPECT_TRUE(validate_mlp_params({{"hidden", 32}, {"epochs", 3}}, model::Task::kBinary).ok());
}

TEST(MlpTrainer, DataItCannotUseIsNamed) {
  SKIP_WITHOUT_TORCH();
  Matrix with_missing = make_data(model::Task::kBinary, 30, 31);
  with_missing.x[4 * 3 + 2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(error_of(json::object(), true, with_missing),
            "the MLP trainer needs complete, finite features: training row 3, feature 'c' is missing (add an impute "
            "step for it)");
  Matrix bad_label = make_data(model::Task::kBinary, 30, 31);
  bad_label.y[5] = 2;
  EXPECT_EQ(error_of(json::object(), true, bad_label), "training row 5: label 2 is not valid for a binary task");
  EXPECT_EQ(error_of({{"early_stopping_patience", 3}}, /*with_validation=*/false),
            "model.params.early_stopping_patience: early stopping needs a validation split, and this run has none");
}

// Which of these two runs is decided at build time, so neither can skip: a build with libtorch must
// load the module; a build without it must say how to get it.
#if defined(SLIPWAY_TEST_WITH_TORCH)
TEST(MlpTrainer, BuiltWithTorchLoadsTheModule) {
  const Status available = mlp_trainer_available();
  EXPECT_TRUE(available.ok()) << available.message();
}
#else
TEST(MlpTrainer, WithoutTorchSaysHowToGetIt) {
  const Status available = mlp_trainer_available();
  EXPECT_EQ(available.code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(available.message(), kWithoutTorch);
  EXPECT_EQ(error_of(json::object()), kWithoutTorch);
}
#endif

}  // namespace
}  // namespace slipway::train
