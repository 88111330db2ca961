// Content-addressed object store. An object's id is the SHA-256 (hex) of its content. Objects are
// files objects/ab/cdef...; each write goes to a temp file and is renamed into place, so a killed
// process never leaves a torn object; every read is verified against the id. Writes are not
// fsynced one by one (that made ingest wait on the disk ~20 ms per chunk): callers call sync()
// once before recording anything that refers to new objects, which makes them durable together.
//
// Object file format (version 1): "SLWO" | u8 format=1 | u8 codec (0 raw, 1 zstd) | u16 reserved=0 |
// u64 little-endian raw size | payload. zstd is used only where it saves at least 10%; how the
// frame was made (level, match finder) is the writer's choice and invisible to readers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "slipway/core/hash.h"
#include "slipway/core/status.h"

namespace slipway::store {

inline constexpr uint8_t kObjectFormatVersion = 1;

struct PutResult {
  std::string id;
  bool written = false;     // false: the object was already there (deduplicated)
  uint64_t stored_bytes = 0;  // bytes on disk for a newly written object
};

struct ObjectStoreOptions {
  int zstd_level = 1;
  // At level 1 or below, search repeats with a small table (zstd's fast strategy, hashLog 8,
  // minMatch 7): about twice as fast as plain level 1 for ~2-5% more bytes on data files.
  bool small_match_table = true;
};

class ObjectStore {
 public:
  explicit ObjectStore(std::filesystem::path dir, ObjectStoreOptions options = {});

  Result<PutResult> put(std::string_view content);
  // For callers that already hashed the content (the ingest pipeline hashes while chunking).
  Result<PutResult> put_with_digest(const Sha256Digest& digest, std::string_view content);
  Result<std::string> get(std::string_view id) const;  // verified: kCorrupt on any mismatch
  // Makes every object written so far durable (one syncfs of the store's file system).
  Status sync() const;
  bool contains(std::string_view id) const;
  Status verify(std::string_view id) const;
  Result<uint64_t> stored_size(std::string_view id) const;
  // Every object id present (temp files from interrupted writes are reported to `on_temp`).
  Status for_each(const std::function<void(const std::string& id)>& on_object,
                  const std::function<void(const std::filesystem::path& temp)>& on_temp) const;
  std::filesystem::path path_for(std::string_view id) const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  ObjectStoreOptions options_;
};

}  // namespace slipway::store
