// Model versions: registration (numbering), reading, searching, descriptions and tags, archive and
// delete, and aliases.
#include <cmath>

#include "detail/registry_internal.h"
#include "slipway/registry/registry.h"

namespace slipway::registry {

namespace detail {
Result<int64_t> find_or_create_model(store::Database& db, const std::string& name, const Actor& actor);
}  // namespace detail

using detail::now_ms;

namespace {

// Moves (or creates) an alias inside the caller's transaction, with its audit row.
Status put_alias(store::Database& db, int64_t id, const std::string& name, const std::string& alias, int64_t version,
                 const Actor& actor) {
  SLIPWAY_ASSIGN_OR_RETURN(auto old, db.prepare("SELECT version FROM model_aliases WHERE model_id = ? AND alias = ?"));
  old.bind(1, id).bind(2, alias);
  SLIPWAY_ASSIGN_OR_RETURN(bool had, old.step());
  std::string detail = had ? fmt::format("{}: {} -> {}", alias, old.column_int64(0), version)
                           : fmt::format("{} -> {}", alias, version);
  if (had && old.column_int64(0) == version) return {};
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("INSERT OR REPLACE INTO model_aliases (model_id, alias, version) "
                                                 "VALUES (?, ?, ?)"));
  stmt.bind(1, id).bind(2, alias).bind(3, version);
  SLIPWAY_RETURN_IF_ERROR(stmt.run());
  SLIPWAY_RETURN_IF_ERROR(detail::touch_version(db, id, version, now_ms()));
  return detail::audit(db, actor, "alias", id, name, version, detail);
}

}  // namespace

Result<ModelVersion> Registry::register_version(const NewVersion& v, const Actor& actor) {
  SLIPWAY_RETURN_IF_ERROR(validate_model_name(v.name));
  for (const auto& [k, value] : v.tags) SLIPWAY_RETURN_IF_ERROR(detail::validate_tag(k, value));
  for (const auto& alias : v.aliases) SLIPWAY_RETURN_IF_ERROR(validate_alias(alias));
  if (!v.bundle_object_id.empty() && !store_.objects().contains(v.bundle_object_id)) {
    return make_error(ErrorCode::kNotFound, "model bundle object {} is not in the store", v.bundle_object_id);
  }
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, detail::find_or_create_model(db, v.name, actor));
  // Under the write lock (BEGIN IMMEDIATE): concurrent registrations serialise here and each reads
  // the number the previous one left.
  SLIPWAY_ASSIGN_OR_RETURN(auto next, db.prepare("SELECT next_version FROM registered_models WHERE model_id = ?"));
  next.bind(1, id);
  SLIPWAY_ASSIGN_OR_RETURN(bool row, next.step());
  if (!row) return make_error(ErrorCode::kInternal, "registered model '{}' vanished during registration", v.name);
  const int64_t version = next.column_int64(0);
  const int64_t now = now_ms();
  SLIPWAY_ASSIGN_OR_RETURN(auto bump, db.prepare("UPDATE registered_models SET next_version = ?, last_updated_time = ? "
                                                 "WHERE model_id = ?"));
  bump.bind(1, version + 1).bind(2, now).bind(3, id);
  SLIPWAY_RETURN_IF_ERROR(bump.run());

  SLIPWAY_ASSIGN_OR_RETURN(
      auto insert, db.prepare("INSERT INTO model_versions (model_id, version, bundle_object_id, source, run_id, "
                              "description, archived, user, creation_time, last_updated_time, signature) VALUES (?, ?, "
                              "?, ?, ?, ?, 0, ?, ?, ?, ?)"));
  insert.bind(1, id).bind(2, version);
  if (v.bundle_object_id.empty()) {
    insert.bind(3, nullptr);
  } else {
    insert.bind(3, v.bundle_object_id);
  }
  insert.bind(4, v.source).bind(5, v.run_id).bind(6, v.description).bind(7, actor.user).bind(8, now).bind(9, now);
  insert.bind(10, detail::signature_to_json(v.signature));
  SLIPWAY_RETURN_IF_ERROR(insert.run());
  for (const auto& [k, value] : v.tags) {
    SLIPWAY_ASSIGN_OR_RETURN(auto tag, db.prepare("INSERT OR REPLACE INTO model_version_tags (model_id, version, key, "
                                                  "value) VALUES (?, ?, ?, ?)"));
    tag.bind(1, id).bind(2, version).bind(3, k).bind(4, value);
    SLIPWAY_RETURN_IF_ERROR(tag.run());
  }
  for (const auto& [k, value] : v.metrics) {
    SLIPWAY_ASSIGN_OR_RETURN(auto metric, db.prepare("INSERT OR REPLACE INTO model_version_metrics (model_id, version, "
                                                     "key, value, is_nan) VALUES (?, ?, ?, ?, ?)"));
    const bool nan = std::isnan(value);
    metric.bind(1, id).bind(2, version).bind(3, k).bind(4, nan ? 0.0 : value).bind(5, int64_t{nan ? 1 : 0});
    SLIPWAY_RETURN_IF_ERROR(metric.run());
  }
  for (const auto& d : v.datasets) {
    SLIPWAY_ASSIGN_OR_RETURN(auto ds, db.prepare("INSERT OR IGNORE INTO model_version_datasets (model_id, version, "
                                                 "dataset, version_id, context) VALUES (?, ?, ?, ?, ?)"));
    ds.bind(1, id).bind(2, version).bind(3, d.dataset).bind(4, d.version_id).bind(5, d.context);
    SLIPWAY_RETURN_IF_ERROR(ds.run());
  }
  SLIPWAY_RETURN_IF_ERROR(detail::audit(db, actor, "register", id, v.name, version, "from " + v.source));
  for (const auto& alias : v.aliases) SLIPWAY_RETURN_IF_ERROR(put_alias(db, id, v.name, alias, version, actor));
  SLIPWAY_RETURN_IF_ERROR(txn.commit());
  return detail::load_version(db, id, v.name, version);
}

