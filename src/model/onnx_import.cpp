// ONNX import: walks the graph symbolically (no tensors are computed) and maps what skl2onnx and
// torch.onnx.export write onto a Model: graph inputs -> InputColumns, ai.onnx.ml feature operators
// (Scaler, Imputer, OneHotEncoder, Concat/Gather column plumbing) -> TransformSteps, one body
// operator (tree ensemble, linear, Gemm/MatMul chain) -> Body, and the post-processing of its scores
// (Sigmoid, Softmax, 1 - p, ZipMap, ...) -> OutputTransform. Only nodes that feed the probability or
// value output are looked at, so label branches (ArgMax, Cast to int64, ...) are ignored.
//
// Scores follow onnxruntime's kernels (the reference users compare against), including its binary
// TreeEnsembleClassifier conventions (see tree_scores()).
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <variant>

#include "detail/onnx_import_state.h"
#include "slipway/model/importers.h"

namespace slipway::model {
namespace {

using namespace onnx_detail;

const char* const kSupportedOps =
    "Add, ArgMax, ArrayFeatureExtractor, Cast, Concat, Constant, Div, Dropout, Erf, Exp, Flatten, Gather, "
    "Gemm, Identity, Imputer, LinearClassifier, LinearRegressor, MatMul, Mul, Normalizer, OneHotEncoder, "
    "Relu, Reshape, Scaler, Sigmoid, Softmax, Sub, Tanh, TreeEnsembleClassifier, TreeEnsembleRegressor, "
    "ZipMap";

bool is_float_type(int64_t t) {
  return t == onnx::TensorProto::FLOAT || t == onnx::TensorProto::DOUBLE;
}

}  // namespace

namespace onnx_detail {

Status Importer::fail_node(const onnx::NodeProto& node, const std::string& what) const {
  return make_error(ErrorCode::kInvalidArgument, "{}: {} (node '{}')", source_, what, node.name());
}

Status Importer::unsupported_op(const onnx::NodeProto& node) const {
  std::string op = node.op_type();
  if (!node.domain().empty() && node.domain() != "ai.onnx" && node.domain() != "ai.onnx.ml") {
    op = node.domain() + "." + op;
  }
  return make_error(ErrorCode::kInvalidArgument, "{}: operator '{}' (node '{}') is not supported; supported: {}",
                    source_, op, node.name(), kSupportedOps);
}

Status Importer::unsupported_attr(const onnx::NodeProto& node, const std::string& attr,
                                  const std::string& value) const {
  return make_error(ErrorCode::kInvalidArgument, "{}: attribute {}={} of operator '{}' (node '{}') is not supported",
                    source_, attr, value, node.op_type(), node.name());
}

Result<const Value*> Importer::input_value(const onnx::NodeProto& node, int index) const {
  if (index >= node.input_size() || node.input(index).empty()) {
    return fail_node(node, fmt::format("operator '{}' needs input {}", node.op_type(), index + 1));
  }
  auto it = values_.find(node.input(index));
  if (it == values_.end()) {
    return fail_node(node, fmt::format("input '{}' is not produced by any earlier node", node.input(index)));
  }
  return &it->second;
}

Result<const Constant*> Importer::constant_input(const onnx::NodeProto& node, int index) const {
  SLIPWAY_ASSIGN_OR_RETURN(const Value* v, input_value(node, index));
  if (const auto* c = std::get_if<Constant>(v)) return c;
  return fail_node(node, fmt::format("operator '{}' needs a constant (initializer) for input '{}'", node.op_type(),
                                     node.input(index)));
}

Status Importer::set_output(const onnx::NodeProto& node, int index, Value value) {
  if (index < node.output_size() && !node.output(index).empty()) values_[node.output(index)] = std::move(value);
  return {};
}

// ---- graph inputs and constants ----

Status Importer::add_graph_inputs(const onnx::GraphProto& graph) {
  std::set<std::string> initializers;
  for (const auto& t : graph.initializer()) initializers.insert(t.name());
  std::vector<const onnx::ValueInfoProto*> inputs;
  for (const auto& in : graph.input()) {
    if (!initializers.count(in.name())) inputs.push_back(&in);
  }
  if (inputs.empty()) return make_error(ErrorCode::kInvalidArgument, "{}: the ONNX graph has no inputs", source_);
  for (const auto* in : inputs) {
    if (!in->type().has_tensor_type()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "{}: graph input '{}' is not a tensor (maps and sequences are not supported)", source_,
                        in->name());
    }
    const auto& tt = in->type().tensor_type();
    const int64_t elem = tt.elem_type();
    const bool is_string = elem == onnx::TensorProto::STRING;
    if (!is_string && !is_float_type(elem) && elem != onnx::TensorProto::INT64 && elem != onnx::TensorProto::INT32) {
      return make_error(ErrorCode::kInvalidArgument, "{}: graph input '{}' has unsupported element type {}", source_,
                        in->name(), onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(elem)));
    }
    int64_t width = 1;
    const auto& shape = tt.shape();
    if (shape.dim_size() == 2) {
      if (!shape.dim(1).has_dim_value() || shape.dim(1).dim_value() <= 0) {
        return make_error(ErrorCode::kInvalidArgument,
                          "{}: graph input '{}' must have a fixed number of columns (shape [N, k])", source_,
                          in->name());
      }
      width = shape.dim(1).dim_value();
    } else if (shape.dim_size() != 1) {
      return make_error(ErrorCode::kInvalidArgument, "{}: graph input '{}' must be a [N, k] tensor (it has {} dims)",
                        source_, in->name(), shape.dim_size());
    }
    if (width > kMaxColumns) {
      return make_error(ErrorCode::kInvalidArgument, "{}: graph input '{}' has {} columns (limit {})", source_,
                        in->name(), width, kMaxColumns);
    }
    Features f;
    for (int64_t j = 0; j < width; ++j) {
      InputColumn col;
      if (width == 1) {
        col.name = in->name();
      } else if (inputs.size() == 1) {
        col.name = fmt::format("f{}", j);
      } else {
        col.name = fmt::format("{}_{}", in->name(), j);
      }
      col.kind = is_string ? InputKind::kCategorical : InputKind::kNumeric;
      f.cols.push_back(FeatureCol{raw_inputs_.size(), 0, {}});
      raw_inputs_.push_back(std::move(col));
    }
    values_[in->name()] = std::move(f);
  }
  return {};
}

