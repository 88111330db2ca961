#include <cstring>

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
