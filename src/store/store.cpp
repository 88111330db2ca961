#include "slipway/store/store.h"

#include <sqlite3.h>

#include <cstdlib>
#include <string_view>
#include <vector>

#include "slipway/core/fs.h"

namespace slipway::store {

namespace {

// Schema migrations, applied in order inside one transaction on open. Never edit a released
// migration: add a new one. PRAGMA user_version holds the number applied.
const std::vector<std::string_view>& migrations() {
  static const std::vector<std::string_view> kMigrations = {
      // 1: datasets, versions, refs.
      R"sql(
      CREATE TABLE datasets (
        name TEXT PRIMARY KEY,
        created_at TEXT NOT NULL
      );
      CREATE TABLE dataset_versions (
        id TEXT PRIMARY KEY,                 -- SHA-256 of the manifest, which is stored as that object
        dataset TEXT NOT NULL REFERENCES datasets(name),
        parent TEXT REFERENCES dataset_versions(id),
        created_at TEXT NOT NULL,
        author TEXT NOT NULL,
        message TEXT NOT NULL,
        source TEXT NOT NULL,
        rows INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        files INTEGER NOT NULL,
        seq INTEGER NOT NULL                 -- order of creation within the store
      );
      CREATE INDEX dataset_versions_by_dataset ON dataset_versions(dataset, seq);
      CREATE TABLE dataset_refs (
        dataset TEXT NOT NULL REFERENCES datasets(name),
        name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('branch', 'tag')),
        version_id TEXT NOT NULL REFERENCES dataset_versions(id),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (dataset, name)
      );
      )sql",
      // 2: experiment tracking (src/track, docs/tracking.md). Times are Unix milliseconds.
      // metrics keeps every point (MLflow's primary key, so an identical point is stored once);
      // latest_metrics keeps, per run and key, the point with the highest (step, timestamp, value),
      // maintained on insert so listing and searching never read the history. A NaN value is
      // stored as 0 with is_nan = 1 (SQLite has no NaN).
      R"sql(
      CREATE TABLE experiments (
        experiment_id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        artifact_location TEXT NOT NULL,
        lifecycle TEXT NOT NULL DEFAULT 'active' CHECK (lifecycle IN ('active', 'deleted')),
        creation_time INTEGER NOT NULL,
        last_update_time INTEGER NOT NULL
      );
      CREATE TABLE experiment_tags (
        experiment_id INTEGER NOT NULL REFERENCES experiments(experiment_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (experiment_id, key)
      ) WITHOUT ROWID;
      CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        experiment_id INTEGER NOT NULL REFERENCES experiments(experiment_id),
        name TEXT NOT NULL,
        user TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED')),
        start_time INTEGER NOT NULL,
        end_time INTEGER,
        lifecycle TEXT NOT NULL DEFAULT 'active' CHECK (lifecycle IN ('active', 'deleted')),
        artifact_uri TEXT NOT NULL,
        parent_run_id TEXT,
        owner_host TEXT,
        owner_pid INTEGER,
        owner_start_ticks INTEGER,
        last_write INTEGER NOT NULL
      );
      CREATE INDEX runs_by_experiment ON runs(experiment_id, start_time DESC, run_id);
      CREATE INDEX runs_running ON runs(status) WHERE status = 'RUNNING';
      CREATE TABLE params (
        run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
      ) WITHOUT ROWID;
      CREATE TABLE tags (
        run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
      ) WITHOUT ROWID;
      CREATE TABLE metrics (
        run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        step INTEGER NOT NULL,
        timestamp INTEGER NOT NULL,
        value REAL NOT NULL,
        is_nan INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, key, step, timestamp, value, is_nan)
      ) WITHOUT ROWID;
      CREATE TABLE latest_metrics (
        run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value REAL NOT NULL,
        timestamp INTEGER NOT NULL,
        step INTEGER NOT NULL,
        is_nan INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, key)
      ) WITHOUT ROWID;
      CREATE INDEX latest_metrics_by_value ON latest_metrics(key, value);
      CREATE TABLE run_inputs (
        run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        dataset TEXT NOT NULL,
        version_id TEXT NOT NULL,
        context TEXT NOT NULL,
        PRIMARY KEY (run_id, dataset, version_id, context)
      ) WITHOUT ROWID;
      CREATE TABLE run_outputs (
        run_id TEXT PRIMARY KEY REFERENCES runs(run_id) ON DELETE CASCADE,
        model_object_id TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE artifacts (
        run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        object_id TEXT NOT NULL,
        size INTEGER NOT NULL,
        PRIMARY KEY (run_id, path)
      ) WITHOUT ROWID;
      INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle, creation_time, last_update_time)
        VALUES (0, 'Default', 'mlflow-artifacts:/0', 'active',
                CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER),
                CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
      )sql",
      // 3: model registry (src/registry, docs/registry.md). Times are Unix milliseconds. Models have
      // an integer id so a rename touches one row; next_version never goes down, so a version
      // number is never reused after a delete. registry_audit has no foreign key: the trail of a
      // deleted model stays. A NaN metric is stored as 0 with is_nan = 1 (SQLite has no NaN).
      R"sql(
      CREATE TABLE registered_models (
        model_id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: the audit trail refers to it
        name TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL DEFAULT '',
        creation_time INTEGER NOT NULL,
        last_updated_time INTEGER NOT NULL,
        next_version INTEGER NOT NULL DEFAULT 1
      );
      CREATE TABLE registered_model_tags (
        model_id INTEGER NOT NULL REFERENCES registered_models(model_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (model_id, key)
      ) WITHOUT ROWID;
      CREATE TABLE model_versions (
        model_id INTEGER NOT NULL REFERENCES registered_models(model_id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        bundle_object_id TEXT,               -- NULL: registered (through MLflow) without a bundle
        source TEXT NOT NULL,
        run_id TEXT,
        description TEXT NOT NULL DEFAULT '',
        archived INTEGER NOT NULL DEFAULT 0,
        user TEXT NOT NULL,
        creation_time INTEGER NOT NULL,
        last_updated_time INTEGER NOT NULL,
        signature TEXT NOT NULL,             -- JSON: {"task", "inputs": [{"name", "kind"}], "outputs": [...]}
        PRIMARY KEY (model_id, version)
      ) WITHOUT ROWID;
      CREATE INDEX model_versions_by_run ON model_versions(run_id) WHERE run_id IS NOT NULL;
      CREATE TABLE model_version_tags (
        model_id INTEGER NOT NULL,
        version INTEGER NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (model_id, version, key),
        FOREIGN KEY (model_id, version) REFERENCES model_versions(model_id, version) ON DELETE CASCADE
      ) WITHOUT ROWID;
      CREATE TABLE model_version_metrics (
        model_id INTEGER NOT NULL,
        version INTEGER NOT NULL,
        key TEXT NOT NULL,
        value REAL NOT NULL,
        is_nan INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (model_id, version, key),
        FOREIGN KEY (model_id, version) REFERENCES model_versions(model_id, version) ON DELETE CASCADE
      ) WITHOUT ROWID;
      CREATE TABLE model_version_datasets (
        model_id INTEGER NOT NULL,
        version INTEGER NOT NULL,
        dataset TEXT NOT NULL,
        version_id TEXT NOT NULL,
        context TEXT NOT NULL,
        PRIMARY KEY (model_id, version, version_id, dataset, context),
        FOREIGN KEY (model_id, version) REFERENCES model_versions(model_id, version) ON DELETE CASCADE
      ) WITHOUT ROWID;
      CREATE TABLE model_aliases (
        model_id INTEGER NOT NULL,
        alias TEXT NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (model_id, alias),
        FOREIGN KEY (model_id, version) REFERENCES model_versions(model_id, version) ON DELETE CASCADE
      ) WITHOUT ROWID;
      CREATE TABLE model_deployments (
        model_id INTEGER NOT NULL,
        version INTEGER NOT NULL,
        endpoint TEXT NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        process_start_ticks INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        PRIMARY KEY (model_id, version, endpoint, host, pid),
        FOREIGN KEY (model_id, version) REFERENCES model_versions(model_id, version) ON DELETE CASCADE
      ) WITHOUT ROWID;
      CREATE TABLE registry_audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        time INTEGER NOT NULL,
        user TEXT NOT NULL,
        action TEXT NOT NULL,
        model_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        version INTEGER,
        detail TEXT NOT NULL,
        reason TEXT NOT NULL
      );
      CREATE INDEX registry_audit_by_model ON registry_audit(model_id, seq);
      CREATE INDEX registry_audit_by_name ON registry_audit(name);
      )sql",
      // 4: monitoring (src/monitor, docs/monitoring.md). Times are Unix microseconds, as in the
      // prediction log. Feedback is keyed by (model, request_id): a label arriving again replaces
      // the earlier one and counts a duplicate. Alert firings keep their evidence (JSON) and every
      // action's outcome; a firing is resolved when its rule stops holding.
      R"sql(
      CREATE TABLE monitor_feedback (
        model TEXT NOT NULL,
        request_id TEXT NOT NULL,
        label TEXT,                          -- the true label as text ('1', '0.35', 'cat'); NULL: values only
        label_number REAL,                   -- the label as a number when it is one
        "values" TEXT NOT NULL DEFAULT '{}', -- JSON object of business values (revenue, clicks, ...)
        received_time INTEGER NOT NULL,
        duplicates INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (model, request_id)
      ) WITHOUT ROWID;
      CREATE INDEX monitor_feedback_by_time ON monitor_feedback(model, received_time);
      CREATE TABLE alert_firings (
        firing_id INTEGER PRIMARY KEY AUTOINCREMENT,
        rule TEXT NOT NULL,
        model TEXT NOT NULL,
        expression TEXT NOT NULL,
        state TEXT NOT NULL,                 -- firing | resolved
        value REAL,
        started_time INTEGER NOT NULL,
        resolved_time INTEGER,
        evidence TEXT NOT NULL               -- JSON: the windows and test results that made it fire
      );
      CREATE INDEX alert_firings_by_rule ON alert_firings(rule, started_time);
      CREATE TABLE alert_actions (
        firing_id INTEGER NOT NULL REFERENCES alert_firings(firing_id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,                  -- event | webhook | command
        target TEXT NOT NULL,
        status TEXT NOT NULL,                -- ok | failed
        attempts INTEGER NOT NULL,
        output TEXT NOT NULL,                -- webhook response / command stdout+stderr (bounded)
        finished_time INTEGER NOT NULL,
        PRIMARY KEY (firing_id, seq)
      ) WITHOUT ROWID;
      )sql",
      // 5: metric series (src/track/logging.cpp, docs/tracking.md). A series is one run's one metric
      // key: latest_metrics gets an integer series_id (unique; a new series takes max + 1) and the
      // points move from `metrics` (keyed by the 32-character run id and the key text in every row)
      // to metric_points keyed by (series_id, step, timestamp, value, is_nan): the same dedup key in
      // half the bytes, and no foreign-key lookup per point. metric_points has no foreign key: the
      // trigger deletes a series' points with the series (a run purge cascades to latest_metrics).
      // Every existing point is kept; a (run, key) with points but no latest row gets one.
      R"sql(
      CREATE TABLE metric_series (
        run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value REAL NOT NULL,
        timestamp INTEGER NOT NULL,
        step INTEGER NOT NULL,
        is_nan INTEGER NOT NULL DEFAULT 0,
        series_id INTEGER NOT NULL UNIQUE,
        PRIMARY KEY (run_id, key)
      ) WITHOUT ROWID;
      INSERT INTO metric_series (run_id, key, value, timestamp, step, is_nan, series_id)
        SELECT run_id, key, value, timestamp, step, is_nan, row_number() OVER (ORDER BY run_id, key)
        FROM latest_metrics;
      INSERT INTO metric_series (run_id, key, value, timestamp, step, is_nan, series_id)
        SELECT run_id, key, value, timestamp, step, is_nan,
               (SELECT count(*) FROM latest_metrics) + row_number() OVER (ORDER BY run_id, key)
        FROM (SELECT m.*, row_number() OVER (PARTITION BY run_id, key
                                             ORDER BY step DESC, timestamp DESC, value DESC) AS rank
              FROM metrics m
              WHERE NOT EXISTS (SELECT 1 FROM latest_metrics l WHERE l.run_id = m.run_id AND l.key = m.key))
        WHERE rank = 1;
      CREATE TABLE metric_points (
        series_id INTEGER NOT NULL,
        step INTEGER NOT NULL,
        timestamp INTEGER NOT NULL,
        value REAL NOT NULL,
        is_nan INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (series_id, step, timestamp, value, is_nan)
      ) WITHOUT ROWID;
      INSERT INTO metric_points (series_id, step, timestamp, value, is_nan)
        SELECT s.series_id, m.step, m.timestamp, m.value, m.is_nan
        FROM metrics m JOIN metric_series s ON s.run_id = m.run_id AND s.key = m.key
        ORDER BY s.series_id, m.step, m.timestamp, m.value, m.is_nan;
      DROP TABLE metrics;
      DROP TABLE latest_metrics;
      ALTER TABLE metric_series RENAME TO latest_metrics;
      CREATE INDEX latest_metrics_by_value ON latest_metrics(key, value);
      CREATE TRIGGER latest_metrics_delete_points AFTER DELETE ON latest_metrics BEGIN
        DELETE FROM metric_points WHERE series_id = OLD.series_id;
      END;
      )sql",
  };
  return kMigrations;
}