Status Importer::add_initializers(const onnx::GraphProto& graph) {
  for (const auto& t : graph.initializer()) {
    Constant c;
    c.dims.assign(t.dims().begin(), t.dims().end());
    if (t.data_type() == onnx::TensorProto::STRING) {
      c.is_string = true;  // e.g. class labels for the label branch, never needed for scores
    } else if (!tensor_to_doubles(t, c.values)) {
      return make_error(ErrorCode::kCorrupt, "{}: initializer '{}' is damaged or has an unsupported type", source_,
                        t.name());
    }
    values_[t.name()] = std::move(c);
  }
  return {};
}

Status Importer::op_constant(const onnx::NodeProto& node) {
  Constant c;
  if (const auto* a = find_attribute(node, "value")) {
    c.dims.assign(a->t().dims().begin(), a->t().dims().end());
    if (a->t().data_type() == onnx::TensorProto::STRING) {
      c.is_string = true;
    } else if (!tensor_to_doubles(a->t(), c.values)) {
      return fail_node(node, "Constant holds a damaged or unsupported tensor");
    }
  } else if (const auto* f = find_attribute(node, "value_float")) {
    c.values = {f->f()};
  } else if (const auto* fs = find_attribute(node, "value_floats")) {
    c.values.assign(fs->floats().begin(), fs->floats().end());
    c.dims = {static_cast<int64_t>(c.values.size())};
  } else if (const auto* i = find_attribute(node, "value_int")) {
    c.values = {static_cast<double>(i->i())};
  } else if (const auto* is = find_attribute(node, "value_ints")) {
    for (int64_t v : is->ints()) c.values.push_back(static_cast<double>(v));
    c.dims = {static_cast<int64_t>(c.values.size())};
  } else {
    return fail_node(node, "Constant has no value attribute this importer understands");
  }
  return set_output(node, 0, std::move(c));
}

// ---- driver ----

