// Property tests for the fast engine: random models (trees of random depth with categorical and
// missing-value splits, linear, MLPs) x random inputs with NaNs, on every ISA this CPU has, against
// reference_predict. Trees and linear models: no tolerance, bit-identical to the reference (same
// comparisons, same double accumulation in the same order, same output functions). MLPs accumulate in
// float32 (see engine.h): within kMlpTolerance * max(1, |reference|) of it, and still bit-identical
// across ISAs, single row vs batch, and thread splits.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine_test_models.h"
#include "slipway/model/engine.h"
#include "slipway/model/importers.h"

namespace slipway::model {
namespace {

using testing_models::random_inputs;
using testing_models::random_linear;
using testing_models::random_mlp;
using testing_models::random_trees;

// engine.h's bound for MLPs, relative to max(1, |reference|), per output.
constexpr double kMlpTolerance = 1e-5;
// ... and for inputs far outside the training range, where output sums cancel.
constexpr double kMlpOutOfRangeTolerance = 1e-3;

std::vector<PredictorOptions::Isa> available_isas() {
  std::vector<PredictorOptions::Isa> isas{PredictorOptions::Isa::kScalar};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) isas.push_back(PredictorOptions::Isa::kAvx2);
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl")) {
    isas.push_back(PredictorOptions::Isa::kAvx512);
  }
  return isas;
}

// Every ISA, batch and single row, margins and outputs, against the reference: within `tolerance`,
// times max(1, |expected|) when `relative`. All ISAs must also agree with each other exactly.
void check_against_reference(const Model& model, const std::vector<float>& x, size_t n_rows, double tolerance,
                             const std::string& what, bool relative = false) {
  for (bool margins : {false, true}) {
    std::vector<float> expected(n_rows * model.n_outputs());
    reference_predict(model, x.data(), n_rows, expected.data(), margins);
    std::vector<float> first_isa;
    for (auto isa : available_isas()) {
      PredictorOptions options;
      options.isa = isa;
      options.margins = margins;
      auto p = Predictor::create(model, options);
      ASSERT_TRUE(p.ok()) << p.status().message();
      const Predictor& pred = **p;
      ASSERT_EQ(pred.n_outputs(), model.n_outputs());
      ASSERT_EQ(pred.n_features(), model.n_features());
      std::vector<float> got(expected.size());
      pred.predict(x.data(), n_rows, got.data());
      std::vector<float> row(model.n_outputs());
      for (size_t r = 0; r < n_rows; ++r) {
        pred.predict_row(x.data() + r * model.n_features(), row.data());
        for (size_t k = 0; k < row.size(); ++k) {
          const size_t i = r * row.size() + k;
          const double bound = relative ? tolerance * std::max(1.0, std::fabs(double{expected[i]})) : tolerance;
          ASSERT_NEAR(got[i], expected[i], bound) << what << " isa " << pred.isa_name() << " row " << r;
          // The single-row path is a different kernel but the same arithmetic: exactly equal.
          ASSERT_EQ(row[k], got[i]) << what << " isa " << pred.isa_name() << " row " << r << " (single row)";
        }
      }
      if (first_isa.empty()) first_isa = got;
      ASSERT_EQ(got, first_isa) << what << " isa " << pred.isa_name() << " differs from scalar";
    }
  }
}

TEST(EngineTrees, RandomEnsemblesMatchReferenceOnEveryIsa) {
  std::mt19937_64 rng(20240611);
  for (int round = 0; round < 60; ++round) {
    testing_models::TreeSpec spec;
    spec.n_features = 1 + rng() % 40;
    spec.n_trees = 1 + rng() % 24;
    spec.max_depth = static_cast<int>(rng() % 14);  // beyond 10 exercises the generic layout
    spec.p_categorical = round % 3 == 0 ? 0.25 : 0.0;
    spec.less_equal = rng() % 2 == 0;
    spec.task = static_cast<Task>(round % 3);
    spec.n_classes = 2 + rng() % 4;
    spec.multi_output_leaves = round % 4 == 1;
    spec.average = round % 5 == 2;
    Model model = random_trees(spec, rng);
    const size_t n_rows = 1 + rng() % 100;
    auto x = random_inputs(model.n_features(), n_rows, rng);
    check_against_reference(model, x, n_rows, 0.0, "trees round " + std::to_string(round));
  }
}

