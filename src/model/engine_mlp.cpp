// MLP bodies: float32 storage, float32 FMA accumulation, as a register-tiled GEMM per layer.
//
// Weights are packed at compile time into panels of 16 outputs ([panel][input][16 lanes], zero
// padding past the layer's width), so a micro-kernel keeps an M rows x 16/32 outputs tile of
// accumulators in registers, loads one weight vector per panel per input and broadcasts one
// activation per row. Rows go through the network kTileRows at a time (activations stay in L1/L2,
// each weight panel stays in L1 while the tile's rows sweep past it).
//
// Every output is computed as acc = bias; acc = fma(in[i], w[i], acc) for i in input order, one
// rounding per step, whatever the ISA (AVX-512, AVX2 or std::fma in the scalar fallback), the row's
// position in its tile or the number of rows in the call. So all ISAs, single row and batch, and any
// thread split agree bit for bit. Against the double-precision reference the result differs by
// float rounding: see the bound in engine.h. ReLU is applied in the kernel (max with +0, which also
// maps NaN to 0 like the reference); other activations go through the shared double-precision
// activate() and round back to float.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "detail/arithmetic.h"
#include "detail/engine_compiled.h"

#include <immintrin.h>

namespace slipway::model::detail {
namespace {

constexpr size_t kLanes = 16;     // outputs per weight panel
constexpr size_t kTileRows = 64;  // rows per pass through the network

size_t padded(size_t n) { return (n + kLanes - 1) / kLanes * kLanes; }

// One layer on a tile of rows: in is rows x n_in (stride in_stride), out is rows x padded(out)
// (stride out_stride); the padding lanes come out as 0 (zero weights and bias).
struct LayerArgs {
  const float* in;
  size_t in_stride;
  size_t rows;
  const float* bias;    // padded(out)
  const float* panels;  // n_panels x n_in x kLanes
  size_t n_in;
  size_t n_panels;
  bool relu;
  float* out;
  size_t out_stride;
};

void dense_scalar(const LayerArgs& a) {
  for (size_t p = 0; p < a.n_panels; ++p) {
    const float* w = a.panels + p * a.n_in * kLanes;
    for (size_t r = 0; r < a.rows; ++r) {
      float acc[kLanes];
      std::memcpy(acc, a.bias + p * kLanes, sizeof acc);
      const float* in = a.in + r * a.in_stride;
      for (size_t i = 0; i < a.n_in; ++i) {
        for (size_t k = 0; k < kLanes; ++k) acc[k] = std::fma(in[i], w[i * kLanes + k], acc[k]);
      }
      float* o = a.out + r * a.out_stride + p * kLanes;
      for (size_t k = 0; k < kLanes; ++k) o[k] = a.relu ? (acc[k] > 0 ? acc[k] : 0.0f) : acc[k];
    }
  }
}

}  // namespace
}  // namespace slipway::model::detail

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"))), apply_to = function)
#define SLIPWAY_UNROLL _Pragma("clang loop unroll(full)")
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,fma")
#define SLIPWAY_UNROLL _Pragma("GCC unroll 16")
#endif

