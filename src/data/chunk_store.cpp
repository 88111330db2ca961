// One read of a file feeds three kinds of work, each on its own thread(s) so that two cores keep
// busy: finding chunk boundaries (this thread), the whole-file SHA-256 (one thread: it is
// sequential by nature) and per-chunk SHA-256 + zstd + write (a pool: chunks are independent).
// Buffers are shared, not copied; a bounded queue between the stages bounds memory.
#include "detail/chunk_store.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "slipway/core/hash.h"

namespace slipway::data::detail {

namespace {

namespace fs = std::filesystem;

// 8 MiB blocks, at most a few in flight: ~100 MB at worst, whatever the file size.
constexpr size_t kBlockBytes = 8u << 20;
constexpr size_t kBlocksQueued = 3;
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
  std::shared_ptr<const Block> block;
  size_t offset = 0;
  size_t length = 0;
  size_t index = 0;
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

Result<StoredFile> chunk_and_store(store::ObjectStore* objects, const fs::path& path, const ChunkerOptions& options,
                                   Progress* progress, unsigned workers) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return open_error(path);

  FirstFailure failure;
  Channel<std::shared_ptr<const Block>> blocks(kBlocksQueued);
  Channel<ChunkJob> jobs(kChunksQueued);

  Sha256Digest whole_digest{};
  std::thread whole_thread([&] {
    Sha256 whole;
    std::shared_ptr<const Block> block;
    while (blocks.pop(block)) {
      const std::string_view fresh = block->fresh();
      whole.update(fresh.data(), fresh.size());
      block.reset();
    }
    whole_digest = whole.finish();
  });

  std::mutex done_mutex;
  std::vector<ChunkDone> done;
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
          const std::string_view chunk(job.block->bytes.get() + job.offset, job.length);
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
      }
    });
  }

  Chunker chunker(options);
  const size_t block_bytes = std::max(kBlockBytes, 2 * chunker.options().max_size);
  std::shared_ptr<Block> previous;
  size_t carry = 0;
  size_t index = 0;
  uint64_t total = 0;
  bool eof = false;
  while (!eof && !failure.failed()) {
    auto block = std::make_shared<Block>();
    block->bytes = std::make_unique_for_overwrite<char[]>(carry + block_bytes);
    if (carry > 0) std::memcpy(block->bytes.get(), previous->bytes.get() + previous->size - carry, carry);
    previous.reset();
    block->carry = carry;
    size_t have = carry;
    while (have < carry + block_bytes) {
      const size_t n = std::fread(block->bytes.get() + have, 1, carry + block_bytes - have, f);
      have += n;
      if (n == 0) {
        eof = true;
        break;
      }
    }
    if (std::ferror(f)) {
      failure.set(make_error(ErrorCode::kIoError, "cannot read {}", path.string()));
      break;
    }
    block->size = have;
    total += have - carry;
    if (have > carry) blocks.push(block);
    // Keep max_size bytes beyond a cut (unless the file ends) so that every cut is final.
    size_t pos = 0;
    while (pos < have && (eof || have - pos >= chunker.options().max_size)) {
      const std::string_view rest(block->bytes.get() + pos, have - pos);
      size_t len = chunker.next_boundary(rest, /*final=*/eof);
      if (len == 0) len = rest.size();
      jobs.push({block, pos, len, index++});
      pos += len;
      if (progress != nullptr) progress->advance(len);
    }
    carry = have - pos;
    previous = std::move(block);
  }
  std::fclose(f);
  blocks.close();
  jobs.close();
  whole_thread.join();
  for (auto& t : pool) t.join();
  if (failure.failed()) return failure.get();

  StoredFile out;
  out.sha256 = to_hex(whole_digest);
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
  return out;
}

}  // namespace slipway::data::detail
