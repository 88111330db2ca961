// The reference evaluator: the plainest code that computes what model.h says, kept as the oracle
// the fast engine, the exporters and the importers are tested against. Normalizes the row first
// when the model says so (float32, as onnxruntime), accumulates in double and rounds to float32 once
// per output.
#include <algorithm>
#include <cmath>
#include <vector>

#include "detail/arithmetic.h"
#include "slipway/model/engine.h"

namespace slipway::model {

namespace {

// Is the (integer) category code `value` in the node's set? Negative, non-integer, or codes past
// the set's size are not members.
bool category_in_set(const TreeEnsemble& ens, const Tree& tree, int32_t node, float value) {
  if (!(value >= 0) || value != std::floor(value)) return false;
  if (static_cast<double>(value) >= static_cast<double>(tree.cat_size[node])) return false;
  const uint64_t bit = uint64_t{tree.cat_offset[node]} + static_cast<uint64_t>(value);
  return (ens.category_bits[bit / 32] >> (bit % 32)) & 1u;
}

int32_t find_leaf(const TreeEnsemble& ens, const Tree& tree, const float* x) {
  int32_t node = 0;
  while (tree.left[node] >= 0) {
    const float v = x[tree.feature[node]];
    bool go_left;
    if (std::isnan(v)) {
      go_left = tree.default_left[node] != 0;
    } else if (!tree.is_categorical.empty() && tree.is_categorical[node]) {
      go_left = category_in_set(ens, tree, node, v) == ens.category_in_set_goes_left;
    } else if (ens.comparison == Comparison::kLess) {
      go_left = v < tree.threshold[node];
    } else {
      go_left = v <= tree.threshold[node];
    }
    node = go_left ? tree.left[node] : tree.right[node];
  }
  return node;
}

void trees_margins(const Model& model, const TreeEnsemble& ens, const float* x, double* margins) {
  const size_t n = model.n_margins();
  std::vector<double> sums(n, 0.0);
  std::vector<double> counts(n, 0.0);
  for (size_t t = 0; t < ens.trees.size(); ++t) {
    const Tree& tree = ens.trees[t];
    const int32_t leaf = find_leaf(ens, tree, x);
    if (ens.leaf_width == 1) {
      const size_t o = ens.tree_output.empty() ? 0 : static_cast<size_t>(ens.tree_output[t]);
      sums[o] += tree.leaf_values[leaf];
      counts[o] += 1;
    } else {
      for (size_t k = 0; k < n; ++k) {
        sums[k] += tree.leaf_values[static_cast<size_t>(leaf) * ens.leaf_width + k];
        counts[k] += 1;
      }
    }
  }
  for (size_t o = 0; o < n; ++o) margins[o] = ens.base_score[o] + (ens.average ? sums[o] / counts[o] : sums[o]);
}

void linear_margins(const Model& model, const LinearModel& linear, const float* x, double* margins) {
  const size_t n = model.n_margins(), f = model.n_features();
  for (size_t o = 0; o < n; ++o) {
    double acc = linear.bias[o];
    for (size_t j = 0; j < f; ++j) {
      if (!std::isnan(x[j])) acc += static_cast<double>(linear.weights[o * f + j]) * x[j];  // missing counts as 0
    }
    margins[o] = acc;
  }
}

void mlp_margins(const Mlp& mlp, const float* x, double* margins) {
  std::vector<double> in(mlp.layers.front().in);
  for (size_t j = 0; j < in.size(); ++j) in[j] = std::isnan(x[j]) ? 0.0 : x[j];  // missing counts as 0, as in linear
  std::vector<double> out;
  for (const auto& layer : mlp.layers) {
    out.assign(layer.out, 0.0);
    for (size_t o = 0; o < layer.out; ++o) {
      double acc = layer.bias[o];
      for (size_t j = 0; j < layer.in; ++j) acc += static_cast<double>(layer.weights[o * layer.in + j]) * in[j];
      out[o] = detail::activate(layer.activation, acc);
    }
    in.swap(out);
  }
  std::copy(in.begin(), in.end(), margins);
}

}  // namespace

void reference_predict(const Model& model, const float* x, size_t n_rows, float* out, bool margins) {
  const size_t n = model.n_margins(), f = model.n_features();
  std::vector<double> m(n);
  std::vector<float> normalized(model.row_normalization == RowNormalization::kNone ? 0 : f);
  for (size_t r = 0; r < n_rows; ++r) {
    const float* row = x + r * f;
    if (!normalized.empty()) {
      detail::normalize_row(model.row_normalization, row, normalized.data(), f);
      row = normalized.data();
    }
    if (const auto* linear = std::get_if<LinearModel>(&model.body)) {
      linear_margins(model, *linear, row, m.data());
    } else if (const auto* mlp = std::get_if<Mlp>(&model.body)) {
      mlp_margins(*mlp, row, m.data());
    } else {
      trees_margins(model, std::get<TreeEnsemble>(model.body), row, m.data());
    }
    float* dst = out + r * n;
    if (margins) {
      for (size_t o = 0; o < n; ++o) dst[o] = static_cast<float>(m[o]);
      continue;
    }
    detail::apply_output_transform(model.output_transform, m.data(), n, dst);
  }
}

}  // namespace slipway::model
