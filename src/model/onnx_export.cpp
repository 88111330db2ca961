// ONNX export: Model -> ModelProto (opset 13 + ai.onnx.ml 3) that onnxruntime loads.
//
// Signature: one graph input per model input, named like it: numeric inputs as float [N, 1] (NaN =
// missing), categorical inputs as string [N, 1] (an empty string is missing). Each input's steps
// become ONNX operators (Imputer, Sub/Div/Mul/Add, Log, Clip, bucket counting, OneHotEncoder,
// LabelEncoder); the encoded columns are concatenated into "features" [N, n_features], the body
// computes the margins and the output transform gives one output "output" [N, n_outputs] with the
// same columns as slipway's (binary: positive-class probability; multiclass: one per class).
//
// A row normalization becomes an ai.onnx.ml Normalizer node on "features" (the operator whose
// onnxruntime kernel slipway's RowNormalization reproduces bit for bit).
//
// Trees are written as TreeEnsembleRegressor producing raw margins (its classifier sibling's
// binary conventions differ from ours); the transform is a separate node. ONNX trees have no
// set-membership split, so a categorical split becomes a chain of BRANCH_EQ nodes, one per member
// code in ascending order: each chain node's true branch is the members' subtree (shared, not
// copied: onnxruntime accepts a node reached by several true branches, which is how onnxmltools
// converts LightGBM's categorical splits), its false branch the next chain node, and the last one's
// false branch the non-members' subtree. v == code holds exactly for the member codes, so negative,
// fractional and out-of-set codes fall through to the non-members, as in slipway. A missing value
// goes to the members' side through missing_value_tracks_true on the first chain node, else it
// falls through every comparison (NaN == c is false) to the non-members. An empty set is one
// BRANCH_EQ against NaN (never true) whose missing flag keeps the default direction.
#include <algorithm>
#include <cmath>
#include <limits>

#include "detail/onnx_proto.h"
#include "slipway/model/exporters.h"

namespace slipway::model {
namespace {

using namespace onnx_detail;

class Exporter {
 public:
  explicit Exporter(const Model& model) : model_(model) {}

  Result<std::string> run() {
    onnx::ModelProto proto;
    proto.set_ir_version(8);
    proto.set_producer_name("slipway");
    proto.set_producer_version(SLIPWAY_VERSION_STRING);
    proto.set_doc_string(fmt::format("{} {} model exported by slipway; inputs: one [N, 1] tensor per model input; "
                                     "output 'output' [N, {}]",
                                     task_name(model_.task), body_kind_name(model_.body), model_.n_outputs()));
    auto* op = proto.add_opset_import();
    op->set_domain("");
    op->set_version(13);
    op = proto.add_opset_import();
    op->set_domain("ai.onnx.ml");
    op->set_version(3);
    if (!model_.class_labels.empty()) {
      auto* prop = proto.add_metadata_props();
      prop->set_key("slipway.class_labels");
      prop->set_value(nlohmann::json(model_.class_labels).dump());
    }
    auto* task = proto.add_metadata_props();
    task->set_key("slipway.task");
    task->set_value(task_name(model_.task));
    graph_ = proto.mutable_graph();
    graph_->set_name("slipway_model");

    std::vector<std::string> columns;
    for (size_t i = 0; i < model_.inputs.size(); ++i) {
      SLIPWAY_ASSIGN_OR_RETURN(std::string col, encode_input(i));
      columns.push_back(std::move(col));
    }
    std::string features = columns.size() == 1 ? columns[0] : node("Concat", columns, {{"axis", 1}});
    if (model_.row_normalization != RowNormalization::kNone) {
      auto* n = add_node("Normalizer", {features}, "ai.onnx.ml");
      set_string(n, "norm", model_.row_normalization == RowNormalization::kMax ? "MAX"
                            : model_.row_normalization == RowNormalization::kL1 ? "L1"
                                                                                : "L2");
      features = n->output(0);
    }
    std::string margins;
    if (const auto* lin = std::get_if<LinearModel>(&model_.body)) {
      margins = dense(features, lin->weights, lin->bias, model_.n_features());
    } else if (const auto* mlp = std::get_if<Mlp>(&model_.body)) {
      margins = features;
      for (const auto& layer : mlp->layers) {
        margins = dense(margins, layer.weights, layer.bias, layer.in);
        margins = activation(margins, layer.activation);
      }
    } else {
      SLIPWAY_ASSIGN_OR_RETURN(margins, trees(features, std::get<TreeEnsemble>(model_.body)));
    }
    std::string out;
    switch (model_.output_transform) {
      case OutputTransform::kIdentity: out = node("Identity", {margins}); break;
      case OutputTransform::kSigmoid: out = node("Sigmoid", {margins}); break;
      case OutputTransform::kSoftmax: out = node("Softmax", {margins}, {{"axis", 1}}); break;
      case OutputTransform::kExp: out = node("Exp", {margins}); break;
    }
    // Rename the last node's output to the public name.
    graph_->mutable_node(graph_->node_size() - 1)->set_output(0, "output");
    add_value_info(graph_->add_output(), "output", onnx::TensorProto::FLOAT, static_cast<int64_t>(model_.n_outputs()));
    std::string bytes;
    if (!proto.SerializeToString(&bytes)) {
      return make_error(ErrorCode::kInternal, "export to ONNX: the model could not be serialized");
    }
    return bytes;
  }

