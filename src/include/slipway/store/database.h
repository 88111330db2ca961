// A thin RAII layer over SQLite for the metadata store: prepared statements with typed binds, and
// transactions that roll back unless committed. WAL mode, synchronous=NORMAL, foreign keys on.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "slipway/core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace slipway::store {

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQLite.
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, std::nullptr_t);
  Statement& bind(int index, const std::optional<std::string>& value);

  // True while a row is available; false when done.
  Result<bool> step();
  Status run();  // step() expecting no rows
  void reset();

  // Columns are 0-based, as in SQLite.
  int64_t column_int64(int index) const;
  double column_double(int index) const;
  std::string column_text(int index) const;
  std::optional<std::string> column_optional_text(int index) const;
  bool column_is_null(int index) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  static Result<std::unique_ptr<Database>> open(const std::filesystem::path& path, bool create);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Status exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  // A statement prepared once per connection and kept for its lifetime (hot paths run the same few
  // statements thousands of times; preparing one costs as much as running it). It comes back reset
  // with no bindings. Not reentrant: finish with it (run(), or step() then reset()) before asking
  // for the same SQL again, and reset a SELECT left mid-way so it does not pin a read snapshot.
  Result<Statement*> cached(std::string_view sql);
  int64_t changes() const;

  // BEGIN IMMEDIATE: takes the write lock up front so concurrent writers wait (busy timeout)
  // instead of failing half-way.
  class Transaction {
   public:
    explicit Transaction(Database& db) : db_(&db) {}
    ~Transaction();
    Transaction(Transaction&& other) noexcept : db_(other.db_), open_(other.open_) { other.open_ = false; }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    Status commit();

   private:
    friend class Database;
    Database* db_;
    bool open_ = false;
  };
  Result<Transaction> begin();

  sqlite3* handle() { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cached_;  // finalized before db_ closes
};

}  // namespace slipway::store
