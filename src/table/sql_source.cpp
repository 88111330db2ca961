#include "slipway/table/sql_source.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "slipway/core/fs.h"

namespace slipway::table {

namespace {

constexpr std::string_view kSqliteScheme = "sqlite://";
constexpr std::string_view kPostgresSchemes[] = {"postgresql://", "postgres://"};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding as in application/x-www-form-urlencoded when `plus_is_space` (query values),
// plain RFC 3986 otherwise (paths). Returns false on a malformed escape.
bool percent_decode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

// The URI with the password of "scheme://user:password@host/..." replaced by "***".
std::string redact_password(std::string_view uri) {
  size_t start = uri.find("://");
  if (start == std::string_view::npos) return std::string(uri);
  start += 3;
  size_t end = uri.find_first_of("/?", start);
  if (end == std::string_view::npos) end = uri.size();
  std::string_view authority = uri.substr(start, end - start);
  size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(uri);
  size_t colon = authority.substr(0, at).find(':');
  if (colon == std::string_view::npos) return std::string(uri);
  std::string out(uri.substr(0, start + colon + 1));
  out += "***";
  out += uri.substr(start + at);
  return out;
}

// `"name"` with embedded quotes doubled; a dot separates a schema from the table ("main.flights").
std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string quote_table_name(std::string_view table) {
  size_t dot = table.find('.');
  if (dot == std::string_view::npos) return quote_identifier(table);
  return quote_identifier(table.substr(0, dot)) + "." + quote_identifier(table.substr(dot + 1));
}

// Appends one CSV field: quoted only when it has to be, and always when empty so that an empty
// string differs from a missing value (an empty unquoted field).
bool needs_quotes(std::string_view value) {
  if (value.empty()) return true;
  for (char c : value) {
    if (c == ',' || c == '"' || c == '\n' || c == '\r') return true;
  }
  return false;
}

void append_csv_field(std::string& buf, std::string_view value) {
  if (!needs_quotes(value)) {
    buf.append(value);
    return;
  }
  buf.push_back('"');
  size_t from = 0;
  for (size_t q = value.find('"'); q != std::string_view::npos; q = value.find('"', from)) {
    buf.append(value.substr(from, q + 1 - from));
    buf.push_back('"');
    from = q + 1;
  }
  buf.append(value.substr(from));
  buf.push_back('"');
}

void append_hex(std::string& buf, const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  buf.append("\\x");
  for (size_t i = 0; i < size; ++i) {
    buf.push_back(kDigits[data[i] >> 4]);
    buf.push_back(kDigits[data[i] & 0xF]);
  }
}

// A CSV file being written: buffered appends to a temporary file next to the destination, which
// commit() fsyncs and renames into place. Destroyed without commit(), it removes the temporary.
class CsvFileSink {
 public:
  static constexpr size_t kFlushBytes = 1 << 20;

  ~CsvFileSink() {
    if (fd_ >= 0) ::close(fd_);
    if (!tmp_.empty()) ::unlink(tmp_.c_str());
  }

  Status open(const fs::path& out_path) {
    static std::atomic<uint64_t> counter{0};
    out_ = out_path;
    fs::path tmp = out_path;
    tmp += fmt::format(".tmp.{}.{}", ::getpid(), counter++);
    fd_ = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) return errno_error("cannot create", tmp);
    tmp_ = tmp;
    buf_.reserve(kFlushBytes + (64 << 10));
    return {};
  }

  std::string& buffer() { return buf_; }

  // Call after each row: writes the buffer out once it holds enough to make a write worthwhile.
  Status maybe_flush() { return buf_.size() >= kFlushBytes ? flush() : Status{}; }

  Status commit() {
    SLIPWAY_RETURN_IF_ERROR(flush());
    if (::fsync(fd_) != 0) return errno_error("cannot fsync", tmp_);
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return errno_error("cannot close", tmp_);
    if (::rename(tmp_.c_str(), out_.c_str()) != 0) return errno_error("cannot rename into place", out_);
    tmp_.clear();
    return fsync_directory(out_.parent_path().empty() ? fs::path(".") : out_.parent_path());
  }

  uint64_t bytes() const { return written_ + buf_.size(); }

