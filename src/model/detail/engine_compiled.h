// Private to the engine: owning storage for a compiled tree ensemble (see engine_trees.h for the
// layout) and the dense bodies' kernels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include "slipway/model/engine.h"
#include "slipway/model/model.h"
#include "engine_trees.h"

namespace slipway::model::detail {

// A 64-byte aligned array (node tables are read with full-width vector loads).
template <typename T>
class AlignedArray {
 public:
  AlignedArray() = default;
  explicit AlignedArray(size_t n) : size_(n) {
    size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
    if (bytes == 0) bytes = 64;
    data_.reset(static_cast<T*>(std::aligned_alloc(64, bytes)));
    if (!data_) throw std::bad_alloc();
    for (size_t i = 0; i < n; ++i) data_[i] = T{};
  }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  T& operator[](size_t i) { return data_[i]; }
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T[], Free> data_;
  size_t size_ = 0;
};

struct CompiledEnsemble {
  std::vector<TreeRef> trees;
  AlignedArray<int32_t> features;
  AlignedArray<float> values;
  AlignedArray<int32_t> nan_right;
  std::vector<GenericNode> nodes;
  std::vector<CategorySet> category_sets;
  std::vector<uint32_t> category_bits;
  std::vector<float> leaf_values;
  std::vector<RowGroup> row_groups;
  std::vector<double> base;     // per margin
  std::vector<double> divisor;  // per margin: trees of that margin when averaging, else 1
  EnsembleView view{};
  size_t complete_trees = 0;
};

// Builds the layout. The model must be validated; n_margins is Model::n_margins().
std::unique_ptr<CompiledEnsemble> compile_ensemble(const TreeEnsemble& ensemble, size_t n_features, size_t n_margins);

// margins[r * n_margins + o] for the linear body, double accumulation in feature order (NaN = 0).
void linear_margins(const LinearModel& m, size_t n_features, size_t n_margins, const float* x, size_t n_rows,
                    double* margins);

// The MLP body: float32 weights packed into 16-output panels (engine_mlp.cpp) for a register-tiled
// float32 FMA kernel. Every ISA, row count and thread split gives bit-identical margins.
struct CompiledMlp {
  struct Layer {
    uint32_t in, out, padded;  // padded: out rounded up to whole 16-lane panels
    Activation activation;
    size_t offset;  // into params: padded bias floats, then the panels (padded x in)
  };
  std::vector<Layer> layers;
  AlignedArray<float> params;
  size_t n_in = 0, n_out = 0, width = 0;  // width: the widest layer input or padded output
  PredictorOptions::Isa isa = PredictorOptions::Isa::kScalar;
};
CompiledMlp compile_mlp(const Mlp& mlp, PredictorOptions::Isa isa);
// `scratch` holds at least mlp_scratch_floats(mlp, n_rows) floats; margins gets n_rows x n_out.
size_t mlp_scratch_floats(const CompiledMlp& mlp, size_t n_rows);
void mlp_margins(const CompiledMlp& mlp, const float* x, size_t n_rows, float* scratch, double* margins);

}  // namespace slipway::model::detail
