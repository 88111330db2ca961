// Parsed values kept on disk for a second look: the single-pass ingest profiles a column before it
// knows the column's range, so the histogram (exact, over the final [min, max]) is binned from the
// values afterwards. Memory stays bounded; the disk holds 8 bytes per value, in an unnamed file
// that disappears when the spill is destroyed or the process dies.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

#include "slipway/core/status.h"

namespace slipway::data::detail {

class ValueSpill {
 public:
  explicit ValueSpill(std::filesystem::path dir) : dir_(std::move(dir)) {}
  ~ValueSpill();
  ValueSpill(const ValueSpill&) = delete;
  ValueSpill& operator=(const ValueSpill&) = delete;

  // Appends `n` values of column `column` (buffered; the file is created on the first write).
  Status append(uint32_t column, const double* values, size_t n);
  // Calls f(column, values, n) for everything appended, in order. Once.
  Status replay(const std::function<void(uint32_t column, const double* values, size_t n)>& f);
  uint64_t bytes() const { return written_ + buffer_.size() * sizeof(uint64_t); }

 private:
  Status flush();

  std::filesystem::path dir_;
  int fd_ = -1;
  uint64_t written_ = 0;          // bytes in the file
  std::vector<uint64_t> buffer_;  // words: header (column << 32 | n), then n doubles' bits
};

}  // namespace slipway::data::detail
