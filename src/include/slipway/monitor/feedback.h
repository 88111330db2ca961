// Feedback: the true outcome of a logged prediction, arriving hours or days later — a label
// and/or named business values (revenue, clicks, ...) — keyed by the request id the server returned.
// Stored in the store's monitor_feedback table (migration 4); joined to the prediction log by
// performance.h. A request of several rows takes feedback per row as "REQUEST_ID#ROW".
//
// Accepted forms (HTTP body of POST /v2/models/{name}/feedback, or a .json file):
//   {"feedback": [{"id": "a1-17", "label": 1, "values": {"revenue": 12.5}}, ...]}   or a bare array;
// a .jsonl file: one such object per line; a .csv file: a header with `id`, optional `label`, and
// any other columns as numeric values.
// Validation is all or nothing: a batch with one bad item writes nothing, and the error names the
// item (file:line or feedback[i]) and the field.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "slipway/core/status.h"
#include "slipway/store/store.h"

namespace slipway::monitor {

struct FeedbackItem {
  std::string request_id;
  std::optional<std::string> label;  // as text: "1", "0.35", "late"
  std::optional<double> label_number;
  std::vector<std::pair<std::string, double>> values;
  std::string where;  // "feedback[3]" or "labels.csv:14" (for error messages)
};

// `source` names the input in a parse error; `item_prefix` starts each item's `where` ("" for an
// HTTP body: "feedback[3]"; a file name for a file: "labels.json: feedback[3]").
Result<std::vector<FeedbackItem>> parse_feedback_json(std::string_view body, std::string_view source,
                                                      std::string_view item_prefix = "");
// .json, .jsonl or .csv by extension.
Result<std::vector<FeedbackItem>> read_feedback_file(const std::filesystem::path& path);

// The request ids a model's prediction log holds, for rejecting feedback that names none of them.
// Catches up with the log lazily (only when an id is not found), so it stays cheap while serving.
class RequestIdIndex {
 public:
  RequestIdIndex(std::filesystem::path store_root, std::string model);
  ~RequestIdIndex();
  RequestIdIndex(RequestIdIndex&&) noexcept;
  RequestIdIndex& operator=(RequestIdIndex&&) noexcept;
  // The row id feedback for `id` is stored under: "ID" for a one-row request (also when given as
  // "ID#0"), "ID#ROW" for one row of a request of several rows. nullopt: no logged request has it.
  // kInvalidArgument for a bare "ID" of a request of several rows (which row?) or a row past its end.
  Result<std::optional<std::string>> canonical(std::string_view id);
  size_t size() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

struct FeedbackOutcome {
  size_t accepted = 0;   // new rows
  size_t replaced = 0;   // ids that had feedback already (the newer replaces it; counted as a duplicate)
  size_t skipped_unknown = 0;
};

struct FeedbackOptions {
  // Ids not in the log: false (default) -> kNotFound naming the first, nothing written; true -> skipped
  // and counted (so are ids that name no single row: a bare id of a multi-row request, a row past its end).
  bool skip_unknown = false;
  // Called before writing when set (the server flushes its prediction log so just-made ids are found).
  std::function<void()> before_unknown_check;
};

// Validates every item against the index (unknown ids), then writes all in one transaction.
Result<FeedbackOutcome> record_feedback(store::Store& store, const std::string& model, std::vector<FeedbackItem> items,
                                        RequestIdIndex& index, const FeedbackOptions& options, int64_t now_us);

struct FeedbackRow {
  std::optional<std::string> label;
  std::optional<double> label_number;
  std::vector<std::pair<std::string, double>> values;
  int64_t received_us = 0;
  int64_t duplicates = 0;
};

// Every feedback row of a model, by request id (row id).
Result<std::unordered_map<std::string, FeedbackRow>> load_feedback(store::Store& store, const std::string& model);

}  // namespace slipway::monitor