 private:
  struct Attr {
    std::string name;
    int64_t i = 0;
    Attr(std::string n, int64_t v) : name(std::move(n)), i(v) {}
  };

  std::string fresh(const std::string& hint) { return fmt::format("{}_{}", hint, counter_++); }

  onnx::NodeProto* add_node(const std::string& op, const std::vector<std::string>& inputs, const std::string& domain = "") {
    auto* n = graph_->add_node();
    n->set_op_type(op);
    n->set_domain(domain);
    n->set_name(fresh(op));
    for (const auto& in : inputs) n->add_input(in);
    n->add_output(n->name() + "_out");
    return n;
  }

  std::string node(const std::string& op, const std::vector<std::string>& inputs, const std::vector<Attr>& attrs = {}) {
    auto* n = add_node(op, inputs);
    for (const auto& a : attrs) {
      auto* at = n->add_attribute();
      at->set_name(a.name);
      at->set_type(onnx::AttributeProto::INT);
      at->set_i(a.i);
    }
    return n->output(0);
  }

  std::string constant(const std::vector<int64_t>& dims, const std::vector<float>& values) {
    std::string name = fresh("const");
    *graph_->add_initializer() = make_float_tensor(name, dims, values);
    return name;
  }
  std::string scalar(double v) { return constant({}, {static_cast<float>(v)}); }

  static void add_value_info(onnx::ValueInfoProto* info, const std::string& name, int32_t elem, int64_t width) {
    info->set_name(name);
    auto* tt = info->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem);
    tt->mutable_shape()->add_dim()->set_dim_param("N");
    tt->mutable_shape()->add_dim()->set_dim_value(width);
  }

