// One loaded, checked version of a served model, immutable once published, plus its statistics.
// Requests hold a shared_ptr to the version they were encoded for, so a swap never pulls a model
// out from under a request in flight.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "slipway/model/engine.h"
#include "slipway/model/model.h"
#include "slipway/model/transforms.h"
#include "slipway/serve/inference.h"
#include "slipway/serve/service.h"

namespace slipway::serve::detail {

// A Prometheus histogram with fixed bucket bounds; lock-free (relaxed atomics: a scrape may see a
// sample's bucket before its sum, which Prometheus tolerates).
template <size_t N>
struct Histogram {
  const std::array<double, N>* bounds;
  std::array<std::atomic<uint64_t>, N + 1> buckets{};  // last: +Inf
  std::atomic<uint64_t> count{0};
  std::atomic<double> sum{0};

  explicit Histogram(const std::array<double, N>* b) : bounds(b) {}
  void observe(double value) {
    size_t i = 0;
    while (i < N && value > (*bounds)[i]) ++i;
    buckets[i].fetch_add(1, std::memory_order_relaxed);
    count.fetch_add(1, std::memory_order_relaxed);
    sum.fetch_add(value, std::memory_order_relaxed);
  }
};

inline constexpr std::array<double, 16> kLatencyBounds = {
    5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.5, 1.0};
inline constexpr std::array<double, 12> kBatchBounds = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};

struct VersionStats {
  explicit VersionStats(std::string v) : version(std::move(v)) {}
  std::string version;
  std::atomic<uint64_t> success{0};
  std::atomic<uint64_t> failure{0};
  std::atomic<uint64_t> inferences{0};  // rows predicted
  std::atomic<uint64_t> executions{0};  // predict calls (a batch is one)
  Histogram<16> request{&kLatencyBounds};   // arrival at the front end -> response handed back
  Histogram<16> queue{&kLatencyBounds};     // waiting for the batch thread
  Histogram<16> compute{&kLatencyBounds};   // encoding + predict of the request's batch
  Histogram<16> overhead{&kLatencyBounds};  // request - queue - compute: the server's own time
  Histogram<12> batch_size{&kBatchBounds};  // rows per execution
};

struct ServedVersion {
  std::string model_name;
  SourceVersion source_version;
  model::Model model;
  std::unique_ptr<model::FeatureEncoder> encoder;  // refers to `model`: never move a ServedVersion
  std::unique_ptr<model::Predictor> predictor;
  ModelMetadata metadata;
  bool all_numeric = true;
  // Every input numeric with no transform step: a feature row is the inputs as float32 (fast path).
  bool identity_encoding = false;
  std::shared_ptr<VersionStats> stats;

  ServedVersion() = default;
  ServedVersion(const ServedVersion&) = delete;
  ServedVersion& operator=(const ServedVersion&) = delete;

  size_t n_inputs() const { return model.inputs.size(); }
  size_t n_features() const { return predictor->n_features(); }
  size_t n_outputs() const { return predictor->n_outputs(); }
};

// Compiles and checks a model (predicts a probe row of all-missing inputs; outputs must be finite).
Result<std::shared_ptr<const ServedVersion>> make_served_version(const std::string& name, const SourceVersion& version,
                                                                  model::Model model);

// Which outputs a request gets: index into output_names, or -1 for kPackedOutputName.
struct OutputPlan {
  std::vector<int> columns;
};

// Validates the request's inputs and outputs against the version's signature and encodes its rows
// into `features` (resized to rows * n_features). kInvalidArgument names the input and the problem.
Status encode_request(const ServedVersion& version, const InferRequest& request, std::vector<float>& features,
                      size_t& rows, OutputPlan& plan);

// Builds the response's output tensors from predictions out[rows * n_outputs].
void fill_outputs(const ServedVersion& version, const OutputPlan& plan, const float* out, size_t rows,
                  InferResponse& response);

}  // namespace slipway::serve::detail
