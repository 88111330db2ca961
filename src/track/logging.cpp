// Logging to a run: params (immutable), metrics (append, identical points kept once), tags
// (overwrite), inputs, output model. Each call is one transaction, validated up front so a bad
// batch writes nothing.
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "detail/tracking_internal.h"
#include "slipway/track/tracking.h"

namespace slipway::track {

using detail::now_ms;

namespace {

// Rows per multi-row INSERT: 100 rows x 5 columns stays far below SQLite's 32,766 parameters
// and amortises statement stepping over many points.
constexpr size_t kMetricRowsPerInsert = 100;

std::string point_insert_sql(size_t rows) {
  std::string sql = "INSERT OR IGNORE INTO metric_points (series_id, step, timestamp, value, is_nan) VALUES ";
  for (size_t i = 0; i < rows; ++i) sql += i == 0 ? "(?, ?, ?, ?, ?)" : ", (?, ?, ?, ?, ?)";
  return sql;
}

// A batch's points with the series they belong to (latest_metrics.series_id of their run and key).
struct SeriesPoint {
  int64_t series_id;
  const MetricPoint* point;
};

void bind_point_rows(store::Statement& stmt, const SeriesPoint* points, size_t n) {
  int i = 1;
  for (size_t k = 0; k < n; ++k) {
    const MetricPoint& p = *points[k].point;
    const bool nan = std::isnan(p.value);
    stmt.bind(i, points[k].series_id);
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
                      "a log batch may hold at most {} metrics, params and tags together; got {}", kMaxBatchTotal,
                      total);
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
                        "param '{}' appears twice in the batch with different values ('{}' and '{}')", k, it->second,
                        v);
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
  SLIPWAY_ASSIGN_OR_RETURN(store::Statement * insert,
                           db.cached("INSERT INTO params (run_id, key, value) VALUES (?, ?, ?) "
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
                        "param '{}' of run {} was already logged with value '{}'; params are immutable", k, run_id,
                        old);
    }
  }
  return {};
}

