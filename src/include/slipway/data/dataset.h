// Dataset versions: a version is the original bytes of its files split into content-defined
// chunks (objects in the store) plus a manifest — files, chunk ids, schema, profile, source,
// parent, author, time, message, command. The version id is the SHA-256 of the manifest's
// canonical JSON, and the manifest is stored as the object with that id. Refs (branches, tags)
// point at versions. Format and compatibility rule: docs/formats.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slipway/core/status.h"
#include "slipway/data/profile.h"
#include "slipway/store/store.h"
#include "slipway/table/reader.h"
#include "slipway/table/types.h"

namespace slipway::data {

// 1: a file is identified by the SHA-256 of its bytes ("sha256"). 2: by the SHA-256 of its chunk
// list ("id", file_id_from_chunks), so ingest needs no whole-file hash. Both are read.
inline constexpr int kManifestFormatVersion = 2;

struct ChunkRef {
  std::string id;
  uint64_t size = 0;
};

struct FileEntry {
  std::string name;         // path relative to the version root ('/' separated)
  std::string format;       // "csv" | "jsonl"
  std::string compression;  // "none" | "gzip" | "zstd"
  uint64_t size = 0;
  // The file's content id: format 2, file_id_from_chunks(chunks) (JSON "id"); format 1, the
  // SHA-256 of the whole original file (JSON "sha256").
  std::string sha256;
  std::vector<ChunkRef> chunks;
  uint64_t rows = 0;         // good rows
  uint64_t bad_records = 0;  // skipped or quarantined
};

// How the files are read (kept so validation, training and drift read them exactly the same way).
struct ReadOptions {
  std::string format = "csv";
  table::CsvOptions csv;
};

struct VersionManifest {
  int format_version = kManifestFormatVersion;
  std::string dataset;
  std::optional<std::string> parent;
  std::string created_at;  // ISO 8601 UTC
  std::string author;
  std::string message;
  std::string source;                // as the user gave it (passwords removed)
  std::vector<std::string> command;  // argv of the command that made it
  std::string slipway_version;
  ReadOptions read;
  std::vector<FileEntry> files;
  std::optional<std::string> quarantine;  // object id of a JSON Lines file of bad records
  uint64_t rows = 0;
  uint64_t bytes = 0;
  table::TableSchema schema;
  DatasetProfile profile;
};

// Format 2's file id: the SHA-256 of "slipway.file.v2\n" followed, per chunk in order, by the
// chunk's 32-byte SHA-256 and its size as 8 bytes little-endian (lowercase hex). Chunk ids are the
// SHA-256 of the chunk bytes, so the id pins the file byte for byte. kInvalidArgument when a chunk
// id is not 64 hex characters.
Result<std::string> file_id_from_chunks(const std::vector<ChunkRef>& chunks);

nlohmann::json to_json(const VersionManifest& manifest);
Result<VersionManifest> manifest_from_json(const nlohmann::json& json);
std::string canonical_manifest_text(const VersionManifest& manifest);

struct VersionSummary {
  std::string id;
  std::string dataset;
  std::optional<std::string> parent;
  std::string created_at;
  std::string author;
  std::string message;
  std::string source;
  uint64_t rows = 0;
  uint64_t bytes = 0;
  uint64_t files = 0;
  std::vector<std::string> refs;  // branches and tags pointing here
};

struct RefInfo {
  std::string name;
  std::string kind;  // "branch" | "tag"
  std::string version_id;
};

struct DatasetSummary {
  std::string name;
  uint64_t versions = 0;
  std::optional<VersionSummary> head;  // main
  std::vector<RefInfo> refs;
};

// The datasets of one store.
class Datasets {
 public:
  explicit Datasets(store::Store& store) : store_(store) {}

  // NAME@REF (REF = branch, tag, version id or unique prefix of one; NAME alone means NAME@main).
  Result<std::string> resolve(std::string_view spec);
  Result<VersionManifest> load(std::string_view version_id);
  Result<VersionSummary> summary(std::string_view version_id);

  // Stores the manifest object and, in one transaction, records the version and moves `branch`
  // (creating the dataset and branch as needed). The parent is the branch head at commit time;
  // `manifest` is updated to what was stored (parent, created_at), so callers need not reload it.
  Result<std::string> commit(VersionManifest& manifest, const std::string& branch);

  Result<std::vector<VersionSummary>> log(std::string_view dataset, std::string_view ref);
  Result<std::vector<DatasetSummary>> list();
  Result<std::vector<RefInfo>> refs(std::string_view dataset);
  Status create_branch(std::string_view dataset, std::string_view branch, std::string_view from_spec);
  Status create_tag(std::string_view dataset, std::string_view tag, std::string_view spec);

  // Restores the original files byte for byte into `dir` (each verified against its SHA-256).
  Status checkout(std::string_view version_id, const std::filesystem::path& dir);

  // Every version's manifest, chunks and refs present and consistent.
  std::vector<store::FsckProblem> fsck();

  store::Store& store() { return store_; }

 private:
  store::Store& store_;
};

// Reads every good row of a version (skipping quarantined records) in batches, file by file,
// straight from the object store.
Status scan_version(store::Store& store, const VersionManifest& manifest,
                    const std::function<Status(const table::RecordBatch&)>& on_batch);

bool valid_name(std::string_view name);  // dataset, branch and tag names: [A-Za-z0-9._-], 1..128

}  // namespace slipway::data
