// AVX-512 tree kernel: 16 rows per vector, two vectors (32 rows) per tree pass, so each tree's node
// tables are read once per 32 rows and two independent dependency chains overlap. Levels 0-6 look
// node data up with in-register permutes (one or two 16-entry tables per level), deeper levels with
// gathers; the feature value of each lane is one gather from the row-major block (in L1).
//
// Compiled with a function-level target so that nothing shared with baseline code is built with
// AVX-512 instructions; Predictor::create only selects it when the CPU has AVX-512F/BW/DQ.
// GCC 12's AVX-512 headers build some conversions on _mm256_undefined_ps() and then warn that it is
// uninitialized where they are inlined (GCC bug 105593); the pragma must precede the headers.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <array>
#include <utility>

#include "detail/engine_trees.h"

#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")
#endif

namespace slipway::model::detail {
namespace {

constexpr int kLanes = 16;
constexpr int kVecs = static_cast<int>(kTreeBlockRows) / kLanes;

// One vector per group of lanes of the block (a struct, so function pointers to kernels carry no
// vector-type attributes).
struct Block {
  __m512i v[kVecs];
};

// Table lookup at heap indices of level L (indices in [2^L, 2^(L+1))).
template <int L>
inline __m512i lookup(const int32_t* table, __m512i idx) {
  if constexpr (L <= 3) {
    return _mm512_permutexvar_epi32(idx, _mm512_load_si512(table));
  } else if constexpr (L == 4) {
    return _mm512_permutexvar_epi32(idx, _mm512_load_si512(table + 16));
  } else if constexpr (L == 5) {
    return _mm512_permutex2var_epi32(_mm512_load_si512(table + 32), idx, _mm512_load_si512(table + 48));
  } else if constexpr (L == 6) {
    __m512i lo = _mm512_permutex2var_epi32(_mm512_load_si512(table + 64), idx, _mm512_load_si512(table + 80));
    __m512i hi = _mm512_permutex2var_epi32(_mm512_load_si512(table + 96), idx, _mm512_load_si512(table + 112));
    return _mm512_mask_blend_epi32(_mm512_test_epi32_mask(idx, _mm512_set1_epi32(32)), lo, hi);
  } else {
    return _mm512_i32gather_epi32(idx, table, 4);
  }
}

template <int L>
inline __m512 lookup_ps(const float* table, __m512i idx) {
  return _mm512_castsi512_ps(lookup<L>(reinterpret_cast<const int32_t*>(table), idx));
}

template <int D, bool kLe, bool kNaN>
inline void complete_tree(const int32_t* feat, const float* val, const int32_t* nanr, const float* x,
                          const Block& row_off, Block& leaf) {
  __m512i idx[kVecs];
  for (int v = 0; v < kVecs; ++v) idx[v] = _mm512_set1_epi32(1);
  const __m512i one = _mm512_set1_epi32(1);
  [&]<int... Ls>(std::integer_sequence<int, Ls...>) {
    (
        [&] {
          constexpr int L = Ls;
          for (int v = 0; v < kVecs; ++v) {
            __m512i f = lookup<L>(feat, idx[v]);
            __m512 t = lookup_ps<L>(val, idx[v]);
            __m512 xv = _mm512_i32gather_ps(_mm512_add_epi32(f, row_off.v[v]), x, 4);
            __mmask16 right = _mm512_cmp_ps_mask(xv, t, kLe ? _CMP_GT_OQ : _CMP_GE_OQ);
            if constexpr (kNaN) {
              __mmask16 nan = _mm512_cmp_ps_mask(xv, xv, _CMP_UNORD_Q);
              __mmask16 nr = _mm512_test_epi32_mask(lookup<L>(nanr, idx[v]), one);
              right = static_cast<__mmask16>(right | (nan & nr));
            }
            __m512i twice = _mm512_add_epi32(idx[v], idx[v]);
            idx[v] = _mm512_mask_add_epi32(twice, right, twice, one);
          }
        }(),
        ...);
  }(std::make_integer_sequence<int, D>{});
  for (int v = 0; v < kVecs; ++v) leaf.v[v] = lookup<D>(reinterpret_cast<const int32_t*>(val), idx[v]);
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
    alignas(64) int32_t off[kTreeBlockRows];
    for (size_t r = 0; r < kTreeBlockRows; ++r)
      off[r] = static_cast<int32_t>((r < n_rows ? r : n_rows - 1) * e.n_features);
    for (int v = 0; v < kVecs; ++v) row_off.v[v] = _mm512_load_si512(off + v * kLanes);
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
        __m512 lf = _mm512_castsi512_ps(leaf.v[v]);
        __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(lf));
        __m512d hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(lf, 1));
        _mm512_storeu_pd(a + v * kLanes, _mm512_add_pd(_mm512_loadu_pd(a + v * kLanes), lo));
        _mm512_storeu_pd(a + v * kLanes + 8, _mm512_add_pd(_mm512_loadu_pd(a + v * kLanes + 8), hi));
      }
    } else {
      alignas(64) uint32_t bits[kTreeBlockRows];
      for (int v = 0; v < kVecs; ++v) _mm512_store_si512(bits + v * kLanes, leaf.v[v]);
      for (size_t r = 0; r < n_rows; ++r) add_leaf_bits(e, tr, bits[r], acc + r, kTreeBlockRows);
    }
  }
}

