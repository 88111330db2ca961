// RFC 4180 CSV reader, streaming in blocks.
//
// The buffer holds [pos_, end_) of unparsed input; a record that runs past end_ is re-parsed once
// more input has been appended. Field views point into the buffer (or into the arena for quoted
// fields with doubled quotes), so the buffer is only compacted or grown when no views from the
// current batch exist: at the start of next(), or when a batch has no rows yet.
//
// Error positions are "FILE:LINE:COLUMN: " where LINE is the 1-based physical line and COLUMN the
// 1-based character (not byte) column within that line, as editors count them.
#include <emmintrin.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "detail/arena.h"
#include "detail/byte_source.h"
#include "detail/reader_testing.h"
#include "slipway/table/reader.h"
#include "slipway/table/types.h"

namespace slipway::table {
namespace {

constexpr size_t kDefaultBlock = 4u << 20;
constexpr size_t kValidateWindow = 1u << 20;
constexpr size_t kNoOffset = std::numeric_limits<size_t>::max();

std::string describe_byte(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return fmt::format("'{}'", c);
  return fmt::format("byte 0x{:02x}", u);
}

class CsvReader final : public RecordReader {
 public:
  CsvReader(std::string name, const CsvOptions& options) : name_(std::move(name)), options_(options) {
    quote_ = options_.quote;
    quoting_ = quote_ != '\0';
    for (const auto& token : options_.null_tokens) {
      if (token.empty()) {
        empty_is_null_ = true;
      } else if (token.size() < 64) {
        null_lengths_ |= uint64_t{1} << token.size();
        null_first_[static_cast<unsigned char>(token[0])] = true;
      }
    }
  }

  // Streaming over a (possibly decompressed) file.
  Status init_stream(std::unique_ptr<detail::ByteSource> source, size_t block) {
    source_ = std::move(source);
    cap_ = std::max<size_t>(block, 1);
    owned_ = std::make_unique_for_overwrite<char[]>(cap_);
    buf_ = owned_.get();
    eof_ = false;
    return init_columns(nullptr);
  }

  // Over a byte range of a file whose header was read elsewhere.
  Status init_range(std::unique_ptr<detail::ByteSource> source, size_t block, const std::vector<std::string>& names,
                    uint64_t first_line, uint64_t first_row) {
    source_ = std::move(source);
    cap_ = std::max<size_t>(block, 1);
    owned_ = std::make_unique_for_overwrite<char[]>(cap_);
    buf_ = owned_.get();
    eof_ = false;
    line_ = first_line;
    row_ = first_row;
    return init_columns(&names);
  }

  // Over memory the caller keeps alive.
  Status init_buffer(std::string_view data, const std::vector<std::string>* header_names, uint64_t first_line,
                     uint64_t first_row) {
    buf_ = data.data();
    end_ = cap_ = data.size();
    eof_ = true;
    line_ = first_line;
    row_ = first_row;
    return init_columns(header_names);
  }

  const std::vector<std::string>& column_names() const override { return names_; }
  const std::string& source_name() const override { return name_; }
  uint64_t bytes_consumed() const override { return consumed_base_ + pos_; }

  Result<bool> next(RecordBatch& batch, size_t max_rows) override {
    if (!status_.ok()) return status_;
    batch.clear();
    batch.columns.resize(names_.size());
    batch.nulls.resize(names_.size());
    arena_.reset();
    if (source_ && pos_ > 0 && pos_ >= cap_ / 2) compact();
    size_t rows = 0;
    while (rows < max_rows) {
      if (pos_ == end_) {
        if (eof_) break;
        if (end_ == cap_) {
          if (rows > 0) break;
          compact();
        }
        SLIPWAY_RETURN_IF_ERROR(remember(fill()));
        continue;
      }
      Outcome outcome = parse_record(&batch, nullptr);
      if (outcome == Outcome::kRow) {
        batch.line_numbers.push_back(record_line_);
        batch.row_numbers.push_back(row_++);
        ++rows;
      } else if (outcome == Outcome::kNeedMore) {
        if (end_ == cap_) {
          if (rows > 0) break;
          compact();
        }
        SLIPWAY_RETURN_IF_ERROR(remember(fill()));
      } else if (outcome == Outcome::kError) {
        // Fields of the failed record may already be in the batch.
        for (size_t c = 0; c < batch.columns.size(); ++c) {
          batch.columns[c].resize(rows);
          batch.nulls[c].resize(rows);
        }
        if (!options_.on_bad_record) return status_;
        if (!skip_bad_record()) {
          // The record's line break is not in the buffer yet: hand out what we have, or read on.
          status_ = Status::ok_status();
          if (rows > 0) break;
          if (end_ == cap_) compact();
          SLIPWAY_RETURN_IF_ERROR(remember(fill()));
        }
      }
    }
    batch.num_rows = rows;
    return rows > 0;
  }