 private:
  static Status errno_error(const char* what, const fs::path& path) {
    return make_error(ErrorCode::kIoError, "{} {}: {}", what, path.string(), std::strerror(errno));
  }

  Status flush() {
    const char* p = buf_.data();
    size_t left = buf_.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_error("cannot write", tmp_);
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    written_ += buf_.size();
    buf_.clear();
    return {};
  }

  fs::path out_;
  fs::path tmp_;
  int fd_ = -1;
  std::string buf_;
  uint64_t written_ = 0;
};

// ---------------------------------------------------------------------------------------------
// SQLite

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct SqliteFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using SqliteDb = std::unique_ptr<sqlite3, SqliteCloser>;
using SqliteStmt = std::unique_ptr<sqlite3_stmt, SqliteFinalizer>;

Status sqlite_query_error(sqlite3* db, ErrorCode code, const std::string& sql) {
  return make_error(code, "SQLite query failed: {} (query: {})", sqlite3_errmsg(db), sql);
}

void append_sqlite_value(std::string& buf, sqlite3_stmt* stmt, int col) {
  char digits[64];
  switch (sqlite3_column_type(stmt, col)) {
    case SQLITE_NULL:
      return;
    case SQLITE_INTEGER: {
      fmt::format_int text(static_cast<long long>(sqlite3_column_int64(stmt, col)));
      buf.append(text.data(), text.size());
      return;
    }
    case SQLITE_FLOAT: {
      double value = sqlite3_column_double(stmt, col);
      // Whole numbers (most REALs in practice: delays, distances) take the integer path; below
      // 1e15 fmt's shortest form of them is exactly the integer's digits (it keeps "-0" though).
      if (value == std::trunc(value) && std::fabs(value) < 1e15 && (value != 0 || !std::signbit(value))) {
        fmt::format_int text(static_cast<long long>(value));
        buf.append(text.data(), text.size());
        return;
      }
      auto end = fmt::format_to(digits, FMT_COMPILE("{}"), value);
      buf.append(digits, end);
      return;
    }
    case SQLITE_BLOB: {
      auto* data = static_cast<const unsigned char*>(sqlite3_column_blob(stmt, col));
      append_hex(buf, data, static_cast<size_t>(sqlite3_column_bytes(stmt, col)));
      return;
    }
    default: {  // SQLITE_TEXT
      auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, col));
      size_t size = static_cast<size_t>(sqlite3_column_bytes(stmt, col));
      append_csv_field(buf, std::string_view(text ? text : "", size));
      return;
    }
  }
}

Result<SqlExportStats> export_sqlite(const SqlSource& source, const fs::path& out_path) {
  const std::string& path = source.path_or_conninfo;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return make_error(ErrorCode::kNotFound, "no SQLite database at {}", path);
  }
  sqlite3* raw_db = nullptr;
  // NOMUTEX: the connection never leaves this function's thread, and the serialized mode's
  // mutex around every sqlite3_column_* call cost a sixth of the export time.
  int rc = sqlite3_open_v2(path.c_str(), &raw_db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  SqliteDb db(raw_db);
  if (rc != SQLITE_OK) {
    return make_error(ErrorCode::kIoError, "cannot open SQLite database at {}: {}", path,
                      db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc));
  }
  sqlite3_busy_timeout(db.get(), 5000);

  const std::string sql = source.query.empty() ? "SELECT * FROM " + quote_table_name(source.table) : source.query;
  sqlite3_stmt* raw_stmt = nullptr;
  const char* tail = nullptr;
  rc = sqlite3_prepare_v2(db.get(), sql.data(), static_cast<int>(sql.size()), &raw_stmt, &tail);
  SqliteStmt stmt(raw_stmt);
  if (rc != SQLITE_OK) return sqlite_query_error(db.get(), ErrorCode::kInvalidArgument, sql);
  if (!stmt) return make_error(ErrorCode::kInvalidArgument, "SQLite query is empty (query: {})", sql);
  // A second statement would be silently ignored; say so instead. Trailing comments are fine.
  const char* end = sql.data() + sql.size();
  if (tail != nullptr && tail < end) {
    sqlite3_stmt* extra = nullptr;
    rc = sqlite3_prepare_v2(db.get(), tail, static_cast<int>(end - tail), &extra, nullptr);
    sqlite3_finalize(extra);
    if (rc != SQLITE_OK || extra != nullptr) {
      return make_error(ErrorCode::kInvalidArgument, "SQLite query has more than one statement (query: {})", sql);
    }
  }
  const int ncols = sqlite3_column_count(stmt.get());
  if (ncols == 0) return make_error(ErrorCode::kInvalidArgument, "SQLite query returns no columns (query: {})", sql);

  SqlExportStats stats;
  CsvFileSink sink;
  SLIPWAY_RETURN_IF_ERROR(sink.open(out_path));
  std::string& buf = sink.buffer();
  for (int c = 0; c < ncols; ++c) {
    const char* name = sqlite3_column_name(stmt.get(), c);
    stats.columns.emplace_back(name ? name : "");
    if (c > 0) buf.push_back(',');
    append_csv_field(buf, stats.columns.back());
  }
  buf.push_back('\n');

  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    for (int c = 0; c < ncols; ++c) {
      if (c > 0) buf.push_back(',');
      append_sqlite_value(buf, stmt.get(), c);
    }
    buf.push_back('\n');
    ++stats.rows;
    SLIPWAY_RETURN_IF_ERROR(sink.maybe_flush());
  }
  if (rc != SQLITE_DONE) return sqlite_query_error(db.get(), ErrorCode::kIoError, sql);
  stats.bytes = sink.bytes();
  SLIPWAY_RETURN_IF_ERROR(sink.commit());
  return stats;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