Result<int> read_user_version(Database& db) {
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("PRAGMA user_version"));
  SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) return make_error(ErrorCode::kCorrupt, "metadata database has no user_version");
  return static_cast<int>(stmt.column_int64(0));
}

Status migrate(Database& db, int from) {
  const auto& all = migrations();
  if (from >= static_cast<int>(all.size())) return {};
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  // Another process may have migrated between our first read and taking the write lock.
  SLIPWAY_ASSIGN_OR_RETURN(from, read_user_version(db));
  if (from >= static_cast<int>(all.size())) return txn.commit();
  for (size_t i = static_cast<size_t>(from); i < all.size(); ++i) {
    SLIPWAY_RETURN_IF_ERROR(db.exec(all[i]).with_context(fmt::format("migration {}", i + 1)));
  }
  SLIPWAY_RETURN_IF_ERROR(db.exec(fmt::format("PRAGMA user_version = {}", all.size())));
  return txn.commit();
}

}  // namespace

int current_schema_version() { return static_cast<int>(migrations().size()); }

Store::Store(std::filesystem::path root, std::unique_ptr<Database> db, int schema_version)
    : root_(std::move(root)), db_(std::move(db)), objects_(root_ / "objects"), schema_version_(schema_version) {}

std::filesystem::path Store::resolve_root(const std::optional<std::string>& flag) {
  if (flag && !flag->empty()) return std::filesystem::path(*flag);
  const char* home = std::getenv("SLIPWAY_HOME");
  if (home != nullptr && *home != '\0') return std::filesystem::path(home);
  return std::filesystem::path(".slipway");
}

