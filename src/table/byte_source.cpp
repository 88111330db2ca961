#include "detail/byte_source.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace slipway::table::detail {
namespace {

constexpr size_t kCompressedBlock = 256u << 10;

class FileSource final : public ByteSource {
 public:
  FileSource(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  ~FileSource() override { ::close(fd_); }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  // Bytes peeked at open (to sniff the magic number) are returned before the rest of the file.
  void unread(const char* data, size_t n) { pending_.assign(data, data + n); }

  Result<size_t> read(char* out, size_t capacity) override {
    if (!pending_.empty()) {
      size_t n = std::min(capacity, pending_.size() - pending_pos_);
      std::memcpy(out, pending_.data() + pending_pos_, n);
      pending_pos_ += n;
      if (pending_pos_ == pending_.size()) {
        pending_.clear();
        pending_pos_ = 0;
      }
      return n;
    }
    for (;;) {
      ssize_t n = ::read(fd_, out, capacity);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == EINTR) continue;
      return make_error(ErrorCode::kIoError, "{}: read failed: {}", name_, std::strerror(errno));
    }
  }

 private:
  int fd_;
  std::string name_;
  std::vector<char> pending_;
  size_t pending_pos_ = 0;
};

class RangeSource final : public ByteSource {
 public:
  RangeSource(int fd, uint64_t offset, uint64_t length, std::string name)
      : fd_(fd), offset_(offset), left_(length), name_(std::move(name)) {}
  ~RangeSource() override { ::close(fd_); }
  RangeSource(const RangeSource&) = delete;
  RangeSource& operator=(const RangeSource&) = delete;

  Result<size_t> read(char* out, size_t capacity) override {
    size_t want = static_cast<size_t>(std::min<uint64_t>(capacity, left_));
    if (want == 0) return size_t{0};
    for (;;) {
      ssize_t n = ::pread(fd_, out, want, static_cast<off_t>(offset_));
      if (n >= 0) {
        offset_ += static_cast<uint64_t>(n);
        left_ = n == 0 ? 0 : left_ - static_cast<uint64_t>(n);
        return static_cast<size_t>(n);
      }
      if (errno == EINTR) continue;
      return make_error(ErrorCode::kIoError, "{}: read failed: {}", name_, std::strerror(errno));
    }
  }

 private:
  int fd_;
  uint64_t offset_;
  uint64_t left_;
  std::string name_;
};

class GzipSource final : public ByteSource {
 public:
  GzipSource(std::unique_ptr<ByteSource> in, std::string name)
      : in_(std::move(in)), name_(std::move(name)), input_(kCompressedBlock) {
    std::memset(&z_, 0, sizeof(z_));
    // 16 + MAX_WBITS: gzip wrapper only (the magic bytes were checked already).
    ok_ = inflateInit2(&z_, 16 + MAX_WBITS) == Z_OK;
  }
  ~GzipSource() override { inflateEnd(&z_); }
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;

  Result<size_t> read(char* out, size_t capacity) override {
    if (!ok_) return make_error(ErrorCode::kInternal, "{}: cannot initialise gzip decompression", name_);
    z_.next_out = reinterpret_cast<Bytef*>(out);
    z_.avail_out = static_cast<uInt>(std::min<size_t>(capacity, 1u << 30));
    while (z_.avail_out > 0 && !done_) {
      if (z_.avail_in == 0) {
        SLIPWAY_ASSIGN_OR_RETURN(size_t got, in_->read(input_.data(), input_.size()));
        if (got == 0) {
          if (!member_ended_) {
            return make_error(ErrorCode::kParseError,
                              "{}: gzip decompression failed: the compressed data ends early (truncated file)", name_);
          }
          done_ = true;
          break;
        }
        z_.next_in = reinterpret_cast<Bytef*>(input_.data());
        z_.avail_in = static_cast<uInt>(got);
      }
      if (member_ended_) {
        // More bytes after a complete member: concatenated gzip members (as `cat a.gz b.gz`).
        inflateReset(&z_);
        member_ended_ = false;
      }
      int rc = inflate(&z_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        member_ended_ = true;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return make_error(ErrorCode::kParseError, "{}: gzip decompression failed: {}", name_,
                          z_.msg ? z_.msg : zError(rc));
      }
    }
    return capacity - z_.avail_out;
  }

