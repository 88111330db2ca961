// Streaming readers: every source (CSV, JSON Lines, SQL results exported to CSV) is read as
// batches of raw text fields so that type inference, profiling and validation share one path
// and memory stays bounded whatever the input size.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
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
  // LINE is the 1-based physical line, COLUMN the 1-based character (not byte) column in it.
  // Errors are sticky: after one, every call returns it again.
  virtual Result<bool> next(RecordBatch& batch, size_t max_rows) = 0;
  // Name used in messages (the file path as given, or a description of the source).
  virtual const std::string& source_name() const = 0;
  // Bytes of (decompressed) input consumed so far, for progress reporting.
  virtual uint64_t bytes_consumed() const = 0;
};

// A malformed record handed to CsvOptions/JsonlOptions::on_bad_record instead of failing the read
// (`data ingest --on-error skip|quarantine`). The reader resynchronises at the next line break
// after the error and goes on; errors in the header, decompression or I/O stay fatal.
struct BadRecord {
  uint64_t line = 0;      // 1-based physical line where the record starts
  std::string message;    // exactly the error the reader would have failed with
  std::string_view text;  // the raw record, without its line break; valid only during the call
};
using BadRecordHandler = std::function<void(const BadRecord&)>;

struct CsvOptions {
  char delimiter = ',';
  char quote = '"';
  bool header = true;  // without a header columns are named c0, c1, ...
  // An unquoted field equal to one of these is missing. A quoted empty field ("") is an empty string.
  std::vector<std::string> null_tokens = {"", "NA", "null", "NULL"};
  bool validate_utf8 = true;
  size_t max_field_bytes = 64u << 20;  // a longer field is a parse error, not an out-of-memory
  BadRecordHandler on_bad_record;      // unset: the first malformed record fails the read
};

// Blank lines (empty or a lone CR) are skipped and are not rows. A quote inside an unquoted field
// is an error (RFC 4180; it would also break csv_split_points). Batches may hold fewer than
// max_rows rows when a read block ends. Messages (after "FILE:LINE:COLUMN: "):
//   unterminated quoted field (opened here) runs to the end of the file
//   row has 4 fields but the header has 5 (columns: a,b,c,d,e)   (first 8 names, then ",...")
//   invalid UTF-8 (byte 0xff) in column 'carrier'                 ("in the header" there)
//   unexpected character 'x' after closing quote in column 'name'
//   quote character inside an unquoted field in column 'size' (quote the whole field and ...)
//   field in column 'notes' is longer than 67108864 bytes
//   duplicate column name 'a' in the header (columns 1 and 3) / column 2 of the header has an empty name
// and without a position: "FILE: the file is empty (expected a header line)",
// "FILE: gzip decompression failed: <zlib's reason>" (likewise zstd; truncated input says
// "the compressed data ends early (truncated file)"), "FILE: no such file" (kNotFound).
// Opens a CSV file. gzip and zstd compression are detected from the magic bytes and decompressed
// while streaming. A UTF-8 byte-order mark is skipped. Line endings LF and CRLF (also mixed).
Result<std::unique_ptr<RecordReader>> open_csv(const std::filesystem::path& path, const CsvOptions& options);

// Reads CSV from memory the caller keeps alive. For parallel parsing of one mapped file:
// `header_names` set means `data` has no header line; `first_line` numbers lines in messages.
Result<std::unique_ptr<RecordReader>> open_csv_buffer(std::string_view data, std::string source_name,
                                                      const CsvOptions& options,
                                                      const std::vector<std::string>* header_names = nullptr,
                                                      uint64_t first_line = 1, uint64_t first_row = 1);

// The same over bytes [offset, offset + length) of an uncompressed file, read in blocks (bounded
// memory, unlike a memory map whose touched pages count towards the process's resident set).
Result<std::unique_ptr<RecordReader>> open_csv_file_range(const std::filesystem::path& path, uint64_t offset,
                                                          uint64_t length, std::string source_name,
                                                          const CsvOptions& options,
                                                          const std::vector<std::string>& header_names,
                                                          uint64_t first_line, uint64_t first_row);

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
// The same over a file, streamed in blocks (reads only up to the last split point).
Result<std::vector<CsvSplit>> csv_split_points_file(const std::filesystem::path& path, size_t parts,
                                                    const CsvOptions& options);

struct JsonlOptions {
  // Columns come from the union of keys in the first `header_scan_rows` objects, in first-seen
  // order; a key first seen later is a parse error that names it (the column set is fixed).
  size_t header_scan_rows = 1000;
  size_t max_line_bytes = 64u << 20;
  BadRecordHandler on_bad_record;  // unset: the first malformed line fails the read
};

// JSON Lines: one JSON object per line; blank lines skipped. Strings become their unescaped
// text, numbers their literal text, true/false "true"/"false", null and absent keys missing,
// nested arrays/objects their compact JSON text. gzip/zstd detected as for CSV.
Result<std::unique_ptr<RecordReader>> open_jsonl(const std::filesystem::path& path, const JsonlOptions& options);
// The same over memory the caller keeps alive (uncompressed), e.g. a request body or a fuzz input.
Result<std::unique_ptr<RecordReader>> open_jsonl_buffer(std::string_view data, std::string source_name,
                                                        const JsonlOptions& options);

}  // namespace slipway::table
