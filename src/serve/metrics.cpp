// /metrics: Prometheus text exposition format 0.0.4. Names follow Triton's (nv_inference_*) with
// Prometheus' conventions that `promtool check metrics` enforces: counters end in _total, durations
// are histograms in seconds.

#include <fmt/format.h>

#include "detail/service_impl.h"
#include "slipway/core/process.h"
#include "slipway/serve/prometheus.h"

namespace slipway::serve {

std::string prometheus_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

std::string escape_label(std::string_view value) { return prometheus_label_value(value); }

struct Series {
  std::string labels;  // model="m",version="1"
  const detail::VersionStats* stats;
};

void header(std::string& out, const char* name, const char* type, const char* help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

template <typename Get>
void counter(std::string& out, const std::vector<Series>& series, const char* name, const char* help, Get get) {
  header(out, name, "counter", help);
  for (const auto& s : series) fmt::format_to(std::back_inserter(out), "{}{{{}}} {}\n", name, s.labels, get(*s.stats));
}

template <size_t N, typename Get>
void histogram(std::string& out, const std::vector<Series>& series, const char* name, const char* help, Get get) {
  header(out, name, "histogram", help);
  for (const auto& s : series) {
    const detail::Histogram<N>& h = get(*s.stats);
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= N; ++i) {
      cumulative += h.buckets[i].load(std::memory_order_relaxed);
      if (i < N) {
        fmt::format_to(std::back_inserter(out), "{}_bucket{{{},le=\"{}\"}} {}\n", name, s.labels, (*h.bounds)[i],
                       cumulative);
      } else {
        fmt::format_to(std::back_inserter(out), "{}_bucket{{{},le=\"+Inf\"}} {}\n", name, s.labels, cumulative);
      }
    }
    // _count is the +Inf bucket so the two always agree within one scrape.
    fmt::format_to(std::back_inserter(out), "{}_sum{{{}}} {}\n{}_count{{{}}} {}\n", name, s.labels,
                   h.sum.load(std::memory_order_relaxed), name, s.labels, cumulative);
  }
}

}  // namespace

std::string InferenceService::Impl::render_metrics() const {
  std::vector<Series> series;
  std::vector<std::shared_ptr<detail::VersionStats>> keep;  // alive while rendering
  for (const auto& slot : slots) {
    std::lock_guard lock(slot->stats_mutex);
    for (const auto& stats : slot->all_stats) {
      keep.push_back(stats);
      series.push_back({fmt::format("model=\"{}\",version=\"{}\"", escape_label(slot->name), escape_label(stats->version)),
                        stats.get()});
    }
  }
  using S = detail::VersionStats;
  std::string out;
  out.reserve(16384);
  counter(out, series, "nv_inference_request_success_total", "Inference requests answered successfully.",
          [](const S& s) { return s.success.load(std::memory_order_relaxed); });
  counter(out, series, "nv_inference_request_failure_total", "Inference requests that failed (bad input, queue full, timeout).",
          [](const S& s) { return s.failure.load(std::memory_order_relaxed); });
  counter(out, series, "nv_inference_count_total", "Rows predicted (a request of N rows counts N).",
          [](const S& s) { return s.inferences.load(std::memory_order_relaxed); });
  counter(out, series, "nv_inference_exec_count_total", "Model executions (a dynamic batch counts once).",
          [](const S& s) { return s.executions.load(std::memory_order_relaxed); });
  histogram<16>(out, series, "nv_inference_request_duration_seconds",
                "Time from the request's arrival to its response, successful requests.",
                [](const S& s) -> const auto& { return s.request; });
  histogram<16>(out, series, "nv_inference_queue_duration_seconds", "Time waiting for the batch thread.",
                [](const S& s) -> const auto& { return s.queue; });
  histogram<16>(out, series, "nv_inference_compute_duration_seconds", "Model compute time of the request's batch.",
                [](const S& s) -> const auto& { return s.compute; });
  histogram<16>(out, series, "nv_inference_server_overhead_seconds",
                "The server's own time per request: request duration minus queue and compute (parsing, "
                "validation, encoding, serialization).",
                [](const S& s) -> const auto& { return s.overhead; });
  histogram<12>(out, series, "nv_inference_batch_size", "Rows per model execution.",
                [](const S& s) -> const auto& { return s.batch_size; });

  header(out, "nv_inference_pending_requests", "gauge", "Requests waiting in the model's batch queue.");
  for (const auto& slot : slots) {
    fmt::format_to(std::back_inserter(out), "nv_inference_pending_requests{{model=\"{}\"}} {}\n", escape_label(slot->name),
                   slot->queue_size.load(std::memory_order_relaxed));
  }
  header(out, "nv_model_serving_version", "gauge", "The version each model serves now (value 1).");
  for (const auto& slot : slots) {
    auto live = slot->live.load();
    if (!live) continue;
    fmt::format_to(std::back_inserter(out), "nv_model_serving_version{{model=\"{}\",version=\"{}\"}} 1\n",
                   escape_label(slot->name), escape_label(live->source_version.label));
  }
  if (const auto& log = options.prediction_log) {
    PredictionLogStats st = log->stats();
    header(out, "slipway_prediction_log_records_total", "counter",
           "Prediction-log records by outcome: appended (queued), dropped (queue full), written, failed (write error).");
    fmt::format_to(std::back_inserter(out),
                   "slipway_prediction_log_records_total{{outcome=\"appended\"}} {}\n"
                   "slipway_prediction_log_records_total{{outcome=\"dropped\"}} {}\n"
                   "slipway_prediction_log_records_total{{outcome=\"written\"}} {}\n"
                   "slipway_prediction_log_records_total{{outcome=\"failed\"}} {}\n",
                   st.appended, st.dropped, st.written, st.failed);
    header(out, "slipway_prediction_log_bytes_written_total", "counter", "Bytes the prediction log has written.");
    fmt::format_to(std::back_inserter(out), "slipway_prediction_log_bytes_written_total {}\n", st.bytes_written);
    header(out, "slipway_prediction_log_queue_depth", "gauge", "Records waiting for the prediction-log writer.");
    fmt::format_to(std::back_inserter(out), "slipway_prediction_log_queue_depth {}\n", log->queue_depth());
  }
  const ProcessUsage usage = process_usage();
  header(out, "process_cpu_seconds_total", "counter", "User and system CPU time of the server process.");
  fmt::format_to(std::back_inserter(out), "process_cpu_seconds_total {}\n", usage.cpu_seconds);
  header(out, "process_resident_memory_bytes", "gauge", "Resident memory of the server process.");
  fmt::format_to(std::back_inserter(out), "process_resident_memory_bytes {}\n", static_cast<double>(usage.rss_bytes));
  return out;
}

}  // namespace slipway::serve
