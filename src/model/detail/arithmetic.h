// The arithmetic the reference evaluator and the fast engine share, so they cannot drift apart:
// activations and the output transforms, all in double precision; the row normalization in float32.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "slipway/model/model.h"

namespace slipway::model::detail {

inline double activate(Activation a, double v) {
  switch (a) {
    case Activation::kIdentity: return v;
    case Activation::kRelu: return v > 0 ? v : 0.0;
    case Activation::kTanh: return std::tanh(v);
    case Activation::kSigmoid: return 1.0 / (1.0 + std::exp(-v));
    case Activation::kGelu: return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));  // exact (erf) form
  }
  return v;
}

// 1 / (1 + e^-v) without overflow for large negative v.
inline double stable_sigmoid(double v) {
  if (v >= 0) return 1.0 / (1.0 + std::exp(-v));
  const double e = std::exp(v);
  return e / (1.0 + e);
}

// margins m[0..n) -> outputs dst[0..n); softmax subtracts the largest margin first.
inline void apply_output_transform(OutputTransform transform, const double* m, size_t n, float* dst) {
  switch (transform) {
    case OutputTransform::kIdentity:
      for (size_t o = 0; o < n; ++o) dst[o] = static_cast<float>(m[o]);
      break;
    case OutputTransform::kSigmoid:
      for (size_t o = 0; o < n; ++o) dst[o] = static_cast<float>(stable_sigmoid(m[o]));
      break;
    case OutputTransform::kExp:
      for (size_t o = 0; o < n; ++o) dst[o] = static_cast<float>(std::exp(m[o]));
      break;
    case OutputTransform::kSoftmax: {
      const double top = *std::max_element(m, m + n);
      double sum = 0;
      for (size_t o = 0; o < n; ++o) sum += std::exp(m[o] - top);
      for (size_t o = 0; o < n; ++o) dst[o] = static_cast<float>(std::exp(m[o] - top) / sum);
      break;
    }
  }
}

// The row normalization (model.h, RowNormalization) of one row of n floats, in[] -> out[] (they may
// be the same array): float32, the operations of onnxruntime's Normalizer kernel in the same order,
// so the row is bit-identical to what its graph feeds the next node (row_normalization.cpp).
void normalize_row(RowNormalization kind, const float* in, float* out, size_t n);

// Rows [0, n_rows) of x (n_features each) normalized into out; returns out, or x itself when there
// is nothing to do.
inline const float* normalize_rows(RowNormalization kind, const float* x, size_t n_rows, size_t n_features, float* out) {
  if (kind == RowNormalization::kNone) return x;
  for (size_t r = 0; r < n_rows; ++r) normalize_row(kind, x + r * n_features, out + r * n_features, n_features);
  return out;
}

}  // namespace slipway::model::detail
