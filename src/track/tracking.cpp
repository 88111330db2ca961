// Experiments and runs: creation, reading, updates and lifecycle (soft delete / restore / purge).
#include <sys/random.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "slipway/track/tracking.h"
#include "detail/tracking_internal.h"

namespace slipway::track {

using store::Statement;

const char* run_status_name(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning: return "RUNNING";
    case RunStatus::kScheduled: return "SCHEDULED";
    case RunStatus::kFinished: return "FINISHED";
    case RunStatus::kFailed: return "FAILED";
    case RunStatus::kKilled: return "KILLED";
  }
  return "RUNNING";
}

Result<RunStatus> parse_run_status(std::string_view name) {
  for (RunStatus s : {RunStatus::kRunning, RunStatus::kScheduled, RunStatus::kFinished, RunStatus::kFailed,
                      RunStatus::kKilled}) {
    if (name == run_status_name(s)) return s;
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown run status '{}' (expected RUNNING, SCHEDULED, FINISHED, FAILED or KILLED)", name);
}

const char* lifecycle_name(Lifecycle stage) { return stage == Lifecycle::kDeleted ? "deleted" : "active"; }

namespace detail {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void bind_all(Statement& stmt, const std::vector<BoundValue>& values, int first_index) {
  int i = first_index;
  for (const auto& v : values) {
    std::visit([&](const auto& x) { stmt.bind(i, x); }, v);
    ++i;
  }
}

RunInfo read_run_info(const Statement& s, int c) {
  RunInfo info;
  info.run_id = s.column_text(c + 0);
  info.experiment_id = s.column_int64(c + 1);
  info.run_name = s.column_text(c + 2);
  info.user = s.column_text(c + 3);
  auto status = parse_run_status(s.column_text(c + 4));
  info.status = status.ok() ? *status : RunStatus::kRunning;
  info.start_time_ms = s.column_int64(c + 5);
  if (!s.column_is_null(c + 6)) info.end_time_ms = s.column_int64(c + 6);
  info.lifecycle = s.column_text(c + 7) == "deleted" ? Lifecycle::kDeleted : Lifecycle::kActive;
  info.artifact_uri = s.column_text(c + 8);
  info.parent_run_id = s.column_optional_text(c + 9);
  if (!s.column_is_null(c + 10)) {
    info.owner = RunOwner{s.column_text(c + 10), s.column_int64(c + 11), s.column_int64(c + 12)};
  }
  info.last_write_ms = s.column_int64(c + 13);
  return info;
}

Result<RunInfo> load_run_info(store::Database& db, const std::string& run_id) {
  static const std::string kSql = fmt::format("SELECT {} FROM runs r WHERE r.run_id = ?", kRunColumns);
  SLIPWAY_ASSIGN_OR_RETURN(Statement * stmt, db.cached(kSql));
  stmt->bind(1, run_id);
  auto row = stmt->step();
  if (!row.ok() || !*row) {
    stmt->reset();
    if (!row.ok()) return row.status();
    return make_error(ErrorCode::kNotFound, "run '{}' not found", run_id);
  }
  RunInfo info = read_run_info(*stmt);
  stmt->reset();  // a cached SELECT left on a row would pin its read snapshot
  return info;
}

Result<RunInfo> writable_run(store::Database& db, const std::string& run_id) {
  SLIPWAY_ASSIGN_OR_RETURN(RunInfo info, load_run_info(db, run_id));
  if (info.lifecycle == Lifecycle::kDeleted) {
    return make_error(ErrorCode::kInvalidArgument, "run '{}' is deleted; restore it before writing to it", run_id);
  }
  // As MLflow: a FINISHED / FAILED / KILLED run still accepts metrics, params and tags (clients log
  // evaluation results after end_run); only a deleted run is refused.
  return info;
}

Status touch_run(store::Database& db, const std::string& run_id, int64_t now) {
  SLIPWAY_ASSIGN_OR_RETURN(Statement * stmt, db.cached("UPDATE runs SET last_write = max(last_write, ?) WHERE run_id = ?"));
  stmt->bind(1, now).bind(2, run_id);
  return stmt->run();
}

Status validate_key(std::string_view what, std::string_view key) {
  if (key.empty()) return make_error(ErrorCode::kInvalidArgument, "{} key must not be empty", what);
  if (key.size() > kMaxKeyBytes) {
    return make_error(ErrorCode::kInvalidArgument, "{} key '{}...' is {} bytes; the limit is {}", what,
                      key.substr(0, 32), key.size(), kMaxKeyBytes);
  }
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.' || c == ' ' || c == '/';
    if (!ok) {
      return make_error(ErrorCode::kInvalidArgument,
                        "invalid {} key '{}': keys may contain only letters, digits, '_', '-', '.', ' ' and '/'", what,
                        key);
    }
  }
  // Keys may become file names (MLflow's file store): they must not resolve to another name.
  if (key.front() == '/') {
    return make_error(ErrorCode::kInvalidArgument, "invalid {} key '{}': keys must not start with '/'", what, key);
  }
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    std::string_view part = key.substr(start, end - start);
    if (part == "." || part == ".." || (part.empty() && end < key.size())) {
      return make_error(ErrorCode::kInvalidArgument,
                        "invalid {} key '{}': keys must not contain empty, '.' or '..' path parts", what, key);
    }
    start = end + 1;
  }
  return {};
}

}  // namespace detail

