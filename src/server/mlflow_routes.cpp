// MLflow's tracking REST routes (the subset its Python client uses for experiments, runs, metrics,
// params, tags, inputs) and the artifact proxy the client talks to for an `mlflow-artifacts:/`
// artifact URI. Each route reads MLflow's request message, calls the tracking store, and answers
// MLflow's response message; errors are {"error_code", "message"} (errors.cpp).
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "detail/errors.h"
#include "detail/experiment_search.h"
#include "detail/json_writer.h"
#include "detail/mlflow_json.h"
#include "detail/tracking_pool.h"

namespace slipway::server::detail {

namespace {

using track::Tracking;

std::string experiment_response(const track::Experiment& e) {
  std::string out = "{\"experiment\":";
  append_mlflow_experiment(out, e);
  out.push_back('}');
  return out;
}

std::string run_response(const track::Run& run) {
  std::string out = "{\"run\":";
  append_mlflow_run(out, run);
  out.push_back('}');
  return out;
}

Result<std::string> create_experiment(const Params& p, Tracking& t) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  SLIPWAY_ASSIGN_OR_RETURN(auto tag_list, p.key_values("tags"));
  std::map<std::string, std::string> tags(tag_list.begin(), tag_list.end());
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, t.create_experiment(name, tags));
  return fmt::format("{{\"experiment_id\":\"{}\"}}", id);
}

Result<std::string> get_experiment(const Params& p, Tracking& t) {
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, mlflow_experiment_id(p));
  SLIPWAY_ASSIGN_OR_RETURN(auto e, t.get_experiment(id));
  return experiment_response(e);
}

Result<std::string> get_experiment_by_name(const Params& p, Tracking& t) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("experiment_name"));
  SLIPWAY_ASSIGN_OR_RETURN(auto e, t.get_experiment_by_name(name));
  return experiment_response(e);
}

Result<std::string> search_experiments_route(const Params& p, Tracking& t) {
  SLIPWAY_ASSIGN_OR_RETURN(auto view, mlflow_view_type(p, "view_type"));
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
    append_mlflow_experiment(out, page.experiments[i]);
  }
  out.push_back(']');
  if (!page.next_page_token.empty()) {
    append_json_key(out, "next_page_token");
    append_json_string(out, page.next_page_token);
  }
  out.push_back('}');
  return out;
}

Result<std::string> update_experiment(const Params& p, Tracking& t) {
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, mlflow_experiment_id(p));
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("new_name"));
  SLIPWAY_RETURN_IF_ERROR(t.rename_experiment(id, name));
  return std::string("{}");
}

Result<std::string> delete_experiment(const Params& p, Tracking& t) {
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, mlflow_experiment_id(p));
  SLIPWAY_RETURN_IF_ERROR(t.delete_experiment(id));
  return std::string("{}");
}

Result<std::string> restore_experiment(const Params& p, Tracking& t) {
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, mlflow_experiment_id(p));
  SLIPWAY_RETURN_IF_ERROR(t.restore_experiment(id));
  return std::string("{}");
}

Result<std::string> set_experiment_tag(const Params& p, Tracking& t) {
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, mlflow_experiment_id(p));
  SLIPWAY_ASSIGN_OR_RETURN(auto key, p.required_string("key"));
  SLIPWAY_ASSIGN_OR_RETURN(auto value, p.optional_string("value"));
  SLIPWAY_RETURN_IF_ERROR(t.set_experiment_tag(id, key, value.value_or("")));
  return std::string("{}");
}

Result<std::string> create_run(const Params& p, Tracking& t) {
  track::CreateRunRequest request;
  SLIPWAY_ASSIGN_OR_RETURN(auto experiment, p.optional_int64("experiment_id"));
  request.experiment_id = experiment.value_or(0);
  SLIPWAY_ASSIGN_OR_RETURN(auto user, p.optional_string("user_id"));
  request.user = user.value_or("");
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.optional_string("run_name"));
  request.run_name = name.value_or("");
  SLIPWAY_ASSIGN_OR_RETURN(auto start, p.optional_int64("start_time"));
  request.start_time_ms = start.value_or(0);
  SLIPWAY_ASSIGN_OR_RETURN(auto tags, p.key_values("tags"));
  for (auto& [key, value] : tags) {
    if (key == "mlflow.parentRunId" && !value.empty()) request.parent_run_id = value;
    request.tags[key] = std::move(value);
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto info, t.create_run(request));
  SLIPWAY_ASSIGN_OR_RETURN(auto run, t.get_run(info.run_id));
  return run_response(run);
}

