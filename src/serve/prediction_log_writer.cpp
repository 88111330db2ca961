// PredictionLog: a bounded queue in front of one writer thread that appends framed records to
// per-model segment files. A serving thread encodes its record (so the record's tensors are freed
// by the thread that made them) and takes a short mutex to swap the bytes into a queue entry; the
// writer thread copies frames into per-model buffers and does the write(2) and fsync. Queue
// entries keep their buffers from batch to batch: no allocation per record in the steady state.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "slipway/core/fs.h"
#include "slipway/serve/prediction_log.h"

namespace slipway::serve {

namespace {

// After the first record of an idle spell arrives the writer waits this long for more, so a trickle
// of requests is written in batches instead of one write(2) per record.
constexpr auto kLinger = std::chrono::milliseconds(2);
// How long an idle writer sleeps before looking at the fsync deadline again.
constexpr auto kIdleWait = std::chrono::milliseconds(200);

// Queue entries keep their buffers for reuse up to these bounds (the first kSpareEntries entries,
// kSpareBytes of capacity in all); the rest give their memory back once written, so one burst of
// huge requests does not pin memory for good.
constexpr size_t kSpareEntries = 4096;
constexpr size_t kSpareBytes = size_t{32} << 20;

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status errno_error(const char* what, const std::filesystem::path& path) {
  return make_error(ErrorCode::kIoError, "{} {}: {}", what, path.string(), std::strerror(errno));
}

Status write_all(int fd, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("cannot write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

}  // namespace

// One model's open segment file; owned by the writer thread.
struct PredictionLog::Segment {
  std::filesystem::path folder;
  std::filesystem::path path;
  uint64_t number = 0;  // of the open file; 0 before the first
  int fd = -1;
  uint64_t bytes = 0;   // in the file
  bool dirty = false;   // written since the last fsync
  // Frames not yet written: pointers into the batch being written (written before it is reused).
  std::vector<iovec> pending;
  uint64_t pending_bytes = 0;
  uint64_t pending_records = 0;

  ~Segment() {
    if (fd >= 0) ::close(fd);
  }
};

PredictionLog::PredictionLog(std::filesystem::path dir, PredictionLogOptions options)
    : dir_(std::move(dir)), options_(options), last_sync_(std::chrono::steady_clock::now()) {}

Result<std::unique_ptr<PredictionLog>> PredictionLog::open(const std::filesystem::path& dir,
                                                           PredictionLogOptions options) {
  if (options.queue_capacity == 0) {
    return make_error(ErrorCode::kInvalidArgument, "prediction log queue capacity must be at least 1");
  }
  if (options.segment_bytes < 4096) {
    return make_error(ErrorCode::kInvalidArgument, "prediction log segment size must be at least 4096 bytes, got {}",
                      options.segment_bytes);
  }
  SLIPWAY_RETURN_IF_ERROR(make_directories(dir));
  std::unique_ptr<PredictionLog> log(new PredictionLog(dir, options));
  log->queue_.reserve(std::min<size_t>(options.queue_capacity, 4096));
  log->writer_ = std::thread([raw = log.get()] { raw->run(); });
  return log;
}

PredictionLog::~PredictionLog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_writer_.notify_one();
  if (writer_.joinable()) writer_.join();
}

bool PredictionLog::try_append(PredictionRecord&& record) {
  thread_local std::string frame;
  frame.clear();
  log_format::append_frame(record, frame);
  const size_t bytes = frame.size();
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    // One record larger than the whole byte budget is still taken into an empty queue.
    if (stopping_ || queue_size_ >= options_.queue_capacity ||
        (queue_bytes_ + bytes > options_.queue_bytes && queue_size_ != 0)) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    if (queue_size_ == queue_.size()) queue_.emplace_back();
    Queued& q = queue_[queue_size_++];
    q.model.assign(record.model);
    q.frame.swap(frame);  // the entry's old buffer becomes this thread's next scratch
    queue_bytes_ += bytes;
    ++accepted_seq_;
    wake = writer_waiting_;
    writer_waiting_ = false;
  }
  appended_.fetch_add(1, std::memory_order_relaxed);
  if (wake) wake_writer_.notify_one();
  return true;
}

void PredictionLog::flush() {
  std::unique_lock lock(mutex_);
  uint64_t target = accepted_seq_;
  if (synced_seq_ >= target) return;
  flush_requested_ = std::max(flush_requested_, target);
  writer_waiting_ = false;
  wake_writer_.notify_one();
  flushed_.wait(lock, [&] { return synced_seq_ >= target; });
}

void PredictionLog::pause() {
  std::lock_guard lock(mutex_);
  paused_ = true;
}

void PredictionLog::resume() {
  {
    std::lock_guard lock(mutex_);
    paused_ = false;
    writer_waiting_ = false;
  }
  wake_writer_.notify_one();
}

PredictionLogStats PredictionLog::stats() const {
  PredictionLogStats s;
  s.appended = appended_.load(std::memory_order_relaxed);
  s.dropped = dropped_.load(std::memory_order_relaxed);
  s.written = written_.load(std::memory_order_relaxed);
  s.failed = failed_.load(std::memory_order_relaxed);
  s.bytes_written = bytes_written_.load(std::memory_order_relaxed);
  return s;
}

size_t PredictionLog::queue_depth() const {
  std::lock_guard lock(mutex_);
  return queue_size_;
}

Status PredictionLog::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

void PredictionLog::run() {
  std::vector<Queued> batch;
  size_t batch_size = 0;
  batch.reserve(queue_.capacity());
  for (;;) {
    bool stop = false;
    bool sync = false;
    uint64_t batch_end = 0;
    {
      std::unique_lock lock(mutex_);
      auto has_work = [&] { return (queue_size_ != 0 && !paused_) || stopping_ || flush_requested_ > synced_seq_; };
      if (!has_work()) {
        auto deadline = kIdleWait;
        if (dirty_ && options_.fsync == FsyncPolicy::kInterval) {
          auto left = options_.fsync_interval - (std::chrono::steady_clock::now() - last_sync_);
          deadline = std::max(std::chrono::milliseconds(0),
                              std::min(kIdleWait, std::chrono::duration_cast<std::chrono::milliseconds>(left)));
        }
        writer_waiting_ = true;
        wake_writer_.wait_for(lock, deadline, has_work);
        writer_waiting_ = false;
        if (has_work() && !stopping_ && flush_requested_ <= synced_seq_) {
          // Woken by the first record of a burst: give the rest of the burst a moment to arrive.
          lock.unlock();
          std::this_thread::sleep_for(kLinger);
          lock.lock();
        }
      }
      stop = stopping_;
      sync = stop || flush_requested_ > synced_seq_;
      if (!paused_ || sync) {
        batch.swap(queue_);  // the queue gets the last batch's entries back, buffers and all
        batch_size = queue_size_;
        queue_size_ = 0;
        queue_bytes_ = 0;
        batch_end = accepted_seq_;
      } else {
        batch_end = done_seq_;
      }
    }
    if (options_.fsync == FsyncPolicy::kAlways && !batch.empty()) sync = true;
    if (options_.fsync == FsyncPolicy::kInterval && (dirty_ || !batch.empty()) &&
        std::chrono::steady_clock::now() - last_sync_ >= options_.fsync_interval) {
      sync = true;
    }
    write_batch(batch, batch_size, sync);
    size_t spare = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      spare += batch[i].frame.capacity();
      if (i >= kSpareEntries || spare > kSpareBytes) {
        spare -= batch[i].frame.capacity();
        std::string().swap(batch[i].frame);
      }
    }
    if (batch.size() > kSpareEntries) batch.resize(kSpareEntries);
    batch_size = 0;
    {
      std::lock_guard lock(mutex_);
      done_seq_ = batch_end;
      if (sync) synced_seq_ = batch_end;
    }
    if (sync) flushed_.notify_all();
    if (stop) {
      std::lock_guard lock(mutex_);
      if (queue_size_ == 0) break;  // stopping_ refuses new records, so nothing can arrive after this
    }
  }
  segments_.clear();
}

