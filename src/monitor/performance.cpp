// Performance with delayed labels: the log window joined with feedback (performance.h).
#include "slipway/monitor/performance.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <functional>
#include <unordered_map>

#include <fmt/format.h>

#include "slipway/monitor/feedback.h"
#include "slipway/registry/registry.h"
#include "slipway/train/metrics.h"

namespace slipway::monitor {

namespace {

// Two-sided 95% Student t quantile for `dof` degrees of freedom (exact table to 30, then 1.96 + ...).
double t95(size_t dof) {
  static const double table[] = {0,     12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                 2.201, 2.179,  2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080,
                                 2.074, 2.069,  2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (dof == 0) return NAN;
  if (dof <= 30) return table[dof];
  const double d = static_cast<double>(dof);
  return 1.959964 + 2.372 / d + 2.82 / (d * d);  // within 1e-4 of the exact quantile beyond 30
}

double percentile(std::vector<int64_t>& v, double q) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
  k = std::min(k, v.size() - 1);
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]) / 1000.0;
}

std::string iso_time(int64_t us) {
  std::time_t seconds = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

struct Joined {
  const LogChunk* window = nullptr;
  std::string task;
  size_t n_classes = 0;
  std::vector<int> score_columns;  // output columns holding the scores, in class order
  std::vector<const FeedbackRow*> feedback;  // per row, null when none
  std::vector<float> y;              // per row: class index or target; NaN when unusable or none
  std::vector<char> unusable;
};

void fill_slice(const Joined& j, const std::vector<size_t>& rows, PerformanceSlice& s) {
  s.predictions = rows.size();
  std::vector<float> y, proba;
  std::vector<int64_t> latency;
  latency.reserve(rows.size());
  std::map<std::string, std::vector<double>> values;
  const size_t width = j.task == "multiclass" ? j.n_classes : 1;
  for (size_t r : rows) {
    latency.push_back(j.window->latency_us[r]);
    const FeedbackRow* f = j.feedback[r];
    if (f == nullptr) continue;
    for (const auto& [name, v] : f->values) values[name].push_back(v);
    if (j.unusable[r]) ++s.unusable_labels;
    if (std::isnan(j.y[r])) continue;
    y.push_back(j.y[r]);
    for (size_t k = 0; k < width; ++k) {
      proba.push_back(static_cast<float>(j.window->outputs.columns[j.score_columns[k]].numbers[r]));
    }
  }
  s.labelled = y.size();
  s.latency_p50_ms = percentile(latency, 0.50);
  s.latency_p95_ms = percentile(latency, 0.95);
  s.latency_p99_ms = percentile(latency, 0.99);
  for (auto& [name, v] : values) {
    BusinessValue b;
    b.name = name;
    b.n = v.size();
    for (double x : v) b.sum += x;
    b.mean = b.sum / static_cast<double>(b.n);
    double ss = 0;
    for (double x : v) ss += (x - b.mean) * (x - b.mean);
    const double se = b.n > 1 ? std::sqrt(ss / static_cast<double>(b.n - 1) / static_cast<double>(b.n)) : NAN;
    const double half = b.n > 1 ? t95(b.n - 1) * se : NAN;
    b.ci_low = b.mean - half;
    b.ci_high = b.mean + half;
    b.per_1k = b.mean * 1000.0;
    s.values.push_back(std::move(b));
  }
  if (y.empty()) return;
  if (j.task == "regression") {
    auto m = train::regression_metrics(y, proba);
    s.rmse = m.rmse;
    s.mae = m.mae;
    s.r2 = m.r2;
  } else if (j.task == "binary" || j.task == "multiclass") {
    auto m = train::classification_metrics(y, proba, j.task == "binary" ? 2 : j.n_classes);
    s.accuracy = m.accuracy;
    if (std::isfinite(m.auc)) s.auc = m.auc;
    s.log_loss = m.log_loss;
    s.precision = m.precision;
    s.recall = m.recall;
    s.f1 = m.f1;
    s.error_rate = 1.0 - m.accuracy;
  }
}

// Class names of a registered version, when the model is in the registry.
std::vector<std::string> registry_classes(store::Store& store, const std::string& model, int64_t version) {
  registry::Registry registry(store);
  auto ref = registry.resolve(fmt::format("{}/{}", model, version));
  if (!ref.ok()) return {};
  auto m = registry.load_model(*ref);
  if (!m.ok()) return {};
  return m->class_labels;
}

}  // namespace

