// InferenceService: model slots, the inline fast path, the dynamic batcher, the hot-swap poller.
#include "slipway/serve/service.h"

#include <algorithm>
#include <charconv>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <variant>

#include <fmt/format.h>

#include "detail/served_version.h"
#include "detail/service_impl.h"

namespace slipway::serve {

using Clock = std::chrono::steady_clock;
using detail::ServedVersion;

namespace {

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

// ---- One model: its live version, queue and batch thread ----

detail::ModelSlot::ModelSlot(std::string n, std::unique_ptr<ModelSource> s, BatchingOptions b)
    : name(std::move(n)), source(std::move(s)), batching(b) {
  if (batching.max_batch_size == 0) batching.max_batch_size = 1;
  if (batching.batch_threads == 0) batching.batch_threads = 1;
}

void detail::ModelSlot::publish(std::shared_ptr<const ServedVersion> version) {
  {
    std::lock_guard lock(stats_mutex);
    all_stats.push_back(version->stats);
  }
  live.store(std::move(version));
}

void detail::ModelSlot::finish(Pending& p, Result<InferResponse> result, Clock::time_point compute_start,
                               Clock::time_point compute_end) {
  VersionStats& stats = *p.version->stats;
  const bool ok = result.ok();
  // The record is built before the response moves to the client; the log's queue does the I/O.
  std::optional<PredictionRecord> record;
  if (ok && p.logged && prediction_log != nullptr) {
    record.emplace();
    record->request_id = result->id;
    record->time_us = p.wall_us;
    record->model = name;
    record->version = std::strtoll(result->model_version.c_str(), nullptr, 10);
    // Tensors as they are: the log stores their raw bytes (nothing is formatted as text here).
    record->inputs = std::move(p.inputs);
    record->outputs = result->outputs;
    record->tags = std::move(p.tags);
  }
  // Counters before the answer (a client that scrapes /metrics right after its answer sees itself
  // counted); durations after it (they include handing the answer over).
  if (ok) {
    stats.success.fetch_add(1, std::memory_order_relaxed);
    stats.inferences.fetch_add(p.rows, std::memory_order_relaxed);
  } else {
    stats.failure.fetch_add(1, std::memory_order_relaxed);
  }
  p.done(std::move(result));
  Clock::time_point end = Clock::now();
  if (!ok) return;
  if (record) {
    record->latency_us = std::chrono::duration_cast<std::chrono::microseconds>(end - p.received).count();
    prediction_log->try_append(std::move(*record));
  }
  double total = seconds_between(p.received, end);
  double queue = seconds_between(p.enqueued, compute_start);
  double compute = seconds_between(compute_start, compute_end);
  stats.request.observe(total);
  stats.queue.observe(queue);
  stats.compute.observe(compute);
  stats.overhead.observe(std::max(0.0, total - queue - compute));
}

void detail::ModelSlot::run_batches() {
  std::vector<std::unique_ptr<Pending>> batch;
  std::vector<float> features;
  std::vector<float> out;
  std::unique_lock lock(mutex);
  for (;;) {
    ready_cv.wait(lock, [&] { return !queue.empty() || stopping; });
    if (queue.empty()) break;  // stopping, and every queued request has been answered
    // Wait for more rows until the oldest request has waited max_queue_delay_us.
    const auto deadline = queue.front()->enqueued + std::chrono::microseconds(batching.max_queue_delay_us);
    while (!stopping && queued_rows < batching.max_batch_size && Clock::now() < deadline) {
      ready_cv.wait_until(lock, deadline);
    }
    // Take requests of the same version from the front, up to max_batch_size rows.
    batch.clear();
    size_t rows = 0;
    const ServedVersion* version = queue.front()->version.get();
    while (!queue.empty() && queue.front()->version.get() == version &&
           (rows == 0 || rows + queue.front()->rows <= batching.max_batch_size)) {
      rows += queue.front()->rows;
      queued_rows -= queue.front()->rows;
      batch.push_back(std::move(queue.front()));
      queue.pop_front();
    }
    queue_size.store(queue.size(), std::memory_order_release);
    lock.unlock();
    execute(batch, features, out);
    lock.lock();
  }
}

void detail::ModelSlot::execute(std::vector<std::unique_ptr<Pending>>& batch, std::vector<float>& features,
                                std::vector<float>& out) {
  const Clock::time_point start = Clock::now();
  // Requests past their deadline are answered without predicting them.
  size_t kept = 0;
  for (auto& p : batch) {
    auto timeout = p->timeout;
    if (timeout.count() > 0 && start - p->received > timeout) {
      finish(*p,
             make_error(ErrorCode::kFailedPrecondition, "request timed out after {} ms waiting in the queue of model '{}'",
                        std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count(), name),
             start, start);
      continue;
    }
    batch[kept++] = std::move(p);
  }
  batch.resize(kept);
  if (batch.empty()) return;
  const ServedVersion& version = *batch.front()->version;
  const size_t n_features = version.n_features();
  const size_t n_outputs = version.n_outputs();
  size_t rows = 0;
  for (auto& p : batch) rows += p->rows;
  features.resize(rows * n_features);
  out.resize(rows * n_outputs);
  size_t at = 0;
  for (auto& p : batch) {
    std::copy(p->features.begin(), p->features.end(), features.begin() + static_cast<ptrdiff_t>(at * n_features));
    at += p->rows;
  }
  version.predictor->predict(features.data(), rows, out.data());
  const Clock::time_point end = Clock::now();
  version.stats->executions.fetch_add(1, std::memory_order_relaxed);
  version.stats->batch_size.observe(static_cast<double>(rows));
  at = 0;
  for (auto& p : batch) {
    InferResponse response;
    response.id = std::move(p->id);
    response.model_name = name;
    response.model_version = version.source_version.label;
    detail::fill_outputs(version, p->plan, out.data() + at * n_outputs, p->rows, response);
    at += p->rows;
    finish(*p, std::move(response), start, end);
  }
}

// ---- The service ----

InferenceService::InferenceService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

InferenceService::~InferenceService() { shutdown(); }

Result<std::shared_ptr<InferenceService>> InferenceService::create(std::vector<ServedModelSpec> models,
                                                                   ServiceOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  {
    std::random_device rd;
    impl->id_prefix = fmt::format("{:08x}", static_cast<uint32_t>(rd()));
  }
  if (impl->options.log_sample_rate <= 0 || impl->options.log_sample_rate > 1) {
    return make_error(ErrorCode::kInvalidArgument, "log sample rate must be in (0, 1], got {}",
                      impl->options.log_sample_rate);
  }
  if (impl->options.log_sample_rate < 1) {
    impl->sample_step = static_cast<uint64_t>(impl->options.log_sample_rate * 4294967296.0);
  }
  if (models.empty()) return make_error(ErrorCode::kInvalidArgument, "no models to serve");
  for (auto& spec : models) {
    for (const auto& slot : impl->slots) {
      if (slot->name == spec.name) {
        return make_error(ErrorCode::kInvalidArgument, "two models are served under the name '{}': give one --name", spec.name);
      }
    }
    auto slot = std::make_unique<detail::ModelSlot>(spec.name, std::move(spec.source), spec.batching);
    slot->prediction_log = impl->options.prediction_log.get();
    auto current = slot->source->current();
    if (!current.ok()) return current.status().with_context(fmt::format("model '{}'", spec.name));
    auto model = slot->source->load(*current);
    if (!model.ok()) return model.status().with_context(fmt::format("model '{}' ({})", spec.name, slot->source->describe()));
    auto version = detail::make_served_version(spec.name, *current, std::move(model).value());
    if (!version.ok()) {
      return version.status().with_context(fmt::format("model '{}' ({})", spec.name, slot->source->describe()));
    }
    slot->source->on_serving(*current, true);
    slot->publish(std::move(version).value());
    impl->slots.push_back(std::move(slot));
  }
  for (auto& slot : impl->slots) {
    for (size_t t = 0; t < slot->batching.batch_threads; ++t) {
      slot->threads.emplace_back([s = slot.get()] { s->run_batches(); });
    }
  }
  impl->poller = std::thread([i = impl.get()] { i->poll_loop(); });
  return std::shared_ptr<InferenceService>(new InferenceService(std::move(impl)));
}

bool InferenceService::live() const { return true; }

bool InferenceService::ready() const {
  if (impl_->stopping.load(std::memory_order_acquire)) return false;
  for (const auto& slot : impl_->slots) {
    if (!slot->live.load()) return false;
  }
  return true;
}

detail::ModelSlot* InferenceService::Impl::find(std::string_view name) const {
  for (const auto& slot : slots) {
    if (slot->name == name) return slot.get();
  }
  return nullptr;
}

Result<std::shared_ptr<const ServedVersion>> InferenceService::Impl::version_of(std::string_view name,
                                                                                std::string_view version) const {
  detail::ModelSlot* slot = find(name);
  if (slot == nullptr) return make_error(ErrorCode::kNotFound, "unknown model '{}'", name);
  auto live = slot->live.load();
  if (!live) return make_error(ErrorCode::kFailedPrecondition, "model '{}' is not ready", name);
  if (!version.empty() && version != live->source_version.label) {
    return make_error(ErrorCode::kNotFound, "model '{}' has no version '{}' (serving version {})", name, version,
                      live->source_version.label);
  }
  return live;
}

Result<bool> InferenceService::model_ready(std::string_view name, std::string_view version) const {
  auto v = impl_->version_of(name, version);
  if (!v.ok()) {
    if (v.status().code() == ErrorCode::kFailedPrecondition) return false;
    return v.status();
  }
  return !impl_->stopping.load(std::memory_order_acquire);
}

ServerMetadata InferenceService::server_metadata() const {
  ServerMetadata md;
  md.name = "slipway";
  md.version = impl_->options.server_version;
  md.extensions = {"binary_tensor_data", "model_repository_metadata"};
  return md;
}

Result<ModelMetadata> InferenceService::model_metadata(std::string_view name, std::string_view version) const {
  SLIPWAY_ASSIGN_OR_RETURN(auto v, impl_->version_of(name, version));
  return v->metadata;
}

std::vector<std::string> InferenceService::model_names() const {
  std::vector<std::string> names;
  for (const auto& slot : impl_->slots) names.push_back(slot->name);
  return names;
}

void InferenceService::infer(InferRequest request, InferCallback done) {
  const Clock::time_point arrived = Clock::now();
  const Clock::time_point received = request.received_at == Clock::time_point{} ? arrived : request.received_at;
  detail::ModelSlot* slot = impl_->find(request.model);
  if (slot == nullptr) {
    done(make_error(ErrorCode::kNotFound, "unknown model '{}'", request.model));
    return;
  }
  if (impl_->stopping.load(std::memory_order_acquire)) {
    done(Status(ErrorCode::kFailedPrecondition, "server is shutting down"));
    return;
  }
  auto version = impl_->version_of(request.model, request.version);
  if (!version.ok()) {
    done(version.status());
    return;
  }
  detail::Pending p;  // on the stack: only a queued request moves to the heap
  p.version = std::move(version).value();
  p.received = received;
  p.enqueued = arrived;
  p.timeout = request.timeout.count() > 0 ? std::chrono::duration_cast<std::chrono::microseconds>(request.timeout)
                                          : std::chrono::duration_cast<std::chrono::microseconds>(slot->batching.timeout);
  p.done = std::move(done);
  bool sampled = slot->prediction_log != nullptr;
  if (sampled && impl_->sample_step != 0) {
    // Request k is logged when floor(k * rate) steps up: exactly rate of the requests, evenly spread.
    const uint64_t k = impl_->sample_counter.fetch_add(1, std::memory_order_relaxed);
    sampled = ((k + 1) * impl_->sample_step >> 32) != (k * impl_->sample_step >> 32);
  }
  if (sampled) {
    p.logged = true;
    if (request.id.empty()) {
      char digits[24];
      auto [end, ec] = std::to_chars(digits, digits + sizeof(digits),
                                     impl_->next_id.fetch_add(1, std::memory_order_relaxed) + 1);
      request.id.reserve(impl_->id_prefix.size() + 1 + static_cast<size_t>(end - digits));
      request.id = impl_->id_prefix;
      request.id += '-';
      request.id.append(digits, end);
    }
    const auto since_arrival = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - received);
    p.wall_us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count() - since_arrival.count();
    for (auto& param : request.parameters) {
      // Protocol parameters, not facts about the request.
      if (param.name == "timeout" || param.name == "binary_data_output" || param.name == "binary_data") continue;
      std::string value;
      if (auto* text = std::get_if<std::string>(&param.value)) {
        value = std::move(*text);
      } else if (const auto* b = std::get_if<bool>(&param.value)) {
        value = *b ? "true" : "false";
      } else if (const auto* i = std::get_if<int64_t>(&param.value)) {
        value = std::to_string(*i);
      } else {
        value = fmt::format("{}", std::get<double>(param.value));
      }
      p.tags.emplace_back(std::move(param.name), std::move(value));
    }
  }
  p.id = std::move(request.id);

