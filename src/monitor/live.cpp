// LiveMonitor: windows of the prediction log -> drift, performance, latency -> gauges and alerts
// (live.h).
#include "slipway/serve/prometheus.h"
#include "slipway/monitor/live.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "slipway/monitor/frame_load.h"
#include "slipway/monitor/log_window.h"
#include "slipway/monitor/performance.h"
#include "slipway/monitor/system_health.h"
#include "slipway/monitor/time_text.h"
#include "slipway/registry/registry.h"
#include "slipway/store/store.h"

namespace slipway::monitor {

namespace {

using json = nlohmann::json;

// Latencies in log-spaced buckets (5% wide): percentiles within 5% whatever the window's size.
class LatencyHistogram {
 public:
  void add(int64_t us) {
    const double v = std::max<double>(1.0, static_cast<double>(us));
    const auto b = static_cast<size_t>(std::log(v) / kLogBase);
    if (b >= counts_.size()) counts_.resize(b + 1, 0);
    ++counts_[b];
    ++total_;
  }
  uint64_t total() const { return total_; }
  // The upper edge of the bucket holding the q-quantile, in milliseconds.
  double quantile_ms(double q) const {
    if (total_ == 0) return 0;
    const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total_)));
    uint64_t seen = 0;
    for (size_t b = 0; b < counts_.size(); ++b) {
      seen += counts_[b];
      if (seen >= std::max<uint64_t>(rank, 1)) return std::exp(static_cast<double>(b + 1) * kLogBase) / 1000.0;
    }
    return 0;
  }

 private:
  static constexpr double kLogBase = 0.04879016416943205;  // ln(1.05)
  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
};

Frame select_rows(const Frame& f, const std::vector<size_t>& rows) {
  Frame out;
  out.rows = rows.size();
  for (const auto& c : f.columns) {
    Column d;
    d.name = c.name;
    d.kind = c.kind;
    for (size_t r : rows) {
      if (c.kind == ColumnKind::kNumeric) {
        d.numbers.push_back(c.numbers[r]);
      } else {
        d.strings.push_back(c.strings[r]);
        d.missing.push_back(c.is_missing(r));
      }
    }
    out.columns.push_back(std::move(d));
  }
  return out;
}

Frame only_columns(Frame f, const std::vector<std::string>& names) {
  std::erase_if(f.columns, [&](const Column& c) { return std::find(names.begin(), names.end(), c.name) == names.end(); });
  return f;
}

struct VersionState {
  bool tried = false;
  std::optional<FrameSummary> reference;  // layout + the reference's counts
  std::string note;
  bool tried_predictions = false;
  std::optional<FrameSummary> prediction_reference;
};

struct ModelState {
  std::map<int64_t, VersionState> versions;
  std::optional<LogTail> tail;  // the log since the monitor started, read window by window
  // Performance is recomputed only when feedback arrived since, or every kPerformanceRefresh windows
  // (rows sliding out of the look-back): reading the look-back every window would cost more than
  // serving.
  int64_t feedback_count = -1;
  int64_t feedback_latest = -1;
  int windows_since_performance = 0;
  std::vector<MetricSample> performance;
};

constexpr int kPerformanceRefresh = 10;

void sample(std::vector<MetricSample>& out, const std::string& model, std::string metric, double value,
            std::map<std::string, std::string> labels = {}) {
  if (!std::isfinite(value)) return;
  out.push_back(MetricSample{std::move(metric), std::move(labels), model, value});
}


}  // namespace

struct LiveMonitor::Impl {
  LiveMonitorOptions options;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<AlertEngine> engine;
  std::mutex eval_mutex;  // one window at a time
  int64_t window_start_us = 0;
  int64_t start_us = 0;  // when the monitor started: the log before it is not monitored
  std::map<std::string, ModelState> models;
  HealthSampler health_sampler;
  bool health_write_failed = false;  // said once, not every window

  mutable std::mutex results_mutex;
  std::vector<LiveWindowResult> latest;
  uint64_t windows = 0;

  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::thread thread;

