// The prediction log: every prediction the server makes can be recorded (request id, time, model and
// version, inputs, outputs, latency, tags) in append-only, checksummed segment files under the store,
// <store>/logs/predictions/<model>/NNNNNN.log. The format is in docs/prediction-log.md.
//
// Writing never blocks a prediction: try_append() puts the record on a bounded in-memory queue (one
// short mutex, no I/O) and returns false when the queue is full — the record is dropped and counted.
// One background thread drains the queue into the files. A process killed at any instant leaves every
// segment readable up to its last complete record; the reader stops cleanly at a torn last record.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "slipway/core/status.h"
#include "slipway/serve/inference.h"

namespace slipway::serve {

// One logged prediction. Inputs and outputs are KServe v2 tensors, kept in one of two forms:
//  - `inputs` / `outputs`: the tensors themselves (what the server logs; stored as raw little-endian
//    bytes, so neither the server nor monitoring formats or parses a number), or
//  - `inputs_json` / `outputs_json`: a KServe v2 JSON array of tensors (what format version 1 stored;
//    records read from version-1 segments come back in this form).
// A writer stores the tensors when there are any, else the JSON text. Use inputs_as_json() /
// outputs_as_json() when either form will do.
struct PredictionRecord {
  std::string request_id;
  int64_t time_us = 0;  // when the request arrived, microseconds since the Unix epoch (UTC)
  std::string model;
  int64_t version = 0;
  std::vector<Tensor> inputs;   // the request's inputs (empty: none logged, or given as JSON)
  std::vector<Tensor> outputs;  // the response's outputs
  std::string inputs_json;      // the same as KServe v2 JSON tensors (version-1 records)
  std::string outputs_json;
  int64_t latency_us = 0;  // arrival to response, microseconds
  // Free-form labels (variant, client, shadow, ...). Monitoring groups by them.
  std::vector<std::pair<std::string, std::string>> tags;

  // The inputs / outputs as a KServe v2 JSON array, whichever form the record holds ("" if none).
  std::string inputs_as_json() const;
  std::string outputs_as_json() const;
  // Rows the request had: the first dimension of the first output's shape (of the first input's when
  // there is no output; 1 for a scalar shape); for tensors logged without a shape, the longest
  // tensor's element count. At least 1. Monitoring and feedback both count rows by this.
  size_t rows() const;
};

// <store root>/logs/predictions
std::filesystem::path prediction_log_dir(const std::filesystem::path& store_root);

// The folder one model's segments live in: `model` with every byte outside [A-Za-z0-9._-] (and a
// leading '.') written as %XX, so any model name maps to one safe folder name and back.
std::string model_folder_name(std::string_view model);
std::string model_from_folder_name(std::string_view folder);

enum class FsyncPolicy {
  kNever,     // rely on the OS page cache: survives a killed process, not a power cut
  kInterval,  // fsync at most every `fsync_interval` (default)
  kAlways,    // fsync after every batch the writer thread writes
};

struct PredictionLogOptions {
  size_t queue_capacity = 65536;           // records waiting for the writer; more are dropped
  size_t queue_bytes = size_t{256} << 20;  // and at most this many bytes of record text waiting
  uint64_t segment_bytes = uint64_t{64} << 20;  // start a new segment when one grows past this
  FsyncPolicy fsync = FsyncPolicy::kInterval;
  std::chrono::milliseconds fsync_interval{1000};
};

// Counters, all monotonically increasing; safe to read from any thread at any time (for /metrics).
struct PredictionLogStats {
  uint64_t appended = 0;  // accepted by try_append
  uint64_t dropped = 0;   // refused by try_append because the queue was full
  uint64_t written = 0;   // handed to the OS (write(2) returned)
  uint64_t failed = 0;    // accepted but lost because a write failed (disk full, ...); see last_error()
  uint64_t bytes_written = 0;
};

class PredictionLog {
 public:
  // `dir` is the predictions folder (prediction_log_dir(store_root)); it is created if missing.
  // Each writer starts a new segment per model, so a torn tail left by a killed process is never
  // followed by new records in the same file.
  static Result<std::unique_ptr<PredictionLog>> open(const std::filesystem::path& dir,
                                                     PredictionLogOptions options = {});
  ~PredictionLog();  // drains the queue, fsyncs and closes
  PredictionLog(const PredictionLog&) = delete;
  PredictionLog& operator=(const PredictionLog&) = delete;

  // Never blocks on I/O. False: the queue is full (or the log is closing); the record is dropped
  // and counted in dropped().
  bool try_append(PredictionRecord&& record);

  // Blocks until every record accepted before the call is written and fsynced (also while paused).
  void flush();

  // Stop / restart draining the queue: records accumulate (and drop once it is full) until resume().
  // For tests of the full-queue path, and for an operator pausing log writes (a disk being swapped).
  void pause();
  void resume();

  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  PredictionLogStats stats() const;
  size_t queue_depth() const;
  // The last write error (OK if none); records lost to it are counted in stats().failed.
  Status last_error() const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  struct Segment;
  PredictionLog(std::filesystem::path dir, PredictionLogOptions options);
  void run();
  // One encoded record waiting for the writer. Entries past the queue's size keep their buffers,
  // so a steady stream of records is queued and written without allocating or freeing.
  struct Queued {
    std::string model;
    std::string frame;  // log_format::append_frame's bytes
  };
  void write_batch(std::vector<Queued>& batch, size_t count, bool sync);
  Status write_one_model(const std::string& model, Segment& segment);  // its pending frames
  Status open_segment(const std::string& model, Segment& segment);
  void sync_all();

