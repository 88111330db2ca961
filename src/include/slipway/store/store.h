// The store: a folder (default ./.slipway, or $SLIPWAY_HOME, or --store) holding metadata.db
// (SQLite, schema migrated on open) and objects/ (content-addressed). See docs/formats.md.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "slipway/core/status.h"
#include "slipway/store/database.h"
#include "slipway/store/object_store.h"

namespace slipway::store {

// Version of the metadata schema this build writes. A store whose schema_version is higher was
// written by a newer slipway and is refused; a lower one is migrated forward on open.
int current_schema_version();

class Store {
 public:
  static Result<std::unique_ptr<Store>> create(const std::filesystem::path& root);
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& root);
  // --store flag if given, else $SLIPWAY_HOME, else ./.slipway
  static std::filesystem::path resolve_root(const std::optional<std::string>& flag);

  const std::filesystem::path& root() const { return root_; }
  Database& db() { return *db_; }
  ObjectStore& objects() { return objects_; }
  std::filesystem::path temp_dir() const { return root_ / "tmp"; }
  int schema_version() const { return schema_version_; }

 private:
  Store(std::filesystem::path root, std::unique_ptr<Database> db, int schema_version);
  std::filesystem::path root_;
  std::unique_ptr<Database> db_;
  ObjectStore objects_;
  int schema_version_;
};

struct FsckProblem {
  std::string what;   // e.g. "object 3fa2…: content does not match its id"
  std::string where;  // path or table
};

struct FsckReport {
  uint64_t objects_checked = 0;
  uint64_t bytes_checked = 0;
  uint64_t temp_files = 0;     // leftovers of interrupted writes: harmless, not problems
  std::vector<FsckProblem> problems;
};

// Verifies every object against its id and the metadata database's integrity.
FsckReport fsck_objects(Store& store);

}  // namespace slipway::store
