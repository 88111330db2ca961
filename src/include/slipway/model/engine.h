// The native inference engine. A Predictor is compiled once from a validated Model and is then
// immutable and safe for any number of concurrent callers. Inputs are dense float32 feature rows
// (row-major, NaN = missing), already encoded by FeatureEncoder; the model's row normalization, if
// any (model.h), is applied here, by predict, predict_row and reference_predict alike.
//
//   predict(x, n_rows, out)   batch: out[r * n_outputs + k]; large batches are split across threads
//   predict_row(x, out)       single row: no allocation, no locks, no threads
//
// Tree ensembles are flattened into a cache-friendly layout and evaluated several rows at a time,
// with AVX2 / AVX-512 paths chosen at run time (one binary runs on any x86-64). reference_predict is
// the plain evaluator kept as the oracle for the fast paths: they must agree (tests check).
//
// Agreement: tree ensembles and linear models are bit-identical to reference_predict. MLPs store
// weights and activations in float32 and accumulate with float32 FMAs (bias, then inputs in order)
// in a register-tiled kernel, so per output |predict - reference| <= 1e-5 * max(1, |reference|)
// (margins and outputs; checked on random MLPs and on the golden sklearn MLPs' own inputs). The
// rounding scales with the sum of |terms|, not the result: on inputs far outside the training range,
// where large hidden terms cancel, the tests allow 1e-3 * max(1, |reference|) (1.1e-4 seen). Every
// ISA, predict_row vs predict, and every thread split still give bit-identical MLP results.
#pragma once

#include <cstddef>
#include <memory>

#include "slipway/core/status.h"
#include "slipway/model/model.h"

namespace slipway::model {

struct PredictorOptions {
  unsigned threads = 1;        // for batch predict(); 0 = all hardware threads
  size_t rows_per_task = 4096; // granularity of the split across threads
  bool margins = false;        // output raw margins (no sigmoid / softmax / exp)
  enum class Isa { kAuto, kScalar, kAvx2, kAvx512 } isa = Isa::kAuto;  // kAuto: best the CPU has
};

class Predictor {
 public:
  static Result<std::unique_ptr<Predictor>> create(const Model& model, const PredictorOptions& options = {});
  virtual ~Predictor() = default;

  virtual size_t n_features() const = 0;
  virtual size_t n_outputs() const = 0;  // == model.n_outputs() (or n_margins() with options.margins)
  virtual void predict(const float* x, size_t n_rows, float* out) const = 0;
  virtual void predict_row(const float* x, float* out) const = 0;
  virtual const char* isa_name() const = 0;  // "scalar", "avx2", "avx512"
};

// Straightforward evaluation: per row, per tree, follow the nodes; double accumulation.
void reference_predict(const Model& model, const float* x, size_t n_rows, float* out, bool margins = false);

}  // namespace slipway::model