namespace {

using detail::now_ms;

std::string random_hex(size_t bytes) {
  std::array<unsigned char, 64> buf{};
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::getrandom(buf.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    got += static_cast<size_t>(n);
  }
  if (got < bytes) {
    // getrandom(2) never fails for small requests on Linux >= 3.17; fall back to the clock and pid.
    uint64_t x = static_cast<uint64_t>(now_ms()) * 6364136223846793005ULL ^ static_cast<uint64_t>(::getpid());
    for (size_t i = got; i < bytes; ++i) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      buf[i] = static_cast<unsigned char>(x >> 56);
    }
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (size_t i = 0; i < bytes; ++i) {
    out += kHex[buf[i] >> 4];
    out += kHex[buf[i] & 15];
  }
  return out;
}

std::string generated_run_name() {
  static const char* kAdjectives[] = {"amber", "bold",  "brisk", "calm",  "clever", "crisp", "dapper", "eager",
                                      "fleet", "gentle", "glad", "keen",  "lively", "lucid", "merry",  "nimble",
                                      "placid", "quick", "quiet", "rapid", "serene", "sharp", "steady", "sunny",
                                      "swift", "tidy",  "vivid", "wise"};
  static const char* kNouns[] = {"albatross", "badger", "bison",  "crane", "dolphin", "falcon", "ferret", "gull",
                                 "heron",     "ibis",   "lynx",   "marten", "newt",   "otter",  "owl",    "panda",
                                 "pelican",   "puffin", "raven",  "seal",  "shrike",  "stoat",  "swan",   "tern",
                                 "vole",      "wren"};
  std::string r = random_hex(4);
  uint32_t x = static_cast<uint32_t>(std::stoul(r, nullptr, 16));
  constexpr uint32_t kA = sizeof(kAdjectives) / sizeof(kAdjectives[0]);
  constexpr uint32_t kN = sizeof(kNouns) / sizeof(kNouns[0]);
  return fmt::format("{}-{}-{:03}", kAdjectives[x % kA], kNouns[(x / kA) % kN], (x / kA / kN) % 1000);
}

Status check_tag_value(std::string_view key, std::string_view value) {
  if (value.size() > kMaxTagValueBytes) {
    return make_error(ErrorCode::kInvalidArgument, "value of tag '{}' is {} bytes; the limit is {}", key, value.size(),
                      kMaxTagValueBytes);
  }
  return {};
}

Status check_experiment_name(const std::string& name) {
  if (name.find_first_not_of(" \t\r\n") == std::string::npos) {
    return make_error(ErrorCode::kInvalidArgument, "experiment name must not be empty");
  }
  if (name.size() > 500) {
    return make_error(ErrorCode::kInvalidArgument, "experiment name is {} bytes; the limit is 500", name.size());
  }
  return {};
}

Result<Experiment> read_experiment(store::Database& db, std::string_view where, const std::vector<detail::BoundValue>& args,
                                   const std::string& missing) {
  SLIPWAY_ASSIGN_OR_RETURN(
      auto stmt,
      db.prepare(fmt::format("SELECT experiment_id, name, artifact_location, lifecycle, creation_time, last_update_time "
                             "FROM experiments WHERE {}",
                             where)));
  detail::bind_all(stmt, args);
  SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) return Status(ErrorCode::kNotFound, missing);
  Experiment e;
  e.id = stmt.column_int64(0);
  e.name = stmt.column_text(1);
  e.artifact_location = stmt.column_text(2);
  e.lifecycle = stmt.column_text(3) == "deleted" ? Lifecycle::kDeleted : Lifecycle::kActive;
  e.creation_time_ms = stmt.column_int64(4);
  e.last_update_time_ms = stmt.column_int64(5);
  SLIPWAY_ASSIGN_OR_RETURN(auto tags, db.prepare("SELECT key, value FROM experiment_tags WHERE experiment_id = ?"));
  tags.bind(1, e.id);
  while (true) {
    SLIPWAY_ASSIGN_OR_RETURN(bool more, tags.step());
    if (!more) break;
    e.tags[tags.column_text(0)] = tags.column_text(1);
  }
  return e;
}