 private:
  enum class Outcome { kRow, kBlank, kNeedMore, kError };

  // Reports the record at pos_ (which failed with status_) to on_bad_record and moves past it, to
  // just after the first line break at or after the error. False when that line break has not
  // been read yet (and the input goes on).
  bool skip_bad_record() {
    size_t from = std::min(std::max(fail_offset_, pos_), end_);
    const void* nl = from < end_ ? std::memchr(buf_ + from, '\n', end_ - from) : nullptr;
    if (nl == nullptr && !eof_) return false;
    size_t stop = nl ? static_cast<size_t>(static_cast<const char*>(nl) - buf_) + 1 : end_;
    std::string_view text(buf_ + pos_, stop - pos_);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    BadRecord bad;
    bad.line = line_;
    bad.message = status_.message();
    bad.text = text;
    options_.on_bad_record(bad);
    for (size_t i = pos_; i < stop; ++i) line_ += buf_[i] == '\n' ? 1 : 0;
    pos_ = stop;
    if (first_bad_ != kNoOffset && first_bad_ < stop) {
      // Bytes after the skipped record are validated afresh.
      first_bad_ = kNoOffset;
      validated_ = stop;
    }
    status_ = Status::ok_status();
    return true;
  }

  Status remember(Status status) {
    if (!status.ok()) status_ = status;
    return status;
  }

  Status init_columns(const std::vector<std::string>* header_names) {
    if (header_names) {
      names_ = *header_names;
      return Status::ok_status();
    }
    // Skip a UTF-8 byte-order mark.
    SLIPWAY_RETURN_IF_ERROR(ensure_bytes(3));
    if (end_ - pos_ >= 3 && std::memcmp(buf_ + pos_, "\xEF\xBB\xBF", 3) == 0) pos_ += 3;
    std::vector<std::string_view> first;
    for (;;) {
      if (pos_ == end_) {
        if (eof_) break;
        if (end_ == cap_) compact();
        SLIPWAY_RETURN_IF_ERROR(fill());
        continue;
      }
      size_t start = pos_;
      uint64_t start_line = line_;
      in_header_ = options_.header;
      Outcome outcome = parse_record(nullptr, &first);
      in_header_ = false;
      if (outcome == Outcome::kError) return status_;
      if (outcome == Outcome::kNeedMore) {
        if (end_ == cap_) compact();
        SLIPWAY_RETURN_IF_ERROR(fill());
        continue;
      }
      if (outcome == Outcome::kBlank) continue;
      if (!options_.header) {
        // The first record is data: it only told us the column count. Parse it again as a row.
        for (size_t i = 0; i < first.size(); ++i) names_.push_back(fmt::format("c{}", i));
        pos_ = start;
        line_ = start_line;
        return Status::ok_status();
      }
      return take_header(first, start, start_line);
    }
    if (options_.header) {
      status_ = make_error(ErrorCode::kParseError, "{}: the file is empty (expected a header line)", name_);
      return status_;
    }
    return Status::ok_status();
  }

  Status take_header(const std::vector<std::string_view>& fields, size_t start, uint64_t start_line) {
    for (size_t i = 0; i < fields.size(); ++i) {
      if (fields[i].empty()) {
        status_ = make_error(ErrorCode::kParseError, "{}:{}:{}: column {} of the header has an empty name", name_,
                             start_line, header_column(start, i), i + 1);
        return status_;
      }
      for (size_t j = 0; j < i; ++j) {
        if (fields[j] == fields[i]) {
          status_ = make_error(ErrorCode::kParseError,
                               "{}:{}:{}: duplicate column name '{}' in the header (columns {} and {})", name_,
                               start_line, header_column(start, i), fields[i], j + 1, i + 1);
          return status_;
        }
      }
    }
    names_.assign(fields.begin(), fields.end());
    return Status::ok_status();
  }

