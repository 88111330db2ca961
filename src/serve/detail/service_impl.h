// InferenceService's insides, shared by service.cpp and metrics.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "detail/served_version.h"
#include "slipway/serve/service.h"

namespace slipway::serve::detail {

// A request validated and encoded, waiting for (or in) a batch.
struct Pending {
  std::shared_ptr<const ServedVersion> version;  // the version its rows were encoded for
  std::string id;
  OutputPlan plan;
  std::vector<float> features;  // rows * n_features (queued requests only)
  size_t rows = 0;
  std::chrono::steady_clock::time_point received;  // at the front end
  std::chrono::steady_clock::time_point enqueued;  // at infer()
  std::chrono::microseconds timeout{0};
  InferCallback done;
  // Kept only when the service logs predictions.
  bool logged = false;
  int64_t wall_us = 0;  // arrival, Unix microseconds
  std::vector<Tensor> inputs;
  std::vector<std::pair<std::string, std::string>> tags;
};

struct ModelSlot {
  ModelSlot(std::string name, std::unique_ptr<ModelSource> source, BatchingOptions batching);

  const std::string name;
  const std::unique_ptr<ModelSource> source;
  PredictionLog* prediction_log = nullptr;  // owned by the service's options
  BatchingOptions batching;
  std::atomic<std::shared_ptr<const ServedVersion>> live;

  // The fast path: one inline prediction at a time, only while nothing is queued.
  std::atomic<bool> inline_busy{false};
  std::atomic<size_t> queue_size{0};  // mirrors queue.size() for the lock-free check

  std::mutex mutex;  // guards queue, queued_rows, stopping
  std::condition_variable ready_cv;
  std::deque<std::unique_ptr<Pending>> queue;
  size_t queued_rows = 0;
  bool stopping = false;
  std::vector<std::thread> threads;

  // Every version served since start, for /metrics (counters must not go backwards on a swap).
  mutable std::mutex stats_mutex;
  std::vector<std::shared_ptr<VersionStats>> all_stats;

  // Poller state (only the poller touches these).
  std::string failed_key;
  std::string last_error;

  void publish(std::shared_ptr<const ServedVersion> version);
  // Answers a request and records it in its version's statistics.
  void finish(Pending& p, Result<InferResponse> result, std::chrono::steady_clock::time_point compute_start,
              std::chrono::steady_clock::time_point compute_end);
  void run_batches();
  void execute(std::vector<std::unique_ptr<Pending>>& batch, std::vector<float>& features, std::vector<float>& out);
};

}  // namespace slipway::serve::detail

namespace slipway::serve {

struct InferenceService::Impl {
  ServiceOptions options;
  std::vector<std::unique_ptr<detail::ModelSlot>> slots;  // fixed after create(): read without a lock
  std::atomic<bool> stopping{false};
  std::thread poller;
  std::mutex poll_mutex;
  std::condition_variable poll_cv;
  std::mutex swap_mutex;
  std::string id_prefix;               // random per process: generated request ids do not collide
  std::atomic<uint64_t> next_id{0};
  std::atomic<uint64_t> sample_counter{0};
  uint64_t sample_step = 0;  // log_sample_rate as a 32.32 fixed-point step; 0 or >= 2^32: every request

  detail::ModelSlot* find(std::string_view name) const;
  Result<std::shared_ptr<const detail::ServedVersion>> version_of(std::string_view name, std::string_view version) const;
  void poll_loop();
  void poll_all();
  void log(const std::string& message) const;
  std::string render_metrics() const;
};

}  // namespace slipway::serve