Result<ModelVersion> Registry::get_version(const std::string& name, int64_t version) {
  auto& db = store_.db();
  detail::ReadSnapshot snapshot(db);
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, detail::model_id(db, name));
  return detail::load_version(db, id, name, version);
}

Result<VersionsPage> Registry::search_versions(const SearchVersionsRequest& request) {
  SLIPWAY_ASSIGN_OR_RETURN(size_t offset, detail::parse_page_token(request.page_token));
  const size_t limit = request.max_results == 0 ? 1000 : request.max_results;
  auto& db = store_.db();
  detail::ReadSnapshot snapshot(db);
  SLIPWAY_ASSIGN_OR_RETURN(
      auto stmt, db.prepare("SELECT m.model_id, m.name, v.version FROM model_versions v JOIN registered_models m USING "
                            "(model_id) WHERE (?1 = '' OR m.name = ?1) AND (?2 = '' OR v.run_id = ?2) AND (?3 OR "
                            "v.archived = 0) ORDER BY m.name, v.version DESC LIMIT ?4 OFFSET ?5"));
  stmt.bind(1, request.name).bind(2, request.run_id).bind(3, int64_t{request.include_archived ? 1 : 0});
  stmt.bind(4, static_cast<int64_t>(limit + 1)).bind(5, static_cast<int64_t>(offset));
  struct Key {
    int64_t id;
    std::string name;
    int64_t version;
  };
  std::vector<Key> keys;
  while (true) {
    SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    keys.push_back({stmt.column_int64(0), stmt.column_text(1), stmt.column_int64(2)});
  }
  VersionsPage page;
  if (keys.size() > limit) {
    keys.resize(limit);
    page.next_page_token = detail::page_token(offset + limit);
  }
  for (const auto& k : keys) {
    SLIPWAY_ASSIGN_OR_RETURN(auto v, detail::load_version(db, k.id, k.name, k.version));
    page.versions.push_back(std::move(v));
  }
  return page;
}