Result<Experiment> active_experiment(store::Database& db, int64_t id) {
  SLIPWAY_ASSIGN_OR_RETURN(Experiment e, read_experiment(db, "experiment_id = ?", {id},
                                                         fmt::format("experiment {} not found", id)));
  if (e.lifecycle == Lifecycle::kDeleted) {
    return make_error(ErrorCode::kInvalidArgument, "experiment '{}' (id {}) is deleted; restore it first", e.name, id);
  }
  return e;
}

Status upsert_run_tag(store::Database& db, const std::string& run_id, const std::string& key, const std::string& value) {
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?) "
                                                 "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value"));
  stmt.bind(1, run_id).bind(2, key).bind(3, value);
  return stmt.run();
}

}  // namespace

Tracking::Tracking(store::Store& store) : store_(store) {}

// ---- experiments ----

Result<int64_t> Tracking::create_experiment(const std::string& name, const std::map<std::string, std::string>& tags) {
  SLIPWAY_RETURN_IF_ERROR(check_experiment_name(name));
  for (const auto& [k, v] : tags) {
    SLIPWAY_RETURN_IF_ERROR(detail::validate_key("tag", k));
    SLIPWAY_RETURN_IF_ERROR(check_tag_value(k, v));
  }
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(auto exists, db.prepare("SELECT lifecycle FROM experiments WHERE name = ?"));
  exists.bind(1, name);
  SLIPWAY_ASSIGN_OR_RETURN(bool found, exists.step());
  if (found) {
    return make_error(ErrorCode::kAlreadyExists, "experiment '{}' already exists{}", name,
                      exists.column_text(0) == "deleted" ? " (deleted; restore it or choose another name)" : "");
  }
  const int64_t now = now_ms();
  SLIPWAY_ASSIGN_OR_RETURN(
      auto insert, db.prepare("INSERT INTO experiments (name, artifact_location, lifecycle, creation_time, last_update_time) "
                              "VALUES (?, '', 'active', ?, ?) RETURNING experiment_id"));
  insert.bind(1, name).bind(2, now).bind(3, now);
  SLIPWAY_ASSIGN_OR_RETURN(bool row, insert.step());
  if (!row) return make_error(ErrorCode::kInternal, "experiment insert returned no id");
  const int64_t id = insert.column_int64(0);
  insert.reset();
  SLIPWAY_ASSIGN_OR_RETURN(auto loc, db.prepare("UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?"));
  loc.bind(1, fmt::format("mlflow-artifacts:/{}", id)).bind(2, id);
  SLIPWAY_RETURN_IF_ERROR(loc.run());
  SLIPWAY_ASSIGN_OR_RETURN(auto tag, db.prepare("INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)"));
  for (const auto& [k, v] : tags) {
    tag.bind(1, id).bind(2, k).bind(3, v);
    SLIPWAY_RETURN_IF_ERROR(tag.run());
  }
  SLIPWAY_RETURN_IF_ERROR(txn.commit());
  return id;
}

Result<Experiment> Tracking::get_experiment(int64_t id) {
  return read_experiment(store_.db(), "experiment_id = ?", {id}, fmt::format("experiment {} not found", id));
}

Result<Experiment> Tracking::get_experiment_by_name(const std::string& name) {
  return read_experiment(store_.db(), "name = ?", {name}, fmt::format("experiment '{}' not found", name));
}

