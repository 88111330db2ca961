// The ONNX importer's operators: how each supported node changes the symbolic state
// (detail/onnx_import_state.h). Tree ensembles live in onnx_import_trees.cpp's companion section
// below; semantics follow onnxruntime's CPU kernels.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "detail/onnx_import_state.h"

namespace slipway::model::onnx_detail {
namespace {

bool same_steps(const std::vector<TransformStep>& a, const std::vector<TransformStep>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].kind != b[i].kind || a[i].categories != b[i].categories || a[i].unknown_bucket != b[i].unknown_bucket ||
        a[i].params.size() != b[i].params.size()) {
      return false;
    }
    for (size_t k = 0; k < a[i].params.size(); ++k) {
      const double x = a[i].params[k], y = b[i].params[k];
      if (!(x == y || (std::isnan(x) && std::isnan(y)))) return false;
    }
  }
  return true;
}

bool is_categorical_step(StepKind k) { return k == StepKind::kOneHot || k == StepKind::kOrdinal; }

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

// ---- value access ----

Result<const Features*> Importer::features_input(const onnx::NodeProto& node, int index) const {
  SLIPWAY_ASSIGN_OR_RETURN(const Value* v, input_value(node, index));
  if (const auto* f = std::get_if<Features>(v)) return f;
  return fail_node(node, fmt::format("operator '{}' is only supported on feature columns (input '{}')", node.op_type(),
                                     node.input(index)));
}

Result<const Features*> Importer::columns_input(const onnx::NodeProto& node, int index) const {
  SLIPWAY_ASSIGN_OR_RETURN(const Features* f, features_input(node, index));
  if (f->normalized != RowNormalization::kNone) {
    return fail_node(node, fmt::format("operator '{}' after a Normalizer is not supported: the row normalization "
                                       "must come right before the model operator",
                                       node.op_type()));
  }
  return f;
}

Result<const Scores*> Importer::current_scores(const onnx::NodeProto& node, int index) const {
  SLIPWAY_ASSIGN_OR_RETURN(const Value* v, input_value(node, index));
  const auto* s = std::get_if<Scores>(v);
  if (s == nullptr) {
    return fail_node(node, fmt::format("operator '{}' is only supported on model scores (input '{}')", node.op_type(),
                                       node.input(index)));
  }
  if (s->version != version_) {
    return fail_node(node, fmt::format("input '{}' is read after the model it comes from was changed further",
                                       node.input(index)));
  }
  return s;
}

Scores Importer::plain_scores(size_t n, ScoreTransform t) const {
  Scores s;
  s.version = version_;
  s.transform = t;
  for (size_t i = 0; i < n; ++i) s.cols.push_back({static_cast<uint32_t>(i), ScoreKind::kPlain});
  s.sums_to_one = t == ScoreTransform::kSoftmax;
  return s;
}

Status Importer::set_labels(const onnx::NodeProto& node, std::vector<std::string> labels) {
  if (labels.empty()) return {};
  if (!labels_.empty() && labels_ != labels) {
    return fail_node(node, fmt::format("class labels [{}] differ from earlier class labels [{}]", join(labels),
                                       join(labels_)));
  }
  labels_ = std::move(labels);
  return {};
}

Result<std::vector<uint32_t>> Importer::bind_features(const onnx::NodeProto& node, const Features& f) {
  if (has_body_) return fail_node(node, "a second model operator; only one model per graph is supported");
  std::vector<std::optional<std::vector<TransformStep>>> steps(raw_inputs_.size());
  for (const auto& c : f.cols) {
    auto& s = steps[c.input];
    if (!s) {
      s = c.steps;
    } else if (!same_steps(*s, c.steps)) {
      return fail_node(node, fmt::format("input '{}' reaches the model through two different transform chains",
                                         raw_inputs_[c.input].name));
    }
  }
  model_.inputs.clear();
  model_.feature_names.clear();
  std::vector<uint32_t> offsets;
  for (size_t i = 0; i < raw_inputs_.size(); ++i) {
    InputColumn col = raw_inputs_[i];
    if (steps[i]) col.steps = *steps[i];
    const bool encoded = !col.steps.empty() && is_categorical_step(col.steps.back().kind);
    if (col.kind == InputKind::kCategorical && !encoded) {
      return fail_node(node, fmt::format("string input '{}' reaches the model without a OneHotEncoder", col.name));
    }
    offsets.push_back(static_cast<uint32_t>(model_.feature_names.size()));
    if (encoded && col.steps.back().kind == StepKind::kOneHot) {
      for (const auto& cat : col.steps.back().categories) model_.feature_names.push_back(col.name + "=" + cat);
      if (col.steps.back().unknown_bucket) model_.feature_names.push_back(col.name + "=<unknown>");
    } else {
      model_.feature_names.push_back(col.name);
    }
    model_.inputs.push_back(std::move(col));
  }
  std::vector<uint32_t> index;
  for (const auto& c : f.cols) index.push_back(offsets[c.input] + c.sub);
  if (f.normalized != RowNormalization::kNone) {
    // slipway normalizes the whole feature row: the Normalizer must have seen exactly that row.
    bool whole_row = index.size() == model_.feature_names.size();
    for (size_t j = 0; whole_row && j < index.size(); ++j) whole_row = index[j] == j;
    if (!whole_row) {
      return fail_node(node, fmt::format("the Normalizer before operator '{}' covers {} of the {} feature columns "
                                         "or reorders them; only a normalization of every input column, in "
                                         "graph-input order, is supported",
                                         node.op_type(), index.size(), model_.feature_names.size()));
    }
  }
  model_.row_normalization = f.normalized;
  return index;
}