Status Registry::set_version_description(const std::string& name, int64_t version, const std::string& description,
                                         const Actor& actor) {
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, detail::model_id(db, name));
  SLIPWAY_RETURN_IF_ERROR(detail::require_version(db, id, name, version));
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("UPDATE model_versions SET description = ? WHERE model_id = ? AND "
                                                 "version = ?"));
  stmt.bind(1, description).bind(2, id).bind(3, version);
  SLIPWAY_RETURN_IF_ERROR(stmt.run());
  SLIPWAY_RETURN_IF_ERROR(detail::touch_version(db, id, version, now_ms()));
  SLIPWAY_RETURN_IF_ERROR(detail::audit(db, actor, "update", id, name, version, "description: " + description));
  return txn.commit();
}

Status Registry::set_version_tag(const std::string& name, int64_t version, const std::string& key,
                                 const std::string& value, const Actor& actor) {
  SLIPWAY_RETURN_IF_ERROR(detail::validate_tag(key, value));
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, detail::model_id(db, name));
  SLIPWAY_RETURN_IF_ERROR(detail::require_version(db, id, name, version));
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("INSERT OR REPLACE INTO model_version_tags (model_id, version, key, "
                                                 "value) VALUES (?, ?, ?, ?)"));
  stmt.bind(1, id).bind(2, version).bind(3, key).bind(4, value);
  SLIPWAY_RETURN_IF_ERROR(stmt.run());
  SLIPWAY_RETURN_IF_ERROR(detail::touch_version(db, id, version, now_ms()));
  SLIPWAY_RETURN_IF_ERROR(detail::audit(db, actor, "tag", id, name, version, key + "=" + value));
  return txn.commit();
}

Status Registry::delete_version_tag(const std::string& name, int64_t version, const std::string& key,
                                    const Actor& actor) {
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, detail::model_id(db, name));
  SLIPWAY_RETURN_IF_ERROR(detail::require_version(db, id, name, version));
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("DELETE FROM model_version_tags WHERE model_id = ? AND version = ? AND "
                                                 "key = ?"));
  stmt.bind(1, id).bind(2, version).bind(3, key);
  SLIPWAY_RETURN_IF_ERROR(stmt.run());
  if (db.changes() == 0) {
    return make_error(ErrorCode::kNotFound, "model version {}/{} has no tag '{}'", name, version, key);
  }
  SLIPWAY_RETURN_IF_ERROR(detail::touch_version(db, id, version, now_ms()));
  SLIPWAY_RETURN_IF_ERROR(detail::audit(db, actor, "delete-tag", id, name, version, key));
  return txn.commit();
}

namespace {

Status set_archived(store::Database& db, const std::string& name, int64_t version, bool archived, const Actor& actor) {
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, detail::model_id(db, name));
  SLIPWAY_ASSIGN_OR_RETURN(auto current, db.prepare("SELECT archived FROM model_versions WHERE model_id = ? AND "
                                                    "version = ?"));
  current.bind(1, id).bind(2, version);
  SLIPWAY_ASSIGN_OR_RETURN(bool row, current.step());
  if (!row) return make_error(ErrorCode::kNotFound, "model version {}/{} not found", name, version);
  if ((current.column_int64(0) != 0) == archived) {
    return make_error(ErrorCode::kFailedPrecondition, "model version {}/{} is {}", name, version,
                      archived ? "already archived" : "not archived");
  }
  if (archived) SLIPWAY_RETURN_IF_ERROR(detail::refuse_if_deployed(db, id, name, version));
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("UPDATE model_versions SET archived = ? WHERE model_id = ? AND "
                                                 "version = ?"));
  stmt.bind(1, int64_t{archived ? 1 : 0}).bind(2, id).bind(3, version);
  SLIPWAY_RETURN_IF_ERROR(stmt.run());
  SLIPWAY_RETURN_IF_ERROR(detail::touch_version(db, id, version, now_ms()));
  SLIPWAY_RETURN_IF_ERROR(detail::audit(db, actor, archived ? "archive" : "unarchive", id, name, version, ""));
  return txn.commit();
}

}  // namespace