Result<std::string> get_run(const Params& p, Tracking& t) {
  SLIPWAY_ASSIGN_OR_RETURN(auto run_id, mlflow_run_id(p));
  SLIPWAY_ASSIGN_OR_RETURN(auto run, t.get_run(run_id));
  return run_response(run);
}

Result<std::string> update_run(const Params& p, Tracking& t) {
  SLIPWAY_ASSIGN_OR_RETURN(auto run_id, mlflow_run_id(p));
  track::UpdateRunRequest request;
  if (p.has("status")) {
    SLIPWAY_ASSIGN_OR_RETURN(request.status, mlflow_run_status(p));
  }
  SLIPWAY_ASSIGN_OR_RETURN(request.end_time_ms, p.optional_int64("end_time"));
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.optional_string("run_name"));
  if (name && !name->empty()) request.run_name = std::move(name);
  SLIPWAY_ASSIGN_OR_RETURN(auto info, t.update_run(run_id, request));
  std::string out = "{\"run_info\":";
  append_mlflow_run_info(out, info);
  out.push_back('}');
  return out;
}

Result<std::string> delete_run(const Params& p, Tracking& t) {
  SLIPWAY_ASSIGN_OR_RETURN(auto run_id, mlflow_run_id(p));
  SLIPWAY_RETURN_IF_ERROR(t.delete_run(run_id));
  return std::string("{}");
}

Result<std::string> restore_run(const Params& p, Tracking& t) {
  SLIPWAY_ASSIGN_OR_RETURN(auto run_id, mlflow_run_id(p));
  SLIPWAY_RETURN_IF_ERROR(t.restore_run(run_id));
  return std::string("{}");
}

Result<std::string> search_runs(const Params& p, Tracking& t) {
  track::SearchRunsRequest request;
  SLIPWAY_ASSIGN_OR_RETURN(auto ids, p.strings("experiment_ids"));
  for (size_t i = 0; i < ids.size(); ++i) {
    auto id = parse_int64(ids[i]);
    if (!id) {
      return make_error(ErrorCode::kInvalidArgument,
                        "Invalid value \"{}\" for parameter 'experiment_ids[{}]' supplied: expected an experiment id",
                        ids[i], i);
    }
    request.experiment_ids.push_back(*id);
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto filter, p.optional_string("filter"));
  request.filter = filter.value_or("");
  SLIPWAY_ASSIGN_OR_RETURN(request.view, mlflow_view_type(p, "run_view_type"));
  SLIPWAY_ASSIGN_OR_RETURN(auto max_results, p.optional_int64("max_results"));
  if (max_results) request.max_results = *max_results < 0 ? 0 : static_cast<size_t>(*max_results);
  SLIPWAY_ASSIGN_OR_RETURN(request.order_by, p.strings("order_by"));
  SLIPWAY_ASSIGN_OR_RETURN(auto token, p.optional_string("page_token"));
  request.page_token = token.value_or("");
  SLIPWAY_ASSIGN_OR_RETURN(auto page, t.search_runs(request));
  std::string out;
  out.reserve(512 * page.runs.size() + 64);
  out.append("{\"runs\":[");
  for (size_t i = 0; i < page.runs.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_mlflow_run(out, page.runs[i]);
  }
  out.push_back(']');
  if (!page.next_page_token.empty()) {
    append_json_key(out, "next_page_token");
    append_json_string(out, page.next_page_token);
  }
  out.push_back('}');
  return out;
}

Result<std::string> log_metric(const Params& p, Tracking& t) {
  SLIPWAY_ASSIGN_OR_RETURN(auto run_id, mlflow_run_id(p));
  SLIPWAY_ASSIGN_OR_RETURN(auto point, mlflow_metric(p));
  SLIPWAY_RETURN_IF_ERROR(t.log_metric(run_id, point));
  return std::string("{}");
}

