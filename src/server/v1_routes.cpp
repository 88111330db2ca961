// slipway's own tracking REST API under /api/v1/ (docs/api/tracking.openapi.yaml): resources in
// the path, plain JSON (maps for params and tags, numbers for ids), the same tracking store and the
// same error body as the MLflow routes.
#include "detail/errors.h"
#include "detail/experiment_search.h"
#include "detail/json_writer.h"
#include "detail/mlflow_json.h"
#include "detail/tracking_pool.h"

namespace slipway::server::detail {

namespace {

using track::Tracking;

void append_string_map(std::string& out, const std::map<std::string, std::string>& items) {
  out.push_back('{');
  bool first = true;
  for (const auto& [key, value] : items) {
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, key);
    out.push_back(':');
    append_json_string(out, value);
  }
  out.push_back('}');
}

void append_optional_string(std::string& out, const std::optional<std::string>& value) {
  if (value) {
    append_json_string(out, *value);
  } else {
    out.append("null");
  }
}

void append_experiment(std::string& out, const track::Experiment& e) {
  out.append("{\"id\":");
  append_json_int(out, e.id);
  append_json_key(out, "name");
  append_json_string(out, e.name);
  append_json_key(out, "artifact_location");
  append_json_string(out, e.artifact_location);
  append_json_key(out, "lifecycle");
  append_json_string(out, track::lifecycle_name(e.lifecycle));
  append_json_key(out, "creation_time_ms");
  append_json_int(out, e.creation_time_ms);
  append_json_key(out, "last_update_time_ms");
  append_json_int(out, e.last_update_time_ms);
  append_json_key(out, "tags");
  append_string_map(out, e.tags);
  out.push_back('}');
}

void append_point(std::string& out, const track::MetricPoint& m) {
  out.append("{\"value\":");
  append_json_double(out, m.value);
  append_json_key(out, "step");
  append_json_int(out, m.step);
  append_json_key(out, "timestamp_ms");
  append_json_int(out, m.timestamp_ms);
  out.push_back('}');
}

void append_run(std::string& out, const track::Run& run) {
  const auto& info = run.info;
  out.append("{\"run_id\":");
  append_json_string(out, info.run_id);
  append_json_key(out, "experiment_id");
  append_json_int(out, info.experiment_id);
  append_json_key(out, "run_name");
  append_json_string(out, info.run_name);
  append_json_key(out, "user");
  append_json_string(out, info.user);
  append_json_key(out, "status");
  append_json_string(out, track::run_status_name(info.status));
  append_json_key(out, "start_time_ms");
  append_json_int(out, info.start_time_ms);
  append_json_key(out, "end_time_ms");
  if (info.end_time_ms) {
    append_json_int(out, *info.end_time_ms);
  } else {
    out.append("null");
  }
  append_json_key(out, "lifecycle");
  append_json_string(out, track::lifecycle_name(info.lifecycle));
  append_json_key(out, "artifact_uri");
  append_json_string(out, info.artifact_uri);
  append_json_key(out, "parent_run_id");
  append_optional_string(out, info.parent_run_id);
  append_json_key(out, "params");
  append_string_map(out, run.params);
  append_json_key(out, "tags");
  append_string_map(out, run.tags);
  append_json_key(out, "metrics");
  out.push_back('{');
  for (size_t i = 0; i < run.latest_metrics.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_json_string(out, run.latest_metrics[i].key);
    out.push_back(':');
    append_point(out, run.latest_metrics[i]);
  }
  out.push_back('}');
  append_json_key(out, "inputs");
  out.push_back('[');
  for (size_t i = 0; i < run.inputs.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append("{\"dataset\":");
    append_json_string(out, run.inputs[i].dataset);
    append_json_key(out, "version_id");
    append_json_string(out, run.inputs[i].version_id);
    append_json_key(out, "context");
    append_json_string(out, run.inputs[i].context);
    out.push_back('}');
  }
  out.push_back(']');
  append_json_key(out, "output_model");
  append_optional_string(out, run.output_model);
  out.push_back('}');
}

// Path parameters: an experiment id must be an integer.
Result<int64_t> experiment_id_param(const Request& request) {
  const std::string& text = request.param("experiment_id");
  auto id = parse_int64(text);
  if (!id) return make_error(ErrorCode::kInvalidArgument, "experiment id '{}' is not an integer", text);
  return *id;
}

Result<track::SearchRunsRequest::ViewType> view_param(const Params& p) {
  SLIPWAY_ASSIGN_OR_RETURN(auto view, p.optional_string("view"));
  std::string v = view.value_or("active");
  if (v == "active") return track::SearchRunsRequest::ViewType::kActiveOnly;
  if (v == "deleted") return track::SearchRunsRequest::ViewType::kDeletedOnly;
  if (v == "all") return track::SearchRunsRequest::ViewType::kAll;
  return make_error(ErrorCode::kInvalidArgument,
                    "Invalid value \"{}\" for parameter 'view' supplied: expected active, deleted or all", v);
}

// A route that reads both the path and the parameters (query for GET/DELETE, JSON body otherwise).
using V1Body = std::function<Status(const Request&, const Params&, Tracking&, Response&)>;
TrackingRawBody with_params(V1Body body) {
  return [body = std::move(body)](const Request& request, Tracking& t, Response& response) -> Status {
    SLIPWAY_ASSIGN_OR_RETURN(auto params, Params::from_request(request));
    return body(request, params, t, response);
  };
}

Status list_experiments(const Request&, const Params& p, Tracking& t, Response& response) {
  SLIPWAY_ASSIGN_OR_RETURN(auto view, view_param(p));
  ExperimentSearch search;
  SLIPWAY_ASSIGN_OR_RETURN(auto filter, p.optional_string("filter"));
  search.filter = filter.value_or("");
  SLIPWAY_ASSIGN_OR_RETURN(search.order_by, p.strings("order_by"));
  SLIPWAY_ASSIGN_OR_RETURN(auto max_results, p.optional_int64("max_results"));
  if (max_results) search.max_results = *max_results < 0 ? 0 : static_cast<size_t>(*max_results);
  SLIPWAY_ASSIGN_OR_RETURN(auto token, p.optional_string("page_token"));
  search.page_token = token.value_or("");
  SLIPWAY_ASSIGN_OR_RETURN(auto all, t.list_experiments(view));
  SLIPWAY_ASSIGN_OR_RETURN(auto page, search_experiments(std::move(all), search));
  std::string out = "{\"experiments\":[";
  for (size_t i = 0; i < page.experiments.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_experiment(out, page.experiments[i]);
  }
  out.append("],\"next_page_token\":");
  append_json_string(out, page.next_page_token);
  out.push_back('}');
  response = ok_json(std::move(out));
  return {};
}

Status create_experiment(const Request&, const Params& p, Tracking& t, Response& response) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  SLIPWAY_ASSIGN_OR_RETURN(auto tag_list, p.key_values("tags"));
  std::map<std::string, std::string> tags(tag_list.begin(), tag_list.end());
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, t.create_experiment(name, tags));
  SLIPWAY_ASSIGN_OR_RETURN(auto e, t.get_experiment(id));
  std::string out;
  append_experiment(out, e);
  response = Response::json(201, std::move(out));
  return {};
}