Result<std::vector<Experiment>> Tracking::list_experiments(SearchRunsRequest::ViewType view,
                                                           const std::string& name_like) {
  auto& db = store_.db();
  std::string where = view == SearchRunsRequest::ViewType::kActiveOnly    ? "lifecycle = 'active'"
                      : view == SearchRunsRequest::ViewType::kDeletedOnly ? "lifecycle = 'deleted'"
                                                                           : "1";
  if (!name_like.empty()) where += " AND name LIKE ?";
  SLIPWAY_ASSIGN_OR_RETURN(
      auto stmt, db.prepare(fmt::format("SELECT experiment_id, name, artifact_location, lifecycle, creation_time, "
                                        "last_update_time FROM experiments WHERE {} ORDER BY experiment_id",
                                        where)));
  if (!name_like.empty()) stmt.bind(1, name_like);
  std::vector<Experiment> out;
  std::map<int64_t, size_t> index;
  while (true) {
    SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    Experiment e;
    e.id = stmt.column_int64(0);
    e.name = stmt.column_text(1);
    e.artifact_location = stmt.column_text(2);
    e.lifecycle = stmt.column_text(3) == "deleted" ? Lifecycle::kDeleted : Lifecycle::kActive;
    e.creation_time_ms = stmt.column_int64(4);
    e.last_update_time_ms = stmt.column_int64(5);
    index[e.id] = out.size();
    out.push_back(std::move(e));
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto tags, db.prepare("SELECT experiment_id, key, value FROM experiment_tags"));
  while (true) {
    SLIPWAY_ASSIGN_OR_RETURN(bool row, tags.step());
    if (!row) break;
    auto it = index.find(tags.column_int64(0));
    if (it != index.end()) out[it->second].tags[tags.column_text(1)] = tags.column_text(2);
  }
  return out;
}

Status Tracking::set_experiment_tag(int64_t id, const std::string& key, const std::string& value) {
  SLIPWAY_RETURN_IF_ERROR(detail::validate_key("tag", key));
  SLIPWAY_RETURN_IF_ERROR(check_tag_value(key, value));
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_RETURN_IF_ERROR(active_experiment(db, id).status());
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) "
                                                 "ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value"));
  stmt.bind(1, id).bind(2, key).bind(3, value);
  SLIPWAY_RETURN_IF_ERROR(stmt.run());
  SLIPWAY_ASSIGN_OR_RETURN(auto upd, db.prepare("UPDATE experiments SET last_update_time = ? WHERE experiment_id = ?"));
  upd.bind(1, now_ms()).bind(2, id);
  SLIPWAY_RETURN_IF_ERROR(upd.run());
  return txn.commit();
}

Status Tracking::rename_experiment(int64_t id, const std::string& name) {
  SLIPWAY_RETURN_IF_ERROR(check_experiment_name(name));
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(Experiment e, active_experiment(db, id));
  if (e.name == name) return txn.commit();
  SLIPWAY_ASSIGN_OR_RETURN(auto exists, db.prepare("SELECT 1 FROM experiments WHERE name = ?"));
  exists.bind(1, name);
  SLIPWAY_ASSIGN_OR_RETURN(bool found, exists.step());
  if (found) return make_error(ErrorCode::kAlreadyExists, "experiment '{}' already exists", name);
  SLIPWAY_ASSIGN_OR_RETURN(auto upd,
                           db.prepare("UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?"));
  upd.bind(1, name).bind(2, now_ms()).bind(3, id);
  SLIPWAY_RETURN_IF_ERROR(upd.run());
  return txn.commit();
}

namespace {
Status set_experiment_lifecycle(store::Database& db, int64_t id, Lifecycle to) {
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(Experiment e, read_experiment(db, "experiment_id = ?", {id},
                                                         fmt::format("experiment {} not found", id)));
  if (to == Lifecycle::kDeleted && id == 0) {
    return make_error(ErrorCode::kInvalidArgument, "the Default experiment (id 0) cannot be deleted");
  }
  if (e.lifecycle == to) return txn.commit();
  const char* name = lifecycle_name(to);
  SLIPWAY_ASSIGN_OR_RETURN(auto upd,
                           db.prepare("UPDATE experiments SET lifecycle = ?, last_update_time = ? WHERE experiment_id = ?"));
  upd.bind(1, name).bind(2, now_ms()).bind(3, id);
  SLIPWAY_RETURN_IF_ERROR(upd.run());
  // As MLflow: deleting an experiment deletes its runs; restoring it restores them.
  SLIPWAY_ASSIGN_OR_RETURN(auto runs, db.prepare("UPDATE runs SET lifecycle = ? WHERE experiment_id = ?"));
  runs.bind(1, name).bind(2, id);
  SLIPWAY_RETURN_IF_ERROR(runs.run());
  return txn.commit();
}
}  // namespace

Status Tracking::delete_experiment(int64_t id) { return set_experiment_lifecycle(store_.db(), id, Lifecycle::kDeleted); }
Status Tracking::restore_experiment(int64_t id) { return set_experiment_lifecycle(store_.db(), id, Lifecycle::kActive); }