Result<std::string> log_param(const Params& p, Tracking& t) {
  SLIPWAY_ASSIGN_OR_RETURN(auto run_id, mlflow_run_id(p));
  SLIPWAY_ASSIGN_OR_RETURN(auto key, p.required_string("key"));
  SLIPWAY_ASSIGN_OR_RETURN(auto value, p.optional_string("value"));
  SLIPWAY_RETURN_IF_ERROR(t.log_param(run_id, key, value.value_or("")));
  return std::string("{}");
}

Result<std::string> set_tag(const Params& p, Tracking& t) {
  SLIPWAY_ASSIGN_OR_RETURN(auto run_id, mlflow_run_id(p));
  SLIPWAY_ASSIGN_OR_RETURN(auto key, p.required_string("key"));
  SLIPWAY_ASSIGN_OR_RETURN(auto value, p.optional_string("value"));
  SLIPWAY_RETURN_IF_ERROR(t.set_tag(run_id, key, value.value_or("")));
  return std::string("{}");
}

Result<std::string> delete_tag(const Params& p, Tracking& t) {
  SLIPWAY_ASSIGN_OR_RETURN(auto run_id, mlflow_run_id(p));
  SLIPWAY_ASSIGN_OR_RETURN(auto key, p.required_string("key"));
  SLIPWAY_RETURN_IF_ERROR(t.delete_tag(run_id, key));
  return std::string("{}");
}

Result<std::string> log_batch(const Params& p, Tracking& t) {
  SLIPWAY_ASSIGN_OR_RETURN(auto run_id, mlflow_run_id(p));
  SLIPWAY_ASSIGN_OR_RETURN(auto batch, mlflow_log_batch(p));
  SLIPWAY_RETURN_IF_ERROR(t.log_batch(run_id, batch));
  return std::string("{}");
}

// Concurrent log-batch requests share one transaction (group commit): the first request to find no
// writer at work writes every request waiting at that moment, its own among them, each inside its
// own savepoint (Tracking::log_batches), so a request with a bad field still gets its own error and
// writes nothing. While it writes, new requests queue up for the next group. One client alone sees
// groups of one: the same work as before.
class LogBatchGroups {
 public:
  explicit LogBatchGroups(TrackingPool& pool) : pool_(pool) {}

  Status log(const FastLogBatch& batch) {
    Job job;
    job.batch = &batch;
    std::unique_lock<std::mutex> lock(mutex_);
    waiting_.push_back(&job);
    while (!job.done) {
      if (writing_) {
        written_.wait(lock);
        continue;
      }
      writing_ = true;
      std::vector<Job*> group;
      group.swap(waiting_);
      lock.unlock();
      write(group);
      lock.lock();
      for (Job* j : group) j->done = true;
      writing_ = false;
      written_.notify_all();
    }
    return std::move(job.result);
  }

 private:
  struct Job {
    const FastLogBatch* batch = nullptr;
    Status result;
    bool done = false;
  };

  void write(const std::vector<Job*>& group) {
    auto lease = pool_.acquire();
    if (!lease.ok()) {
      for (Job* j : group) j->result = lease.status();
      return;
    }
    std::vector<track::Tracking::BatchToLog> batches;
    batches.reserve(group.size());
    for (Job* j : group) batches.push_back({&j->batch->run_id, &j->batch->batch});
    std::vector<Status> results;
    std::lock_guard<std::mutex> writing(pool_.write_mutex());
    Status status = (*lease)->log_batches(batches, results);
    for (size_t i = 0; i < group.size(); ++i) group[i]->result = status.ok() ? std::move(results[i]) : status;
  }

  TrackingPool& pool_;
  std::mutex mutex_;
  std::condition_variable written_;
  std::vector<Job*> waiting_;
  bool writing_ = false;
};