namespace slipway::model::detail {
namespace {

// M rows x P panels (16 outputs each) of accumulators: with M = 8, P = 2 that is 16 of the 32 zmm
// registers, 2 weight loads and 8 broadcasts per 16 FMAs.
template <int M, int P>
void tile_avx512(const LayerArgs& a, size_t r0, size_t p0) {
  __m512 acc[M][P];
  const float* w[P];
  SLIPWAY_UNROLL
  for (int p = 0; p < P; ++p) {
    const __m512 b = _mm512_load_ps(a.bias + (p0 + p) * kLanes);
    w[p] = a.panels + (p0 + p) * a.n_in * kLanes;
    SLIPWAY_UNROLL
    for (int r = 0; r < M; ++r) acc[r][p] = b;
  }
  const float* in = a.in + r0 * a.in_stride;
  for (size_t i = 0; i < a.n_in; ++i) {
    __m512 wv[P];
    SLIPWAY_UNROLL
    for (int p = 0; p < P; ++p) wv[p] = _mm512_load_ps(w[p] + i * kLanes);
    SLIPWAY_UNROLL
    for (int r = 0; r < M; ++r) {
      const __m512 x = _mm512_set1_ps(in[r * a.in_stride + i]);
      SLIPWAY_UNROLL
      for (int p = 0; p < P; ++p) acc[r][p] = _mm512_fmadd_ps(x, wv[p], acc[r][p]);
    }
  }
  const __m512 zero = _mm512_setzero_ps();
  SLIPWAY_UNROLL
  for (int r = 0; r < M; ++r) {
    float* o = a.out + (r0 + r) * a.out_stride + p0 * kLanes;
    SLIPWAY_UNROLL
    for (int p = 0; p < P; ++p) _mm512_store_ps(o + p * kLanes, a.relu ? _mm512_maskz_max_ps(static_cast<__mmask16>(0xFFFF), acc[r][p], zero) : acc[r][p]);
  }
}

template <int P>
void rows_avx512(const LayerArgs& a, size_t p0) {
  constexpr size_t kM = 8;
  size_t r = 0;
  for (; r + kM <= a.rows; r += kM) tile_avx512<kM, P>(a, r, p0);
  switch (a.rows - r) {
    case 7: tile_avx512<7, P>(a, r, p0); break;
    case 6: tile_avx512<6, P>(a, r, p0); break;
    case 5: tile_avx512<5, P>(a, r, p0); break;
    case 4: tile_avx512<4, P>(a, r, p0); break;
    case 3: tile_avx512<3, P>(a, r, p0); break;
    case 2: tile_avx512<2, P>(a, r, p0); break;
    case 1: tile_avx512<1, P>(a, r, p0); break;
    default: break;
  }
}

void dense_avx512(const LayerArgs& a) {
  size_t p = 0;
  for (; p + 2 <= a.n_panels; p += 2) rows_avx512<2>(a, p);
  if (p < a.n_panels) rows_avx512<1>(a, p);
}

}  // namespace
}  // namespace slipway::model::detail

#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

