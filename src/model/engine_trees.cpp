// Tree ensembles: compilation into the flattened layouts (detail/engine_trees.h) and the scalar
// kernels (the kScalar ISA, and the single-row path on every ISA).
#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "detail/engine_compiled.h"

namespace slipway::model::detail {
namespace {

int tree_depth(const Tree& tree, bool* has_categorical) {
  int depth = 0;
  std::vector<std::pair<int32_t, int>> stack{{0, 0}};
  while (!stack.empty()) {
    auto [n, d] = stack.back();
    stack.pop_back();
    if (tree.left[n] < 0) {
      depth = std::max(depth, d);
      continue;
    }
    if (!tree.is_categorical.empty() && tree.is_categorical[n]) *has_categorical = true;
    stack.push_back({tree.left[n], d + 1});
    stack.push_back({tree.right[n], d + 1});
  }
  return depth;
}

uint32_t float_bits(float v) {
  uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

float bits_float(uint32_t b) {
  float v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

struct Builder {
  const TreeEnsemble& ens;
  CompiledEnsemble& out;
  uint32_t leaf_base = 0;  // offset of the current tree's leaf values in out.leaf_values

  uint32_t leaf_bits(const Tree& tree, int32_t n) const {
    if (ens.leaf_width == 1) return float_bits(tree.leaf_values[n]);
    return leaf_base + static_cast<uint32_t>(n) * ens.leaf_width;
  }

  // Fills heap slot i (at `level`) of a complete tree of depth D from model node n.
  void fill_complete(const Tree& tree, int32_t n, size_t i, int level, int depth, size_t off) {
    if (level == depth) {
      out.values[2 * off + i] = bits_float(leaf_bits(tree, n));
      return;
    }
    bool leaf = tree.left[n] < 0;
    if (!leaf) {
      out.features[off + i] = tree.feature[n];
      out.values[2 * off + i] = tree.threshold[n];
      out.nan_right[off + i] = tree.default_left[n] ? 0 : 1;
    }
    // A leaf above the last level repeats itself under a padding node (feature 0, threshold 0).
    fill_complete(tree, leaf ? n : tree.left[n], 2 * i, level + 1, depth, off);
    fill_complete(tree, leaf ? n : tree.right[n], 2 * i + 1, level + 1, depth, off);
  }

  void add_generic(const Tree& tree) {
    // Breadth-first so that the children of a node are adjacent.
    size_t base = out.nodes.size();
    std::vector<int32_t> order{0};
    out.nodes.push_back({});
    for (size_t k = 0; k < order.size(); ++k) {
      int32_t n = order[k];
      GenericNode g{};
      if (tree.left[n] < 0) {
        g.left = 0;
        if (ens.leaf_width == 1) {
          g.value = tree.leaf_values[n];
        } else {
          g.aux = leaf_bits(tree, n);
        }
      } else {
        g.feature = static_cast<uint32_t>(tree.feature[n]);
        g.value = tree.threshold[n];
        g.left = static_cast<uint32_t>(order.size());
        g.aux = tree.default_left[n] ? 1u : 0u;
        if (!tree.is_categorical.empty() && tree.is_categorical[n]) {
          g.aux |= 2u | (static_cast<uint32_t>(out.category_sets.size()) << 2);
          out.category_sets.push_back({tree.cat_offset[n], tree.cat_size[n]});
        }
        order.push_back(tree.left[n]);
        order.push_back(tree.right[n]);
        out.nodes.push_back({});
        out.nodes.push_back({});
      }
      out.nodes[base + k] = g;
    }
  }
};

template <int D, bool kLe, bool kNaN>
inline uint32_t complete_leaf(const int32_t* feat, const float* val, const int32_t* nanr, const float* x) {
  uint32_t i = 1;
  for (int level = 0; level < D; ++level) {
    float v = x[feat[i]];
    float t = val[i];
    uint32_t right = kLe ? (v > t) : (v >= t);
    if constexpr (kNaN) right |= static_cast<uint32_t>(v != v) & static_cast<uint32_t>(nanr[i]);
    i = 2 * i + right;
  }
  uint32_t bits;
  std::memcpy(&bits, &val[i], sizeof bits);
  return bits;
}

using LeafFn = uint32_t (*)(const int32_t*, const float*, const int32_t*, const float*);

template <bool kLe, bool kNaN, int... Ds>
constexpr auto make_leaf_table(std::integer_sequence<int, Ds...>) {
  return std::array<LeafFn, sizeof...(Ds)>{&complete_leaf<Ds, kLe, kNaN>...};
}

template <bool kLe, bool kNaN>
constexpr auto kLeafTable = make_leaf_table<kLe, kNaN>(std::make_integer_sequence<int, kMaxCompleteDepth + 1>{});

template <bool kLe, bool kNaN>
void block_scalar(const EnsembleView& e, const float* x, size_t n_rows, double* acc) {
  const size_t nf = e.n_features;
  for (size_t t = 0; t < e.n_trees; ++t) {
    const TreeRef& tr = e.trees[t];
    if (tr.kind == TreeKind::kComplete) {
      LeafFn fn = kLeafTable<kLe, kNaN>[tr.depth];
      const int32_t* feat = e.features + tr.offset;
      const float* val = e.values + tr.offset * 2;
      const int32_t* nanr = e.nan_right + tr.offset;
      for (size_t r = 0; r < n_rows; ++r) add_leaf_bits(e, tr, fn(feat, val, nanr, x + r * nf), acc + r, kTreeBlockRows);
    } else {
      const GenericNode* tree = e.nodes + tr.offset;
      for (size_t r = 0; r < n_rows; ++r)
        add_generic_leaf(e, tr, generic_leaf(e, tree, x + r * nf), acc + r, kTreeBlockRows);
    }
  }
}

template <bool kLe, bool kNaN>
void row_scalar(const EnsembleView& e, size_t first, size_t count, const float* x, double* acc) {
  for (size_t t = first; t < first + count; ++t) {
    const TreeRef& tr = e.trees[t];
    if (tr.kind == TreeKind::kComplete) {
      uint32_t bits = kLeafTable<kLe, kNaN>[tr.depth](e.features + tr.offset, e.values + tr.offset * 2,
                                                       e.nan_right + tr.offset, x);
      add_leaf_bits(e, tr, bits, acc, 1);
    } else {
      add_generic_leaf(e, tr, generic_leaf(e, e.nodes + tr.offset, x), acc, 1);
    }
  }
}

}  // namespace

std::unique_ptr<CompiledEnsemble> compile_ensemble(const TreeEnsemble& ens, size_t n_features, size_t n_margins) {
  auto out = std::make_unique<CompiledEnsemble>();
  const size_t n_trees = ens.trees.size();
  std::vector<int> depth(n_trees);
  std::vector<bool> complete(n_trees);
  size_t slots = 0;
  for (size_t t = 0; t < n_trees; ++t) {
    bool categorical = false;
    depth[t] = tree_depth(ens.trees[t], &categorical);
    complete[t] = !categorical && depth[t] <= kMaxCompleteDepth;
    if (complete[t]) slots += complete_slots(depth[t]);
  }
  out->features = AlignedArray<int32_t>(slots);
  out->values = AlignedArray<float>(2 * slots);
  out->nan_right = AlignedArray<int32_t>(slots);
  if (ens.leaf_width > 1) {
    for (const Tree& tree : ens.trees) out->leaf_values.insert(out->leaf_values.end(), tree.leaf_values.begin(), tree.leaf_values.end());
  }

  Builder b{ens, *out};
  std::vector<size_t> count(n_margins, 0);
  size_t slot = 0;
  for (size_t t = 0; t < n_trees; ++t) {
    const Tree& tree = ens.trees[t];
    TreeRef ref{};
    ref.output = ens.tree_output.empty() ? 0u : static_cast<uint32_t>(ens.tree_output[t]);
    if (ens.leaf_width > 1) {
      for (auto& c : count) ++c;
    } else if (ref.output < n_margins) {
      ++count[ref.output];
    }
    if (complete[t]) {
      ref.kind = TreeKind::kComplete;
      ref.depth = static_cast<uint8_t>(depth[t]);
      ref.offset = slot;
      b.fill_complete(tree, 0, 1, 0, depth[t], slot);
      slot += complete_slots(depth[t]);
      ++out->complete_trees;
    } else {
      ref.kind = TreeKind::kGeneric;
      ref.offset = out->nodes.size();
      b.add_generic(tree);
    }
    out->trees.push_back(ref);
    b.leaf_base += static_cast<uint32_t>(tree.leaf_values.size());
  }
  // Row groups for the single-row SIMD path (gather indices are int32: 2 * offset must fit).
  for (size_t t = 0; t < out->trees.size(); ++t) {
    const TreeRef& ref = out->trees[t];
    const bool groupable = ref.kind == TreeKind::kComplete && ens.leaf_width == 1 && 2 * slots < (size_t{1} << 30);
    const int32_t depth = groupable ? ref.depth : -1;
    RowGroup* g = out->row_groups.empty() ? nullptr : &out->row_groups.back();
    if (!g || g->depth != depth || (groupable && g->count == 16)) {
      g = &out->row_groups.emplace_back();
      g->first_tree = static_cast<uint32_t>(t);
      g->depth = depth;
    }
    if (groupable) {
      g->feature_offset[g->count] = static_cast<int32_t>(ref.offset);
      g->output[g->count] = static_cast<int32_t>(ref.output);
    }
    ++g->count;
  }
  out->category_bits = ens.category_bits;
  out->base.assign(n_margins, 0.0);
  out->divisor.assign(n_margins, 1.0);
  for (size_t o = 0; o < n_margins; ++o) {
    if (o < ens.base_score.size()) out->base[o] = ens.base_score[o];
    if (ens.average && count[o] > 0) out->divisor[o] = static_cast<double>(count[o]);
  }

  EnsembleView& v = out->view;
  v.n_features = n_features;
  v.n_margins = n_margins;
  v.leaf_width = ens.leaf_width;
  v.less_equal = ens.comparison == Comparison::kLessEqual;
  v.in_set_left = ens.category_in_set_goes_left;
  v.n_trees = out->trees.size();
  v.trees = out->trees.data();
  v.features = out->features.data();
  v.values = out->values.data();
  v.nan_right = out->nan_right.data();
  v.nodes = out->nodes.data();
  v.category_sets = out->category_sets.data();
  v.category_bits = out->category_bits.data();
  v.leaf_values = out->leaf_values.data();
  v.n_row_groups = out->row_groups.size();
  v.row_groups = out->row_groups.data();
  return out;
}

void trees_block_scalar(const EnsembleView& e, const float* x, size_t n_rows, double* acc) {
  bool nan = block_has_nan(x, n_rows * e.n_features);
  if (e.less_equal) {
    nan ? block_scalar<true, true>(e, x, n_rows, acc) : block_scalar<true, false>(e, x, n_rows, acc);
  } else {
    nan ? block_scalar<false, true>(e, x, n_rows, acc) : block_scalar<false, false>(e, x, n_rows, acc);
  }
}

void trees_range_scalar(const EnsembleView& e, size_t first, size_t count, const float* x, double* acc) {
  bool nan = block_has_nan(x, e.n_features);
  if (e.less_equal) {
    nan ? row_scalar<true, true>(e, first, count, x, acc) : row_scalar<true, false>(e, first, count, x, acc);
  } else {
    nan ? row_scalar<false, true>(e, first, count, x, acc) : row_scalar<false, false>(e, first, count, x, acc);
  }
}

void trees_row_scalar(const EnsembleView& e, const float* x, double* acc) { trees_range_scalar(e, 0, e.n_trees, x, acc); }

}  // namespace slipway::model::detail
