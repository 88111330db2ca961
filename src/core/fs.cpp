#include "slipway/core/fs.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>

namespace slipway {

namespace {

Status errno_error(const std::string& what, const fs::path& path) {
  return make_error(ErrorCode::kIoError, "{} {}: {}", what, path.string(), std::strerror(errno));
}

std::string temp_suffix() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format(".tmp.{}.{}.{:x}", ::getpid(), counter++, rng() & 0xFFFFFF);
}

}  // namespace

int write_all_iovecs(int fd, ::iovec* parts, size_t count, int64_t offset) {
  size_t first = 0;
  while (true) {
    while (first < count && parts[first].iov_len == 0) ++first;
    if (first == count) return 0;
    const int n = static_cast<int>(std::min<size_t>(IOV_MAX, count - first));
    const ssize_t done = offset < 0 ? ::writev(fd, parts + first, n) : ::pwritev(fd, parts + first, n, offset);
    if (done < 0 && errno == EINTR) continue;
    if (done < 0) return errno;
    if (done == 0) return EIO;  // nothing written and no error: do not spin
    if (offset >= 0) offset += done;
    auto left = static_cast<size_t>(done);
    while (first < count && left >= parts[first].iov_len) left -= parts[first++].iov_len;
    if (left > 0) {
      parts[first].iov_base = static_cast<char*>(parts[first].iov_base) + left;
      parts[first].iov_len -= left;
    }
  }
}

Status fsync_directory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_error("cannot open folder", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return errno_error("cannot fsync folder", dir);
  return {};
}

Status make_directories(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::kIoError, "cannot create folder {}: {}", dir.string(), ec.message());
  return {};
}

Status sync_filesystem(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("cannot open", path);
  int rc = ::syncfs(fd);
  ::close(fd);
  if (rc != 0) return errno_error("cannot sync the file system of", path);
  return {};
}

Status write_file_atomic(const fs::path& path, std::string_view contents, bool durable) {
  fs::path tmp = path;
  tmp += temp_suffix();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error("cannot create", tmp);
  const char* p = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status st = errno_error("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return st;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (durable && ::fsync(fd) != 0) {
    Status st = errno_error("cannot fsync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return st;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status st = errno_error("cannot rename into place", path);
    ::unlink(tmp.c_str());
    return st;
  }
  if (!durable) return {};
  return fsync_directory(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

Result<std::string> read_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return make_error(ErrorCode::kNotFound, "no such file: {}", path.string());
    return errno_error("cannot open", path);
  }
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = errno_error("cannot read", path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Result<MappedFile> MappedFile::open(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return make_error(ErrorCode::kNotFound, "no such file: {}", path.string());
    return errno_error("cannot open", path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Status s = errno_error("cannot stat", path);
    ::close(fd);
    return s;
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return make_error(ErrorCode::kInvalidArgument, "{} is a folder, not a file", path.string());
  }
  MappedFile file;
  file.size_ = static_cast<size_t>(st.st_size);
  if (file.size_ > 0) {
    void* addr = ::mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) {
      Status s = errno_error("cannot map", path);
      ::close(fd);
      return s;
    }
    ::madvise(addr, file.size_, MADV_SEQUENTIAL);
    file.data_ = static_cast<const char*>(addr);
  }
  ::close(fd);
  return file;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
}

MappedFile::MappedFile(MappedFile&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

}  // namespace slipway