TEST(EngineTrees, DeepAndShallowTreesEveryDepth) {
  std::mt19937_64 rng(7);
  for (int depth = 0; depth <= 13; ++depth) {
    testing_models::TreeSpec spec;
    spec.n_features = 28;
    spec.n_trees = 8;
    spec.max_depth = depth;
    spec.full_depth = true;
    spec.task = Task::kBinary;
    Model model = random_trees(spec, rng);
    auto x = random_inputs(model.n_features(), 77, rng);
    check_against_reference(model, x, 77, 0.0, "depth " + std::to_string(depth));
  }
}

TEST(EngineTrees, MultiThreadedEqualsSingleThreadedExactly) {
  std::mt19937_64 rng(11);
  testing_models::TreeSpec spec;
  spec.n_features = 28;
  spec.n_trees = 50;
  spec.max_depth = 6;
  spec.p_categorical = 0.1;
  spec.task = Task::kMulticlass;
  spec.n_classes = 3;
  Model model = random_trees(spec, rng);
  const size_t n_rows = 5000;
  auto x = random_inputs(model.n_features(), n_rows, rng);
  PredictorOptions one;
  auto single = Predictor::create(model, one);
  ASSERT_TRUE(single.ok()) << single.status().message();
  std::vector<float> a(n_rows * 3), b(n_rows * 3);
  (*single)->predict(x.data(), n_rows, a.data());
  for (unsigned threads : {0u, 2u, 3u, 7u}) {
    PredictorOptions many;
    many.threads = threads;
    many.rows_per_task = 100;  // rounded up to whole 32-row blocks
    auto multi = Predictor::create(model, many);
    ASSERT_TRUE(multi.ok());
    std::fill(b.begin(), b.end(), -1.0f);
    (*multi)->predict(x.data(), n_rows, b.data());
    ASSERT_EQ(a, b) << "threads " << threads;
  }
}

// A row normalization (model.h) runs before every body, on every ISA, in batch (per block of rows)
// and single-row paths and in any thread split: the same float32 arithmetic as the reference, so
// trees and linear models stay bit-identical to it.
TEST(EngineRowNormalization, EveryBodyAndNormMatchesReference) {
  std::mt19937_64 rng(31337);
  const RowNormalization kinds[] = {RowNormalization::kMax, RowNormalization::kL1, RowNormalization::kL2};
  for (int round = 0; round < 18; ++round) {
    const RowNormalization kind = kinds[round % 3];
    const std::string what = std::string("normalization ") + row_normalization_name(kind) + " round " + std::to_string(round);
    const size_t n_features = 1 + rng() % 30;
    Model model;
    double tolerance = 0.0;
    if (round % 9 < 5) {
      testing_models::TreeSpec spec;
      spec.n_features = n_features;
      spec.n_trees = 1 + rng() % 20;
      spec.max_depth = 1 + static_cast<int>(rng() % 8);
      spec.p_categorical = round % 2 ? 0.2 : 0.0;
      spec.less_equal = rng() % 2 == 0;
      spec.task = static_cast<Task>(round % 3);
      model = random_trees(spec, rng);
    } else if (round % 9 < 7) {
      model = random_linear(static_cast<Task>(round % 3), n_features, 3, rng);
    } else {
      model = random_mlp(static_cast<Task>(round % 3), n_features, 2, Activation::kRelu, rng);
      tolerance = kMlpTolerance;
    }
    model.row_normalization = kind;
    // Rows of 500 so that the batch crosses block and chunk boundaries; normalized values are small,
    // so the trees' quarter-grid thresholds are scaled down to meet them now and then.
    if (auto* ens = std::get_if<TreeEnsemble>(&model.body)) {
      for (auto& t : ens->trees) {
        for (auto& v : t.threshold) v /= 8.0f;
      }
    }
    const size_t n_rows = 500;
    // Infinities only for trees: in a linear model MAX turns -inf into an infinite margin.
    const bool trees = std::holds_alternative<TreeEnsemble>(model.body);
    auto x = random_inputs(model.n_features(), n_rows, rng, /*infinities=*/trees && round % 2 == 0);
    check_against_reference(model, x, n_rows, tolerance, what, /*relative=*/true);
    // And the normalization must actually change the answer compared with the raw rows.
    std::vector<float> with(n_rows * model.n_outputs()), without(with.size());
    reference_predict(model, x.data(), n_rows, with.data());
    Model plain = model;
    plain.row_normalization = RowNormalization::kNone;
    reference_predict(plain, x.data(), n_rows, without.data());
    EXPECT_NE(with, without) << what;
  }
}

