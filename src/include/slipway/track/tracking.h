// Experiment tracking: experiments, runs, params, tags, metric series, artifacts, dataset inputs
// and output models, stored in the store's metadata database (tables added by a migration) and
// its object store (artifacts). Semantics follow MLflow's so the MLflow-compatible routes in
// src/server translate one to one: params are immutable (logging a different value is an error),
// metrics append (one point per key, step and timestamp; an identical point logged twice is kept
// once), tags overwrite. Many processes may write at once: every write is one SQLite transaction.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slipway/core/status.h"
#include "slipway/store/store.h"

namespace slipway::track {

enum class RunStatus { kRunning, kScheduled, kFinished, kFailed, kKilled };
const char* run_status_name(RunStatus status);  // "RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"
Result<RunStatus> parse_run_status(std::string_view name);

// "active" or "deleted" (soft delete, as MLflow; deleted things can be restored).
enum class Lifecycle { kActive, kDeleted };
const char* lifecycle_name(Lifecycle stage);

struct Experiment {
  int64_t id = 0;  // experiment 0 is "Default", created with the tables
  std::string name;
  std::string artifact_location;
  Lifecycle lifecycle = Lifecycle::kActive;
  int64_t creation_time_ms = 0;
  int64_t last_update_time_ms = 0;
  std::map<std::string, std::string> tags;
};

struct MetricPoint {
  std::string key;
  double value = 0;  // NaN and +-inf allowed, as MLflow
  int64_t timestamp_ms = 0;
  int64_t step = 0;
};

struct DatasetInput {
  std::string dataset;     // dataset name in the store
  std::string version_id;  // the dataset version's id (SHA-256 of its manifest)
  std::string context;     // "training", "evaluation", "join", ...
};

// Who owns a running run: set when a local process creates it, so a run whose process died can
// be found and marked failed (reap_dead_runs). Runs created through the server have no owner;
// they are marked failed after `stale_after_ms` without any write instead.
struct RunOwner {
  std::string host;
  int64_t pid = 0;
  int64_t process_start_ticks = 0;  // /proc/PID/stat field 22, guards against pid reuse
};

struct RunInfo {
  std::string run_id;  // 32 lowercase hex characters, as MLflow's
  int64_t experiment_id = 0;
  std::string run_name;
  std::string user;
  RunStatus status = RunStatus::kRunning;
  int64_t start_time_ms = 0;
  std::optional<int64_t> end_time_ms;
  Lifecycle lifecycle = Lifecycle::kActive;
  std::string artifact_uri;  // "mlflow-artifacts:/<experiment>/<run>/artifacts"
  std::optional<std::string> parent_run_id;
  std::optional<RunOwner> owner;
  int64_t last_write_ms = 0;
};

struct Run {
  RunInfo info;
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> tags;
  std::vector<MetricPoint> latest_metrics;  // per key: the point with the highest step, then time
  std::vector<DatasetInput> inputs;
  std::optional<std::string> output_model;  // model bundle object id
};

struct CreateRunRequest {
  int64_t experiment_id = 0;
  std::string run_name;  // empty: a generated "adjective-noun-NNN" name
  std::string user;
  int64_t start_time_ms = 0;  // 0: now
  std::map<std::string, std::string> tags;
  std::optional<std::string> parent_run_id;
  std::optional<RunOwner> owner;
};

struct UpdateRunRequest {
  std::optional<RunStatus> status;
  std::optional<int64_t> end_time_ms;
  std::optional<std::string> run_name;
};

// MLflow's limits for log-batch and for single values.
inline constexpr size_t kMaxBatchMetrics = 1000;
inline constexpr size_t kMaxBatchParams = 100;
inline constexpr size_t kMaxBatchTags = 100;
inline constexpr size_t kMaxBatchTotal = 1000;
inline constexpr size_t kMaxParamValueBytes = 6000;
inline constexpr size_t kMaxTagValueBytes = 8000;
inline constexpr size_t kMaxKeyBytes = 250;

struct LogBatch {
  std::vector<MetricPoint> metrics;
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<std::pair<std::string, std::string>> tags;
};

// search_runs: `filter` in MLflow's search syntax, a conjunction of comparisons joined by AND:
//   metrics.auc > 0.8 and params.model = 'xgboost' and tags."mlflow.runName" LIKE 'fast%'
//   attributes.status = 'FINISHED' (also run_name, start_time, end_time, run_id IN ('..','..'))
// Operators: = != < <= > >= for metrics and numeric attributes; = != LIKE ILIKE IN NOT IN for
// strings. `order_by` entries like "metrics.auc DESC", "attributes.start_time", "params.lr ASC".
// Default order: start_time DESC, then run_id. Pagination: `page_token` from the previous page.
struct SearchRunsRequest {
  std::vector<int64_t> experiment_ids;  // empty: every experiment
  std::string filter;
  std::vector<std::string> order_by;
  size_t max_results = 1000;  // MLflow's default; at most 50,000
  std::string page_token;
  enum class ViewType { kActiveOnly, kDeletedOnly, kAll } view = ViewType::kActiveOnly;
};
struct SearchRunsPage {
  std::vector<Run> runs;
  std::string next_page_token;  // empty on the last page
};

struct ArtifactEntry {
  std::string path;  // relative to the run's artifact root, '/'-separated
  bool is_dir = false;
  int64_t size = 0;
};

struct MetricHistoryRequest {
  std::string run_id;
  std::string key;
  size_t max_results = 0;  // 0: all
  std::string page_token;
};

struct MetricHistoryPage {
  std::vector<MetricPoint> points;
  std::string next_page_token;  // empty on the last page
};

// Ownerless RUNNING runs with no write for this long are marked FAILED by the CLI's reaping.
inline constexpr int64_t kDefaultStaleAfterMs = 24LL * 60 * 60 * 1000;

class Tracking {
 public:
  // Uses the store's database and objects; the tables exist after Store::open (migration).
  explicit Tracking(store::Store& store);