  // Character column where header field `index` starts (header lines rarely contain newlines,
  // but quoted ones may, so this goes through locate()).
  size_t header_column(size_t record_start, size_t index) {
    size_t p = record_start;
    size_t field = 0;
    bool in_quotes = false;
    while (field < index && p < end_) {
      char c = buf_[p++];
      if (quoting_ && c == quote_) {
        in_quotes = !in_quotes;
      } else if (!in_quotes && c == options_.delimiter) {
        ++field;
      }
    }
    return locate(record_start, p).column;
  }

  struct Position {
    uint64_t line;
    size_t column;
    size_t field;
  };

  // Line, character column and field index of byte `offset` of the record starting at `start`.
  Position locate(size_t start, size_t offset) const {
    uint64_t line = line_;
    size_t line_start = start;
    size_t field = 0;
    bool in_quotes = false;
    for (size_t i = start; i < offset; ++i) {
      char c = buf_[i];
      if (c == '\n') {
        ++line;
        line_start = i + 1;
      }
      if (quoting_ && c == quote_) {
        in_quotes = !in_quotes;
      } else if (!in_quotes && c == options_.delimiter) {
        ++field;
      }
    }
    return {line, detail::char_column(buf_ + line_start, offset - line_start), field};
  }

  std::string where(size_t field) const {
    if (in_header_) return "in the header";
    if (field < names_.size()) return fmt::format("in column '{}'", names_[field]);
    return fmt::format("in field {}", field + 1);
  }

  // Records a parse error at `offset` of the record starting at `start`, unless invalid UTF-8
  // occurs earlier in the record: errors are reported in input order.
  template <typename... Args>
  Outcome fail(size_t start, size_t offset, fmt::format_string<Args...> format, Args&&... args) {
    fail_offset_ = offset;
    if (options_.validate_utf8) {
      validate_through(offset);
      if (first_bad_ < offset) return fail_utf8(start);
    }
    Position at = locate(start, offset);
    status_ = Status(ErrorCode::kParseError, fmt::format("{}:{}:{}: {}", name_, at.line, at.column,
                                                         fmt::format(format, std::forward<Args>(args)...)));
    return Outcome::kError;
  }

  Outcome fail_utf8(size_t start) {
    fail_offset_ = first_bad_;
    Position at = locate(start, first_bad_);
    status_ = make_error(ErrorCode::kParseError, "{}:{}:{}: invalid UTF-8 (byte 0x{:02x}) {}", name_, at.line,
                         at.column, static_cast<unsigned char>(buf_[first_bad_]), where(at.field));
    return Outcome::kError;
  }

  // Validates UTF-8 up to at least `target` (a record boundary, so never inside a sequence).
  void validate_through(size_t target) {
    if (target <= validated_ || first_bad_ != kNoOffset) return;
    size_t stop = std::min(end_, std::max(target, validated_ + kValidateWindow));
    if (stop < end_ || !eof_) {
      // A multi-byte sequence cut by `stop` is left for the next call, when all of it is here.
      size_t k = stop;
      while (k > target && stop - k < 3 && (static_cast<unsigned char>(buf_[k - 1]) & 0xC0) == 0x80) --k;
      auto lead = static_cast<unsigned char>(buf_[k - 1]);
      if (k > target && lead >= 0xC0) {
        size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        if (k - 1 + len > stop) stop = k - 1;
      }
    }
    size_t bad = 0;
    if (!is_valid_utf8(std::string_view(buf_ + validated_, stop - validated_), &bad)) {
      first_bad_ = validated_ + bad;
    }
    validated_ = stop;
  }

