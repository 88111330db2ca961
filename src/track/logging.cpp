// Logging to a run: params (immutable), metrics (append, identical points kept once), tags
// (overwrite), inputs, output model. Each call is one transaction, validated up front so a bad
// batch writes nothing.
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

#include "slipway/track/tracking.h"
#include "detail/tracking_internal.h"

namespace slipway::track {

using detail::now_ms;

namespace {

// Rows per multi-row INSERT: 100 rows x 6 columns stays far below SQLite's 32,766 parameters
// and amortises statement stepping over many points.
constexpr size_t kMetricRowsPerInsert = 100;

std::string metric_insert_sql(size_t rows) {
  std::string sql = "INSERT OR IGNORE INTO metrics (run_id, key, step, timestamp, value, is_nan) VALUES ";
  for (size_t i = 0; i < rows; ++i) sql += i == 0 ? "(?1, ?, ?, ?, ?, ?)" : ", (?1, ?, ?, ?, ?, ?)";
  return sql;
}

// ?1 is the run id, shared by all rows; each row then binds key, step, timestamp, value, is_nan.
void bind_metric_rows(store::Statement& stmt, const std::string& run_id, const MetricPoint* points, size_t n) {
  stmt.bind(1, run_id);
  int i = 2;
  for (size_t k = 0; k < n; ++k) {
    const MetricPoint& p = points[k];
    const bool nan = std::isnan(p.value);
    stmt.bind(i, p.key);
    stmt.bind(i + 1, p.step);
    stmt.bind(i + 2, p.timestamp_ms);
    stmt.bind(i + 3, nan ? 0.0 : p.value);
    stmt.bind(i + 4, static_cast<int64_t>(nan ? 1 : 0));
    i += 5;
  }
}

// MLflow's order for "latest": highest step, then timestamp, then value (NaN counts as 0, as stored).
bool later_than(const MetricPoint& a, const MetricPoint& b) {
  double av = std::isnan(a.value) ? 0.0 : a.value;
  double bv = std::isnan(b.value) ? 0.0 : b.value;
  if (a.step != b.step) return a.step > b.step;
  if (a.timestamp_ms != b.timestamp_ms) return a.timestamp_ms > b.timestamp_ms;
  return av > bv;
}

Status validate_batch(const LogBatch& batch) {
  const size_t total = batch.metrics.size() + batch.params.size() + batch.tags.size();
  if (batch.metrics.size() > kMaxBatchMetrics) {
    return make_error(ErrorCode::kInvalidArgument, "a log batch may hold at most {} metrics; got {}", kMaxBatchMetrics,
                      batch.metrics.size());
  }
  if (batch.params.size() > kMaxBatchParams) {
    return make_error(ErrorCode::kInvalidArgument, "a log batch may hold at most {} params; got {}", kMaxBatchParams,
                      batch.params.size());
  }
  if (batch.tags.size() > kMaxBatchTags) {
    return make_error(ErrorCode::kInvalidArgument, "a log batch may hold at most {} tags; got {}", kMaxBatchTags,
                      batch.tags.size());
  }
  if (total > kMaxBatchTotal) {
    return make_error(ErrorCode::kInvalidArgument,
                      "a log batch may hold at most {} metrics, params and tags together; got {}", kMaxBatchTotal, total);
  }
  for (const auto& m : batch.metrics) SLIPWAY_RETURN_IF_ERROR(detail::validate_key("metric", m.key));
  std::map<std::string_view, std::string_view> seen;
  for (const auto& [k, v] : batch.params) {
    SLIPWAY_RETURN_IF_ERROR(detail::validate_key("param", k));
    if (v.size() > kMaxParamValueBytes) {
      return make_error(ErrorCode::kInvalidArgument, "value of param '{}' is {} bytes; the limit is {}", k, v.size(),
                        kMaxParamValueBytes);
    }
    auto [it, fresh] = seen.emplace(k, v);
    if (!fresh && it->second != v) {
      return make_error(ErrorCode::kInvalidArgument,
                        "param '{}' appears twice in the batch with different values ('{}' and '{}')", k, it->second, v);
    }
  }
  for (const auto& [k, v] : batch.tags) {
    SLIPWAY_RETURN_IF_ERROR(detail::validate_key("tag", k));
    if (v.size() > kMaxTagValueBytes) {
      return make_error(ErrorCode::kInvalidArgument, "value of tag '{}' is {} bytes; the limit is {}", k, v.size(),
                        kMaxTagValueBytes);
    }
  }
  return {};
}

Status write_params(store::Database& db, const std::string& run_id,
                    const std::vector<std::pair<std::string, std::string>>& params) {
  if (params.empty()) return {};
  SLIPWAY_ASSIGN_OR_RETURN(store::Statement * insert, db.cached("INSERT INTO params (run_id, key, value) VALUES (?, ?, ?) "
                                                              "ON CONFLICT (run_id, key) DO NOTHING"));
  for (const auto& [k, v] : params) {
    insert->bind(1, run_id).bind(2, k).bind(3, v);
    SLIPWAY_RETURN_IF_ERROR(insert->run());
    if (db.changes() > 0) continue;
    SLIPWAY_ASSIGN_OR_RETURN(store::Statement * existing,
                             db.cached("SELECT value FROM params WHERE run_id = ? AND key = ?"));
    existing->bind(1, run_id).bind(2, k);
    auto row = existing->step();
    std::string old = row.ok() && *row ? existing->column_text(0) : std::string();
    existing->reset();
    if (!row.ok()) return row.status();
    if (old != v) {
      return make_error(ErrorCode::kInvalidArgument,
                        "param '{}' of run {} was already logged with value '{}'; params are immutable", k, run_id, old);
    }
  }
  return {};
}

Status write_metrics(store::Database& db, const std::string& run_id, const std::vector<MetricPoint>& metrics) {
  if (metrics.empty()) return {};
  const size_t n = metrics.size();
  const size_t full = n / kMetricRowsPerInsert;
  if (full > 0) {
    static const std::string kFullSql = metric_insert_sql(kMetricRowsPerInsert);
    SLIPWAY_ASSIGN_OR_RETURN(store::Statement * insert, db.cached(kFullSql));
    for (size_t b = 0; b < full; ++b) {
      bind_metric_rows(*insert, run_id, metrics.data() + b * kMetricRowsPerInsert, kMetricRowsPerInsert);
      SLIPWAY_RETURN_IF_ERROR(insert->run());
    }
  }
  // The rest one row at a time through one cached statement: caching a statement per row count
  // would keep up to 99 of them per connection.
  if (full * kMetricRowsPerInsert < n) {
    static const std::string kOneSql = metric_insert_sql(1);
    SLIPWAY_ASSIGN_OR_RETURN(store::Statement * insert, db.cached(kOneSql));
    for (size_t i = full * kMetricRowsPerInsert; i < n; ++i) {
      bind_metric_rows(*insert, run_id, metrics.data() + i, 1);
      SLIPWAY_RETURN_IF_ERROR(insert->run());
    }
  }
  // The batch's latest point per key, then one upsert per key that only moves forward.
  std::unordered_map<std::string_view, const MetricPoint*> latest;
  for (const auto& p : metrics) {
    auto [it, fresh] = latest.emplace(p.key, &p);
    if (!fresh && later_than(p, *it->second)) it->second = &p;
  }
  SLIPWAY_ASSIGN_OR_RETURN(
      store::Statement * upsert,
      db.cached("INSERT INTO latest_metrics (run_id, key, value, timestamp, step, is_nan) VALUES (?, ?, ?, ?, ?, ?) "
                 "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp, "
                 "step = excluded.step, is_nan = excluded.is_nan "
                 "WHERE (excluded.step, excluded.timestamp, excluded.value) > "
                 "(latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)"));
  for (const auto& [key, p] : latest) {
    const bool nan = std::isnan(p->value);
    upsert->bind(1, run_id).bind(2, key).bind(3, nan ? 0.0 : p->value).bind(4, p->timestamp_ms).bind(5, p->step);
    upsert->bind(6, static_cast<int64_t>(nan ? 1 : 0));
    SLIPWAY_RETURN_IF_ERROR(upsert->run());
  }
  return {};
}

Status write_tags(store::Database& db, const std::string& run_id,
                  const std::vector<std::pair<std::string, std::string>>& tags) {
  if (tags.empty()) return {};
  SLIPWAY_ASSIGN_OR_RETURN(store::Statement * upsert,
                           db.cached("INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?) "
                                     "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value"));
  for (const auto& [k, v] : tags) {
    upsert->bind(1, run_id).bind(2, k).bind(3, v);
    SLIPWAY_RETURN_IF_ERROR(upsert->run());
    if (k == "mlflow.runName" && !v.empty()) {  // the tag and the run's name are one thing, as in MLflow
      SLIPWAY_ASSIGN_OR_RETURN(auto rename, db.prepare("UPDATE runs SET name = ? WHERE run_id = ?"));
      rename.bind(1, v).bind(2, run_id);
      SLIPWAY_RETURN_IF_ERROR(rename.run());
    }
  }
  return {};
}

bool is_object_id(std::string_view id) {
  if (id.size() != 64) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

Status Tracking::log_batch(const std::string& run_id, const LogBatch& batch) {
  SLIPWAY_RETURN_IF_ERROR(validate_batch(batch));
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_RETURN_IF_ERROR(detail::writable_run(db, run_id).status());
  SLIPWAY_RETURN_IF_ERROR(write_params(db, run_id, batch.params));
  SLIPWAY_RETURN_IF_ERROR(write_metrics(db, run_id, batch.metrics));
  SLIPWAY_RETURN_IF_ERROR(write_tags(db, run_id, batch.tags));
  SLIPWAY_RETURN_IF_ERROR(detail::touch_run(db, run_id, now_ms()));
  return txn.commit();
}

Status Tracking::log_metric(const std::string& run_id, const MetricPoint& point) {
  LogBatch batch;
  batch.metrics.push_back(point);
  return log_batch(run_id, batch);
}

Status Tracking::log_param(const std::string& run_id, const std::string& key, const std::string& value) {
  LogBatch batch;
  batch.params.emplace_back(key, value);
  return log_batch(run_id, batch);
}

Status Tracking::set_tag(const std::string& run_id, const std::string& key, const std::string& value) {
  LogBatch batch;
  batch.tags.emplace_back(key, value);
  return log_batch(run_id, batch);
}

Status Tracking::delete_tag(const std::string& run_id, const std::string& key) {
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_RETURN_IF_ERROR(detail::writable_run(db, run_id).status());
  SLIPWAY_ASSIGN_OR_RETURN(auto del, db.prepare("DELETE FROM tags WHERE run_id = ? AND key = ?"));
  del.bind(1, run_id).bind(2, key);
  SLIPWAY_RETURN_IF_ERROR(del.run());
  if (db.changes() == 0) return make_error(ErrorCode::kNotFound, "run {} has no tag '{}'", run_id, key);
  SLIPWAY_RETURN_IF_ERROR(detail::touch_run(db, run_id, now_ms()));
  return txn.commit();
}

Status Tracking::log_inputs(const std::string& run_id, const std::vector<DatasetInput>& inputs) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].dataset.empty() || inputs[i].version_id.empty()) {
      return make_error(ErrorCode::kInvalidArgument, "input {}: dataset and version_id must not be empty", i + 1);
    }
  }
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_RETURN_IF_ERROR(detail::writable_run(db, run_id).status());
  SLIPWAY_ASSIGN_OR_RETURN(auto insert, db.prepare("INSERT OR IGNORE INTO run_inputs (run_id, dataset, version_id, "
                                                   "context) VALUES (?, ?, ?, ?)"));
  for (const auto& in : inputs) {
    insert.bind(1, run_id).bind(2, in.dataset).bind(3, in.version_id).bind(4, in.context);
    SLIPWAY_RETURN_IF_ERROR(insert.run());
  }
  SLIPWAY_RETURN_IF_ERROR(detail::touch_run(db, run_id, now_ms()));
  return txn.commit();
}