Status Importer::start_body(const onnx::NodeProto& node, Body body) {
  if (has_body_) return fail_node(node, "a second model operator; only one model per graph is supported");
  model_.body = std::move(body);
  has_body_ = true;
  ++version_;
  return {};
}

// ---- plumbing ----

Status Importer::op_passthrough(const onnx::NodeProto& node) {
  SLIPWAY_ASSIGN_OR_RETURN(const Value* v, input_value(node, 0));
  Value copy = *v;
  return set_output(node, 0, std::move(copy));
}

Status Importer::op_cast(const onnx::NodeProto& node) {
  const int64_t to = attr_int(node, "to", 0);
  if (to != onnx::TensorProto::FLOAT && to != onnx::TensorProto::DOUBLE) {
    return unsupported_attr(node, "to",
                            onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(to)));
  }
  SLIPWAY_ASSIGN_OR_RETURN(const Value* v, input_value(node, 0));
  if (const auto* f = std::get_if<Features>(v)) {
    for (const auto& c : f->cols) {
      if (raw_inputs_[c.input].kind == InputKind::kCategorical && c.steps.empty()) {
        return fail_node(node, fmt::format("string input '{}' cannot be cast to numbers", raw_inputs_[c.input].name));
      }
    }
  }
  return op_passthrough(node);
}

Status Importer::op_reshape(const onnx::NodeProto& node) {
  // Our values are always [N, columns]; Reshape/Flatten to [-1 | N, columns] (e.g. after
  // OneHotEncoder's [N, 1, C]) changes nothing. Other target shapes are refused.
  if (node.op_type() == "Reshape") {
    SLIPWAY_ASSIGN_OR_RETURN(const Constant* shape, constant_input(node, 1));
    if (shape->values.size() != 2 || !(shape->values[0] == -1 || shape->values[0] == 0)) {
      return fail_node(node, "Reshape is only supported to a [-1, columns] shape");
    }
  } else if (attr_int(node, "axis", 1) != 1) {
    return unsupported_attr(node, "axis", std::to_string(attr_int(node, "axis", 1)));
  }
  return op_passthrough(node);
}

Status Importer::op_concat(const onnx::NodeProto& node) {
  const int64_t axis = attr_int(node, "axis", 1);
  if (axis != 1 && axis != -1) return unsupported_attr(node, "axis", std::to_string(axis));
  SLIPWAY_ASSIGN_OR_RETURN(const Value* first, input_value(node, 0));
  if (std::holds_alternative<Features>(*first)) {
    Features out;
    for (int i = 0; i < node.input_size(); ++i) {
      SLIPWAY_ASSIGN_OR_RETURN(const Features* f, columns_input(node, i));
      out.cols.insert(out.cols.end(), f->cols.begin(), f->cols.end());
    }
    if (static_cast<int64_t>(out.cols.size()) > kMaxColumns) return fail_node(node, "too many columns");
    return set_output(node, 0, std::move(out));
  }
  Scores out;
  for (int i = 0; i < node.input_size(); ++i) {
    SLIPWAY_ASSIGN_OR_RETURN(const Scores* s, current_scores(node, i));
    if (i > 0 && s->transform != out.transform) {
      return fail_node(node, "Concat of scores with different transforms is not supported");
    }
    out.transform = s->transform;
    out.cols.insert(out.cols.end(), s->cols.begin(), s->cols.end());
  }
  out.version = version_;
  // [1 - p, p] (how skl2onnx writes a binary MLP's probabilities) still sums to one.
  out.sums_to_one = out.cols.size() == 2 && out.cols[0].margin == out.cols[1].margin &&
                    out.cols[0].kind == ScoreKind::kComplement && out.cols[1].kind == ScoreKind::kPlain;
  return set_output(node, 0, std::move(out));
}

