// Names, shapes and the structural checks every loader and importer runs (validate_model), so the
// engine and the exporters can index arrays without re-checking.
#include "slipway/model/model.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <unordered_set>

namespace slipway::model {

const char* task_name(Task task) {
  switch (task) {
    case Task::kRegression: return "regression";
    case Task::kBinary: return "binary";
    case Task::kMulticlass: return "multiclass";
  }
  return "unknown";
}

const char* output_transform_name(OutputTransform t) {
  switch (t) {
    case OutputTransform::kIdentity: return "identity";
    case OutputTransform::kSigmoid: return "sigmoid";
    case OutputTransform::kSoftmax: return "softmax";
    case OutputTransform::kExp: return "exp";
  }
  return "unknown";
}

const char* step_kind_name(StepKind kind) {
  switch (kind) {
    case StepKind::kImpute: return "impute";
    case StepKind::kStandardize: return "standardize";
    case StepKind::kMinMax: return "min_max";
    case StepKind::kLog1p: return "log1p";
    case StepKind::kClip: return "clip";
    case StepKind::kBucketize: return "bucketize";
    case StepKind::kOrdinal: return "ordinal";
    case StepKind::kOneHot: return "one_hot";
  }
  return "unknown";
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::kIdentity: return "identity";
    case Activation::kRelu: return "relu";
    case Activation::kTanh: return "tanh";
    case Activation::kSigmoid: return "sigmoid";
    case Activation::kGelu: return "gelu";
  }
  return "unknown";
}

const char* row_normalization_name(RowNormalization n) {
  switch (n) {
    case RowNormalization::kNone: return "none";
    case RowNormalization::kMax: return "max";
    case RowNormalization::kL1: return "l1";
    case RowNormalization::kL2: return "l2";
  }
  return "unknown";
}

const char* body_kind_name(const Body& body) {
  switch (body.index()) {
    case 0: return "linear";
    case 1: return "tree_ensemble";
    case 2: return "mlp";
  }
  return "unknown";
}

size_t InputColumn::width() const {
  if (kind == InputKind::kCategorical && !steps.empty() && steps.back().kind == StepKind::kOneHot) {
    return steps.back().categories.size() + (steps.back().unknown_bucket ? 1 : 0);
  }
  return 1;
}

size_t Model::n_margins() const {
  if (task != Task::kMulticlass) return 1;
  // Multiclass: the number of classes is what the body produces.
  if (const auto* linear = std::get_if<LinearModel>(&body)) return linear->bias.size();
  if (const auto* mlp = std::get_if<Mlp>(&body)) return mlp->layers.empty() ? 0 : mlp->layers.back().out;
  const auto& trees = std::get<TreeEnsemble>(body);
  return trees.leaf_width > 1 ? trees.leaf_width : trees.base_score.size();
}

size_t Model::n_outputs() const { return n_margins(); }

namespace {

// Bounds that keep a hostile or broken file from asking for absurd amounts of memory or time.
constexpr uint64_t kMaxNodes = 100'000'000;       // all trees together
constexpr uint64_t kMaxTrees = 10'000'000;
constexpr uint64_t kMaxParameters = 1'000'000'000;  // linear weights / MLP weights + biases
constexpr uint64_t kMaxFeatures = 100'000'000;
constexpr uint64_t kMaxOutputs = 1'000'000;

Status invalid(std::string message) { return Status(ErrorCode::kValidationFailed, std::move(message)); }

bool all_finite(const std::vector<float>& v, size_t* bad) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      *bad = i;
      return false;
    }
  }
  return true;
}