Result<std::unique_ptr<Store>> Store::create(const std::filesystem::path& root) {
  std::error_code ec;
  if (std::filesystem::exists(root / "metadata.db", ec)) {
    return make_error(ErrorCode::kAlreadyExists, "a slipway store already exists at {}", root.string());
  }
  SLIPWAY_RETURN_IF_ERROR(make_directories(root / "objects"));
  SLIPWAY_RETURN_IF_ERROR(make_directories(root / "tmp"));
  SLIPWAY_ASSIGN_OR_RETURN(auto db, Database::open(root / "metadata.db", /*create=*/true));
  SLIPWAY_RETURN_IF_ERROR(migrate(*db, 0));
  SLIPWAY_RETURN_IF_ERROR(fsync_directory(root));
  return std::unique_ptr<Store>(new Store(root, std::move(db), current_schema_version()));
}

Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& root) {
  std::error_code ec;
  if (!std::filesystem::exists(root / "metadata.db", ec)) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "no slipway store at {} (run `slipway init` there, or point --store / SLIPWAY_HOME at one)",
                      root.string());
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto db, Database::open(root / "metadata.db", /*create=*/false));
  SLIPWAY_ASSIGN_OR_RETURN(int version, read_user_version(*db));
  if (version > current_schema_version()) {
    return make_error(ErrorCode::kUnsupportedVersion,
                      "the store at {} was written by a newer slipway (metadata schema {}; this slipway "
                      "reads up to {}); upgrade slipway to use it",
                      root.string(), version, current_schema_version());
  }
  SLIPWAY_RETURN_IF_ERROR(migrate(*db, version));
  SLIPWAY_RETURN_IF_ERROR(make_directories(root / "tmp"));
  return std::unique_ptr<Store>(new Store(root, std::move(db), current_schema_version()));
}

