// File-system helpers that keep the store crash-safe: every write goes to a temporary file in the
// destination folder, is fsynced, renamed over the destination, and the folder is fsynced, so a
// process killed at any instant leaves either the old file or the new one, never a torn one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "slipway/core/status.h"

namespace slipway {

namespace fs = std::filesystem;

Status write_file_atomic(const fs::path& path, std::string_view contents);
Result<std::string> read_file(const fs::path& path);
Status fsync_directory(const fs::path& dir);
// Creates the folder and its parents; OK when it exists.
Status make_directories(const fs::path& dir);

// A read-only memory map of a whole file (empty files map to an empty view).
class MappedFile {
 public:
  static Result<MappedFile> open(const fs::path& path);
  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view view() const { return {data_, size_}; }
  size_t size() const { return size_; }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace slipway
