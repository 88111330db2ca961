// The model registry: registered models, their numbered versions (each pointing at a model bundle
// in the object store), aliases (champion / challenger), descriptions and tags, archive and delete,
// the deployments that use a version, and an audit trail of every change (who, when, why).
// Stored in the store's metadata database (migration 3); see docs/registry.md.
//
// A model is named anywhere as a spec:
//   "NAME@ALIAS"  the version the alias points at
//   "NAME/N"      version N
//   "NAME"        the latest version that is not archived
// Names: 1..256 bytes, no '/', '@', control characters, nor leading/trailing spaces.
// Aliases: 1..255 of [A-Za-z0-9_-], not "latest" (reserved: "NAME@latest" = "NAME"), and not
// "v<digits>" (MLflow reserves those for versions).
//
// Many processes may write at once: every change is one SQLite transaction (BEGIN IMMEDIATE), so
// concurrent registrations get distinct, consecutive version numbers. Version numbers are never
// reused within a registered model, even after a version is deleted.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slipway/core/status.h"
#include "slipway/model/model.h"
#include "slipway/store/store.h"

namespace slipway::registry {

// What serving needs: the resolved version and the bundle to load. bundle_object_id is empty for
// a version registered (through MLflow) without a bundle; serving refuses those.
struct ModelRef {
  std::string name;
  int64_t version = 0;
  std::string bundle_object_id;

  bool operator==(const ModelRef&) const = default;
};

// A parsed spec (syntax only; nothing looked up).
struct ModelSpec {
  std::string name;
  std::optional<int64_t> version;
  std::optional<std::string> alias;
};
// kInvalidArgument naming the part that is wrong ("model version 'x' in 'churn/x' is not a
// positive integer", "invalid alias 'a b' in 'churn@a b': ...").
Result<ModelSpec> parse_model_spec(std::string_view spec);
Status validate_model_name(std::string_view name);
Status validate_alias(std::string_view alias);
// "churn/3", "churn@champion" or "churn".
std::string spec_text(const ModelSpec& spec);

// The version's signature, from its bundle: typed inputs, named outputs.
struct SignatureInput {
  std::string name;
  std::string kind;  // "numeric" or "categorical"
};
struct Signature {
  std::string task;  // "regression", "binary", "multiclass"; empty when there is no bundle
  std::vector<SignatureInput> inputs;
  std::vector<std::string> outputs;
};
Signature signature_of(const model::Model& model);

struct LineageDataset {
  std::string dataset;     // may be empty when only the version id is known (bundle provenance)
  std::string version_id;  // dataset version id
  std::string context;     // "training", "evaluation", ... (empty when unknown)
};

struct ModelVersion {
  std::string name;
  int64_t version = 0;
  std::string bundle_object_id;  // empty: no bundle
  std::string source;            // what it was registered from: "runs:/<id>", a file path, an MLflow URI
  std::optional<std::string> run_id;
  std::string description;
  std::map<std::string, std::string> tags;
  std::vector<std::string> aliases;  // sorted
  bool archived = false;
  std::string user;
  int64_t creation_time_ms = 0;
  int64_t last_updated_time_ms = 0;
  Signature signature;
  std::map<std::string, double> metrics;  // from the run (latest value per key)
  std::vector<LineageDataset> datasets;
};

struct RegisteredModel {
  std::string name;
  std::string description;
  std::map<std::string, std::string> tags;
  std::map<std::string, int64_t> aliases;  // alias -> version
  int64_t creation_time_ms = 0;
  int64_t last_updated_time_ms = 0;
  std::optional<int64_t> latest_version;  // highest existing version number, archived or not
  int64_t version_count = 0;
};

// Who made a change and why; recorded in the audit trail with the time.
struct Actor {
  std::string user;
  std::string reason;
};

struct AuditEntry {
  int64_t seq = 0;
  int64_t time_ms = 0;
  std::string user;
  std::string action;  // "create", "register", "alias", "delete-alias", "archive", "unarchive", "update",
                       // "tag", "delete-tag", "rename", "delete-version", "delete"
  std::string name;
  std::optional<int64_t> version;
  std::string detail;  // e.g. "champion: 2 -> 3"
  std::string reason;
};

struct Deployment {
  std::string name;
  int64_t version = 0;
  std::string endpoint;
  std::string host;
  int64_t pid = 0;
  int64_t process_start_ticks = 0;  // guards against pid reuse
  int64_t started_ms = 0;
};

// What a new version is made of. `register_version` fills nothing in: use version_from_run /
// version_from_bundle_file to build one from a tracking run or a bundle file.
struct NewVersion {
  std::string name;
  std::string bundle_object_id;  // may be empty (MLflow sources with no bundle)
  std::string source;
  std::optional<std::string> run_id;
  std::string description;
  std::map<std::string, std::string> tags;
  std::vector<std::string> aliases;  // set to the new version in the same transaction
  Signature signature;
  std::map<std::string, double> metrics;
  std::vector<LineageDataset> datasets;
};

struct SearchModelsRequest {
  std::string name;       // exact; empty: any
  std::string name_like;  // SQL LIKE pattern ('%' any, '_' one character, ASCII case-insensitive); empty: any
  size_t max_results = 100;
  std::string page_token;
};
struct ModelsPage {
  std::vector<RegisteredModel> models;
  std::string next_page_token;  // empty on the last page
};

struct SearchVersionsRequest {
  std::string name;   // exact; empty: every model
  std::string run_id; // exact; empty: any
  bool include_archived = true;
  size_t max_results = 1000;
  std::string page_token;
};
struct VersionsPage {
  std::vector<ModelVersion> versions;
  std::string next_page_token;
};

class Registry {
 public:
  // Uses the store's database and objects; the tables exist after Store::open (migration 3).
  explicit Registry(store::Store& store);