Result<Model> Importer::run(const onnx::ModelProto& proto) {
  const auto& graph = proto.graph();
  SLIPWAY_RETURN_IF_ERROR(add_initializers(graph));
  SLIPWAY_RETURN_IF_ERROR(add_graph_inputs(graph));

  // The prediction output: the probabilities (tensor or ZipMap sequence) or the regression value;
  // integer / string outputs are labels and are skipped.
  const onnx::ValueInfoProto* chosen = nullptr;
  for (const auto& out : graph.output()) {
    const auto& type = out.type();
    bool candidate = type.has_sequence_type() || type.value_case() == onnx::TypeProto::VALUE_NOT_SET ||
                     (type.has_tensor_type() && is_float_type(type.tensor_type().elem_type()));
    if (!candidate) continue;
    if (chosen == nullptr || out.name().find("prob") != std::string::npos) chosen = &out;
  }
  if (chosen == nullptr) {
    return make_error(ErrorCode::kInvalidArgument,
                      "{}: the ONNX graph has no float or probability output to import", source_);
  }

  // Only nodes the chosen output depends on are interpreted (walk producers backwards).
  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < graph.node_size(); ++i) {
    for (const auto& o : graph.node(i).output()) producer[o] = i;
  }
  std::vector<uint8_t> live(static_cast<size_t>(graph.node_size()), 0);
  std::vector<std::string> stack{chosen->name()};
  while (!stack.empty()) {
    std::string name = std::move(stack.back());
    stack.pop_back();
    auto it = producer.find(name);
    if (it == producer.end() || live[static_cast<size_t>(it->second)]) continue;
    live[static_cast<size_t>(it->second)] = 1;
    for (const auto& in : graph.node(it->second).input()) stack.push_back(in);
  }
  for (int i = 0; i < graph.node_size(); ++i) {
    if (!live[static_cast<size_t>(i)]) continue;
    SLIPWAY_RETURN_IF_ERROR(apply(graph.node(i)));
  }
  auto it = values_.find(chosen->name());
  if (it == values_.end()) {
    return make_error(ErrorCode::kInvalidArgument, "{}: output '{}' is not produced by any node", source_,
                      chosen->name());
  }
  const auto* scores = std::get_if<Scores>(&it->second);
  if (scores == nullptr) {
    return make_error(ErrorCode::kInvalidArgument, "{}: output '{}' is not computed by a supported model operator",
                      source_, chosen->name());
  }
  if (labels_.empty()) {
    // Written by slipway's exporter, whose graphs end in margins + transform without label metadata.
    for (const auto& prop : proto.metadata_props()) {
      if (prop.key() != "slipway.class_labels") continue;
      auto parsed = nlohmann::json::parse(prop.value(), nullptr, false);
      if (!parsed.is_array()) break;
      for (const auto& l : parsed) {
        if (l.is_string()) labels_.push_back(l.get<std::string>());
      }
    }
  }
  SLIPWAY_RETURN_IF_ERROR(finish(*scores));

  model_.provenance.producer = "import:onnx";
  model_.provenance.producer_version =
      proto.producer_name() + (proto.producer_version().empty() ? "" : " " + proto.producer_version());
  model_.provenance.source_file = source_;
  nlohmann::json opsets = nlohmann::json::object();
  for (const auto& o : proto.opset_import()) opsets[o.domain().empty() ? "ai.onnx" : o.domain()] = o.version();
  model_.provenance.extra = {{"ir_version", proto.ir_version()}, {"opsets", opsets}, {"graph", graph.name()},
                             {"output", chosen->name()}};
  SLIPWAY_RETURN_IF_ERROR(validate_model(model_).with_context(source_));
  return std::move(model_);
}

Status Importer::apply(const onnx::NodeProto& node) {
  const std::string& op = node.op_type();
  const bool ml = node.domain() == "ai.onnx.ml";
  const bool std_domain = node.domain().empty() || node.domain() == "ai.onnx";
  if (ml) {
    if (op == "TreeEnsembleClassifier" || op == "TreeEnsembleRegressor") return op_tree_ensemble(node);
    if (op == "LinearClassifier" || op == "LinearRegressor") return op_linear(node);
    if (op == "Scaler") return op_scaler(node);
    if (op == "Imputer") return op_imputer(node);
    if (op == "OneHotEncoder") return op_one_hot(node);
    if (op == "Normalizer") return op_normalizer(node);
    if (op == "ZipMap") return op_zipmap(node);
    if (op == "ArrayFeatureExtractor") return op_select_columns(node);
    if (op == "CastMap" || op == "FeatureVectorizer") return unsupported_op(node);
  } else if (std_domain) {
    if (op == "Constant") return op_constant(node);
    if (op == "Identity" || op == "Dropout") return op_passthrough(node);
    if (op == "Cast") return op_cast(node);
    if (op == "Flatten" || op == "Reshape") return op_reshape(node);
    if (op == "Concat") return op_concat(node);
    if (op == "Gather") return op_select_columns(node);
    if (op == "Gemm" || op == "MatMul") return op_dense(node);
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") return op_arith(node);
    if (op == "Relu" || op == "Tanh" || op == "Sigmoid" || op == "Softmax" || op == "Exp") {
      return op_activation(node);
    }
    if (op == "Erf") return op_erf(node);
  }
  return unsupported_op(node);
}

