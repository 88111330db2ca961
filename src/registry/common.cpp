// Shared pieces: clock, audit rows, version loading, signature JSON, page tokens.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>

#include <nlohmann/json.hpp>

#include "detail/registry_internal.h"

namespace slipway::registry {

Signature signature_of(const model::Model& m) {
  Signature sig;
  sig.task = model::task_name(m.task);
  for (const auto& input : m.inputs) {
    sig.inputs.push_back({input.name, input.kind == model::InputKind::kCategorical ? "categorical" : "numeric"});
  }
  // The same output names `slipway model predict` writes.
  if (!m.output_names.empty()) {
    sig.outputs = m.output_names;
  } else if (m.task == model::Task::kRegression) {
    sig.outputs = {"value"};
  } else if (m.task == model::Task::kBinary) {
    sig.outputs = {"probability"};
  } else {
    for (size_t k = 0; k < m.n_outputs(); ++k) {
      sig.outputs.push_back("prob_" + (k < m.class_labels.size() ? m.class_labels[k] : std::to_string(k)));
    }
  }
  return sig;
}

namespace detail {

using store::Statement;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string iso_time(int64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

Result<int64_t> model_id(store::Database& db, const std::string& name) {
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("SELECT model_id FROM registered_models WHERE name = ?"));
  stmt.bind(1, name);
  SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) return make_error(ErrorCode::kNotFound, "registered model '{}' not found", name);
  return stmt.column_int64(0);
}

Status require_version(store::Database& db, int64_t id, const std::string& name, int64_t version) {
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("SELECT 1 FROM model_versions WHERE model_id = ? AND version = ?"));
  stmt.bind(1, id).bind(2, version);
  SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) return make_error(ErrorCode::kNotFound, "model version {}/{} not found", name, version);
  return {};
}

Result<ModelVersion> load_version(store::Database& db, int64_t id, const std::string& name, int64_t version) {
  SLIPWAY_ASSIGN_OR_RETURN(
      auto stmt, db.prepare("SELECT bundle_object_id, source, run_id, description, archived, user, creation_time, "
                            "last_updated_time, signature FROM model_versions WHERE model_id = ? AND version = ?"));
  stmt.bind(1, id).bind(2, version);
  SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) return make_error(ErrorCode::kNotFound, "model version {}/{} not found", name, version);
  ModelVersion v;
  v.name = name;
  v.version = version;
  v.bundle_object_id = stmt.column_optional_text(0).value_or("");
  v.source = stmt.column_text(1);
  v.run_id = stmt.column_optional_text(2);
  v.description = stmt.column_text(3);
  v.archived = stmt.column_int64(4) != 0;
  v.user = stmt.column_text(5);
  v.creation_time_ms = stmt.column_int64(6);
  v.last_updated_time_ms = stmt.column_int64(7);
  v.signature = signature_from_json(stmt.column_text(8));

  SLIPWAY_ASSIGN_OR_RETURN(auto tags, db.prepare("SELECT key, value FROM model_version_tags WHERE model_id = ? AND "
                                                 "version = ? ORDER BY key"));
  tags.bind(1, id).bind(2, version);
  while (true) {
    SLIPWAY_ASSIGN_OR_RETURN(bool more, tags.step());
    if (!more) break;
    v.tags[tags.column_text(0)] = tags.column_text(1);
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto aliases, db.prepare("SELECT alias FROM model_aliases WHERE model_id = ? AND "
                                                    "version = ? ORDER BY alias"));
  aliases.bind(1, id).bind(2, version);
  while (true) {
    SLIPWAY_ASSIGN_OR_RETURN(bool more, aliases.step());
    if (!more) break;
    v.aliases.push_back(aliases.column_text(0));
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto metrics, db.prepare("SELECT key, value, is_nan FROM model_version_metrics WHERE "
                                                    "model_id = ? AND version = ? ORDER BY key"));
  metrics.bind(1, id).bind(2, version);
  while (true) {
    SLIPWAY_ASSIGN_OR_RETURN(bool more, metrics.step());
    if (!more) break;
    v.metrics[metrics.column_text(0)] = metrics.column_int64(2) != 0 ? std::nan("") : metrics.column_double(1);
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto datasets, db.prepare("SELECT dataset, version_id, context FROM model_version_datasets "
                                                     "WHERE model_id = ? AND version = ? ORDER BY dataset, version_id, "
                                                     "context"));
  datasets.bind(1, id).bind(2, version);
  while (true) {
    SLIPWAY_ASSIGN_OR_RETURN(bool more, datasets.step());
    if (!more) break;
    v.datasets.push_back({datasets.column_text(0), datasets.column_text(1), datasets.column_text(2)});
  }
  return v;
}

