// The byte side of an ingest: a file cut into content-defined chunks, each hashed (and stored), and
// the file's id computed from the chunk list (manifest format 2, docs/formats.md), in one pass.
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
  std::string id;  // file_id_from_chunks(chunks)
  uint64_t size = 0;
  std::vector<ChunkRef> chunks;
  uint64_t new_chunks = 0;
  uint64_t stored_bytes = 0;
};

// Goes over `path` once. A regular file is memory-mapped and released behind the work as it
// completes, so memory stays bounded whatever the size; anything else is read in blocks. This
// thread finds the chunk boundaries; `workers` threads hash (and, with `objects`, compress and
// store) the chunks. A file that holds one chunk twice stores it once. A mapped file must not
// shrink while it is read (SIGBUS, as for any mapped reader); ingest and hash read files at rest.
Result<StoredFile> chunk_and_store(store::ObjectStore* objects, const std::filesystem::path& path,
                                   const ChunkerOptions& options, Progress* progress, unsigned workers);

}  // namespace slipway::data::detail
