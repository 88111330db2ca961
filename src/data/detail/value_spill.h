// Parsed values kept on disk for a second look: the single-pass ingest profiles a column before it
// knows the column's range, so the histogram (exact, over the final [min, max]) is binned from the
// values afterwards. Memory stays bounded; the disk holds 8 bytes per value, in an unnamed file
// that disappears when the spill is destroyed or the process dies.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <vector>

#include "slipway/core/status.h"

namespace slipway::data::detail {

class ValueSpill {
 public:
  // The first `memory_bytes` (rounded down to whole 4 MiB buffers) stay in memory; the rest goes
  // to the file.
  explicit ValueSpill(std::filesystem::path dir, size_t memory_bytes = 0)
      : dir_(std::move(dir)), memory_bytes_(memory_bytes) {}
  ~ValueSpill();
  ValueSpill(const ValueSpill&) = delete;
  ValueSpill& operator=(const ValueSpill&) = delete;

  // Appends `n` values of column `column` (buffered; the file is created on the first write).
  Status append(uint32_t column, const double* values, size_t n);
  // Calls f(column, values, n) for everything appended, in order. May be called again.
  Status replay(const std::function<void(uint32_t column, const double* values, size_t n)>& f);
  uint64_t bytes() const { return kept_ + written_ + buffer_.size() * sizeof(uint64_t); }
  uint64_t file_bytes() const { return written_; }

 private:
  Status flush();
  // Writes one block (header and values) to the file at its end, after what is buffered.
  Status write_block(uint32_t column, const double* values, size_t n);
  // Replays the file through a mapping; nullopt (nothing replayed) where it cannot be mapped.
  std::optional<Status> replay_mapped(const std::function<void(uint32_t column, const double* values, size_t n)>& f);

  std::filesystem::path dir_;
  size_t memory_bytes_ = 0;
  std::vector<std::vector<uint64_t>> memory_;  // full buffers kept in memory, before anything in the file
  uint64_t kept_ = 0;                          // bytes in memory_
  int fd_ = -1;
  uint64_t written_ = 0;          // bytes in the file
  std::vector<uint64_t> buffer_;  // words: header (column << 32 | n), then n doubles' bits
};

}  // namespace slipway::data::detail
