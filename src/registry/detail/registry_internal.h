// Helpers shared by the registry sources (not part of the contract in slipway/registry/registry.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slipway/core/status.h"
#include "slipway/registry/registry.h"
#include "slipway/store/database.h"

namespace slipway::registry::detail {

int64_t now_ms();
std::string iso_time(int64_t ms);  // "2025-01-02T03:04:05Z" (UTC)
std::string host_name();

// A registered model's row id; kNotFound "registered model 'NAME' not found".
Result<int64_t> model_id(store::Database& db, const std::string& name);

// Loads a version (with tags, aliases, metrics, datasets); kNotFound "model version NAME/N not found".
Result<ModelVersion> load_version(store::Database& db, int64_t model_id, const std::string& name, int64_t version);
Status require_version(store::Database& db, int64_t model_id, const std::string& name, int64_t version);

// Appends one audit row (inside the caller's transaction).
Status audit(store::Database& db, const Actor& actor, std::string_view action, int64_t model_id,
             const std::string& name, std::optional<int64_t> version, const std::string& detail);
Status touch_model(store::Database& db, int64_t model_id, int64_t now);
Status touch_version(store::Database& db, int64_t model_id, int64_t version, int64_t now);

// The live deployments of a model (version 0: every version). Rows whose process is gone from this
// host (or whose pid now names another process) are skipped; `dead` collects them for pruning.
Result<std::vector<Deployment>> live_deployments(store::Database& db, int64_t model_id, const std::string& name,
                                                 int64_t version, std::vector<Deployment>* dead = nullptr);
// kFailedPrecondition "model version churn/3 is deployed at endpoint churn (pid 1234, since …); stop it
// first" when a live deployment uses the version (0: any version of the model).
Status refuse_if_deployed(store::Database& db, int64_t model_id, const std::string& name, int64_t version);

// Tag keys: non-empty, at most 250 bytes; values at most 5000 bytes (MLflow's registry limits).
Status validate_tag(std::string_view key, std::string_view value);

std::string signature_to_json(const Signature& signature);
Signature signature_from_json(std::string_view text);

// Opaque page tokens: an offset into the ordered result.
std::string page_token(size_t offset);
Result<size_t> parse_page_token(const std::string& token);

// A read snapshot (deferred transaction) so several SELECTs see one state of the database.
class ReadSnapshot {
 public:
  explicit ReadSnapshot(store::Database& db) : db_(db) { open_ = db_.exec("BEGIN").ok(); }
  ~ReadSnapshot() {
    if (open_) (void)db_.exec("COMMIT");
  }
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

 private:
  store::Database& db_;
  bool open_ = false;
};

}  // namespace slipway::registry::detail
