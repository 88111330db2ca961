// Helpers shared by the tracking sources (not part of the contract in slipway/track/tracking.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "slipway/core/status.h"
#include "slipway/store/database.h"
#include "slipway/track/tracking.h"

namespace slipway::track::detail {

int64_t now_ms();

// A value bound to a statement parameter (the search query builder collects these).
using BoundValue = std::variant<int64_t, double, std::string>;
void bind_all(store::Statement& stmt, const std::vector<BoundValue>& values, int first_index = 1);

// The columns of `runs` in the order read_run_info expects.
inline constexpr std::string_view kRunColumns =
    "r.run_id, r.experiment_id, r.name, r.user, r.status, r.start_time, r.end_time, r.lifecycle, r.artifact_uri, "
    "r.parent_run_id, r.owner_host, r.owner_pid, r.owner_start_ticks, r.last_write";
inline constexpr int kRunColumnCount = 14;
RunInfo read_run_info(const store::Statement& stmt, int first_column = 0);

// Loads params, tags, latest metrics, inputs and output model of `runs` (filled in place).
Status load_run_details(store::Database& db, std::vector<Run>& runs);

Result<RunInfo> load_run_info(store::Database& db, const std::string& run_id);  // kNotFound
// What may be written to a run: kAny (tags, inputs, outputs, artifacts: any run not deleted),
// kRunning (metrics, params: also not FINISHED/FAILED/KILLED).
// The run, unless it is deleted (kInvalidArgument). Any status accepts writes, as MLflow.
Result<RunInfo> writable_run(store::Database& db, const std::string& run_id);
Status touch_run(store::Database& db, const std::string& run_id, int64_t now);

// A read snapshot (deferred transaction) so several SELECTs see one state of the database; ends
// when it goes out of scope.
class ReadSnapshot {
 public:
  explicit ReadSnapshot(store::Database& db) : db_(db) { open_ = db_.exec("BEGIN").ok(); }
  ~ReadSnapshot() {
    if (open_) (void)db_.exec("COMMIT");
  }
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

 private:
  store::Database& db_;
  bool open_ = false;
};

// The owner check of reap_dead_runs: /proc/PID/stat's state (field 3) and start time (field 22).
struct ProcessStat {
  char state = '?';
  int64_t start_ticks = 0;
};
std::optional<ProcessStat> read_process_stat(int64_t pid);  // nullopt: no such process
std::string host_name();

// Key rules of MLflow: non-empty, at most kMaxKeyBytes, characters [A-Za-z0-9_-. /], and not a
// path that would resolve to another name ("a/../b", "./a", leading '/').
Status validate_key(std::string_view what, std::string_view key);

// Opaque page tokens (search.cpp).
std::string base64_encode(std::string_view data);
Result<std::string> base64_decode(std::string_view text);

}  // namespace slipway::track::detail