// Finds or creates each key's series, moves its latest point forward, then inserts the points
// (an identical point already stored is ignored).
Status write_metrics(store::Database& db, const std::string& run_id, const std::vector<MetricPoint>& metrics) {
  if (metrics.empty()) return {};
  // The batch's latest point per key, in first-seen order (a batch holds few keys).
  struct Series {
    std::string_view key;
    const MetricPoint* latest;
    int64_t id = 0;
  };
  std::vector<Series> series;
  std::vector<uint32_t> series_of(metrics.size());
  for (size_t i = 0; i < metrics.size(); ++i) {
    const MetricPoint& p = metrics[i];
    size_t s = 0;
    // Points of one key usually come together: try the previous point's series first.
    if (i > 0 && series[series_of[i - 1]].key == p.key) {
      s = series_of[i - 1];
    } else {
      while (s < series.size() && series[s].key != p.key) ++s;
      if (s == series.size()) series.push_back({p.key, &p});
    }
    series_of[i] = static_cast<uint32_t>(s);
    if (later_than(p, *series[s].latest)) series[s].latest = &p;
  }
  SLIPWAY_ASSIGN_OR_RETURN(store::Statement * find,
                           db.cached("SELECT series_id FROM latest_metrics WHERE run_id = ? AND key = ?"));
  SLIPWAY_ASSIGN_OR_RETURN(
      store::Statement * create,
      db.cached("INSERT INTO latest_metrics (run_id, key, value, timestamp, step, is_nan, series_id) "
                "VALUES (?, ?, ?, ?, ?, ?, (SELECT coalesce(max(series_id), 0) + 1 FROM latest_metrics)) "
                "RETURNING series_id"));
  SLIPWAY_ASSIGN_OR_RETURN(store::Statement * advance,
                           db.cached("UPDATE latest_metrics SET value = ?1, timestamp = ?2, step = ?3, is_nan = ?4 "
                                     "WHERE series_id = ?5 AND (?3, ?2, ?1) > (step, timestamp, value)"));
  for (auto& s : series) {
    const MetricPoint& p = *s.latest;
    const bool nan = std::isnan(p.value);
    const double stored = nan ? 0.0 : p.value;
    find->bind(1, run_id).bind(2, s.key);
    auto found = find->step();
    if (found.ok() && *found) s.id = find->column_int64(0);
    find->reset();
    if (!found.ok()) return found.status();
    if (s.id == 0) {
      create->bind(1, run_id).bind(2, s.key).bind(3, stored).bind(4, p.timestamp_ms).bind(5, p.step);
      create->bind(6, static_cast<int64_t>(nan ? 1 : 0));
      auto created = create->step();
      if (created.ok() && *created) s.id = create->column_int64(0);
      if (created.ok()) (void)create->step();  // runs the statement to its end
      create->reset();
      if (!created.ok()) return created.status();
      if (s.id == 0) return make_error(ErrorCode::kInternal, "metric series for key '{}' was not created", s.key);
    } else {
      advance->bind(1, stored).bind(2, p.timestamp_ms).bind(3, p.step).bind(4, static_cast<int64_t>(nan ? 1 : 0));
      advance->bind(5, s.id);
      SLIPWAY_RETURN_IF_ERROR(advance->run());
    }
  }
  std::vector<SeriesPoint> points(metrics.size());
  for (size_t i = 0; i < metrics.size(); ++i) points[i] = {series[series_of[i]].id, &metrics[i]};
  const size_t n = points.size();
  const size_t full = n / kMetricRowsPerInsert;
  if (full > 0) {
    static const std::string kFullSql = point_insert_sql(kMetricRowsPerInsert);
    SLIPWAY_ASSIGN_OR_RETURN(store::Statement * insert, db.cached(kFullSql));
    for (size_t b = 0; b < full; ++b) {
      bind_point_rows(*insert, points.data() + b * kMetricRowsPerInsert, kMetricRowsPerInsert);
      SLIPWAY_RETURN_IF_ERROR(insert->run());
    }
  }
  // The rest one row at a time through one cached statement: caching a statement per row count
  // would keep up to 99 of them per connection.
  if (full * kMetricRowsPerInsert < n) {
    static const std::string kOneSql = point_insert_sql(1);
    SLIPWAY_ASSIGN_OR_RETURN(store::Statement * insert, db.cached(kOneSql));
    for (size_t i = full * kMetricRowsPerInsert; i < n; ++i) {
      bind_point_rows(*insert, points.data() + i, 1);
      SLIPWAY_RETURN_IF_ERROR(insert->run());
    }
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


// One validated batch, inside the caller's transaction.
Status write_batch(store::Database& db, const std::string& run_id, const LogBatch& batch, int64_t now) {
  SLIPWAY_RETURN_IF_ERROR(detail::writable_run(db, run_id).status());
  SLIPWAY_RETURN_IF_ERROR(write_params(db, run_id, batch.params));
  SLIPWAY_RETURN_IF_ERROR(write_metrics(db, run_id, batch.metrics));
  SLIPWAY_RETURN_IF_ERROR(write_tags(db, run_id, batch.tags));
  return detail::touch_run(db, run_id, now);
}

}  // namespace

Status Tracking::log_batch(const std::string& run_id, const LogBatch& batch) {
  SLIPWAY_RETURN_IF_ERROR(validate_batch(batch));
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_RETURN_IF_ERROR(write_batch(db, run_id, batch, now_ms()));
  return txn.commit();
}

Status Tracking::log_batches(const std::vector<BatchToLog>& batches, std::vector<Status>& results) {
  results.clear();
  for (const auto& b : batches) results.push_back(validate_batch(*b.batch));
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  const int64_t now = now_ms();
  for (size_t i = 0; i < batches.size(); ++i) {
    if (!results[i].ok()) continue;
    // Each batch inside its own savepoint: a failure rolls back that batch only.
    SLIPWAY_RETURN_IF_ERROR(db.exec("SAVEPOINT log_batch"));
    Status status = write_batch(db, *batches[i].run_id, *batches[i].batch, now);
    if (!status.ok()) {
      results[i] = std::move(status);
      SLIPWAY_RETURN_IF_ERROR(db.exec("ROLLBACK TO log_batch"));
    }
    SLIPWAY_RETURN_IF_ERROR(db.exec("RELEASE log_batch"));
  }
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

// A history page token names the last point of the page (the points are ordered by their whole
// key, so the next page starts right after it): base64 of "history:STEP:TIMESTAMP:VALUE:IS_NAN",
// VALUE in shortest round-trip form ("inf" for infinity).
namespace {

struct HistoryCursor {
  int64_t step = 0;
  int64_t timestamp_ms = 0;
  double value = 0;  // as stored: 0 for NaN
  int64_t is_nan = 0;
};

std::optional<HistoryCursor> parse_history_token(const std::string& token) {
  auto decoded = detail::base64_decode(token);
  if (!decoded.ok() || decoded->rfind("history:", 0) != 0) return std::nullopt;
  std::string_view rest = std::string_view(*decoded).substr(8);
  std::string_view parts[4];
  for (int i = 0; i < 4; ++i) {
    size_t colon = rest.find(':');
    if ((colon == std::string_view::npos) != (i == 3)) return std::nullopt;
    parts[i] = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
  }
  HistoryCursor c;
  auto whole = [](std::string_view text, int64_t& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size() && !text.empty();
  };
  auto [vend, vec] = std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), c.value);
  if (!whole(parts[0], c.step) || !whole(parts[1], c.timestamp_ms) || !whole(parts[3], c.is_nan) ||
      vec != std::errc() || vend != parts[2].data() + parts[2].size()) {
    return std::nullopt;
  }
  return c;
}

}  // namespace