// runs/log-batch, the hot path of metric logging: a body in the usual shape is read without a JSON
// tree, before any lock is taken (so concurrent clients parse in parallel), and written in a group
// with the other requests waiting; any other body goes through Params and log_batch above, which
// word every error.
Handler log_batch_handler(TrackingPool& pool, std::shared_ptr<LogBatchGroups> groups) {
  return [groups = std::move(groups), slow = tracking_handler(pool, Access::kWrite, log_batch)](const Request& request,
                                                                                                Response& response) {
    auto fast = fast_mlflow_log_batch(request.body);
    if (!fast) {
      slow(request, response);
      return;
    }
    Status status = groups->log(*fast);
    if (!status.ok()) {
      response = error_response(status);
      return;
    }
    response.status = 200;
    response.body = "{}";
  };
}

Result<std::string> log_inputs(const Params& p, Tracking& t) {
  SLIPWAY_ASSIGN_OR_RETURN(auto run_id, mlflow_run_id(p));
  SLIPWAY_ASSIGN_OR_RETURN(auto datasets, p.objects("datasets"));
  std::vector<track::DatasetInput> inputs;
  for (const auto& d : datasets) {
    track::DatasetInput input;
    SLIPWAY_ASSIGN_OR_RETURN(auto dataset, d.object("dataset"));
    if (!dataset) return missing_value(d.path("dataset"));
    SLIPWAY_ASSIGN_OR_RETURN(input.dataset, dataset->required_string("name"));
    SLIPWAY_ASSIGN_OR_RETURN(input.version_id, dataset->required_string("digest"));
    SLIPWAY_ASSIGN_OR_RETURN(auto tags, d.key_values("tags"));
    for (auto& [key, value] : tags) {
      if (key == "mlflow.data.context") input.context = std::move(value);
    }
    inputs.push_back(std::move(input));
  }
  if (!inputs.empty()) SLIPWAY_RETURN_IF_ERROR(t.log_inputs(run_id, inputs));
  return std::string("{}");
}

Result<std::string> metric_history(const Params& p, Tracking& t) {
  track::MetricHistoryRequest request;
  SLIPWAY_ASSIGN_OR_RETURN(request.run_id, mlflow_run_id(p));
  SLIPWAY_ASSIGN_OR_RETURN(request.key, p.required_string("metric_key"));
  SLIPWAY_ASSIGN_OR_RETURN(auto max_results, p.optional_int64("max_results"));
  if (max_results) {
    if (*max_results < 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        "Invalid value {} for parameter 'max_results' supplied: expected a positive integer",
                        *max_results);
    }
    request.max_results = static_cast<size_t>(*max_results);
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto token, p.optional_string("page_token"));
  request.page_token = token.value_or("");
  SLIPWAY_ASSIGN_OR_RETURN(auto page, t.metric_history_page(request));
  std::string out;
  out.reserve(80 * page.points.size() + 64);
  out.append("{\"metrics\":[");
  // Every point has the requested key: escape it once (append_mlflow_metric's shape, unrolled).
  std::string head = "{\"key\":";
  append_json_string(head, request.key);
  head.append(",\"value\":");
  for (size_t i = 0; i < page.points.size(); ++i) {
    const auto& point = page.points[i];
    if (i > 0) out.push_back(',');
    out.append(head);
    append_json_double(out, point.value);
    out.append(",\"timestamp\":");
    append_json_int(out, point.timestamp_ms);
    out.append(",\"step\":");
    append_json_int(out, point.step);
    out.push_back('}');
  }
  out.push_back(']');
  if (!page.next_page_token.empty()) {
    append_json_key(out, "next_page_token");
    append_json_string(out, page.next_page_token);
  }
  out.push_back('}');
  return out;
}

// --- artifact proxy: "<experiment_id>/<run_id>/artifacts[/<path>]" under the artifact root ----

struct ArtifactRef {
  std::string run_id;
  std::string path;  // relative to the run's artifact root; empty for the root
};