// ---- tree ensembles ----

Status Importer::op_tree_ensemble(const onnx::NodeProto& node) {
  const bool classifier = node.op_type() == "TreeEnsembleClassifier";
  SLIPWAY_ASSIGN_OR_RETURN(const Features* f, features_input(node, 0));
  for (const char* a : {"nodes_values_as_tensor", "base_values_as_tensor", "target_weights_as_tensor",
                        "class_weights_as_tensor"}) {
    if (find_attribute(node, a) != nullptr) return unsupported_attr(node, a, "[...]");
  }
  const auto tree_ids = attr_ints(node, "nodes_treeids");
  const auto node_ids = attr_ints(node, "nodes_nodeids");
  const auto feature_ids = attr_ints(node, "nodes_featureids");
  const auto modes = attr_strings(node, "nodes_modes");
  const auto values = attr_floats(node, "nodes_values");
  const auto true_ids = attr_ints(node, "nodes_truenodeids");
  const auto false_ids = attr_ints(node, "nodes_falsenodeids");
  const auto missing_true = attr_ints(node, "nodes_missing_value_tracks_true");
  const size_t n = tree_ids.size();
  if (n == 0 || node_ids.size() != n || feature_ids.size() != n || modes.size() != n || values.size() != n ||
      true_ids.size() != n || false_ids.size() != n || (!missing_true.empty() && missing_true.size() != n)) {
    return fail_node(node, "the nodes_* attributes are missing or differ in length");
  }
  const char* p = classifier ? "class_" : "target_";
  const auto w_tree = attr_ints(node, std::string(p) + "treeids");
  const auto w_node = attr_ints(node, std::string(p) + "nodeids");
  const auto w_id = attr_ints(node, std::string(p) + "ids");
  const auto w_value = attr_floats(node, std::string(p) + "weights");
  if (w_node.size() != w_tree.size() || w_id.size() != w_tree.size() || w_value.size() != w_tree.size()) {
    return fail_node(node, fmt::format("the {}* attributes differ in length", p));
  }
  const std::string post = attr_string(node, "post_transform", "NONE");
  const auto base = attr_floats(node, "base_values");

  // Output width K and the node comparison.
  size_t k_out = 1;
  if (classifier) {
    auto labels = labels_of(node, "classlabels_int64s");
    if (labels.size() < 2) return fail_node(node, "TreeEnsembleClassifier needs at least two class labels");
    k_out = labels.size();
    SLIPWAY_RETURN_IF_ERROR(set_labels(node, std::move(labels)));
  } else {
    const int64_t targets = attr_int(node, "n_targets", 1);
    if (targets < 1 || targets > 100000) return unsupported_attr(node, "n_targets", std::to_string(targets));
    k_out = static_cast<size_t>(targets);  // > 1: the margins of a multiclass model (as slipway exports them)
  }
  std::optional<Comparison> comparison;
  for (size_t i = 0; i < n; ++i) {
    if (modes[i] == "LEAF") continue;
    Comparison c;
    if (modes[i] == "BRANCH_LEQ") {
      c = Comparison::kLessEqual;
    } else if (modes[i] == "BRANCH_LT") {
      c = Comparison::kLess;
    } else {
      return unsupported_attr(node, "nodes_modes", modes[i] + " (supported: BRANCH_LEQ, BRANCH_LT)");
    }
    if (comparison && *comparison != c) return unsupported_attr(node, "nodes_modes", "mixed BRANCH_LEQ and BRANCH_LT");
    comparison = c;
  }

  // Trees in order of first appearance; a tree's root is its first listed node (as onnxruntime does).
  std::map<int64_t, size_t> tree_index;
  std::vector<std::map<int64_t, size_t>> node_pos;  // per tree: node id -> position in the attributes
  std::vector<size_t> roots;
  for (size_t i = 0; i < n; ++i) {
    auto [it, fresh] = tree_index.emplace(tree_ids[i], roots.size());
    if (fresh) {
      roots.push_back(i);
      node_pos.emplace_back();
    }
    if (!node_pos[it->second].emplace(node_ids[i], i).second) {
      return fail_node(node, fmt::format("tree {} lists node {} twice", tree_ids[i], node_ids[i]));
    }
  }
  // Leaf weights, dense per output.
  std::map<std::pair<size_t, size_t>, std::vector<double>> leaf;  // (tree, position) -> K values
  std::set<int64_t> used_ids;
  bool all_positive = true;
  std::vector<std::set<size_t>> has_class1(roots.size());
  for (size_t j = 0; j < w_tree.size(); ++j) {
    auto t = tree_index.find(w_tree[j]);
    if (t == tree_index.end() || !node_pos[t->second].count(w_node[j])) {
      return fail_node(node, fmt::format("a weight refers to node {} of tree {}, which does not exist", w_node[j], w_tree[j]));
    }
    if (w_id[j] < 0 || static_cast<size_t>(w_id[j]) >= k_out) {
      return fail_node(node, fmt::format("weight for output {} out of range [0, {})", w_id[j], k_out));
    }
    const size_t pos = node_pos[t->second][w_node[j]];
    auto& v = leaf[{t->second, pos}];
    v.resize(k_out, 0.0);
    v[static_cast<size_t>(w_id[j])] += w_value[j];
    used_ids.insert(w_id[j]);
    all_positive = all_positive && w_value[j] >= 0;
    if (w_id[j] == 1) has_class1[t->second].insert(pos);
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto index, bind_features(node, *f));

  TreeEnsemble te;
  te.leaf_width = static_cast<uint32_t>(k_out);
  te.comparison = comparison.value_or(Comparison::kLessEqual);
  bool class1_everywhere = false;
  for (size_t t = 0; t < roots.size(); ++t) {
    Tree tree;
    std::vector<std::pair<size_t, int32_t>> stack{{roots[t], -1}};  // (attribute position, parent slot)
    std::set<size_t> seen;
    bool all_leaves_class1 = true;
    while (!stack.empty()) {
      auto [pos, slot] = stack.back();
      stack.pop_back();
      if (!seen.insert(pos).second) {
        return fail_node(node, fmt::format("tree {} reaches node {} twice", tree_ids[pos], node_ids[pos]));
      }
      const auto me = static_cast<int32_t>(tree.left.size());
      if (slot >= 0) {
        // slot encodes parent * 2 + (0 = true / left, 1 = false / right)
        (slot % 2 == 0 ? tree.left : tree.right)[static_cast<size_t>(slot / 2)] = me;
      }
      tree.left.push_back(-1);
      tree.right.push_back(-1);
      tree.feature.push_back(0);
      tree.threshold.push_back(0.0f);
      tree.default_left.push_back(0);
      tree.leaf_values.resize(tree.leaf_values.size() + k_out, 0.0f);
      if (modes[pos] == "LEAF") {
        auto it = leaf.find({t, pos});
        if (it != leaf.end()) {
          for (size_t k = 0; k < k_out; ++k) tree.leaf_values[static_cast<size_t>(me) * k_out + k] = static_cast<float>(it->second[k]);
        }
        all_leaves_class1 = all_leaves_class1 && has_class1[t].count(pos) > 0;
        continue;
      }
      if (feature_ids[pos] < 0 || static_cast<size_t>(feature_ids[pos]) >= index.size()) {
        return fail_node(node, fmt::format("tree {} node {} splits on feature {}, but the input has {} columns",
                                           tree_ids[pos], node_ids[pos], feature_ids[pos], index.size()));
      }
      tree.feature.back() = static_cast<int32_t>(index[static_cast<size_t>(feature_ids[pos])]);
      tree.threshold.back() = values[pos];
      tree.default_left.back() = !missing_true.empty() && missing_true[pos] != 0;
      for (int side = 1; side >= 0; --side) {  // push false first so the true branch is numbered first
        const int64_t child = side == 0 ? true_ids[pos] : false_ids[pos];
        auto c = node_pos[t].find(child);
        if (c == node_pos[t].end()) {
          return fail_node(node, fmt::format("tree {} node {} points to missing node {}", tree_ids[pos], node_ids[pos], child));
        }
        stack.push_back({c->second, me * 2 + side});
      }
      if (tree.left.size() > static_cast<size_t>(n)) return fail_node(node, "tree structure is cyclic");
    }
    class1_everywhere = class1_everywhere || all_leaves_class1;
    te.trees.push_back(std::move(tree));
  }

  ScoreTransform transform = ScoreTransform::kIdentity;
  Scores scores;
  te.base_score.assign(k_out, 0.0);
  if (!classifier) {
    const std::string agg = attr_string(node, "aggregate_function", "SUM");
    if (agg != "SUM" && agg != "AVERAGE") return unsupported_attr(node, "aggregate_function", agg);
    te.average = agg == "AVERAGE";
    if (post != "NONE") return unsupported_attr(node, "post_transform", post);
    if (base.size() != 0 && base.size() != k_out && !(k_out == 1 && base.size() == 1)) {
      return unsupported_attr(node, "base_values", fmt::format("{} values for {} targets", base.size(), k_out));
    }
    for (size_t k = 0; k < base.size(); ++k) te.base_score[k] = base[k];
    SLIPWAY_RETURN_IF_ERROR(start_body(node, std::move(te)));
    n_margins_ = k_out;
    return set_output(node, 0, plain_scores(k_out, ScoreTransform::kIdentity));
  }
  if (post == "LOGISTIC") {
    transform = ScoreTransform::kSigmoid;
  } else if (post == "SOFTMAX" || post == "SOFTMAX_ZERO") {
    transform = ScoreTransform::kSoftmax;
  } else if (post != "NONE") {
    return unsupported_attr(node, "post_transform", post);
  }
  if (k_out > 2 || used_ids.count(1)) {
    if (k_out == 2 && base.size() == 2) {
      return unsupported_attr(node, "base_values", "2 values in a binary ensemble that scores class 1");
    }
    if (k_out == 2 && !class1_everywhere) {
      return fail_node(node, "binary ensemble whose class-1 weights do not cover every row is not supported");
    }
    if (base.size() > k_out) return unsupported_attr(node, "base_values", fmt::format("{} values", base.size()));
    for (size_t k = 0; k < base.size(); ++k) te.base_score[k] = base[k];
    scores = plain_scores(k_out, transform);
  } else {
    // onnxruntime's binary case: only class 0 is scored (s); the output is [1 - s, s] when every
    // weight is >= 0 (even with LOGISTIC), [sigmoid(-s), sigmoid(s)] with LOGISTIC, else [-s, s].
    if (base.size() > 1) return unsupported_attr(node, "base_values", fmt::format("{} values in a binary ensemble", base.size()));
    if (base.size() == 1) te.base_score[0] = base[0];
    scores.version = version_ + 1;
    if (all_positive) {
      scores.transform = ScoreTransform::kIdentity;
      scores.cols = {{0, ScoreKind::kComplement}, {0, ScoreKind::kPlain}};
    } else if (transform == ScoreTransform::kSigmoid) {
      scores.transform = ScoreTransform::kSigmoid;
      scores.cols = {{0, ScoreKind::kComplement}, {0, ScoreKind::kPlain}};
    } else {
      scores.transform = ScoreTransform::kIdentity;
      scores.cols = {{0, ScoreKind::kNegated}, {0, ScoreKind::kPlain}};
    }
    scores.sums_to_one = scores.cols[0].kind == ScoreKind::kComplement;
  }
  SLIPWAY_RETURN_IF_ERROR(start_body(node, std::move(te)));
  n_margins_ = k_out;
  scores.version = version_;
  return set_output(node, 1, std::move(scores));
}