  void log(const std::string& message) const {
    if (options.log) options.log(message);
  }

  // The given --reference (a file or NAME@REF), summarised once when the monitor starts: every
  // column binned, so a version takes the columns it serves without reading the data again, and a
  // reference that cannot be read stops the server at start instead of noting it every window.
  std::optional<FrameSummary> given_reference;
  uint64_t given_reference_rows = 0;

  Status load_given_reference() {
    std::error_code ec;
    const std::string& r = options.reference;
    if (!std::filesystem::exists(r, ec) &&
        (r.find('/') != std::string::npos || r.ends_with(".csv") || r.ends_with(".jsonl") || r.ends_with(".gz"))) {
      return make_error(ErrorCode::kNotFound, "--reference {}: no such file (a dataset is given as NAME or NAME@REF)",
                        r);
    }
    Result<Frame> frame =
        std::filesystem::is_regular_file(r, ec) ? load_frame_file(r) : load_frame_dataset(*store, r);
    if (!frame.ok()) {
      // A file's errors already start with its name (file:line:col).
      const std::string& message = frame.status().message();
      return Status(frame.status().code(), message.starts_with(r) ? fmt::format("--reference: {}", message)
                                                                  : fmt::format("--reference {}: {}", r, message));
    }
    FrameSummary summary = summary_layout(*frame, options.summary);
    if (Status added = summary.add(*frame); !added.ok()) {
      return Status(added.code(), fmt::format("--reference {}: {}", r, added.message()));
    }
    given_reference_rows = frame->rows;
    given_reference = std::move(summary);
    return {};
  }

  // The reference of a version: the given dataset/file, or its training dataset through lineage.
  VersionState& reference_of(const LiveModel& m, int64_t version, const std::vector<std::string>& inputs) {
    VersionState& vs = models[m.name].versions[version];
    if (vs.tried) return vs;
    vs.tried = true;
    if (given_reference) {
      // Columns are summarised independently: the given summary restricted to the served inputs is
      // the summary of the reference restricted to them.
      FrameSummary summary = *given_reference;
      std::erase_if(summary.columns, [&](const ColumnSummary& c) {
        return std::find(inputs.begin(), inputs.end(), c.column) == inputs.end();
      });
      if (summary.columns.empty()) {
        vs.note = fmt::format("no drift reference: {} has none of the model's inputs", options.reference);
        return vs;
      }
      log(fmt::format("monitor: model '{}' version {}: drift reference {} ({} rows, {} columns)", m.name, version,
                      options.reference, given_reference_rows, summary.columns.size()));
      vs.reference = std::move(summary);
      return vs;
    }
    Result<Frame> frame = Status(ErrorCode::kNotFound, "");
    std::string described;
    if (!m.registry_name.empty()) {
      registry::Registry registry(*store);
      auto mv = registry.resolve_version(fmt::format("{}/{}", m.registry_name, version));
      if (!mv.ok()) {
        vs.note = fmt::format("no drift reference: {}", mv.status().message());
        return vs;
      }
      const registry::LineageDataset* chosen = nullptr;
      for (const auto& d : mv->datasets) {
        if (d.dataset.empty()) continue;
        if (chosen == nullptr || d.context == "training" || d.context == "train") chosen = &d;
        if (d.context == "training" || d.context == "train") break;
      }
      if (chosen == nullptr) {
        vs.note = fmt::format("no drift reference: {}/{} records no training dataset (pass --reference)",
                              m.registry_name, version);
        return vs;
      }
      described = fmt::format("{}@{} (training data of {}/{})", chosen->dataset, chosen->version_id.substr(0, 12),
                              m.registry_name, version);
      frame = load_frame_dataset(*store, fmt::format("{}@{}", chosen->dataset, chosen->version_id));
    } else {
      vs.note = "no drift reference: the model is served from a file (pass --reference NAME@REF or a file)";
      return vs;
    }
    if (!frame.ok()) {
      vs.note = fmt::format("no drift reference: {}: {}", described, frame.status().message());
      log(fmt::format("monitor: model '{}' version {}: {}", m.name, version, vs.note));
      return vs;
    }
    Frame ref = only_columns(std::move(frame).value(), inputs);
    if (ref.columns.empty()) {
      vs.note = fmt::format("no drift reference: {} has none of the model's inputs", described);
      return vs;
    }
    FrameSummary summary = summary_layout(ref, options.summary);
    Status added = summary.add(ref);
    if (!added.ok()) {
      vs.note = fmt::format("no drift reference: {}", added.message());
      return vs;
    }
    vs.reference = std::move(summary);
    log(fmt::format("monitor: model '{}' version {}: drift reference {} ({} rows, {} columns)", m.name, version,
                    described, ref.rows, ref.columns.size()));
    return vs;
  }