Result<ArtifactRef> parse_artifact_ref(std::string_view full) {
  auto bad = [&] {
    return make_error(ErrorCode::kInvalidArgument,
                      "artifact path '{}' is not of the form <experiment_id>/<run_id>/artifacts/<path>", full);
  };
  std::string_view rest = full;
  while (rest.starts_with('/')) rest.remove_prefix(1);
  size_t first = rest.find('/');
  if (first == std::string_view::npos || !parse_int64(rest.substr(0, first))) return bad();
  rest.remove_prefix(first + 1);
  size_t second = rest.find('/');
  ArtifactRef ref;
  ref.run_id = std::string(rest.substr(0, second));
  if (ref.run_id.empty() || second == std::string_view::npos) return bad();
  rest.remove_prefix(second + 1);
  if (rest == "artifacts" || rest == "artifacts/") return ref;
  if (!rest.starts_with("artifacts/")) return bad();
  rest.remove_prefix(10);
  ref.path = std::string(rest);
  return ref;
}

std::string content_type_for(std::string_view path) {
  auto ends = [&](std::string_view ext) { return path.ends_with(ext); };
  if (ends(".json")) return "application/json";
  if (ends(".txt") || ends(".log") || ends(".md") || ends(".yaml") || ends(".yml") || ends("MLmodel")) {
    return "text/plain; charset=utf-8";
  }
  if (ends(".csv")) return "text/csv";
  if (ends(".html")) return "text/html";
  if (ends(".png")) return "image/png";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

Status put_artifact(const Request& request, Tracking& t, Response& response) {
  SLIPWAY_ASSIGN_OR_RETURN(auto ref, parse_artifact_ref(request.param("path")));
  if (ref.path.empty()) return missing_value("path");
  SLIPWAY_RETURN_IF_ERROR(t.put_artifact(ref.run_id, ref.path, request.body));
  response = ok_json();
  return {};
}

Status get_artifact(const Request& request, Tracking& t, Response& response) {
  SLIPWAY_ASSIGN_OR_RETURN(auto ref, parse_artifact_ref(request.param("path")));
  SLIPWAY_ASSIGN_OR_RETURN(auto content, t.get_artifact(ref.run_id, ref.path));
  response.status = 200;
  response.content_type = content_type_for(ref.path);
  response.body = std::move(content);
  return {};
}

Status list_artifacts(const Request& request, Tracking& t, Response& response) {
  std::string path;
  for (auto& [key, value] : parse_query(request.query)) {
    if (key == "path") path = std::move(value);
  }
  std::string out = "{\"files\":[";
  if (!path.empty()) {  // the artifact root itself has no run to list
    SLIPWAY_ASSIGN_OR_RETURN(auto ref, parse_artifact_ref(path));
    SLIPWAY_ASSIGN_OR_RETURN(auto entries, t.list_artifacts(ref.run_id, ref.path));
    bool first = true;
    for (const auto& entry : entries) {
      std::string_view name = entry.path;
      if (size_t slash = name.rfind('/'); slash != std::string_view::npos) name.remove_prefix(slash + 1);
      if (!first) out.push_back(',');
      first = false;
      out.append("{\"path\":");
      append_json_string(out, name);
      out.append(",\"is_dir\":");
      out.append(entry.is_dir ? "true" : "false");
      if (!entry.is_dir) {
        out.append(",\"file_size\":");
        append_json_int(out, entry.size);
      }
      out.push_back('}');
    }
  }
  out.append("]}");
  response = ok_json(std::move(out));
  return {};
}

// MLflow 3's client looks for logged models whenever it lists a folder of a run's artifacts;
// slipway keeps no MLflow logged models, so the answer is always an empty page.
Result<std::string> search_logged_models(const Params& p, Tracking&) {
  SLIPWAY_RETURN_IF_ERROR(p.strings("experiment_ids").status());
  return std::string("{\"models\":[]}");
}

std::string server_info() {
  return "{\"store_type\":\"SqlStore\",\"workspaces_enabled\":false,\"trace_archival_enabled\":false,"
         "\"multipart_uploads_enabled\":false,\"multipart_downloads_enabled\":false,"
         "\"presigned_upload_run_id_supported\":false,\"presigned_upload_model_id_supported\":false,"
         "\"features_enabled\":{\"gateway\":false}}";
}

}  // namespace

