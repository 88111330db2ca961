// What a training run records: tags that make it repeatable, params, curves, final metrics,
// artifacts (config.yaml, metrics.json, run.json, the bundle) and its status (detail/pipeline_record.h).
#include <cmath>

#include <fmt/format.h>

#include "detail/pipeline_env.h"
#include "detail/pipeline_record.h"
#include "slipway/core/hash.h"
#include "slipway/train/metrics.h"
#include "slipway/train/xgboost_trainer.h"

namespace slipway::train::detail {

namespace {

constexpr size_t kPointsPerBatch = 1000;

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

void add_classification(const ClassificationMetrics& c, const std::string& prefix, const std::string& suffix,
                        std::vector<std::pair<std::string, double>>& out, nlohmann::json& j) {
  const std::pair<const char*, double> values[] = {{"auc", c.auc},           {"logloss", c.log_loss},
                                                   {"accuracy", c.accuracy}, {"precision", c.precision},
                                                   {"recall", c.recall},     {"f1", c.f1}};
  for (const auto& [name, v] : values) {
    out.emplace_back(tracking_key(prefix + "-" + name + suffix), v);
    j[name] = number_or_null(v);
  }
  j["n"] = c.n;
  j["confusion"] = c.confusion;
}

void add_regression(const RegressionMetrics& r, const std::string& prefix, const std::string& suffix,
                    std::vector<std::pair<std::string, double>>& out, nlohmann::json& j) {
  const std::pair<const char*, double> values[] = {{"rmse", r.rmse}, {"mae", r.mae}, {"r2", r.r2}};
  for (const auto& [name, v] : values) {
    out.emplace_back(tracking_key(prefix + "-" + name + suffix), v);
    j[name] = number_or_null(v);
  }
  j["n"] = r.n;
}

std::string libraries_json(const nlohmann::json& trainer_details) {
  nlohmann::json libs = {{"xgboost", xgboost_version()},
                         {"fmt", fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100)},
                         {"nlohmann_json", fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR,
                                                       NLOHMANN_JSON_VERSION_PATCH)},
                         {"compiler", fmt::format("gcc {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__)}};
  if (trainer_details.is_object() && trainer_details.contains("torch_version")) {
    libs["torch"] = trainer_details["torch_version"];
  }
  return libs.dump();
}

}  // namespace

std::string tracking_key(const std::string& key) {
  std::string out = key;
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                    c == '.' || c == ' ' || c == '/';
    if (!ok) c = '_';
  }
  if (out.size() > track::kMaxKeyBytes) out.resize(track::kMaxKeyBytes);
  return out;
}

void evaluate(model::Task task, size_t n_classes, const std::vector<float>& y, const std::vector<float>& predictions,
              const std::string& segment_column, const std::vector<std::string>& segments, const std::string& split,
              TrainOutcome& out) {
  nlohmann::json report = {{"evaluated_on", split}, {"rows", y.size()}, {"task", model::task_name(task)}};
  nlohmann::json overall = nlohmann::json::object();
  const bool classification = task != model::Task::kRegression;
  const size_t k = classification ? (task == model::Task::kBinary ? 2 : n_classes) : 0;
  if (classification) {
    add_classification(classification_metrics(y, predictions, k), split, "", out.metrics, overall);
    report["class_labels"] = out.class_labels;
  } else {
    add_regression(regression_metrics(y, predictions), split, "", out.metrics, overall);
  }
  report["metrics"] = overall;
  if (!segment_column.empty()) {
    nlohmann::json by_value = nlohmann::json::object();
    const auto per_segment = classification ? classification_metrics_by_segment(y, predictions, k, segments)
                                            : regression_metrics_by_segment(y, predictions, segments);
    for (const auto& seg : per_segment) {
      const std::string suffix = "/" + segment_column + "/" + seg.segment;
      nlohmann::json j = nlohmann::json::object();
      if (const auto* c = std::get_if<ClassificationMetrics>(&seg.metrics)) {
        add_classification(*c, split, suffix, out.metrics, j);
      } else {
        add_regression(std::get<RegressionMetrics>(seg.metrics), split, suffix, out.metrics, j);
      }
      j["n"] = seg.n;
      by_value[seg.segment] = j;
    }
    report["segments"] = {{"column", segment_column}, {"values", by_value}};
  }
  out.report = std::move(report);
}

RunRecorder::RunRecorder(store::Store& store, const TrainConfig& config, const TrainOptions& options)
    : store_(store), config_(config), options_(options), tracking_(store) {}

Status RunRecorder::start(model::Task task, const std::vector<track::DatasetInput>& inputs) {
  auto experiment = tracking_.get_experiment_by_name(config_.experiment);
  if (experiment.ok()) {
    experiment_id_ = experiment->id;
  } else if (experiment.status().code() == ErrorCode::kNotFound) {
    SLIPWAY_ASSIGN_OR_RETURN(experiment_id_, tracking_.create_experiment(config_.experiment));
  } else {
    return experiment.status();
  }
  const int64_t start = now_ms();
  created_at_ = options_.reproduce_created_at.value_or(iso_utc(start));

  track::CreateRunRequest request;
  request.experiment_id = experiment_id_;
  request.run_name = config_.run_name;
  request.user = user_name();
  request.start_time_ms = start;
  request.owner = track::Tracking::current_process();
  auto& tags = request.tags;
  const std::filesystem::path dir = options_.working_dir.empty() ? std::filesystem::current_path() : options_.working_dir;
  if (auto git = git_state(dir)) {
    tags["mlflow.source.git.commit"] = git->commit;
    tags["slipway.git.dirty"] = git->dirty ? "true" : "false";
  } else {
    tags["slipway.git.dirty"] = "unknown (not a git work tree)";
  }
  tags["mlflow.source.name"] = "slipway train";
  tags["mlflow.source.type"] = "LOCAL";
  tags["mlflow.user"] = request.user;
  tags["slipway.version"] = SLIPWAY_VERSION_STRING;
  tags["slipway.libraries"] = libraries_json(nlohmann::json::object());
  tags["slipway.cpu"] = cpu_model();
  tags["slipway.host"] = host_name();
  tags["slipway.seed"] = std::to_string(config_.seed);
  tags["slipway.threads"] = std::to_string(config_.threads);
  tags["slipway.model.kind"] = config_.model.kind;
  tags["slipway.task"] = model::task_name(task);
  tags["slipway.config"] = config_.source_name;
  if (!options_.command.empty()) {
    std::string command;
    for (const auto& a : options_.command) command += (command.empty() ? "" : " ") + a;
    if (command.size() > track::kMaxTagValueBytes) command.resize(track::kMaxTagValueBytes);
    tags["slipway.command"] = command;
  }
  if (options_.reproduces) tags["slipway.reproduces"] = *options_.reproduces;
  SLIPWAY_ASSIGN_OR_RETURN(track::RunInfo info, tracking_.create_run(request));
  run_id_ = info.run_id;
  run_name_ = info.run_name;

  // Params: the flattened config, plus the task when it was inferred.
  std::vector<std::pair<std::string, std::string>> params;
  bool has_task = false;
  for (const auto& [key, value] : config_.flat) {
    has_task |= key == "model.task";
    std::string v = value.size() > track::kMaxParamValueBytes ? value.substr(0, track::kMaxParamValueBytes) : value;
    params.emplace_back(tracking_key(key), std::move(v));
  }
  if (!has_task) params.emplace_back("model.task", model::task_name(task));
  for (size_t i = 0; i < params.size(); i += track::kMaxBatchParams) {
    track::LogBatch batch;
    batch.params.assign(params.begin() + static_cast<ptrdiff_t>(i),
                        params.begin() + static_cast<ptrdiff_t>(std::min(params.size(), i + track::kMaxBatchParams)));
    Status s = tracking_.log_batch(run_id_, batch);
    if (!s.ok()) return fail(s);
  }
  Status s = tracking_.log_inputs(run_id_, inputs);
  if (!s.ok()) return fail(s);
  return {};
}

void RunRecorder::log_step(int64_t step, const std::vector<std::pair<std::string, double>>& metrics) {
  const int64_t now = now_ms();
  for (const auto& [key, value] : metrics) pending_.push_back({tracking_key(key), value, now, step});
  if (pending_.size() >= kPointsPerBatch) {
    Status s = flush_steps();
    (void)s;  // kept in step_error_, returned by the next flush_steps()
  }
}

Status RunRecorder::flush_steps() {
  for (size_t i = 0; i < pending_.size() && step_error_.ok(); i += kPointsPerBatch) {
    track::LogBatch batch;
    batch.metrics.assign(pending_.begin() + static_cast<ptrdiff_t>(i),
                         pending_.begin() + static_cast<ptrdiff_t>(std::min(pending_.size(), i + kPointsPerBatch)));
    step_error_ = tracking_.log_batch(run_id_, batch);
  }
  pending_.clear();
  return step_error_;
}

Result<std::string> RunRecorder::finish(const std::string& bundle, const std::string& xgboost_json,
                                        const nlohmann::json& trainer_details, const TrainOutcome& out) {
  SLIPWAY_RETURN_IF_ERROR(flush_steps());
  SLIPWAY_ASSIGN_OR_RETURN(store::PutResult put, store_.objects().put(bundle));
  SLIPWAY_RETURN_IF_ERROR(store_.objects().sync());
  SLIPWAY_RETURN_IF_ERROR(tracking_.set_output_model(run_id_, put.id));
  SLIPWAY_RETURN_IF_ERROR(tracking_.put_artifact(run_id_, "model/model.slw", bundle));
  if (!xgboost_json.empty()) SLIPWAY_RETURN_IF_ERROR(tracking_.put_artifact(run_id_, "model/xgboost-model.json", xgboost_json));

  const int64_t now = now_ms();
  std::vector<track::MetricPoint> points;
  nlohmann::json final_metrics = nlohmann::json::object();
  for (const auto& [key, value] : out.metrics) {
    points.push_back({key, value, now, 0});
    final_metrics[key] = number_or_null(value);
  }
  for (size_t i = 0; i < points.size(); i += kPointsPerBatch) {
    track::LogBatch batch;
    batch.metrics.assign(points.begin() + static_cast<ptrdiff_t>(i),
                         points.begin() + static_cast<ptrdiff_t>(std::min(points.size(), i + kPointsPerBatch)));
    SLIPWAY_RETURN_IF_ERROR(tracking_.log_batch(run_id_, batch));
  }

  nlohmann::json report = out.report;
  report["rows_read"] = out.rows_read;
  report["rows_dropped_missing_target"] = out.rows_dropped;
  report["split_rows"] = {{"train", out.rows_train}, {"validation", out.rows_validation}, {"test", out.rows_test}};
  report["best_iteration"] = out.best_iteration;
  SLIPWAY_RETURN_IF_ERROR(tracking_.put_artifact(run_id_, "metrics.json", report.dump(2) + "\n"));
  SLIPWAY_RETURN_IF_ERROR(tracking_.put_artifact(run_id_, "config.yaml", config_.effective_yaml));

  // run.json: what `slipway runs reproduce` needs to train the same thing again.
  nlohmann::json sources = nlohmann::json::array();
  auto source_json = [&](const std::string& key, const DataSource& s, size_t i) {
    nlohmann::json j = {{"key", key}, {"version_id", i < out.dataset_versions.size() ? out.dataset_versions[i].second : ""}};
    if (!s.dataset.empty()) {
      j["dataset"] = s.dataset;
    } else {
      j["file"] = s.file.string();
    }
    sources.push_back(j);
  };
  source_json("data", config_.data.source, 0);
  for (size_t i = 0; i < config_.data.join.size(); ++i) {
    source_json(fmt::format("data.join[{}]", i), config_.data.join[i].source, i + 1);
  }
  nlohmann::json run = {{"format", 1},
                        {"config_yaml", config_.effective_yaml},
                        {"config_source", config_.source_name},
                        {"sources", sources},
                        {"created_at", created_at_},
                        {"provenance_run_id", options_.reproduces.value_or(run_id_)},
                        {"bundle", put.id},
                        {"seed", config_.seed},
                        {"threads", config_.threads},
                        {"metrics", final_metrics}};
  // Doubles as exact text ("%.17g" round-trips), so a reproduction compares bits, not JSON's rounding.
  nlohmann::json exact = nlohmann::json::object();
  for (const auto& [key, value] : out.metrics) exact[key] = fmt::format("{:.17g}", value);
  run["metrics_exact"] = exact;
  SLIPWAY_RETURN_IF_ERROR(tracking_.put_artifact(run_id_, "run.json", run.dump(2) + "\n"));

  std::map<std::string, std::string> tags = {{"slipway.bundle", put.id},
                                             {"slipway.libraries", libraries_json(trainer_details)}};
  for (const auto& [key, value] : tags) SLIPWAY_RETURN_IF_ERROR(tracking_.set_tag(run_id_, key, value));
  track::UpdateRunRequest done;
  done.status = track::RunStatus::kFinished;
  done.end_time_ms = now_ms();
  SLIPWAY_ASSIGN_OR_RETURN(track::RunInfo info, tracking_.update_run(run_id_, done));
  (void)info;
  return put.id;
}

Status RunRecorder::fail(const Status& error) {
  std::string message = error.message();
  if (message.size() > track::kMaxTagValueBytes) message.resize(track::kMaxTagValueBytes);
  Status tag = tracking_.set_tag(run_id_, "slipway.error", message);
  (void)tag;
  track::UpdateRunRequest failed;
  failed.status = track::RunStatus::kFailed;
  failed.end_time_ms = now_ms();
  auto updated = tracking_.update_run(run_id_, failed);
  (void)updated;
  return Status(error.code(), fmt::format("{} (run {} marked FAILED)", error.message(), run_id_));
}

}  // namespace slipway::train::detail
