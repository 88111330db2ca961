// validate_model: one test per structural error, each asserting the exact message a user sees.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "slipway/model/model.h"

namespace slipway::model {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();

TransformStep step(StepKind kind, std::vector<double> params = {}, std::vector<std::string> categories = {},
                   bool unknown_bucket = false, std::string fitted_from = {}) {
  TransformStep s;
  s.kind = kind;
  s.params = std::move(params);
  s.categories = std::move(categories);
  s.unknown_bucket = unknown_bucket;
  s.fitted_from = std::move(fitted_from);
  return s;
}

InputColumn numeric(const std::string& name, std::vector<TransformStep> steps = {}) {
  return InputColumn{name, InputKind::kNumeric, std::move(steps)};
}

InputColumn categorical(const std::string& name, StepKind kind, std::vector<std::string> cats) {
  return InputColumn{name, InputKind::kCategorical,
                     {step(kind, kind == StepKind::kOrdinal ? std::vector<double>{-1} : std::vector<double>{}, std::move(cats))}};
}

// Two features (x, color as an ordinal code); one tree: x < 1 ? 0.5 : (color in {1} ? -1 : 2).
Model tree_model() {
  Model m;
  m.task = Task::kBinary;
  m.inputs = {numeric("x"), categorical("color", StepKind::kOrdinal, {"red", "green"})};
  m.feature_names = {"x", "color"};
  TreeEnsemble ens;
  Tree t;
  t.left = {1, -1, 3, -1, -1};
  t.right = {2, -1, 4, -1, -1};
  t.feature = {0, 0, 1, 0, 0};
  t.threshold = {1.0f, 0, 0, 0, 0};
  t.default_left = {1, 0, 0, 0, 0};
  t.is_categorical = {0, 0, 1, 0, 0};
  t.cat_offset = {0, 0, 0, 0, 0};
  t.cat_size = {0, 0, 2, 0, 0};
  t.leaf_values = {0, 0.5f, 0, -1, 2};
  ens.trees = {t};
  ens.category_bits = {0b10};
  ens.base_score = {0.0};
  m.body = ens;
  m.output_transform = OutputTransform::kSigmoid;
  m.class_labels = {"no", "yes"};
  m.output_names = {"probability"};
  return m;
}

Model linear_model() {
  Model m;
  m.task = Task::kMulticlass;
  m.inputs = {numeric("a"), numeric("b")};
  m.feature_names = {"a", "b"};
  m.body = LinearModel{{1, 2, 3, 4, 5, 6}, {0, 0, 0}};
  m.output_transform = OutputTransform::kSoftmax;
  m.class_labels = {"x", "y", "z"};
  return m;
}

Model mlp_model() {
  Model m;
  m.task = Task::kRegression;
  m.inputs = {numeric("a"), numeric("b"), numeric("c")};
  m.feature_names = {"a", "b", "c"};
  Mlp mlp;
  mlp.layers.push_back(DenseLayer{3, 2, std::vector<float>(6, 0.5f), {0, 0}, Activation::kRelu});
  mlp.layers.push_back(DenseLayer{2, 1, {1, -1}, {0.25f}, Activation::kIdentity});
  m.body = mlp;
  return m;
}

TreeEnsemble& trees(Model& m) { return std::get<TreeEnsemble>(m.body); }
Mlp& mlp(Model& m) { return std::get<Mlp>(m.body); }

std::string error_of(const Model& m) {
  Status s = validate_model(m);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kValidationFailed);
  return s.message();
}

TEST(ModelNames, EnumsHaveStableNames) {
  EXPECT_STREQ(task_name(Task::kMulticlass), "multiclass");
  EXPECT_STREQ(output_transform_name(OutputTransform::kExp), "exp");
  EXPECT_STREQ(step_kind_name(StepKind::kOneHot), "one_hot");
  EXPECT_STREQ(step_kind_name(StepKind::kMinMax), "min_max");
  EXPECT_STREQ(activation_name(Activation::kGelu), "gelu");
  EXPECT_STREQ(body_kind_name(Body(TreeEnsemble{})), "tree_ensemble");
  EXPECT_STREQ(body_kind_name(Body(LinearModel{})), "linear");
  EXPECT_STREQ(body_kind_name(Body(Mlp{})), "mlp");
}

TEST(ModelShape, WidthsAndOutputs) {
  EXPECT_EQ(numeric("x").width(), 1u);
  EXPECT_EQ(categorical("c", StepKind::kOrdinal, {"a", "b", "c"}).width(), 1u);
  InputColumn onehot = categorical("c", StepKind::kOneHot, {"a", "b", "c"});
  EXPECT_EQ(onehot.width(), 3u);
  onehot.steps[0].unknown_bucket = true;
  EXPECT_EQ(onehot.width(), 4u);
  EXPECT_EQ(tree_model().n_outputs(), 1u);
  EXPECT_EQ(linear_model().n_outputs(), 3u);
  EXPECT_EQ(linear_model().n_margins(), 3u);
  EXPECT_EQ(mlp_model().n_outputs(), 1u);
}

