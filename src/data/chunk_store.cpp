// One pass over a file feeds two kinds of work, on their own threads so that two cores keep busy:
// finding chunk boundaries (this thread) and per-chunk SHA-256 + zstd + write (a pool: chunks are
// independent). The file's id is computed from the chunk digests at the end (manifest format 2),
// so no whole-file hash runs. A regular file is mapped, not copied: the chunker and the pool read
// the page cache directly, the mapping is faulted in ahead of the chunker a window at a time and
// unmapped behind the completed chunks, which bounds memory whatever the file size.
#include "detail/chunk_store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "slipway/core/hash.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14; older kernels answer EINVAL and the pages fault in as read
#endif

namespace slipway::data::detail {

namespace {

namespace fs = std::filesystem;

// Read path: 8 MiB blocks. Mapped path: faulted in 8 MiB ahead, released every 16 MiB.
constexpr size_t kBlockBytes = 8u << 20;
constexpr size_t kPopulateBytes = 8u << 20;
constexpr size_t kReleaseBytes = 16u << 20;
constexpr size_t kChunksQueued = 64;

// A block as read: `carry` bytes from the end of the block before (the start of a chunk that did
// not end there), then bytes new from the file.
struct Block {
  std::unique_ptr<char[]> bytes;
  size_t carry = 0;
  size_t size = 0;
  std::string_view fresh() const { return {bytes.get() + carry, size - carry}; }
};

struct ChunkJob {
  std::shared_ptr<const Block> block;  // read path: keeps the bytes alive; mapped path: null
  const char* data = nullptr;
  size_t length = 0;
  size_t index = 0;
  uint64_t end = 0;  // offset in the file one past the chunk
};

struct ChunkDone {
  size_t index = 0;
  Sha256Digest digest{};
  uint64_t length = 0;
  bool written = false;
  uint64_t stored_bytes = 0;
};

// A bounded blocking FIFO; pop() returns false once close() was called and the queue is drained.
template <typename T>
class Channel {
 public:
  explicit Channel(size_t capacity) : capacity_(capacity) {}

  void push(T item) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return items_.size() < capacity_; });
    items_.push_back(std::move(item));
    not_empty_.notify_one();
  }

  bool pop(T& out) {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !items_.empty() || closed_; });
    if (items_.empty()) return false;
    out = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return true;
  }

  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::deque<T> items_;
  size_t capacity_;
  bool closed_ = false;
};

Status open_error(const fs::path& path) {
  if (errno == ENOENT) return make_error(ErrorCode::kNotFound, "no such file: {}", path.string());
  return make_error(ErrorCode::kIoError, "cannot open {}: {}", path.string(), std::strerror(errno));
}

// The first failure of any thread; the others stop at their next check.
class FirstFailure {
 public:
  void set(Status status) {
    std::lock_guard lock(mutex_);
    if (status_.ok()) status_ = std::move(status);
    failed_.store(true, std::memory_order_relaxed);
  }
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  Status get() {
    std::lock_guard lock(mutex_);
    return status_;
  }

 private:
  std::mutex mutex_;
  Status status_;
  std::atomic<bool> failed_{false};
};

}  // namespace

namespace {

// The end of the longest prefix of chunks that the pool has finished (they finish out of order).
class Watermark {
 public:
  // Under the caller's lock.
  void finished(size_t index, uint64_t end) {
    ends_.emplace(index, end);
    while (!ends_.empty() && ends_.begin()->first == next_) {
      done_to_ = ends_.begin()->second;
      ends_.erase(ends_.begin());
      ++next_;
    }
  }
  uint64_t done_to() const { return done_to_; }

 private:
  std::map<size_t, uint64_t> ends_;
  size_t next_ = 0;
  uint64_t done_to_ = 0;
};

}  // namespace

