// Building a monitoring report (report.h): the log is walked in chunks three times — to learn the
// window (times, versions, columns), to take the first bucket's rows (the prediction reference, and
// the input reference when no dataset is found), and to bin every row into its time bucket's
// summary — so memory is bounded by buckets x columns x bins whatever the window's size.
#include "slipway/monitor/report.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "slipway/monitor/frame_load.h"
#include "slipway/registry/registry.h"

namespace slipway::monitor {

namespace {

constexpr int64_t kSecondUs = 1'000'000;
constexpr size_t kMaxBuckets = 500;

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : (a - b + 1) / b; }

// Rows `rows` of `f`, in that order.
Frame select_rows(const Frame& f, const std::vector<size_t>& rows) {
  Frame out;
  out.rows = rows.size();
  for (const auto& c : f.columns) {
    Column d;
    d.name = c.name;
    d.kind = c.kind;
    if (c.kind == ColumnKind::kNumeric) {
      d.numbers.reserve(rows.size());
      for (size_t r : rows) d.numbers.push_back(c.numbers[r]);
    } else {
      d.strings.reserve(rows.size());
      d.missing.reserve(rows.size());
      for (size_t r : rows) {
        d.strings.push_back(c.strings[r]);
        d.missing.push_back(c.is_missing(r));
      }
    }
    out.columns.push_back(std::move(d));
  }
  return out;
}

// Appends `part` to `into` by column name; a column new to `into` is filled with missing values
// for the rows before, one absent from `part` gets missing values for its rows.
void append_rows(Frame& into, const Frame& part) {
  for (const auto& c : part.columns) {
    if (into.find(c.name) != nullptr) continue;
    Column d;
    d.name = c.name;
    d.kind = c.kind;
    if (c.kind == ColumnKind::kNumeric) {
      d.numbers.assign(into.rows, NAN);
    } else {
      d.strings.assign(into.rows, "");
      d.missing.assign(into.rows, true);
    }
    into.columns.push_back(std::move(d));
  }
  for (auto& c : into.columns) {
    const Column* p = part.find(c.name);
    const bool same_kind = p != nullptr && p->kind == c.kind;
    for (size_t r = 0; r < part.rows; ++r) {
      if (c.kind == ColumnKind::kNumeric) {
        c.numbers.push_back(same_kind ? p->numbers[r] : NAN);
      } else {
        const bool missing = !same_kind || p->is_missing(r);
        c.strings.push_back(missing ? std::string() : p->strings[r]);
        c.missing.push_back(missing);
      }
    }
  }
  into.rows += part.rows;
}

Frame only_columns(Frame f, const std::vector<std::string>& names) {
  std::erase_if(f.columns,
                [&](const Column& c) { return std::find(names.begin(), names.end(), c.name) == names.end(); });
  return f;
}

FrameSummary empty_like(const FrameSummary& layout) {
  FrameSummary s = layout;
  for (auto& c : s.columns) {
    std::fill(c.counts.begin(), c.counts.end(), 0);
    c.missing = 0;
    c.sum = c.sum_squares = 0;
    c.min = c.max = 0;
  }
  s.rows = 0;
  return s;
}

// Equal-width bins over the range of both samples, for the plots: the drift tests' own bins are the
// reference's quantiles, where everything beyond the reference's range falls into one open cell.
struct PlotHistogram {
  static constexpr size_t kBins = 40;
  double lo = INFINITY, hi = -INFINITY;
  std::vector<uint64_t> reference, current;

