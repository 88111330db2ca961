// LightGBM text import: every golden model against LightGBM's own predictions; the split semantics
// (x <= t on doubles, missing types None / Zero / NaN, categorical bitsets going left) checked
// against an oracle that follows LightGBM's Tree::NumericalDecision / CategoricalDecision line by
// line; pandas categories; exact errors for damaged files.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "import_golden.h"
#include "slipway/model/engine.h"
#include "slipway/model/importers.h"

namespace slipway::model {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A LightGBM tree as its text format stores it.
struct LgbTree {
  std::vector<int> split_feature;
  std::vector<double> threshold;
  std::vector<int> decision_type;
  std::vector<int> left, right;
  std::vector<double> leaf_value;
  std::vector<int> cat_boundaries;
  std::vector<uint32_t> cat_threshold;
};

template <typename T>
std::string join(const std::vector<T>& values) {
  std::string s;
  for (const auto& v : values) s += (s.empty() ? "" : " ") + fmt::format("{}", v);
  return s;
}

std::string model_text(const std::vector<LgbTree>& trees, const std::string& objective = "regression",
                       int n_features = 2, const std::string& tail = "") {
  std::string text = fmt::format(
      "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx={}\nobjective={}\n"
      "feature_names=",
      n_features - 1, objective);
  for (int f = 0; f < n_features; ++f) text += fmt::format("{}f{}", f ? " " : "", f);
  text += "\nfeature_infos=";
  for (int f = 0; f < n_features; ++f) text += fmt::format("{}[-1:1]", f ? " " : "");
  text += "\ntree_sizes=1\n\n";
  for (size_t t = 0; t < trees.size(); ++t) {
    const auto& tr = trees[t];
    const int cats = tr.cat_boundaries.empty() ? 0 : static_cast<int>(tr.cat_boundaries.size()) - 1;
    text += fmt::format("Tree={}\nnum_leaves={}\nnum_cat={}\n", t, tr.leaf_value.size(), cats);
    if (!tr.split_feature.empty()) {
      text += fmt::format("split_feature={}\nsplit_gain={}\n", join(tr.split_feature), join(tr.split_feature));
      text += "threshold=";
      for (size_t i = 0; i < tr.threshold.size(); ++i) text += fmt::format("{}{:.17g}", i ? " " : "", tr.threshold[i]);
      text += fmt::format("\ndecision_type={}\nleft_child={}\nright_child={}\n", join(tr.decision_type), join(tr.left),
                          join(tr.right));
    }
    text += fmt::format("leaf_value={}\n", join(tr.leaf_value));
    if (cats > 0) text += fmt::format("cat_boundaries={}\ncat_threshold={}\n", join(tr.cat_boundaries), join(tr.cat_threshold));
    text += "is_linear=0\nshrinkage=1\n\n\n";
  }
  return text + "end of trees\n\nfeature_importances:\n" + tail;
}

// LightGBM's decision rules (include/LightGBM/tree.h), on the double value of the input.
int lightgbm_leaf(const LgbTree& tree, const double* x) {
  if (tree.split_feature.empty()) return 0;
  int node = 0;
  while (node >= 0) {
    double v = x[tree.split_feature[node]];
    const int dt = tree.decision_type[node];
    bool left;
    if (dt & 1) {
      const int code = std::isnan(v) ? -1 : static_cast<int>(v);
      const int idx = static_cast<int>(tree.threshold[node]);
      const int begin = tree.cat_boundaries[idx], words = tree.cat_boundaries[idx + 1] - begin;
      left = code >= 0 && code / 32 < words && ((tree.cat_threshold[begin + code / 32] >> (code % 32)) & 1);
    } else {
      const int missing = (dt >> 2) & 3;
      if (std::isnan(v) && missing != 2) v = 0.0;
      const double zero = 1e-35f;
      if ((missing == 1 && v >= -zero && v <= zero) || (missing == 2 && std::isnan(v))) {
        left = (dt & 2) != 0;
      } else {
        left = v <= tree.threshold[node];
      }
    }
    node = left ? tree.left[node] : tree.right[node];
  }
  return ~node;
}

Model import_ok(const std::string& text) {
  auto model = import_lightgbm_text(text, "m.txt");
  EXPECT_TRUE(model.ok()) << model.status().message();
  return model.ok() ? std::move(model).value() : Model{};
}

std::string error_of(const std::string& text) {
  auto model = import_lightgbm_text(text, "m.txt");
  EXPECT_FALSE(model.ok());
  return model.ok() ? std::string() : model.status().message();
}

// Values that probe every edge LightGBM has: zeros of both signs, the 1e-35 zero band and its
// neighbours, denormals, the thresholds and the floats next to them, infinities, NaN.
std::vector<float> probe_values(const std::vector<double>& thresholds) {
  const float z = 1e-35f, inf = std::numeric_limits<float>::infinity();
  std::vector<float> v = {0.0f, -0.0f, z, -z, std::nextafter(z, inf), std::nextafter(-z, -inf), std::nextafter(z, 0.f),
                          1e-36f, -1e-36f, 1e-45f, -1e-45f, 1e-30f, -1e-30f, 0.5f, -0.5f, 2.f, -2.f, inf, -inf,
                          std::numeric_limits<float>::quiet_NaN()};
  for (double t : thresholds) {
    const float f = static_cast<float>(t);
    for (float g : {f, std::nextafter(f, inf), std::nextafter(f, -inf)}) v.push_back(g);
  }
  return v;
}

TEST(ImportLightgbm, GoldenModelsMatchLightgbm) { testing::check_golden_models("lightgbm", 4); }

TEST(ImportLightgbm, NumericSplitsMatchLightgbmForEveryMissingType) {
  const std::vector<double> thresholds = {-1.0, -1e-35, -1.0000000180025095e-35, -1e-36, 0.0, 1e-36,
                                          1.0000000180025095e-35, 1e-35, 0.30000000000000004, 1.0, 1e300, -1e300};
  const std::vector<float> probes = probe_values(thresholds);
  size_t checked = 0;
  for (int missing = 0; missing <= 2; ++missing) {
    for (int default_left = 0; default_left <= 1; ++default_left) {
      for (double t : thresholds) {
        // Two levels on the same feature so that an expanded zero-as-missing node copies a subtree
        // that holds another one.
        LgbTree tree{{0, 0}, {t, -t}, {missing << 2 | default_left << 1, missing << 2 | (1 - default_left) << 1},
                     {1, -1}, {-2, -3}, {1, 2, 3}, {}, {}};
        SCOPED_TRACE(fmt::format("missing type {}, default_left {}, threshold {:.17g}", missing, default_left, t));
        Model model = import_ok(model_text({tree}));
        for (float a : probes) {
          const float x[2] = {a, 0.f};
          const double xd[2] = {a, 0.0};
          float got = 0;
          reference_predict(model, x, 1, &got);
          ASSERT_EQ(got, static_cast<float>(tree.leaf_value[lightgbm_leaf(tree, xd)])) << "x = " << a;
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 2000u);
}

TEST(ImportLightgbm, RandomTreesMatchTheOracle) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> coin(0, 1), missing_of(0, 2);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  for (int trial = 0; trial < 40; ++trial) {
    // A random full-ish tree over 3 features: node i has children built breadth-first.
    const int n_inner = 1 + trial % 7;
    LgbTree tree;
    int next_inner = 1, next_leaf = 0;
    for (int i = 0; i < n_inner; ++i) {
      tree.split_feature.push_back(static_cast<int>(rng() % 3));
      tree.threshold.push_back(coin(rng) ? 0.0 : uniform(rng));
      tree.decision_type.push_back(missing_of(rng) << 2 | coin(rng) << 1);
      tree.left.push_back(next_inner < n_inner ? next_inner++ : ~next_leaf++);
      tree.right.push_back(next_inner < n_inner ? next_inner++ : ~next_leaf++);
    }
    for (int l = 0; l < next_leaf; ++l) tree.leaf_value.push_back(l + 0.125 * trial);
    Model model = import_ok(model_text({tree}, "regression", 3));
    for (int row = 0; row < 300; ++row) {
      float x[3];
      double xd[3];
      for (int f = 0; f < 3; ++f) {
        const int kind = static_cast<int>(rng() % 5);
        x[f] = kind == 0 ? 0.f : kind == 1 ? std::numeric_limits<float>::quiet_NaN()
                                           : kind == 2 ? static_cast<float>(tree.threshold[rng() % tree.threshold.size()])
                                                       : static_cast<float>(uniform(rng));
        xd[f] = x[f];
      }
      float got = 0;
      reference_predict(model, x, 1, &got);
      ASSERT_EQ(got, static_cast<float>(tree.leaf_value[lightgbm_leaf(tree, xd)])) << "trial " << trial << " row " << row;
    }
  }
}

TEST(ImportLightgbm, CategoriesInTheBitsetGoLeft) {
  // codes 1, 2, 4 and 33 are in the set (two words: 0b10110, 0b10).
  LgbTree tree{{0}, {0}, {1}, {-1}, {-2}, {-5, 7}, {0, 2}, {22, 2}};
  Model model = import_ok(model_text({tree}));
  EXPECT_TRUE(std::get<TreeEnsemble>(model.body).category_in_set_goes_left);
  for (double code : {0.0, 1.0, 2.0, 3.0, 4.0, 31.0, 32.0, 33.0, 34.0, 64.0, 1000.0, -1.0, kNaN}) {
    const float x[2] = {static_cast<float>(code), 0.f};
    const double xd[2] = {code, 0.0};
    float got = 0;
    reference_predict(model, x, 1, &got);
    EXPECT_EQ(got, tree.leaf_value[lightgbm_leaf(tree, xd)]) << "code " << code;
  }
}

TEST(ImportLightgbm, PandasCategoriesBecomeOrdinalInputs) {
  LgbTree tree{{1}, {0}, {1}, {-1}, {-2}, {-5, 7}, {0, 1}, {22}};
  const std::string tail =
      "f1=1\n\nparameters:\n[boosting: gbdt]\n[categorical_feature: 1]\nend of parameters\n\n"
      "pandas_categorical:[[\"a\", \"b\", \"c\", \"d\", \"e\"]]\n";
  Model model = import_ok(model_text({tree}, "binary sigmoid:2", 2, tail));
  ASSERT_EQ(model.inputs.size(), 2u);
  EXPECT_EQ(model.inputs[0].kind, InputKind::kNumeric);
  ASSERT_EQ(model.inputs[1].kind, InputKind::kCategorical);
  ASSERT_EQ(model.inputs[1].steps.size(), 1u);
  EXPECT_EQ(model.inputs[1].steps[0].kind, StepKind::kOrdinal);
  EXPECT_EQ(model.inputs[1].steps[0].categories, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_TRUE(std::isnan(model.inputs[1].steps[0].params.at(0)));
  // "binary sigmoid:2": the sigmoid's scale is folded into the leaves.
  EXPECT_EQ(model.task, Task::kBinary);
  const auto& leaves = std::get<TreeEnsemble>(model.body).trees[0].leaf_values;
  EXPECT_EQ(leaves[1], -10.0f);
  EXPECT_EQ(leaves[2], 14.0f);
  // "b" (code 1) is in the set -> left; "a" (0), unseen "zz" and missing -> right.
  FeatureEncoder encoder(model);
  using Raw = FeatureEncoder::RawValue;
  for (auto [text, missing, want] : {std::tuple{"b", false, -10.0f}, std::tuple{"a", false, 14.0f},
                                     std::tuple{"zz", false, 14.0f}, std::tuple{"", true, 14.0f}}) {
    const Raw values[2] = {Raw{0.0, {}, false}, Raw{0.0, text, missing}};
    float x[2];
    encoder.encode_row(values, x);
    float margin = 0;
    reference_predict(model, x, 1, &margin, /*margins=*/true);
    EXPECT_EQ(margin, want) << text;
  }
}

TEST(ImportLightgbm, MulticlassAndAveragedForests) {
  LgbTree a{{0}, {0.5}, {2}, {-1}, {-2}, {1, 2}, {}, {}};
  LgbTree b{{1}, {0.5}, {2}, {-1}, {-2}, {3, 4}, {}, {}};
  std::string text = model_text({a, b, a, b, a, b});
  for (auto [from, to] : {std::pair<std::string, std::string>{"num_class=1\nnum_tree_per_iteration=1",
                                                              "num_class=2\nnum_tree_per_iteration=2"},
                          {"objective=regression", "objective=multiclass num_class:2\naverage_output"}}) {
    text.replace(text.find(from), from.size(), to);
  }
  Model model = import_ok(text);
  EXPECT_EQ(model.task, Task::kMulticlass);
  EXPECT_EQ(model.n_outputs(), 2u);
  EXPECT_EQ(std::get<TreeEnsemble>(model.body).tree_output, (std::vector<int32_t>{0, 1, 0, 1, 0, 1}));
  EXPECT_TRUE(std::get<TreeEnsemble>(model.body).average);
  const float x[2] = {0.f, 1.f};
  float m[2];
  reference_predict(model, x, 1, m, /*margins=*/true);
  EXPECT_EQ(m[0], 1.0f);  // averaged over the three trees of class 0
  EXPECT_EQ(m[1], 4.0f);
}

TEST(ImportLightgbm, SingleLeafTrees) {
  LgbTree leaf{{}, {}, {}, {}, {}, {0.25}, {}, {}};
  Model model = import_ok(model_text({leaf, leaf}));
  const float x[2] = {0.f, 0.f};
  float out = 0;
  reference_predict(model, x, 1, &out);
  EXPECT_EQ(out, 0.5f);
}

TEST(ImportLightgbm, DamagedFilesGiveExactErrors) {
  LgbTree tree{{0, 1}, {0.5, -0.25}, {2, 0}, {1, -1}, {-2, -3}, {10, 20, 30}, {}, {}};
  const std::string good = model_text({tree});
  auto swap = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  import_ok(good);
  EXPECT_EQ(error_of("{\"learner\": 1}"), "m.txt: not a LightGBM text model (the first line is not 'tree')");
  EXPECT_EQ(error_of(good.substr(0, good.find("leaf_value"))),
            "m.txt:12: tree is missing 'leaf_value'");
  EXPECT_EQ(error_of(good.substr(0, good.find("end of trees"))),
            "m.txt:25: expected 'Tree=N' or 'end of trees' (truncated or damaged file)");
  EXPECT_EQ(error_of(swap("num_leaves=3", "num_leaves=1000000000000")),
            "m.txt:13: num_leaves=1000000000000 is out of range [1, 16777216]");
  EXPECT_EQ(error_of(swap("num_leaves=3", "num_leaves=4")), "m.txt:21: leaf_value has 3 values, expected 4");
  EXPECT_EQ(error_of(swap("left_child=1 -1", "left_child=5 -1")),
            "m.txt:19: left_child[0] = 5 is out of range (the tree has 2 splits)");
  EXPECT_EQ(error_of(swap("right_child=-2 -3", "right_child=-2 -9")),
            "m.txt:20: right_child[1] = -9 names leaf 8, but the tree has 3 leaves");
  EXPECT_EQ(error_of(swap("left_child=1 -1", "left_child=0 -1")),
            "m.txt:19: split 0 is reached twice (a cycle or a shared child)");
  EXPECT_EQ(error_of(swap("split_feature=0 1", "split_feature=0 7")),
            "m.txt:15: split_feature[1] = 7 is out of range (the model has 2 features)");
  EXPECT_EQ(error_of(swap("threshold=0.5", "threshold=zero")), "m.txt:17: threshold: 'zero' is not a valid number");
  EXPECT_EQ(error_of(swap("decision_type=2 0", "decision_type=2 12")),
            "m.txt:18: decision_type[1] = 12 is not a valid decision type");
  EXPECT_EQ(error_of(swap("max_feature_idx=1", "max_feature_idx=99999999999")),
            "m.txt:6: max_feature_idx=99999999999 is out of range [0, 16777215]");
  EXPECT_EQ(error_of(swap("objective=regression", "objective=multiclassova num_class:3 sigmoid:1")),
            "m.txt: unsupported LightGBM objective 'multiclassova num_class:3 sigmoid:1'");
  EXPECT_EQ(error_of(swap("objective=regression", "objective=regression sqrt")),
            "m.txt: unsupported LightGBM objective 'regression sqrt' (reg_sqrt)");
  EXPECT_EQ(error_of(swap("feature_names=f0 f1", "feature_names=f0 f\xff")),
            "m.txt:8: invalid UTF-8 (byte 0xff) at column 19");
  EXPECT_EQ(error_of(swap("is_linear=0", "is_linear=1")),
            "m.txt: tree 0: linear trees (linear_tree=true) are not supported");
  EXPECT_EQ(error_of(swap("num_class=1", "num_class=3")),
            "m.txt: objective 'regression' does not fit num_class=3 and num_tree_per_iteration=1");
}

}  // namespace
}  // namespace slipway::model