Status Importer::op_select_columns(const onnx::NodeProto& node) {
  if (node.op_type() == "Gather") {
    const int64_t axis = attr_int(node, "axis", 0);
    if (axis != 1 && axis != -1) return unsupported_attr(node, "axis", std::to_string(axis));
  }
  SLIPWAY_ASSIGN_OR_RETURN(const Constant* idx, constant_input(node, 1));
  SLIPWAY_ASSIGN_OR_RETURN(const Value* v, input_value(node, 0));
  auto pick = [&](const auto& cols, auto& out) -> Status {
    const auto n = static_cast<int64_t>(cols.size());
    for (double d : idx->values) {
      auto i = static_cast<int64_t>(d);
      if (i < 0) i += n;
      if (i < 0 || i >= n) return fail_node(node, fmt::format("column index {} out of range [0, {})", d, n));
      out.push_back(cols[static_cast<size_t>(i)]);
    }
    return {};
  };
  if (std::holds_alternative<Features>(*v)) {
    SLIPWAY_ASSIGN_OR_RETURN(const Features* f, columns_input(node, 0));
    Features out;
    SLIPWAY_RETURN_IF_ERROR(pick(f->cols, out.cols));
    return set_output(node, 0, std::move(out));
  }
  SLIPWAY_ASSIGN_OR_RETURN(const Scores* s, current_scores(node, 0));
  Scores out = *s;
  out.cols.clear();
  out.sums_to_one = false;
  SLIPWAY_RETURN_IF_ERROR(pick(s->cols, out.cols));
  return set_output(node, 0, std::move(out));
}

// ---- feature transforms ----

namespace {

// A per-column parameter given once (broadcast) or once per column.
Result<double> per_column(const std::vector<float>& v, size_t j) {
  if (v.size() == 1) return static_cast<double>(v[0]);
  if (j < v.size()) return static_cast<double>(v[j]);
  return Status(ErrorCode::kInvalidArgument, "");
}

}  // namespace

Status Importer::op_scaler(const onnx::NodeProto& node) {
  SLIPWAY_ASSIGN_OR_RETURN(const Features* f, columns_input(node, 0));
  const auto offset = attr_floats(node, "offset");
  const auto scale = attr_floats(node, "scale");
  Features out = *f;
  for (size_t j = 0; j < out.cols.size(); ++j) {
    auto& c = out.cols[j];
    if (raw_inputs_[c.input].kind == InputKind::kCategorical || (!c.steps.empty() && is_categorical_step(c.steps.back().kind))) {
      return fail_node(node, fmt::format("Scaler on the encoded categorical input '{}' is not supported",
                                         raw_inputs_[c.input].name));
    }
    auto o = offset.empty() ? Result<double>(0.0) : per_column(offset, j);
    auto s = scale.empty() ? Result<double>(1.0) : per_column(scale, j);
    if (!o.ok() || !s.ok()) {
      return fail_node(node, fmt::format("Scaler has {} offsets and {} scales for {} columns", offset.size(),
                                         scale.size(), out.cols.size()));
    }
    // ONNX Scaler: y = (x - offset) * scale, exactly kMinMax with offset 0.
    TransformStep step;
    step.kind = StepKind::kMinMax;
    step.params = {*o, *s, 0.0};
    step.fitted_from = fmt::format("ONNX Scaler node '{}'", node.name());
    c.steps.push_back(std::move(step));
  }
  return set_output(node, 0, std::move(out));
}

Status Importer::op_imputer(const onnx::NodeProto& node) {
  SLIPWAY_ASSIGN_OR_RETURN(const Features* f, columns_input(node, 0));
  if (find_attribute(node, "imputed_value_int64s") != nullptr) return unsupported_attr(node, "imputed_value_int64s", "[...]");
  const float replaced = attr_float(node, "replaced_value_float", 0.0f);
  if (!std::isnan(replaced)) {
    return unsupported_attr(node, "replaced_value_float", fmt::format("{} (only NaN is supported)", replaced));
  }
  const auto values = attr_floats(node, "imputed_value_floats");
  Features out = *f;
  for (size_t j = 0; j < out.cols.size(); ++j) {
    auto& c = out.cols[j];
    auto v = per_column(values, j);
    if (!v.ok()) {
      return fail_node(node, fmt::format("Imputer has {} values for {} columns", values.size(), out.cols.size()));
    }
    if (raw_inputs_[c.input].kind == InputKind::kCategorical || (!c.steps.empty() && is_categorical_step(c.steps.back().kind))) {
      return fail_node(node, fmt::format("Imputer on the categorical input '{}' is not supported",
                                         raw_inputs_[c.input].name));
    }
    TransformStep step;
    step.kind = StepKind::kImpute;
    step.params = {*v};
    step.fitted_from = fmt::format("ONNX Imputer node '{}'", node.name());
    c.steps.push_back(std::move(step));
  }
  return set_output(node, 0, std::move(out));
}

