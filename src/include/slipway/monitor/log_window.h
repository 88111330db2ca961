// Reading the prediction log (serve/prediction_log.h) as columns: a window of one model's logged
// predictions decoded into Frames — the request's inputs by model input name, the outputs by output
// name — plus each row's request id, time, version, latency and tags. A request of several rows
// gives several rows here, all with its request id (feedback for batch requests names
// "REQUEST_ID" for the only row or "REQUEST_ID#ROW" for one row of several; see docs/monitoring.md).
//
// visit_log_chunks() streams: memory is bounded by chunk_rows whatever the window's size.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "slipway/core/status.h"
#include "slipway/monitor/frame.h"

namespace slipway::monitor {

struct LogWindowSpec {
  std::string model;
  std::optional<int64_t> version;    // only this version
  std::optional<int64_t> since_us;   // time_us >= since_us
  std::optional<int64_t> until_us;   // time_us < until_us
  std::optional<uint64_t> last_rows; // only the newest N rows (of what the other filters keep)
};

// Parses "MODEL[/VERSION][?last=N|since=T|until=T&...]" (T: 2025-01-31, 2025-01-31T10:00:00Z, or
// 24h / 7d / 30m before `now_us`). kInvalidArgument names the bad part.
Result<LogWindowSpec> parse_log_window(std::string_view text, int64_t now_us);

struct LogChunk {
  Frame inputs;   // one column per input tensor name seen (numeric or BYTES -> categorical)
  Frame outputs;  // one column per output tensor (numeric)
  std::vector<std::string> row_ids;   // "REQUEST_ID" or "REQUEST_ID#ROW" (see above)
  std::vector<int64_t> time_us;
  std::vector<int64_t> version;
  std::vector<int64_t> latency_us;
  // Tags of each row's request, as categorical columns named by tag key (missing where absent).
  Frame tags;
  size_t rows() const { return row_ids.size(); }
};

// Calls `fn` with consecutive chunks of at most `chunk_rows` rows, oldest first. A window with
// last_rows reads the log twice (count, then emit) rather than holding it. `fn` returning an error
// stops the walk and returns it. kNotFound when the model has never been logged.
Status visit_log_chunks(const std::filesystem::path& store_root, const LogWindowSpec& spec, size_t chunk_rows,
                        const std::function<Status(const LogChunk&)>& fn);

// Follows one model's log: each read_new() hands over, in chunks, the records appended since the
// previous call (in log order, whatever their times), so consecutive windows of the server's
// monitoring neither miss nor repeat a record written late. The first call starts at `start_us`
// (records that arrived before it are skipped).
class LogTail {
 public:
  LogTail(std::filesystem::path store_root, std::string model, int64_t start_us);
  ~LogTail();
  LogTail(LogTail&&) noexcept;
  LogTail& operator=(LogTail&&) noexcept;
  Status read_new(size_t chunk_rows, const std::function<Status(const LogChunk&)>& fn);
  // Whether chunks carry the inputs (default true). A monitor without an input-drift reference asks
  // for outputs, times and tags only, and the inputs are not turned into columns.
  void set_inputs_wanted(bool wanted);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The whole window in memory (tests, small windows, reports).
Result<LogChunk> read_log_window(const std::filesystem::path& store_root, const LogWindowSpec& spec);

}  // namespace slipway::monitor
