#include <cstring>

#include <filesystem>

#include "detail/byte_source.h"
#include "slipway/table/reader.h"

namespace slipway::table {

// One pass over lines with memchr: a line starts a record when the quotes seen so far are
// balanced (RFC 4180: every quote inside a quoted field is doubled, so parity tells whether a
// newline is inside a field). Blank lines are not rows, exactly as the reader skips them.
std::vector<CsvSplit> csv_split_points(std::string_view data, size_t parts, const CsvOptions& options) {
  const char* base = data.data();
  const size_t n = data.size();
  const bool quoting = options.quote != '\0';
  if (parts == 0) parts = 1;
  size_t pos = 0;
  if (n >= 3 && std::memcmp(base, "\xEF\xBB\xBF", 3) == 0) pos = 3;
  uint64_t line = 1;
  uint64_t row = 1;
  bool in_quotes = false;
  bool header_pending = options.header;
  std::vector<CsvSplit> out;
  size_t data_start = 0;
  size_t step = 0;
  size_t next_target = 0;
  while (pos < n) {
    const void* hit = std::memchr(base + pos, '\n', n - pos);
    const size_t nl = hit ? static_cast<size_t>(static_cast<const char*>(hit) - base) : n;
    if (!in_quotes) {
      const bool blank = nl == pos || (nl == pos + 1 && base[pos] == '\r');
      if (!blank) {
        if (header_pending) {
          header_pending = false;
        } else {
          if (out.empty()) {
            data_start = pos;
            step = (n - pos) / parts;
            next_target = pos + step;
            out.push_back({pos, line, row});
          } else if (pos >= next_target) {
            out.push_back({pos, line, row});
            next_target = data_start + out.size() * step;
          }
          if (out.size() == parts) break;
          ++row;
        }
      }
    }
    if (quoting) {
      for (const char* q = static_cast<const char*>(std::memchr(base + pos, options.quote, nl - pos)); q;
           q = static_cast<const char*>(std::memchr(q + 1, options.quote, static_cast<size_t>(base + nl - q - 1)))) {
        in_quotes = !in_quotes;
      }
    }
    ++line;
    pos = nl + 1;
  }
  if (out.empty()) out.push_back({std::min(pos, n), line, row});
  return out;
}

}  // namespace slipway::table

namespace slipway::table {

// Streaming twin of csv_split_points: the same decisions, made line by line as blocks are read,
// so a large file is never mapped (mapped pages count towards the resident set). A line is judged
// when it ends: whether it started outside quotes, and whether it was blank.
Result<std::vector<CsvSplit>> csv_split_points_file(const std::filesystem::path& path, size_t parts,
                                                    const CsvOptions& options) {
  std::error_code ec;
  const uint64_t n = std::filesystem::file_size(path, ec);
  if (ec) return make_error(ErrorCode::kIoError, "{}: cannot stat: {}", path.string(), ec.message());
  SLIPWAY_ASSIGN_OR_RETURN(auto source, detail::file_range_source(path, 0, n, path.string()));
  const bool quoting = options.quote != '\0';
  if (parts == 0) parts = 1;
  std::vector<CsvSplit> out;
  uint64_t line = 1, row = 1, data_start = 0, step = 0, next_target = 0;
  bool in_quotes = false;
  bool header_pending = options.header;
  // The line being read: where it started, whether it started inside quotes, its first bytes.
  uint64_t line_start = 0;
  bool line_started_in_quotes = false;
  uint64_t line_len = 0;
  char first = 0;
  bool done = false;
  auto end_line = [&]() {
    if (!line_started_in_quotes) {
      const bool blank = line_len == 0 || (line_len == 1 && first == '\r');
      if (!blank) {
        if (header_pending) {
          header_pending = false;
        } else {
          if (out.empty()) {
            data_start = line_start;
            step = (n - line_start) / parts;
            next_target = line_start + step;
            out.push_back({static_cast<size_t>(line_start), line, row});
          } else if (line_start >= next_target) {
            out.push_back({static_cast<size_t>(line_start), line, row});
            next_target = data_start + out.size() * step;
          }
          if (out.size() == parts) done = true;
          ++row;
        }
      }
    }
    ++line;
  };
  std::vector<char> block(4u << 20);
  uint64_t offset = 0;
  bool bom_checked = false;
  while (!done) {
    SLIPWAY_ASSIGN_OR_RETURN(size_t got, detail::read_fully(*source, block.data(), block.size()));
    if (got == 0) break;
    size_t pos = 0;
    if (!bom_checked) {
      bom_checked = true;
      if (got >= 3 && std::memcmp(block.data(), "\xEF\xBB\xBF", 3) == 0) {
        pos = 3;
        line_start = 3;
      }
    }
    while (pos < got && !done) {
      const char* base = block.data();
      const void* hit = std::memchr(base + pos, '\n', got - pos);
      const size_t nl = hit ? static_cast<size_t>(static_cast<const char*>(hit) - base) : got;
      if (line_len == 0 && nl > pos) first = base[pos];
      line_len += nl - pos;
      if (quoting) {
        for (const char* q = static_cast<const char*>(std::memchr(base + pos, options.quote, nl - pos)); q;
             q = static_cast<const char*>(std::memchr(q + 1, options.quote, static_cast<size_t>(base + nl - q - 1)))) {
          in_quotes = !in_quotes;
        }
      }
      if (!hit) break;  // the line goes on in the next block
      end_line();
      pos = nl + 1;
      line_start = offset + pos;
      line_started_in_quotes = in_quotes;
      line_len = 0;
    }
    offset += got;
  }
  // A last line without a line break is still a line.
  if (!done && line_len > 0) {
    end_line();
    line_start = n;
  }
  if (out.empty()) out.push_back({static_cast<size_t>(std::min<uint64_t>(line_start, n)), line, row});
  return out;
}

}  // namespace slipway::table
