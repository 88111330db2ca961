// The row normalization of model.h (RowNormalization), shared by the reference evaluator and the
// engine. It is float32 arithmetic that must round exactly as onnxruntime's Normalizer kernel does,
// so it lives in its own translation unit, compiled for the baseline ISA: no function-level FMA
// target can contract `sum += x * x` into a fused multiply-add here.
#include <algorithm>
#include <cmath>
#include <limits>

#include "detail/arithmetic.h"

namespace slipway::model::detail {

void normalize_row(RowNormalization kind, const float* in, float* out, size_t n) {
  switch (kind) {
    case RowNormalization::kNone: break;
    case RowNormalization::kMax: {
      float top = std::numeric_limits<float>::lowest();
      for (size_t i = 0; i < n; ++i) top = std::max(top, in[i]);  // (top < NaN) is false: NaN is skipped
      if (top == 0.0f) break;
      for (size_t i = 0; i < n; ++i) out[i] = in[i] / top;
      return;
    }
    case RowNormalization::kL1: {
      float sum = 0.0f;
      for (size_t i = 0; i < n; ++i) sum += std::fabs(in[i]);
      if (sum == 0.0f) break;
      for (size_t i = 0; i < n; ++i) out[i] = in[i] / sum;
      return;
    }
    case RowNormalization::kL2: {
      float sum = 0.0f;
      for (size_t i = 0; i < n; ++i) {
        const float square = in[i] * in[i];
        sum += square;
      }
      if (sum == 0.0f) break;
      for (size_t i = 0; i < n; ++i) {
        const float square = in[i] * in[i];
        const float root = std::sqrt(square / sum);
        out[i] = in[i] < 0 ? -root : root;
      }
      return;
    }
  }
  // No normalization, or a zero norm: the row as it is.
  if (in != out) std::copy(in, in + n, out);
}

}  // namespace slipway::model::detail