struct PgConnCloser {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct PgResultClearer {
  void operator()(PGresult* res) const { PQclear(res); }
};
using PgConn = std::unique_ptr<PGconn, PgConnCloser>;
using PgResult = std::unique_ptr<PGresult, PgResultClearer>;

// Type OIDs from PostgreSQL's pg_type.dat; they are fixed for built-in types.
constexpr Oid kBoolOid = 16;
constexpr Oid kTimestampTzOid = 1184;

// libpq messages end with a newline and continue on tab-indented lines; make them one line.
std::string one_line(std::string_view message) {
  std::string out;
  for (char c : message) {
    if (c == '\n' || c == '\r' || c == '\t') {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string pg_result_message(PGconn* conn, const PGresult* res) {
  const char* primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  if (primary != nullptr && *primary != '\0') return primary;
  return one_line(PQerrorMessage(conn));
}

Status pg_query_error(PGconn* conn, const PGresult* res, const SqlSource& source, ErrorCode code) {
  std::string shown = source.query.empty() ? "SELECT * FROM " + quote_table_name(source.table) : source.query;
  return make_error(code, "PostgreSQL query failed: {} (query: {})", pg_result_message(conn, res), shown);
}

// The query as a sub-select: COPY needs it without the trailing semicolon, and a trailing line
// comment must not swallow the closing parenthesis (hence the newlines around it).
std::string query_body(const SqlSource& source) {
  if (source.query.empty()) return "SELECT * FROM " + quote_table_name(source.table);
  std::string_view q = source.query;
  while (!q.empty() && (q.back() == ';' || q.back() == ' ' || q.back() == '\n' || q.back() == '\t' || q.back() == '\r')) {
    q.remove_suffix(1);
  }
  return std::string(q);
}

// COPY's CSV writes booleans as t/f and timestamptz with a "+00" offset. Where the result has such
// columns, select through a wrapper that writes "true"/"false" and "...Z" instead. The wrapper
// renames the columns positionally (c1, c2, ...) so duplicate or odd names in the user's query
// cannot make a reference ambiguous, and aliases them back to their original names.
std::string copy_statement(const std::string& body, const PGresult* described) {
  const int n = PQnfields(described);
  bool wrap = false;
  for (int i = 0; i < n; ++i) {
    Oid t = PQftype(described, i);
    wrap = wrap || t == kBoolOid || t == kTimestampTzOid;
  }
  std::string select = body;
  if (wrap) {
    std::string cols;
    std::string aliases;
    for (int i = 0; i < n; ++i) {
      std::string ref = fmt::format("slipway_q.c{}", i + 1);
      if (i > 0) {
        cols += ", ";
        aliases += ", ";
      }
      aliases += fmt::format("c{}", i + 1);
      switch (PQftype(described, i)) {
        case kBoolOid:
          cols += fmt::format("CASE WHEN {0} THEN 'true' WHEN NOT {0} THEN 'false' END", ref);
          break;
        case kTimestampTzOid:
          cols += fmt::format("CASE WHEN isfinite({0}) THEN ({0} AT TIME ZONE 'UTC')::text || 'Z' ELSE {0}::text END",
                              ref);
          break;
        default:
          cols += ref;
      }
      cols += " AS " + quote_identifier(PQfname(described, i));
    }
    select = fmt::format("SELECT {} FROM (\n{}\n) AS slipway_q({})", cols, body, aliases);
  }
  return fmt::format("COPY (\n{}\n) TO STDOUT WITH (FORMAT csv, HEADER true)", select);
}

Result<SqlExportStats> export_postgres(const SqlSource& source, const fs::path& out_path) {
  PgConn conn(PQconnectdb(source.path_or_conninfo.c_str()));
  if (!conn) return make_error(ErrorCode::kIoError, "cannot connect to PostgreSQL: out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    auto or_default = [](const char* v, const char* d) { return v != nullptr && *v != '\0' ? v : d; };
    return make_error(ErrorCode::kIoError, "cannot connect to PostgreSQL at {}:{}/{}: {}",
                      or_default(PQhost(conn.get()), "localhost"), or_default(PQport(conn.get()), "5432"),
                      or_default(PQdb(conn.get()), "?"), one_line(PQerrorMessage(conn.get())));
  }

  // libpq's default notice processor prints server notices to stderr; library code never prints.
  PQsetNoticeProcessor(conn.get(), [](void*, const char*) {}, nullptr);

  // Pin every setting that changes how values print, whatever the server's defaults; and make the
  // session read-only, as the SQLite side opens its file read-only: ingest never writes a source.
  PgResult res(PQexec(conn.get(),
                      "SET client_encoding = 'UTF8'; SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; "
                      "SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output = 'hex'; "
                      "SET default_transaction_read_only = on"));
  if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
    return make_error(ErrorCode::kIoError, "cannot set up PostgreSQL session: {}",
                      pg_result_message(conn.get(), res.get()));
  }

  // Describe the result's columns without running the query.
  const std::string body = query_body(source);
  res.reset(PQprepare(conn.get(), "", body.c_str(), 0, nullptr));
  if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
    return pg_query_error(conn.get(), res.get(), source, ErrorCode::kInvalidArgument);
  }
  res.reset(PQdescribePrepared(conn.get(), ""));
  if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
    return pg_query_error(conn.get(), res.get(), source, ErrorCode::kInvalidArgument);
  }
  SqlExportStats stats;
  const int ncols = PQnfields(res.get());
  if (ncols == 0) {
    return make_error(ErrorCode::kInvalidArgument, "PostgreSQL query returns no columns (query: {})",
                      source.query.empty() ? body : source.query);
  }
  for (int i = 0; i < ncols; ++i) stats.columns.emplace_back(PQfname(res.get(), i));
  const std::string copy = copy_statement(body, res.get());

  res.reset(PQexec(conn.get(), copy.c_str()));
  if (PQresultStatus(res.get()) != PGRES_COPY_OUT) {
    return pg_query_error(conn.get(), res.get(), source, ErrorCode::kInvalidArgument);
  }
  CsvFileSink sink;
  SLIPWAY_RETURN_IF_ERROR(sink.open(out_path));
  std::string& buf = sink.buffer();
  // One call per row; rows arrive already in our CSV dialect, so they go to the file as they are.
  uint64_t lines = 0;
  for (;;) {
    char* row = nullptr;
    int n = PQgetCopyData(conn.get(), &row, 0);
    if (n < 0) break;
    buf.append(row, static_cast<size_t>(n));
    PQfreemem(row);
    ++lines;
    SLIPWAY_RETURN_IF_ERROR(sink.maybe_flush());
  }
  // An error part-way (division by zero at row 1e6, a dropped connection) ends the copy with an
  // error result; anything written so far is discarded with the temporary file.
  res.reset(PQgetResult(conn.get()));
  if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
    return pg_query_error(conn.get(), res.get(), source, ErrorCode::kInvalidArgument);
  }
  while (PGresult* extra = PQgetResult(conn.get())) PQclear(extra);
  stats.rows = lines > 0 ? lines - 1 : 0;
  stats.bytes = sink.bytes();
  SLIPWAY_RETURN_IF_ERROR(sink.commit());
  return stats;
}

}  // namespace