TEST(EngineRowNormalization, MultiThreadedEqualsSingleThreadedExactly) {
  std::mt19937_64 rng(5);
  testing_models::TreeSpec spec;
  spec.n_features = 12;
  spec.n_trees = 30;
  spec.max_depth = 5;
  spec.task = Task::kBinary;
  Model model = random_trees(spec, rng);
  model.row_normalization = RowNormalization::kL2;
  const size_t n_rows = 3001;
  auto x = random_inputs(model.n_features(), n_rows, rng);
  auto single = Predictor::create(model);
  ASSERT_TRUE(single.ok()) << single.status().message();
  std::vector<float> a(n_rows), b(n_rows), ref(n_rows);
  (*single)->predict(x.data(), n_rows, a.data());
  reference_predict(model, x.data(), n_rows, ref.data());
  ASSERT_EQ(a, ref);
  PredictorOptions many;
  many.threads = 3;
  many.rows_per_task = 64;
  auto multi = Predictor::create(model, many);
  ASSERT_TRUE(multi.ok());
  (*multi)->predict(x.data(), n_rows, b.data());
  EXPECT_EQ(a, b);
}

TEST(EngineTrees, MissingValuesFollowDefaultDirection) {
  // One split on feature 0 at 0.5; a missing value goes left, so it gets the left leaf (1.0).
  Model model = testing_models::stump(0.5f, /*default_left=*/true, Comparison::kLess);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x{nan, 0.25f, 0.5f, 0.75f};
  for (auto isa : available_isas()) {
    PredictorOptions options;
    options.isa = isa;
    auto p = Predictor::create(model, options);
    ASSERT_TRUE(p.ok());
    std::vector<float> out(4);
    (*p)->predict(x.data(), 4, out.data());
    EXPECT_EQ(out, (std::vector<float>{1.0f, 1.0f, 2.0f, 2.0f})) << (*p)->isa_name();
  }
  // With `<=` the row equal to the threshold goes left; missing now goes right.
  Model le = testing_models::stump(0.5f, /*default_left=*/false, Comparison::kLessEqual);
  auto p = Predictor::create(le);
  ASSERT_TRUE(p.ok());
  std::vector<float> out(4);
  (*p)->predict(x.data(), 4, out.data());
  EXPECT_EQ(out, (std::vector<float>{2.0f, 1.0f, 1.0f, 2.0f}));
}

TEST(EngineLinear, RandomLinearModelsMatchReference) {
  std::mt19937_64 rng(3);
  for (int round = 0; round < 20; ++round) {
    Model model = random_linear(static_cast<Task>(round % 3), 1 + rng() % 50, 2 + rng() % 4, rng);
    const size_t n_rows = 1 + rng() % 300;
    auto x = random_inputs(model.n_features(), n_rows, rng, /*infinities=*/false);
    check_against_reference(model, x, n_rows, 0.0, "linear round " + std::to_string(round));
  }
}

TEST(EngineMlp, RandomMlpsMatchReferenceWithinFloatBound) {
  std::mt19937_64 rng(5);
  for (int round = 0; round < 40; ++round) {
    Model model = random_mlp(static_cast<Task>(round % 3), 1 + rng() % 30, 2 + rng() % 4,
                             static_cast<Activation>(round % 5), rng);
    const size_t n_rows = 1 + rng() % 100;
    auto x = random_inputs(model.n_features(), n_rows, rng, /*infinities=*/false);
    check_against_reference(model, x, n_rows, kMlpTolerance, "mlp round " + std::to_string(round), true);
  }
}

TEST(EngineMlp, WideLayersAndEveryTileRemainder) {
  // 28 -> 64 -> 64 -> 64 relu -> 1 (the benchmark's shape), plus widths that leave partial panels
  // and row counts that leave every partial micro-tile and a partial 64-row tile.
  std::mt19937_64 rng(17);
  for (uint32_t width : {64u, 33u, 17u, 100u}) {
    Model model = random_mlp(Task::kBinary, 28, 2, Activation::kRelu, rng);
    auto& layers = std::get<Mlp>(model.body).layers;
    layers.resize(4);
    for (size_t l = 0; l < layers.size(); ++l) {
      DenseLayer& layer = layers[l];
      layer.activation = l + 1 < layers.size() ? Activation::kRelu : Activation::kIdentity;
      layer.in = l == 0 ? 28 : width;
      layer.out = l + 1 == layers.size() ? 1 : width;
      std::normal_distribution<float> w(0.0f, 1.0f / std::sqrt(static_cast<float>(layer.in)));
      layer.weights.resize(size_t{layer.in} * layer.out);
      for (float& v : layer.weights) v = w(rng);
      layer.bias.resize(layer.out);
      for (float& v : layer.bias) v = 0.1f * w(rng);
    }
    for (size_t n_rows : {1u, 5u, 7u, 63u, 64u, 65u, 200u}) {
      auto x = random_inputs(model.n_features(), n_rows, rng, /*infinities=*/false);
      check_against_reference(model, x, n_rows, kMlpTolerance,
                              "width " + std::to_string(width) + " rows " + std::to_string(n_rows), true);
    }
  }
}