Status Importer::op_one_hot(const onnx::NodeProto& node) {
  SLIPWAY_ASSIGN_OR_RETURN(const Features* f, columns_input(node, 0));
  std::vector<std::string> cats = attr_strings(node, "cats_strings");
  if (cats.empty()) {
    for (int64_t v : attr_ints(node, "cats_int64s")) cats.push_back(std::to_string(v));
  }
  if (cats.empty()) return fail_node(node, "OneHotEncoder has no categories");
  Features out;
  for (const auto& c : f->cols) {
    if (!c.steps.empty()) {
      return fail_node(node, fmt::format("OneHotEncoder after other transforms of input '{}' is not supported",
                                         raw_inputs_[c.input].name));
    }
    raw_inputs_[c.input].kind = InputKind::kCategorical;
    TransformStep step;
    step.kind = StepKind::kOneHot;
    step.categories = cats;
    step.unknown_bucket = false;  // unknown categories give all zeros (zeros=1)
    step.fitted_from = fmt::format("ONNX OneHotEncoder node '{}'", node.name());
    for (size_t k = 0; k < cats.size(); ++k) out.cols.push_back(FeatureCol{c.input, static_cast<uint32_t>(k), {step}});
  }
  if (static_cast<int64_t>(out.cols.size()) > kMaxColumns) return fail_node(node, "too many columns");
  return set_output(node, 0, std::move(out));
}

Status Importer::op_normalizer(const onnx::NodeProto& node) {
  const std::string norm = attr_string(node, "norm", "MAX");
  SLIPWAY_ASSIGN_OR_RETURN(const Value* v, input_value(node, 0));
  if (std::holds_alternative<Features>(*v)) {
    // A row normalization of the feature vector (scikit-learn's Normalizer via skl2onnx): the model's
    // RowNormalization, which reproduces onnxruntime's kernel exactly. bind_features checks that the
    // body reads exactly this row.
    SLIPWAY_ASSIGN_OR_RETURN(const Features* f, columns_input(node, 0));
    RowNormalization kind;
    if (norm == "MAX") {
      kind = RowNormalization::kMax;
    } else if (norm == "L1") {
      kind = RowNormalization::kL1;
    } else if (norm == "L2") {
      kind = RowNormalization::kL2;
    } else {
      return unsupported_attr(node, "norm", norm + " (supported: MAX, L1, L2)");
    }
    for (const auto& c : f->cols) {
      if (raw_inputs_[c.input].kind == InputKind::kCategorical && c.steps.empty()) {
        return fail_node(node, fmt::format("Normalizer on the string input '{}' is not supported", raw_inputs_[c.input].name));
      }
    }
    Features out = *f;
    out.normalized = kind;
    return set_output(node, 0, std::move(out));
  }
  SLIPWAY_ASSIGN_OR_RETURN(const Scores* s, current_scores(node, 0));
  // skl2onnx normalizes probabilities that already sum to one (softmax output): a no-op.
  if (norm != "L1" || !s->sums_to_one) {
    return fail_node(node, fmt::format("Normalizer (norm={}) on model scores is only supported as an L1 "
                                       "normalization of probabilities",
                                       norm));
  }
  return op_passthrough(node);
}

Status Importer::op_zipmap(const onnx::NodeProto& node) {
  SLIPWAY_ASSIGN_OR_RETURN(const Scores* s, current_scores(node, 0));
  (void)s;
  SLIPWAY_RETURN_IF_ERROR(set_labels(node, labels_of(node, "classlabels_int64s")));
  return op_passthrough(node);
}

// ---- linear bodies ----