Result<PerformanceReport> compute_performance(store::Store& store, const PerformanceOptions& options) {
  PerformanceReport report;
  report.model = options.window.model;
  SLIPWAY_ASSIGN_OR_RETURN(LogChunk window, read_log_window(store.root(), options.window));
  SLIPWAY_ASSIGN_OR_RETURN(auto feedback, load_feedback(store, options.window.model));
  report.feedback_rows = feedback.size();

  Joined j;
  j.window = &window;
  const size_t n = window.rows();
  // The task from the output tensors the model answers with.
  const auto& outs = window.outputs.columns;
  std::vector<int> prob_columns;
  int probability = -1, value = -1;
  for (size_t c = 0; c < outs.size(); ++c) {
    if (outs[c].kind != ColumnKind::kNumeric) continue;
    if (outs[c].name == "probability") probability = static_cast<int>(c);
    if (outs[c].name == "value") value = static_cast<int>(c);
    if (outs[c].name.starts_with("prob_")) {
      prob_columns.push_back(static_cast<int>(c));
      report.classes.push_back(outs[c].name.substr(5));
    }
  }
  if (probability >= 0) {
    j.task = "binary";
    j.n_classes = 2;
    j.score_columns = {probability};
    if (n > 0) report.classes = registry_classes(store, options.window.model, window.version.back());
    if (report.classes.size() != 2) report.classes = {"0", "1"};
  } else if (prob_columns.size() >= 2) {
    j.task = "multiclass";
    j.n_classes = prob_columns.size();
    j.score_columns = prob_columns;
  } else if (value >= 0 || outs.size() == 1) {
    j.task = "regression";
    j.score_columns = {value >= 0 ? value : 0};
    report.classes.clear();
  } else {
    j.task = "unknown";
  }
  report.task = j.task;

  j.feedback.assign(n, nullptr);
  j.y.assign(n, NAN);
  j.unusable.assign(n, 0);
  size_t joined = 0;
  for (size_t r = 0; r < n; ++r) {
    auto it = feedback.find(window.row_ids[r]);
    if (it == feedback.end()) continue;
    ++joined;
    const FeedbackRow& f = it->second;
    j.feedback[r] = &f;
    report.feedback_duplicates += f.duplicates;
    if (!f.label) continue;
    if (j.task == "regression") {
      if (f.label_number) {
        j.y[r] = static_cast<float>(*f.label_number);
      } else {
        j.unusable[r] = 1;
      }
      continue;
    }
    if (j.task != "binary" && j.task != "multiclass") continue;
    int index = -1;
    if (f.label_number && *f.label_number == std::floor(*f.label_number) && *f.label_number >= 0 &&
        *f.label_number < static_cast<double>(j.n_classes)) {
      index = static_cast<int>(*f.label_number);
    }
    for (size_t k = 0; index < 0 && k < report.classes.size(); ++k) {
      if (report.classes[k] == *f.label) index = static_cast<int>(k);
    }
    if (index < 0 && j.task == "binary" && (*f.label == "true" || *f.label == "false")) index = *f.label == "true";
    if (index < 0) {
      j.unusable[r] = 1;
    } else {
      j.y[r] = static_cast<float>(index);
    }
  }
  report.feedback_outside = feedback.size() >= joined ? feedback.size() - joined : 0;

  std::vector<size_t> all(n);
  for (size_t r = 0; r < n; ++r) all[r] = r;
  fill_slice(j, all, report.overall);

  // By version, by time bucket, by segment.
  auto group = [&](const std::string& column, const std::function<std::string(size_t)>& key,
                   std::vector<PerformanceSlice>& out) {
    std::map<std::string, std::vector<size_t>> groups;
    for (size_t r = 0; r < n; ++r) groups[key(r)].push_back(r);
    for (auto& [value, rows] : groups) {
      PerformanceSlice s;
      s.column = column;
      s.value = value;
      fill_slice(j, rows, s);
      out.push_back(std::move(s));
    }
  };
  group("version", [&](size_t r) { return std::to_string(window.version[r]); }, report.by_version);
  // Numeric version order, not text order ("10" after "9").
  std::sort(report.by_version.begin(), report.by_version.end(),
            [](const auto& a, const auto& b) { return std::stoll(a.value) < std::stoll(b.value); });
  if (options.bucket_us && *options.bucket_us > 0) {
    const int64_t w = *options.bucket_us;
    group("time", [&](size_t r) {
      int64_t t = window.time_us[r];
      int64_t start = (t >= 0 ? t / w : (t - w + 1) / w) * w;
      return iso_time(start);
    }, report.by_time);
  }
  for (const auto& name : options.segments) {
    const Column* c = window.inputs.find(name);
    if (c == nullptr) c = window.tags.find(name);
    if (c == nullptr) {
      std::string known;
      for (const auto& col : window.inputs.columns) known += (known.empty() ? "" : ", ") + col.name;
      for (const auto& col : window.tags.columns) known += (known.empty() ? "" : ", ") + col.name;
      return make_error(ErrorCode::kInvalidArgument,
                        "segment '{}': no input or tag of that name in the log of '{}' (have: {})", name,
                        options.window.model, known.empty() ? "none" : known);
    }
    group(name, [&](size_t r) -> std::string {
      if (c->is_missing(r)) return "(missing)";
      if (c->kind == ColumnKind::kCategorical) return c->strings[r];
      return fmt::format("{}", c->numbers[r]);
    }, report.by_segment);
  }
  // Worst segments: highest error rate (classification) or RMSE (regression), enough labels only.
  std::vector<const PerformanceSlice*> ranked;
  for (const auto& s : report.by_segment) {
    if (s.labelled >= options.min_segment_rows && (s.error_rate || s.rmse)) ranked.push_back(&s);
  }
  std::sort(ranked.begin(), ranked.end(), [](const PerformanceSlice* a, const PerformanceSlice* b) {
    double x = a->error_rate ? *a->error_rate : *a->rmse;
    double y = b->error_rate ? *b->error_rate : *b->rmse;
    return x > y;
  });
  for (size_t i = 0; i < ranked.size() && i < options.worst; ++i) report.worst_segments.push_back(*ranked[i]);
  return report;
}

}  // namespace slipway::monitor