Status audit(store::Database& db, const Actor& actor, std::string_view action, int64_t id, const std::string& name,
             std::optional<int64_t> version, const std::string& detail) {
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("INSERT INTO registry_audit (time, user, action, model_id, name, "
                                                 "version, detail, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  stmt.bind(1, now_ms()).bind(2, actor.user).bind(3, action).bind(4, id).bind(5, name);
  if (version) {
    stmt.bind(6, *version);
  } else {
    stmt.bind(6, nullptr);
  }
  stmt.bind(7, detail).bind(8, actor.reason);
  return stmt.run();
}

Status touch_model(store::Database& db, int64_t id, int64_t now) {
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("UPDATE registered_models SET last_updated_time = max(last_updated_time, "
                                                 "?) WHERE model_id = ?"));
  stmt.bind(1, now).bind(2, id);
  return stmt.run();
}

Status touch_version(store::Database& db, int64_t id, int64_t version, int64_t now) {
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("UPDATE model_versions SET last_updated_time = max(last_updated_time, "
                                                 "?) WHERE model_id = ? AND version = ?"));
  stmt.bind(1, now).bind(2, id).bind(3, version);
  SLIPWAY_RETURN_IF_ERROR(stmt.run());
  return touch_model(db, id, now);
}

Status validate_tag(std::string_view key, std::string_view value) {
  if (key.empty()) return make_error(ErrorCode::kInvalidArgument, "tag key must not be empty");
  if (key.size() > 250) {
    return make_error(ErrorCode::kInvalidArgument, "tag key '{}...' is {} bytes; the limit is 250", key.substr(0, 32),
                      key.size());
  }
  if (value.size() > 5000) {
    return make_error(ErrorCode::kInvalidArgument, "value of tag '{}' is {} bytes; the limit is 5000", key,
                      value.size());
  }
  return {};
}

std::string signature_to_json(const Signature& sig) {
  nlohmann::json inputs = nlohmann::json::array();
  for (const auto& in : sig.inputs) inputs.push_back({{"name", in.name}, {"kind", in.kind}});
  return nlohmann::json{{"task", sig.task}, {"inputs", inputs}, {"outputs", sig.outputs}}.dump();
}

Signature signature_from_json(std::string_view text) {
  Signature sig;
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return sig;
  if (j.contains("task") && j["task"].is_string()) sig.task = j["task"].get<std::string>();
  if (j.contains("inputs") && j["inputs"].is_array()) {
    for (const auto& in : j["inputs"]) {
      if (in.is_object()) sig.inputs.push_back({in.value("name", ""), in.value("kind", "")});
    }
  }
  if (j.contains("outputs") && j["outputs"].is_array()) {
    for (const auto& out : j["outputs"]) {
      if (out.is_string()) sig.outputs.push_back(out.get<std::string>());
    }
  }
  return sig;
}

std::string page_token(size_t offset) { return std::to_string(offset); }

Result<size_t> parse_page_token(const std::string& token) {
  if (token.empty()) return size_t{0};
  size_t offset = 0;
  for (char c : token) {
    if (c < '0' || c > '9' || offset > (SIZE_MAX - 9) / 10) {
      return make_error(ErrorCode::kInvalidArgument, "invalid page token '{}'", token);
    }
    offset = offset * 10 + static_cast<size_t>(c - '0');
  }
  return offset;
}

}  // namespace detail
}  // namespace slipway::registry
