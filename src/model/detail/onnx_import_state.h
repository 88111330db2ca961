// The ONNX importer's symbolic state (private to onnx_import.cpp / onnx_import_ops.cpp).
//
// Every graph value the importer has seen is one of:
//   Constant  - an initializer or Constant node (numbers; string tensors only flagged)
//   Features  - feature columns: each column is one model input after some TransformSteps, possibly
//               row-normalized together (Normalizer) as the last thing before the body
//   Scores    - the body's raw outputs ("margins") after an optional transform, as columns that are
//               either a margin, 1 - margin (binary complements) or -margin
//   GeluPart  - a partly matched erf-GELU subgraph (x * 0.5 * (1 + erf(x / sqrt 2)))
// The model has exactly one body; Scores values carry the body version they were made from, so a
// value that is read after the body was changed again is refused instead of silently misread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "onnx_proto.h"
#include "slipway/core/status.h"
#include "slipway/model/model.h"

namespace slipway::model::onnx_detail {

inline constexpr int64_t kMaxColumns = 1 << 20;

// classlabels_strings, else the integer labels of `ints_name` as decimal strings.
inline std::vector<std::string> labels_of(const onnx::NodeProto& node, const char* ints_name) {
  std::vector<std::string> labels = attr_strings(node, "classlabels_strings");
  if (labels.empty()) {
    for (int64_t v : attr_ints(node, ints_name)) labels.push_back(std::to_string(v));
  }
  return labels;
}

struct Constant {
  std::vector<int64_t> dims;
  std::vector<double> values;
  bool is_string = false;
};

struct FeatureCol {
  size_t input = 0;                  // index into Importer::raw_inputs_
  uint32_t sub = 0;                  // column within the input's output (one-hot position)
  std::vector<TransformStep> steps;  // applied so far
};

struct Features {
  std::vector<FeatureCol> cols;
  // After a Normalizer: the columns were normalized together as one row. Such a value can only be
  // passed on unchanged to the body, and only when it is the model's whole feature row in order.
  RowNormalization normalized = RowNormalization::kNone;
};

enum class ScoreKind { kPlain, kComplement, kNegated };  // m, 1 - m, -m

struct ScoreCol {
  uint32_t margin = 0;
  ScoreKind kind = ScoreKind::kPlain;
};

enum class ScoreTransform { kIdentity, kSigmoid /* elementwise */, kSoftmax, kExp };

struct Scores {
  uint64_t version = 0;
  ScoreTransform transform = ScoreTransform::kIdentity;
  std::vector<ScoreCol> cols;
  bool sums_to_one = false;
};

struct GeluPart {
  std::string x;     // the value the GELU is applied to
  uint64_t version;  // body version of x
  int stage;         // 1: x/sqrt2, 2: erf(.), 3: 1 + erf(.), 4: x * (1 + erf(.))
};

using Value = std::variant<Constant, Features, Scores, GeluPart>;

class Importer {
 public:
  explicit Importer(std::string source) : source_(std::move(source)) {}
  Result<Model> run(const onnx::ModelProto& proto);

 private:
  // errors
  Status fail_node(const onnx::NodeProto& node, const std::string& what) const;
  Status unsupported_op(const onnx::NodeProto& node) const;
  Status unsupported_attr(const onnx::NodeProto& node, const std::string& attr, const std::string& value) const;

  Result<const Value*> input_value(const onnx::NodeProto& node, int index) const;
  Result<const Constant*> constant_input(const onnx::NodeProto& node, int index) const;
  Status set_output(const onnx::NodeProto& node, int index, Value value);

  Status add_initializers(const onnx::GraphProto& graph);
  Status add_graph_inputs(const onnx::GraphProto& graph);
  Status apply(const onnx::NodeProto& node);

  // operators (onnx_import_ops.cpp)
  Status op_constant(const onnx::NodeProto& node);
  Status op_passthrough(const onnx::NodeProto& node);
  Status op_cast(const onnx::NodeProto& node);
  Status op_reshape(const onnx::NodeProto& node);
  Status op_concat(const onnx::NodeProto& node);
  Status op_select_columns(const onnx::NodeProto& node);
  Status op_scaler(const onnx::NodeProto& node);
  Status op_imputer(const onnx::NodeProto& node);
  Status op_one_hot(const onnx::NodeProto& node);
  Status op_normalizer(const onnx::NodeProto& node);
  Status op_zipmap(const onnx::NodeProto& node);
  Status op_tree_ensemble(const onnx::NodeProto& node);
  Status op_linear(const onnx::NodeProto& node);
  Status op_dense(const onnx::NodeProto& node);
  Status op_arith(const onnx::NodeProto& node);
  Status op_activation(const onnx::NodeProto& node);
  Status op_erf(const onnx::NodeProto& node);

  // helpers
  Result<const Features*> features_input(const onnx::NodeProto& node, int index) const;
  // features_input for the column-wise operators (Scaler, Concat, Gather...): refuses columns that
  // were already row-normalized, since slipway normalizes only right before the body.
  Result<const Features*> columns_input(const onnx::NodeProto& node, int index) const;
  Result<const Scores*> current_scores(const onnx::NodeProto& node, int index) const;
  // Fixes the model's inputs and feature layout from the Features the body reads; returns the
  // feature index of every column.
  Result<std::vector<uint32_t>> bind_features(const onnx::NodeProto& node, const Features& f);
  Status start_body(const onnx::NodeProto& node, Body body);
  Status set_labels(const onnx::NodeProto& node, std::vector<std::string> labels);
  Scores plain_scores(size_t n, ScoreTransform t) const;
  // margins' = scale * margins + shift (per margin), folded into the body's last linear stage.
  Status affine(const onnx::NodeProto& node, const std::vector<double>& scale, const std::vector<double>& shift);
  // New margins as linear combinations of the current ones: out[i] = sum_j comb[i][j] * m_j + add[i].
  Status combine_margins(const std::vector<std::vector<double>>& comb, const std::vector<double>& add);
  Status finish(const Scores& scores);
  void finish_body();

  std::string source_;
  std::unordered_map<std::string, Value> values_;
  std::vector<InputColumn> raw_inputs_;
  Model model_;
  bool has_body_ = false;
  uint64_t version_ = 0;
  size_t n_margins_ = 0;
  std::vector<std::string> labels_;
};

}  // namespace slipway::model::onnx_detail