  // The fast path encodes into this thread's buffer; only a queued request keeps its own copy.
  thread_local std::vector<float> features;
  Status encoded = detail::encode_request(*p.version, request, features, p.rows, p.plan);
  if (!encoded.ok()) {
    slot->finish(p, std::move(encoded), arrived, arrived);
    return;
  }
  if (p.logged && impl_->options.log_inputs) p.inputs = std::move(request.inputs);

  // Inline when the request is bigger than a batch, when batches are of one row (nothing to merge:
  // a hand-off to the batch thread would only add two context switches), or when nothing is queued
  // and no other request of this model is predicting inline (then waiting could only add latency).
  bool claimed = false;
  const bool oversize = p.rows > slot->batching.max_batch_size;
  const bool unbatched = slot->batching.max_batch_size <= 1 && slot->batching.inline_fast_path;
  if (!oversize && !unbatched && slot->batching.inline_fast_path &&
      slot->queue_size.load(std::memory_order_acquire) == 0) {
    claimed = !slot->inline_busy.exchange(true, std::memory_order_acq_rel);
  }
  if (oversize || claimed || unbatched) {
    const ServedVersion& v = *p.version;
    thread_local std::vector<float> out;
    out.resize(p.rows * v.n_outputs());
    const Clock::time_point start = Clock::now();
    if (p.rows == 1) {
      v.predictor->predict_row(features.data(), out.data());
    } else {
      v.predictor->predict(features.data(), p.rows, out.data());
    }
    const Clock::time_point end = Clock::now();
    if (claimed) slot->inline_busy.store(false, std::memory_order_release);
    v.stats->executions.fetch_add(1, std::memory_order_relaxed);
    v.stats->batch_size.observe(static_cast<double>(p.rows));
    InferResponse response;
    response.id = std::move(p.id);
    response.model_name = slot->name;
    response.model_version = v.source_version.label;
    detail::fill_outputs(v, p.plan, out.data(), p.rows, response);
    p.enqueued = start;  // no queueing
    slot->finish(p, std::move(response), start, end);
    return;
  }

