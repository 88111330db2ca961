// Predictor::create: compiles a validated Model into one of three immutable predictors (tree
// ensemble, linear, MLP), picks the ISA, and splits large batches across threads.
//
// Threads: a batch of more than rows_per_task rows is cut into tasks of rows_per_task rows (rounded
// to whole 32-row blocks); `threads - 1` std::threads started for the call and the caller take
// tasks from an atomic counter. Starting threads per call costs tens of microseconds, nothing next
// to a task of 4096 rows (~2 ms for 500 trees), and keeps the predictor free of shared mutable
// state, so concurrent callers never contend. Every row's arithmetic is independent of the block it
// lands in, so any split gives bit-identical results. A model's row normalization (model.h) is
// applied per block of rows into a buffer the block owns (per-thread scratch on the single-row path)
// and costs nothing for models without one.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <system_error>
#include <thread>
#include <vector>

#include "detail/arithmetic.h"
#include "detail/engine_compiled.h"
#include "slipway/model/engine.h"

namespace slipway::model {
namespace {

using detail::kTreeBlockRows;
using Isa = PredictorOptions::Isa;

bool cpu_has(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return true;
    case Isa::kAvx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    case Isa::kAuto: return true;
  }
  return false;
}

const char* isa_label(Isa isa) {
  switch (isa) {
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx2: return "avx2";
    default: return "scalar";
  }
}

// Same arithmetic as reference_predict's output stage.
void finalize(OutputTransform transform, bool margins_only, const double* m, size_t n, float* dst) {
  detail::apply_output_transform(margins_only ? OutputTransform::kIdentity : transform, m, n, dst);
}

// Per-thread scratch: the single-row path allocates only the first time a thread needs more room.
// `Slot` tells apart buffers of one type that are in use at the same time.
template <typename T, int Slot = 0>
T* scratch(size_t n) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < n) buffer.resize(n);
  return buffer.data();
}

class PredictorBase : public Predictor {
 public:
  PredictorBase(const Model& model, const PredictorOptions& options, Isa isa)
      : n_features_(model.n_features()),
        n_margins_(model.n_margins()),
        transform_(model.output_transform),
        normalization_(model.row_normalization),
        margins_only_(options.margins),
        isa_(isa),
        rows_per_task_(std::max<size_t>(kTreeBlockRows, (options.rows_per_task + kTreeBlockRows - 1) /
                                                            kTreeBlockRows * kTreeBlockRows)) {
    unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    threads_ = options.threads == 0 ? hw : options.threads;
  }

  size_t n_features() const override { return n_features_; }
  size_t n_outputs() const override { return n_margins_; }
  const char* isa_name() const override { return isa_label(isa_); }

  void predict(const float* x, size_t n_rows, float* out) const override {
    const size_t tasks = (n_rows + rows_per_task_ - 1) / rows_per_task_;
    const size_t n_threads = std::min<size_t>(threads_, tasks);
    if (n_threads <= 1) {
      predict_range(x, n_rows, out);
      return;
    }
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t t; (t = next.fetch_add(1, std::memory_order_relaxed)) < tasks;) {
        const size_t begin = t * rows_per_task_, end = std::min(n_rows, begin + rows_per_task_);
        predict_range(x + begin * n_features_, end - begin, out + begin * n_margins_);
      }
    };
    std::vector<std::thread> helpers;
    helpers.reserve(n_threads - 1);
    for (size_t i = 1; i < n_threads; ++i) {
      try {
        helpers.emplace_back(work);
      } catch (const std::system_error&) {
        break;  // no more threads available: the ones we have (and this one) finish the tasks
      }
    }
    work();
    for (auto& h : helpers) h.join();
  }

 protected:
  // Rows [0, n_rows) of x into out, on the calling thread.
  virtual void predict_range(const float* x, size_t n_rows, float* out) const = 0;

  void finish(const double* margins, float* out) const { finalize(transform_, margins_only_, margins, n_margins_, out); }

  // The row the body reads: x itself, or x normalized into this thread's scratch (no allocation
  // after a thread's first call).
  const float* body_row(const float* x) const {
    if (normalization_ == RowNormalization::kNone) return x;
    float* row = scratch<float, 1>(n_features_);
    detail::normalize_row(normalization_, x, row, n_features_);
    return row;
  }
  // Room for `rows` normalized rows when the model normalizes them (see detail::normalize_rows).
  std::vector<float> normalize_buffer(size_t rows) const {
    return std::vector<float>(normalization_ == RowNormalization::kNone ? 0 : rows * n_features_);
  }

  size_t n_features_, n_margins_;
  OutputTransform transform_;
  RowNormalization normalization_;
  bool margins_only_;
  Isa isa_;
  size_t rows_per_task_;
  unsigned threads_ = 1;
};

class TreePredictor final : public PredictorBase {
 public:
  TreePredictor(const Model& model, const PredictorOptions& options, Isa isa)
      : PredictorBase(model, options, isa),
        compiled_(detail::compile_ensemble(std::get<TreeEnsemble>(model.body), n_features_, n_margins_)) {
    switch (isa) {
      case Isa::kAvx512: block_ = &detail::trees_block_avx512; break;
      case Isa::kAvx2: block_ = &detail::trees_block_avx2; break;
      default: block_ = &detail::trees_block_scalar; break;
    }
  }