  static void set_floats(onnx::NodeProto* n, const std::string& name, const std::vector<float>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOATS);
    for (float x : v) a->add_floats(x);
  }
  static void set_ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void set_strings(onnx::NodeProto* n, const std::string& name, const std::vector<std::string>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRINGS);
    for (const auto& x : v) a->add_strings(x);
  }
  static void set_string(onnx::NodeProto* n, const std::string& name, const std::string& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
  }
  static void set_float(onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void set_int(onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }

  // ---- inputs ----

  Result<std::string> encode_input(size_t i) {
    const InputColumn& in = model_.inputs[i];
    const bool categorical = in.kind == InputKind::kCategorical;
    add_value_info(graph_->add_input(), in.name, categorical ? onnx::TensorProto::STRING : onnx::TensorProto::FLOAT, 1);
    std::string x = in.name;
    for (const auto& step : in.steps) {
      const auto& p = step.params;
      switch (step.kind) {
        case StepKind::kImpute: {
          auto* n = add_node("Imputer", {x}, "ai.onnx.ml");
          set_floats(n, "imputed_value_floats", {static_cast<float>(p[0])});
          set_float(n, "replaced_value_float", std::numeric_limits<float>::quiet_NaN());
          x = n->output(0);
          break;
        }
        case StepKind::kStandardize:
          x = node("Div", {node("Sub", {x, scalar(p[0])}), scalar(p[1])});
          break;
        case StepKind::kMinMax:
          x = node("Add", {node("Mul", {node("Sub", {x, scalar(p[0])}), scalar(p[1])}), scalar(p[2])});
          break;
        case StepKind::kLog1p:
          x = node("Log", {node("Add", {x, scalar(1.0)})});
          break;
        case StepKind::kClip:
          x = node("Clip", {x, scalar(p[0]), scalar(p[1])});
          break;
        case StepKind::kBucketize: {
          // number of edges <= x, NaN stays NaN
          std::vector<float> edges(p.begin(), p.end());
          const std::string ge = node("GreaterOrEqual", {x, constant({1, static_cast<int64_t>(edges.size())}, edges)});
          const std::string count = node("ReduceSum", {node("Cast", {ge}, {{"to", onnx::TensorProto::FLOAT}}),
                                                       int64_constant({1})},
                                         {{"keepdims", 1}});
          x = node("Where", {node("IsNaN", {x}), x, count});
          break;
        }
        case StepKind::kOrdinal: {
          auto* n = add_node("LabelEncoder", {x}, "ai.onnx.ml");
          std::vector<std::string> keys = step.categories;
          std::vector<float> values;
          for (size_t k = 0; k < keys.size(); ++k) values.push_back(static_cast<float>(k));
          if (std::find(keys.begin(), keys.end(), "") == keys.end()) {  // missing -> NaN, as slipway encodes it
            keys.emplace_back();
            values.push_back(std::numeric_limits<float>::quiet_NaN());
          }
          set_strings(n, "keys_strings", keys);
          set_floats(n, "values_floats", values);
          set_float(n, "default_float", static_cast<float>(p.empty() ? NAN : p[0]));
          x = n->output(0);
          break;
        }
        case StepKind::kOneHot: {
          auto* n = add_node("OneHotEncoder", {x}, "ai.onnx.ml");
          set_strings(n, "cats_strings", step.categories);
          set_int(n, "zeros", 1);
          const auto c = static_cast<int64_t>(step.categories.size());
          x = node("Reshape", {n->output(0), int64_constant({-1, c})});
          if (step.unknown_bucket) {
            const std::string known = node("ReduceSum", {x, int64_constant({1})}, {{"keepdims", 1}});
            x = node("Concat", {x, node("Sub", {scalar(1.0), known})}, {{"axis", 1}});
          }
          break;
        }
      }
    }
    if (categorical && (in.steps.empty() || (in.steps.back().kind != StepKind::kOneHot &&
                                             in.steps.back().kind != StepKind::kOrdinal))) {
      return make_error(ErrorCode::kInvalidArgument, "export to ONNX: categorical input '{}' has no encoding step",
                        in.name);
    }
    return x;
  }

  std::string int64_constant(const std::vector<int64_t>& values) {
    std::string name = fresh("shape");
    *graph_->add_initializer() = make_int64_tensor(name, {static_cast<int64_t>(values.size())}, values);
    return name;
  }

  // ---- bodies ----

  std::string dense(const std::string& x, const std::vector<float>& weights, const std::vector<float>& bias, size_t in) {
    const auto out = static_cast<int64_t>(bias.size());
    return node("Gemm", {x, constant({out, static_cast<int64_t>(in)}, weights), constant({out}, bias)}, {{"transB", 1}});
  }

  std::string activation(const std::string& x, Activation a) {
    switch (a) {
      case Activation::kIdentity: return x;
      case Activation::kRelu: return node("Relu", {x});
      case Activation::kTanh: return node("Tanh", {x});
      case Activation::kSigmoid: return node("Sigmoid", {x});
      case Activation::kGelu: {
        // x * 0.5 * (1 + erf(x / sqrt 2)), the exact GELU (Gelu is not an opset-13 operator)
        const std::string erf = node("Erf", {node("Div", {x, scalar(M_SQRT2)})});
        return node("Mul", {node("Mul", {x, node("Add", {erf, scalar(1.0)})}), scalar(0.5)});
      }
    }
    return x;
  }

  Result<std::string> trees(const std::string& x, const TreeEnsemble& te) {
    const size_t n_out = model_.n_margins();
    std::vector<size_t> per_output(n_out, 0);
    for (size_t t = 0; t < te.trees.size(); ++t) {
      if (te.leaf_width == 1) {
        ++per_output[te.tree_output.empty() ? 0 : static_cast<size_t>(te.tree_output[t])];
      } else {
        for (auto& c : per_output) ++c;
      }
    }
    std::vector<int64_t> treeids, nodeids, featureids, trueids, falseids, missing, t_tree, t_node, t_id;
    std::vector<float> values, weights;
    std::vector<std::string> modes;
    const std::string branch = te.comparison == Comparison::kLess ? "BRANCH_LT" : "BRANCH_LEQ";
    auto add = [&](size_t t, int64_t id, const std::string& mode, int64_t feature, float value, int64_t yes,
                   int64_t no, bool missing_yes) {
      treeids.push_back(static_cast<int64_t>(t));
      nodeids.push_back(id);
      modes.push_back(mode);
      featureids.push_back(feature);
      values.push_back(value);
      trueids.push_back(yes);
      falseids.push_back(no);
      missing.push_back(missing_yes ? 1 : 0);
    };
    for (size_t t = 0; t < te.trees.size(); ++t) {
      const Tree& tree = te.trees[t];
      auto next_id = static_cast<int64_t>(tree.size());  // ids for the extra nodes of BRANCH_EQ chains
      for (size_t n = 0; n < tree.size(); ++n) {
        const auto id = static_cast<int64_t>(n);
        const bool leaf = tree.left[n] < 0;
        if (!leaf && !tree.is_categorical.empty() && tree.is_categorical[n]) {
          // See the top of this file. Codes are exact in float32 up to 2^24, more than any set holds.
          const bool members_left = te.category_in_set_goes_left;
          const int64_t members = members_left ? tree.left[n] : tree.right[n];
          const int64_t others = members_left ? tree.right[n] : tree.left[n];
          const bool missing_to_members = (tree.default_left[n] != 0) == members_left;
          if (tree.cat_size[n] > (1u << 24)) {
            return make_error(ErrorCode::kInvalidArgument,
                              "export to ONNX: tree {} node {} has a category set of {} codes (at most 2^24 fit)", t,
                              n, tree.cat_size[n]);
          }
          std::vector<uint32_t> codes;
          for (uint32_t c = 0; c < tree.cat_size[n]; ++c) {
            const uint64_t bit = uint64_t{tree.cat_offset[n]} + c;
            if ((te.category_bits[bit / 32] >> (bit % 32)) & 1u) codes.push_back(c);
          }
          if (codes.empty()) {
            add(t, id, "BRANCH_EQ", tree.feature[n], std::numeric_limits<float>::quiet_NaN(), members, others,
                missing_to_members);
            continue;
          }
          int64_t at = id;
          for (size_t k = 0; k < codes.size(); ++k) {
            const bool last = k + 1 == codes.size();
            const int64_t no = last ? others : next_id++;
            add(t, at, "BRANCH_EQ", tree.feature[n], static_cast<float>(codes[k]), members, no,
                k == 0 && missing_to_members);
            at = no;
          }
          continue;
        }
        add(t, id, leaf ? "LEAF" : branch, leaf ? 0 : tree.feature[n], leaf ? 0.0f : tree.threshold[n],
            leaf ? 0 : tree.left[n], leaf ? 0 : tree.right[n], !leaf && tree.default_left[n]);
        if (!leaf) continue;
        for (uint32_t k = 0; k < te.leaf_width; ++k) {
          const size_t o = te.leaf_width == 1 ? (te.tree_output.empty() ? 0 : static_cast<size_t>(te.tree_output[t])) : k;
          double w = tree.leaf_values[n * te.leaf_width + k];
          if (te.average && per_output[o] > 0) w /= static_cast<double>(per_output[o]);
          t_tree.push_back(static_cast<int64_t>(t));
          t_node.push_back(static_cast<int64_t>(n));
          t_id.push_back(static_cast<int64_t>(o));
          weights.push_back(static_cast<float>(w));
        }
      }
    }
    // Double input makes onnxruntime sum the leaves in double (as slipway does); float thresholds
    // compare the same against a float widened to double.
    const std::string xd = node("Cast", {x}, {{"to", onnx::TensorProto::DOUBLE}});
    auto* n = add_node("TreeEnsembleRegressor", {xd}, "ai.onnx.ml");
    set_int(n, "n_targets", static_cast<int64_t>(n_out));
    set_string(n, "aggregate_function", "SUM");
    set_string(n, "post_transform", "NONE");
    std::vector<float> base(n_out, 0.0f);
    for (size_t o = 0; o < n_out && o < te.base_score.size(); ++o) base[o] = static_cast<float>(te.base_score[o]);
    set_floats(n, "base_values", base);
    set_ints(n, "nodes_treeids", treeids);
    set_ints(n, "nodes_nodeids", nodeids);
    set_ints(n, "nodes_featureids", featureids);
    set_strings(n, "nodes_modes", modes);
    set_floats(n, "nodes_values", values);
    set_ints(n, "nodes_truenodeids", trueids);
    set_ints(n, "nodes_falsenodeids", falseids);
    set_ints(n, "nodes_missing_value_tracks_true", missing);
    set_ints(n, "target_treeids", t_tree);
    set_ints(n, "target_nodeids", t_node);
    set_ints(n, "target_ids", t_id);
    set_floats(n, "target_weights", weights);
    return n->output(0);
  }

  const Model& model_;
  onnx::GraphProto* graph_ = nullptr;
  int counter_ = 0;
};

}  // namespace

Result<std::string> export_onnx(const Model& model) {
  SLIPWAY_RETURN_IF_ERROR(validate_model(model).with_context("export to ONNX"));
  Exporter exporter(model);
  return exporter.run();
}

}  // namespace slipway::model
