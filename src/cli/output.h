// Rendering for people (aligned tables, human sizes) and for scripts (--json), plus the one place
// that maps ErrorCode to exit codes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slipway/core/status.h"

namespace slipway::cli {

// Exit codes (documented in README): 0 ok, 1 a check failed, 2 bad usage, 3 bad input,
// 4 store problem, 5 internal error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitCheckFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInput = 3;
inline constexpr int kExitStore = 4;
inline constexpr int kExitInternal = 5;

int exit_code_for(const Status& status);
// Prints "error: <message>" to stderr and returns the exit code.
int report_error(const Status& status);

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) : header_(std::move(header)) {}
  void add_row(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // Columns whose header is in `right_aligned` are right-aligned (numbers).
  std::string render(const std::vector<size_t>& right_aligned = {}) const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

std::string human_bytes(uint64_t bytes);
std::string human_count(uint64_t n);  // 336776 -> "336,776"
std::string format_number(double v);  // compact: integers without decimals, else 6 significant digits
std::string short_id(const std::string& id);  // first 12 hex characters
void print_json(const nlohmann::json& j);

}  // namespace slipway::cli