Status get_experiment(const Request& request, const Params&, Tracking& t, Response& response) {
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, experiment_id_param(request));
  SLIPWAY_ASSIGN_OR_RETURN(auto e, t.get_experiment(id));
  std::string out;
  append_experiment(out, e);
  response = ok_json(std::move(out));
  return {};
}

Status update_experiment(const Request& request, const Params& p, Tracking& t, Response& response) {
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, experiment_id_param(request));
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.optional_string("name"));
  if (name) SLIPWAY_RETURN_IF_ERROR(t.rename_experiment(id, *name));
  SLIPWAY_ASSIGN_OR_RETURN(auto tags, p.key_values("tags"));
  for (const auto& [key, value] : tags) SLIPWAY_RETURN_IF_ERROR(t.set_experiment_tag(id, key, value));
  SLIPWAY_ASSIGN_OR_RETURN(auto e, t.get_experiment(id));
  std::string out;
  append_experiment(out, e);
  response = ok_json(std::move(out));
  return {};
}

Status delete_experiment(const Request& request, const Params&, Tracking& t, Response& response) {
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, experiment_id_param(request));
  SLIPWAY_RETURN_IF_ERROR(t.delete_experiment(id));
  response = ok_json();
  return {};
}

Status restore_experiment(const Request& request, const Params&, Tracking& t, Response& response) {
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, experiment_id_param(request));
  SLIPWAY_RETURN_IF_ERROR(t.restore_experiment(id));
  response = ok_json();
  return {};
}

