// Content-defined chunking (FastCDC, Xia et al., USENIX ATC 2016: gear rolling hash with normalized
// chunking) so that an edited or appended file shares all unchanged chunks with its parent version.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace slipway::data {

struct ChunkerOptions {
  size_t min_size = 64 * 1024;
  size_t avg_size = 256 * 1024;
  size_t max_size = 1024 * 1024;
};

// Streaming chunker: feed bytes in any pieces; cut points do not depend on how input is split.
class Chunker {
 public:
  explicit Chunker(ChunkerOptions options = {});
  // Returns the length of the next chunk starting at data[0] when a boundary lies inside `data`
  // (or `data` holds max_size bytes), else 0 (need more input, or call with final=true at EOF).
  size_t next_boundary(std::string_view data, bool final) const;
  const ChunkerOptions& options() const { return options_; }

 private:
  ChunkerOptions options_;
  uint64_t mask_small_, mask_large_;
};

// Chunk lengths for a whole in-memory buffer.
std::vector<size_t> chunk_buffer(std::string_view data, const ChunkerOptions& options = {});

}  // namespace slipway::data