Status Importer::op_linear(const onnx::NodeProto& node) {
  const bool classifier = node.op_type() == "LinearClassifier";
  SLIPWAY_ASSIGN_OR_RETURN(const Features* f, features_input(node, 0));
  const auto coef = attr_floats(node, "coefficients");
  const auto intercepts = attr_floats(node, "intercepts");
  const size_t n_in = f->cols.size();
  if (coef.empty() || coef.size() % n_in != 0) {
    return fail_node(node, fmt::format("{} has {} coefficients for {} input columns", node.op_type(), coef.size(), n_in));
  }
  const size_t rows = coef.size() / n_in;
  if (!intercepts.empty() && intercepts.size() != rows) {
    return fail_node(node, fmt::format("{} has {} intercepts for {} rows of coefficients", node.op_type(),
                                       intercepts.size(), rows));
  }
  const std::string post = attr_string(node, "post_transform", "NONE");
  ScoreTransform t = ScoreTransform::kIdentity;
  if (classifier) {
    auto labels = labels_of(node, "classlabels_ints");
    if (labels.size() != rows) {
      return fail_node(node, fmt::format("LinearClassifier with {} coefficient rows for {} classes is not supported",
                                         rows, labels.size()));
    }
    SLIPWAY_RETURN_IF_ERROR(set_labels(node, std::move(labels)));
    if (post == "LOGISTIC") {
      t = ScoreTransform::kSigmoid;
    } else if (post == "SOFTMAX" || post == "SOFTMAX_ZERO") {
      t = ScoreTransform::kSoftmax;
    } else if (post != "NONE") {
      return unsupported_attr(node, "post_transform", post);
    }
  } else {
    if (attr_int(node, "targets", 1) != 1) {
      return unsupported_attr(node, "targets", std::to_string(attr_int(node, "targets", 1)));
    }
    if (post != "NONE") return unsupported_attr(node, "post_transform", post);
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto index, bind_features(node, *f));
  const size_t nf = model_.feature_names.size();
  LinearModel lin;
  lin.weights.assign(rows * nf, 0.0f);
  lin.bias.assign(rows, 0.0f);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t j = 0; j < n_in; ++j) lin.weights[r * nf + index[j]] += coef[r * n_in + j];
    if (!intercepts.empty()) lin.bias[r] = intercepts[r];
  }
  SLIPWAY_RETURN_IF_ERROR(start_body(node, std::move(lin)));
  n_margins_ = rows;
  return set_output(node, classifier ? 1 : 0, plain_scores(rows, t));
}

// ---- dense layers (Gemm / MatMul), arithmetic, activations ----