bool any_nan(const float* x, size_t count) {
  __mmask16 any = 0;
  size_t i = 0;
  for (; i + kLanes <= count; i += kLanes) {
    __m512 v = _mm512_loadu_ps(x + i);
    any |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  }
  if (i < count) {
    __mmask16 m = static_cast<__mmask16>((1u << (count - i)) - 1u);
    __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    any |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  }
  return any != 0;
}

// One row, 16 trees per group (one per lane), up to kPairs groups of one depth in flight so their
// gather latencies overlap. Node data is gathered per lane; the row's features sit in two registers
// when there are at most 32 of them, so looking a feature up is a permute.
constexpr int kPairs = 3;

template <bool kLe, bool kNaN, int P>
inline void row_groups(const EnsembleView& e, const RowGroup* g, const float* x, __m512 x0, __m512 x1,
                       bool in_registers, double* acc) {
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i zero = _mm512_setzero_si512();
  const __m512 fzero = _mm512_setzero_ps();
  __mmask16 lanes[P];
  __m512i foff[P], voff[P], idx[P];
  for (int p = 0; p < P; ++p) {
    lanes[p] = static_cast<__mmask16>(g[p].count >= 16 ? 0xFFFFu : (1u << g[p].count) - 1u);
    foff[p] = _mm512_load_si512(g[p].feature_offset);
    voff[p] = _mm512_add_epi32(foff[p], foff[p]);
    idx[p] = one;
  }
  for (int level = 0; level < g[0].depth; ++level) {
    for (int p = 0; p < P; ++p) {
      const __m512i fi = _mm512_add_epi32(foff[p], idx[p]);
      __m512i f = _mm512_mask_i32gather_epi32(zero, lanes[p], fi, e.features, 4);
      __m512 t = _mm512_mask_i32gather_ps(fzero, lanes[p], _mm512_add_epi32(voff[p], idx[p]), e.values, 4);
      __m512 xv = in_registers ? _mm512_permutex2var_ps(x0, f, x1) : _mm512_mask_i32gather_ps(fzero, lanes[p], f, x, 4);
      __mmask16 right = _mm512_cmp_ps_mask(xv, t, kLe ? _CMP_GT_OQ : _CMP_GE_OQ);
      if constexpr (kNaN) {
        __mmask16 nan = _mm512_cmp_ps_mask(xv, xv, _CMP_UNORD_Q);
        __mmask16 nr = _mm512_test_epi32_mask(_mm512_mask_i32gather_epi32(zero, lanes[p], fi, e.nan_right, 4), one);
        right = static_cast<__mmask16>(right | (nan & nr));
      }
      __m512i twice = _mm512_add_epi32(idx[p], idx[p]);
      idx[p] = _mm512_mask_add_epi32(twice, right, twice, one);
    }
  }
  alignas(64) float leaves[P][kLanes];
  for (int p = 0; p < P; ++p)
    _mm512_store_ps(leaves[p], _mm512_mask_i32gather_ps(fzero, lanes[p], _mm512_add_epi32(voff[p], idx[p]), e.values, 4));
  // Tree order, in double; a single-output model keeps the running sum in a register (through
  // memory each add would wait for the previous store).
  if (e.n_margins == 1) {
    double sum = acc[0];
    for (int p = 0; p < P; ++p)
      for (uint32_t k = 0; k < g[p].count; ++k) sum += static_cast<double>(leaves[p][k]);
    acc[0] = sum;
  } else {
    for (int p = 0; p < P; ++p)
      for (uint32_t k = 0; k < g[p].count; ++k) acc[g[p].output[k]] += static_cast<double>(leaves[p][k]);
  }
}

template <bool kLe, bool kNaN>
void row(const EnsembleView& e, const float* x, double* acc) {
  const size_t nf = e.n_features;
  const bool in_registers = nf <= 32;
  __m512 x0 = _mm512_setzero_ps(), x1 = _mm512_setzero_ps();
  if (in_registers) {
    x0 = _mm512_maskz_loadu_ps(static_cast<__mmask16>(nf >= 16 ? 0xFFFFu : (1u << nf) - 1u), x);
    if (nf > 16) x1 = _mm512_maskz_loadu_ps(static_cast<__mmask16>(nf == 32 ? 0xFFFFu : (1u << (nf - 16)) - 1u), x + 16);
  }
  const RowGroup* g = e.row_groups;
  const RowGroup* end = g + e.n_row_groups;
  while (g < end) {
    if (g->depth < 0) {
      trees_range_scalar(e, g->first_tree, g->count, x, acc);
      ++g;
      continue;
    }
    int same = 1;
    while (same < kPairs && g + same < end && g[same].depth == g->depth) ++same;
    if (same == 3) {
      row_groups<kLe, kNaN, 3>(e, g, x, x0, x1, in_registers, acc);
    } else if (same == 2) {
      row_groups<kLe, kNaN, 2>(e, g, x, x0, x1, in_registers, acc);
    } else {
      row_groups<kLe, kNaN, 1>(e, g, x, x0, x1, in_registers, acc);
    }
    g += same;
  }
}

}  // namespace

void trees_row_avx512(const EnsembleView& e, const float* x, double* acc) {
  bool nan = any_nan(x, e.n_features);
  if (e.less_equal) {
    nan ? row<true, true>(e, x, acc) : row<true, false>(e, x, acc);
  } else {
    nan ? row<false, true>(e, x, acc) : row<false, false>(e, x, acc);
  }
}

void trees_block_avx512(const EnsembleView& e, const float* x, size_t n_rows, double* acc) {
  bool nan = any_nan(x, n_rows * e.n_features);
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