  p.features.assign(features.begin(), features.begin() + static_cast<ptrdiff_t>(p.rows * p.version->n_features()));
  std::unique_lock lock(slot->mutex);
  if (slot->stopping) {
    lock.unlock();
    slot->finish(p, Status(ErrorCode::kFailedPrecondition, "server is shutting down"), arrived, arrived);
    return;
  }
  if (slot->queue.size() >= slot->batching.queue_limit) {
    size_t limit = slot->batching.queue_limit;
    lock.unlock();
    slot->finish(p,
                 make_error(ErrorCode::kFailedPrecondition,
                            "queue full: model '{}' already has {} requests waiting (--queue-limit)", slot->name, limit),
                 arrived, arrived);
    return;
  }
  slot->queued_rows += p.rows;
  slot->queue.push_back(std::make_unique<detail::Pending>(std::move(p)));
  slot->queue_size.store(slot->queue.size(), std::memory_order_release);
  lock.unlock();
  slot->ready_cv.notify_one();
}

void InferenceService::Impl::poll_loop() {
  std::unique_lock lock(poll_mutex);
  while (!stopping.load(std::memory_order_acquire)) {
    poll_cv.wait_for(lock, options.poll_interval, [&] { return stopping.load(std::memory_order_acquire); });
    if (stopping.load(std::memory_order_acquire)) break;
    lock.unlock();
    poll_all();
    lock.lock();
  }
}

void InferenceService::Impl::log(const std::string& message) const {
  if (options.log) options.log(message);
}

void InferenceService::Impl::poll_all() {
  std::lock_guard swap_lock(swap_mutex);  // one poll at a time (the poller and poll_sources_now)
  for (auto& slot : slots) {
    auto current = slot->source->current();
    if (!current.ok()) {
      if (slot->last_error != current.status().message()) {
        slot->last_error = current.status().message();
        log(fmt::format("model '{}': cannot resolve {}: {} (still serving version {})", slot->name,
                        slot->source->describe(), slot->last_error, slot->live.load()->source_version.label));
      }
      continue;
    }
    auto live = slot->live.load();
    if (current->key == live->source_version.key || current->key == slot->failed_key) continue;
    auto model = slot->source->load(*current);
    Result<std::shared_ptr<const ServedVersion>> version =
        model.ok() ? detail::make_served_version(slot->name, *current, std::move(model).value())
                   : Result<std::shared_ptr<const ServedVersion>>(model.status());
    if (!version.ok()) {
      slot->failed_key = current->key;
      log(fmt::format("model '{}': version {} failed to load, still serving version {}: {}", slot->name,
                      current->label, live->source_version.label, version.status().message()));
      continue;
    }
    slot->failed_key.clear();
    slot->last_error.clear();
    slot->source->on_serving(*current, true);
    slot->publish(std::move(version).value());
    slot->source->on_serving(live->source_version, false);
    log(fmt::format("model '{}': now serving version {} (was {})", slot->name, current->label,
                    live->source_version.label));
  }
}

void InferenceService::poll_sources_now() { impl_->poll_all(); }

void InferenceService::shutdown() {
  if (impl_->stopping.exchange(true, std::memory_order_acq_rel)) return;
  impl_->poll_cv.notify_all();
  if (impl_->poller.joinable()) impl_->poller.join();
  for (auto& slot : impl_->slots) {
    {
      std::lock_guard lock(slot->mutex);
      slot->stopping = true;
    }
    slot->ready_cv.notify_all();
    for (auto& t : slot->threads) t.join();
    slot->threads.clear();
    auto live = slot->live.load();
    if (live) slot->source->on_serving(live->source_version, false);
  }
}

std::string InferenceService::render_metrics() const { return impl_->render_metrics(); }

}  // namespace slipway::serve
