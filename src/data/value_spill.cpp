#include "detail/value_spill.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include "slipway/core/fs.h"

namespace slipway::data::detail {

namespace {

constexpr size_t kBufferWords = 1u << 19;  // 4 MiB
constexpr size_t kMaxBlockValues = 1u << 16;
constexpr size_t kMapWindowWords = 1u << 20;  // 8 MiB
constexpr size_t kDirectBlockValues = 1u << 12;  // blocks this large skip the buffer once a file is in use

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14; older kernels answer EINVAL and the pages fault in as read
#endif

Status spill_error(const char* what, const std::filesystem::path& dir) {
  return make_error(ErrorCode::kIoError, "cannot {} the profile's temporary file in {}: {}", what, dir.string(),
                    std::strerror(errno));
}

}  // namespace

ValueSpill::~ValueSpill() {
  if (fd_ >= 0) ::close(fd_);
}

Status ValueSpill::flush() {
  if (buffer_.empty()) return {};
  if (fd_ < 0) {
    // An unnamed file (O_TMPFILE) vanishes with the process; where the file system lacks it, a
    // named one is unlinked at once.
    fd_ = ::open(dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      std::string name = (dir_ / "profile-spill-XXXXXX").string();
      fd_ = ::mkostemp(name.data(), O_CLOEXEC);
      if (fd_ < 0) return spill_error("create", dir_);
      ::unlink(name.c_str());
    }
  }
  const char* p = reinterpret_cast<const char*>(buffer_.data());
  size_t left = buffer_.size() * sizeof(uint64_t);
  while (left > 0) {
    const ssize_t n = ::pwrite(fd_, p, left, static_cast<off_t>(written_));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return spill_error("write", dir_);
    p += n;
    left -= static_cast<size_t>(n);
    written_ += static_cast<uint64_t>(n);
  }
  buffer_.clear();
  return {};
}

Status ValueSpill::write_block(uint32_t column, const double* values, size_t n) {
  SLIPWAY_RETURN_IF_ERROR(flush());  // what is buffered goes first
  uint64_t header = uint64_t{column} << 32 | n;
  iovec parts[2] = {{&header, sizeof header}, {const_cast<double*>(values), n * sizeof(double)}};
  if (int err = write_all_iovecs(fd_, parts, 2, static_cast<int64_t>(written_)); err != 0) {
    errno = err;
    return spill_error("write", dir_);
  }
  written_ += sizeof header + n * sizeof(double);
  return {};
}

Status ValueSpill::append(uint32_t column, const double* values, size_t n) {
  while (n > 0) {
    const size_t take = std::min(n, kMaxBlockValues);
    if (fd_ >= 0 && take >= kDirectBlockValues) {
      // Past the memory allowance: a large block goes straight to the file (one copy, not two).
      SLIPWAY_RETURN_IF_ERROR(write_block(column, values, take));
      values += take;
      n -= take;
      continue;
    }
    if (buffer_.capacity() == 0) buffer_.reserve(kBufferWords);
    if (buffer_.size() + take + 1 > kBufferWords) {
      if (fd_ < 0 && kept_ + buffer_.size() * sizeof(uint64_t) <= memory_bytes_) {
        // Within the memory allowance and nothing in the file yet: keep the buffer.
        kept_ += buffer_.size() * sizeof(uint64_t);
        memory_.push_back(std::move(buffer_));
        buffer_ = {};
        buffer_.reserve(kBufferWords);
      } else {
        SLIPWAY_RETURN_IF_ERROR(flush());
      }
    }
    buffer_.push_back(uint64_t{column} << 32 | take);
    const size_t at = buffer_.size();
    buffer_.resize(at + take);
    std::memcpy(buffer_.data() + at, values, take * sizeof(double));
    values += take;
    n -= take;
  }
  return {};
}

std::optional<Status> ValueSpill::replay_mapped(const std::function<void(uint32_t, const double*, size_t)>& f) {
  // The file's pages are in the page cache (just written): mapping them saves copying every value
  // out again. Faulted in a window ahead and unmapped behind, so the mapping never holds more than
  // a few windows of the file.
  void* map = ::mmap(nullptr, written_, PROT_READ, MAP_SHARED, fd_, 0);
  if (map == MAP_FAILED) return std::nullopt;
  const auto* words = static_cast<const uint64_t*>(map);
  const size_t total = written_ / sizeof(uint64_t);
  const uint64_t page_words = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)) / sizeof(uint64_t);
  ::madvise(map, written_, MADV_SEQUENTIAL);
  size_t i = 0, populated = 0, unmapped = 0;
  while (i < total) {
    const size_t n = words[i] & 0xFFFFFFFFu;
    if (i + 1 + n > total) break;  // cut short: cannot happen for a file this object wrote
    if (populated < total && populated < i + 1 + n + kMapWindowWords / 2) {
      const size_t to = std::min(total, std::max(populated, i) + kMapWindowWords);
      ::madvise(const_cast<uint64_t*>(words) + populated, (to - populated) * sizeof(uint64_t), MADV_POPULATE_READ);
      populated = to;
    }
    f(static_cast<uint32_t>(words[i] >> 32), reinterpret_cast<const double*>(words + i + 1), n);
    i += 1 + n;
    if (i - unmapped >= 2 * kMapWindowWords) {
      const size_t to = i / page_words * page_words;
      ::munmap(const_cast<uint64_t*>(words) + unmapped, (to - unmapped) * sizeof(uint64_t));
      unmapped = to;
    }
  }
  ::munmap(const_cast<uint64_t*>(words) + unmapped, written_ - unmapped * sizeof(uint64_t));
  if (i != total) return make_error(ErrorCode::kInternal, "the profile's temporary file ends inside a block");
  return Status{};
}