Status set_experiment_tag(const Request& request, const Params& p, Tracking& t, Response& response) {
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, experiment_id_param(request));
  SLIPWAY_ASSIGN_OR_RETURN(auto value, p.optional_string("value"));
  if (!value) return missing_value("value");
  SLIPWAY_RETURN_IF_ERROR(t.set_experiment_tag(id, request.param("key"), *value));
  response = ok_json();
  return {};
}

Result<track::SearchRunsRequest> search_request(const Params& p) {
  track::SearchRunsRequest request;
  SLIPWAY_ASSIGN_OR_RETURN(auto ids, p.strings("experiment_id"));
  SLIPWAY_ASSIGN_OR_RETURN(auto more_ids, p.strings("experiment_ids"));
  ids.insert(ids.end(), more_ids.begin(), more_ids.end());
  for (const auto& text : ids) {
    auto id = parse_int64(text);
    if (!id) {
      return make_error(ErrorCode::kInvalidArgument,
                        "Invalid value \"{}\" for parameter 'experiment_id' supplied: expected an integer", text);
    }
    request.experiment_ids.push_back(*id);
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto filter, p.optional_string("filter"));
  request.filter = filter.value_or("");
  SLIPWAY_ASSIGN_OR_RETURN(request.order_by, p.strings("order_by"));
  SLIPWAY_ASSIGN_OR_RETURN(auto max_results, p.optional_int64("max_results"));
  if (max_results) request.max_results = *max_results < 0 ? 0 : static_cast<size_t>(*max_results);
  SLIPWAY_ASSIGN_OR_RETURN(auto token, p.optional_string("page_token"));
  request.page_token = token.value_or("");
  SLIPWAY_ASSIGN_OR_RETURN(request.view, view_param(p));
  return request;
}

Status search_runs(const Request&, const Params& p, Tracking& t, Response& response) {
  SLIPWAY_ASSIGN_OR_RETURN(auto request, search_request(p));
  SLIPWAY_ASSIGN_OR_RETURN(auto page, t.search_runs(request));
  std::string out;
  out.reserve(400 * page.runs.size() + 64);
  out.append("{\"runs\":[");
  for (size_t i = 0; i < page.runs.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_run(out, page.runs[i]);
  }
  out.append("],\"next_page_token\":");
  append_json_string(out, page.next_page_token);
  out.push_back('}');
  response = ok_json(std::move(out));
  return {};
}