Status check_step(const InputColumn& input, size_t s, const TransformStep& step) {
  const std::string where = fmt::format("input '{}' step {} ({})", input.name, s, step_kind_name(step.kind));
  auto need_params = [&](size_t n, const char* what) -> Status {
    if (step.params.size() != n) {
      return invalid(fmt::format("{}: needs {} parameter(s) ({}), has {}", where, n, what, step.params.size()));
    }
    return {};
  };
  auto need_finite = [&]() -> Status {
    for (size_t i = 0; i < step.params.size(); ++i) {
      if (!std::isfinite(step.params[i])) return invalid(fmt::format("{}: parameter {} is not finite", where, i));
    }
    return {};
  };
  const bool encoding = step.kind == StepKind::kOrdinal || step.kind == StepKind::kOneHot;
  if (input.kind == InputKind::kNumeric && encoding) {
    return invalid(fmt::format("{}: a numeric input cannot be encoded as categories", where));
  }
  if (input.kind == InputKind::kCategorical && !encoding) {
    return invalid(fmt::format("{}: a categorical input takes exactly one step, ordinal or one_hot", where));
  }
  if (!encoding && !step.categories.empty()) {
    return invalid(fmt::format("{}: only ordinal and one_hot steps have categories", where));
  }
  switch (step.kind) {
    case StepKind::kImpute:
      SLIPWAY_RETURN_IF_ERROR(need_params(1, "value"));
      return need_finite();
    case StepKind::kStandardize:
      SLIPWAY_RETURN_IF_ERROR(need_params(2, "mean, scale"));
      SLIPWAY_RETURN_IF_ERROR(need_finite());
      if (step.params[1] == 0) return invalid(fmt::format("{}: scale is 0", where));
      return {};
    case StepKind::kMinMax:
      SLIPWAY_RETURN_IF_ERROR(need_params(3, "min, scale, offset"));
      return need_finite();
    case StepKind::kLog1p:
      return need_params(0, "none");
    case StepKind::kClip:
      SLIPWAY_RETURN_IF_ERROR(need_params(2, "lo, hi"));
      if (std::isnan(step.params[0]) || std::isnan(step.params[1])) {
        return invalid(fmt::format("{}: a bound is NaN", where));
      }
      if (step.params[0] > step.params[1]) {
        return invalid(fmt::format("{}: lo {} is above hi {}", where, step.params[0], step.params[1]));
      }
      return {};
    case StepKind::kBucketize:
      if (step.params.empty()) return invalid(fmt::format("{}: needs at least one edge", where));
      SLIPWAY_RETURN_IF_ERROR(need_finite());
      for (size_t i = 1; i < step.params.size(); ++i) {
        if (!(step.params[i - 1] < step.params[i])) {
          return invalid(fmt::format("{}: edges must be strictly ascending (edge {} is {}, edge {} is {})", where,
                                     i - 1, step.params[i - 1], i, step.params[i]));
        }
      }
      return {};
    case StepKind::kOrdinal:
    case StepKind::kOneHot: {
      if (step.kind == StepKind::kOrdinal) {
        SLIPWAY_RETURN_IF_ERROR(need_params(1, "unknown_value"));
      } else {
        SLIPWAY_RETURN_IF_ERROR(need_params(0, "none"));
      }
      if (step.categories.size() > kMaxFeatures) {
        return invalid(fmt::format("{}: {} categories is over the limit of {}", where, step.categories.size(),
                                   kMaxFeatures));
      }
      std::unordered_set<std::string_view> seen;
      for (const auto& c : step.categories) {
        if (!seen.insert(c).second) return invalid(fmt::format("{}: category '{}' is listed twice", where, c));
      }
      if (step.kind == StepKind::kOneHot && step.categories.empty() && !step.unknown_bucket) {
        return invalid(fmt::format("{}: no categories and no unknown bucket (it would produce no columns)", where));
      }
      return {};
    }
  }
  return invalid(fmt::format("{}: unknown step kind", where));
}

Status check_inputs(const Model& model) {
  std::set<std::string_view> names;
  uint64_t width = 0;
  for (size_t i = 0; i < model.inputs.size(); ++i) {
    const auto& input = model.inputs[i];
    if (input.name.empty()) return invalid(fmt::format("input {} has an empty name", i));
    if (!names.insert(input.name).second) return invalid(fmt::format("input '{}' is listed twice", input.name));
    if (input.kind == InputKind::kCategorical && input.steps.size() != 1) {
      return invalid(fmt::format("input '{}': a categorical input takes exactly one step, ordinal or one_hot (it has {})",
                                 input.name, input.steps.size()));
    }
    for (size_t s = 0; s < input.steps.size(); ++s) SLIPWAY_RETURN_IF_ERROR(check_step(input, s, input.steps[s]));
    width += input.width();
  }
  if (model.feature_names.size() > kMaxFeatures) {
    return invalid(fmt::format("{} features is over the limit of {}", model.feature_names.size(), kMaxFeatures));
  }
  if (width != model.feature_names.size()) {
    return invalid(fmt::format("the inputs produce {} feature column(s) but there are {} feature names", width,
                               model.feature_names.size()));
  }
  switch (model.row_normalization) {
    case RowNormalization::kNone:
    case RowNormalization::kMax:
    case RowNormalization::kL1:
    case RowNormalization::kL2: break;
    default:
      return invalid(fmt::format("row normalization {} is not one of none, max, l1, l2",
                                 static_cast<int>(model.row_normalization)));
  }
  if (model.row_normalization != RowNormalization::kNone && width == 0) {
    return invalid("row normalization of a model without features");
  }
  return {};
}

