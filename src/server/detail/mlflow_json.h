// MLflow's REST shapes (mlflow/protos/service.proto in its JSON mapping) to and from slipway's
// tracking types. Experiment ids travel as strings, int64 times and steps as numbers, run status
// as its enum name, lifecycle as "active"/"deleted".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "params.h"
#include "slipway/track/tracking.h"

namespace slipway::server::detail {

void append_mlflow_experiment(std::string& out, const track::Experiment& e);
void append_mlflow_run_info(std::string& out, const track::RunInfo& info);
void append_mlflow_run(std::string& out, const track::Run& run);
void append_mlflow_metric(std::string& out, const track::MetricPoint& m);

// `run_id`, else the legacy `run_uuid`; "Missing value for required parameter 'run_id'." when neither.
Result<std::string> mlflow_run_id(const Params& p);
// An experiment id as MLflow sends it (a decimal string or a number).
Result<int64_t> mlflow_experiment_id(const Params& p, std::string_view name = "experiment_id");
// One metric: key, value, timestamp required (as MLflow), step defaults to 0.
Result<track::MetricPoint> mlflow_metric(const Params& p);
// A LogBatch body's metrics, params and tags (limits are checked by the tracking store).
Result<track::LogBatch> mlflow_log_batch(const Params& p);
// The hot path of runs/log-batch: reads a body in the shape MLflow's clients send (ASCII strings
// without escapes, numbers, each field once) straight into a LogBatch, without a JSON tree. Any
// other body -- malformed, escaped, null fields, duplicate keys, a missing run_id -- gives
// nullopt, and the caller reads it through Params as before, so errors and edge cases keep one
// definition. Whatever it accepts, it reads exactly as the Params path does.
struct FastLogBatch {
  std::string run_id;
  track::LogBatch batch;
};
std::optional<FastLogBatch> fast_mlflow_log_batch(std::string_view body);

// "RUNNING" ... or the enum number 1..5.
Result<track::RunStatus> mlflow_run_status(const Params& p, std::string_view name = "status");
// ViewType: "ACTIVE_ONLY" (default), "DELETED_ONLY", "ALL", or 1..3.
Result<track::SearchRunsRequest::ViewType> mlflow_view_type(const Params& p, std::string_view name);

}  // namespace slipway::server::detail