// ---- the end: task, output transform, margins ----

Status Importer::combine_margins(const std::vector<std::vector<double>>& comb, const std::vector<double>& add) {
  auto mix = [&](const float* rows, size_t width, std::vector<float>& out) {
    out.assign(comb.size() * width, 0.0f);
    for (size_t i = 0; i < comb.size(); ++i) {
      for (size_t w = 0; w < width; ++w) {
        double acc = 0;
        for (size_t j = 0; j < comb[i].size(); ++j) acc += comb[i][j] * rows[j * width + w];
        out[i * width + w] = static_cast<float>(acc);
      }
    }
  };
  auto mix_bias = [&](const std::vector<float>& bias) {
    std::vector<float> out(comb.size());
    for (size_t i = 0; i < comb.size(); ++i) {
      double acc = add[i];
      for (size_t j = 0; j < comb[i].size(); ++j) acc += comb[i][j] * bias[j];
      out[i] = static_cast<float>(acc);
    }
    return out;
  };
  if (auto* lin = std::get_if<LinearModel>(&model_.body)) {
    std::vector<float> w;
    mix(lin->weights.data(), lin->weights.size() / lin->bias.size(), w);
    lin->bias = mix_bias(lin->bias);
    lin->weights = std::move(w);
  } else if (auto* mlp = std::get_if<Mlp>(&model_.body)) {
    auto& last = mlp->layers.back();
    if (last.activation != Activation::kIdentity) {
      bool pure_selection = true;
      for (size_t i = 0; i < comb.size(); ++i) {
        int ones = 0;
        for (double c : comb[i]) ones += c == 1.0 ? 1 : (c == 0.0 ? 0 : 2);
        pure_selection = pure_selection && ones == 1 && add[i] == 0.0;
      }
      if (!pure_selection) {
        return make_error(ErrorCode::kInvalidArgument,
                          "{}: the network's last layer has an activation, so its outputs cannot be combined", source_);
      }
    }
    std::vector<float> w;
    mix(last.weights.data(), last.in, w);
    last.bias = mix_bias(last.bias);
    last.weights = std::move(w);
    last.out = static_cast<uint32_t>(comb.size());
  } else {
    auto& te = std::get<TreeEnsemble>(model_.body);
    for (auto& t : te.trees) {
      std::vector<float> v(t.size() * comb.size());
      for (size_t node = 0; node < t.size(); ++node) {
        for (size_t i = 0; i < comb.size(); ++i) {
          double acc = 0;
          for (size_t j = 0; j < comb[i].size(); ++j) acc += comb[i][j] * t.leaf_values[node * te.leaf_width + j];
          v[node * comb.size() + i] = static_cast<float>(acc);
        }
      }
      t.leaf_values = std::move(v);
    }
    std::vector<double> b(comb.size());
    for (size_t i = 0; i < comb.size(); ++i) {
      b[i] = add[i];
      for (size_t j = 0; j < comb[i].size(); ++j) b[i] += comb[i][j] * te.base_score[j];
    }
    te.base_score = std::move(b);
    te.leaf_width = static_cast<uint32_t>(comb.size());
  }
  n_margins_ = comb.size();
  return {};
}