Status Importer::op_dense(const onnx::NodeProto& node) {
  const bool gemm = node.op_type() == "Gemm";
  SLIPWAY_ASSIGN_OR_RETURN(const Constant* b, constant_input(node, 1));
  if (b->dims.size() != 2) return fail_node(node, "the weight matrix must be 2-D");
  bool trans_b = false;
  double alpha = 1.0, beta = 1.0;
  if (gemm) {
    if (attr_int(node, "transA", 0) != 0) return unsupported_attr(node, "transA", "1");
    trans_b = attr_int(node, "transB", 0) != 0;
    alpha = attr_float(node, "alpha", 1.0f);
    beta = attr_float(node, "beta", 1.0f);
  }
  const auto in = static_cast<size_t>(trans_b ? b->dims[1] : b->dims[0]);
  const auto out = static_cast<size_t>(trans_b ? b->dims[0] : b->dims[1]);
  auto weight = [&](size_t i, size_t o) { return alpha * (trans_b ? b->values[o * in + i] : b->values[i * out + o]); };
  std::vector<float> bias(out, 0.0f);
  if (gemm && node.input_size() > 2 && !node.input(2).empty()) {
    SLIPWAY_ASSIGN_OR_RETURN(const Constant* c, constant_input(node, 2));
    if (c->values.size() != 1 && c->values.size() != out) {
      return fail_node(node, fmt::format("Gemm bias has {} values for {} outputs", c->values.size(), out));
    }
    for (size_t o = 0; o < out; ++o) bias[o] = static_cast<float>(beta * c->values[c->values.size() == 1 ? 0 : o]);
  }
  DenseLayer layer;
  layer.out = static_cast<uint32_t>(out);
  layer.bias = std::move(bias);
  SLIPWAY_ASSIGN_OR_RETURN(const Value* v, input_value(node, 0));
  if (const auto* f = std::get_if<Features>(v)) {
    if (f->cols.size() != in) {
      return fail_node(node, fmt::format("weight matrix has {} rows for {} input columns", in, f->cols.size()));
    }
    SLIPWAY_ASSIGN_OR_RETURN(auto index, bind_features(node, *f));
    const size_t nf = model_.feature_names.size();
    layer.in = static_cast<uint32_t>(nf);
    layer.weights.assign(out * nf, 0.0f);
    for (size_t o = 0; o < out; ++o) {
      for (size_t i = 0; i < in; ++i) layer.weights[o * nf + index[i]] += static_cast<float>(weight(i, o));
    }
    Mlp mlp;
    mlp.layers.push_back(std::move(layer));
    SLIPWAY_RETURN_IF_ERROR(start_body(node, std::move(mlp)));
  } else {
    SLIPWAY_ASSIGN_OR_RETURN(const Scores* s, current_scores(node, 0));
    if (s->cols.size() != in || s->cols.size() != n_margins_) {
      return fail_node(node, fmt::format("weight matrix has {} rows for {} input columns", in, s->cols.size()));
    }
    for (size_t i = 0; i < s->cols.size(); ++i) {
      if (s->cols[i].margin != i || s->cols[i].kind != ScoreKind::kPlain) {
        return fail_node(node, "a dense layer over rearranged scores is not supported");
      }
    }
    if (auto* lin = std::get_if<LinearModel>(&model_.body)) {
      DenseLayer first;
      first.in = static_cast<uint32_t>(model_.feature_names.size());
      first.out = static_cast<uint32_t>(lin->bias.size());
      first.weights = std::move(lin->weights);
      first.bias = std::move(lin->bias);
      model_.body = Mlp{{std::move(first)}};
    }
    auto* mlp = std::get_if<Mlp>(&model_.body);
    if (mlp == nullptr) return fail_node(node, "a dense layer after a tree ensemble is not supported");
    auto& last = mlp->layers.back();
    if (s->transform == ScoreTransform::kSigmoid && last.activation == Activation::kIdentity) {
      last.activation = Activation::kSigmoid;
    } else if (s->transform != ScoreTransform::kIdentity) {
      return fail_node(node, "a dense layer after softmax / exp is not supported");
    }
    layer.in = static_cast<uint32_t>(in);
    layer.weights.resize(out * in);
    for (size_t o = 0; o < out; ++o) {
      for (size_t i = 0; i < in; ++i) layer.weights[o * in + i] = static_cast<float>(weight(i, o));
    }
    mlp->layers.push_back(std::move(layer));
    ++version_;
  }
  n_margins_ = out;
  return set_output(node, 0, plain_scores(out, ScoreTransform::kIdentity));
}

Status Importer::affine(const onnx::NodeProto& node, const std::vector<double>& scale,
                        const std::vector<double>& shift) {
  auto at = [](const std::vector<double>& v, size_t i) { return v.size() == 1 ? v[0] : v[i]; };
  for (const auto* v : {&scale, &shift}) {
    if (v->size() != 1 && v->size() != n_margins_) {
      return fail_node(node, fmt::format("constant has {} values for {} columns", v->size(), n_margins_));
    }
  }
  auto rows = [&](std::vector<float>& w, std::vector<float>& b) {
    const size_t width = b.empty() ? 0 : w.size() / b.size();
    for (size_t o = 0; o < b.size(); ++o) {
      for (size_t i = 0; i < width; ++i) w[o * width + i] = static_cast<float>(w[o * width + i] * at(scale, o));
      b[o] = static_cast<float>(b[o] * at(scale, o) + at(shift, o));
    }
  };
  if (auto* lin = std::get_if<LinearModel>(&model_.body)) {
    rows(lin->weights, lin->bias);
  } else if (auto* mlp = std::get_if<Mlp>(&model_.body)) {
    auto& last = mlp->layers.back();
    if (last.activation != Activation::kIdentity) {
      return fail_node(node, fmt::format("operator '{}' after an activation is not supported", node.op_type()));
    }
    rows(last.weights, last.bias);
  } else {
    auto& te = std::get<TreeEnsemble>(model_.body);
    for (auto& t : te.trees) {
      for (size_t k = 0; k < t.leaf_values.size(); ++k) {
        t.leaf_values[k] = static_cast<float>(t.leaf_values[k] * at(scale, k % te.leaf_width));
      }
    }
    for (size_t o = 0; o < te.base_score.size(); ++o) te.base_score[o] = te.base_score[o] * at(scale, o) + at(shift, o);
  }
  ++version_;
  return {};
}