Status create_run(const Request&, const Params& p, Tracking& t, Response& response) {
  track::CreateRunRequest request;
  SLIPWAY_ASSIGN_OR_RETURN(auto experiment, p.optional_int64("experiment_id"));
  request.experiment_id = experiment.value_or(0);
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.optional_string("run_name"));
  request.run_name = name.value_or("");
  SLIPWAY_ASSIGN_OR_RETURN(auto user, p.optional_string("user"));
  request.user = user.value_or("");
  SLIPWAY_ASSIGN_OR_RETURN(auto start, p.optional_int64("start_time_ms"));
  request.start_time_ms = start.value_or(0);
  SLIPWAY_ASSIGN_OR_RETURN(auto tags, p.key_values("tags"));
  request.tags.insert(tags.begin(), tags.end());
  SLIPWAY_ASSIGN_OR_RETURN(request.parent_run_id, p.optional_string("parent_run_id"));
  SLIPWAY_ASSIGN_OR_RETURN(auto info, t.create_run(request));
  SLIPWAY_ASSIGN_OR_RETURN(auto run, t.get_run(info.run_id));
  std::string out;
  append_run(out, run);
  response = Response::json(201, std::move(out));
  return {};
}

Status get_run(const Request& request, const Params&, Tracking& t, Response& response) {
  SLIPWAY_ASSIGN_OR_RETURN(auto run, t.get_run(request.param("run_id")));
  std::string out;
  append_run(out, run);
  response = ok_json(std::move(out));
  return {};
}

Status update_run(const Request& request, const Params& p, Tracking& t, Response& response) {
  track::UpdateRunRequest update;
  if (p.has("status")) {
    SLIPWAY_ASSIGN_OR_RETURN(update.status, mlflow_run_status(p));
  }
  SLIPWAY_ASSIGN_OR_RETURN(update.end_time_ms, p.optional_int64("end_time_ms"));
  SLIPWAY_ASSIGN_OR_RETURN(update.run_name, p.optional_string("run_name"));
  SLIPWAY_RETURN_IF_ERROR(t.update_run(request.param("run_id"), update).status());
  SLIPWAY_ASSIGN_OR_RETURN(auto run, t.get_run(request.param("run_id")));
  std::string out;
  append_run(out, run);
  response = ok_json(std::move(out));
  return {};
}

Status delete_run(const Request& request, const Params&, Tracking& t, Response& response) {
  SLIPWAY_RETURN_IF_ERROR(t.delete_run(request.param("run_id")));
  response = ok_json();
  return {};
}

