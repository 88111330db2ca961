// Loading a Frame (slipway/monitor/frame.h) from a CSV / JSON Lines file or from a dataset version
// in the store. Column kinds come from the types slipway infers everywhere else (table/infer.h):
// int64, float64 and bool (as 0/1) are numeric, string is categorical, timestamps are left out
// unless asked for (then numeric, microseconds since the epoch).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "slipway/core/status.h"
#include "slipway/monitor/frame.h"
#include "slipway/store/store.h"

namespace slipway::monitor {

struct FrameLoadOptions {
  std::vector<std::string> columns;  // empty: every column (timestamps per include_timestamps)
  bool include_timestamps = false;
};

// A file: ".jsonl", ".ndjson" (optionally ".gz" / ".zst") is JSON Lines, anything else CSV with a
// header. kNotFound when missing, kParseError "FILE:LINE:COLUMN: ..." when malformed,
// kInvalidArgument when a named column is absent.
Result<Frame> load_frame_file(const std::filesystem::path& path, const FrameLoadOptions& options = {});

// A dataset version NAME@REF (REF: branch, tag or version id; NAME alone: NAME@main), read straight
// from the object store with the types recorded in its manifest.
Result<Frame> load_frame_dataset(store::Store& store, std::string_view spec, const FrameLoadOptions& options = {});

}  // namespace slipway::monitor