  void widen(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  void count(double v, bool is_reference) {
    if (!std::isfinite(v) || !(hi >= lo)) return;
    auto& counts = is_reference ? reference : current;
    if (counts.empty()) counts.assign(kBins, 0);
    const double width = hi > lo ? hi - lo : 1;
    const auto k = static_cast<size_t>(std::clamp((v - lo) / width * static_cast<double>(kBins), 0.0,
                                                  static_cast<double>(kBins - 1)));
    ++counts[k];
  }
  void widen(const Frame& f, const std::string& name) {
    const Column* c = f.find(name);
    if (c == nullptr || c->kind != ColumnKind::kNumeric) return;
    for (double v : c->numbers) widen(v);
  }
  void count(const Frame& f, const std::string& name, bool is_reference, const std::vector<size_t>* rows = nullptr) {
    const Column* c = f.find(name);
    if (c == nullptr || c->kind != ColumnKind::kNumeric) return;
    if (rows == nullptr) {
      for (double v : c->numbers) count(v, is_reference);
    } else {
      for (size_t r : *rows) count(c->numbers[r], is_reference);
    }
  }
  // Replaces the drift test's histogram of a numeric column.
  void apply(ColumnDrift& c) const {
    if (!(hi >= lo)) return;
    const double l = hi > lo ? lo : lo - 0.5, h = hi > lo ? hi : hi + 0.5;
    c.histogram = DriftHistogram();
    for (size_t k = 0; k <= kBins; ++k) c.histogram.edges.push_back(l + (h - l) * static_cast<double>(k) / kBins);
    c.histogram.reference = reference.empty() ? std::vector<uint64_t>(kBins, 0) : reference;
    c.histogram.current = current.empty() ? std::vector<uint64_t>(kBins, 0) : current;
  }
};

void apply_plots(DriftReport& d, const std::map<std::string, PlotHistogram>& plots) {
  for (auto& c : d.columns) {
    auto it = plots.find(c.column);
    if (c.kind == ColumnKind::kNumeric && it != plots.end()) it->second.apply(c);
  }
}

struct WindowShape {
  uint64_t rows = 0;
  int64_t first = 0, last = 0;
  std::set<int64_t> versions;
  std::vector<std::string> inputs;  // in first-seen order
  std::map<std::string, ColumnKind> input_kinds;
  std::map<std::string, PlotHistogram> input_plots, output_plots;  // ranges of the numeric columns
};

Result<WindowShape> scan_window(const std::filesystem::path& root, const ReportOptions& options) {
  WindowShape shape;
  SLIPWAY_RETURN_IF_ERROR(visit_log_chunks(root, options.window, options.chunk_rows, [&](const LogChunk& chunk) -> Status {
    for (size_t r = 0; r < chunk.rows(); ++r) {
      const int64_t t = chunk.time_us[r];
      if (shape.rows == 0 && r == 0) shape.first = shape.last = t;
      shape.first = std::min(shape.first, t);
      shape.last = std::max(shape.last, t);
      shape.versions.insert(chunk.version[r]);
    }
    shape.rows += chunk.rows();
    for (const auto& c : chunk.inputs.columns) {
      if (shape.input_kinds.emplace(c.name, c.kind).second) shape.inputs.push_back(c.name);
      if (c.kind == ColumnKind::kNumeric) shape.input_plots[c.name].widen(chunk.inputs, c.name);
    }
    for (const auto& c : chunk.outputs.columns) {
      if (c.kind == ColumnKind::kNumeric) shape.output_plots[c.name].widen(chunk.outputs, c.name);
    }
    return {};
  }));
  return shape;
}

std::string describe_window(const LogWindowSpec& w) {
  std::string out = w.model;
  if (w.version) out += fmt::format("/{}", *w.version);
  std::vector<std::string> parts;
  if (w.since_us) parts.push_back("since " + report_time(*w.since_us));
  if (w.until_us) parts.push_back("until " + report_time(*w.until_us));
  if (w.last_rows) parts.push_back(fmt::format("last {} predictions", *w.last_rows));
  if (parts.empty()) return out + " (the whole log)";
  std::string joined;
  for (const auto& p : parts) joined += (joined.empty() ? "" : ", ") + p;
  return out + " (" + joined + ")";
}

// The reference the user named, or the training data of `version` through the registry's lineage.
// nullopt with `note` set when lineage gives none (the caller falls back to the reference period).
Result<std::optional<Frame>> load_reference(store::Store& store, const ReportOptions& options, int64_t version,
                                            ReportReference& ref) {
  if (!options.reference.empty()) {
    std::error_code ec;
    const bool file = std::filesystem::is_regular_file(options.reference, ec);
    auto frame = file ? load_frame_file(options.reference) : load_frame_dataset(store, options.reference);
    if (!frame.ok()) return frame.status().with_context(fmt::format("--reference '{}'", options.reference));
    ref.kind = file ? "file" : "dataset";
    ref.source = options.reference;
    return std::optional<Frame>(std::move(frame).value());
  }
  const std::string name = options.registered_model.empty() ? options.window.model : options.registered_model;
  registry::Registry registry(store);
  auto mv = registry.resolve_version(fmt::format("{}/{}", name, version));
  if (!mv.ok()) {
    ref.note = fmt::format("no training data found: {}", mv.status().message());
    return std::optional<Frame>();
  }
  const registry::LineageDataset* chosen = nullptr;
  for (const auto& d : mv->datasets) {
    if (d.dataset.empty()) continue;
    if (chosen == nullptr || d.context == "training" || d.context == "train") chosen = &d;
    if (d.context == "training" || d.context == "train") break;
  }
  if (chosen == nullptr) {
    ref.note = fmt::format("no training data found: {}/{} records no training dataset", name, version);
    return std::optional<Frame>();
  }
  const std::string spec = fmt::format("{}@{}", chosen->dataset, chosen->version_id);
  auto frame = load_frame_dataset(store, spec);
  if (!frame.ok()) {
    ref.note = fmt::format("no training data found: {}: {}", spec, frame.status().message());
    return std::optional<Frame>();
  }
  ref.kind = "dataset";
  ref.source = fmt::format("{}@{} (training data of {}/{})", chosen->dataset, chosen->version_id.substr(0, 12), name,
                           version);
  return std::optional<Frame>(std::move(frame).value());
}

// Ranks columns by how far past their threshold they are (drifted first).
std::vector<std::string> top_columns(const DriftReport& report, size_t n) {
  std::vector<const ColumnDrift*> tested;
  for (const auto& c : report.columns) {
    if (c.tested) tested.push_back(&c);
  }
  auto score = [](const ColumnDrift* c) { return c->threshold > 0 ? c->effect / c->threshold : c->effect; };
  std::stable_sort(tested.begin(), tested.end(), [&](const ColumnDrift* a, const ColumnDrift* b) {
    if (a->drifted != b->drifted) return a->drifted;
    return score(a) > score(b);
  });
  std::vector<std::string> out;
  for (size_t i = 0; i < tested.size() && i < n; ++i) out.push_back(tested[i]->column);
  return out;
}

}  // namespace

std::string report_time(int64_t us) {
  const int64_t secs = floor_div(us, kSecondUs);
  const auto frac = static_cast<int>(us - secs * kSecondUs);
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::string out = fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", tm.tm_year + 1900, tm.tm_mon + 1,
                                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (frac != 0) out += fmt::format(".{:06d}", frac);
  return out + "Z";
}

Result<MonitorReport> build_report(store::Store& store, const ReportOptions& options, int64_t now_us) {
  MonitorReport report;
  report.model = options.window.model;
  report.window = describe_window(options.window);
  report.generated_us = now_us;
  const std::filesystem::path root = store.root();

  // 1. The window's shape.
  SLIPWAY_ASSIGN_OR_RETURN(WindowShape shape, scan_window(root, options));
  if (shape.rows == 0) {
    return make_error(ErrorCode::kInvalidArgument, "no predictions of '{}' in the window {}", report.model,
                      report.window);
  }
  report.predictions = shape.rows;
  report.first_us = shape.first;
  report.last_us = shape.last;
  report.versions.assign(shape.versions.begin(), shape.versions.end());

  // Buckets: whole seconds (the performance report labels buckets by the second), aligned on the
  // epoch as compute_performance aligns them, so both sections share their buckets.
  int64_t width = 0;
  if (options.bucket_us) {
    if (*options.bucket_us <= 0) return Status(ErrorCode::kInvalidArgument, "bucket width must be positive");
    width = *options.bucket_us;
  } else {
    const size_t k = std::max<size_t>(options.buckets, 1);
    const int64_t span = shape.last - shape.first + 1;
    width = (span + static_cast<int64_t>(k) - 1) / static_cast<int64_t>(k);
  }
  width = std::max<int64_t>(kSecondUs, (width + kSecondUs - 1) / kSecondUs * kSecondUs);
  const int64_t first_bucket = floor_div(shape.first, width);
  const auto bucket_count = static_cast<size_t>(floor_div(shape.last, width) - first_bucket + 1);
  if (bucket_count > kMaxBuckets) {
    return make_error(ErrorCode::kInvalidArgument,
                      "buckets of {}s over {} .. {} make {} buckets; at most {} (choose a wider bucket)",
                      width / kSecondUs, report_time(shape.first), report_time(shape.last), bucket_count,
                      kMaxBuckets);
  }
  report.bucket_us = width;
  report.buckets.resize(bucket_count);
  for (size_t b = 0; b < bucket_count; ++b) {
    report.buckets[b].start_us = (first_bucket + static_cast<int64_t>(b)) * width;
    report.buckets[b].end_us = report.buckets[b].start_us + width;
  }
  auto bucket_of = [&](int64_t t) { return static_cast<size_t>(floor_div(t, width) - first_bucket); };

  // 2. The reference.
  SLIPWAY_ASSIGN_OR_RETURN(std::optional<Frame> reference,
                           load_reference(store, options, *shape.versions.rbegin(), report.reference));
  if (reference) {
    Frame restricted = only_columns(std::move(*reference), shape.inputs);
    if (restricted.columns.empty()) {
      std::string inputs;
      for (const auto& n : shape.inputs) inputs += (inputs.empty() ? "" : ", ") + n;
      if (!options.reference.empty()) {
        return make_error(ErrorCode::kInvalidArgument, "--reference '{}': has none of the model's inputs ({})",
                          options.reference, inputs);
      }
      report.reference.note = fmt::format("{} has none of the model's inputs ({})", report.reference.source, inputs);
      reference.reset();
    } else {
      for (const auto& c : restricted.columns) {
        const ColumnKind logged = shape.input_kinds.at(c.name);
        if (c.kind != logged) {
          return make_error(ErrorCode::kInvalidArgument, "reference {}: column '{}' is {} there but {} in the log",
                            report.reference.source, c.name,
                            c.kind == ColumnKind::kNumeric ? "numeric" : "categorical",
                            logged == ColumnKind::kNumeric ? "numeric" : "categorical");
        }
      }
      reference = std::move(restricted);
    }
  }

  // 3. The first bucket's rows: the prediction reference, and the input reference when there is
  // no dataset (the reference period).
  Frame period_inputs, period_outputs;
  SLIPWAY_RETURN_IF_ERROR(visit_log_chunks(root, options.window, options.chunk_rows, [&](const LogChunk& chunk) -> Status {
    std::vector<size_t> rows;
    for (size_t r = 0; r < chunk.rows() && period_outputs.rows + rows.size() < options.reference_period_rows; ++r) {
      if (bucket_of(chunk.time_us[r]) == 0) rows.push_back(r);
    }
    if (rows.empty()) return {};
    if (!reference) append_rows(period_inputs, select_rows(chunk.inputs, rows));
    append_rows(period_outputs, select_rows(chunk.outputs, rows));
    return {};
  }));
  const bool period_reference = !reference;
  if (period_reference) {
    report.reference.kind = "reference period";
    report.reference.source = fmt::format("the window's first bucket ({} .. {})", report_time(report.buckets[0].start_us),
                                          report_time(report.buckets[0].end_us));
    reference = std::move(period_inputs);
  }
  report.reference.rows = reference->rows;
  auto& input_plots = shape.input_plots;
  auto& output_plots = shape.output_plots;
  for (auto& [name, plot] : input_plots) plot.widen(*reference, name);
  for (auto& [name, plot] : input_plots) plot.count(*reference, name, true);
  for (auto& [name, plot] : output_plots) plot.count(period_outputs, name, true);
  for (const auto& c : reference->columns) report.reference.columns.push_back(c.name);

  // 4. Every row binned into its bucket.
  const FrameSummary in_layout = summary_layout(*reference, options.summary);
  FrameSummary ref_in = in_layout;
  SLIPWAY_RETURN_IF_ERROR(ref_in.add(*reference));
  reference.reset();
  const FrameSummary out_layout = summary_layout(period_outputs, options.summary);
  FrameSummary ref_out = out_layout;
  SLIPWAY_RETURN_IF_ERROR(ref_out.add(period_outputs));
  period_outputs = Frame();
  const size_t first_current = period_reference ? 1 : 0;
  std::vector<FrameSummary> cur_in(bucket_count, empty_like(in_layout));
  std::vector<FrameSummary> cur_out(bucket_count, empty_like(out_layout));
  SLIPWAY_RETURN_IF_ERROR(visit_log_chunks(root, options.window, options.chunk_rows, [&](const LogChunk& chunk) -> Status {
    std::map<size_t, std::vector<size_t>> by_bucket;
    for (size_t r = 0; r < chunk.rows(); ++r) by_bucket[bucket_of(chunk.time_us[r])].push_back(r);
    for (const auto& [b, rows] : by_bucket) {
      report.buckets[b].rows += rows.size();
      if (b >= first_current) {
        for (auto& [name, plot] : input_plots) plot.count(chunk.inputs, name, false, &rows);
      }
      if (b >= 1) {
        for (auto& [name, plot] : output_plots) plot.count(chunk.outputs, name, false, &rows);
      }
      const bool all = rows.size() == chunk.rows();
      SLIPWAY_RETURN_IF_ERROR(cur_in[b].add(all ? chunk.inputs : select_rows(chunk.inputs, rows)));
      SLIPWAY_RETURN_IF_ERROR(cur_out[b].add(all ? chunk.outputs : select_rows(chunk.outputs, rows)));
    }
    return {};
  }));

  // 5. Drift overall and per bucket. With a reference period, the current data is what follows it.
  FrameSummary all_in = empty_like(in_layout), all_out = empty_like(out_layout);
  for (size_t b = first_current; b < bucket_count; ++b) {
    SLIPWAY_RETURN_IF_ERROR(all_in.merge(cur_in[b]));
  }
  for (size_t b = 1; b < bucket_count; ++b) SLIPWAY_RETURN_IF_ERROR(all_out.merge(cur_out[b]));
  const std::string one_bucket =
      fmt::format("the window is one bucket of {}s: nothing after the first bucket to compare with it", width / kSecondUs);
  if (all_in.rows == 0) {
    report.drift_note = one_bucket;
  } else if (ref_in.rows == 0 || ref_in.columns.empty()) {
    report.drift_note = "the reference has no rows";
  } else {
    SLIPWAY_ASSIGN_OR_RETURN(DriftReport drift, detect_drift(ref_in, all_in, options.drift));
    report.top_columns = top_columns(drift, options.top_columns);
    apply_plots(drift, input_plots);
    report.drift = std::move(drift);
  }
  if (all_out.rows == 0 || out_layout.columns.empty()) {
    report.prediction_drift_note = out_layout.columns.empty() ? "the log has no outputs" : one_bucket;
  } else {
    SLIPWAY_ASSIGN_OR_RETURN(DriftReport drift, detect_drift(ref_out, all_out, options.drift));
    apply_plots(drift, output_plots);
    report.prediction_drift = std::move(drift);
  }
  for (size_t b = 0; b < bucket_count; ++b) {
    DriftBucket& bucket = report.buckets[b];
    if (bucket.rows == 0 || b < first_current || !report.drift) continue;
    SLIPWAY_ASSIGN_OR_RETURN(DriftReport d, detect_drift(ref_in, cur_in[b], options.drift));
    bucket.tested = true;
    bucket.share = d.share;
    bucket.dataset_drift = d.dataset_drift;
    for (const auto& c : d.columns) {
      if (c.tested) bucket.scores[c.column] = c.effect;
    }
    if (b >= 1 && report.prediction_drift) {
      SLIPWAY_ASSIGN_OR_RETURN(DriftReport p, detect_drift(ref_out, cur_out[b], options.drift));
      for (const auto& c : p.columns) {
        if (c.tested) bucket.prediction_scores[c.column] = c.effect;
      }
    }
  }
  if (!report.reference.note.empty()) report.notes.push_back(report.reference.note);

  // 6. Performance with feedback, in the same buckets.
  PerformanceOptions perf;
  perf.window = options.window;
  perf.segments = options.segments;
  perf.bucket_us = width;
  auto performance = compute_performance(store, perf);
  if (performance.ok()) {
    report.performance = std::move(performance).value();
    if (report.performance->overall.labelled == 0) {
      report.performance_note = "no feedback yet: send labels (slipway monitor feedback FILE, or POST "
                                "/v2/models/" + report.model + "/feedback) to see accuracy over time";
    }
  } else if (performance.status().code() == ErrorCode::kInvalidArgument) {
    return performance.status();
  } else {
    report.performance_note = std::string(performance.status().message());
  }

  // 7. Alerts of this model.
  AlertFiringFilter filter;
  auto firings = list_alert_firings(store.db(), filter);
  if (firings.ok()) {
    for (auto& f : *firings) {
      if (f.model == report.model && report.alerts.size() < options.alerts_limit) report.alerts.push_back(std::move(f));
    }
  } else {
    report.notes.push_back(fmt::format("alert firings could not be read: {}", firings.status().message()));
  }

  // 8. System health the live monitor recorded while these predictions were served.
  auto health = read_health_samples(store.root(), report.first_us, report.last_us + report.bucket_us + 1);
  if (!health.ok()) {
    report.health_note = std::string(health.status().message());
  } else {
    report.health = std::move(health->samples);
    if (report.health.empty()) {
      report.health_note = "no system health recorded in this window (it is sampled once per window by the "
                           "monitor inside `slipway serve`)";
    }
    if (health->skipped_lines > 0) {
      report.notes.push_back(fmt::format("{}: {} unreadable line(s) skipped", health_log_path(store.root()).string(),
                                         health->skipped_lines));
    }
  }
  return report;
}

}  // namespace slipway::monitor
