// Split points for parsing one CSV in parallel ranges. One line-by-line scan, fed in blocks (a whole
// buffer is one block), decides where records start: a line starts a record when the quotes seen
// so far are balanced (RFC 4180: every quote inside a quoted field is doubled, so parity tells
// whether a newline is inside a field). Blank lines are not rows, exactly as the reader skips them.
#include <cstring>
#include <filesystem>

#include "detail/byte_source.h"
#include "slipway/table/reader.h"

namespace slipway::table {
namespace {

class SplitFinder {
 public:
  // `size`: total bytes of the input (the ranges divide what follows the header evenly).
  SplitFinder(uint64_t size, size_t parts, const CsvOptions& options)
      : size_(size), parts_(parts == 0 ? 1 : parts), quote_(options.quote), header_pending_(options.header) {}

  bool done() const { return out_.size() == parts_; }

  // Feeds the next block of input; lines may run across blocks. Stops early once done().
  void feed(const char* base, size_t n) {
    size_t pos = 0;
    if (offset_ == 0 && n >= 3 && std::memcmp(base, "\xEF\xBB\xBF", 3) == 0) {
      pos = 3;
      line_start_ = 3;
    }
    while (pos < n && !done()) {
      const void* hit = std::memchr(base + pos, '\n', n - pos);
      const size_t nl = hit ? static_cast<size_t>(static_cast<const char*>(hit) - base) : n;
      if (line_len_ == 0 && nl > pos) first_ = base[pos];
      line_len_ += nl - pos;
      if (quote_ != '\0') {
        for (const char* q = static_cast<const char*>(std::memchr(base + pos, quote_, nl - pos)); q;
             q = static_cast<const char*>(std::memchr(q + 1, quote_, static_cast<size_t>(base + nl - q - 1)))) {
          in_quotes_ = !in_quotes_;
        }
      }
      if (!hit) break;  // the line goes on in the next block
      end_line();
      pos = nl + 1;
      line_start_ = offset_ + pos;
      line_started_in_quotes_ = in_quotes_;
      line_len_ = 0;
    }
    offset_ += n;
  }

  std::vector<CsvSplit> finish() {
    if (!done() && line_len_ > 0) {  // a last line without a line break is still a line
      end_line();
      line_start_ = size_;
    }
    if (out_.empty()) out_.push_back({static_cast<size_t>(std::min(line_start_, size_)), line_, row_});
    return std::move(out_);
  }

 private:
  // Judges the line that just ended: whether it started outside quotes, and whether it was blank.
  void end_line() {
    const bool blank = line_len_ == 0 || (line_len_ == 1 && first_ == '\r');
    if (!line_started_in_quotes_ && !blank) {
      if (header_pending_) {
        header_pending_ = false;
      } else {
        if (out_.empty()) {
          data_start_ = line_start_;
          step_ = (size_ - line_start_) / parts_;
          next_target_ = line_start_ + step_;
          out_.push_back({static_cast<size_t>(line_start_), line_, row_});
        } else if (line_start_ >= next_target_) {
          out_.push_back({static_cast<size_t>(line_start_), line_, row_});
          next_target_ = data_start_ + out_.size() * step_;
        }
        ++row_;
      }
    }
    ++line_;
  }

  const uint64_t size_;
  const size_t parts_;
  const char quote_;
  bool header_pending_;
  std::vector<CsvSplit> out_;
  uint64_t line_ = 1, row_ = 1, data_start_ = 0, step_ = 0, next_target_ = 0, offset_ = 0;
  bool in_quotes_ = false;
  // The line being read: where it started, whether it started inside quotes, its length and first byte.
  uint64_t line_start_ = 0;
  bool line_started_in_quotes_ = false;
  uint64_t line_len_ = 0;
  char first_ = 0;
};

}  // namespace

std::vector<CsvSplit> csv_split_points(std::string_view data, size_t parts, const CsvOptions& options) {
  SplitFinder finder(data.size(), parts, options);
  finder.feed(data.data(), data.size());
  return finder.finish();
}

// The same decisions over a file streamed in blocks, so a large file is never mapped (mapped pages
// count towards the resident set); reading stops at the last split point.
Result<std::vector<CsvSplit>> csv_split_points_file(const std::filesystem::path& path, size_t parts,
                                                    const CsvOptions& options) {
  std::error_code ec;
  const uint64_t n = std::filesystem::file_size(path, ec);
  if (ec) return make_error(ErrorCode::kIoError, "{}: cannot stat: {}", path.string(), ec.message());
  SLIPWAY_ASSIGN_OR_RETURN(auto source, detail::file_range_source(path, 0, n, path.string()));
  SplitFinder finder(n, parts, options);
  std::vector<char> block(4u << 20);
  while (!finder.done()) {
    SLIPWAY_ASSIGN_OR_RETURN(size_t got, detail::read_fully(*source, block.data(), block.size()));
    if (got == 0) break;
    finder.feed(block.data(), got);
  }
  return finder.finish();
}

}  // namespace slipway::table