  // The version's first logged predictions, the reference of prediction drift.
  void prediction_reference_of(const LiveModel& m, int64_t version, VersionState& vs) {
    if (vs.tried_predictions) return;
    vs.tried_predictions = true;
    LogWindowSpec spec;
    spec.model = m.name;
    spec.version = version;
    Frame outputs;
    size_t rows = 0;
    Status walked = visit_log_chunks(options.store_root, spec, 4096, [&](const LogChunk& chunk) -> Status {
      size_t take = std::min<size_t>(chunk.rows(), options.prediction_reference_rows - rows);
      std::vector<size_t> idx(take);
      for (size_t i = 0; i < take; ++i) idx[i] = i;
      Frame part = select_rows(chunk.outputs, idx);
      if (outputs.columns.empty()) {
        outputs = std::move(part);
      } else {
        for (auto& c : outputs.columns) {
          const Column* p = part.find(c.name);
          if (p != nullptr && c.kind == ColumnKind::kNumeric) c.numbers.insert(c.numbers.end(), p->numbers.begin(), p->numbers.end());
        }
        outputs.rows += take;
      }
      rows += take;
      if (rows >= options.prediction_reference_rows) return Status(ErrorCode::kCancelled, "enough");
      return {};
    });
    if (!walked.ok() && walked.code() != ErrorCode::kCancelled) return;
    if (rows < 100) {  // too few to be a reference yet: try again next window
      vs.tried_predictions = false;
      return;
    }
    FrameSummary summary = summary_layout(outputs, options.summary);
    if (summary.add(outputs).ok()) vs.prediction_reference = std::move(summary);
  }

