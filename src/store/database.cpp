#include "slipway/store/database.h"

#include <sqlite3.h>

namespace slipway::store {

namespace {
Status sqlite_error(sqlite3* db, std::string_view what) {
  return make_error(ErrorCode::kIoError, "metadata database: {}: {}", what, sqlite3_errmsg(db));
}
}  // namespace

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
Statement& Statement::bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}
Statement& Statement::bind(int index, std::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bind(int index, std::nullptr_t) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}
Statement& Statement::bind(int index, const std::optional<std::string>& value) {
  if (value) return bind(index, std::string_view(*value));
  return bind(index, nullptr);
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  if (rc == SQLITE_CONSTRAINT) {
    return make_error(ErrorCode::kAlreadyExists, "metadata database: {}", sqlite3_errmsg(db_));
  }
  return sqlite_error(db_, "statement failed");
}

Status Statement::run() {
  auto r = step();
  reset();
  if (!r.ok()) return r.status();
  return {};
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::column_int64(int index) const { return sqlite3_column_int64(stmt_, index); }
double Statement::column_double(int index) const { return sqlite3_column_double(stmt_, index); }
std::string Statement::column_text(int index) const {
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(sqlite3_column_bytes(stmt_, index)));
}
std::optional<std::string> Statement::column_optional_text(int index) const {
  if (column_is_null(index)) return std::nullopt;
  return column_text(index);
}
bool Statement::column_is_null(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }

Result<std::unique_ptr<Database>> Database::open(const std::filesystem::path& path, bool create) {
  sqlite3* db = nullptr;
  // NOMUTEX: a connection is never used by two threads at once (the server leases one per request,
  // the alert engine, feedback service and registry source guard theirs with a mutex), so SQLite's
  // per-call connection mutex is pure cost: a lock and an unlock around every sqlite3_column_*.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return make_error(ErrorCode::kIoError, "cannot open metadata database {}: {}", path.string(), msg);
  }
  sqlite3_busy_timeout(db, 30000);
  std::unique_ptr<Database> out(new Database(db));
  // cache_size: 32 MiB of pages per connection (the default 2 MiB is evicted by one search of
  // 10,000 runs); temp_store in memory for the sorts of search_runs; mmap so reads of a warm
  // database skip a copy through read().
  SLIPWAY_RETURN_IF_ERROR(out->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                                    "PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY; PRAGMA mmap_size=268435456;"));
  return out;
}

Database::~Database() {
  cached_.clear();  // sqlite3_close refuses while statements are alive
  if (db_ != nullptr) sqlite3_close(db_);
}

Status Database::exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return make_error(ErrorCode::kIoError, "metadata database: {}", msg);
  }
  return {};
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db_, fmt::format("cannot prepare '{}'", sql));
  return Statement(db_, stmt);
}

Result<Statement*> Database::cached(std::string_view sql) {
  auto it = cached_.find(std::string(sql));
  if (it != cached_.end()) {
    it->second->reset();
    return it->second.get();
  }
  SLIPWAY_ASSIGN_OR_RETURN(Statement stmt, prepare(sql));
  auto owned = std::make_unique<Statement>(std::move(stmt));
  Statement* out = owned.get();
  cached_.emplace(std::string(sql), std::move(owned));
  return out;
}

int64_t Database::changes() const { return sqlite3_changes64(db_); }

Result<Database::Transaction> Database::begin() {
  SLIPWAY_RETURN_IF_ERROR(exec("BEGIN IMMEDIATE"));
  Transaction t(*this);
  t.open_ = true;
  return t;
}

Status Database::Transaction::commit() {
  if (!open_) return make_error(ErrorCode::kInternal, "transaction already finished");
  open_ = false;
  return db_->exec("COMMIT");
}

Database::Transaction::~Transaction() {
  if (open_) (void)db_->exec("ROLLBACK");
}

}  // namespace slipway::store
