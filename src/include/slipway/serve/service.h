// InferenceService: the models one `slipway serve` process serves, each with its dynamic batcher,
// its live version (swapped atomically when its source moves), and its metrics. Implements the
// protocol-independent InferenceApi (inference.h) that the REST and gRPC front ends call.
//
// Life of a request: infer() looks up the model (no global lock: the model table is fixed at start,
// the live version is an atomic shared_ptr), validates and encodes the rows with that version's
// FeatureEncoder on the caller's thread, then either predicts at once on the caller's thread (the
// queue is empty and no inline prediction of this model is running: lowest latency) or queues the
// encoded rows for the model's batch thread, which merges queued requests of the same version up
// to max_batch_size rows, waiting at most max_queue_delay_us after the oldest arrived.
//
// Hot swap: a poll thread asks each model's ModelSource for its current version about once a
// second. When it changed, the new version is loaded and checked in the background (validated,
// compiled, a probe row of all-missing inputs predicted, outputs finite); then it is published with
// one atomic store. Requests already encoded for the old version finish on it (they hold it). A
// version that fails stays unpublished, the old one keeps serving, and the log callback says why.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "slipway/core/status.h"
#include "slipway/model/model.h"
#include "slipway/serve/inference.h"
#include "slipway/serve/prediction_log.h"

namespace slipway::serve {

// A version of a model as its source knows it.
struct SourceVersion {
  std::string label;  // the version name clients see ("3" for a registry version, "1" for a file)
  std::string key;    // changes whenever the content does (bundle object id, file size+mtime)
};

// Where a served model comes from: a bundle file, or a registry spec (NAME@ALIAS, NAME/N).
class ModelSource {
 public:
  virtual ~ModelSource() = default;
  virtual std::string describe() const = 0;  // "churn@champion", "model.slw"
  // Cheap (polled about once a second).
  virtual Result<SourceVersion> current() = 0;
  virtual Result<model::Model> load(const SourceVersion& version) = 0;
  // Called when a version starts or stops being served (registry deployments). Default: nothing.
  virtual void on_serving(const SourceVersion& /*version*/, bool /*serving*/) {}
};

// Serves a bundle file. Version label "1", and +1 each time the file's content changes (a new file
// moved over it: size, mtime or inode differ), so a file can be hot-swapped as well.
std::unique_ptr<ModelSource> bundle_file_source(std::string path);

struct ServedModelSpec {
  std::string name;  // the name clients use in /v2/models/{name}
  std::unique_ptr<ModelSource> source;
  BatchingOptions batching;
};

struct ServiceOptions {
  std::string server_version;          // reported by server_metadata()
  std::chrono::milliseconds poll_interval{1000};  // how often sources are asked for their version
  // Events a person should see (a swap, a version that failed to load). Called from service threads.
  std::function<void(std::string_view)> log;
  // Where every successful prediction is recorded (request id, arrival time, model and version,
  // inputs, outputs, latency, tags); null: nothing is logged. The hand-off never blocks: a full
  // queue drops the record and counts it (slipway_prediction_log_records_total{outcome="dropped"}).
  // With a log, a request without an id gets one ("<8 hex>-<n>", echoed in the response) so that
  // feedback can name it later. The request's string, int and bool parameters become tags.
  std::shared_ptr<PredictionLog> prediction_log;
  bool log_inputs = true;  // false: inputs are not kept (privacy); outputs and ids still are
  // The share of requests logged (0..1], chosen evenly (every 1/rate-th request, deterministically),
  // for heavy traffic where logging and monitoring every request would cost more than serving it.
  double log_sample_rate = 1.0;
};

class InferenceService final : public InferenceApi {
 public:
  // Loads every model's current version; any failure is returned (naming the model) and nothing runs.
  static Result<std::shared_ptr<InferenceService>> create(std::vector<ServedModelSpec> models, ServiceOptions options);
  ~InferenceService() override;

  bool live() const override;
  bool ready() const override;
  Result<bool> model_ready(std::string_view name, std::string_view version) const override;
  ServerMetadata server_metadata() const override;
  Result<ModelMetadata> model_metadata(std::string_view name, std::string_view version) const override;
  std::vector<std::string> model_names() const override;
  void infer(InferRequest request, InferCallback done) override;

  // Checks every source now instead of waiting for the poll (tests); returns after any swap is done.
  void poll_sources_now();
  // Stops taking requests (they get kFailedPrecondition "server is shutting down"), predicts every
  // queued one, then stops the batch and poll threads. Idempotent; the destructor calls it.
  void shutdown();

  // Prometheus text exposition format, version 0.0.4: per model and version request counts,
  // latency histograms, batch sizes, queue depth; process CPU and memory.
  std::string render_metrics() const;

  struct Impl;

 private:
  explicit InferenceService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace slipway::serve