Status check_outputs(const Model& model) {
  const size_t n = model.n_margins();
  if (n > kMaxOutputs) return invalid(fmt::format("{} outputs is over the limit of {}", n, kMaxOutputs));
  if (model.task == Task::kMulticlass && n < 2) {
    return invalid(fmt::format("a multiclass model needs at least 2 classes, the body gives {}", n));
  }
  const size_t labels = model.task == Task::kBinary ? 2 : model.task == Task::kMulticlass ? n : 0;
  if (!model.class_labels.empty() && model.class_labels.size() != labels) {
    return invalid(fmt::format("{} class label(s) for a {} model with {} class(es)", model.class_labels.size(),
                               task_name(model.task), labels));
  }
  if (!model.output_names.empty() && model.output_names.size() != model.n_outputs()) {
    return invalid(fmt::format("{} output name(s) for {} output column(s)", model.output_names.size(),
                               model.n_outputs()));
  }
  if (model.output_transform == OutputTransform::kSoftmax && model.task != Task::kMulticlass) {
    return invalid(fmt::format("the softmax output transform needs a multiclass model, this one is {}",
                               task_name(model.task)));
  }
  return {};
}

Status check_linear(const Model& model, const LinearModel& linear) {
  const uint64_t n = model.n_margins(), f = model.n_features();
  if (linear.bias.size() != n) {
    return invalid(fmt::format("linear: bias has {} value(s) but the model has {} output(s)", linear.bias.size(), n));
  }
  if (linear.weights.size() != n * f) {
    return invalid(fmt::format("linear: weights has {} value(s), expected {} ({} output(s) x {} feature(s))",
                               linear.weights.size(), n * f, n, f));
  }
  size_t bad = 0;
  if (!all_finite(linear.weights, &bad)) {
    return invalid(fmt::format("linear: weight {} (output {}, feature {}) is not finite", bad, bad / std::max<uint64_t>(f, 1),
                               bad % std::max<uint64_t>(f, 1)));
  }
  if (!all_finite(linear.bias, &bad)) return invalid(fmt::format("linear: bias {} is not finite", bad));
  return {};
}