TEST(ValidateModel, AcceptsWellFormedModels) {
  EXPECT_TRUE(validate_model(tree_model()).ok()) << validate_model(tree_model()).message();
  EXPECT_TRUE(validate_model(linear_model()).ok()) << validate_model(linear_model()).message();
  EXPECT_TRUE(validate_model(mlp_model()).ok()) << validate_model(mlp_model()).message();
}

TEST(ValidateModel, Inputs) {
  Model m = mlp_model();
  m.inputs[1].name = "";
  EXPECT_EQ(error_of(m), "input 1 has an empty name");
  m.inputs[1].name = "a";
  EXPECT_EQ(error_of(m), "input 'a' is listed twice");
  m = mlp_model();
  m.feature_names.pop_back();
  EXPECT_EQ(error_of(m), "the inputs produce 3 feature column(s) but there are 2 feature names");
  m = tree_model();
  m.inputs[1].steps.clear();
  EXPECT_EQ(error_of(m), "input 'color': a categorical input takes exactly one step, ordinal or one_hot (it has 0)");
  m.inputs[1].steps = {step(StepKind::kImpute, {0})};
  EXPECT_EQ(error_of(m), "input 'color' step 0 (impute): a categorical input takes exactly one step, ordinal or one_hot");
  m = mlp_model();
  m.inputs[0].steps = {step(StepKind::kOneHot, {}, {"a"})};
  EXPECT_EQ(error_of(m), "input 'a' step 0 (one_hot): a numeric input cannot be encoded as categories");
}

TEST(ValidateModel, StepParameters) {
  auto with_step = [](TransformStep step) {
    Model m = mlp_model();
    m.inputs[2].steps = {std::move(step)};
    return error_of(m);
  };
  EXPECT_EQ(with_step(step(StepKind::kImpute, {})), "input 'c' step 0 (impute): needs 1 parameter(s) (value), has 0");
  EXPECT_EQ(with_step(step(StepKind::kImpute, {std::nan("")})), "input 'c' step 0 (impute): parameter 0 is not finite");
  EXPECT_EQ(with_step(step(StepKind::kStandardize, {1})),
            "input 'c' step 0 (standardize): needs 2 parameter(s) (mean, scale), has 1");
  EXPECT_EQ(with_step(step(StepKind::kStandardize, {1, 0})), "input 'c' step 0 (standardize): scale is 0");
  EXPECT_EQ(with_step(step(StepKind::kMinMax, {0, 1})),
            "input 'c' step 0 (min_max): needs 3 parameter(s) (min, scale, offset), has 2");
  EXPECT_EQ(with_step(step(StepKind::kLog1p, {1})), "input 'c' step 0 (log1p): needs 0 parameter(s) (none), has 1");
  EXPECT_EQ(with_step(step(StepKind::kClip, {2, 1})), "input 'c' step 0 (clip): lo 2 is above hi 1");
  EXPECT_EQ(with_step(step(StepKind::kClip, {std::nan(""), 1})), "input 'c' step 0 (clip): a bound is NaN");
  EXPECT_EQ(with_step(step(StepKind::kBucketize, {})), "input 'c' step 0 (bucketize): needs at least one edge");
  EXPECT_EQ(with_step(step(StepKind::kBucketize, {1, 3, 3})),
            "input 'c' step 0 (bucketize): edges must be strictly ascending (edge 1 is 3, edge 2 is 3)");
  EXPECT_EQ(with_step(step(StepKind::kBucketize, {1, INFINITY})),
            "input 'c' step 0 (bucketize): parameter 1 is not finite");
  EXPECT_EQ(with_step(step(StepKind::kLog1p, {}, {"a"})), "input 'c' step 0 (log1p): only ordinal and one_hot steps have categories");
}

TEST(ValidateModel, Categories) {
  Model m = tree_model();
  m.inputs[1].steps[0].params = {};
  EXPECT_EQ(error_of(m), "input 'color' step 0 (ordinal): needs 1 parameter(s) (unknown_value), has 0");
  m = tree_model();
  m.inputs[1].steps[0].categories = {"red", "red"};
  EXPECT_EQ(error_of(m), "input 'color' step 0 (ordinal): category 'red' is listed twice");
  m = tree_model();
  m.inputs[1].steps[0].params = {std::nan("")};  // unknown -> missing is allowed
  EXPECT_TRUE(validate_model(m).ok());
  m = tree_model();
  m.inputs[1] = categorical("color", StepKind::kOneHot, {});
  EXPECT_EQ(error_of(m), "input 'color' step 0 (one_hot): no categories and no unknown bucket (it would produce no columns)");
}