  bool is_null(std::string_view v) const {
    if (v.empty()) return empty_is_null_;
    // Cheap filters first: this runs on every unquoted field.
    if (v.size() >= 64 || !((null_lengths_ >> v.size()) & 1) || !null_first_[static_cast<unsigned char>(v[0])]) {
      return false;
    }
    for (const auto& token : options_.null_tokens) {
      if (token == v) return true;
    }
    return false;
  }

  // Finds the first byte at or after `p` that ends or quotes an unquoted field (or `end`), 16
  // bytes at a time. The match mask of the last window is kept: fields are short, so one load
  // usually serves several of them.
  struct SpecialScanner {
    const char* buf;
    size_t end;
    __m128i vd, vn, vq;
    char delim, quote;
    size_t window = kNoOffset;
    unsigned mask = 0;

    SpecialScanner(const char* b, size_t e, char d, char q)
        : buf(b), end(e), vd(_mm_set1_epi8(d)), vn(_mm_set1_epi8('\n')), vq(_mm_set1_epi8(q)), delim(d), quote(q) {}

    size_t next(size_t p) {
      if (p >= window && p - window < 16) {
        unsigned rest = mask >> (p - window);
        if (rest != 0) return p + static_cast<size_t>(__builtin_ctz(rest));
        p = window + 16;
      }
      while (p + 16 <= end) {
        __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf + p));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vd), _mm_cmpeq_epi8(x, vn)), _mm_cmpeq_epi8(x, vq));
        unsigned m = static_cast<unsigned>(_mm_movemask_epi8(hit));
        if (m != 0) {
          window = p;
          mask = m;
          return p + static_cast<size_t>(__builtin_ctz(m));
        }
        p += 16;
      }
      while (p < end) {
        char c = buf[p];
        if (c == delim || c == '\n' || c == quote) return p;
        ++p;
      }
      return end;
    }
  };

  // Parses the record at pos_ into `batch` (a data row) or `fields` (header / first row).
  Outcome parse_record(RecordBatch* batch, std::vector<std::string_view>* fields) {
    const size_t start = pos_;
    const size_t end = end_;
    const size_t ncols = names_.size();
    const size_t max_field = options_.max_field_bytes;
    // Locals, not members: the stores into batch vectors (uint8_t aliases everything) would
    // otherwise force a reload of each member per field.
    const char* const buf = buf_;
    const bool eof = eof_;
    const char delim = options_.delimiter;
    const bool quoting = quoting_;
    const char quote = quote_;
    SpecialScanner scanner(buf, end, delim, quoting ? quote : delim);
    size_t p = start;
    // Blank lines (LF or CRLF) are skipped; they are not rows.
    if (buf[p] == '\n') {
      pos_ = p + 1;
      ++line_;
      return Outcome::kBlank;
    }
    if (buf[p] == '\r') {
      if (p + 1 == end) {
        if (!eof) return Outcome::kNeedMore;
        pos_ = end;
        return Outcome::kBlank;
      }
      if (buf[p + 1] == '\n') {
        pos_ = p + 2;
        ++line_;
        return Outcome::kBlank;
      }
    }
    if (fields) fields->clear();
    uint64_t extra_lines = 0;
    size_t field = 0;
    bool record_done = false;
    bool newline_end = false;
    while (!record_done) {
      const size_t fs = p;
      std::string_view value;
      bool null = false;
      if (quoting && p < end && buf[p] == quote) {
        size_t q = p + 1;
        bool doubled = false;
        size_t close;
        for (;;) {
          const void* hit = q < end ? std::memchr(buf + q, quote, end - q) : nullptr;
          if (!hit) {
            if (eof) {
              return fail(start, fs, "unterminated quoted field (opened here) runs to the end of the file");
            }
            if (end - fs - 1 > max_field) return fail(start, fs, "field {} is longer than {} bytes", where(field), max_field);
            return rollback(batch, field);
          }
          size_t h = static_cast<size_t>(static_cast<const char*>(hit) - buf_);
          if (h + 1 == end && !eof) return rollback(batch, field);
          if (h + 1 < end && buf[h + 1] == quote) {
            doubled = true;
            q = h + 2;
            continue;
          }
          close = h;
          break;
        }
        const size_t content = fs + 1;
        if (close - content > max_field) return fail(start, fs, "field {} is longer than {} bytes", where(field), max_field);
        for (const char* nl = static_cast<const char*>(std::memchr(buf + content, '\n', close - content)); nl;
             nl = static_cast<const char*>(std::memchr(nl + 1, '\n', buf + close - nl - 1))) {
          ++extra_lines;
        }
        value = std::string_view(buf + content, close - content);
        if (doubled) value = unescape(value);
        p = close + 1;
        if (p == end) {
          record_done = true;  // end of input (eof_ is known: otherwise we asked for more above)
        } else if (buf[p] == delim) {
          ++p;
        } else if (buf[p] == '\n') {
          ++p;
          record_done = newline_end = true;
        } else if (buf[p] == '\r' && p + 1 < end && buf[p + 1] == '\n') {
          p += 2;
          record_done = newline_end = true;
        } else if (buf[p] == '\r' && p + 1 == end) {
          if (!eof) return rollback(batch, field);
          ++p;
          record_done = true;
        } else {
          return fail(start, p, "unexpected character {} after closing quote {}", describe_byte(buf[p]),
                      where(field));
        }
      } else {
        size_t s = scanner.next(p);
        if (s == end && !eof) {
          if (end - fs > max_field) return fail(start, fs, "field {} is longer than {} bytes", where(field), max_field);
          return rollback(batch, field);
        }
        if (s < end && quoting && buf[s] == quote) {
          return fail(start, s,
                      "quote character inside an unquoted field {} (quote the whole field and double the quotes "
                      "inside it)",
                      where(field));
        }
        size_t fe = s;
        if (s == end || buf[s] == '\n') {
          if (fe > fs && buf[fe - 1] == '\r') --fe;
          record_done = true;
          newline_end = s < end;
        }
        if (fe - fs > max_field) return fail(start, fs, "field {} is longer than {} bytes", where(field), max_field);
        value = std::string_view(buf + fs, fe - fs);
        null = is_null(value);
        p = s < end ? s + 1 : end;
      }
      if (fields) {
        fields->push_back(value);
      } else if (field < ncols) {
        batch->columns[field].push_back(value);
        batch->nulls[field].push_back(null);
      }
      ++field;
    }
    if (options_.validate_utf8) {
      validate_through(p);
      if (first_bad_ < p) return fail_utf8(start);
    }
    if (batch && field != ncols) {
      Outcome outcome =
          options_.header
              ? fail(start, start, "row has {} field{} but the header has {} (columns: {})", field,
                     field == 1 ? "" : "s", ncols, column_list())
              : fail(start, start, "row has {} field{} but the first row has {}", field, field == 1 ? "" : "s", ncols);
      fail_offset_ = p > start ? p - 1 : start;  // a ragged record is skipped whole
      return outcome;
    }
    record_line_ = line_;
    line_ += extra_lines + (newline_end ? 1 : 0);
    pos_ = p;
    return Outcome::kRow;
  }

  Outcome rollback(RecordBatch* batch, size_t fields_pushed) {
    if (batch) {
      for (size_t c = 0; c < std::min(fields_pushed, names_.size()); ++c) {
        batch->columns[c].pop_back();
        batch->nulls[c].pop_back();
      }
    }
    return Outcome::kNeedMore;
  }

  std::string column_list() const {
    constexpr size_t kShown = 8;
    std::string out;
    for (size_t i = 0; i < names_.size() && i < kShown; ++i) {
      if (i) out += ',';
      out += names_[i];
    }
    if (names_.size() > kShown) out += ",...";
    return out;
  }

  // Collapses doubled quotes into the arena.
  std::string_view unescape(std::string_view raw) {
    char* out = arena_.allocate(raw.size());
    size_t n = 0;
    for (size_t i = 0; i < raw.size(); ++i) {
      out[n++] = raw[i];
      if (raw[i] == quote_) ++i;  // the second of a pair
    }
    return {out, n};
  }

  // Moves unparsed bytes to the front of the buffer, doubling it when they fill it.
  void compact() {
    if (!source_) return;
    validated_ = std::max(validated_, pos_);
    size_t keep = end_ - pos_;
    if (pos_ > 0) {
      std::memmove(owned_.get(), owned_.get() + pos_, keep);
      consumed_base_ += pos_;
      validated_ -= pos_;
      if (first_bad_ != kNoOffset) first_bad_ -= pos_;
      pos_ = 0;
      end_ = keep;
    }
    if (end_ == cap_) {
      auto bigger = std::make_unique_for_overwrite<char[]>(cap_ * 2);
      std::memcpy(bigger.get(), owned_.get(), end_);
      owned_ = std::move(bigger);
      cap_ *= 2;
    }
    buf_ = owned_.get();
  }

  Status fill() {
    SLIPWAY_ASSIGN_OR_RETURN(size_t n, detail::read_fully(*source_, owned_.get() + end_, cap_ - end_));
    end_ += n;
    if (n == 0 || end_ < cap_) eof_ = true;
    return Status::ok_status();
  }

  // Makes at least `n` bytes available after pos_ unless the input ends first.
  Status ensure_bytes(size_t n) {
    while (source_ && !eof_ && end_ - pos_ < n) {
      if (end_ == cap_) compact();
      SLIPWAY_RETURN_IF_ERROR(fill());
    }
    return Status::ok_status();
  }

  std::string name_;
  CsvOptions options_;
  char quote_ = '"';
  bool quoting_ = true;
  bool empty_is_null_ = false;
  uint64_t null_lengths_ = 0;  // bit k set: some null token has length k
  bool null_first_[256] = {};  // some null token starts with this byte
  std::vector<std::string> names_;

  std::unique_ptr<detail::ByteSource> source_;
  std::unique_ptr<char[]> owned_;
  const char* buf_ = nullptr;
  size_t cap_ = 0;
  size_t pos_ = 0;
  size_t end_ = 0;
  bool eof_ = true;
  uint64_t consumed_base_ = 0;
  size_t validated_ = 0;
  size_t first_bad_ = kNoOffset;

  uint64_t line_ = 1;
  uint64_t row_ = 1;
  uint64_t record_line_ = 1;
  bool in_header_ = false;
  size_t fail_offset_ = 0;  // where the last error was found (for resynchronising after it)
  detail::Arena arena_;
  Status status_;
};

}  // namespace