  Result<std::vector<LiveWindowResult>> evaluate() {
    std::lock_guard lock(eval_mutex);
    if (options.flush_log) options.flush_log();
    const int64_t end = unix_now_us();
    const int64_t start = window_start_us;
    window_start_us = end;
    std::vector<LiveWindowResult> results;
    MetricSnapshot snapshot;
    for (const auto& m : options.models) {
      LiveWindowResult res;
      res.model = m.name;
      res.window_start_us = start;
      res.window_end_us = end;
      ModelState& model_state = models[m.name];
      if (!model_state.tail) {
        model_state.tail.emplace(options.store_root, m.name, start_us);
        // Served from a file with no --reference: no input drift, so the inputs are not decoded.
        if (options.reference.empty() && m.registry_name.empty()) model_state.tail->set_inputs_wanted(false);
      }
      LatencyHistogram latency;
      std::map<int64_t, FrameSummary> current, current_outputs;
      std::map<int64_t, uint64_t> rows_by_version;
      Status walked = model_state.tail->read_new(8192, [&](const LogChunk& chunk) -> Status {
        for (int64_t us : chunk.latency_us) latency.add(us);
        std::map<int64_t, std::vector<size_t>> by_version;
        for (size_t r = 0; r < chunk.rows(); ++r) by_version[chunk.version[r]].push_back(r);
        for (auto& [version, idx] : by_version) {
          rows_by_version[version] += idx.size();
          std::vector<std::string> inputs;
          for (const auto& c : chunk.inputs.columns) inputs.push_back(c.name);
          VersionState& vs = reference_of(m, version, inputs);
          const bool all = idx.size() == chunk.rows();
          if (vs.reference) {
            auto [it, fresh] = current.try_emplace(version);
            if (fresh) {
              it->second = *vs.reference;
              for (auto& c : it->second.columns) {
                std::fill(c.counts.begin(), c.counts.end(), 0);
                c.missing = 0;
                c.sum = c.sum_squares = 0;
              }
              it->second.rows = 0;
            }
            Status added = all ? it->second.add(chunk.inputs) : it->second.add(select_rows(chunk.inputs, idx));
            if (!added.ok()) res.note = added.message();
          }
          prediction_reference_of(m, version, vs);
          if (vs.prediction_reference) {
            auto [it, fresh] = current_outputs.try_emplace(version);
            if (fresh) {
              it->second = *vs.prediction_reference;
              for (auto& c : it->second.columns) {
                std::fill(c.counts.begin(), c.counts.end(), 0);
                c.missing = 0;
                c.sum = c.sum_squares = 0;
              }
              it->second.rows = 0;
            }
            (void)(all ? it->second.add(chunk.outputs) : it->second.add(select_rows(chunk.outputs, idx)));
          }
        }
        return {};
      });
      if (!walked.ok() && walked.code() != ErrorCode::kNotFound) {
        res.note = walked.message();
      }
      const double seconds = std::max(1e-6, static_cast<double>(end - start) / 1e6);
      sample(res.samples, m.name, "predictions", static_cast<double>(latency.total()));
      sample(res.samples, m.name, "throughput_rps", static_cast<double>(latency.total()) / seconds);
      if (latency.total() > 0) {
        sample(res.samples, m.name, "p50_latency_ms", latency.quantile_ms(0.50));
        sample(res.samples, m.name, "p99_latency_ms", latency.quantile_ms(0.99));
      }
      // Drift of the version that served most of the window.
      int64_t main_version = 0;
      uint64_t most = 0;
      for (const auto& [v, n] : rows_by_version) {
        if (n > most) {
          most = n;
          main_version = v;
        }
      }
      if (most > 0) {
        VersionState& vs = models[m.name].versions[main_version];
        if (vs.reference && current.count(main_version)) {
          auto drift = detect_drift(*vs.reference, current[main_version], options.drift);
          if (drift.ok()) {
            sample(res.samples, m.name, "drift_share", drift->share);
            sample(res.samples, m.name, "dataset_drift", drift->dataset_drift ? 1 : 0);
            for (const auto& c : drift->columns) {
              if (c.tested) sample(res.samples, m.name, "drift_score", c.effect, {{"column", c.column}});
            }
            res.drift = std::move(drift).value();
          } else {
            res.note = drift.status().message();
          }
        } else if (!vs.note.empty()) {
          res.note = vs.note;
        }
        if (vs.prediction_reference && current_outputs.count(main_version)) {
          auto drift = detect_drift(*vs.prediction_reference, current_outputs[main_version], options.drift);
          if (drift.ok()) {
            for (const auto& c : drift->columns) {
              if (c.tested) sample(res.samples, m.name, "prediction_drift_score", c.effect, {{"column", c.column}});
            }
            res.prediction_drift = std::move(drift).value();
          }
        }
      } else {
        res.note = "no predictions in this window";
      }
      // Performance over the look-back, with the feedback that has arrived (only when there is any,
      // and only when it changed or every kPerformanceRefresh windows).
      ModelState& state = models[m.name];
      int64_t feedback_count = 0, feedback_latest = 0;
      if (auto stmt = store->db().prepare(
              "SELECT COUNT(*), COALESCE(MAX(received_time), 0) FROM monitor_feedback WHERE model = ?1");
          stmt.ok()) {
        stmt->bind(1, m.name);
        if (auto row = stmt->step(); row.ok() && *row) {
          feedback_count = stmt->column_int64(0);
          feedback_latest = stmt->column_int64(1);
        }
      }
      const bool changed = feedback_count != state.feedback_count || feedback_latest != state.feedback_latest;
      if (feedback_count > 0 && (changed || ++state.windows_since_performance >= kPerformanceRefresh)) {
        state.feedback_count = feedback_count;
        state.feedback_latest = feedback_latest;
        state.windows_since_performance = 0;
        state.performance.clear();
        PerformanceOptions perf;
        perf.window.model = m.name;
        perf.window.until_us = end;
        perf.window.since_us =
            options.performance_window.count() > 0 ? end - options.performance_window.count() * 1000 : start;
        perf.segments = options.segments;
        auto report = compute_performance(*store, perf);
        if (report.ok() && report->overall.labelled > 0) {
          std::vector<MetricSample>& ps = state.performance;
          const auto& o = report->overall;
          sample(ps, m.name, "labelled", static_cast<double>(o.labelled));
          auto put = [&](const char* name, const std::optional<double>& v, std::map<std::string, std::string> labels = {}) {
            if (v) sample(ps, m.name, name, *v, std::move(labels));
          };
          put("auc", o.auc);
          put("accuracy", o.accuracy);
          put("log_loss", o.log_loss);
          put("error_rate", o.error_rate);
          put("precision", o.precision);
          put("recall", o.recall);
          put("rmse", o.rmse);
          put("mae", o.mae);
          for (const auto& b : o.values) {
            sample(ps, m.name, b.name + "_per_1k", b.per_1k);
            sample(ps, m.name, b.name + "_mean", b.mean);
          }
          for (const auto& s : report->by_segment) {
            if (s.labelled < options.min_segment_rows) continue;  // a handful of rows is no evidence
            std::map<std::string, std::string> labels = {{"segment", s.column}, {"value", s.value}};
            put("error_rate", s.error_rate, labels);
            put("auc", s.auc, labels);
            put("rmse", s.rmse, labels);
          }
        } else if (!report.ok() && report.status().code() != ErrorCode::kNotFound) {
          log(fmt::format("monitor: model '{}': performance: {}", m.name, report.status().message()));
        }
      }
      res.samples.insert(res.samples.end(), state.performance.begin(), state.performance.end());
      for (const auto& s : res.samples) snapshot.samples.push_back(s);
      if (res.drift) snapshot.extra_by_model[m.name] = json{{"drift", to_json(*res.drift)}};
      results.push_back(std::move(res));
    }
    // The server's health over this window: kept in the store for reports, and offered to alert
    // rules as series of no model (e.g. `process_cpu_cores > 1.8 for 3 windows`).
    HealthSample health = health_sampler.sample(end);
    sample(snapshot.samples, "", "process_cpu_cores", health.process_cpu_cores);
    sample(snapshot.samples, "", "process_rss_bytes", static_cast<double>(health.process_rss_bytes));
    sample(snapshot.samples, "", "host_cpu_busy", health.host_cpu_busy);
    sample(snapshot.samples, "", "host_memory_available_bytes", static_cast<double>(health.host_memory_available_bytes));
    sample(snapshot.samples, "", "open_sockets", static_cast<double>(health.open_sockets));
    for (const auto& g : health.gpus) {
      sample(snapshot.samples, "", "gpu_utilization", g.utilization, {{"gpu", std::to_string(g.index)}});
    }
    if (Status appended = append_health_sample(options.store_root, health); !appended.ok()) {
      if (!health_write_failed) log(fmt::format("monitor: system health not recorded: {}", appended.message()));
      health_write_failed = true;
    } else {
      health_write_failed = false;
    }
    if (engine) {
      auto transitions = engine->evaluate(snapshot, end);
      if (!transitions.ok()) {
        log(fmt::format("monitor: alerts: {}", transitions.status().message()));
      } else {
        for (const auto& t : *transitions) {
          log(fmt::format("monitor: alert '{}' for model '{}': {} -> {} (value {})", t.rule, t.model,
                          alert_state_name(t.from), alert_state_name(t.to), t.value));
        }
      }
    }
    {
      std::lock_guard rl(results_mutex);
      latest = results;
      ++windows;
    }
    return results;
  }