void Importer::finish_body() {
  if (auto* mlp = std::get_if<Mlp>(&model_.body)) {
    if (mlp->layers.size() == 1 && mlp->layers[0].activation == Activation::kIdentity) {
      LinearModel lin{std::move(mlp->layers[0].weights), std::move(mlp->layers[0].bias)};
      model_.body = std::move(lin);
    }
    return;
  }
  auto* te = std::get_if<TreeEnsemble>(&model_.body);
  if (te == nullptr || te->leaf_width == 1 || te->average) return;
  // Gradient-boosted multiclass: each tree scores one class -> leaf_width 1 + tree_output.
  std::vector<int32_t> owner(te->trees.size(), -1);
  for (size_t t = 0; t < te->trees.size(); ++t) {
    const auto& tree = te->trees[t];
    for (size_t node = 0; node < tree.size(); ++node) {
      if (tree.left[node] >= 0) continue;
      for (uint32_t k = 0; k < te->leaf_width; ++k) {
        if (tree.leaf_values[node * te->leaf_width + k] == 0.0f) continue;
        if (owner[t] >= 0 && owner[t] != static_cast<int32_t>(k)) return;  // a real multi-output leaf
        owner[t] = static_cast<int32_t>(k);
      }
    }
  }
  for (size_t t = 0; t < te->trees.size(); ++t) {
    auto& tree = te->trees[t];
    const uint32_t k = owner[t] < 0 ? 0 : static_cast<uint32_t>(owner[t]);
    std::vector<float> v(tree.size());
    for (size_t node = 0; node < tree.size(); ++node) v[node] = tree.leaf_values[node * te->leaf_width + k];
    tree.leaf_values = std::move(v);
    te->tree_output.push_back(static_cast<int32_t>(k));
  }
  te->leaf_width = 1;
}