 private:
  std::unique_ptr<ByteSource> in_;
  std::string name_;
  std::vector<char> input_;
  z_stream z_;
  bool ok_ = false;
  bool member_ended_ = false;
  bool done_ = false;
};

class ZstdSource final : public ByteSource {
 public:
  ZstdSource(std::unique_ptr<ByteSource> in, std::string name)
      : in_(std::move(in)), name_(std::move(name)), input_(ZSTD_DStreamInSize()), stream_(ZSTD_createDStream()) {}
  ~ZstdSource() override { ZSTD_freeDStream(stream_); }
  ZstdSource(const ZstdSource&) = delete;
  ZstdSource& operator=(const ZstdSource&) = delete;

  Result<size_t> read(char* out, size_t capacity) override {
    ZSTD_outBuffer output{out, capacity, 0};
    while (output.pos < output.size && !done_) {
      if (in_buf_.pos == in_buf_.size) {
        SLIPWAY_ASSIGN_OR_RETURN(size_t got, in_->read(input_.data(), input_.size()));
        if (got == 0) {
          if (!frame_ended_) {
            return make_error(ErrorCode::kParseError,
                              "{}: zstd decompression failed: the compressed data ends early (truncated file)", name_);
          }
          done_ = true;
          break;
        }
        in_buf_ = ZSTD_inBuffer{input_.data(), got, 0};
      }
      size_t rc = ZSTD_decompressStream(stream_, &output, &in_buf_);
      if (ZSTD_isError(rc)) {
        return make_error(ErrorCode::kParseError, "{}: zstd decompression failed: {}", name_, ZSTD_getErrorName(rc));
      }
      // 0 means a frame was fully decoded and flushed; another frame may follow.
      frame_ended_ = rc == 0;
    }
    return output.pos;
  }

 private:
  std::unique_ptr<ByteSource> in_;
  std::string name_;
  std::vector<char> input_;
  ZSTD_DStream* stream_;
  ZSTD_inBuffer in_buf_{nullptr, 0, 0};
  bool frame_ended_ = true;
  bool done_ = false;
};

class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::string_view data) : data_(data) {}
  Result<size_t> read(char* out, size_t capacity) override {
    size_t n = std::min(capacity, data_.size() - pos_);
    if (n) std::memcpy(out, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace

std::unique_ptr<ByteSource> memory_source(std::string_view data) { return std::make_unique<MemorySource>(data); }

Result<std::unique_ptr<ByteSource>> file_range_source(const std::filesystem::path& path, uint64_t offset,
                                                      uint64_t length, const std::string& name) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return make_error(ErrorCode::kNotFound, "{}: no such file", name);
    return make_error(ErrorCode::kIoError, "{}: cannot open: {}", name, std::strerror(errno));
  }
  ::posix_fadvise(fd, static_cast<off_t>(offset), static_cast<off_t>(length), POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<ByteSource>(new RangeSource(fd, offset, length, name));
}

Result<std::unique_ptr<ByteSource>> ByteSource::open(const std::filesystem::path& path, const std::string& name) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return make_error(ErrorCode::kNotFound, "{}: no such file", name);
    return make_error(ErrorCode::kIoError, "{}: cannot open: {}", name, std::strerror(err));
  }
  auto file = std::make_unique<FileSource>(fd, name);
  // Sniff the magic number: gzip 1f 8b, zstd 28 b5 2f fd (little-endian 0xFD2FB528).
  char magic[4];
  SLIPWAY_ASSIGN_OR_RETURN(size_t n, read_fully(*file, magic, sizeof(magic)));
  file->unread(magic, n);
  const auto* m = reinterpret_cast<const unsigned char*>(magic);
  if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
    return std::unique_ptr<ByteSource>(std::make_unique<GzipSource>(std::move(file), name));
  }
  if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) {
    return std::unique_ptr<ByteSource>(std::make_unique<ZstdSource>(std::move(file), name));
  }
  return std::unique_ptr<ByteSource>(std::move(file));
}

Result<size_t> read_fully(ByteSource& source, char* out, size_t capacity) {
  size_t total = 0;
  while (total < capacity) {
    SLIPWAY_ASSIGN_OR_RETURN(size_t n, source.read(out + total, capacity - total));
    if (n == 0) break;
    total += n;
  }
  return total;
}

size_t char_column(const char* line, size_t offset) {
  size_t column = 1;
  for (size_t i = 0; i < offset; ++i) {
    column += (static_cast<unsigned char>(line[i]) & 0xC0) != 0x80;
  }
  return column;
}

}  // namespace slipway::table::detail
