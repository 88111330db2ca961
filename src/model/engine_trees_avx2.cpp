// AVX2 tree kernel: 8 rows per vector, four vectors (32 rows) per tree pass. Levels 0-4 look node
// data up with in-register permutes (8-entry tables; level 4 blends two), deeper levels gather.
// Same arithmetic as the scalar and AVX-512 paths, so results are bit-identical.
//
// Compiled with a function-level target; Predictor::create selects it only on CPUs with AVX2.
#include <array>
#include <utility>

#include "detail/engine_trees.h"

#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

namespace slipway::model::detail {
namespace {

constexpr int kLanes = 8;
constexpr int kVecs = static_cast<int>(kTreeBlockRows) / kLanes;

// One vector per group of lanes of the block (a struct, so function pointers to kernels carry no
// vector-type attributes).
struct Block {
  __m256i v[kVecs];
};

inline __m256i load(const int32_t* p) { return _mm256_load_si256(reinterpret_cast<const __m256i*>(p)); }

template <int L>
inline __m256i lookup(const int32_t* table, __m256i idx) {
  if constexpr (L <= 2) {
    return _mm256_permutevar8x32_epi32(load(table), idx);
  } else if constexpr (L == 3) {
    return _mm256_permutevar8x32_epi32(load(table + 8), idx);
  } else if constexpr (L == 4) {
    __m256i lo = _mm256_permutevar8x32_epi32(load(table + 16), idx);
    __m256i hi = _mm256_permutevar8x32_epi32(load(table + 24), idx);
    __m256i eight = _mm256_set1_epi32(8);
    __m256i sel = _mm256_cmpeq_epi32(_mm256_and_si256(idx, eight), eight);
    return _mm256_blendv_epi8(lo, hi, sel);
  } else {
    return _mm256_i32gather_epi32(table, idx, 4);
  }
}

template <int D, bool kLe, bool kNaN>
inline void complete_tree(const int32_t* feat, const float* val, const int32_t* nanr, const float* x,
                          const Block& row_off, Block& leaf) {
  __m256i idx[kVecs];
  for (int v = 0; v < kVecs; ++v) idx[v] = _mm256_set1_epi32(1);
  const int32_t* vbits = reinterpret_cast<const int32_t*>(val);
  [&]<int... Ls>(std::integer_sequence<int, Ls...>) {
    (
        [&] {
          constexpr int L = Ls;
          for (int v = 0; v < kVecs; ++v) {
            __m256i f = lookup<L>(feat, idx[v]);
            __m256 t = _mm256_castsi256_ps(lookup<L>(vbits, idx[v]));
            __m256 xv = _mm256_i32gather_ps(x, _mm256_add_epi32(f, row_off.v[v]), 4);
            __m256 right = _mm256_cmp_ps(xv, t, kLe ? _CMP_GT_OQ : _CMP_GE_OQ);
            if constexpr (kNaN) {
              __m256 nan = _mm256_cmp_ps(xv, xv, _CMP_UNORD_Q);
              __m256i nr = _mm256_cmpgt_epi32(lookup<L>(nanr, idx[v]), _mm256_setzero_si256());
              right = _mm256_or_ps(right, _mm256_and_ps(nan, _mm256_castsi256_ps(nr)));
            }
            // right is all-ones (-1) where the row goes right: idx = 2 * idx + 1 there.
            idx[v] = _mm256_sub_epi32(_mm256_add_epi32(idx[v], idx[v]), _mm256_castps_si256(right));
          }
        }(),
        ...);
  }(std::make_integer_sequence<int, D>{});
  for (int v = 0; v < kVecs; ++v) leaf.v[v] = lookup<D>(vbits, idx[v]);
}

using TreeFn = void (*)(const int32_t*, const float*, const int32_t*, const float*, const Block&, Block&);

template <bool kLe, bool kNaN, int... Ds>
constexpr auto make_table(std::integer_sequence<int, Ds...>) {
  return std::array<TreeFn, sizeof...(Ds)>{&complete_tree<Ds, kLe, kNaN>...};
}

template <bool kLe, bool kNaN>
void block(const EnsembleView& e, const float* x, size_t n_rows, double* acc) {
  static constexpr auto kTable = make_table<kLe, kNaN>(std::make_integer_sequence<int, kMaxCompleteDepth + 1>{});
  Block row_off;
  {
    alignas(32) int32_t off[kTreeBlockRows];
    for (size_t r = 0; r < kTreeBlockRows; ++r)
      off[r] = static_cast<int32_t>((r < n_rows ? r : n_rows - 1) * e.n_features);
    for (int v = 0; v < kVecs; ++v) row_off.v[v] = load(off + v * kLanes);
  }
  for (size_t t = 0; t < e.n_trees; ++t) {
    const TreeRef& tr = e.trees[t];
    if (tr.kind == TreeKind::kGeneric) {
      const GenericNode* tree = e.nodes + tr.offset;
      for (size_t r = 0; r < n_rows; ++r)
        add_generic_leaf(e, tr, generic_leaf(e, tree, x + r * e.n_features), acc + r, kTreeBlockRows);
      continue;
    }
    Block leaf;
    kTable[tr.depth](e.features + tr.offset, e.values + 2 * tr.offset, e.nan_right + tr.offset, x, row_off, leaf);
    if (e.leaf_width == 1) {
      double* a = acc + tr.output * kTreeBlockRows;
      for (int v = 0; v < kVecs; ++v) {
        __m256 lf = _mm256_castsi256_ps(leaf.v[v]);
        __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(lf));
        __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(lf, 1));
        _mm256_storeu_pd(a + v * kLanes, _mm256_add_pd(_mm256_loadu_pd(a + v * kLanes), lo));
        _mm256_storeu_pd(a + v * kLanes + 4, _mm256_add_pd(_mm256_loadu_pd(a + v * kLanes + 4), hi));
      }
    } else {
      alignas(32) uint32_t bits[kTreeBlockRows];
      for (int v = 0; v < kVecs; ++v) _mm256_store_si256(reinterpret_cast<__m256i*>(bits + v * kLanes), leaf.v[v]);
      for (size_t r = 0; r < n_rows; ++r) add_leaf_bits(e, tr, bits[r], acc + r, kTreeBlockRows);
    }
  }
}

}  // namespace

void trees_block_avx2(const EnsembleView& e, const float* x, size_t n_rows, double* acc) {
  bool nan = block_has_nan(x, n_rows * e.n_features);
  if (e.less_equal) {
    nan ? block<true, true>(e, x, n_rows, acc) : block<true, false>(e, x, n_rows, acc);
  } else {
    nan ? block<false, true>(e, x, n_rows, acc) : block<false, false>(e, x, n_rows, acc);
  }
}

}  // namespace slipway::model::detail

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
