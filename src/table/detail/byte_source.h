// Byte streams shared by the CSV and JSON Lines readers: a plain file, or a gzip / zstd file
// decompressed while it is read (detected from the magic bytes, not the file name).
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "slipway/core/status.h"

namespace slipway::table::detail {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Writes up to `capacity` bytes to `out`; returns how many, 0 only at the end of the input.
  // Corrupt or truncated compressed input is a kParseError naming the file.
  virtual Result<size_t> read(char* out, size_t capacity) = 0;

  // `name` is used in messages (the path as the user gave it).
  static Result<std::unique_ptr<ByteSource>> open(const std::filesystem::path& path, const std::string& name);
};

// Bytes [offset, offset + length) of an uncompressed file, read with pread (bounded memory).
Result<std::unique_ptr<ByteSource>> file_range_source(const std::filesystem::path& path, uint64_t offset,
                                                      uint64_t length, const std::string& name);

// A source over memory the caller keeps alive (no decompression).
std::unique_ptr<ByteSource> memory_source(std::string_view data);

// Reads until `out` is full or the input ends; returns the count.
Result<size_t> read_fully(ByteSource& source, char* out, size_t capacity);

// Column number (1-based, in characters) of byte `offset` within a line that starts at `line`.
// Continuation bytes of multi-byte UTF-8 sequences are not counted.
size_t char_column(const char* line, size_t offset);

}  // namespace slipway::table::detail
