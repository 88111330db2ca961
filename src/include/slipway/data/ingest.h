// `slipway data ingest`: reads a source (CSV/JSON Lines file, a folder of them, a SQLite or
// PostgreSQL query), infers column types over the whole input, profiles it, optionally validates
// it against a schema file, stores its bytes as content-defined chunks and commits a version.
// Nothing becomes visible unless every step succeeds: chunks are content-addressed (an aborted
// ingest leaves only unreferenced objects) and the version + ref are one SQLite transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "slipway/core/status.h"
#include "slipway/data/chunker.h"
#include "slipway/data/dataset.h"
#include "slipway/data/profile.h"
#include "slipway/store/store.h"

namespace slipway::data {

enum class OnError { kFail, kSkip, kQuarantine };

struct IngestOptions {
  std::string dataset;
  std::string branch = "main";
  std::string message;
  std::string author;
  std::vector<std::string> command;
  std::optional<std::string> format;  // "csv" | "jsonl"; default from the file extension
  table::CsvOptions csv;
  bool csv_delimiter_given = false;
  std::optional<std::filesystem::path> schema_file;  // pins types and must validate
  OnError on_error = OnError::kFail;
  ProfileOptions profile;
  ChunkerOptions chunker;
  unsigned threads = 2;
  bool progress = false;
};

struct IngestResult {
  std::string version_id;
  VersionManifest manifest;
  uint64_t chunks = 0;
  uint64_t new_chunks = 0;
  uint64_t stored_bytes = 0;  // bytes newly written to the object store
  uint64_t bad_records = 0;
  double seconds = 0;
};

Result<IngestResult> ingest(store::Store& store, const std::string& source, const IngestOptions& options);

// How slipway picks a reader for a data file everywhere (ingest, validate, predict): "csv" for
// .csv/.tsv/.txt, "jsonl" for .jsonl/.ndjson/.json, each optionally .gz/.zst/.zstd; "" when unknown.
std::string data_format_from_name(const std::string& name);
// Opens `path` with the reader for `format` ("" = from the name; CSV when the name says nothing).
// A .tsv file is read tab-separated.
Result<std::unique_ptr<table::RecordReader>> open_data_file(const std::filesystem::path& path,
                                                            const std::string& format = "");

// Chunks and hashes a file without storing it (`slipway data hash`).
struct FileHash {
  std::string sha256;  // the file's id: file_id_from_chunks(chunks), as manifest format 2 records it
  uint64_t size = 0;
  std::vector<ChunkRef> chunks;
  double seconds = 0;
};
Result<FileHash> hash_file(const std::filesystem::path& path, const ChunkerOptions& options = {});

}  // namespace slipway::data