// ---- runs ----

Result<RunInfo> Tracking::create_run(const CreateRunRequest& request) {
  std::map<std::string, std::string> tags = request.tags;
  for (const auto& [k, v] : tags) {
    SLIPWAY_RETURN_IF_ERROR(detail::validate_key("tag", k));
    SLIPWAY_RETURN_IF_ERROR(check_tag_value(k, v));
  }
  // MLflow keeps the run name, user and parent in tags too; either side may be given.
  std::string name = request.run_name;
  if (name.empty()) {
    auto it = tags.find("mlflow.runName");
    name = it != tags.end() && !it->second.empty() ? it->second : generated_run_name();
  }
  if (name.size() > kMaxTagValueBytes) {
    return make_error(ErrorCode::kInvalidArgument, "run name is {} bytes; the limit is {}", name.size(), kMaxTagValueBytes);
  }
  tags["mlflow.runName"] = name;
  std::string user = request.user;
  if (user.empty()) {
    if (auto it = tags.find("mlflow.user"); it != tags.end()) user = it->second;
  }
  std::optional<std::string> parent = request.parent_run_id;
  if (!parent) {
    if (auto it = tags.find("mlflow.parentRunId"); it != tags.end() && !it->second.empty()) parent = it->second;
  }
  if (parent) tags["mlflow.parentRunId"] = *parent;

  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_RETURN_IF_ERROR(active_experiment(db, request.experiment_id).status());
  if (parent) {
    auto p = detail::load_run_info(db, *parent);
    if (!p.ok()) return make_error(ErrorCode::kNotFound, "parent run '{}' not found", *parent);
  }
  const int64_t now = now_ms();
  RunInfo info;
  info.run_id = random_hex(16);
  info.experiment_id = request.experiment_id;
  info.run_name = name;
  info.user = user;
  info.status = RunStatus::kRunning;
  info.start_time_ms = request.start_time_ms != 0 ? request.start_time_ms : now;
  info.artifact_uri = fmt::format("mlflow-artifacts:/{}/{}/artifacts", request.experiment_id, info.run_id);
  info.parent_run_id = parent;
  info.owner = request.owner;
  info.last_write_ms = now;
  SLIPWAY_ASSIGN_OR_RETURN(
      auto insert,
      db.prepare("INSERT INTO runs (run_id, experiment_id, name, user, status, start_time, end_time, lifecycle, "
                 "artifact_uri, parent_run_id, owner_host, owner_pid, owner_start_ticks, last_write) "
                 "VALUES (?, ?, ?, ?, 'RUNNING', ?, NULL, 'active', ?, ?, ?, ?, ?, ?)"));
  insert.bind(1, info.run_id).bind(2, info.experiment_id).bind(3, name).bind(4, user).bind(5, info.start_time_ms);
  insert.bind(6, info.artifact_uri).bind(7, parent);
  if (info.owner) {
    insert.bind(8, info.owner->host).bind(9, info.owner->pid).bind(10, info.owner->process_start_ticks);
  } else {
    insert.bind(8, nullptr).bind(9, nullptr).bind(10, nullptr);
  }
  insert.bind(11, now);
  SLIPWAY_RETURN_IF_ERROR(insert.run());
  SLIPWAY_ASSIGN_OR_RETURN(auto tag, db.prepare("INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)"));
  for (const auto& [k, v] : tags) {
    tag.bind(1, info.run_id).bind(2, k).bind(3, v);
    SLIPWAY_RETURN_IF_ERROR(tag.run());
  }
  SLIPWAY_RETURN_IF_ERROR(txn.commit());
  return info;
}

Result<Run> Tracking::get_run(const std::string& run_id) {
  auto& db = store_.db();
  detail::ReadSnapshot snapshot(db);
  std::vector<Run> runs(1);
  SLIPWAY_ASSIGN_OR_RETURN(runs[0].info, detail::load_run_info(db, run_id));
  SLIPWAY_RETURN_IF_ERROR(detail::load_run_details(db, runs));
  return std::move(runs[0]);
}