  void loop() {
    std::unique_lock lock(stop_mutex);
    while (!stopping) {
      stop_cv.wait_for(lock, options.interval, [&] { return stopping; });
      if (stopping) break;
      lock.unlock();
      auto r = evaluate();
      if (!r.ok()) log(fmt::format("monitor: {}", r.status().message()));
      lock.lock();
    }
  }
};

LiveMonitor::LiveMonitor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LiveMonitor::~LiveMonitor() { stop(); }

Result<std::unique_ptr<LiveMonitor>> LiveMonitor::start(LiveMonitorOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  SLIPWAY_ASSIGN_OR_RETURN(impl->store, store::Store::open(impl->options.store_root));
  if (!impl->options.reference.empty()) SLIPWAY_RETURN_IF_ERROR(impl->load_given_reference());
  if (!impl->options.rules.empty()) {
    SLIPWAY_ASSIGN_OR_RETURN(impl->engine, AlertEngine::open(impl->options.store_root, impl->options.rules));
  }
  impl->window_start_us = impl->start_us = unix_now_us();
  impl->health_sampler.sample(impl->start_us);  // the first window's CPU shares are measured from here
  std::unique_ptr<LiveMonitor> monitor(new LiveMonitor(std::move(impl)));
  if (monitor->impl_->options.interval.count() > 0) {
    monitor->impl_->thread = std::thread([i = monitor->impl_.get()] { i->loop(); });
  }
  return monitor;
}

