#include "detail/mlflow_json.h"

#include "detail/json_writer.h"

namespace slipway::server::detail {

namespace {

void append_key_value_list(std::string& out, const std::map<std::string, std::string>& items) {
  out.push_back('[');
  bool first = true;
  for (const auto& [key, value] : items) {
    if (!first) out.push_back(',');
    first = false;
    out.append("{\"key\":");
    append_json_string(out, key);
    out.append(",\"value\":");
    append_json_string(out, value);
    out.push_back('}');
  }
  out.push_back(']');
}

}  // namespace

void append_mlflow_experiment(std::string& out, const track::Experiment& e) {
  out.append("{\"experiment_id\":\"");
  append_json_int(out, e.id);
  out.push_back('"');
  append_json_key(out, "name");
  append_json_string(out, e.name);
  append_json_key(out, "artifact_location");
  append_json_string(out, e.artifact_location);
  append_json_key(out, "lifecycle_stage");
  append_json_string(out, track::lifecycle_name(e.lifecycle));
  append_json_key(out, "last_update_time");
  append_json_int(out, e.last_update_time_ms);
  append_json_key(out, "creation_time");
  append_json_int(out, e.creation_time_ms);
  append_json_key(out, "tags");
  append_key_value_list(out, e.tags);
  out.push_back('}');
}

void append_mlflow_run_info(std::string& out, const track::RunInfo& info) {
  out.append("{\"run_id\":");
  append_json_string(out, info.run_id);
  append_json_key(out, "run_uuid");
  append_json_string(out, info.run_id);
  append_json_key(out, "run_name");
  append_json_string(out, info.run_name);
  append_json_key(out, "experiment_id");
  out.push_back('"');
  append_json_int(out, info.experiment_id);
  out.push_back('"');
  append_json_key(out, "user_id");
  append_json_string(out, info.user);
  append_json_key(out, "status");
  append_json_string(out, track::run_status_name(info.status));
  append_json_key(out, "start_time");
  append_json_int(out, info.start_time_ms);
  if (info.end_time_ms) {
    append_json_key(out, "end_time");
    append_json_int(out, *info.end_time_ms);
  }
  append_json_key(out, "artifact_uri");
  append_json_string(out, info.artifact_uri);
  append_json_key(out, "lifecycle_stage");
  append_json_string(out, track::lifecycle_name(info.lifecycle));
  out.push_back('}');
}

void append_mlflow_metric(std::string& out, const track::MetricPoint& m) {
  out.append("{\"key\":");
  append_json_string(out, m.key);
  append_json_key(out, "value");
  append_json_double(out, m.value);
  append_json_key(out, "timestamp");
  append_json_int(out, m.timestamp_ms);
  append_json_key(out, "step");
  append_json_int(out, m.step);
  out.push_back('}');
}

void append_mlflow_run(std::string& out, const track::Run& run) {
  out.append("{\"info\":");
  append_mlflow_run_info(out, run.info);
  out.append(",\"data\":{\"metrics\":[");
  for (size_t i = 0; i < run.latest_metrics.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_mlflow_metric(out, run.latest_metrics[i]);
  }
  out.append("],\"params\":");
  append_key_value_list(out, run.params);
  out.append(",\"tags\":");
  append_key_value_list(out, run.tags);
  out.append("},\"inputs\":{\"dataset_inputs\":[");
  for (size_t i = 0; i < run.inputs.size(); ++i) {
    const auto& input = run.inputs[i];
    if (i > 0) out.push_back(',');
    out.append("{\"tags\":[");
    if (!input.context.empty()) {
      out.append("{\"key\":\"mlflow.data.context\",\"value\":");
      append_json_string(out, input.context);
      out.push_back('}');
    }
    out.append("],\"dataset\":{\"name\":");
    append_json_string(out, input.dataset);
    out.append(",\"digest\":");
    append_json_string(out, input.version_id);
    out.append(",\"source_type\":\"slipway\",\"source\":");
    append_json_string(out, input.dataset + "@" + input.version_id);
    out.append("}}");
  }
  out.append("]}}");
}

Result<std::string> mlflow_run_id(const Params& p) {
  SLIPWAY_ASSIGN_OR_RETURN(auto run_id, p.optional_string("run_id"));
  if (run_id && !run_id->empty()) return std::move(*run_id);
  SLIPWAY_ASSIGN_OR_RETURN(auto run_uuid, p.optional_string("run_uuid"));
  if (run_uuid && !run_uuid->empty()) return std::move(*run_uuid);
  return missing_value(p.path("run_id"));
}

Result<int64_t> mlflow_experiment_id(const Params& p, std::string_view name) {
  return p.required_int64(name);
}

Result<track::MetricPoint> mlflow_metric(const Params& p) {
  track::MetricPoint m;
  SLIPWAY_ASSIGN_OR_RETURN(m.key, p.required_string("key"));
  SLIPWAY_ASSIGN_OR_RETURN(m.value, p.required_double("value"));
  SLIPWAY_ASSIGN_OR_RETURN(m.timestamp_ms, p.required_int64("timestamp"));
  SLIPWAY_ASSIGN_OR_RETURN(auto step, p.optional_int64("step"));
  m.step = step.value_or(0);
  return m;
}

Result<track::LogBatch> mlflow_log_batch(const Params& p) {
  track::LogBatch batch;
  SLIPWAY_ASSIGN_OR_RETURN(auto metrics, p.objects("metrics"));
  batch.metrics.reserve(metrics.size());
  for (const auto& m : metrics) {
    SLIPWAY_ASSIGN_OR_RETURN(auto point, mlflow_metric(m));
    batch.metrics.push_back(std::move(point));
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto params, p.objects("params"));
  batch.params.reserve(params.size());
  for (const auto& item : params) {
    SLIPWAY_ASSIGN_OR_RETURN(auto key, item.required_string("key"));
    SLIPWAY_ASSIGN_OR_RETURN(auto value, item.optional_string("value"));
    batch.params.emplace_back(std::move(key), value.value_or(""));
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto tags, p.objects("tags"));
  batch.tags.reserve(tags.size());
  for (const auto& item : tags) {
    SLIPWAY_ASSIGN_OR_RETURN(auto key, item.required_string("key"));
    SLIPWAY_ASSIGN_OR_RETURN(auto value, item.optional_string("value"));
    batch.tags.emplace_back(std::move(key), value.value_or(""));
  }
  return batch;
}

Result<track::RunStatus> mlflow_run_status(const Params& p, std::string_view name) {
  if (auto number = p.optional_int64(name); number.ok() && number->has_value()) {
    static constexpr track::RunStatus kByNumber[] = {track::RunStatus::kRunning, track::RunStatus::kScheduled,
                                                     track::RunStatus::kFinished, track::RunStatus::kFailed,
                                                     track::RunStatus::kKilled};
    int64_t n = **number;
    if (n >= 1 && n <= 5) return kByNumber[n - 1];
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto text, p.required_string(name));
  auto status = track::parse_run_status(text);
  if (!status.ok()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "Invalid value \"{}\" for parameter '{}' supplied: expected one of RUNNING, SCHEDULED, FINISHED, "
                      "FAILED, KILLED",
                      text, p.path(name));
  }
  return *status;
}

Result<track::SearchRunsRequest::ViewType> mlflow_view_type(const Params& p, std::string_view name) {
  using View = track::SearchRunsRequest::ViewType;
  if (!p.has(name)) return View::kActiveOnly;
  if (auto number = p.optional_int64(name); number.ok() && number->has_value()) {
    if (**number == 1) return View::kActiveOnly;
    if (**number == 2) return View::kDeletedOnly;
    if (**number == 3) return View::kAll;
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto text, p.optional_string(name));
  std::string value = text.value_or("");
  if (value == "ACTIVE_ONLY") return View::kActiveOnly;
  if (value == "DELETED_ONLY") return View::kDeletedOnly;
  if (value == "ALL") return View::kAll;
  return make_error(ErrorCode::kInvalidArgument,
                    "Invalid value \"{}\" for parameter '{}' supplied: expected ACTIVE_ONLY, DELETED_ONLY or ALL",
                    value, p.path(name));
}

}  // namespace slipway::server::detail