Result<StoredFile> chunk_and_store(store::ObjectStore* objects, const fs::path& path, const ChunkerOptions& options,
                                   Progress* progress, unsigned workers) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return open_error(path);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return make_error(ErrorCode::kIoError, "cannot read {}: {}", path.string(), std::strerror(errno));
  }

  FirstFailure failure;
  Channel<ChunkJob> jobs(kChunksQueued);
  std::mutex done_mutex;
  std::vector<ChunkDone> done;
  Watermark watermark;
  std::unordered_set<std::string> claimed;  // chunk ids this file stores (a repeated chunk is put once)
  std::vector<std::thread> pool;
  for (unsigned w = 0; w < std::max(1u, workers); ++w) {
    pool.emplace_back([&] {
      ChunkJob job;
      while (jobs.pop(job)) {
        ChunkDone out;
        out.index = job.index;
        out.length = job.length;
        if (!failure.failed()) {
          const std::string_view chunk(job.data, job.length);
          out.digest = sha256(chunk);
          bool first = true;
          if (objects != nullptr) {
            std::lock_guard lock(done_mutex);
            first = claimed.insert(to_hex(out.digest)).second;
          }
          if (objects != nullptr && first) {
            auto put = objects->put_with_digest(out.digest, chunk);
            if (!put.ok()) {
              failure.set(put.status());
            } else {
              out.written = put->written;
              out.stored_bytes = put->stored_bytes;
            }
          }
        }
        job.block.reset();
        std::lock_guard lock(done_mutex);
        done.push_back(out);
        watermark.finished(job.index, job.end);
      }
    });
  }

  Chunker chunker(options);
  size_t index = 0;
  uint64_t total = 0;
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  void* map = S_ISREG(st.st_mode) && file_size > 0
                  ? ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0)
                  : MAP_FAILED;
  if (map != MAP_FAILED) {
    // Mapped: cut where the chunker says (it looks at most max_size ahead), fault the next window in
    // with one call, and unmap what every chunk before has finished with.
    const char* base = static_cast<const char*>(map);
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    ::madvise(map, file_size, MADV_SEQUENTIAL);
    uint64_t pos = 0, populated = 0, unmapped = 0, next_release = kReleaseBytes;
    while (pos < file_size && !failure.failed()) {
      if (populated < file_size && populated < pos + chunker.options().max_size + kPopulateBytes / 2) {
        const uint64_t to = std::min(file_size, populated + kPopulateBytes);
        ::madvise(const_cast<char*>(base) + populated, to - populated, MADV_POPULATE_READ);
        populated = to;
      }
      const std::string_view rest(base + pos, file_size - pos);
      size_t len = chunker.next_boundary(rest, /*final=*/true);
      if (len == 0) len = rest.size();
      jobs.push({nullptr, base + pos, len, index++, pos + len});
      pos += len;
      if (progress != nullptr) progress->advance(len);
      if (pos >= next_release) {
        next_release = pos + kReleaseBytes;
        uint64_t to;
        {
          std::lock_guard lock(done_mutex);
          to = watermark.done_to() / page * page;
        }
        if (to > unmapped) {
          ::munmap(const_cast<char*>(base) + unmapped, to - unmapped);
          unmapped = to;
        }
      }
    }
    total = pos;
    jobs.close();
    for (auto& t : pool) t.join();
    ::munmap(const_cast<char*>(base) + unmapped, file_size - unmapped);
  } else {
    // Read in blocks (pipes, devices, empty files, or where mapping fails).
    const size_t block_bytes = std::max(kBlockBytes, 2 * chunker.options().max_size);
    std::shared_ptr<Block> previous;
    size_t carry = 0;
    bool eof = false;
    while (!eof && !failure.failed()) {
      auto block = std::make_shared<Block>();
      block->bytes = std::make_unique_for_overwrite<char[]>(carry + block_bytes);
      if (carry > 0) std::memcpy(block->bytes.get(), previous->bytes.get() + previous->size - carry, carry);
      previous.reset();
      block->carry = carry;
      size_t have = carry;
      while (have < carry + block_bytes) {
        const ssize_t n = ::read(fd, block->bytes.get() + have, carry + block_bytes - have);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          failure.set(make_error(ErrorCode::kIoError, "cannot read {}: {}", path.string(), std::strerror(errno)));
          break;
        }
        if (n == 0) {
          eof = true;
          break;
        }
        have += static_cast<size_t>(n);
      }
      if (failure.failed()) break;
      block->size = have;
      // Keep max_size bytes beyond a cut (unless the file ends) so that every cut is final.
      size_t pos = 0;
      while (pos < have && (eof || have - pos >= chunker.options().max_size)) {
        const std::string_view rest(block->bytes.get() + pos, have - pos);
        size_t len = chunker.next_boundary(rest, /*final=*/eof);
        if (len == 0) len = rest.size();
        total += len;
        jobs.push({block, block->bytes.get() + pos, len, index++, total});
        pos += len;
        if (progress != nullptr) progress->advance(len);
      }
      carry = have - pos;
      previous = std::move(block);
    }
    jobs.close();
    for (auto& t : pool) t.join();
  }
  if (failure.failed()) return failure.get();

  StoredFile out;
  out.size = total;
  std::sort(done.begin(), done.end(), [](const ChunkDone& a, const ChunkDone& b) { return a.index < b.index; });
  out.chunks.reserve(done.size());
  for (const ChunkDone& c : done) {
    out.chunks.push_back({to_hex(c.digest), c.length});
    if (c.written) {
      ++out.new_chunks;
      out.stored_bytes += c.stored_bytes;
    }
  }
  SLIPWAY_ASSIGN_OR_RETURN(out.id, file_id_from_chunks(out.chunks));
  return out;
}

}  // namespace slipway::data::detail
