// Resolution of specs, registered models (create, read, search, update, rename, delete) and the
// audit trail.
#include "slipway/registry/registry.h"

#include "detail/registry_internal.h"
#include "slipway/model/bundle.h"

namespace slipway::registry {

using detail::now_ms;

Registry::Registry(store::Store& store) : store_(store) {}

// ---- Resolution ----

Result<ModelRef> Registry::resolve(std::string_view spec_text_in) {
  SLIPWAY_ASSIGN_OR_RETURN(ModelSpec spec, parse_model_spec(spec_text_in));
  auto& db = store_.db();
  detail::ReadSnapshot snapshot(db);
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, detail::model_id(db, spec.name));
  int64_t version = 0;
  if (spec.alias) {
    SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("SELECT version FROM model_aliases WHERE model_id = ? AND alias = ?"));
    stmt.bind(1, id).bind(2, *spec.alias);
    SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) return make_error(ErrorCode::kNotFound, "model '{}' has no alias '{}'", spec.name, *spec.alias);
    version = stmt.column_int64(0);
  } else if (spec.version) {
    version = *spec.version;
  } else {
    SLIPWAY_ASSIGN_OR_RETURN(auto stmt,
                             db.prepare("SELECT max(version) FROM model_versions WHERE model_id = ? AND archived = 0"));
    stmt.bind(1, id);
    SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row || stmt.column_is_null(0)) {
      return make_error(ErrorCode::kNotFound, "model '{}' has no version that is not archived", spec.name);
    }
    version = stmt.column_int64(0);
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("SELECT bundle_object_id FROM model_versions WHERE model_id = ? AND "
                                                 "version = ?"));
  stmt.bind(1, id).bind(2, version);
  SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) return make_error(ErrorCode::kNotFound, "model version {}/{} not found", spec.name, version);
  return ModelRef{spec.name, version, stmt.column_optional_text(0).value_or("")};
}

Result<ModelVersion> Registry::resolve_version(std::string_view spec) {
  SLIPWAY_ASSIGN_OR_RETURN(ModelRef ref, resolve(spec));
  return get_version(ref.name, ref.version);
}

Result<model::Model> Registry::load_model(const ModelRef& ref) {
  if (ref.bundle_object_id.empty()) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "model version {}/{} has no model bundle (it was registered from a source slipway cannot "
                      "load); register a bundle with `slipway models register RUN|BUNDLE.slw --name {}`",
                      ref.name, ref.version, ref.name);
  }
  SLIPWAY_ASSIGN_OR_RETURN(std::string bytes, store_.objects().get(ref.bundle_object_id));
  return model::parse_bundle(bytes, fmt::format("{}/{}", ref.name, ref.version));
}

// ---- Registered models ----

namespace {

Status check_tags(const std::map<std::string, std::string>& tags) {
  for (const auto& [k, v] : tags) SLIPWAY_RETURN_IF_ERROR(detail::validate_tag(k, v));
  return {};
}

Result<RegisteredModel> load_model_row(store::Database& db, int64_t id) {
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("SELECT name, description, creation_time, last_updated_time FROM "
                                                 "registered_models WHERE model_id = ?"));
  stmt.bind(1, id);
  SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) return make_error(ErrorCode::kNotFound, "registered model #{} not found", id);
  RegisteredModel m;
  m.name = stmt.column_text(0);
  m.description = stmt.column_text(1);
  m.creation_time_ms = stmt.column_int64(2);
  m.last_updated_time_ms = stmt.column_int64(3);
  SLIPWAY_ASSIGN_OR_RETURN(auto tags, db.prepare("SELECT key, value FROM registered_model_tags WHERE model_id = ?"));
  tags.bind(1, id);
  while (true) {
    SLIPWAY_ASSIGN_OR_RETURN(bool more, tags.step());
    if (!more) break;
    m.tags[tags.column_text(0)] = tags.column_text(1);
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto aliases, db.prepare("SELECT alias, version FROM model_aliases WHERE model_id = ?"));
  aliases.bind(1, id);
  while (true) {
    SLIPWAY_ASSIGN_OR_RETURN(bool more, aliases.step());
    if (!more) break;
    m.aliases[aliases.column_text(0)] = aliases.column_int64(1);
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto versions, db.prepare("SELECT max(version), count(*) FROM model_versions WHERE "
                                                     "model_id = ?"));
  versions.bind(1, id);
  SLIPWAY_ASSIGN_OR_RETURN(bool any, versions.step());
  if (any && !versions.column_is_null(0)) m.latest_version = versions.column_int64(0);
  if (any) m.version_count = versions.column_int64(1);
  return m;
}

