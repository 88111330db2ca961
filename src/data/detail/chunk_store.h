// The byte side of an ingest: a file cut into content-defined chunks, each hashed (and stored), plus
// the SHA-256 of the whole file, in one streaming read.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "slipway/core/progress.h"
#include "slipway/core/status.h"
#include "slipway/data/chunker.h"
#include "slipway/data/dataset.h"
#include "slipway/store/object_store.h"

namespace slipway::data::detail {

struct StoredFile {
  std::string sha256;  // of the whole file
  uint64_t size = 0;
  std::vector<ChunkRef> chunks;
  uint64_t new_chunks = 0;
  uint64_t stored_bytes = 0;
};

// Streams `path` once (never mapped: memory stays bounded whatever the size). The reading thread
// finds the chunk boundaries; the whole-file SHA-256 runs on its own thread over the same buffers,
// and `workers` threads hash (and, with `objects`, compress and store) the chunks. A file that
// holds one chunk twice stores it once.
Result<StoredFile> chunk_and_store(store::ObjectStore* objects, const std::filesystem::path& path,
                                   const ChunkerOptions& options, Progress* progress, unsigned workers);

}  // namespace slipway::data::detail