bool is_sql_uri(std::string_view text) {
  if (text.starts_with(kSqliteScheme)) return true;
  for (std::string_view scheme : kPostgresSchemes) {
    if (text.starts_with(scheme)) return true;
  }
  return false;
}

Result<SqlSource> parse_sql_uri(std::string_view uri) {
  SqlSource source;
  source.uri = redact_password(uri);
  const std::string& shown = source.uri;
  std::string_view scheme;
  if (uri.starts_with(kSqliteScheme)) {
    source.kind = SqlSource::Kind::kSqlite;
    scheme = kSqliteScheme;
  } else {
    for (std::string_view s : kPostgresSchemes) {
      if (uri.starts_with(s)) scheme = s;
    }
    if (scheme.empty()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "not a SQL source URI (expected sqlite://, postgresql:// or postgres://): {}", shown);
    }
    source.kind = SqlSource::Kind::kPostgres;
  }

  size_t qmark = uri.find('?');
  std::string_view base = uri.substr(0, qmark);
  std::string_view params = qmark == std::string_view::npos ? std::string_view{} : uri.substr(qmark + 1);
  std::string passthrough;  // libpq's own parameters, left encoded for libpq to decode
  bool has_query = false;
  bool has_table = false;
  while (!params.empty()) {
    size_t amp = params.find('&');
    std::string_view pair = params.substr(0, amp);
    params = amp == std::string_view::npos ? std::string_view{} : params.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key;
    std::string value;
    if (!percent_decode(pair.substr(0, eq), true, &key) ||
        (eq != std::string_view::npos && !percent_decode(pair.substr(eq + 1), true, &value))) {
      return make_error(ErrorCode::kInvalidArgument, "bad percent-escape in parameter '{}' of SQL URI {}",
                        pair.substr(0, eq), shown);
    }
    if (key == "query" || key == "table") {
      bool& seen = key == "query" ? has_query : has_table;
      if (seen) return make_error(ErrorCode::kInvalidArgument, "parameter '{}' given twice in SQL URI {}", key, shown);
      seen = true;
      (key == "query" ? source.query : source.table) = std::move(value);
    } else if (source.kind == SqlSource::Kind::kSqlite) {
      return make_error(ErrorCode::kInvalidArgument,
                        "unknown parameter '{}' in SQLite URI {} (expected query or table)", key, shown);
    } else {
      passthrough += passthrough.empty() ? "?" : "&";
      passthrough += pair;
    }
  }
  if (has_query && has_table) {
    return make_error(ErrorCode::kInvalidArgument, "SQL URI has both query and table parameters; give one: {}", shown);
  }
  if (!has_query && !has_table) {
    return make_error(ErrorCode::kInvalidArgument, "SQL URI needs a ?query=... or ?table=... parameter: {}", shown);
  }
  if (has_query && source.query.find_first_not_of(" \t\r\n;") == std::string::npos) {
    return make_error(ErrorCode::kInvalidArgument, "empty query in SQL URI {}", shown);
  }
  if (has_table && source.table.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "empty table name in SQL URI {}", shown);
  }

  if (source.kind == SqlSource::Kind::kSqlite) {
    if (!percent_decode(base.substr(scheme.size()), false, &source.path_or_conninfo)) {
      return make_error(ErrorCode::kInvalidArgument, "bad percent-escape in database path of SQL URI {}", shown);
    }
    if (source.path_or_conninfo.empty()) {
      return make_error(ErrorCode::kInvalidArgument, "SQLite URI names no database file: {}", shown);
    }
  } else {
    source.path_or_conninfo = std::string(base) + passthrough;
  }
  return source;
}

Result<SqlExportStats> export_sql_to_csv(const SqlSource& source, const std::filesystem::path& out_path) {
  return source.kind == SqlSource::Kind::kSqlite ? export_sqlite(source, out_path) : export_postgres(source, out_path);
}

}  // namespace slipway::table