Result<std::vector<LiveWindowResult>> LiveMonitor::evaluate_now() { return impl_->evaluate(); }

void LiveMonitor::stop() {
  {
    std::lock_guard lock(impl_->stop_mutex);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->engine) impl_->engine->wait_for_actions();
}

std::string LiveMonitor::render_metrics() const {
  std::vector<LiveWindowResult> latest;
  uint64_t windows = 0;
  {
    std::lock_guard lock(impl_->results_mutex);
    latest = impl_->latest;
    windows = impl_->windows;
  }
  // One family per metric name, in first-seen order.
  std::vector<std::string> order;
  std::map<std::string, std::string> families;
  for (const auto& r : latest) {
    for (const auto& s : r.samples) {
      std::string name = "slipway_monitor_";
      for (char c : s.metric) name += (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_') ? c : '_';
      // Rules say p99_latency_ms (as people think of it); Prometheus wants base units.
      double value = s.value;
      if (name.ends_with("_ms")) {
        name.replace(name.size() - 3, 3, "_seconds");
        value /= 1000.0;
      }
      auto [it, fresh] = families.try_emplace(name);
      if (fresh) order.push_back(name);
      std::string labels = fmt::format("model=\"{}\"", serve::prometheus_label_value(s.model));
      for (const auto& [k, v] : s.labels) labels += fmt::format(",{}=\"{}\"", k, serve::prometheus_label_value(v));
      it->second += fmt::format("{}{{{}}} {}\n", name, labels, value);
    }
  }
  std::string out;
  out += "# HELP slipway_monitor_windows_total Monitoring windows evaluated by this process.\n";
  out += "# TYPE slipway_monitor_windows_total counter\n";
  out += fmt::format("slipway_monitor_windows_total {}\n", windows);
  for (const auto& name : order) {
    out += fmt::format("# HELP {} Latest monitoring window's value (see docs/monitoring.md).\n# TYPE {} gauge\n", name,
                       name);
    out += families[name];
  }
  if (impl_->engine) out += impl_->engine->render_metrics();
  return out;
}

std::string LiveMonitor::latest_json() const {
  std::lock_guard lock(impl_->results_mutex);
  json out = json::array();
  for (const auto& r : impl_->latest) {
    json samples = json::array();
    for (const auto& s : r.samples) samples.push_back({{"metric", s.metric}, {"labels", s.labels}, {"value", s.value}});
    json j = {{"model", r.model},
              {"window_start_us", r.window_start_us},
              {"window_end_us", r.window_end_us},
              {"metrics", samples}};
    if (r.drift) j["drift"] = to_json(*r.drift);
    if (r.prediction_drift) j["prediction_drift"] = to_json(*r.prediction_drift);
    if (!r.note.empty()) j["note"] = r.note;
    out.push_back(std::move(j));
  }
  return out.dump();
}

}  // namespace slipway::monitor