  std::filesystem::path dir_;
  PredictionLogOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable wake_writer_;
  std::condition_variable flushed_;
  std::vector<Queued> queue_;  // the first queue_size_ entries wait; the rest are spare buffers
  size_t queue_size_ = 0;
  size_t queue_bytes_ = 0;
  uint64_t accepted_seq_ = 0;     // records accepted so far
  uint64_t done_seq_ = 0;         // records the writer has finished with (written or failed)
  uint64_t flush_requested_ = 0;  // the writer fsyncs once done_seq_ reaches this
  uint64_t synced_seq_ = 0;
  bool writer_waiting_ = false;
  bool paused_ = false;
  bool stopping_ = false;
  Status last_error_;

  std::atomic<uint64_t> appended_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> bytes_written_{0};

  // Owned by the writer thread only.
  std::map<std::string, std::unique_ptr<Segment>> segments_;
  std::chrono::steady_clock::time_point last_sync_;
  bool dirty_ = false;

  std::thread writer_;
};

// ---- reading -------------------------------------------------------------------------------------

struct PredictionLogFilter {
  std::optional<int64_t> version;
  std::optional<int64_t> since_us;  // time_us >= since_us
  std::optional<int64_t> until_us;  // time_us < until_us
  bool matches(const PredictionRecord& r) const {
    return (!version || r.version == *version) && (!since_us || r.time_us >= *since_us) &&
           (!until_us || r.time_us < *until_us);
  }
};

// A damaged stretch the reader skipped: bytes that are not valid records, followed by a valid one.
struct LogCorruption {
  std::filesystem::path segment;
  uint64_t offset = 0;  // of the first bad byte in the segment file
  uint64_t bytes = 0;   // skipped
  std::string reason;   // "record checksum mismatch", "bad record header", ...
};

// Where the reader stands: the next record it returns is the one at `offset` in segment `segment`.
struct LogPosition {
  uint64_t segment = 0;
  uint64_t offset = 0;
};

// Reads one model's records in the order they were written, segment by segment.
//
// Damage rules (docs/prediction-log.md): an incomplete or damaged stretch that runs to the end of a
// segment is a torn tail (what a killed writer leaves): reading moves on to the next segment, and
// the bytes are counted in torn_tail_bytes(). Damage followed by a valid record is corruption: it is
// skipped, reported in corruptions() with its offset, and reading goes on.
//
// At the end of the newest segment an incomplete record may still be being written, so next() just
// returns false there; calling next() again later picks up records appended since (`logs tail -f`).
class PredictionLogReader {
 public:
  // `dir` is the predictions folder. kNotFound when the model has never been logged.
  static Result<PredictionLogReader> open(const std::filesystem::path& dir, std::string_view model,
                                          PredictionLogFilter filter = {});
  PredictionLogReader(PredictionLogReader&&) noexcept;
  PredictionLogReader& operator=(PredictionLogReader&&) noexcept;
  ~PredictionLogReader();

  // The next record that matches the filter: true and `out` filled, false at the end (for now; `out`
  // is then unspecified). `out` is decoded in place, reusing its storage: pass the same record back.
  // Errors: the folder or a file cannot be read (kIoError), a segment from a newer slipway
  // (kUnsupportedVersion).
  Result<bool> next(PredictionRecord& out);

  // Skip ahead: the next record returned is the first one of segment `first_segment` or later.
  // (tail -n reads only the last segments it needs.)
  Status seek_to_segment(uint64_t first_segment);
  // The segment numbers present, oldest first (re-listed on each call).
  Result<std::vector<uint64_t>> segments() const;

  LogPosition position() const;
  const std::vector<LogCorruption>& corruptions() const;
  // Bytes of torn tails skipped at the end of segments that a newer segment follows.
  uint64_t torn_tail_bytes() const;
  // Bytes at the end of the newest segment that are not (yet) a complete record, as of the last
  // next() that returned false: a record being written now, or a torn tail if no writer is running.
  uint64_t unfinished_tail_bytes() const;
  uint64_t records_read() const;  // valid records seen, matching or not

 private:
  struct State;
  explicit PredictionLogReader(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// The models that have a folder under `dir`, sorted.
Result<std::vector<std::string>> logged_models(const std::filesystem::path& dir);

// The binary frame format, exposed for tests and tools. All integers little-endian.
namespace log_format {
inline constexpr char kSegmentMagic[8] = {'S', 'L', 'W', 'Y', 'P', 'L', 'O', 'G'};
// Version 2: record payloads carry tensors as raw bytes (payload version 2). Version-1 segments
// (payload version 1, tensors as JSON text) stay readable.
inline constexpr uint32_t kFormatVersion = 2;
inline constexpr size_t kSegmentHeaderBytes = 32;
inline constexpr uint32_t kRecordSync = 0x52504C53;  // "SLPR" read as little-endian
inline constexpr size_t kFrameHeaderBytes = 16;
inline constexpr uint32_t kMaxPayloadBytes = uint32_t{1} << 30;
inline constexpr uint16_t kPayloadVersion = 2;

uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);
std::string encode_segment_header(int64_t created_us);
// Appends one framed record (frame header + payload) to `out`.
void append_frame(const PredictionRecord& record, std::string& out);
// Decodes a payload (without the frame header), version 1 or 2. kCorrupt if it does not parse.
Result<PredictionRecord> decode_payload(std::string_view payload);
// The same into `out`, reusing its strings' and vectors' storage (the reader's hot path).
Status decode_payload_into(std::string_view payload, PredictionRecord& out);
std::string segment_file_name(uint64_t number);  // 000001.log
}  // namespace log_format

}  // namespace slipway::serve