TEST(ValidateModel, Outputs) {
  Model m = linear_model();
  std::get<LinearModel>(m.body) = LinearModel{{1, 2}, {0}};
  EXPECT_EQ(error_of(m), "a multiclass model needs at least 2 classes, the body gives 1");
  m = linear_model();
  m.class_labels = {"a", "b"};
  EXPECT_EQ(error_of(m), "2 class label(s) for a multiclass model with 3 class(es)");
  m = tree_model();
  m.class_labels = {"yes"};
  EXPECT_EQ(error_of(m), "1 class label(s) for a binary model with 2 class(es)");
  m = tree_model();
  m.output_names = {"p0", "p1"};
  EXPECT_EQ(error_of(m), "2 output name(s) for 1 output column(s)");
  m = tree_model();
  m.output_transform = OutputTransform::kSoftmax;
  EXPECT_EQ(error_of(m), "the softmax output transform needs a multiclass model, this one is binary");
}

TEST(ValidateModel, Linear) {
  Model m = linear_model();
  std::get<LinearModel>(m.body).bias = {0, 0, 0, 0};
  // The body decides the class count; 4 biases make 4 classes, so 3 labels no longer fit.
  EXPECT_EQ(error_of(m), "3 class label(s) for a multiclass model with 4 class(es)");
  m.class_labels.clear();
  EXPECT_EQ(error_of(m), "linear: weights has 6 value(s), expected 8 (4 output(s) x 2 feature(s))");
  m = linear_model();
  std::get<LinearModel>(m.body).weights[3] = kNaNf;
  EXPECT_EQ(error_of(m), "linear: weight 3 (output 1, feature 1) is not finite");
  m = linear_model();
  std::get<LinearModel>(m.body).bias[2] = kInf;
  EXPECT_EQ(error_of(m), "linear: bias 2 is not finite");
  m = mlp_model();
  m.body = LinearModel{{1, 2, 3}, {}};
  EXPECT_EQ(error_of(m), "linear: bias has 0 value(s) but the model has 1 output(s)");
}

TEST(ValidateModel, TreeArrays) {
  Model m = tree_model();
  trees(m).trees[0] = Tree{};
  EXPECT_EQ(error_of(m), "tree 0 has no nodes");
  m = tree_model();
  trees(m).trees.clear();
  EXPECT_EQ(error_of(m), "tree ensemble: no trees");
  m = tree_model();
  trees(m).trees[0].threshold.pop_back();
  EXPECT_EQ(error_of(m), "tree 0: threshold has 4 entries but the tree has 5 nodes");
  m = tree_model();
  trees(m).trees[0].cat_size.pop_back();
  EXPECT_EQ(error_of(m), "tree 0: cat_size has 4 entries but the tree has 5 nodes");
  m = tree_model();
  trees(m).trees[0].leaf_values.push_back(1);
  EXPECT_EQ(error_of(m), "tree 0: leaf_values has 6 entries, expected 5 (5 nodes x leaf width 1)");
  m = tree_model();
  trees(m).trees[0].leaf_values[3] = kNaNf;
  EXPECT_EQ(error_of(m), "tree 0: leaf 3 has a value that is not finite");
  // Purely numeric trees may leave the three categorical arrays empty.
  m = tree_model();
  auto& t = trees(m).trees[0];
  t.is_categorical.clear();
  t.cat_offset.clear();
  t.cat_size.clear();
  EXPECT_TRUE(validate_model(m).ok());
}

TEST(ValidateModel, TreeStructure) {
  Model m = tree_model();
  trees(m).trees[0].right[2] = 7;
  EXPECT_EQ(error_of(m), "tree 0: node 2 has child 7 out of range (the tree has 5 nodes)");
  m = tree_model();
  trees(m).trees[0].right[2] = 0;
  EXPECT_EQ(error_of(m), "tree 0: node 0 is reached twice (a cycle or a shared subtree)");
  m = tree_model();
  trees(m).trees[0].right[2] = 1;
  EXPECT_EQ(error_of(m), "tree 0: node 1 is reached twice (a cycle or a shared subtree)");
  m = tree_model();
  trees(m).trees[0].feature[0] = 2;
  EXPECT_EQ(error_of(m), "tree 0: node 0 splits on feature 2 but the model has 2 features");
  m = tree_model();
  trees(m).trees[0].threshold[0] = kNaNf;
  EXPECT_EQ(error_of(m), "tree 0: node 0 has a NaN threshold");
  m = tree_model();
  trees(m).trees[0].cat_offset[2] = 31;
  EXPECT_EQ(error_of(m), "tree 0: node 2 has category bits [31, 33) beyond the 32 stored bits");
  m = tree_model();
  trees(m).trees[0].threshold[0] = kInf;  // every finite value goes left: allowed
  EXPECT_TRUE(validate_model(m).ok());
}

