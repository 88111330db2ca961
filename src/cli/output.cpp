#include "output.h"

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

namespace slipway::cli {

int exit_code_for(const Status& status) {
  switch (status.code()) {
    case ErrorCode::kOk: return kExitOk;
    case ErrorCode::kInvalidArgument: return kExitUsage;
    case ErrorCode::kNotFound:
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kParseError: return kExitInput;
    case ErrorCode::kValidationFailed: return kExitCheckFailed;
    case ErrorCode::kIoError:
    case ErrorCode::kCorrupt:
    case ErrorCode::kUnsupportedVersion:
    case ErrorCode::kFailedPrecondition: return kExitStore;
    case ErrorCode::kCancelled:
    case ErrorCode::kInternal: return kExitInternal;
  }
  return kExitInternal;
}

int report_error(const Status& status) {
  std::fprintf(stderr, "error: %s\n", status.message().c_str());
  return exit_code_for(status);
}

namespace {
size_t display_width(const std::string& s) {
  size_t w = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++w;  // count UTF-8 code points, not bytes
  }
  return w;
}
}  // namespace

std::string TextTable::render(const std::vector<size_t>& right_aligned) const {
  std::vector<size_t> widths(header_.size(), 0);
  for (size_t i = 0; i < header_.size(); ++i) widths[i] = display_width(header_[i]);
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], display_width(row[i]));
  }
  auto is_right = [&](size_t i) {
    return std::find(right_aligned.begin(), right_aligned.end(), i) != right_aligned.end();
  };
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < widths.size(); ++i) {
      std::string cell = i < cells.size() ? cells[i] : "";
      size_t pad = widths[i] - display_width(cell);
      bool last = i + 1 == widths.size();
      if (is_right(i)) {
        out += std::string(pad, ' ') + cell;
      } else {
        out += cell;
        if (!last) out += std::string(pad, ' ');
      }
      if (!last) out += "  ";
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(header_);
  for (const auto& row : rows_) out += line(row);
  return out;
}

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  if (u == 0) return fmt::format("{} B", bytes);
  return fmt::format("{:.1f} {}", v, units[u]);
}

std::string human_count(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  int count = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (count > 0 && count % 3 == 0) out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++count;
  }
  return out;
}

std::string format_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{:.6g}", v);
}

std::string short_id(const std::string& id) { return id.substr(0, 12); }

void print_json(const nlohmann::json& j) { std::printf("%s\n", j.dump(2).c_str()); }

}  // namespace slipway::cli