namespace detail {

Result<std::unique_ptr<RecordReader>> open_csv_with_block_size(const std::filesystem::path& path,
                                                               const CsvOptions& options, size_t block_bytes) {
  std::string name = path.string();
  SLIPWAY_ASSIGN_OR_RETURN(auto source, ByteSource::open(path, name));
  auto reader = std::make_unique<CsvReader>(name, options);
  SLIPWAY_RETURN_IF_ERROR(reader->init_stream(std::move(source), block_bytes));
  return std::unique_ptr<RecordReader>(std::move(reader));
}

}  // namespace detail

Result<std::unique_ptr<RecordReader>> open_csv(const std::filesystem::path& path, const CsvOptions& options) {
  return detail::open_csv_with_block_size(path, options, kDefaultBlock);
}

Result<std::unique_ptr<RecordReader>> open_csv_file_range(const std::filesystem::path& path, uint64_t offset,
                                                          uint64_t length, std::string source_name,
                                                          const CsvOptions& options,
                                                          const std::vector<std::string>& header_names,
                                                          uint64_t first_line, uint64_t first_row) {
  SLIPWAY_ASSIGN_OR_RETURN(auto source, detail::file_range_source(path, offset, length, source_name));
  auto reader = std::make_unique<CsvReader>(std::move(source_name), options);
  SLIPWAY_RETURN_IF_ERROR(reader->init_range(std::move(source), kDefaultBlock, header_names, first_line, first_row));
  return std::unique_ptr<RecordReader>(std::move(reader));
}

Result<std::unique_ptr<RecordReader>> open_csv_buffer(std::string_view data, std::string source_name,
                                                      const CsvOptions& options,
                                                      const std::vector<std::string>* header_names,
                                                      uint64_t first_line, uint64_t first_row) {
  auto reader = std::make_unique<CsvReader>(std::move(source_name), options);
  SLIPWAY_RETURN_IF_ERROR(reader->init_buffer(data, header_names, first_line, first_row));
  return std::unique_ptr<RecordReader>(std::move(reader));
}

}  // namespace slipway::table