  // Experiments. Names are unique among active and deleted experiments (as MLflow).
  Result<int64_t> create_experiment(const std::string& name, const std::map<std::string, std::string>& tags = {});
  Result<Experiment> get_experiment(int64_t id);
  Result<Experiment> get_experiment_by_name(const std::string& name);  // kNotFound if none
  Result<std::vector<Experiment>> list_experiments(SearchRunsRequest::ViewType view, const std::string& name_like = "");
  Status set_experiment_tag(int64_t id, const std::string& key, const std::string& value);
  Status rename_experiment(int64_t id, const std::string& name);
  Status delete_experiment(int64_t id);  // soft: lifecycle = deleted, its runs too
  Status restore_experiment(int64_t id);

  // Runs.
  Result<RunInfo> create_run(const CreateRunRequest& request);
  Result<Run> get_run(const std::string& run_id);
  Result<RunInfo> update_run(const std::string& run_id, const UpdateRunRequest& request);
  Status delete_run(const std::string& run_id);  // soft
  Status restore_run(const std::string& run_id);
  Status purge_run(const std::string& run_id);  // hard delete: rows gone (artifacts' objects stay for fsck/gc)
  // A full run id from a unique prefix of at least 6 hex characters (the CLI's abbreviated ids):
  // kInvalidArgument when too short or ambiguous (naming the candidates), kNotFound when none.
  Result<std::string> resolve_run_prefix(const std::string& prefix);

  // Logging. Each call is one transaction, all or nothing. Errors (kInvalidArgument naming the
  // key/field): a param logged again with a different value, a key over kMaxKeyBytes or with
  // characters outside [A-Za-z0-9_-. /], a batch over the limits, a run that is deleted or done
  // (FINISHED/FAILED/KILLED runs still accept tags, as MLflow, and inputs, the output model and
  // artifacts, which a trainer may record after ending the run).
  Status log_batch(const std::string& run_id, const LogBatch& batch);
  // Several batches (of one or several runs) in one transaction, each all or nothing on its own:
  // results[i] is what log_batch(run_ids[i], batches[i]) would answer, and a failed batch writes
  // nothing while the others are kept. The server groups concurrent log-batch requests this way
  // so they share one commit. Returns the transaction's own failure (then nothing is written).
  struct BatchToLog {
    const std::string* run_id;
    const LogBatch* batch;
  };
  Status log_batches(const std::vector<BatchToLog>& batches, std::vector<Status>& results);
  Status log_metric(const std::string& run_id, const MetricPoint& point);
  Status log_param(const std::string& run_id, const std::string& key, const std::string& value);
  Status set_tag(const std::string& run_id, const std::string& key, const std::string& value);
  Status delete_tag(const std::string& run_id, const std::string& key);
  Status log_inputs(const std::string& run_id, const std::vector<DatasetInput>& inputs);
  Status set_output_model(const std::string& run_id, const std::string& bundle_object_id);

  // Metric history of one key, ordered by step then timestamp.
  Result<std::vector<MetricPoint>> metric_history(const std::string& run_id, const std::string& key);
  // The same, a page at a time (max_results 0: all).
  Result<MetricHistoryPage> metric_history_page(const MetricHistoryRequest& request);

  Result<SearchRunsPage> search_runs(const SearchRunsRequest& request);

  // Artifacts: files stored in the object store, indexed per run by relative path. `put` replaces
  // an existing path. Paths are relative, '/'-separated, with no "..", no leading '/', no empty part.
  Status put_artifact(const std::string& run_id, const std::string& path, std::string_view content);
  Status put_artifact_file(const std::string& run_id, const std::string& path, const std::filesystem::path& file);
  Result<std::string> get_artifact(const std::string& run_id, const std::string& path);
  Result<std::vector<ArtifactEntry>> list_artifacts(const std::string& run_id, const std::string& dir = "");

  // Marks RUNNING runs FAILED (end time = now, tag "slipway.failure" saying why) when their owner
  // process on this host is gone, or when an ownerless run has had no write for `stale_after_ms`.
  // Returns how many were marked. Called by the CLI before listing and by the server periodically.
  Result<size_t> reap_dead_runs(int64_t now_ms, int64_t stale_after_ms);

  // The owner record for the calling process.
  static RunOwner current_process();
  // The owner record for another process on this host (e.g. the shell script that runs
  // `slipway runs create --owner-pid $$`); kNotFound when there is no such process.
  static Result<RunOwner> process_owner(int64_t pid);

 private:
  store::Store& store_;
};

}  // namespace slipway::track
