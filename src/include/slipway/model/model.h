// The in-memory model: what every importer produces, what the bundle file stores, what the engine
// compiles and every exporter writes. Format of the bundle file: docs/model-format.md.
//
// Data flow at prediction time:
//   named raw inputs (numbers, strings for categoricals, missing values)
//     -> FeatureEncoder (the model's InputColumn transforms, see transforms.h)
//     -> dense float32 feature row of n_features (NaN = missing)
//     -> row normalization (optional: MAX / L1 / L2, as ONNX's Normalizer; see RowNormalization)
//     -> body (linear / tree ensemble / MLP) -> raw scores ("margins"), n_outputs of them
//     -> output transform (sigmoid, softmax, exp, identity) -> outputs
// Output shapes are fixed per task (never depend on the batch): regression -> 1 column (value);
// binary -> 1 column (probability of the positive class); multiclass -> n_classes columns.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "slipway/core/status.h"

namespace slipway::model {

enum class Task { kRegression, kBinary, kMulticlass };
const char* task_name(Task task);  // "regression", "binary", "multiclass"

enum class OutputTransform {
  kIdentity,
  kSigmoid,   // 1 / (1 + exp(-x)); binary
  kSoftmax,   // over the n_outputs margins; multiclass
  kExp,       // exp(x); Poisson / Gamma / Tweedie regression
};
const char* output_transform_name(OutputTransform t);

// ---- Feature transforms (inside the model, so serving computes exactly what training did) ----

enum class StepKind {
  kImpute,       // missing -> value (constant, or the training mean / median, fixed at fit time)
  kStandardize,  // (x - mean) / scale
  kMinMax,       // (x - min) * scale + offset   (maps [min, max] onto [offset, offset + 1] by default)
  kLog1p,        // log(1 + x)
  kClip,         // clamp to [lo, hi]
  kBucketize,    // index of the bucket: number of edges <= x (edges ascending)
  kOrdinal,      // category string -> its index in `categories`; unknown -> `unknown_value` (NaN = missing)
  kOneHot,       // category string -> |categories| columns (+1 'unknown' column when unknown_bucket)
};
const char* step_kind_name(StepKind kind);

struct TransformStep {
  StepKind kind = StepKind::kImpute;
  // kImpute: {value}; kStandardize: {mean, scale}; kMinMax: {min, scale, offset}; kClip: {lo, hi};
  // kBucketize: edges; kOrdinal: {unknown_value}; others: {}.
  std::vector<double> params;
  std::vector<std::string> categories;  // kOrdinal, kOneHot
  bool unknown_bucket = false;          // kOneHot: an extra column set for unknown categories
  std::string fitted_from;              // e.g. "mean of column dep_delay on train split", for people
};

enum class InputKind { kNumeric, kCategorical };

// One named input of the model's signature and the steps that turn it into feature columns.
// A numeric input gives 1 feature column; a categorical input must end in kOrdinal (1 column) or
// kOneHot (|categories| (+1) columns). Numeric steps after kOrdinal are not allowed.
struct InputColumn {
  std::string name;
  InputKind kind = InputKind::kNumeric;
  std::vector<TransformStep> steps;
  size_t width() const;  // number of feature columns produced
};

// ---- Row normalization (between the feature row and the body) ----

// Divides the whole dense feature row by one of its norms, exactly as ONNX's ai.onnx.ml Normalizer
// computes it in onnxruntime (what skl2onnx writes for scikit-learn's Normalizer), in float32:
//   kMax: m = the largest value (NaN skipped; not the largest |x|);  x / m, or x when m == 0
//   kL1:  s = sum of |x| in row order;                               x / s, or x when s == 0
//   kL2:  s = sum of float(x * x) in row order;   sign(x) * sqrt(float(x * x) / s), or x when s == 0
// A NaN makes the L1 / L2 sum NaN, so the whole row becomes missing. Predictor and reference_predict
// apply it to the rows they are given (the FeatureEncoder's output is the row before it), so every
// caller of the engine gets it. Bundles with it are format 2 (docs/model-format.md).
enum class RowNormalization { kNone, kMax, kL1, kL2 };
const char* row_normalization_name(RowNormalization n);  // "none", "max", "l1", "l2"

// ---- Bodies ----

struct LinearModel {
  // margins[o] = bias[o] + sum_f weights[o * n_features + f] * x[f]; a missing feature counts as 0
  // unless an impute step replaced it first.
  std::vector<float> weights;
  std::vector<float> bias;
};

enum class Comparison { kLess, kLessEqual };  // go left when x < t (XGBoost) or x <= t (LightGBM, sklearn, ONNX LEQ)

// One tree, structure of arrays. Node 0 is the root. A node is a leaf when left[n] < 0.
struct Tree {
  std::vector<int32_t> left, right;
  std::vector<int32_t> feature;      // split feature index (inner nodes)
  std::vector<float> threshold;      // numeric split threshold (inner nodes), exact in float32 (see docs)
  std::vector<uint8_t> default_left; // where a missing (NaN) value goes
  // Categorical splits: for a node with is_categorical[n] != 0, the category code (the feature's
  // value, an integer >= 0) is tested for membership in the set stored as bits
  // [cat_offset[n], cat_offset[n] + cat_size[n]) of TreeEnsemble::category_bits; members go to the
  // side given by TreeEnsemble::category_in_set_goes_left. Codes outside the set, negative or
  // non-integer go to the other side; NaN follows default_left.
  std::vector<uint8_t> is_categorical;
  std::vector<uint32_t> cat_offset;
  std::vector<uint32_t> cat_size;
  // Leaf values: leaf_values[n * leaf_width + k]. leaf_width is 1, or n_outputs for multi-output
  // leaves (e.g. ONNX / sklearn forests storing class distributions at the leaves).
  std::vector<float> leaf_values;
  size_t size() const { return left.size(); }
};

struct TreeEnsemble {
  std::vector<Tree> trees;
  // For leaf_width == 1: the output (class) each tree adds to. Empty means all trees add to output 0.
  std::vector<int32_t> tree_output;
  uint32_t leaf_width = 1;
  Comparison comparison = Comparison::kLess;
  bool category_in_set_goes_left = false;  // XGBoost: members go right; LightGBM: members go left
  std::vector<uint32_t> category_bits;     // packed bitsets, 32 codes per word
  // margins[o] = base_score[o] + (sum of that output's leaf values) / (average ? trees_per_output[o] : 1)
  std::vector<double> base_score;
  bool average = false;  // random forests
};

enum class Activation { kIdentity, kRelu, kTanh, kSigmoid, kGelu };
const char* activation_name(Activation a);

struct DenseLayer {
  uint32_t in = 0, out = 0;
  std::vector<float> weights;  // out x in, row-major
  std::vector<float> bias;     // out
  Activation activation = Activation::kIdentity;
};

struct Mlp {
  std::vector<DenseLayer> layers;  // the last layer's activation is usually identity; the model's
                                   // OutputTransform then gives sigmoid / softmax
};

using Body = std::variant<LinearModel, TreeEnsemble, Mlp>;
const char* body_kind_name(const Body& body);  // "linear", "tree_ensemble", "mlp"

struct Provenance {
  std::string producer;           // "import:xgboost-json", "import:lightgbm-text", "import:onnx", "train:xgboost"
  std::string producer_version;   // library version that wrote the source, when known
  std::string source_file;        // as given
  std::string source_sha256;      // of the source file
  std::optional<std::string> run_id;
  std::vector<std::string> dataset_versions;
  std::string created_at;
  nlohmann::json extra = nlohmann::json::object();  // importer-specific details (objective, params)
};

struct Model {
  Task task = Task::kRegression;
  std::vector<InputColumn> inputs;  // the signature, in order; features are their concatenation
  std::vector<std::string> feature_names;  // one per feature column (after transforms)
  RowNormalization row_normalization = RowNormalization::kNone;  // of the feature row, before the body
  Body body;
  OutputTransform output_transform = OutputTransform::kIdentity;
  std::vector<std::string> class_labels;  // binary: 2 (negative, positive); multiclass: n_classes
  std::vector<std::string> output_names;  // one per output column, e.g. "probability", "prob_setosa", "value"
  Provenance provenance;

  size_t n_features() const { return feature_names.size(); }
  size_t n_outputs() const;  // 1 (regression, binary) or n_classes (multiclass): width of the output row
  size_t n_margins() const;  // the body's raw outputs: 1 for binary/regression, n_classes for multiclass
};

// Structural checks (every index in range, sizes consistent, no cycles in trees, finite weights,
// bounded counts). Every loader and importer runs it, so the engine can trust a validated model.
Status validate_model(const Model& model);

}  // namespace slipway::model
