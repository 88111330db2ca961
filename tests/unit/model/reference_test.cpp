// reference_predict on tiny hand-built models whose outputs are worked out by hand in the comments.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "slipway/model/engine.h"

namespace slipway::model {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

Model with_features(size_t n) {
  Model m;
  for (size_t f = 0; f < n; ++f) {
    m.inputs.push_back({"x" + std::to_string(f), InputKind::kNumeric, {}});
    m.feature_names.push_back("x" + std::to_string(f));
  }
  return m;
}

// Stump on feature 0 at threshold t: left leaf `l`, right leaf `r`, missing goes `default_left`.
Tree stump(int32_t feature, float t, float l, float r, bool default_left) {
  Tree tree;
  tree.left = {1, -1, -1};
  tree.right = {2, -1, -1};
  tree.feature = {feature, 0, 0};
  tree.threshold = {t, 0, 0};
  tree.default_left = {static_cast<uint8_t>(default_left), 0, 0};
  tree.leaf_values = {0, l, r};
  return tree;
}

std::vector<float> predict(const Model& m, const std::vector<float>& x, bool margins = false) {
  EXPECT_TRUE(validate_model(m).ok()) << validate_model(m).message();
  const size_t rows = x.size() / m.n_features();
  std::vector<float> out(rows * m.n_margins());
  reference_predict(m, x.data(), rows, out.data(), margins);
  return out;
}

TEST(ReferencePredict, ComparisonSemanticsAndMissing) {
  Model m = with_features(1);
  TreeEnsemble ens;
  ens.trees = {stump(0, 1.5f, 10, 20, false)};
  ens.base_score = {0.5};
  m.body = ens;
  // x < 1.5 goes left (XGBoost): 1.5 itself goes right. NaN goes right (default_left = 0).
  EXPECT_EQ(predict(m, {1.0f, 1.5f, 2.0f, kNaN}), (std::vector<float>{10.5f, 20.5f, 20.5f, 20.5f}));
  std::get<TreeEnsemble>(m.body).comparison = Comparison::kLessEqual;  // LightGBM / sklearn: 1.5 goes left
  std::get<TreeEnsemble>(m.body).trees[0].default_left[0] = 1;
  EXPECT_EQ(predict(m, {1.0f, 1.5f, 2.0f, kNaN}), (std::vector<float>{10.5f, 10.5f, 20.5f, 10.5f}));
}

TEST(ReferencePredict, BinaryWithSigmoidAndDeepTree) {
  Model m = with_features(2);
  m.task = Task::kBinary;
  m.output_transform = OutputTransform::kSigmoid;
  Tree t;  // x0 < 0 ? (x1 < 5 ? -1 : 1) : 2
  t.left = {1, 3, -1, -1, -1};
  t.right = {2, 4, -1, -1, -1};
  t.feature = {0, 1, 0, 0, 0};
  t.threshold = {0, 5, 0, 0, 0};
  t.default_left = {1, 0, 0, 0, 0};
  t.leaf_values = {0, 0, 2, -1, 1};
  TreeEnsemble ens;
  ens.trees = {t, stump(1, 0, 0.25f, -0.25f, true)};
  ens.base_score = {-0.5};
  m.body = ens;
  // row (-1, 7): tree0 -> 1, tree1 (7 < 0? no) -> -0.25; margin = -0.5 + 0.75 = 0.25.
  // row (NaN, NaN): tree0 -> left -> x1 missing -> right (leaf 4) = 1, tree1 -> 0.25; margin 0.75.
  // row (3, -2): tree0 -> 2, tree1 -> 0.25; margin 1.75.
  const std::vector<float> x = {-1, 7, kNaN, kNaN, 3, -2};
  EXPECT_EQ(predict(m, x, true), (std::vector<float>{0.25f, 0.75f, 1.75f}));
  auto p = predict(m, x);
  EXPECT_FLOAT_EQ(p[0], static_cast<float>(1 / (1 + std::exp(-0.25))));
  EXPECT_FLOAT_EQ(p[1], static_cast<float>(1 / (1 + std::exp(-0.75))));
  EXPECT_FLOAT_EQ(p[2], static_cast<float>(1 / (1 + std::exp(-1.75))));
}

TEST(ReferencePredict, CategoricalSplits) {
  Model m = with_features(1);
  Tree t = stump(0, 0, 1, 2, true);
  t.is_categorical = {1, 0, 0};
  t.cat_offset = {32};  // the set lives in the second word
  t.cat_offset.resize(3, 0);
  t.cat_size = {4, 0, 0};
  TreeEnsemble ens;
  ens.trees = {t};
  ens.category_bits = {0xffffffffu, 0b1010u};  // codes {1, 3} are in the set
  ens.base_score = {0};
  m.body = ens;
  // XGBoost: members go right (leaf 2); others (0, 2, 4 past the set, -1, 1.5) go left (leaf 1).
  const std::vector<float> x = {0, 1, 2, 3, 4, -1, 1.5f, kNaN, 1e30f};
  EXPECT_EQ(predict(m, x), (std::vector<float>{1, 2, 1, 2, 1, 1, 1, 1, 1}));
  std::get<TreeEnsemble>(m.body).category_in_set_goes_left = true;  // LightGBM
  std::get<TreeEnsemble>(m.body).trees[0].default_left[0] = 0;
  EXPECT_EQ(predict(m, x), (std::vector<float>{2, 1, 2, 1, 2, 2, 2, 2, 2}));
}

TEST(ReferencePredict, MulticlassSoftmaxAndTreeOutput) {
  Model m = with_features(1);
  m.task = Task::kMulticlass;
  m.output_transform = OutputTransform::kSoftmax;
  TreeEnsemble ens;
  ens.trees = {stump(0, 0, 1, 0, true), stump(0, 0, 0, 1, true), stump(0, 0, 2, 2, true), stump(0, 0, 0, 0, true)};
  ens.tree_output = {0, 1, 2, 0};
  ens.base_score = {0, 0, -2};
  m.body = ens;
  // x = -1: margins (1, 0, 0); x = 1: margins (0, 1, 0).
  EXPECT_EQ(predict(m, {-1, 1}, true), (std::vector<float>{1, 0, 0, 0, 1, 0}));
  auto p = predict(m, {-1});
  const double e = std::exp(1.0), z = e + 2;
  EXPECT_FLOAT_EQ(p[0], static_cast<float>(e / z));
  EXPECT_FLOAT_EQ(p[1], static_cast<float>(1 / z));
  EXPECT_FLOAT_EQ(p[2], static_cast<float>(1 / z));
}

TEST(ReferencePredict, ForestAveragingAndMultiOutputLeaves) {
  Model m = with_features(1);
  m.task = Task::kMulticlass;
  TreeEnsemble ens;
  ens.leaf_width = 2;
  ens.average = true;
  Tree a = stump(0, 0, 0, 0, true);
  a.leaf_values = {0, 0, 1, 0, 0.2f, 0.8f};
  Tree b = stump(0, 1, 0, 0, true);
  b.leaf_values = {0, 0, 0.5f, 0.5f, 0, 1};
  ens.trees = {a, b};
  ens.base_score = {0, 0};
  m.body = ens;
  // x = 0.5: a -> right (0.2, 0.8), b -> left (0.5, 0.5): mean (0.35, 0.65).
  auto p = predict(m, {0.5f, -1});
  EXPECT_FLOAT_EQ(p[0], 0.35f);
  EXPECT_FLOAT_EQ(p[1], 0.65f);
  EXPECT_FLOAT_EQ(p[2], 0.75f);  // x = -1: (1, 0) and (0.5, 0.5)
  EXPECT_FLOAT_EQ(p[3], 0.25f);

  // Regression forest with one value per leaf: average of the trees, plus base_score.
  Model r = with_features(1);
  TreeEnsemble forest;
  forest.trees = {stump(0, 0, 1, 3, true), stump(0, 0, 2, 6, true), stump(0, 0, 3, 9, true)};
  forest.average = true;
  forest.base_score = {10};
  r.body = forest;
  EXPECT_EQ(predict(r, {-1, 1}), (std::vector<float>{12, 16}));
}

TEST(ReferencePredict, PoissonExp) {
  Model m = with_features(1);
  m.output_transform = OutputTransform::kExp;
  TreeEnsemble ens;
  ens.trees = {stump(0, 0, std::log(2.0f), std::log(3.0f), true)};
  ens.base_score = {0};
  m.body = ens;
  auto p = predict(m, {-1, 1});
  EXPECT_FLOAT_EQ(p[0], 2);
  EXPECT_FLOAT_EQ(p[1], 3);
}

TEST(ReferencePredict, LinearMissingCountsAsZero) {
  Model m = with_features(2);
  m.task = Task::kBinary;
  m.output_transform = OutputTransform::kSigmoid;
  m.body = LinearModel{{2, -3}, {0.5f}};
  // (1, 1): 0.5 + 2 - 3 = -0.5; (NaN, 1): 0.5 - 3 = -2.5.
  EXPECT_EQ(predict(m, {1, 1, kNaN, 1}, true), (std::vector<float>{-0.5f, -2.5f}));
  auto p = predict(m, {1, 1});
  EXPECT_FLOAT_EQ(p[0], static_cast<float>(1 / (1 + std::exp(0.5))));
  // Far-out margins stay finite and ordered (stable sigmoid).
  std::get<LinearModel>(m.body).bias[0] = -1000;
  EXPECT_EQ(predict(m, {0, 0}), (std::vector<float>{0}));
  std::get<LinearModel>(m.body).bias[0] = 1000;
  EXPECT_EQ(predict(m, {0, 0}), (std::vector<float>{1}));
}

// The identity as a 3-class linear model: its margins are the (normalized) feature row itself.
Model identity_rows(RowNormalization kind) {
  Model m = with_features(3);
  m.task = Task::kMulticlass;
  m.body = LinearModel{{1, 0, 0, 0, 1, 0, 0, 0, 1}, {0, 0, 0}};
  m.row_normalization = kind;
  return m;
}

TEST(ReferencePredict, RowNormalizationAsOnnxruntimeComputesIt) {
  using V = std::vector<float>;
  // MAX divides by the largest value, not the largest |value| (onnxruntime's Normalizer); a row
  // whose largest value is 0 is left as it is; a NaN is skipped when finding the largest value.
  Model max = identity_rows(RowNormalization::kMax);
  EXPECT_EQ(predict(max, {1, -4, 2, -1, -2, -4, 0, -3, 0, kNaN, 2, 1}, true),
            (V{0.5f, -2, 1, 1, 2, 4, 0, -3, 0, 0, 1, 0.5f}));
  // L1: by the sum of |x|; an all-zero row stays; a NaN makes the whole row missing (0 in a linear model).
  Model l1 = identity_rows(RowNormalization::kL1);
  EXPECT_EQ(predict(l1, {1, -4, 3, 0, 0, 0, 1, kNaN, 2}, true), (V{0.125f, -0.5f, 0.375f, 0, 0, 0, 0, 0, 0}));
  // L2: sign(x) * sqrt(x² / Σx²), in float32.
  Model l2 = identity_rows(RowNormalization::kL2);
  const float s = 3.0f * 3.0f + 4.0f * 4.0f + 12.0f * 12.0f;
  EXPECT_EQ(predict(l2, {3, -4, 12, 0, 0, 0}, true),
            (V{std::sqrt(9.0f / s), -std::sqrt(16.0f / s), std::sqrt(144.0f / s), 0, 0, 0}));
  // The same row, scaled, gives the same normalized row (what the normalization is for).
  EXPECT_EQ(predict(l2, {30, -40, 120}, true), predict(l2, {3, -4, 12}, true));
  // Trees read the normalized row too: a NaN sends an L2 row down every default direction.
  Model trees = with_features(2);
  trees.row_normalization = RowNormalization::kL2;
  TreeEnsemble te;
  te.trees = {stump(1, 0.5f, -1, 1, /*default_left=*/true)};
  te.base_score = {0};
  trees.body = te;
  // (3, 4) -> (0.6, 0.8): right; (30, 4) -> (0.99, 0.13): left; (NaN, 4) -> missing: left.
  EXPECT_EQ(predict(trees, {3, 4, 30, 4, kNaN, 4}), (V{1, -1, -1}));
}

TEST(ReferencePredict, SoftmaxIsStableForLargeMargins) {
  Model m = with_features(1);
  m.task = Task::kMulticlass;
  m.output_transform = OutputTransform::kSoftmax;
  m.body = LinearModel{{0, 0}, {1000, 1000 + std::log(3.0f)}};
  auto p = predict(m, {0});
  // log(3) rounded to float32 at magnitude 1000 is off by ~3e-5; without the max shift exp would overflow.
  EXPECT_NEAR(p[0], 0.25f, 1e-4);
  EXPECT_NEAR(p[1], 0.75f, 1e-4);
  EXPECT_FLOAT_EQ(p[0] + p[1], 1.0f);
}

TEST(ReferencePredict, MlpActivations) {
  auto one_layer = [](Activation a) {
    Model m = with_features(1);
    Mlp mlp;
    mlp.layers.push_back(DenseLayer{1, 1, {2}, {-1}, a});  // h = act(2x - 1)
    m.body = mlp;
    return m;
  };
  auto at = [&](Activation a, float x) { return predict(one_layer(a), {x})[0]; };
  EXPECT_FLOAT_EQ(at(Activation::kIdentity, 2), 3);
  EXPECT_FLOAT_EQ(at(Activation::kRelu, 2), 3);
  EXPECT_FLOAT_EQ(at(Activation::kRelu, 0), 0);
  EXPECT_FLOAT_EQ(at(Activation::kTanh, 1), static_cast<float>(std::tanh(1.0)));
  EXPECT_FLOAT_EQ(at(Activation::kSigmoid, 0), static_cast<float>(1 / (1 + std::exp(1.0))));
  // GELU, exact form: x * Phi(x). Phi(1) = 0.8413447460685429, Phi(-1) = 0.15865525393145707.
  EXPECT_FLOAT_EQ(at(Activation::kGelu, 1), 0.8413447460685429f);
  EXPECT_FLOAT_EQ(at(Activation::kGelu, 0), -0.15865525393145707f);
}

TEST(ReferencePredict, TwoLayerMlpWithSoftmax) {
  Model m = with_features(2);
  m.task = Task::kMulticlass;
  m.output_transform = OutputTransform::kSoftmax;
  Mlp mlp;
  // hidden = relu([x0 + x1, x0 - x1]); out = [h0, h1, 0]
  mlp.layers.push_back(DenseLayer{2, 2, {1, 1, 1, -1}, {0, 0}, Activation::kRelu});
  mlp.layers.push_back(DenseLayer{2, 3, {1, 0, 0, 1, 0, 0}, {0, 0, 0}, Activation::kIdentity});
  m.body = mlp;
  // (1, 2): hidden (3, 0) -> margins (3, 0, 0). A missing x1 counts as 0: (1, NaN) -> hidden (1, 1).
  EXPECT_EQ(predict(m, {1, 2, 1, kNaN}, true), (std::vector<float>{3, 0, 0, 1, 1, 0}));
  auto p = predict(m, {1, 2});
  const double z = std::exp(3.0) + 2;
  EXPECT_FLOAT_EQ(p[0], static_cast<float>(std::exp(3.0) / z));
  EXPECT_FLOAT_EQ(p[2], static_cast<float>(1 / z));
}

}  // namespace
}  // namespace slipway::model
