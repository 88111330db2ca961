// Private to the engine: the compiled (flattened) layout of a tree ensemble and the per-ISA block
// kernels that evaluate it. The public contract is slipway/model/engine.h.
//
// Two layouts, chosen per tree when the ensemble is compiled:
//   complete  numeric trees of depth <= kMaxCompleteDepth, padded to a perfect binary tree in heap
//             order (root = 1, children of i are 2i and 2i+1; a shallow leaf is repeated under every
//             padding node, so padding nodes may test anything). Traversal is branch-free:
//             idx = 2 * idx + go_right, D times, then the leaf is idx - 2^D. SIMD kernels keep one row
//             per lane and look node tables up with permutes for the upper levels.
//   generic   everything else (categorical splits, deep trees): compact nodes, children adjacent.
// Both layouts give bit-identical results: the same float comparisons, the same double
// accumulation in tree order, so every ISA path and thread split agrees exactly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace slipway::model::detail {

inline constexpr int kMaxCompleteDepth = 10;
// Rows evaluated together per tree by the batch kernels (all ISAs use the same block).
inline constexpr size_t kTreeBlockRows = 64;

struct GenericNode {
  uint32_t feature;
  float value;    // inner: threshold; leaf: the leaf value (leaf_width == 1)
  uint32_t left;  // index of the left child within the tree (right = left + 1); 0 marks a leaf
  uint32_t aux;   // inner: bit 0 default_left, bit 1 categorical, bits 2.. categorical set index;
                  // leaf: offset of its leaf_width values in EnsembleView::leaf_values
};

struct CategorySet {
  uint32_t bit_offset;
  uint32_t size;
};

enum class TreeKind : uint8_t { kComplete, kGeneric };

struct TreeRef {
  TreeKind kind;
  uint8_t depth;     // complete trees
  uint32_t output;   // margin the tree adds to (leaf_width == 1)
  uint64_t offset;   // complete: first slot in features/nan_right (values: 2 * offset); generic: first node
};

// The single-row AVX-512 path evaluates 16 trees at once (one per lane, the row's features held in
// registers). A group is up to 16 consecutive complete trees of one depth with one value per leaf;
// any other tree is a group of its own with depth -1, evaluated by the scalar code. Groups are in
// tree order, and each group's leaves are added in tree order, so the sums stay bit-identical.
struct alignas(64) RowGroup {
  int32_t feature_offset[16];  // TreeRef::offset of each lane's tree
  int32_t output[16];
  uint32_t first_tree;
  uint32_t count;
  int32_t depth;
};

// Raw-pointer view handed to the kernels (the SIMD translation units use no std containers, so
// nothing compiled with wider instructions can leak into code shared with the baseline build).
struct EnsembleView {
  size_t n_features;
  size_t n_margins;
  size_t leaf_width;
  bool less_equal;   // go left when x <= t (else x < t)
  bool in_set_left;  // categorical: members go left
  size_t n_trees;
  const TreeRef* trees;
  // Complete trees: features[2^D slots] at TreeRef::offset (heap index; slot 0 unused),
  // values[2^(D+1) slots] at 2 * TreeRef::offset (thresholds at [1, 2^D), leaves at [2^D, 2^(D+1)); a leaf slot holds the
  // value, or when leaf_width > 1 the bit pattern of its uint32 offset into leaf_values), and
  // nan_right[2^D slots] like features (1 where a missing value goes right). Tables hold at least 16
  // slots and start 64-byte aligned.
  const int32_t* features;
  const float* values;
  const int32_t* nan_right;
  const GenericNode* nodes;
  const CategorySet* category_sets;
  const uint32_t* category_bits;
  const float* leaf_values;
  size_t n_row_groups;
  const RowGroup* row_groups;
};

// Slots a complete tree of depth d occupies in `features` (values take twice as many).
inline size_t complete_slots(int depth) {
  size_t n = size_t{1} << depth;
  return n < 16 ? 16 : n;
}

// Adds every tree's contribution for rows x[0 .. n_rows) (n_rows <= kTreeBlockRows, row-major with
// n_features columns) to acc[margin * kTreeBlockRows + row], in tree order, in double.
void trees_block_scalar(const EnsembleView& e, const float* x, size_t n_rows, double* acc);
void trees_block_avx2(const EnsembleView& e, const float* x, size_t n_rows, double* acc);
void trees_block_avx512(const EnsembleView& e, const float* x, size_t n_rows, double* acc);
// One row: acc[margin] += ...
void trees_row_scalar(const EnsembleView& e, const float* x, double* acc);
void trees_row_avx512(const EnsembleView& e, const float* x, double* acc);
// Trees [first, first + count) of one row (the scalar path for trees outside SIMD row groups).
void trees_range_scalar(const EnsembleView& e, size_t first, size_t count, const float* x, double* acc);

// The generic traversal shared by all paths; returns the leaf's node.
inline const GenericNode& generic_leaf(const EnsembleView& e, const GenericNode* tree, const float* x) {
  uint32_t n = 0;
  for (;;) {
    const GenericNode& node = tree[n];
    if (node.left == 0) return node;
    float v = x[node.feature];
    bool left;
    if (v != v) {
      left = (node.aux & 1u) != 0;
    } else if (node.aux & 2u) {
      const CategorySet& set = e.category_sets[node.aux >> 2];
      bool member = false;
      if (v >= 0.0f && static_cast<double>(v) < static_cast<double>(set.size) &&
          v == static_cast<float>(static_cast<uint32_t>(v))) {
        uint32_t bit = set.bit_offset + static_cast<uint32_t>(v);
        member = ((e.category_bits[bit >> 5] >> (bit & 31u)) & 1u) != 0;
      }
      left = member == e.in_set_left;
    } else {
      left = e.less_equal ? v <= node.value : v < node.value;
    }
    n = node.left + (left ? 0u : 1u);
  }
}

// Adds the contribution of one tree's leaf (given for complete trees as the raw 32-bit slot).
inline void add_leaf_bits(const EnsembleView& e, const TreeRef& t, uint32_t bits, double* acc, size_t stride) {
  if (e.leaf_width == 1) {
    float v;
    __builtin_memcpy(&v, &bits, sizeof v);
    acc[t.output * stride] += static_cast<double>(v);
  } else {
    for (size_t k = 0; k < e.leaf_width; ++k) acc[k * stride] += static_cast<double>(e.leaf_values[bits + k]);
  }
}

inline void add_generic_leaf(const EnsembleView& e, const TreeRef& t, const GenericNode& leaf, double* acc,
                             size_t stride) {
  if (e.leaf_width == 1) {
    acc[t.output * stride] += static_cast<double>(leaf.value);
  } else {
    for (size_t k = 0; k < e.leaf_width; ++k) acc[k * stride] += static_cast<double>(e.leaf_values[leaf.aux + k]);
  }
}

inline bool block_has_nan(const float* x, size_t count) {
  bool any = false;
  for (size_t i = 0; i < count; ++i) any |= x[i] != x[i];
  return any;
}

}  // namespace slipway::model::detail