// Creates the model row (inside the caller's transaction) and audits it.
Result<int64_t> insert_model(store::Database& db, const std::string& name, const std::string& description,
                             const std::map<std::string, std::string>& tags, const Actor& actor) {
  const int64_t now = now_ms();
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("INSERT INTO registered_models (name, description, creation_time, "
                                                 "last_updated_time) VALUES (?, ?, ?, ?)"));
  stmt.bind(1, name).bind(2, description).bind(3, now).bind(4, now);
  SLIPWAY_RETURN_IF_ERROR(stmt.run());
  SLIPWAY_ASSIGN_OR_RETURN(auto last, db.prepare("SELECT last_insert_rowid()"));
  SLIPWAY_ASSIGN_OR_RETURN(bool row, last.step());
  if (!row) return make_error(ErrorCode::kInternal, "no row id after inserting model '{}'", name);
  const int64_t id = last.column_int64(0);
  for (const auto& [k, v] : tags) {
    SLIPWAY_ASSIGN_OR_RETURN(auto tag, db.prepare("INSERT INTO registered_model_tags (model_id, key, value) VALUES "
                                                  "(?, ?, ?)"));
    tag.bind(1, id).bind(2, k).bind(3, v);
    SLIPWAY_RETURN_IF_ERROR(tag.run());
  }
  SLIPWAY_RETURN_IF_ERROR(detail::audit(db, actor, "create", id, name, std::nullopt,
                                        description.empty() ? "" : "description: " + description));
  return id;
}

}  // namespace

namespace detail {
// register_version (versions.cpp) creates the model on first use.
Result<int64_t> find_or_create_model(store::Database& db, const std::string& name, const Actor& actor) {
  auto id = model_id(db, name);
  if (id.ok() || id.status().code() != ErrorCode::kNotFound) return id;
  return insert_model(db, name, "", {}, actor);
}
}  // namespace detail

Result<RegisteredModel> Registry::create_model(const std::string& name, const std::string& description,
                                               const std::map<std::string, std::string>& tags, const Actor& actor) {
  SLIPWAY_RETURN_IF_ERROR(validate_model_name(name));
  SLIPWAY_RETURN_IF_ERROR(check_tags(tags));
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  if (detail::model_id(db, name).ok()) {
    return make_error(ErrorCode::kAlreadyExists, "registered model '{}' already exists", name);
  }
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, insert_model(db, name, description, tags, actor));
  SLIPWAY_RETURN_IF_ERROR(txn.commit());
  return load_model_row(db, id);
}

Result<RegisteredModel> Registry::get_model(const std::string& name) {
  auto& db = store_.db();
  detail::ReadSnapshot snapshot(db);
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, detail::model_id(db, name));
  return load_model_row(db, id);
}

Result<ModelsPage> Registry::search_models(const SearchModelsRequest& request) {
  SLIPWAY_ASSIGN_OR_RETURN(size_t offset, detail::parse_page_token(request.page_token));
  const size_t limit = request.max_results == 0 ? 100 : request.max_results;
  auto& db = store_.db();
  detail::ReadSnapshot snapshot(db);
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("SELECT model_id FROM registered_models WHERE (?1 = '' OR name LIKE ?1) "
                                                 "AND (?2 = '' OR name = ?2) ORDER BY name LIMIT ?3 OFFSET ?4"));
  stmt.bind(1, request.name_like).bind(2, request.name);
  stmt.bind(3, static_cast<int64_t>(limit + 1)).bind(4, static_cast<int64_t>(offset));
  std::vector<int64_t> ids;
  while (true) {
    SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    ids.push_back(stmt.column_int64(0));
  }
  ModelsPage page;
  if (ids.size() > limit) {
    ids.resize(limit);
    page.next_page_token = detail::page_token(offset + limit);
  }
  for (int64_t id : ids) {
    SLIPWAY_ASSIGN_OR_RETURN(auto m, load_model_row(db, id));
    page.models.push_back(std::move(m));
  }
  return page;
}

Status Registry::set_model_description(const std::string& name, const std::string& description, const Actor& actor) {
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, detail::model_id(db, name));
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("UPDATE registered_models SET description = ? WHERE model_id = ?"));
  stmt.bind(1, description).bind(2, id);
  SLIPWAY_RETURN_IF_ERROR(stmt.run());
  SLIPWAY_RETURN_IF_ERROR(detail::touch_model(db, id, now_ms()));
  SLIPWAY_RETURN_IF_ERROR(detail::audit(db, actor, "update", id, name, std::nullopt, "description: " + description));
  return txn.commit();
}

Status Registry::set_model_tag(const std::string& name, const std::string& key, const std::string& value,
                               const Actor& actor) {
  SLIPWAY_RETURN_IF_ERROR(detail::validate_tag(key, value));
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, detail::model_id(db, name));
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("INSERT OR REPLACE INTO registered_model_tags (model_id, key, value) "
                                                 "VALUES (?, ?, ?)"));
  stmt.bind(1, id).bind(2, key).bind(3, value);
  SLIPWAY_RETURN_IF_ERROR(stmt.run());
  SLIPWAY_RETURN_IF_ERROR(detail::touch_model(db, id, now_ms()));
  SLIPWAY_RETURN_IF_ERROR(detail::audit(db, actor, "tag", id, name, std::nullopt, key + "=" + value));
  return txn.commit();
}

