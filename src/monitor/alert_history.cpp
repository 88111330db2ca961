// Reading stored firings back: what `slipway monitor alerts` lists and shows.
#include "slipway/monitor/alerts.h"
#include "slipway/store/database.h"

namespace slipway::monitor {

namespace {

constexpr const char* kFiringColumns =
    "f.firing_id, f.rule, f.model, f.expression, f.state, f.value, f.started_time, f.resolved_time, f.evidence, "
    "(SELECT COUNT(*) FROM alert_actions a WHERE a.firing_id = f.firing_id AND a.status = 'ok'), "
    "(SELECT COUNT(*) FROM alert_actions a WHERE a.firing_id = f.firing_id AND a.status = 'failed')";

AlertFiring read_firing(const store::Statement& row) {
  AlertFiring f;
  f.firing_id = row.column_int64(0);
  f.rule = row.column_text(1);
  f.model = row.column_text(2);
  f.expression = row.column_text(3);
  f.state = row.column_text(4);
  if (!row.column_is_null(5)) f.value = row.column_double(5);
  f.started_time = row.column_int64(6);
  if (!row.column_is_null(7)) f.resolved_time = row.column_int64(7);
  f.evidence = row.column_text(8);
  f.actions_ok = row.column_int64(9);
  f.actions_failed = row.column_int64(10);
  return f;
}

}  // namespace

Result<std::vector<AlertFiring>> list_alert_firings(store::Database& db, const AlertFiringFilter& filter) {
  std::string sql = fmt::format(
      "SELECT {} FROM alert_firings f WHERE (?1 IS NULL OR f.rule = ?1) AND "
      "(?2 IS NULL OR f.state = ?2) ORDER BY f.firing_id DESC LIMIT ?3",
      kFiringColumns);
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare(sql));
  stmt.bind(1, filter.rule).bind(2, filter.state).bind(3, static_cast<int64_t>(filter.limit));
  std::vector<AlertFiring> out;
  for (;;) {
    SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    out.push_back(read_firing(stmt));
  }
  return out;
}

Result<AlertFiring> get_alert_firing(store::Database& db, int64_t firing_id) {
  SLIPWAY_ASSIGN_OR_RETURN(
      auto stmt, db.prepare(fmt::format("SELECT {} FROM alert_firings f WHERE f.firing_id = ?", kFiringColumns)));
  stmt.bind(1, firing_id);
  SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) return make_error(ErrorCode::kNotFound, "no alert firing {}", firing_id);
  AlertFiring firing = read_firing(stmt);
  SLIPWAY_ASSIGN_OR_RETURN(auto actions, db.prepare("SELECT seq, kind, target, status, attempts, output, finished_time "
                                                    "FROM alert_actions WHERE firing_id = ? ORDER BY seq"));
  actions.bind(1, firing_id);
  for (;;) {
    SLIPWAY_ASSIGN_OR_RETURN(bool more, actions.step());
    if (!more) break;
    AlertActionRecord a;
    a.seq = actions.column_int64(0);
    a.kind = actions.column_text(1);
    a.target = actions.column_text(2);
    a.status = actions.column_text(3);
    a.attempts = actions.column_int64(4);
    a.output = actions.column_text(5);
    a.finished_time = actions.column_int64(6);
    firing.actions.push_back(std::move(a));
  }
  return firing;
}

}  // namespace slipway::monitor