Result<MetricHistoryPage> Tracking::metric_history_page(const MetricHistoryRequest& request) {
  auto& db = store_.db();
  std::optional<HistoryCursor> after;
  if (!request.page_token.empty()) {
    after = parse_history_token(request.page_token);
    if (!after) return make_error(ErrorCode::kInvalidArgument, "invalid page_token '{}'", request.page_token);
  }
  detail::ReadSnapshot snapshot(db);  // the run check and the history see one state
  SLIPWAY_RETURN_IF_ERROR(detail::load_run_info(db, request.run_id).status());
  MetricHistoryPage page;
  SLIPWAY_ASSIGN_OR_RETURN(store::Statement * find,
                           db.cached("SELECT series_id FROM latest_metrics WHERE run_id = ? AND key = ?"));
  find->bind(1, request.run_id).bind(2, request.key);
  auto found = find->step();
  const int64_t series = found.ok() && *found ? find->column_int64(0) : -1;
  find->reset();
  if (!found.ok()) return found.status();
  if (series < 0) return page;  // no such key: an empty history, as MLflow
  // The primary key's order, so both forms read one index range from where the page starts.
  SLIPWAY_ASSIGN_OR_RETURN(
      store::Statement * stmt,
      db.cached(after ? "SELECT step, timestamp, value, is_nan FROM metric_points WHERE series_id = ?1 AND "
                        "(step, timestamp, value, is_nan) > (?3, ?4, ?5, ?6) ORDER BY step, timestamp, value, is_nan "
                        "LIMIT ?2"
                      : "SELECT step, timestamp, value, is_nan FROM metric_points WHERE series_id = ?1 "
                        "ORDER BY step, timestamp, value, is_nan LIMIT ?2"));
  const int64_t limit = request.max_results == 0 ? -1 : static_cast<int64_t>(request.max_results) + 1;
  stmt->bind(1, series).bind(2, limit);
  if (after) stmt->bind(3, after->step).bind(4, after->timestamp_ms).bind(5, after->value).bind(6, after->is_nan);
  HistoryCursor last;
  while (true) {
    auto row = stmt->step();
    if (!row.ok()) {
      stmt->reset();
      return row.status();
    }
    if (!*row) break;
    if (request.max_results != 0 && page.points.size() == request.max_results) {
      page.next_page_token = detail::base64_encode(
          fmt::format("history:{}:{}:{}:{}", last.step, last.timestamp_ms, last.value, last.is_nan));
      break;
    }
    MetricPoint p;
    p.key = request.key;
    last.step = p.step = stmt->column_int64(0);
    last.timestamp_ms = p.timestamp_ms = stmt->column_int64(1);
    last.value = stmt->column_double(2);
    last.is_nan = stmt->column_int64(3);
    p.value = last.is_nan != 0 ? std::nan("") : last.value;
    page.points.push_back(std::move(p));
  }
  stmt->reset();
  return page;
}

}  // namespace slipway::track