TEST(ValidateModel, TreeOutputs) {
  Model m = tree_model();
  trees(m).base_score = {};
  EXPECT_EQ(error_of(m), "tree ensemble: base_score has 0 value(s) but the model has 1 output(s)");
  m = tree_model();
  trees(m).base_score = {std::nan("")};
  EXPECT_EQ(error_of(m), "tree ensemble: base_score 0 is not finite");
  m = tree_model();
  trees(m).leaf_width = 2;
  EXPECT_EQ(error_of(m), "tree ensemble: leaf width 2 must be 1 or the number of outputs (1)");
  m = tree_model();
  trees(m).tree_output = {1};
  EXPECT_EQ(error_of(m), "tree ensemble: tree 0 adds to output 1 but the model has 1 output(s)");
  m = tree_model();
  trees(m).tree_output = {0, 0};
  EXPECT_EQ(error_of(m), "tree ensemble: tree_output has 2 entries for 1 trees");

  // Multiclass with one value per leaf: trees say which class they add to.
  m = tree_model();
  m.task = Task::kMulticlass;
  m.class_labels.clear();
  m.output_names.clear();
  m.output_transform = OutputTransform::kSoftmax;
  trees(m).base_score = {0, 0};
  EXPECT_EQ(error_of(m), "tree ensemble: 2 outputs with one value per leaf need tree_output");
  trees(m).trees.push_back(trees(m).trees[0]);
  trees(m).tree_output = {0, 0};
  EXPECT_TRUE(validate_model(m).ok());
  trees(m).average = true;
  EXPECT_EQ(error_of(m), "tree ensemble: averaging, but no tree adds to output 1");
  trees(m).tree_output = {0, 1};
  EXPECT_TRUE(validate_model(m).ok());
  // Multi-output leaves (forests storing class distributions) take no tree_output.
  trees(m).leaf_width = 2;
  for (auto& t : trees(m).trees) t.leaf_values.resize(10, 0.5f);
  EXPECT_EQ(error_of(m), "tree ensemble: tree_output must be empty when leaves hold one value per output");
  trees(m).tree_output.clear();
  EXPECT_TRUE(validate_model(m).ok());
}

TEST(ValidateModel, AbsurdCounts) {
  // Shapes are checked before any weight is read, so an absurd layer is refused cheaply.
  Model m = mlp_model();
  mlp(m).layers[0] = DenseLayer{3, 2'000'000'000u, {}, {}, Activation::kRelu};
  EXPECT_EQ(error_of(m), "mlp: more than 1000000000 parameters");
}

TEST(ValidateModel, Mlp) {
  Model m = mlp_model();
  mlp(m).layers.clear();
  EXPECT_EQ(error_of(m), "mlp: no layers");
  m = mlp_model();
  mlp(m).layers[0].in = 4;
  EXPECT_EQ(error_of(m), "mlp: layer 0 takes 4 input(s) but the model's features gives 3");
  m = mlp_model();
  mlp(m).layers[1].in = 3;
  EXPECT_EQ(error_of(m), "mlp: layer 1 takes 3 input(s) but layer 0 gives 2");
  m = mlp_model();
  mlp(m).layers[1].out = 0;
  EXPECT_EQ(error_of(m), "mlp: layer 1 has shape 0 x 2");
  m = mlp_model();
  mlp(m).layers[0].weights.pop_back();
  EXPECT_EQ(error_of(m), "mlp: layer 0 has 5 weight(s), expected 6 (2 x 3)");
  m = mlp_model();
  mlp(m).layers[0].bias.push_back(0);
  EXPECT_EQ(error_of(m), "mlp: layer 0 has 3 bias value(s), expected 2");
  m = mlp_model();
  mlp(m).layers[0].weights[4] = kInf;
  EXPECT_EQ(error_of(m), "mlp: layer 0 weight [1, 1] is not finite");
  m = mlp_model();
  mlp(m).layers[1].bias[0] = kNaNf;
  EXPECT_EQ(error_of(m), "mlp: layer 1 bias 0 is not finite");
  m = mlp_model();
  mlp(m).layers[1] = DenseLayer{2, 2, {1, 0, 0, 1}, {0, 0}, Activation::kIdentity};
  EXPECT_EQ(error_of(m), "mlp: the last layer gives 2 value(s) but the model has 1 output(s)");
}

}  // namespace
}  // namespace slipway::model