  void predict_row(const float* x, float* out) const override {
    x = body_row(x);
    double* acc = scratch<double>(2 * n_margins_);
    std::fill(acc, acc + n_margins_, 0.0);
    if (isa_ == Isa::kAvx512) {
      detail::trees_row_avx512(compiled_->view, x, acc);
    } else {
      detail::trees_row_scalar(compiled_->view, x, acc);
    }
    margins(acc, 1, acc + n_margins_);
    finish(acc + n_margins_, out);
  }

 protected:
  void predict_range(const float* x, size_t n_rows, float* out) const override {
    const size_t m = n_margins_;
    std::vector<double> acc(m * kTreeBlockRows);
    std::vector<double> row(m);
    std::vector<float> normalized = normalize_buffer(kTreeBlockRows);
    for (size_t r0 = 0; r0 < n_rows; r0 += kTreeBlockRows) {
      const size_t rows = std::min(kTreeBlockRows, n_rows - r0);
      std::fill(acc.begin(), acc.end(), 0.0);
      const float* xb = detail::normalize_rows(normalization_, x + r0 * n_features_, rows, n_features_, normalized.data());
      block_(compiled_->view, xb, rows, acc.data());
      for (size_t r = 0; r < rows; ++r) {
        margins(acc.data() + r, kTreeBlockRows, row.data());
        finish(row.data(), out + (r0 + r) * m);
      }
    }
  }

 private:
  // margins[o] = base[o] + sum[o] / divisor[o]  (divisor 1 unless averaging: exact either way)
  void margins(const double* sums, size_t stride, double* dst) const {
    for (size_t o = 0; o < n_margins_; ++o) dst[o] = compiled_->base[o] + sums[o * stride] / compiled_->divisor[o];
  }

  std::unique_ptr<detail::CompiledEnsemble> compiled_;
  void (*block_)(const detail::EnsembleView&, const float*, size_t, double*) = nullptr;
};

class LinearPredictor final : public PredictorBase {
 public:
  LinearPredictor(const Model& model, const PredictorOptions& options, Isa isa)
      : PredictorBase(model, options, isa), linear_(std::get<LinearModel>(model.body)) {}

  void predict_row(const float* x, float* out) const override {
    x = body_row(x);
    double* m = scratch<double>(n_margins_);
    detail::linear_margins(linear_, n_features_, n_margins_, x, 1, m);
    finish(m, out);
  }

 protected:
  void predict_range(const float* x, size_t n_rows, float* out) const override {
    constexpr size_t kChunk = 256;
    std::vector<double> m(kChunk * n_margins_);
    std::vector<float> normalized = normalize_buffer(kChunk);
    for (size_t r0 = 0; r0 < n_rows; r0 += kChunk) {
      const size_t rows = std::min(kChunk, n_rows - r0);
      const float* xc = detail::normalize_rows(normalization_, x + r0 * n_features_, rows, n_features_, normalized.data());
      detail::linear_margins(linear_, n_features_, n_margins_, xc, rows, m.data());
      for (size_t r = 0; r < rows; ++r) finish(m.data() + r * n_margins_, out + (r0 + r) * n_margins_);
    }
  }

 private:
  LinearModel linear_;
};

class MlpPredictor final : public PredictorBase {
 public:
  MlpPredictor(const Model& model, const PredictorOptions& options, Isa isa)
      : PredictorBase(model, options, isa), compiled_(detail::compile_mlp(std::get<Mlp>(model.body), isa)) {}

  // The batch kernel with one row: the same arithmetic, so the same bits.
  void predict_row(const float* x, float* out) const override {
    x = body_row(x);
    float* s = scratch<float>(detail::mlp_scratch_floats(compiled_, 1));
    double* m = scratch<double>(n_margins_);
    detail::mlp_margins(compiled_, x, 1, s, m);
    finish(m, out);
  }

 protected:
  void predict_range(const float* x, size_t n_rows, float* out) const override {
    constexpr size_t kChunk = 256;
    std::vector<float> s(detail::mlp_scratch_floats(compiled_, kChunk));
    std::vector<double> m(kChunk * n_margins_);
    std::vector<float> normalized = normalize_buffer(kChunk);
    for (size_t r0 = 0; r0 < n_rows; r0 += kChunk) {
      const size_t rows = std::min(kChunk, n_rows - r0);
      const float* xc = detail::normalize_rows(normalization_, x + r0 * n_features_, rows, n_features_, normalized.data());
      detail::mlp_margins(compiled_, xc, rows, s.data(), m.data());
      for (size_t r = 0; r < rows; ++r) finish(m.data() + r * n_margins_, out + (r0 + r) * n_margins_);
    }
  }

 private:
  detail::CompiledMlp compiled_;
};

}  // namespace

Result<std::unique_ptr<Predictor>> Predictor::create(const Model& model, const PredictorOptions& options) {
  SLIPWAY_RETURN_IF_ERROR(validate_model(model));
  Isa isa = options.isa;
  if (isa == Isa::kAuto) {
    isa = cpu_has(Isa::kAvx512) ? Isa::kAvx512 : cpu_has(Isa::kAvx2) ? Isa::kAvx2 : Isa::kScalar;
  } else if (!cpu_has(isa)) {
    return make_error(ErrorCode::kInvalidArgument, "this CPU does not support the {} instruction set", isa_label(isa));
  }
  std::unique_ptr<Predictor> p;
  if (std::holds_alternative<TreeEnsemble>(model.body)) {
    p = std::make_unique<TreePredictor>(model, options, isa);
  } else if (std::holds_alternative<LinearModel>(model.body)) {
    p = std::make_unique<LinearPredictor>(model, options, isa);
  } else {
    p = std::make_unique<MlpPredictor>(model, options, isa);
  }
  return p;
}

}  // namespace slipway::model