Status Importer::op_arith(const onnx::NodeProto& node) {
  const std::string& op = node.op_type();
  SLIPWAY_ASSIGN_OR_RETURN(const Value* a, input_value(node, 0));
  SLIPWAY_ASSIGN_OR_RETURN(const Value* b, input_value(node, 1));
  const auto* ca = std::get_if<Constant>(a);
  const auto* cb = std::get_if<Constant>(b);
  auto scalar_is = [](const Constant* c, double x, double tol) {
    return c != nullptr && c->values.size() == 1 && std::fabs(c->values[0] - x) <= tol;
  };

  // erf-GELU: x * 0.5 * (1 + erf(x / sqrt(2))), as torch.onnx.export writes it.
  const auto* ga = std::get_if<GeluPart>(a);
  const auto* gb = std::get_if<GeluPart>(b);
  if (op == "Div" && std::holds_alternative<Scores>(*a) && scalar_is(cb, M_SQRT2, 1e-4)) {
    SLIPWAY_ASSIGN_OR_RETURN(const Scores* s, current_scores(node, 0));
    (void)s;
    return set_output(node, 0, GeluPart{node.input(0), version_, 1});
  }
  if (op == "Add" && ((ga && ga->stage == 2 && scalar_is(cb, 1.0, 0)) || (gb && gb->stage == 2 && scalar_is(ca, 1.0, 0)))) {
    GeluPart g = ga ? *ga : *gb;
    g.stage = 3;
    return set_output(node, 0, g);
  }
  if (op == "Mul" && (ga || gb) && !(ca || cb)) {
    const GeluPart& g = ga ? *ga : *gb;
    const std::string& other = ga ? node.input(1) : node.input(0);
    if (g.stage != 3 || other != g.x) return fail_node(node, "unrecognized GELU pattern");
    GeluPart done = g;
    done.stage = 4;
    return set_output(node, 0, done);
  }
  if (op == "Mul" && ((ga && ga->stage == 4 && scalar_is(cb, 0.5, 0)) || (gb && gb->stage == 4 && scalar_is(ca, 0.5, 0)))) {
    const GeluPart& g = ga ? *ga : *gb;
    auto* mlp = std::get_if<Mlp>(&model_.body);
    if (g.version != version_ || mlp == nullptr || mlp->layers.back().activation != Activation::kIdentity) {
      return fail_node(node, "GELU is only supported right after a dense layer");
    }
    mlp->layers.back().activation = Activation::kGelu;
    ++version_;
    return set_output(node, 0, plain_scores(n_margins_, ScoreTransform::kIdentity));
  }
  if (ga || gb) return fail_node(node, "unrecognized GELU pattern");

  if ((ca == nullptr) == (cb == nullptr)) {
    return fail_node(node, fmt::format("operator '{}' is only supported between a computed value and a constant", op));
  }
  const Constant& c = ca ? *ca : *cb;
  const bool const_first = ca != nullptr;
  const Value& x = const_first ? *b : *a;
  const int xi = const_first ? 1 : 0;

  if (std::holds_alternative<Features>(x)) {
    // Arithmetic on raw numeric columns (e.g. normalization baked into a torch model) as kMinMax:
    // (x - min) * scale + offset.
    SLIPWAY_ASSIGN_OR_RETURN(const Features* f, columns_input(node, xi));
    if (op == "Div" && const_first) return fail_node(node, "dividing a constant by features is not supported");
    Features out = *f;
    for (size_t j = 0; j < out.cols.size(); ++j) {
      auto& col = out.cols[j];
      if (raw_inputs_[col.input].kind == InputKind::kCategorical || (!col.steps.empty() && is_categorical_step(col.steps.back().kind))) {
        return fail_node(node, fmt::format("operator '{}' on the categorical input '{}' is not supported", op,
                                           raw_inputs_[col.input].name));
      }
      if (c.values.size() != 1 && c.values.size() != out.cols.size()) {
        return fail_node(node, fmt::format("constant has {} values for {} columns", c.values.size(), out.cols.size()));
      }
      const double k = c.values[c.values.size() == 1 ? 0 : j];
      TransformStep step;
      step.kind = StepKind::kMinMax;
      if (op == "Add") step.params = {0.0, 1.0, k};
      if (op == "Sub") step.params = const_first ? std::vector<double>{0.0, -1.0, k} : std::vector<double>{k, 1.0, 0.0};
      if (op == "Mul") step.params = {0.0, k, 0.0};
      if (op == "Div") step.params = {0.0, 1.0 / k, 0.0};
      step.fitted_from = fmt::format("ONNX {} node '{}'", op, node.name());
      col.steps.push_back(std::move(step));
    }
    return set_output(node, 0, std::move(out));
  }

  SLIPWAY_ASSIGN_OR_RETURN(const Scores* s, current_scores(node, xi));
  if (op == "Sub" && const_first && s->transform != ScoreTransform::kIdentity) {
    // 1 - p on probabilities (skl2onnx's negative-class column).
    if (!scalar_is(&c, 1.0, 0)) return fail_node(node, "only 1 - p is supported on probabilities");
    Scores out = *s;
    for (auto& col : out.cols) {
      if (col.kind == ScoreKind::kNegated) return fail_node(node, "1 - (-p) is not supported");
      col.kind = col.kind == ScoreKind::kPlain ? ScoreKind::kComplement : ScoreKind::kPlain;
    }
    out.sums_to_one = false;
    return set_output(node, 0, std::move(out));
  }
  if (s->transform != ScoreTransform::kIdentity) {
    return fail_node(node, fmt::format("operator '{}' after sigmoid / softmax / exp is not supported", op));
  }
  if (s->cols.size() != n_margins_) return fail_node(node, fmt::format("operator '{}' on selected scores is not supported", op));
  for (size_t i = 0; i < s->cols.size(); ++i) {
    if (s->cols[i].margin != i || s->cols[i].kind != ScoreKind::kPlain) {
      return fail_node(node, fmt::format("operator '{}' on rearranged scores is not supported", op));
    }
  }
  std::vector<double> scale{1.0}, shift{0.0};
  if (op == "Add") shift = c.values;
  if (op == "Sub" && !const_first) {
    shift = c.values;
    for (auto& v : shift) v = -v;
  }
  if (op == "Sub" && const_first) {
    scale = {-1.0};
    shift = c.values;
  }
  if (op == "Mul") scale = c.values;
  if (op == "Div") {
    if (const_first) return fail_node(node, "dividing a constant by scores is not supported");
    scale = c.values;
    for (auto& v : scale) v = 1.0 / v;
  }
  if (shift.empty() || scale.empty()) return fail_node(node, "empty constant");
  SLIPWAY_RETURN_IF_ERROR(affine(node, scale, shift));
  return set_output(node, 0, plain_scores(n_margins_, ScoreTransform::kIdentity));
}

