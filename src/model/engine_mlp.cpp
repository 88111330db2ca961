// MLP bodies: blocked over rows (a tile of rows shares each weight row while it is in L1), each
// output accumulated in double over the inputs in order as an AXPY over the transposed weights, so
// the inner loop vectorises over outputs without reordering any sum. That is exactly the reference
// evaluator's arithmetic (bias first, then inputs in order, double; same activation functions), so
// every path, thread split and the reference agree bit for bit. Float accumulation would be about
// twice as fast but drifts past 1e-5 absolute on outputs in the thousands.
#include <algorithm>
#include <cmath>

#include "detail/arithmetic.h"
#include "detail/engine_compiled.h"

namespace slipway::model::detail {
namespace {

constexpr size_t kTileRows = 16;

size_t max_width(const Mlp& mlp) {
  size_t w = 0;
  for (const auto& l : mlp.layers) w = std::max<size_t>({w, l.in, l.out});
  return w;
}

// out[r * n_out + o] = bias[o] + sum_i in[r * n_in + i] * wt[i * n_out + o], then the activation.
void layer_tile(const DenseLayer& layer, const double* wt, const double* in, size_t rows, double* out) {
  const size_t n_in = layer.in, n_out = layer.out;
  for (size_t r = 0; r < rows; ++r) std::copy(layer.bias.begin(), layer.bias.end(), out + r * n_out);
  for (size_t i = 0; i < n_in; ++i) {
    const double* w = wt + i * n_out;
    for (size_t r = 0; r < rows; ++r) {
      const double v = in[r * n_in + i];
      double* __restrict o = out + r * n_out;
      for (size_t k = 0; k < n_out; ++k) o[k] += v * w[k];
    }
  }
  if (layer.activation != Activation::kIdentity) {
    for (size_t k = 0; k < rows * n_out; ++k) out[k] = activate(layer.activation, out[k]);
  }
}

}  // namespace

std::vector<double> mlp_transpose_weights(const Mlp& mlp) {
  std::vector<double> wt;
  for (const auto& l : mlp.layers) {
    size_t base = wt.size();
    wt.resize(base + size_t{l.in} * l.out);
    for (size_t o = 0; o < l.out; ++o)
      for (size_t i = 0; i < l.in; ++i) wt[base + i * l.out + o] = l.weights[o * l.in + i];
  }
  return wt;
}

size_t mlp_scratch_doubles(const Mlp& mlp, size_t n_rows) {
  return 2 * std::min(n_rows, kTileRows) * max_width(mlp);
}

void mlp_margins(const Mlp& mlp, const double* wt, const float* x, size_t n_rows, double* scratch, double* margins) {
  const size_t width = max_width(mlp);
  const size_t n_in = mlp.layers.front().in;
  const size_t n_out = mlp.layers.back().out;
  double* a = scratch;
  double* b = scratch + std::min(n_rows, kTileRows) * width;
  for (size_t r0 = 0; r0 < n_rows; r0 += kTileRows) {
    const size_t rows = std::min(kTileRows, n_rows - r0);
    const float* xr = x + r0 * n_in;
    for (size_t k = 0; k < rows * n_in; ++k) a[k] = xr[k] == xr[k] ? static_cast<double>(xr[k]) : 0.0;  // missing counts as 0
    const double* w = wt;
    for (const auto& layer : mlp.layers) {
      layer_tile(layer, w, a, rows, b);
      w += size_t{layer.in} * layer.out;
      std::swap(a, b);
    }
    for (size_t k = 0; k < rows * n_out; ++k) margins[r0 * n_out + k] = a[k];
    a = scratch;
    b = scratch + std::min(n_rows, kTileRows) * width;
  }
}

}  // namespace slipway::model::detail