// A golden sklearn MLP (tests/data/models/README.md) and its committed input rows (all numeric, so
// the encoded row is the CSV row).
struct GoldenMlp {
  Model model;
  std::vector<float> x;
  size_t n_rows = 0;
};

GoldenMlp load_golden_mlp(const std::string& stem) {
  const std::string dir = std::string(SLIPWAY_TEST_DATA) + "/models/";
  std::ifstream onnx(dir + stem + ".onnx", std::ios::binary);
  std::stringstream bytes;
  bytes << onnx.rdbuf();
  auto model = import_onnx(bytes.str(), stem + ".onnx");
  EXPECT_TRUE(model.ok()) << stem << ": " << model.status().message();
  GoldenMlp g;
  if (!model.ok()) return g;
  g.model = std::move(*model);
  std::ifstream csv(dir + stem + ".inputs.csv");
  std::string line;
  std::getline(csv, line);  // header
  while (std::getline(csv, line)) {
    std::stringstream fields(line);
    std::string f;
    size_t n = 0;
    while (std::getline(fields, f, ',')) {
      g.x.push_back(std::stof(f));
      ++n;
    }
    EXPECT_EQ(n, g.model.n_features()) << stem << " row " << g.n_rows;
    ++g.n_rows;
  }
  return g;
}

TEST(EngineMlp, GoldenOnnxMlpsMatchReference) {
  std::mt19937_64 rng(23);
  for (const char* stem : {"onnx_mlp_classifier_relu_breast_cancer", "onnx_mlp_regressor_tanh_diabetes"}) {
    GoldenMlp g = load_golden_mlp(stem);
    ASSERT_TRUE(std::holds_alternative<Mlp>(g.model.body)) << stem;
    ASSERT_EQ(g.n_rows, 200u) << stem;
    check_against_reference(g.model, g.x, g.n_rows, kMlpTolerance, stem, true);
    // Random rows far outside the training range (diabetes features are standardised to ~0.1, these
    // reach 45): large hidden terms cancel in the output sums, so float32 rounding, which scales
    // with the sum of |terms|, is a larger share of the result. engine.h states this weaker bound.
    auto x = random_inputs(g.model.n_features(), 2000, rng, /*infinities=*/false);
    check_against_reference(g.model, x, 2000, kMlpOutOfRangeTolerance, std::string(stem) + " random rows", true);
  }
}

TEST(EngineMlp, MultiThreadedEqualsSingleThreadedExactly) {
  std::mt19937_64 rng(29);
  Model model = random_mlp(Task::kMulticlass, 28, 3, Activation::kTanh, rng);
  const size_t n_rows = 5000;
  auto x = random_inputs(model.n_features(), n_rows, rng, /*infinities=*/false);
  auto single = Predictor::create(model);
  ASSERT_TRUE(single.ok()) << single.status().message();
  std::vector<float> a(n_rows * 3), b(n_rows * 3);
  (*single)->predict(x.data(), n_rows, a.data());
  for (unsigned threads : {0u, 2u, 3u, 7u}) {
    PredictorOptions many;
    many.threads = threads;
    many.rows_per_task = 100;
    auto multi = Predictor::create(model, many);
    ASSERT_TRUE(multi.ok());
    std::fill(b.begin(), b.end(), -1.0f);
    (*multi)->predict(x.data(), n_rows, b.data());
    ASSERT_EQ(a, b) << "threads " << threads;
  }
}

TEST(EnginePredictor, ReportsIsaAndRefusesInvalidModels) {
  std::mt19937_64 rng(1);
  testing_models::TreeSpec spec;
  Model model = random_trees(spec, rng);
  PredictorOptions options;
  options.isa = PredictorOptions::Isa::kScalar;
  auto p = Predictor::create(model, options);
  ASSERT_TRUE(p.ok());
  EXPECT_STREQ((*p)->isa_name(), "scalar");

  std::get<TreeEnsemble>(model.body).trees.clear();
  auto bad = Predictor::create(model);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kValidationFailed);
  EXPECT_EQ(bad.status().message(), "tree ensemble: no trees");
}

}  // namespace
}  // namespace slipway::model