namespace slipway::model::detail {
namespace {

// M rows x one 16-output panel (two ymm): with M = 6 that is 12 of the 16 ymm registers.
template <int M>
void tile_avx2(const LayerArgs& a, size_t r0, size_t p) {
  __m256 acc[M][2];
  const __m256 b0 = _mm256_load_ps(a.bias + p * kLanes), b1 = _mm256_load_ps(a.bias + p * kLanes + 8);
  SLIPWAY_UNROLL
  for (int r = 0; r < M; ++r) {
    acc[r][0] = b0;
    acc[r][1] = b1;
  }
  const float* w = a.panels + p * a.n_in * kLanes;
  const float* in = a.in + r0 * a.in_stride;
  for (size_t i = 0; i < a.n_in; ++i) {
    const __m256 w0 = _mm256_load_ps(w + i * kLanes), w1 = _mm256_load_ps(w + i * kLanes + 8);
    SLIPWAY_UNROLL
    for (int r = 0; r < M; ++r) {
      const __m256 x = _mm256_broadcast_ss(in + r * a.in_stride + i);
      acc[r][0] = _mm256_fmadd_ps(x, w0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(x, w1, acc[r][1]);
    }
  }
  const __m256 zero = _mm256_setzero_ps();
  SLIPWAY_UNROLL
  for (int r = 0; r < M; ++r) {
    float* o = a.out + (r0 + r) * a.out_stride + p * kLanes;
    _mm256_store_ps(o, a.relu ? _mm256_max_ps(acc[r][0], zero) : acc[r][0]);
    _mm256_store_ps(o + 8, a.relu ? _mm256_max_ps(acc[r][1], zero) : acc[r][1]);
  }
}

void dense_avx2(const LayerArgs& a) {
  constexpr size_t kM = 6;
  for (size_t p = 0; p < a.n_panels; ++p) {
    size_t r = 0;
    for (; r + kM <= a.rows; r += kM) tile_avx2<kM>(a, r, p);
    switch (a.rows - r) {
      case 5: tile_avx2<5>(a, r, p); break;
      case 4: tile_avx2<4>(a, r, p); break;
      case 3: tile_avx2<3>(a, r, p); break;
      case 2: tile_avx2<2>(a, r, p); break;
      case 1: tile_avx2<1>(a, r, p); break;
      default: break;
    }
  }
}

}  // namespace
}  // namespace slipway::model::detail

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#undef SLIPWAY_UNROLL

namespace slipway::model::detail {

CompiledMlp compile_mlp(const Mlp& mlp, PredictorOptions::Isa isa) {
  CompiledMlp c;
  size_t total = 0;
  for (const auto& l : mlp.layers) total += padded(l.out) * (1 + size_t{l.in});
  c.params = AlignedArray<float>(total);  // zero-filled: the padding lanes stay 0
  c.n_in = mlp.layers.front().in;
  c.n_out = mlp.layers.back().out;
  c.width = 0;
  size_t offset = 0;
  for (const auto& l : mlp.layers) {
    const size_t pad = padded(l.out);
    c.layers.push_back({l.in, l.out, static_cast<uint32_t>(pad), l.activation, offset});
    float* bias = c.params.data() + offset;
    float* panels = bias + pad;
    for (size_t o = 0; o < l.out; ++o) {
      bias[o] = l.bias[o];
      const size_t p = o / kLanes, k = o % kLanes;
      for (size_t i = 0; i < l.in; ++i) panels[(p * l.in + i) * kLanes + k] = l.weights[o * l.in + i];
    }
    offset += pad * (1 + size_t{l.in});
    c.width = std::max({c.width, pad, size_t{l.in}});
  }
  c.isa = isa;
  return c;
}

size_t mlp_scratch_floats(const CompiledMlp& mlp, size_t n_rows) {
  // Two ping-pong buffers, each starting on a 64-byte boundary (the kernels store aligned).
  return 2 * (std::min(n_rows, kTileRows) * mlp.width + kLanes);
}

void mlp_margins(const CompiledMlp& mlp, const float* x, size_t n_rows, float* scratch, double* margins) {
  const size_t buffer = std::min(n_rows, kTileRows) * mlp.width;
  auto align = [](float* p) {
    return reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(p) + 63) / 64 * 64);
  };
  void (*dense)(const LayerArgs&) = &dense_scalar;
  if (mlp.isa == PredictorOptions::Isa::kAvx512) dense = &dense_avx512;
  if (mlp.isa == PredictorOptions::Isa::kAvx2) dense = &dense_avx2;
  float* const first = align(scratch);
  float* const second = align(first + buffer);
  for (size_t r0 = 0; r0 < n_rows; r0 += kTileRows) {
    const size_t rows = std::min(kTileRows, n_rows - r0);
    const float* xr = x + r0 * mlp.n_in;
    float* a = first;
    float* b = second;
    for (size_t k = 0; k < rows * mlp.n_in; ++k) a[k] = xr[k] == xr[k] ? xr[k] : 0.0f;  // missing counts as 0
    size_t stride = mlp.n_in;
    for (const auto& l : mlp.layers) {
      const float* bias = mlp.params.data() + l.offset;
      dense({a, stride, rows, bias, bias + l.padded, l.in, l.padded / kLanes, l.activation == Activation::kRelu,
                 b, l.padded});
      if (l.activation != Activation::kRelu && l.activation != Activation::kIdentity) {
        for (size_t r = 0; r < rows; ++r) {
          float* o = b + r * l.padded;
          for (size_t k = 0; k < l.out; ++k) o[k] = static_cast<float>(activate(l.activation, o[k]));
        }
      }
      stride = l.padded;
      std::swap(a, b);
    }
    for (size_t r = 0; r < rows; ++r) {
      for (size_t k = 0; k < mlp.n_out; ++k) margins[(r0 + r) * mlp.n_out + k] = a[r * stride + k];
    }
  }
}

}  // namespace slipway::model::detail
