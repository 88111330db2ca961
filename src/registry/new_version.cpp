// Building a new version from a tracking run or a bundle file: the signature comes from the
// bundle, metrics from the run, lineage from both (the run's dataset inputs, the bundle's
// provenance).
#include <algorithm>

#include "detail/registry_internal.h"
#include "slipway/core/fs.h"
#include "slipway/model/bundle.h"
#include "slipway/track/tracking.h"

namespace slipway::registry {

namespace {

// The dataset a version id belongs to, when that version is in this store.
std::string dataset_of(store::Database& db, const std::string& version_id) {
  auto stmt = db.prepare("SELECT dataset FROM dataset_versions WHERE id = ?");
  if (!stmt.ok()) return "";
  stmt->bind(1, version_id);
  auto row = stmt->step();
  return row.ok() && *row ? stmt->column_text(0) : "";
}

// Adds the run's metrics and inputs to `out`.
void add_run_details(const track::Run& run, NewVersion& out) {
  for (const auto& m : run.latest_metrics) out.metrics[m.key] = m.value;
  for (const auto& in : run.inputs) out.datasets.push_back({in.dataset, in.version_id, in.context});
}

// Adds the bundle's provenance datasets that the run did not already name.
void add_provenance(store::Database& db, const model::Model& m, NewVersion& out) {
  for (const auto& id : m.provenance.dataset_versions) {
    const bool known = std::any_of(out.datasets.begin(), out.datasets.end(),
                                   [&](const LineageDataset& d) { return d.version_id == id; });
    if (!known) out.datasets.push_back({dataset_of(db, id), id, "training"});
  }
}

}  // namespace

Result<NewVersion> Registry::version_from_run(const std::string& run) {
  track::Tracking tracking(store_);
  SLIPWAY_ASSIGN_OR_RETURN(std::string run_id, tracking.resolve_run_prefix(run));
  SLIPWAY_ASSIGN_OR_RETURN(track::Run r, tracking.get_run(run_id));
  if (r.info.lifecycle == track::Lifecycle::kDeleted) {
    return make_error(ErrorCode::kFailedPrecondition, "run {} is deleted; restore it before registering its model",
                      run_id);
  }
  if (!r.output_model) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "run {} has no output model (only runs of `slipway train` record one); register a bundle "
                      "file instead",
                      run_id);
  }
  SLIPWAY_ASSIGN_OR_RETURN(std::string bytes, store_.objects().get(*r.output_model));
  SLIPWAY_ASSIGN_OR_RETURN(model::Model m, model::parse_bundle(bytes, "output model of run " + run_id));
  NewVersion out;
  out.bundle_object_id = *r.output_model;
  out.source = "runs:/" + run_id;
  out.run_id = run_id;
  out.signature = signature_of(m);
  add_run_details(r, out);
  add_provenance(store_.db(), m, out);
  return out;
}

Result<NewVersion> Registry::version_from_bundle_file(const std::filesystem::path& path) {
  SLIPWAY_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  return version_from_bundle_bytes(bytes, path.string());
}

Result<NewVersion> Registry::version_from_bundle_bytes(std::string_view bytes, const std::string& source) {
  SLIPWAY_ASSIGN_OR_RETURN(model::Model m, model::parse_bundle(bytes, source));
  SLIPWAY_ASSIGN_OR_RETURN(store::PutResult put, store_.objects().put(bytes));
  // Durable before any row refers to it.
  SLIPWAY_RETURN_IF_ERROR(store_.objects().sync());
  NewVersion out;
  out.bundle_object_id = put.id;
  out.source = source;
  out.signature = signature_of(m);
  if (m.provenance.run_id && !m.provenance.run_id->empty()) {
    out.run_id = *m.provenance.run_id;
    track::Tracking tracking(store_);
    auto run = tracking.get_run(*m.provenance.run_id);
    if (run.ok()) add_run_details(*run, out);  // a run from another store: lineage keeps its id only
  }
  add_provenance(store_.db(), m, out);
  return out;
}

namespace {

// The run an MLflow source names: "runs:/<run>/..." or "mlflow-artifacts:/<exp>/<run>/artifacts/...".
std::string run_in_source(std::string_view source) {
  auto segment = [](std::string_view rest, size_t index) -> std::string {
    while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
    for (size_t i = 0; i < index; ++i) {
      size_t slash = rest.find('/');
      if (slash == std::string_view::npos) return "";
      rest.remove_prefix(slash + 1);
    }
    return std::string(rest.substr(0, rest.find('/')));
  };
  if (source.starts_with("runs:/")) return segment(source.substr(6), 0);
  if (source.starts_with("mlflow-artifacts:/")) return segment(source.substr(18), 1);
  return "";
}

}  // namespace

Result<NewVersion> Registry::version_from_mlflow_source(const std::string& source,
                                                        const std::optional<std::string>& run_id) {
  std::string run = run_id && !run_id->empty() ? *run_id : run_in_source(source);
  NewVersion out;
  out.source = source;
  if (run.empty()) return out;
  out.run_id = run;
  track::Tracking tracking(store_);
  auto r = tracking.get_run(run);
  if (!r.ok()) {
    if (r.status().code() == ErrorCode::kNotFound) return out;  // a run of another tracking server
    return r.status();
  }
  if (r->output_model) {
    SLIPWAY_ASSIGN_OR_RETURN(NewVersion from_run, version_from_run(run));
    from_run.source = source;
    return from_run;
  }
  add_run_details(*r, out);
  return out;
}

}  // namespace slipway::registry