Status Importer::op_activation(const onnx::NodeProto& node) {
  const std::string& op = node.op_type();
  SLIPWAY_ASSIGN_OR_RETURN(const Scores* s, current_scores(node, 0));
  if (s->transform != ScoreTransform::kIdentity) {
    return fail_node(node, fmt::format("operator '{}' after sigmoid / softmax / exp is not supported", op));
  }
  if (op == "Softmax") {
    const int64_t axis = attr_int(node, "axis", -1);
    if (axis != 1 && axis != -1) return unsupported_attr(node, "axis", std::to_string(axis));
  }
  if (op == "Sigmoid" || op == "Softmax" || op == "Exp") {
    Scores out = *s;
    out.transform = op == "Sigmoid" ? ScoreTransform::kSigmoid
                    : op == "Softmax" ? ScoreTransform::kSoftmax
                                      : ScoreTransform::kExp;
    out.sums_to_one = op == "Softmax";
    if (op == "Softmax" && s->cols.size() != n_margins_) {
      return fail_node(node, "Softmax over selected scores is not supported");
    }
    return set_output(node, 0, std::move(out));
  }
  // Relu / Tanh: a hidden activation of the last dense layer.
  if (auto* lin = std::get_if<LinearModel>(&model_.body)) {
    DenseLayer first;
    first.in = static_cast<uint32_t>(model_.feature_names.size());
    first.out = static_cast<uint32_t>(lin->bias.size());
    first.weights = std::move(lin->weights);
    first.bias = std::move(lin->bias);
    model_.body = Mlp{{std::move(first)}};
  }
  auto* mlp = std::get_if<Mlp>(&model_.body);
  if (mlp == nullptr || mlp->layers.back().activation != Activation::kIdentity || s->cols.size() != n_margins_) {
    return fail_node(node, fmt::format("operator '{}' is only supported right after a dense layer", op));
  }
  mlp->layers.back().activation = op == "Relu" ? Activation::kRelu : Activation::kTanh;
  ++version_;
  return set_output(node, 0, plain_scores(n_margins_, ScoreTransform::kIdentity));
}

Status Importer::op_erf(const onnx::NodeProto& node) {
  SLIPWAY_ASSIGN_OR_RETURN(const Value* v, input_value(node, 0));
  const auto* g = std::get_if<GeluPart>(v);
  if (g == nullptr || g->stage != 1) return fail_node(node, "Erf is only supported inside a GELU (x * 0.5 * (1 + erf(x / sqrt 2)))");
  GeluPart next = *g;
  next.stage = 2;
  return set_output(node, 0, next);
}

}  // namespace slipway::model::onnx_detail