void PredictionLog::write_batch(std::vector<Queued>& batch, size_t count, bool sync) {
  Segment* seg = nullptr;
  const std::string* seg_model = nullptr;
  for (size_t i = 0; i < count; ++i) {
    Queued& record = batch[i];
    if (seg_model == nullptr || *seg_model != record.model) {  // a batch is mostly one model's
      auto& slot = segments_[record.model];
      if (!slot) {
        slot = std::make_unique<Segment>();
        slot->folder = dir_ / model_folder_name(record.model);
      }
      seg = slot.get();
      seg_model = &record.model;
    }
    // Rotate before the file would pass segment_bytes, unless the segment holds no record yet.
    const uint64_t file_bytes = seg->fd >= 0 ? seg->bytes : log_format::kSegmentHeaderBytes;
    if (file_bytes + seg->pending_bytes + record.frame.size() > options_.segment_bytes &&
        file_bytes + seg->pending_bytes > log_format::kSegmentHeaderBytes) {
      Status st = write_one_model(record.model, *seg);
      (void)st;  // counted in failed_ and last_error_
      if (seg->fd >= 0) {
        if (options_.fsync != FsyncPolicy::kNever) ::fdatasync(seg->fd);
        ::close(seg->fd);
        seg->fd = -1;
        seg->dirty = false;
      }
    }
    seg->pending.push_back({record.frame.data(), record.frame.size()});
    seg->pending_bytes += record.frame.size();
    ++seg->pending_records;
  }
  for (auto& [model, s] : segments_) {
    if (s->pending.empty()) continue;
    Status st = write_one_model(model, *s);
    (void)st;
  }
  if (sync) sync_all();
}