Status restore_run(const Request& request, const Params&, Tracking& t, Response& response) {
  SLIPWAY_RETURN_IF_ERROR(t.restore_run(request.param("run_id")));
  response = ok_json();
  return {};
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// {key, value, step?, timestamp_ms?}: step defaults to 0 and the time to now.
Result<track::MetricPoint> v1_metric(const Params& p, int64_t now) {
  track::MetricPoint m;
  SLIPWAY_ASSIGN_OR_RETURN(m.key, p.required_string("key"));
  SLIPWAY_ASSIGN_OR_RETURN(m.value, p.required_double("value"));
  SLIPWAY_ASSIGN_OR_RETURN(auto step, p.optional_int64("step"));
  m.step = step.value_or(0);
  SLIPWAY_ASSIGN_OR_RETURN(auto time, p.optional_int64("timestamp_ms"));
  m.timestamp_ms = time.value_or(now);
  return m;
}

Status log_batch(const Request& request, const Params& p, Tracking& t, Response& response) {
  track::LogBatch batch;
  int64_t now = now_ms();
  SLIPWAY_ASSIGN_OR_RETURN(auto metrics, p.objects("metrics"));
  batch.metrics.reserve(metrics.size());
  for (const auto& m : metrics) {
    SLIPWAY_ASSIGN_OR_RETURN(auto point, v1_metric(m, now));
    batch.metrics.push_back(std::move(point));
  }
  SLIPWAY_ASSIGN_OR_RETURN(batch.params, p.key_values("params"));
  SLIPWAY_ASSIGN_OR_RETURN(batch.tags, p.key_values("tags"));
  SLIPWAY_RETURN_IF_ERROR(t.log_batch(request.param("run_id"), batch));
  response = ok_json();
  return {};
}

Status log_metric(const Request& request, const Params& p, Tracking& t, Response& response) {
  SLIPWAY_ASSIGN_OR_RETURN(auto point, v1_metric(p, now_ms()));
  SLIPWAY_RETURN_IF_ERROR(t.log_metric(request.param("run_id"), point));
  response = ok_json();
  return {};
}

Status metric_history(const Request& request, const Params& p, Tracking& t, Response& response) {
  track::MetricHistoryRequest history;
  history.run_id = request.param("run_id");
  history.key = request.param("key");
  SLIPWAY_ASSIGN_OR_RETURN(auto max_results, p.optional_int64("max_results"));
  if (max_results) history.max_results = *max_results < 0 ? 0 : static_cast<size_t>(*max_results);
  SLIPWAY_ASSIGN_OR_RETURN(auto token, p.optional_string("page_token"));
  history.page_token = token.value_or("");
  SLIPWAY_ASSIGN_OR_RETURN(auto page, t.metric_history_page(history));
  std::string out;
  out.reserve(64 * page.points.size() + 64);
  out.append("{\"key\":");
  append_json_string(out, history.key);
  out.append(",\"points\":[");
  for (size_t i = 0; i < page.points.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_point(out, page.points[i]);
  }
  out.append("],\"next_page_token\":");
  append_json_string(out, page.next_page_token);
  out.push_back('}');
  response = ok_json(std::move(out));
  return {};
}

Status put_param(const Request& request, const Params& p, Tracking& t, Response& response) {
  SLIPWAY_ASSIGN_OR_RETURN(auto value, p.optional_string("value"));
  if (!value) return missing_value("value");
  SLIPWAY_RETURN_IF_ERROR(t.log_param(request.param("run_id"), request.param("key"), *value));
  response = ok_json();
  return {};
}

Status put_tag(const Request& request, const Params& p, Tracking& t, Response& response) {
  SLIPWAY_ASSIGN_OR_RETURN(auto value, p.optional_string("value"));
  if (!value) return missing_value("value");
  SLIPWAY_RETURN_IF_ERROR(t.set_tag(request.param("run_id"), request.param("key"), *value));
  response = ok_json();
  return {};
}

Status delete_tag(const Request& request, const Params&, Tracking& t, Response& response) {
  SLIPWAY_RETURN_IF_ERROR(t.delete_tag(request.param("run_id"), request.param("key")));
  response = ok_json();
  return {};
}

Status log_inputs(const Request& request, const Params& p, Tracking& t, Response& response) {
  SLIPWAY_ASSIGN_OR_RETURN(auto items, p.objects("inputs"));
  std::vector<track::DatasetInput> inputs;
  for (const auto& item : items) {
    track::DatasetInput input;
    SLIPWAY_ASSIGN_OR_RETURN(input.dataset, item.required_string("dataset"));
    SLIPWAY_ASSIGN_OR_RETURN(input.version_id, item.required_string("version_id"));
    SLIPWAY_ASSIGN_OR_RETURN(auto context, item.optional_string("context"));
    input.context = context.value_or("");
    inputs.push_back(std::move(input));
  }
  SLIPWAY_RETURN_IF_ERROR(t.log_inputs(request.param("run_id"), inputs));
  response = ok_json();
  return {};
}

Status list_artifacts(const Request& request, const Params& p, Tracking& t, Response& response) {
  SLIPWAY_ASSIGN_OR_RETURN(auto dir, p.optional_string("dir"));
  SLIPWAY_ASSIGN_OR_RETURN(auto entries, t.list_artifacts(request.param("run_id"), dir.value_or("")));
  std::string out = "{\"artifacts\":[";
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append("{\"path\":");
    append_json_string(out, entries[i].path);
    out.append(",\"is_dir\":");
    out.append(entries[i].is_dir ? "true" : "false");
    out.append(",\"size\":");
    append_json_int(out, entries[i].size);
    out.push_back('}');
  }
  out.append("]}");
  response = ok_json(std::move(out));
  return {};
}