Status Registry::delete_model_tag(const std::string& name, const std::string& key, const Actor& actor) {
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, detail::model_id(db, name));
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("DELETE FROM registered_model_tags WHERE model_id = ? AND key = ?"));
  stmt.bind(1, id).bind(2, key);
  SLIPWAY_RETURN_IF_ERROR(stmt.run());
  if (db.changes() == 0) return make_error(ErrorCode::kNotFound, "registered model '{}' has no tag '{}'", name, key);
  SLIPWAY_RETURN_IF_ERROR(detail::touch_model(db, id, now_ms()));
  SLIPWAY_RETURN_IF_ERROR(detail::audit(db, actor, "delete-tag", id, name, std::nullopt, key));
  return txn.commit();
}

Status Registry::rename_model(const std::string& name, const std::string& new_name, const Actor& actor) {
  SLIPWAY_RETURN_IF_ERROR(validate_model_name(new_name));
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, detail::model_id(db, name));
  if (name == new_name) return {};
  if (detail::model_id(db, new_name).ok()) {
    return make_error(ErrorCode::kAlreadyExists, "registered model '{}' already exists", new_name);
  }
  // A served version is named by its model: renaming under a running server would orphan it.
  SLIPWAY_RETURN_IF_ERROR(detail::refuse_if_deployed(db, id, name, 0));
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("UPDATE registered_models SET name = ? WHERE model_id = ?"));
  stmt.bind(1, new_name).bind(2, id);
  SLIPWAY_RETURN_IF_ERROR(stmt.run());
  SLIPWAY_RETURN_IF_ERROR(detail::touch_model(db, id, now_ms()));
  SLIPWAY_RETURN_IF_ERROR(detail::audit(db, actor, "rename", id, new_name, std::nullopt, name + " -> " + new_name));
  return txn.commit();
}

Status Registry::delete_model(const std::string& name, const Actor& actor) {
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(int64_t id, detail::model_id(db, name));
  SLIPWAY_RETURN_IF_ERROR(detail::refuse_if_deployed(db, id, name, 0));
  SLIPWAY_ASSIGN_OR_RETURN(auto count, db.prepare("SELECT count(*) FROM model_versions WHERE model_id = ?"));
  count.bind(1, id);
  SLIPWAY_ASSIGN_OR_RETURN(bool row, count.step());
  const int64_t versions = row ? count.column_int64(0) : 0;
  // Children first: the version-level tables reference model_versions, which references the model.
  for (const char* table : {"model_deployments", "model_aliases", "model_version_tags", "model_version_metrics",
                            "model_version_datasets", "model_versions", "registered_model_tags", "registered_models"}) {
    SLIPWAY_ASSIGN_OR_RETURN(auto del, db.prepare(fmt::format("DELETE FROM {} WHERE model_id = ?", table)));
    del.bind(1, id);
    SLIPWAY_RETURN_IF_ERROR(del.run());
  }
  SLIPWAY_RETURN_IF_ERROR(
      detail::audit(db, actor, "delete", id, name, std::nullopt, fmt::format("{} version(s) deleted", versions)));
  return txn.commit();
}

// ---- Audit ----

Result<std::vector<AuditEntry>> Registry::history(const std::string& name) {
  SLIPWAY_RETURN_IF_ERROR(validate_model_name(name));
  auto& db = store_.db();
  detail::ReadSnapshot snapshot(db);
  // The model now called `name`, and any (maybe deleted or renamed) model ever called that.
  SLIPWAY_ASSIGN_OR_RETURN(
      auto stmt,
      db.prepare("SELECT seq, time, user, action, name, version, detail, reason FROM registry_audit WHERE model_id IN "
                 "(SELECT model_id FROM registered_models WHERE name = ?1 UNION SELECT model_id FROM registry_audit "
                 "WHERE name = ?1) ORDER BY seq"));
  stmt.bind(1, name);
  std::vector<AuditEntry> out;
  while (true) {
    SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    AuditEntry e;
    e.seq = stmt.column_int64(0);
    e.time_ms = stmt.column_int64(1);
    e.user = stmt.column_text(2);
    e.action = stmt.column_text(3);
    e.name = stmt.column_text(4);
    if (!stmt.column_is_null(5)) e.version = stmt.column_int64(5);
    e.detail = stmt.column_text(6);
    e.reason = stmt.column_text(7);
    out.push_back(std::move(e));
  }
  if (out.empty()) return make_error(ErrorCode::kNotFound, "registered model '{}' not found", name);
  return out;
}

}  // namespace slipway::registry
