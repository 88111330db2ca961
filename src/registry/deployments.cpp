// Deployments: which process serves which version at which endpoint. Serving records one when it
// loads a version and ends it when it stops; a process killed before it could end its deployments
// leaves rows behind, so a row only counts while its process (same pid, same start time) is alive
// on this host. Rows from other hosts always count: there is no way to check them from here.
#include "detail/registry_internal.h"
#include "slipway/track/tracking.h"

namespace slipway::registry {

namespace detail {

namespace {

bool process_alive(const Deployment& d, const std::string& this_host) {
  if (d.host != this_host) return true;
  auto owner = track::Tracking::process_owner(d.pid);
  return owner.ok() && owner->process_start_ticks == d.process_start_ticks;
}

}  // namespace

Result<std::vector<Deployment>> live_deployments(store::Database& db, int64_t id, const std::string& name,
                                                 int64_t version, std::vector<Deployment>* dead) {
  SLIPWAY_ASSIGN_OR_RETURN(
      auto stmt, db.prepare("SELECT version, endpoint, host, pid, process_start_ticks, started_at FROM "
                            "model_deployments WHERE model_id = ? AND (? = 0 OR version = ?) ORDER BY version, "
                            "started_at, endpoint, pid"));
  stmt.bind(1, id).bind(2, version).bind(3, version);
  const std::string this_host = host_name();
  std::vector<Deployment> live;
  while (true) {
    SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    Deployment d{name,
                 stmt.column_int64(0),
                 stmt.column_text(1),
                 stmt.column_text(2),
                 stmt.column_int64(3),
                 stmt.column_int64(4),
                 stmt.column_int64(5)};
    if (process_alive(d, this_host)) {
      live.push_back(std::move(d));
    } else if (dead != nullptr) {
      dead->push_back(std::move(d));
    }
  }
  return live;
}

Status refuse_if_deployed(store::Database& db, int64_t id, const std::string& name, int64_t version) {
  SLIPWAY_ASSIGN_OR_RETURN(auto live, live_deployments(db, id, name, version));
  if (live.empty()) return {};
  const Deployment& d = live.front();
  const std::string where = d.host == host_name() ? fmt::format("pid {}", d.pid)
                                                  : fmt::format("pid {} on host {}", d.pid, d.host);
  std::string more;
  if (live.size() > 1) more = fmt::format(" and {} more deployment(s)", live.size() - 1);
  return make_error(ErrorCode::kFailedPrecondition,
                    "model version {}/{} is deployed at endpoint {} ({}, since {}){}; stop it first", name, d.version,
                    d.endpoint, where, iso_time(d.started_ms), more);
}

}  // namespace detail

Status Registry::record_deployment(const ModelRef& ref, const std::string& endpoint, int64_t pid) {
  auto owner = track::Tracking::process_owner(pid);
  if (!owner.ok()) return owner.status();
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, detail::model_id(db, ref.name));
  SLIPWAY_RETURN_IF_ERROR(detail::require_version(db, id, ref.name, ref.version));
  SLIPWAY_ASSIGN_OR_RETURN(
      auto stmt, db.prepare("INSERT OR REPLACE INTO model_deployments (model_id, version, endpoint, host, pid, "
                            "process_start_ticks, started_at) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  stmt.bind(1, id).bind(2, ref.version).bind(3, endpoint).bind(4, detail::host_name()).bind(5, pid);
  stmt.bind(6, owner->process_start_ticks).bind(7, detail::now_ms());
  SLIPWAY_RETURN_IF_ERROR(stmt.run());
  return txn.commit();
}

Status Registry::end_deployment(const ModelRef& ref, const std::string& endpoint, int64_t pid) {
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  auto id = detail::model_id(db, ref.name);
  if (!id.ok()) return {};  // the model is gone: nothing to end
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("DELETE FROM model_deployments WHERE model_id = ? AND version = ? AND "
                                                 "endpoint = ? AND host = ? AND pid = ?"));
  stmt.bind(1, *id).bind(2, ref.version).bind(3, endpoint).bind(4, detail::host_name()).bind(5, pid);
  SLIPWAY_RETURN_IF_ERROR(stmt.run());
  return txn.commit();
}

Result<std::vector<Deployment>> Registry::deployments(const std::string& name) {
  auto& db = store_.db();
  detail::ReadSnapshot snapshot(db);
  std::vector<std::pair<int64_t, std::string>> models;
  if (name.empty()) {
    SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("SELECT DISTINCT d.model_id, m.name FROM model_deployments d JOIN "
                                                   "registered_models m USING (model_id) ORDER BY m.name"));
    while (true) {
      SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
      if (!row) break;
      models.emplace_back(stmt.column_int64(0), stmt.column_text(1));
    }
  } else {
    SLIPWAY_ASSIGN_OR_RETURN(int64_t id, detail::model_id(db, name));
    models.emplace_back(id, name);
  }
  std::vector<Deployment> out;
  for (const auto& [id, model_name] : models) {
    SLIPWAY_ASSIGN_OR_RETURN(auto live, detail::live_deployments(db, id, model_name, 0));
    for (auto& d : live) out.push_back(std::move(d));
  }
  return out;
}

}  // namespace slipway::registry
