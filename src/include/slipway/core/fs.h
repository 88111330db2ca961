// File-system helpers that keep the store crash-safe: every write goes to a temporary file in the
// destination folder, is fsynced, renamed over the destination, and the folder is fsynced, so a
// process killed at any instant leaves either the old file or the new one, never a torn one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "slipway/core/status.h"

struct iovec;  // <sys/uio.h>

namespace slipway {

namespace fs = std::filesystem;

// `durable` = false skips the fsyncs (the rename is still atomic, so a killed process never leaves
// a torn file); the caller then makes the data durable later, e.g. with sync_filesystem() before
// recording anything that refers to it.
Status write_file_atomic(const fs::path& path, std::string_view contents, bool durable = true);
// syncfs(2) on the file system holding `path`: one flush instead of one fsync per file.
Status sync_filesystem(const fs::path& path);
Result<std::string> read_file(const fs::path& path);
Status fsync_directory(const fs::path& dir);
// Creates the folder and its parents; OK when it exists.
Status make_directories(const fs::path& dir);
// Writes every byte of parts[0, count) to `fd`: at `offset` (pwritev) or, when offset < 0, at the
// file position (writev; the end for O_APPEND), IOV_MAX entries at a time, going on after short
// writes and EINTR. The entries are advanced as they are written. 0, or the failed call's errno.
int write_all_iovecs(int fd, ::iovec* parts, size_t count, int64_t offset = -1);

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