Status Registry::archive_version(const std::string& name, int64_t version, const Actor& actor) {
  return set_archived(store_.db(), name, version, true, actor);
}

Status Registry::unarchive_version(const std::string& name, int64_t version, const Actor& actor) {
  return set_archived(store_.db(), name, version, false, actor);
}

Status Registry::delete_version(const std::string& name, int64_t version, const Actor& actor) {
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, detail::model_id(db, name));
  SLIPWAY_RETURN_IF_ERROR(detail::require_version(db, id, name, version));
  SLIPWAY_RETURN_IF_ERROR(detail::refuse_if_deployed(db, id, name, version));
  std::string aliases;
  {
    SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("SELECT alias FROM model_aliases WHERE model_id = ? AND version = ? "
                                                   "ORDER BY alias"));
    stmt.bind(1, id).bind(2, version);
    while (true) {
      SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
      if (!row) break;
      aliases += (aliases.empty() ? "" : ", ") + stmt.column_text(0);
    }
  }
  for (const char* table : {"model_deployments", "model_aliases", "model_version_tags", "model_version_metrics",
                            "model_version_datasets", "model_versions"}) {
    SLIPWAY_ASSIGN_OR_RETURN(auto del,
                             db.prepare(fmt::format("DELETE FROM {} WHERE model_id = ? AND version = ?", table)));
    del.bind(1, id).bind(2, version);
    SLIPWAY_RETURN_IF_ERROR(del.run());
  }
  SLIPWAY_RETURN_IF_ERROR(detail::touch_model(db, id, now_ms()));
  SLIPWAY_RETURN_IF_ERROR(detail::audit(db, actor, "delete-version", id, name, version,
                                        aliases.empty() ? "" : "aliases removed: " + aliases));
  return txn.commit();
}

// ---- Aliases ----

Status Registry::set_alias(const std::string& name, const std::string& alias, int64_t version, const Actor& actor) {
  SLIPWAY_RETURN_IF_ERROR(validate_alias(alias));
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, detail::model_id(db, name));
  SLIPWAY_RETURN_IF_ERROR(detail::require_version(db, id, name, version));
  SLIPWAY_RETURN_IF_ERROR(put_alias(db, id, name, alias, version, actor));
  return txn.commit();
}

Status Registry::delete_alias(const std::string& name, const std::string& alias, const Actor& actor) {
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, detail::model_id(db, name));
  SLIPWAY_ASSIGN_OR_RETURN(auto old, db.prepare("SELECT version FROM model_aliases WHERE model_id = ? AND alias = ?"));
  old.bind(1, id).bind(2, alias);
  SLIPWAY_ASSIGN_OR_RETURN(bool had, old.step());
  if (!had) return make_error(ErrorCode::kNotFound, "model '{}' has no alias '{}'", name, alias);
  const int64_t version = old.column_int64(0);
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("DELETE FROM model_aliases WHERE model_id = ? AND alias = ?"));
  stmt.bind(1, id).bind(2, alias);
  SLIPWAY_RETURN_IF_ERROR(stmt.run());
  SLIPWAY_RETURN_IF_ERROR(detail::touch_version(db, id, version, now_ms()));
  SLIPWAY_RETURN_IF_ERROR(
      detail::audit(db, actor, "delete-alias", id, name, version, fmt::format("{} (was {})", alias, version)));
  return txn.commit();
}

}  // namespace slipway::registry
