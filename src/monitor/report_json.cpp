// The report as JSON (report.h): every number the HTML page plots, and more.
#include <cmath>

#include "slipway/monitor/report.h"

namespace slipway::monitor {

namespace {

using json = nlohmann::json;

json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json slice_json(const PerformanceSlice& s) {
  json j = {{"predictions", s.predictions},
            {"labelled", s.labelled},
            {"unusable_labels", s.unusable_labels},
            {"latency_ms", {{"p50", s.latency_p50_ms}, {"p95", s.latency_p95_ms}, {"p99", s.latency_p99_ms}}}};
  if (!s.column.empty()) {
    j["column"] = s.column;
    j["value"] = s.value;
  }
  auto put = [&](const char* name, const std::optional<double>& v) {
    if (v) j[name] = number_or_null(*v);
  };
  put("accuracy", s.accuracy);
  put("auc", s.auc);
  put("log_loss", s.log_loss);
  put("precision", s.precision);
  put("recall", s.recall);
  put("f1", s.f1);
  put("error_rate", s.error_rate);
  put("rmse", s.rmse);
  put("mae", s.mae);
  put("r2", s.r2);
  json values = json::object();
  for (const auto& b : s.values) {
    values[b.name] = {{"n", b.n},
                      {"sum", number_or_null(b.sum)},
                      {"mean", number_or_null(b.mean)},
                      {"ci95_low", number_or_null(b.ci_low)},
                      {"ci95_high", number_or_null(b.ci_high)},
                      {"per_1k", number_or_null(b.per_1k)}};
  }
  j["values"] = std::move(values);
  return j;
}

json slices(const std::vector<PerformanceSlice>& list) {
  json out = json::array();
  for (const auto& s : list) out.push_back(slice_json(s));
  return out;
}

json optional_drift(const std::optional<DriftReport>& d, const std::string& note) {
  if (d) return to_json(*d);
  return {{"note", note}};
}

}  // namespace

json to_json(const PerformanceReport& r) {
  return {{"model", r.model},
          {"task", r.task},
          {"classes", r.classes},
          {"overall", slice_json(r.overall)},
          {"by_version", slices(r.by_version)},
          {"by_segment", slices(r.by_segment)},
          {"by_time", slices(r.by_time)},
          {"worst_segments", slices(r.worst_segments)},
          {"feedback_rows", r.feedback_rows},
          {"feedback_outside_window", r.feedback_outside},
          {"feedback_duplicates", r.feedback_duplicates}};
}

json to_json(const MonitorReport& r) {
  json buckets = json::array();
  for (const auto& b : r.buckets) {
    json scores = json::object(), prediction_scores = json::object();
    for (const auto& [k, v] : b.scores) scores[k] = number_or_null(v);
    for (const auto& [k, v] : b.prediction_scores) prediction_scores[k] = number_or_null(v);
    json j = {{"start", report_time(b.start_us)}, {"end", report_time(b.end_us)}, {"rows", b.rows},
              {"tested", b.tested}};
    if (b.tested) {
      j["drift_share"] = b.share;
      j["dataset_drift"] = b.dataset_drift;
      j["scores"] = std::move(scores);
      j["prediction_scores"] = std::move(prediction_scores);
    }
    buckets.push_back(std::move(j));
  }
  json alerts = json::array();
  for (const auto& f : r.alerts) {
    json j = {{"firing_id", f.firing_id},   {"rule", f.rule},
              {"expression", f.expression}, {"state", f.state},
              {"value", f.value ? number_or_null(*f.value) : json(nullptr)},
              {"started", report_time(f.started_time)},
              {"resolved", f.resolved_time ? json(report_time(*f.resolved_time)) : json(nullptr)},
              {"actions_ok", f.actions_ok}, {"actions_failed", f.actions_failed}};
    alerts.push_back(std::move(j));
  }
  json reference = {{"source", r.reference.source},
                    {"kind", r.reference.kind},
                    {"rows", r.reference.rows},
                    {"columns", r.reference.columns}};
  if (!r.reference.note.empty()) reference["note"] = r.reference.note;
  json health = json::array();
  for (const auto& h : r.health) health.push_back(json::parse(health_json_line(h)));
  json system_health = {{"samples", std::move(health)}};
  if (!r.health_note.empty()) system_health["note"] = r.health_note;
  json performance = r.performance ? to_json(*r.performance) : json::object();
  if (!r.performance_note.empty()) performance["note"] = r.performance_note;
  return {{"model", r.model},
          {"window", r.window},
          {"generated", report_time(r.generated_us)},
          {"versions", r.versions},
          {"first_prediction", report_time(r.first_us)},
          {"last_prediction", report_time(r.last_us)},
          {"predictions", r.predictions},
          {"labelled", r.performance ? r.performance->overall.labelled : 0},
          {"reference", std::move(reference)},
          {"drift", optional_drift(r.drift, r.drift_note)},
          {"prediction_drift", optional_drift(r.prediction_drift, r.prediction_drift_note)},
          {"drift_over_time", {{"bucket_seconds", r.bucket_us / 1'000'000}, {"top_columns", r.top_columns},
                               {"buckets", std::move(buckets)}}},
          {"performance", std::move(performance)},
          {"alerts", std::move(alerts)},
          {"system_health", std::move(system_health)},
          {"notes", r.notes}};
}

}  // namespace slipway::monitor
