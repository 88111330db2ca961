// Streaming readers: every source (CSV, JSON Lines, SQL results exported to CSV) is read as
// batches of raw text fields so that type inference, profiling and validation share one path
// and memory stays bounded whatever the input size.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "slipway/core/status.h"

namespace slipway::table {

// A batch of rows, column-major. Views point into memory the reader owns; they stay valid until
// the next call to RecordReader::next().
struct RecordBatch {
  size_t num_rows = 0;
  std::vector<std::vector<std::string_view>> columns;  // columns[c][r]
  std::vector<std::vector<uint8_t>> nulls;             // nulls[c][r] != 0: missing value
  std::vector<uint64_t> line_numbers;  // 1-based physical line in the source where row r starts
  std::vector<uint64_t> row_numbers;   // 1-based data row number (header not counted)
  void clear();
};

class RecordReader {
 public:
  virtual ~RecordReader() = default;
  virtual const std::vector<std::string>& column_names() const = 0;
  // Replaces `batch` with up to `max_rows` rows. Returns false when the input is exhausted.
  // A malformed record is a kParseError whose message starts with "FILE:LINE:COLUMN: ".
  virtual Result<bool> next(RecordBatch& batch, size_t max_rows) = 0;
  // Name used in messages (the file path as given, or a description of the source).
  virtual const std::string& source_name() const = 0;
  // Bytes of (decompressed) input consumed so far, for progress reporting.
  virtual uint64_t bytes_consumed() const = 0;
};

struct CsvOptions {
  char delimiter = ',';
  char quote = '"';
  bool header = true;  // without a header columns are named c0, c1, ...
  // An unquoted field equal to one of these is missing. A quoted empty field ("") is an empty string.
  std::vector<std::string> null_tokens = {"", "NA", "null", "NULL"};
  bool validate_utf8 = true;
  size_t max_field_bytes = 64u << 20;  // a longer field is a parse error, not an out-of-memory
};

// Opens a CSV file. gzip and zstd compression are detected from the magic bytes and decompressed
// while streaming. A UTF-8 byte-order mark is skipped. Line endings LF and CRLF (also mixed).
Result<std::unique_ptr<RecordReader>> open_csv(const std::filesystem::path& path, const CsvOptions& options);

// Reads CSV from memory the caller keeps alive. For parallel parsing of one mapped file:
// `header_names` set means `data` has no header line; `first_line` numbers lines in messages.
Result<std::unique_ptr<RecordReader>> open_csv_buffer(std::string_view data, std::string source_name,
                                                      const CsvOptions& options,
                                                      const std::vector<std::string>* header_names = nullptr,
                                                      uint64_t first_line = 1, uint64_t first_row = 1);

// Offsets into `data` (uncompressed CSV, header included) where `parts` roughly equal ranges of
// whole records begin, respecting quoted newlines (RFC 4180 quote parity). The first is the start
// of the first data row; each range ends where the next begins; the last ends at data.size().
// Also reports the line number and data-row number at which each range starts.
struct CsvSplit {
  size_t offset;
  uint64_t first_line;
  uint64_t first_row;
};
std::vector<CsvSplit> csv_split_points(std::string_view data, size_t parts, const CsvOptions& options);

struct JsonlOptions {
  // Columns come from the union of keys in the first `header_scan_rows` objects, in first-seen
  // order; a key first seen later is a parse error that names it (the column set is fixed).
  size_t header_scan_rows = 1000;
  size_t max_line_bytes = 64u << 20;
};

// JSON Lines: one JSON object per line; blank lines skipped. Strings become their unescaped
// text, numbers their literal text, true/false "true"/"false", null and absent keys missing,
// nested arrays/objects their compact JSON text. gzip/zstd detected as for CSV.
Result<std::unique_ptr<RecordReader>> open_jsonl(const std::filesystem::path& path, const JsonlOptions& options);

}  // namespace slipway::table