FsckReport fsck_objects(Store& store) {
  FsckReport report;
  auto& objects = store.objects();
  Status st = objects.for_each(
      [&](const std::string& id) {
        ++report.objects_checked;
        auto size = objects.stored_size(id);
        if (size.ok()) report.bytes_checked += *size;
        Status v = objects.verify(id);
        if (!v.ok()) report.problems.push_back({v.message(), objects.path_for(id).string()});
      },
      [&](const std::filesystem::path&) { ++report.temp_files; });
  if (!st.ok()) report.problems.push_back({st.message(), objects.dir().string()});

  auto check = store.db().prepare("PRAGMA integrity_check");
  if (check.ok()) {
    while (true) {
      auto row = check->step();
      if (!row.ok()) {
        report.problems.push_back({row.status().message(), "metadata.db"});
        break;
      }
      if (!*row) break;
      std::string line = check->column_text(0);
      if (line != "ok") report.problems.push_back({"integrity check: " + line, "metadata.db"});
    }
  } else {
    report.problems.push_back({check.status().message(), "metadata.db"});
  }
  auto fk = store.db().prepare("PRAGMA foreign_key_check");
  if (fk.ok()) {
    while (true) {
      auto row = fk->step();
      if (!row.ok() || !*row) break;
      report.problems.push_back(
          {fmt::format("row {} of table {} refers to a missing row of {}", fk->column_int64(1), fk->column_text(0),
                       fk->column_text(2)),
           "metadata.db"});
    }
  }
  return report;
}

}  // namespace slipway::store