Status ValueSpill::replay(const std::function<void(uint32_t, const double*, size_t)>& f) {
  auto replay_words = [&f](const std::vector<uint64_t>& words) {
    for (size_t i = 0; i < words.size();) {
      const auto column = static_cast<uint32_t>(words[i] >> 32);
      const size_t n = words[i] & 0xFFFFFFFFu;
      f(column, reinterpret_cast<const double*>(words.data() + i + 1), n);
      i += 1 + n;
    }
  };
  // Blocks never straddle buffers: the kept buffers come first, then the file, then the buffer.
  for (const auto& words : memory_) replay_words(words);
  if (fd_ < 0) {
    replay_words(buffer_);
    return {};
  }
  SLIPWAY_RETURN_IF_ERROR(flush());
  std::vector<uint64_t>().swap(buffer_);
  if (written_ % sizeof(uint64_t) == 0) {
    if (auto mapped = replay_mapped(f)) return *mapped;
  }
  // Read back in pieces; a block cut by a piece's end moves to the front of the next piece.
  std::vector<uint64_t> piece(kBufferWords + kMaxBlockValues + 1);
  uint64_t offset = 0;
  size_t have = 0;  // words in `piece`
  while (offset < written_ || have > 0) {
    const size_t want = std::min<uint64_t>((piece.size() - have) * sizeof(uint64_t), written_ - offset);
    size_t got = 0;
    while (got < want) {
      const ssize_t n = ::pread(fd_, reinterpret_cast<char*>(piece.data() + have) + got, want - got,
                                static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return spill_error("read", dir_);
      got += static_cast<size_t>(n);
    }
    offset += got;
    have += got / sizeof(uint64_t);
    size_t i = 0;
    while (i < have) {
      const size_t n = piece[i] & 0xFFFFFFFFu;
      if (i + 1 + n > have) break;
      f(static_cast<uint32_t>(piece[i] >> 32), reinterpret_cast<const double*>(piece.data() + i + 1), n);
      i += 1 + n;
    }
    if (i == 0 && offset >= written_ && have > 0) {
      return make_error(ErrorCode::kInternal, "the profile's temporary file ends inside a block");
    }
    std::memmove(piece.data(), piece.data() + i, (have - i) * sizeof(uint64_t));
    have -= i;
  }
  return {};
}

}  // namespace slipway::data::detail