Status get_artifact(const Request& request, Tracking& t, Response& response) {
  SLIPWAY_ASSIGN_OR_RETURN(auto content, t.get_artifact(request.param("run_id"), request.param("path")));
  response.status = 200;
  response.content_type = "application/octet-stream";
  response.body = std::move(content);
  return {};
}

Status put_artifact(const Request& request, Tracking& t, Response& response) {
  SLIPWAY_RETURN_IF_ERROR(t.put_artifact(request.param("run_id"), request.param("path"), request.body));
  response = Response::json(201, "{}");
  return {};
}

}  // namespace

Status add_v1_routes(Router& router, TrackingPool& pool) {
  struct Route {
    Method method;
    const char* path;
    Access access;
    TrackingRawBody body;
  };
  const Route routes[] = {
      {Method::kGet, "/experiments", Access::kRead, with_params(list_experiments)},
      {Method::kPost, "/experiments", Access::kWrite, with_params(create_experiment)},
      {Method::kGet, "/experiments/{experiment_id}", Access::kRead, with_params(get_experiment)},
      {Method::kPatch, "/experiments/{experiment_id}", Access::kWrite, with_params(update_experiment)},
      {Method::kDelete, "/experiments/{experiment_id}", Access::kWrite, with_params(delete_experiment)},
      {Method::kPost, "/experiments/{experiment_id}/restore", Access::kWrite, with_params(restore_experiment)},
      {Method::kPut, "/experiments/{experiment_id}/tags/{key...}", Access::kWrite, with_params(set_experiment_tag)},
      {Method::kGet, "/runs", Access::kRead, with_params(search_runs)},
      {Method::kPost, "/runs", Access::kWrite, with_params(create_run)},
      {Method::kPost, "/runs/search", Access::kRead, with_params(search_runs)},
      {Method::kGet, "/runs/{run_id}", Access::kRead, with_params(get_run)},
      {Method::kPatch, "/runs/{run_id}", Access::kWrite, with_params(update_run)},
      {Method::kDelete, "/runs/{run_id}", Access::kWrite, with_params(delete_run)},
      {Method::kPost, "/runs/{run_id}/restore", Access::kWrite, with_params(restore_run)},
      {Method::kPost, "/runs/{run_id}/batch", Access::kWrite, with_params(log_batch)},
      {Method::kPost, "/runs/{run_id}/metrics", Access::kWrite, with_params(log_metric)},
      {Method::kGet, "/runs/{run_id}/metrics/{key...}", Access::kRead, with_params(metric_history)},
      {Method::kPut, "/runs/{run_id}/params/{key...}", Access::kWrite, with_params(put_param)},
      {Method::kPut, "/runs/{run_id}/tags/{key...}", Access::kWrite, with_params(put_tag)},
      {Method::kDelete, "/runs/{run_id}/tags/{key...}", Access::kWrite, with_params(delete_tag)},
      {Method::kPost, "/runs/{run_id}/inputs", Access::kWrite, with_params(log_inputs)},
      {Method::kGet, "/runs/{run_id}/artifacts", Access::kRead, with_params(list_artifacts)},
      {Method::kGet, "/runs/{run_id}/artifacts/{path...}", Access::kRead, get_artifact},
      {Method::kPut, "/runs/{run_id}/artifacts/{path...}", Access::kWrite, put_artifact},
  };
  for (const auto& r : routes) {
    SLIPWAY_RETURN_IF_ERROR(
        router.add(r.method, std::string("/api/v1") + r.path, tracking_raw_handler(pool, r.access, r.body)));
  }
  SLIPWAY_RETURN_IF_ERROR(router.add(Method::kGet, "/api/v1/health", [](const Request&, Response& response) {
    response = ok_json(fmt::format("{{\"status\":\"ok\",\"version\":\"{}\"}}", SLIPWAY_VERSION_STRING));
  }));
  return {};
}

}  // namespace slipway::server::detail