Status PredictionLog::write_one_model(const std::string& model, Segment& seg) {
  const uint64_t bytes = seg.pending_bytes;
  const uint64_t records = seg.pending_records;
  Status st;
  if (seg.fd < 0) st = open_segment(model, seg);
  if (st.ok()) {
    if (int err = write_all_iovecs(seg.fd, seg.pending.data(), seg.pending.size()); err != 0) {
      errno = err;
      st = errno_error("cannot write", seg.path);
    }
  }
  if (st.ok()) {
    seg.bytes += bytes;
    seg.dirty = true;
    dirty_ = true;
    written_.fetch_add(records, std::memory_order_relaxed);
    bytes_written_.fetch_add(bytes, std::memory_order_relaxed);
  } else {
    // A failed write may have left part of a frame: close the file so that part stays a torn tail
    // and the next record starts a new segment.
    if (seg.fd >= 0) {
      ::close(seg.fd);
      seg.fd = -1;
    }
    failed_.fetch_add(records, std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    last_error_ = st;
  }
  seg.pending.clear();
  seg.pending_bytes = 0;
  seg.pending_records = 0;
  return st;
}

Status PredictionLog::open_segment(const std::string& model, Segment& seg) {
  SLIPWAY_RETURN_IF_ERROR(make_directories(seg.folder));
  if (seg.number == 0) {
    // Continue after the newest segment any earlier writer left (never append to it: it may end
    // in a torn record).
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(seg.folder, ec)) {
      std::string name = entry.path().filename().string();
      if (!name.ends_with(".log")) continue;
      uint64_t n = 0;
      auto [ptr, err] = std::from_chars(name.data(), name.data() + name.size() - 4, n);
      if (err == std::errc() && ptr == name.data() + name.size() - 4) seg.number = std::max(seg.number, n);
    }
    if (ec) return make_error(ErrorCode::kIoError, "cannot list {}: {}", seg.folder.string(), ec.message());
  }
  for (int attempt = 0;; ++attempt) {
    ++seg.number;
    seg.path = seg.folder / log_format::segment_file_name(seg.number);
    seg.fd = ::open(seg.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (seg.fd >= 0) break;
    // Another writer (a second server on the same store) took this number: take the next.
    if (errno != EEXIST || attempt > 1000) return errno_error("cannot create", seg.path);
  }
  std::string header = log_format::encode_segment_header(now_us());
  Status st = write_all(seg.fd, header, seg.path);
  if (!st.ok()) {
    ::close(seg.fd);
    seg.fd = -1;
    return st;
  }
  seg.bytes = header.size();
  if (options_.fsync != FsyncPolicy::kNever) {
    ::fdatasync(seg.fd);
    SLIPWAY_RETURN_IF_ERROR(fsync_directory(seg.folder));
  }
  (void)model;
  return {};
}

void PredictionLog::sync_all() {
  for (auto& [model, seg] : segments_) {
    if (seg->fd >= 0 && seg->dirty) {
      if (::fdatasync(seg->fd) != 0) {
        std::lock_guard lock(mutex_);
        last_error_ = errno_error("cannot fsync", seg->path);
      }
      seg->dirty = false;
    }
  }
  dirty_ = false;
  last_sync_ = std::chrono::steady_clock::now();
}

}  // namespace slipway::serve