Status check_tree(const Model& model, const TreeEnsemble& ens, size_t t, std::vector<uint8_t>& seen) {
  const Tree& tree = ens.trees[t];
  const size_t n = tree.size();
  if (n == 0) return invalid(fmt::format("tree {} has no nodes", t));
  auto same_size = [&](size_t size, const char* what) -> Status {
    if (size != n) return invalid(fmt::format("tree {}: {} has {} entries but the tree has {} nodes", t, what, size, n));
    return {};
  };
  SLIPWAY_RETURN_IF_ERROR(same_size(tree.right.size(), "right"));
  SLIPWAY_RETURN_IF_ERROR(same_size(tree.feature.size(), "feature"));
  SLIPWAY_RETURN_IF_ERROR(same_size(tree.threshold.size(), "threshold"));
  SLIPWAY_RETURN_IF_ERROR(same_size(tree.default_left.size(), "default_left"));
  // The three categorical arrays are either all absent (a purely numeric tree) or all present.
  const bool categorical = !tree.is_categorical.empty() || !tree.cat_offset.empty() || !tree.cat_size.empty();
  if (categorical) {
    SLIPWAY_RETURN_IF_ERROR(same_size(tree.is_categorical.size(), "is_categorical"));
    SLIPWAY_RETURN_IF_ERROR(same_size(tree.cat_offset.size(), "cat_offset"));
    SLIPWAY_RETURN_IF_ERROR(same_size(tree.cat_size.size(), "cat_size"));
  }
  if (tree.leaf_values.size() != uint64_t{n} * ens.leaf_width) {
    return invalid(fmt::format("tree {}: leaf_values has {} entries, expected {} ({} nodes x leaf width {})", t,
                               tree.leaf_values.size(), uint64_t{n} * ens.leaf_width, n, ens.leaf_width));
  }
  const uint64_t bits = uint64_t{ens.category_bits.size()} * 32;
  // Walk from the root: every child index in range, no node reached twice (which also rules out
  // cycles), so evaluation always ends at a leaf within `n` steps.
  seen.assign(n, 0);
  std::vector<int32_t> stack{0};
  while (!stack.empty()) {
    const int32_t node = stack.back();
    stack.pop_back();
    if (seen[node]) return invalid(fmt::format("tree {}: node {} is reached twice (a cycle or a shared subtree)", t, node));
    seen[node] = 1;
    if (tree.left[node] < 0) {
      for (uint32_t k = 0; k < ens.leaf_width; ++k) {
        if (!std::isfinite(tree.leaf_values[uint64_t{static_cast<uint32_t>(node)} * ens.leaf_width + k])) {
          return invalid(fmt::format("tree {}: leaf {} has a value that is not finite", t, node));
        }
      }
      continue;
    }
    for (int32_t child : {tree.left[node], tree.right[node]}) {
      if (child < 0 || static_cast<size_t>(child) >= n) {
        return invalid(fmt::format("tree {}: node {} has child {} out of range (the tree has {} nodes)", t, node, child, n));
      }
    }
    if (tree.feature[node] < 0 || static_cast<size_t>(tree.feature[node]) >= model.n_features()) {
      return invalid(fmt::format("tree {}: node {} splits on feature {} but the model has {} features", t, node,
                                 tree.feature[node], model.n_features()));
    }
    if (categorical && tree.is_categorical[node]) {
      if (uint64_t{tree.cat_offset[node]} + tree.cat_size[node] > bits) {
        return invalid(fmt::format("tree {}: node {} has category bits [{}, {}) beyond the {} stored bits", t, node,
                                   tree.cat_offset[node], uint64_t{tree.cat_offset[node]} + tree.cat_size[node], bits));
      }
    } else if (std::isnan(tree.threshold[node])) {
      return invalid(fmt::format("tree {}: node {} has a NaN threshold", t, node));
    }
    stack.push_back(tree.right[node]);
    stack.push_back(tree.left[node]);
  }
  return {};
}

Status check_trees(const Model& model, const TreeEnsemble& ens) {
  const size_t n_margins = model.n_margins();
  if (ens.trees.empty()) return invalid("tree ensemble: no trees");
  if (ens.trees.size() > kMaxTrees) {
    return invalid(fmt::format("tree ensemble: {} trees is over the limit of {}", ens.trees.size(), kMaxTrees));
  }
  uint64_t nodes = 0;
  for (const auto& tree : ens.trees) nodes += tree.size();
  if (nodes > kMaxNodes) {
    return invalid(fmt::format("tree ensemble: {} nodes in all is over the limit of {}", nodes, kMaxNodes));
  }
  if (ens.leaf_width != 1 && ens.leaf_width != n_margins) {
    return invalid(fmt::format("tree ensemble: leaf width {} must be 1 or the number of outputs ({})", ens.leaf_width,
                               n_margins));
  }
  if (ens.base_score.size() != n_margins) {
    return invalid(fmt::format("tree ensemble: base_score has {} value(s) but the model has {} output(s)",
                               ens.base_score.size(), n_margins));
  }
  for (size_t o = 0; o < ens.base_score.size(); ++o) {
    if (!std::isfinite(ens.base_score[o])) return invalid(fmt::format("tree ensemble: base_score {} is not finite", o));
  }
  std::vector<uint64_t> per_output(n_margins, 0);
  if (!ens.tree_output.empty()) {
    if (ens.leaf_width != 1) {
      return invalid("tree ensemble: tree_output must be empty when leaves hold one value per output");
    }
    if (ens.tree_output.size() != ens.trees.size()) {
      return invalid(fmt::format("tree ensemble: tree_output has {} entries for {} trees", ens.tree_output.size(),
                                 ens.trees.size()));
    }
    for (size_t t = 0; t < ens.tree_output.size(); ++t) {
      if (ens.tree_output[t] < 0 || static_cast<size_t>(ens.tree_output[t]) >= n_margins) {
        return invalid(fmt::format("tree ensemble: tree {} adds to output {} but the model has {} output(s)", t,
                                   ens.tree_output[t], n_margins));
      }
      ++per_output[ens.tree_output[t]];
    }
  } else if (ens.leaf_width == 1) {
    if (n_margins > 1) {
      return invalid(fmt::format("tree ensemble: {} outputs with one value per leaf need tree_output", n_margins));
    }
    per_output[0] = ens.trees.size();
  } else {
    std::fill(per_output.begin(), per_output.end(), ens.trees.size());
  }
  if (ens.average) {
    for (size_t o = 0; o < per_output.size(); ++o) {
      if (per_output[o] == 0) return invalid(fmt::format("tree ensemble: averaging, but no tree adds to output {}", o));
    }
  }
  std::vector<uint8_t> seen;
  for (size_t t = 0; t < ens.trees.size(); ++t) SLIPWAY_RETURN_IF_ERROR(check_tree(model, ens, t, seen));
  return {};
}

