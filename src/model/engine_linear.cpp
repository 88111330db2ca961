// Linear bodies: margins in double, each summed in feature order like the reference evaluator, so
// the fast path is exact. Four rows at a time break the add latency chain without reordering sums.
#include "detail/engine_compiled.h"

namespace slipway::model::detail {

void linear_margins(const LinearModel& m, size_t nf, size_t n_margins, const float* x, size_t n_rows,
                    double* margins) {
  const float* w = m.weights.data();
  size_t r = 0;
  for (; r + 4 <= n_rows; r += 4) {
    const float* x0 = x + r * nf;
    for (size_t o = 0; o < n_margins; ++o) {
      const float* wo = w + o * nf;
      double b = o < m.bias.size() ? static_cast<double>(m.bias[o]) : 0.0;
      double s0 = b, s1 = b, s2 = b, s3 = b;
      for (size_t f = 0; f < nf; ++f) {
        double wf = static_cast<double>(wo[f]);
        float v0 = x0[f], v1 = x0[nf + f], v2 = x0[2 * nf + f], v3 = x0[3 * nf + f];
        s0 += v0 == v0 ? wf * static_cast<double>(v0) : 0.0;
        s1 += v1 == v1 ? wf * static_cast<double>(v1) : 0.0;
        s2 += v2 == v2 ? wf * static_cast<double>(v2) : 0.0;
        s3 += v3 == v3 ? wf * static_cast<double>(v3) : 0.0;
      }
      margins[r * n_margins + o] = s0;
      margins[(r + 1) * n_margins + o] = s1;
      margins[(r + 2) * n_margins + o] = s2;
      margins[(r + 3) * n_margins + o] = s3;
    }
  }
  for (; r < n_rows; ++r) {
    const float* xr = x + r * nf;
    for (size_t o = 0; o < n_margins; ++o) {
      const float* wo = w + o * nf;
      double s = o < m.bias.size() ? static_cast<double>(m.bias[o]) : 0.0;
      for (size_t f = 0; f < nf; ++f) s += xr[f] == xr[f] ? static_cast<double>(wo[f]) * static_cast<double>(xr[f]) : 0.0;
      margins[r * n_margins + o] = s;
    }
  }
}

}  // namespace slipway::model::detail