  // ---- Resolution (what serving and `slipway model predict NAME@ALIAS` call) ----
  // kNotFound names the missing part ("registered model 'churn' not found", "model 'churn' has no
  // alias 'champion'", "model version churn/7 not found", "model 'churn' has no version that is not
  // archived"); kInvalidArgument for a malformed spec. Cheap: a few indexed reads, no write.
  Result<ModelRef> resolve(std::string_view spec);
  Result<ModelVersion> resolve_version(std::string_view spec);
  // The version's bundle, parsed. kFailedPrecondition when the version has no bundle.
  Result<model::Model> load_model(const ModelRef& ref);

  // ---- Building new versions ----
  // From a tracking run: its output model (required: kFailedPrecondition otherwise), metrics,
  // dataset inputs. `run` may be an abbreviated id (unique prefix of >= 6 hex characters).
  Result<NewVersion> version_from_run(const std::string& run);
  // From a bundle file: stores it in the object store; lineage from its provenance (run id,
  // dataset versions) and, when that run is in this store, the run's metrics and inputs.
  Result<NewVersion> version_from_bundle_file(const std::filesystem::path& path);
  // The same for bundle bytes received some other way (an HTTP upload); `source` is recorded as is.
  Result<NewVersion> version_from_bundle_bytes(std::string_view bytes, const std::string& source);
  // From an MLflow model source ("runs:/<run>/<path>", "mlflow-artifacts:/<exp>/<run>/artifacts/<path>",
  // anything else) and an optional run id: when the run (given, or named by the source) is in this
  // store and has an output model, the version gets that bundle, its signature, the run's metrics
  // and inputs. Otherwise the version has no bundle (serving refuses it, saying why) and keeps the
  // run id and the run's metrics and inputs when the run is known.
  Result<NewVersion> version_from_mlflow_source(const std::string& source, const std::optional<std::string>& run_id);

  // ---- Registered models ----
  Result<RegisteredModel> create_model(const std::string& name, const std::string& description,
                                       const std::map<std::string, std::string>& tags, const Actor& actor);
  Result<RegisteredModel> get_model(const std::string& name);
  Result<ModelsPage> search_models(const SearchModelsRequest& request);
  Status set_model_description(const std::string& name, const std::string& description, const Actor& actor);
  Status set_model_tag(const std::string& name, const std::string& key, const std::string& value, const Actor& actor);
  Status delete_model_tag(const std::string& name, const std::string& key, const Actor& actor);
  Status rename_model(const std::string& name, const std::string& new_name, const Actor& actor);
  // Refused (kFailedPrecondition) while a live deployment uses any of its versions.
  Status delete_model(const std::string& name, const Actor& actor);

  // ---- Versions ----
  // Creates the registered model when it does not exist yet; the version is max-ever + 1.
  Result<ModelVersion> register_version(const NewVersion& version, const Actor& actor);
  Result<ModelVersion> get_version(const std::string& name, int64_t version);
  Result<VersionsPage> search_versions(const SearchVersionsRequest& request);
  Status set_version_description(const std::string& name, int64_t version, const std::string& description,
                                 const Actor& actor);
  Status set_version_tag(const std::string& name, int64_t version, const std::string& key, const std::string& value,
                         const Actor& actor);
  Status delete_version_tag(const std::string& name, int64_t version, const std::string& key, const Actor& actor);
  // Archive: kept, still resolvable as NAME/N and through its aliases, but skipped by "NAME".
  // Archiving is refused while a live deployment uses the version; so is deleting.
  Status archive_version(const std::string& name, int64_t version, const Actor& actor);
  Status unarchive_version(const std::string& name, int64_t version, const Actor& actor);
  Status delete_version(const std::string& name, int64_t version, const Actor& actor);  // its aliases go too

  // ---- Aliases ----
  Status set_alias(const std::string& name, const std::string& alias, int64_t version, const Actor& actor);
  Status delete_alias(const std::string& name, const std::string& alias, const Actor& actor);

  // ---- Deployments (recorded by serving) ----
  // The serving process is identified by `pid` on this host (kNotFound when there is no such
  // process); a deployment whose process is gone, or whose pid now names another process, does
  // not count. Recording the same (version, endpoint, pid) again replaces the row.
  Status record_deployment(const ModelRef& ref, const std::string& endpoint, int64_t pid);
  Status end_deployment(const ModelRef& ref, const std::string& endpoint, int64_t pid);
  // Live deployments of a model (every model when `name` is empty).
  Result<std::vector<Deployment>> deployments(const std::string& name = "");

  // ---- Audit ----
  // Every change to `name` (under any of its earlier names), oldest first.
  Result<std::vector<AuditEntry>> history(const std::string& name);

 private:
  store::Store& store_;
};

}  // namespace slipway::registry