Status check_mlp(const Model& model, const Mlp& mlp) {
  if (mlp.layers.empty()) return invalid("mlp: no layers");
  uint64_t parameters = 0;
  for (size_t l = 0; l < mlp.layers.size(); ++l) {
    const auto& layer = mlp.layers[l];
    if (layer.in == 0 || layer.out == 0) return invalid(fmt::format("mlp: layer {} has shape {} x {}", l, layer.out, layer.in));
    const uint64_t expected_in = l == 0 ? model.n_features() : mlp.layers[l - 1].out;
    if (layer.in != expected_in) {
      return invalid(fmt::format("mlp: layer {} takes {} input(s) but {} gives {}", l, layer.in,
                                 l == 0 ? std::string("the model's features") : fmt::format("layer {}", l - 1),
                                 expected_in));
    }
    parameters += uint64_t{layer.in} * layer.out + layer.out;
    if (parameters > kMaxParameters) {
      return invalid(fmt::format("mlp: more than {} parameters", kMaxParameters));
    }
    if (layer.weights.size() != uint64_t{layer.in} * layer.out) {
      return invalid(fmt::format("mlp: layer {} has {} weight(s), expected {} ({} x {})", l, layer.weights.size(),
                                 uint64_t{layer.in} * layer.out, layer.out, layer.in));
    }
    if (layer.bias.size() != layer.out) {
      return invalid(fmt::format("mlp: layer {} has {} bias value(s), expected {}", l, layer.bias.size(), layer.out));
    }
    size_t bad = 0;
    if (!all_finite(layer.weights, &bad)) {
      return invalid(fmt::format("mlp: layer {} weight [{}, {}] is not finite", l, bad / layer.in, bad % layer.in));
    }
    if (!all_finite(layer.bias, &bad)) return invalid(fmt::format("mlp: layer {} bias {} is not finite", l, bad));
  }
  if (mlp.layers.back().out != model.n_margins()) {
    return invalid(fmt::format("mlp: the last layer gives {} value(s) but the model has {} output(s)",
                               mlp.layers.back().out, model.n_margins()));
  }
  return {};
}

}  // namespace

Status validate_model(const Model& model) {
  SLIPWAY_RETURN_IF_ERROR(check_inputs(model));
  SLIPWAY_RETURN_IF_ERROR(check_outputs(model));
  if (const auto* linear = std::get_if<LinearModel>(&model.body)) {
    if (uint64_t{model.n_margins()} * model.n_features() > kMaxParameters) {
      return invalid(fmt::format("linear: more than {} parameters", kMaxParameters));
    }
    return check_linear(model, *linear);
  }
  if (const auto* mlp = std::get_if<Mlp>(&model.body)) return check_mlp(model, *mlp);
  return check_trees(model, std::get<TreeEnsemble>(model.body));
}

}  // namespace slipway::model