Status add_mlflow_routes(Router& router, TrackingPool& pool) {
  struct Route {
    Method method;
    const char* path;
    Access access;
    TrackingBody body;
  };
  const Route routes[] = {
      {Method::kPost, "/experiments/create", Access::kWrite, create_experiment},
      {Method::kGet, "/experiments/get", Access::kRead, get_experiment},
      {Method::kGet, "/experiments/get-by-name", Access::kRead, get_experiment_by_name},
      {Method::kPost, "/experiments/search", Access::kRead, search_experiments_route},
      {Method::kGet, "/experiments/search", Access::kRead, search_experiments_route},
      {Method::kPost, "/experiments/update", Access::kWrite, update_experiment},
      {Method::kPost, "/experiments/delete", Access::kWrite, delete_experiment},
      {Method::kPost, "/experiments/restore", Access::kWrite, restore_experiment},
      {Method::kPost, "/experiments/set-experiment-tag", Access::kWrite, set_experiment_tag},
      {Method::kPost, "/runs/create", Access::kWrite, create_run},
      {Method::kGet, "/runs/get", Access::kRead, get_run},
      {Method::kPost, "/runs/update", Access::kWrite, update_run},
      {Method::kPost, "/runs/delete", Access::kWrite, delete_run},
      {Method::kPost, "/runs/restore", Access::kWrite, restore_run},
      {Method::kPost, "/runs/search", Access::kRead, search_runs},
      {Method::kPost, "/runs/log-metric", Access::kWrite, log_metric},
      {Method::kPost, "/runs/log-parameter", Access::kWrite, log_param},
      {Method::kPost, "/runs/set-tag", Access::kWrite, set_tag},
      {Method::kPost, "/runs/delete-tag", Access::kWrite, delete_tag},
      {Method::kPost, "/runs/log-inputs", Access::kWrite, log_inputs},
      {Method::kGet, "/metrics/get-history", Access::kRead, metric_history},
      {Method::kPost, "/logged-models/search", Access::kRead, search_logged_models},
  };
  auto groups = std::make_shared<LogBatchGroups>(pool);
  for (const char* prefix : {"/api/2.0/mlflow", "/ajax-api/2.0/mlflow"}) {
    for (const auto& r : routes) {
      SLIPWAY_RETURN_IF_ERROR(
          router.add(r.method, std::string(prefix) + r.path, tracking_handler(pool, r.access, r.body)));
    }
    SLIPWAY_RETURN_IF_ERROR(
        router.add(Method::kPost, std::string(prefix) + "/runs/log-batch", log_batch_handler(pool, groups)));
  }
  for (const char* prefix : {"/api/2.0/mlflow-artifacts/artifacts", "/ajax-api/2.0/mlflow-artifacts/artifacts"}) {
    std::string base(prefix);
    SLIPWAY_RETURN_IF_ERROR(router.add(Method::kGet, base, tracking_raw_handler(pool, Access::kRead, list_artifacts)));
    SLIPWAY_RETURN_IF_ERROR(
        router.add(Method::kPut, base + "/{path...}", tracking_raw_handler(pool, Access::kWrite, put_artifact)));
    SLIPWAY_RETURN_IF_ERROR(
        router.add(Method::kGet, base + "/{path...}", tracking_raw_handler(pool, Access::kRead, get_artifact)));
  }
  for (const char* path : {"/api/3.0/mlflow/server-info", "/ajax-api/3.0/mlflow/server-info"}) {
    SLIPWAY_RETURN_IF_ERROR(
        router.add(Method::kGet, path, [](const Request&, Response& response) { response = ok_json(server_info()); }));
  }
  SLIPWAY_RETURN_IF_ERROR(router.add(Method::kGet, "/health", [](const Request&, Response& response) {
    response.content_type = "text/plain; charset=utf-8";
    response.body = "OK";
  }));
  SLIPWAY_RETURN_IF_ERROR(router.add(Method::kGet, "/version", [](const Request&, Response& response) {
    response.content_type = "text/plain; charset=utf-8";
    response.body = SLIPWAY_VERSION_STRING;
  }));
  return {};
}

}  // namespace slipway::server::detail
