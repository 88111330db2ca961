// Knobs for tests only: read with a tiny block size so every record boundary, quote and
// multi-byte character lands on a block boundary somewhere.
#pragma once

#include <filesystem>
#include <memory>

#include "slipway/table/reader.h"

namespace slipway::table::detail {

Result<std::unique_ptr<RecordReader>> open_csv_with_block_size(const std::filesystem::path& path,
                                                               const CsvOptions& options, size_t block_bytes);
Result<std::unique_ptr<RecordReader>> open_jsonl_with_block_size(const std::filesystem::path& path,
                                                                 const JsonlOptions& options, size_t block_bytes);

}  // namespace slipway::table::detail
