// The model bundle: one file holding a versioned JSON manifest (task, signature, transforms,
// kind, provenance) and the binary weights, loadable without a store (edge devices, batch jobs).
//
// Layout (formats 1 and 2), all integers little-endian:
//   "SLWMODEL" (8 bytes) | u32 format_version | u32 reserved=0 | u64 manifest_size | u64 blob_size |
//   32-byte SHA-256 of (manifest bytes || blob bytes) | manifest (UTF-8 JSON) | blob (float32/int32/
//   uint8 arrays; the manifest refers to them by offset and length, each 64-byte aligned)
// Compatibility: a reader accepts format_version <= its own and refuses a newer one by name. The
// writer writes the oldest format that holds the model: 2 adds the manifest field
// "row_normalization" (model.h), which a format-1 reader would skip and so mispredict; a model
// without one is still written as format 1, byte for byte as before.
// A damaged, truncated or absurd file (sizes beyond the file, counts over limits) is a clear
// kCorrupt error naming what is wrong — never a crash or an unbounded allocation.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "slipway/core/status.h"
#include "slipway/model/model.h"

namespace slipway::model {

inline constexpr uint32_t kBundleFormatVersion = 2;  // the newest format this build reads and writes

Result<std::string> serialize_bundle(const Model& model);
Result<Model> parse_bundle(std::string_view bytes, const std::string& source_name);

Status save_bundle(const Model& model, const std::filesystem::path& path);  // atomic write
Result<Model> load_bundle(const std::filesystem::path& path);

// The manifest alone, as JSON (what `slipway model inspect --json` prints).
nlohmann::json describe(const Model& model);

}  // namespace slipway::model
