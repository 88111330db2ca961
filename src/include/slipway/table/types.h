// Column types and the text-to-value conversions every reader, the type inferrer and the
// profiler share, so a value is read the same way at ingest, validation and serving.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slipway/core/status.h"

namespace slipway::table {

// Order matters: inference picks the first type every non-missing value of a column parses as.
enum class DataType { kBool, kInt64, kFloat64, kTimestamp, kString };

const char* data_type_name(DataType type);  // "bool", "int64", "float64", "timestamp", "string"
Result<DataType> parse_data_type(std::string_view name);
inline bool is_numeric(DataType t) { return t == DataType::kInt64 || t == DataType::kFloat64; }

struct ColumnSpec {
  std::string name;
  DataType type = DataType::kString;
  bool nullable = true;
};

struct TableSchema {
  std::vector<ColumnSpec> columns;
  std::optional<size_t> index_of(std::string_view name) const;
};

// Strict, locale-independent parsers. Surrounding white space is NOT accepted.
// bool: true/false in lower, upper or title case.
bool parse_bool(std::string_view text, bool* out);
// int64: optional sign, decimal digits, no overflow.
bool parse_int64(std::string_view text, int64_t* out);
// float64: decimal or scientific notation, "inf"/"-inf"/"nan" (any case); not hex floats.
bool parse_float64(std::string_view text, double* out);
// timestamp: ISO 8601 date "YYYY-MM-DD", or date-time "YYYY-MM-DD[T ]hh:mm[:ss[.ffffff]]"
// with optional "Z" or "+hh:mm"/"-hh:mm" offset; stored as microseconds since the Unix epoch, UTC.
bool parse_timestamp(std::string_view text, int64_t* micros);
std::string format_timestamp(int64_t micros);  // "YYYY-MM-DDThh:mm:ss[.ffffff]Z"

// True when every byte sequence in `text` is well-formed UTF-8; on failure *bad_offset is the
// offset of the first bad byte.
bool is_valid_utf8(std::string_view text, size_t* bad_offset);

}  // namespace slipway::table