Status Importer::finish(const Scores& s) {
  if (s.version != version_) {
    return make_error(ErrorCode::kInvalidArgument, "{}: the output is read before the end of the model it comes from",
                      source_);
  }
  const size_t width = s.cols.size();
  size_t n_classes = labels_.size();
  // Without labels: sigmoid over p or [1 - p, p] is a binary classifier, softmax a multiclass one.
  if (n_classes == 0 && s.transform == ScoreTransform::kSigmoid && (width == 1 || width == 2)) n_classes = 2;
  if (n_classes == 0 && s.transform == ScoreTransform::kSoftmax && width >= 2) n_classes = width;
  if (n_classes > 0 && labels_.empty()) {
    for (size_t i = 0; i < n_classes; ++i) labels_.push_back(std::to_string(i));
  }
  const size_t m = n_margins_;
  auto unit = [&](size_t j, double c) {
    std::vector<double> row(m, 0.0);
    row[j] = c;
    return row;
  };
  if (n_classes == 0) {
    if (width != 1 || s.cols[0].kind != ScoreKind::kPlain || s.transform == ScoreTransform::kSigmoid ||
        s.transform == ScoreTransform::kSoftmax) {
      return make_error(ErrorCode::kInvalidArgument,
                        "{}: the output has {} columns and no class labels; only single-value regression is supported",
                        source_, width);
    }
    SLIPWAY_RETURN_IF_ERROR(combine_margins({unit(s.cols[0].margin, 1.0)}, {0.0}));
    model_.task = Task::kRegression;
    model_.output_transform = s.transform == ScoreTransform::kExp ? OutputTransform::kExp : OutputTransform::kIdentity;
    model_.output_names = {"value"};
  } else if (n_classes == 2) {
    if (width != 1 && width != 2) {
      return make_error(ErrorCode::kInvalidArgument, "{}: a binary classifier's output has {} columns", source_, width);
    }
    const ScoreCol pos = s.cols[width - 1];
    std::vector<double> row;
    double add = 0;
    OutputTransform ot = OutputTransform::kSigmoid;
    if (s.transform == ScoreTransform::kSigmoid) {
      if (pos.kind == ScoreKind::kNegated) return make_error(ErrorCode::kInvalidArgument, "{}: unsupported sigmoid(-s) output", source_);
      row = unit(pos.margin, pos.kind == ScoreKind::kPlain ? 1.0 : -1.0);
    } else if (s.transform == ScoreTransform::kSoftmax) {
      if (m != 2) return make_error(ErrorCode::kInvalidArgument, "{}: softmax over {} scores for two classes", source_, m);
      const double sign = pos.kind == ScoreKind::kPlain ? 1.0 : -1.0;
      if (pos.kind == ScoreKind::kNegated) return make_error(ErrorCode::kInvalidArgument, "{}: unsupported softmax(-s) output", source_);
      row = unit(pos.margin, sign);
      row[1 - pos.margin] = -sign;  // softmax([a, b])[1] = sigmoid(b - a)
    } else if (s.transform == ScoreTransform::kIdentity) {
      ot = OutputTransform::kIdentity;
      row = unit(pos.margin, pos.kind == ScoreKind::kPlain ? 1.0 : -1.0);
      add = pos.kind == ScoreKind::kComplement ? 1.0 : 0.0;
    } else {
      return make_error(ErrorCode::kInvalidArgument, "{}: exp() output for a classifier is not supported", source_);
    }
    SLIPWAY_RETURN_IF_ERROR(combine_margins({row}, {add}));
    model_.task = Task::kBinary;
    model_.output_transform = ot;
    model_.output_names = {"probability"};
  } else {
    if (width != n_classes || m != n_classes) {
      return make_error(ErrorCode::kInvalidArgument, "{}: the output has {} columns for {} classes", source_, width,
                        n_classes);
    }
    for (size_t i = 0; i < width; ++i) {
      if (s.cols[i].margin != i || s.cols[i].kind != ScoreKind::kPlain) {
        return make_error(ErrorCode::kInvalidArgument, "{}: rearranged multiclass scores are not supported", source_);
      }
    }
    if (s.transform == ScoreTransform::kSigmoid || s.transform == ScoreTransform::kExp) {
      return make_error(ErrorCode::kInvalidArgument,
                        "{}: a multiclass output with per-class {} (one-vs-rest) is not supported", source_,
                        s.transform == ScoreTransform::kSigmoid ? "LOGISTIC" : "exp");
    }
    model_.task = Task::kMulticlass;
    model_.output_transform = s.transform == ScoreTransform::kSoftmax ? OutputTransform::kSoftmax : OutputTransform::kIdentity;
    for (const auto& l : labels_) model_.output_names.push_back("prob_" + l);
  }
  model_.class_labels = labels_;
  finish_body();
  return {};
}

}  // namespace onnx_detail

Result<Model> import_onnx(std::string_view bytes, const std::string& source_name) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return make_error(ErrorCode::kInvalidArgument, "{}: ONNX file is larger than 2 GiB", source_name);
  }
  onnx::ModelProto proto;
  if (!proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return make_error(ErrorCode::kParseError, "{}: not a valid ONNX model (the protobuf message cannot be parsed)",
                      source_name);
  }
  if (!proto.has_graph() || proto.graph().node_size() == 0 || proto.graph().output_size() == 0) {
    return make_error(ErrorCode::kParseError, "{}: not a valid ONNX model (no graph with nodes and outputs)",
                      source_name);
  }
  onnx_detail::Importer importer(source_name);
  return importer.run(proto);
}

}  // namespace slipway::model
