// SQL data sources for `slipway data ingest`: a SQLite or PostgreSQL query materialised as a CSV
// file, which the rest of slipway then ingests like any other file (so one reader, one type
// inferrer, one profiler see every source the same way).
//
// The CSV written (RFC 4180): a header row, LF line ends, fields quoted only when they contain the
// delimiter, a quote, CR or LF. A missing value (SQL NULL) is an empty unquoted field; an empty
// string is written as "" so the two stay distinct. Values as text:
//   integers        decimal ("42")
//   floats          shortest text that round-trips ("0.1", "1", "1e+22", "inf")
//   booleans        "true" / "false" (PostgreSQL bool; SQLite has no boolean type)
//   timestamps      PostgreSQL timestamp: "2013-01-01 05:00:00[.ffffff]";
//                   timestamptz: converted to UTC, "2013-01-01 05:00:00[.ffffff]Z"; date "2013-01-01"
//   binary          "\x" followed by lower-case hex: SQLite BLOB and PostgreSQL bytea alike
//   anything else   PostgreSQL's own text form (numeric, uuid, json, arrays, intervals ...)
// SQLite typing is per value, so a column may mix these; inference then reads it as a string.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "slipway/core/status.h"

namespace slipway::table {

struct SqlSource {
  enum class Kind { kSqlite, kPostgres };
  Kind kind = Kind::kSqlite;
  // The URI as given with any password replaced by "***": safe to print and to record as lineage.
  std::string uri;
  // SQLite: the database file path (percent-decoded). PostgreSQL: a libpq connection URI (password
  // included) without slipway's own `query`/`table` parameters; other parameters (sslmode, ...)
  // pass through to libpq.
  std::string path_or_conninfo;
  // Exactly one of `query` and `table` is set. `table` may be schema-qualified ("public.flights").
  std::string query;
  std::string table;
};

// True when `text` starts with "sqlite://", "postgresql://" or "postgres://".
bool is_sql_uri(std::string_view text);

// Accepts
//   sqlite:///abs/path.db?query=SELECT...   sqlite:///abs/path.db?table=flights
//   sqlite://relative/path.db?query=...
//   postgresql://user:pw@host:port/db?query=...   (also postgres://; libpq's own parameters too)
// The query is URL-decoded ("%20" and "+" are spaces), so a literal "&" in it is written "%26".
Result<SqlSource> parse_sql_uri(std::string_view uri);

struct SqlExportStats {
  uint64_t rows = 0;   // data rows, header excluded
  uint64_t bytes = 0;  // size of the CSV file, header included
  std::vector<std::string> columns;
};

// Runs the query (read-only) and streams its result as CSV to `out_path`, row by row, so memory
// stays bounded whatever the result size. The file appears atomically (temporary file + fsync +
// rename); on any error nothing is left at `out_path` and no temporary file remains.
Result<SqlExportStats> export_sql_to_csv(const SqlSource& source, const std::filesystem::path& out_path);

}  // namespace slipway::table