Result<RunInfo> Tracking::update_run(const std::string& run_id, const UpdateRunRequest& request) {
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(RunInfo info, detail::writable_run(db, run_id));
  const int64_t now = now_ms();
  if (request.status) {
    info.status = *request.status;
    const bool done = *request.status == RunStatus::kFinished || *request.status == RunStatus::kFailed ||
                      *request.status == RunStatus::kKilled;
    if (done && !request.end_time_ms) info.end_time_ms = now;
  }
  if (request.end_time_ms) info.end_time_ms = *request.end_time_ms;
  if (request.run_name && !request.run_name->empty()) {
    if (request.run_name->size() > kMaxTagValueBytes) {
      return make_error(ErrorCode::kInvalidArgument, "run name is {} bytes; the limit is {}", request.run_name->size(),
                        kMaxTagValueBytes);
    }
    info.run_name = *request.run_name;
    SLIPWAY_RETURN_IF_ERROR(upsert_run_tag(db, run_id, "mlflow.runName", info.run_name));
  }
  SLIPWAY_ASSIGN_OR_RETURN(
      auto upd, db.prepare("UPDATE runs SET status = ?, end_time = ?, name = ?, last_write = max(last_write, ?) "
                           "WHERE run_id = ?"));
  upd.bind(1, run_status_name(info.status));
  if (info.end_time_ms) {
    upd.bind(2, *info.end_time_ms);
  } else {
    upd.bind(2, nullptr);
  }
  upd.bind(3, info.run_name).bind(4, now).bind(5, run_id);
  SLIPWAY_RETURN_IF_ERROR(upd.run());
  info.last_write_ms = std::max(info.last_write_ms, now);
  SLIPWAY_RETURN_IF_ERROR(txn.commit());
  return info;
}

namespace {
Status set_run_lifecycle(store::Database& db, const std::string& run_id, Lifecycle to) {
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_RETURN_IF_ERROR(detail::load_run_info(db, run_id).status());
  SLIPWAY_ASSIGN_OR_RETURN(auto upd, db.prepare("UPDATE runs SET lifecycle = ? WHERE run_id = ?"));
  upd.bind(1, lifecycle_name(to)).bind(2, run_id);
  SLIPWAY_RETURN_IF_ERROR(upd.run());
  return txn.commit();
}
}  // namespace

Status Tracking::delete_run(const std::string& run_id) { return set_run_lifecycle(store_.db(), run_id, Lifecycle::kDeleted); }
Status Tracking::restore_run(const std::string& run_id) { return set_run_lifecycle(store_.db(), run_id, Lifecycle::kActive); }

Status Tracking::purge_run(const std::string& run_id) {
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_RETURN_IF_ERROR(detail::load_run_info(db, run_id).status());
  SLIPWAY_ASSIGN_OR_RETURN(auto del, db.prepare("DELETE FROM runs WHERE run_id = ?"));
  del.bind(1, run_id);
  SLIPWAY_RETURN_IF_ERROR(del.run());
  return txn.commit();
}

Result<std::string> Tracking::resolve_run_prefix(const std::string& prefix) {
  for (char c : prefix) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return make_error(ErrorCode::kInvalidArgument, "'{}' is not a run id: run ids are lowercase hex", prefix);
    }
  }
  if (prefix.size() < 6) {
    return make_error(ErrorCode::kInvalidArgument, "run id prefix '{}' is too short; give at least 6 characters",
                      prefix);
  }
  if (prefix.size() > 32) return make_error(ErrorCode::kNotFound, "run '{}' not found", prefix);
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt,
                           store_.db().prepare("SELECT run_id FROM runs WHERE run_id >= ? AND run_id < ? ORDER BY run_id LIMIT 3"));
  // Hex ids sort by byte value; every id with the prefix lies in [prefix, prefix + 'g').
  stmt.bind(1, prefix).bind(2, prefix + "g");
  std::vector<std::string> found;
  while (true) {
    SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    found.push_back(stmt.column_text(0));
  }
  if (found.empty()) {
    if (prefix.size() == 32) return make_error(ErrorCode::kNotFound, "run '{}' not found", prefix);
    return make_error(ErrorCode::kNotFound, "no run id starts with '{}'", prefix);
  }
  if (found.size() > 1) {
    std::string list;
    for (size_t i = 0; i < found.size() && i < 2; ++i) list += (i ? ", " : "") + found[i];
    return make_error(ErrorCode::kInvalidArgument, "run id prefix '{}' is ambiguous: it matches {}{}", prefix, list,
                      found.size() > 2 ? " and more" : "");
  }
  return found[0];
}

RunOwner Tracking::current_process() {
  RunOwner owner;
  owner.host = detail::host_name();
  owner.pid = ::getpid();
  if (auto stat = detail::read_process_stat(owner.pid)) owner.process_start_ticks = stat->start_ticks;
  return owner;
}

}  // namespace slipway::track