Status Tracking::set_output_model(const std::string& run_id, const std::string& bundle_object_id) {
  if (!is_object_id(bundle_object_id)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "output model '{}' is not an object id (64 lowercase hex characters)", bundle_object_id);
  }
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_RETURN_IF_ERROR(detail::writable_run(db, run_id).status());
  SLIPWAY_ASSIGN_OR_RETURN(auto upsert, db.prepare("INSERT INTO run_outputs (run_id, model_object_id) VALUES (?, ?) "
                                                   "ON CONFLICT (run_id) DO UPDATE SET model_object_id = "
                                                   "excluded.model_object_id"));
  upsert.bind(1, run_id).bind(2, bundle_object_id);
  SLIPWAY_RETURN_IF_ERROR(upsert.run());
  SLIPWAY_RETURN_IF_ERROR(detail::touch_run(db, run_id, now_ms()));
  return txn.commit();
}

Result<std::vector<MetricPoint>> Tracking::metric_history(const std::string& run_id, const std::string& key) {
  MetricHistoryRequest request;
  request.run_id = run_id;
  request.key = key;
  SLIPWAY_ASSIGN_OR_RETURN(MetricHistoryPage page, metric_history_page(request));
  return std::move(page.points);
}

Result<MetricHistoryPage> Tracking::metric_history_page(const MetricHistoryRequest& request) {
  auto& db = store_.db();
  int64_t offset = 0;
  if (!request.page_token.empty()) {
    auto decoded = detail::base64_decode(request.page_token);
    if (decoded.ok() && decoded->rfind("history:", 0) == 0) {
      offset = std::strtoll(decoded->c_str() + 8, nullptr, 10);
    }
    if (!decoded.ok() || offset <= 0) {
      return make_error(ErrorCode::kInvalidArgument, "invalid page_token '{}'", request.page_token);
    }
  }
  detail::ReadSnapshot snapshot(db);  // the run check and the history see one state
  SLIPWAY_RETURN_IF_ERROR(detail::load_run_info(db, request.run_id).status());
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("SELECT step, timestamp, value, is_nan FROM metrics "
                                                 "WHERE run_id = ? AND key = ? ORDER BY step, timestamp, value, is_nan "
                                                 "LIMIT ? OFFSET ?"));
  const int64_t limit = request.max_results == 0 ? -1 : static_cast<int64_t>(request.max_results) + 1;
  stmt.bind(1, request.run_id).bind(2, request.key).bind(3, limit).bind(4, offset);
  MetricHistoryPage page;
  while (true) {
    SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    MetricPoint p;
    p.key = request.key;
    p.step = stmt.column_int64(0);
    p.timestamp_ms = stmt.column_int64(1);
    p.value = stmt.column_int64(3) != 0 ? std::nan("") : stmt.column_double(2);
    page.points.push_back(std::move(p));
  }
  if (request.max_results != 0 && page.points.size() > request.max_results) {
    page.points.pop_back();
    page.next_page_token =
        detail::base64_encode(fmt::format("history:{}", offset + static_cast<int64_t>(request.max_results)));
  }
  return page;
}

}  // namespace slipway::track
