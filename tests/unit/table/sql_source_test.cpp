#include "slipway/table/sql_source.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace slipway::table {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh folder per test under /tmp, removed afterwards.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() / fmt::format("slipway-sql-test-{}-{}", ::getpid(), counter++);
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  size_t entries() const { return static_cast<size_t>(std::distance(fs::directory_iterator(path_), {})); }

 private:
  fs::path path_;
};

SqlSource parse_ok(std::string_view uri) {
  auto r = parse_sql_uri(uri);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : SqlSource{};
}

std::string parse_error(std::string_view uri) {
  auto r = parse_sql_uri(uri);
  EXPECT_FALSE(r.ok()) << uri;
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  return r.status().message();
}

// ---------------------------------------------------------------------------------------------
// URI parsing

TEST(SqlUriTest, RecognisesSqlSchemes) {
  EXPECT_TRUE(is_sql_uri("sqlite:///tmp/x.db?table=t"));
  EXPECT_TRUE(is_sql_uri("postgresql://localhost/db"));
  EXPECT_TRUE(is_sql_uri("postgres://localhost/db"));
  EXPECT_FALSE(is_sql_uri("data/flights.csv"));
  EXPECT_FALSE(is_sql_uri("mysql://localhost/db"));
  EXPECT_FALSE(is_sql_uri("sqlite:/x.db"));
}

TEST(SqlUriTest, SqliteAbsolutePathWithDecodedQuery) {
  SqlSource s = parse_ok("sqlite:///tmp/my%20data.db?query=SELECT+*%20FROM+flights%20WHERE%20x%3D1");
  EXPECT_EQ(s.kind, SqlSource::Kind::kSqlite);
  EXPECT_EQ(s.path_or_conninfo, "/tmp/my data.db");
  EXPECT_EQ(s.query, "SELECT * FROM flights WHERE x=1");
  EXPECT_EQ(s.table, "");
  EXPECT_EQ(s.uri, "sqlite:///tmp/my%20data.db?query=SELECT+*%20FROM+flights%20WHERE%20x%3D1");
}

TEST(SqlUriTest, SqliteRelativePathWithTable) {
  SqlSource s = parse_ok("sqlite://data/nyc.db?table=flights");
  EXPECT_EQ(s.path_or_conninfo, "data/nyc.db");
  EXPECT_EQ(s.table, "flights");
  EXPECT_EQ(s.query, "");
}

TEST(SqlUriTest, PostgresKeepsLibpqParametersAndHidesPassword) {
  SqlSource s = parse_ok("postgresql://ann:s3cret@db.example:5433/prod?sslmode=disable&query=SELECT%201&connect_timeout=5");
  EXPECT_EQ(s.kind, SqlSource::Kind::kPostgres);
  EXPECT_EQ(s.path_or_conninfo, "postgresql://ann:s3cret@db.example:5433/prod?sslmode=disable&connect_timeout=5");
  EXPECT_EQ(s.query, "SELECT 1");
  EXPECT_EQ(s.uri, "postgresql://ann:***@db.example:5433/prod?sslmode=disable&query=SELECT%201&connect_timeout=5");

  SqlSource short_scheme = parse_ok("postgres://localhost/db?table=public.flights");
  EXPECT_EQ(short_scheme.kind, SqlSource::Kind::kPostgres);
  EXPECT_EQ(short_scheme.path_or_conninfo, "postgres://localhost/db");
  EXPECT_EQ(short_scheme.table, "public.flights");
  EXPECT_EQ(short_scheme.uri, "postgres://localhost/db?table=public.flights");
}

TEST(SqlUriTest, ErrorsNameWhatIsWrong) {
  EXPECT_EQ(parse_error("mysql://h/db?query=x"),
            "not a SQL source URI (expected sqlite://, postgresql:// or postgres://): mysql://h/db?query=x");
  EXPECT_EQ(parse_error("sqlite:///x.db"), "SQL URI needs a ?query=... or ?table=... parameter: sqlite:///x.db");
  EXPECT_EQ(parse_error("sqlite:///x.db?query=SELECT%201&table=t"),
            "SQL URI has both query and table parameters; give one: sqlite:///x.db?query=SELECT%201&table=t");
  EXPECT_EQ(parse_error("sqlite:///x.db?table=a&table=b"),
            "parameter 'table' given twice in SQL URI sqlite:///x.db?table=a&table=b");
  EXPECT_EQ(parse_error("sqlite:///x.db?query=+%3B"), "empty query in SQL URI sqlite:///x.db?query=+%3B");
  EXPECT_EQ(parse_error("sqlite:///x.db?table="), "empty table name in SQL URI sqlite:///x.db?table=");
  EXPECT_EQ(parse_error("sqlite:///x.db?table=t&mode=ro"),
            "unknown parameter 'mode' in SQLite URI sqlite:///x.db?table=t&mode=ro (expected query or table)");
  EXPECT_EQ(parse_error("sqlite://?table=t"), "SQLite URI names no database file: sqlite://?table=t");
  EXPECT_EQ(parse_error("sqlite:///x.db?query=SELECT%2"),
            "bad percent-escape in parameter 'query' of SQL URI sqlite:///x.db?query=SELECT%2");
  EXPECT_EQ(parse_error("sqlite:///x%zz.db?table=t"),
            "bad percent-escape in database path of SQL URI sqlite:///x%zz.db?table=t");
  // The password never appears in an error.
  EXPECT_EQ(parse_error("postgresql://ann:s3cret@h/db"),
            "SQL URI needs a ?query=... or ?table=... parameter: postgresql://ann:***@h/db");
}

// ---------------------------------------------------------------------------------------------
// SQLite

void sqlite_exec(const fs::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string message = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

class SqliteExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.path() / "src.db";
    sqlite_exec(db_,
                "CREATE TABLE t(i INTEGER, r REAL, s TEXT, b BLOB, n);"
                "INSERT INTO t VALUES (42, 0.1, 'plain', x'01ff', NULL);"
                "INSERT INTO t VALUES (-7, 1.0, '', NULL, NULL);"
                "INSERT INTO t VALUES (NULL, 1e22, 'a,b', NULL, 'x');"
                "INSERT INTO t VALUES (9223372036854775807, -2.5, 'say \"hi\"', x'', 3);"
                "INSERT INTO t VALUES (0, NULL, 'two' || char(10) || 'lines', NULL, 1.5);"
                "INSERT INTO t VALUES (1, 1.5e-7, 'cr' || char(13), NULL, 'é');"
                "CREATE TABLE \"my \"\"odd\"\" table\"(\"a,b\" INTEGER, \"\" TEXT);"
                "INSERT INTO \"my \"\"odd\"\" table\" VALUES (1, 'x');");
    out_ = dir_.path() / "out.csv";
  }

  Result<SqlExportStats> run(const std::string& params) {
    auto source = parse_sql_uri("sqlite://" + db_.string() + "?" + params);
    if (!source.ok()) return source.status();
    return export_sql_to_csv(*source, out_);
  }

  TempDir dir_;
  fs::path db_;
  fs::path out_;
};

constexpr std::string_view kSqliteTableCsv =
    "i,r,s,b,n\n"
    "42,0.1,plain,\\x01ff,\n"
    "-7,1,\"\",,\n"
    ",1e+22,\"a,b\",,x\n"
    "9223372036854775807,-2.5,\"say \"\"hi\"\"\",\\x,3\n"
    "0,,\"two\nlines\",,1.5\n"
    "1,1.5e-07,\"cr\r\",,é\n";

TEST_F(SqliteExportTest, WritesEveryStorageClassAsCsv) {
  auto stats = run("table=t");
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ(read_text(out_), kSqliteTableCsv);
  EXPECT_EQ(stats->rows, 6u);
  EXPECT_EQ(stats->bytes, kSqliteTableCsv.size());
  EXPECT_EQ(stats->columns, (std::vector<std::string>{"i", "r", "s", "b", "n"}));
  EXPECT_EQ(dir_.entries(), 2u);  // src.db and out.csv: no temporary left behind
}

TEST_F(SqliteExportTest, QueryAndTableGiveTheSameFile) {
  ASSERT_TRUE(run("query=SELECT+*+FROM+t+ORDER+BY+rowid%3B").ok());
  EXPECT_EQ(read_text(out_), kSqliteTableCsv);
}

TEST_F(SqliteExportTest, QuotesOddTableAndColumnNames) {
  auto stats = run("table=my%20%22odd%22%20table");
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ(read_text(out_), "\"a,b\",\"\"\n1,x\n");
  EXPECT_EQ(stats->columns, (std::vector<std::string>{"a,b", ""}));
}

TEST_F(SqliteExportTest, EmptyResultIsHeaderOnly) {
  auto stats = run("query=SELECT i, s FROM t WHERE 0 -- nothing");
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ(read_text(out_), "i,s\n");
  EXPECT_EQ(stats->rows, 0u);
}

TEST_F(SqliteExportTest, StreamsResultsLargerThanTheWriteBuffer) {
  auto stats = run(
      "query=WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x %2B 1 FROM c WHERE x < 200000) "
      "SELECT x, 'row ' || x AS label FROM c");
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  std::string csv = read_text(out_);
  EXPECT_EQ(stats->rows, 200000u);
  EXPECT_EQ(stats->bytes, csv.size());
  EXPECT_GT(csv.size(), 2u << 20);
  EXPECT_TRUE(csv.starts_with("x,label\n1,row 1\n2,row 2\n"));
  EXPECT_TRUE(csv.ends_with("\n199999,row 199999\n200000,row 200000\n"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 200001);
}

TEST_F(SqliteExportTest, BadSqlNamesTheSqliteMessageAndQuery) {
  auto r = run("query=SELECT+*+FROM+nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "SQLite query failed: no such table: nope (query: SELECT * FROM nope)");

  r = run("table=nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "SQLite query failed: no such table: nope (query: SELECT * FROM \"nope\")");

  r = run("query=SELECT 1; SELECT 2");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "SQLite query has more than one statement (query: SELECT 1; SELECT 2)");

  r = run("query=CREATE TABLE u(x)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "SQLite query returns no columns (query: CREATE TABLE u(x))");

  // The database is opened read-only: a query that writes fails, and leaves no file behind.
  r = run("query=DELETE FROM t RETURNING i");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "SQLite query failed: attempt to write a readonly database (query: DELETE FROM t RETURNING i)");
  EXPECT_FALSE(fs::exists(out_));
  EXPECT_EQ(dir_.entries(), 1u);
}

TEST_F(SqliteExportTest, MissingDatabaseFile) {
  fs::path missing = dir_.path() / "missing.db";
  auto source = parse_sql_uri("sqlite://" + missing.string() + "?table=t");
  ASSERT_TRUE(source.ok());
  auto r = export_sql_to_csv(*source, out_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.status().message(), "no SQLite database at " + missing.string());
  EXPECT_FALSE(fs::exists(missing));  // read-only open never creates the file
  EXPECT_FALSE(fs::exists(out_));
}

TEST_F(SqliteExportTest, NotADatabase) {
  fs::path text = dir_.path() / "notes.db";
  std::ofstream(text) << "just some text, definitely not a database file at all\n";
  auto source = parse_sql_uri("sqlite://" + text.string() + "?table=t");
  ASSERT_TRUE(source.ok());
  auto r = export_sql_to_csv(*source, out_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "SQLite query failed: file is not a database (query: SELECT * FROM \"t\")");
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL, against a real server started by tests/support/postgres.sh

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// Runs a shell command; returns its exit status and appends its output to *output.
int run_command(const std::string& command, std::string* output) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char chunk[4096];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof(chunk), pipe)) > 0) output->append(chunk, n);
  return ::pclose(pipe);
}

// A flights-like table of 1000 rows with every kind of value the export has to get right.
struct FlightRow {
  std::string copy_text;  // the row in COPY FROM's text format
  std::string csv;        // the row as export_sql_to_csv must write it
};

FlightRow flight_row(int i) {
  static const char* kCarriers[] = {"UA", "AA", "B6", "DL", "EV"};
  std::vector<std::string> in;
  std::vector<std::string> out;
  auto add = [&](std::string copy_value, std::string csv_value) {
    in.push_back(std::move(copy_value));
    out.push_back(std::move(csv_value));
  };
  add(std::to_string(i + 1), std::to_string(i + 1));
  add(kCarriers[i % 5], kCarriers[i % 5]);
  if (i % 50 == 7) {
    add("\\N", "");
  } else if (i % 50 == 8) {
    add("", "\"\"");
  } else if (i % 100 == 9) {
    add("N1,2\"3", "\"N1,2\"\"3\"");
  } else {
    add(fmt::format("N{}X", i), fmt::format("N{}X", i));
  }
  if (i % 10 == 3) {
    add("\\N", "");
  } else {
    double delay = (i % 37 - 10) * 0.25;
    add(fmt::format("{}", delay), fmt::format("{}", delay));
  }
  int minutes = 5 * 60 + i * 15;
  auto stamp = [](int m, const char* frac) {
    return fmt::format("2013-01-{:02d} {:02d}:{:02d}:00{}", 1 + m / 1440, m / 60 % 24, m % 60, frac);
  };
  const char* frac = i % 250 == 1 ? ".25" : "";
  add(stamp(minutes, frac), stamp(minutes, frac));
  add(stamp(minutes, frac) + "-05:00", stamp(minutes + 300, frac) + "Z");  // timestamptz, shown in UTC
  if (i % 13 == 0) {
    add("\\N", "");
  } else {
    add(i % 7 == 0 ? "t" : "f", i % 7 == 0 ? "true" : "false");
  }
  if (i % 100 == 42) {
    add("line1\\nline2", "\"line1\nline2\"");
  } else if (i % 100 == 43) {
    add("say \"hi\"", "\"say \"\"hi\"\"\"");
  } else {
    add("ok", "ok");
  }
  return {fmt::format("{}\n", fmt::join(in, "\t")), fmt::format("{}\n", fmt::join(out, ","))};
}

constexpr int kFlightRows = 1000;

class PostgresExportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    port_ = free_port();
    dir_ = fmt::format("/tmp/slipway-pg-unit-{}-{}", ::getpid(), port_);
    std::string output;
    int rc = run_command(fmt::format("bash {}/../support/postgres.sh start {} {}", SLIPWAY_TEST_DATA, dir_, port_),
                         &output);
    if (rc != 0) {
      setup_error_ = "could not start a PostgreSQL server with tests/support/postgres.sh: " + output;
      return;
    }
    base_uri_ = fmt::format("postgresql://postgres@127.0.0.1:{}/postgres", port_);
    setup_error_ = load_flights();
  }

  static void TearDownTestSuite() {
    std::string output;
    run_command(fmt::format("bash {}/../support/postgres.sh stop {}", SLIPWAY_TEST_DATA, dir_), &output);
  }

  void SetUp() override {
    if (!setup_error_.empty()) FAIL() << setup_error_;
  }

  static std::string load_flights() {
    PGconn* conn = PQconnectdb(base_uri_.c_str());
    std::string error;
    auto exec = [&](const char* sql, ExecStatusType want) {
      PGresult* res = PQexec(conn, sql);
      if (error.empty() && PQresultStatus(res) != want) error = fmt::format("{}: {}", sql, PQerrorMessage(conn));
      PQclear(res);
    };
    if (PQstatus(conn) != CONNECTION_OK) {
      error = PQerrorMessage(conn);
    } else {
      exec("CREATE TABLE flights(id int PRIMARY KEY, carrier text, tailnum text, dep_delay float8, "
           "sched timestamp, sched_utc timestamptz, cancelled bool, note text)",
           PGRES_COMMAND_OK);
      exec("CREATE ROLE slipway_pw LOGIN PASSWORD 'right-pw'", PGRES_COMMAND_OK);
      exec("GRANT SELECT ON flights TO slipway_pw", PGRES_COMMAND_OK);
      exec("COPY flights FROM STDIN", PGRES_COPY_IN);
      for (int i = 0; i < kFlightRows && error.empty(); ++i) {
        std::string row = flight_row(i).copy_text;
        if (PQputCopyData(conn, row.data(), static_cast<int>(row.size())) != 1) error = PQerrorMessage(conn);
      }
      if (error.empty() && PQputCopyEnd(conn, nullptr) != 1) error = PQerrorMessage(conn);
      PGresult* res = PQgetResult(conn);
      if (error.empty() && PQresultStatus(res) != PGRES_COMMAND_OK) error = PQerrorMessage(conn);
      PQclear(res);
    }
    PQfinish(conn);
    return error.empty() ? "" : "could not load the flights table: " + error;
  }

  Result<SqlExportStats> run(const std::string& uri) {
    auto source = parse_sql_uri(uri);
    if (!source.ok()) return source.status();
    return export_sql_to_csv(*source, out_);
  }

  static inline int port_ = 0;
  static inline std::string dir_;
  static inline std::string base_uri_;
  static inline std::string setup_error_;
  TempDir tmp_;
  fs::path out_ = tmp_.path() / "out.csv";
};

TEST_F(PostgresExportTest, ExportsFlightsExactly) {
  std::string expected = "id,carrier,tailnum,dep_delay,sched,sched_utc,cancelled,note\n";
  for (int i = 0; i < kFlightRows; ++i) expected += flight_row(i).csv;

  auto stats = run(base_uri_ + "?query=SELECT+*+FROM+flights+ORDER+BY+id%3B");
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ(read_text(out_), expected);
  EXPECT_EQ(stats->rows, static_cast<uint64_t>(kFlightRows));
  EXPECT_EQ(stats->bytes, expected.size());
  EXPECT_EQ(stats->columns, (std::vector<std::string>{"id", "carrier", "tailnum", "dep_delay", "sched", "sched_utc",
                                                      "cancelled", "note"}));
  EXPECT_EQ(tmp_.entries(), 1u);

  // The same through ?table= (row order is not promised there, so compare sorted lines) and
  // through a password-authenticated role.
  auto by_table = run(fmt::format("postgresql://slipway_pw:right-pw@127.0.0.1:{}/postgres?table=public.flights", port_));
  ASSERT_TRUE(by_table.ok()) << by_table.status().message();
  EXPECT_EQ(by_table->rows, static_cast<uint64_t>(kFlightRows));
  auto sorted_lines = [](const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    std::sort(lines.begin(), lines.end());
    return lines;
  };
  EXPECT_EQ(sorted_lines(read_text(out_)), sorted_lines(expected));
}

TEST_F(PostgresExportTest, ValueTypesAndDuplicateColumnNames) {
  auto stats = run(base_uri_ +
                   "?query=" +
                   "SELECT 7::int AS i, 0.1::float8 AS f, 12.50::numeric AS num, NULL::text AS missing, "
                   "''::text AS empty, false AS b, DATE '2013-01-02' AS d, "
                   "'2013-01-01 00:00:00.5%2B02'::timestamptz AS tz, '-infinity'::timestamptz AS tz_inf, "
                   "'\\x01ff'::bytea AS bin, 'a'::text AS dup, 'b'::text AS dup -- trailing comment");
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ(read_text(out_),
            "i,f,num,missing,empty,b,d,tz,tz_inf,bin,dup,dup\n"
            "7,0.1,12.50,,\"\",false,2013-01-02,2012-12-31 22:00:00.5Z,-infinity,\\x01ff,a,b\n");
  EXPECT_EQ(stats->columns,
            (std::vector<std::string>{"i", "f", "num", "missing", "empty", "b", "d", "tz", "tz_inf", "bin", "dup", "dup"}));
}

TEST_F(PostgresExportTest, ConnectionErrorsNameTheServerButNotThePassword) {
  auto r = run(fmt::format("postgresql://slipway_pw:wrong-pw@127.0.0.1:{}/postgres?table=flights", port_));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kIoError);
  EXPECT_EQ(r.status().message(),
            fmt::format("cannot connect to PostgreSQL at 127.0.0.1:{0}/postgres: connection to server at "
                        "\"127.0.0.1\", port {0} failed: FATAL:  password authentication failed for user "
                        "\"slipway_pw\"",
                        port_));
  EXPECT_THAT(r.status().message(), Not(HasSubstr("wrong-pw")));

  int closed_port = free_port();
  r = run(fmt::format("postgresql://postgres:pw@127.0.0.1:{}/postgres?table=flights", closed_port));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            fmt::format("cannot connect to PostgreSQL at 127.0.0.1:{0}/postgres: connection to server at "
                        "\"127.0.0.1\", port {0} failed: Connection refused Is the server running on that host "
                        "and accepting TCP/IP connections?",
                        closed_port));

  r = run("postgresql://postgres@nonexistent.invalid:5432/postgres?table=flights");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              HasSubstr("cannot connect to PostgreSQL at nonexistent.invalid:5432/postgres: could not translate "
                        "host name \"nonexistent.invalid\" to address"));

  r = run(base_uri_.substr(0, base_uri_.size() - 8) + "nodb?table=flights");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            fmt::format("cannot connect to PostgreSQL at 127.0.0.1:{0}/nodb: connection to server at \"127.0.0.1\", "
                        "port {0} failed: FATAL:  database \"nodb\" does not exist",
                        port_));
}

TEST_F(PostgresExportTest, QueryErrorsCarryTheServerMessageAndLeaveNoFile) {
  auto r = run(base_uri_ + "?query=SELECT+*+FROM+nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "PostgreSQL query failed: relation \"nope\" does not exist (query: SELECT * FROM nope)");

  r = run(base_uri_ + "?table=nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "PostgreSQL query failed: relation \"nope\" does not exist (query: SELECT * FROM \"nope\")");

  // Fails after thousands of rows have streamed: the partial file must not survive.
  r = run(base_uri_ + "?query=SELECT x, 1 / (x - 90000) AS y FROM generate_series(1, 100000) x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "PostgreSQL query failed: division by zero (query: SELECT x, 1 / (x - 90000) AS y FROM "
            "generate_series(1, 100000) x)");
  EXPECT_FALSE(fs::exists(out_));
  EXPECT_EQ(tmp_.entries(), 0u);

  // The session is read-only: ingest never writes to a source.
  r = run(base_uri_ + "?query=DELETE FROM flights RETURNING id");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "PostgreSQL query failed: cannot execute DELETE in a read-only transaction (query: DELETE FROM flights "
            "RETURNING id)");

  r = run(base_uri_ + "?query=SELECT 1; SELECT 2");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "PostgreSQL query failed: cannot insert multiple commands into a prepared statement (query: SELECT 1; "
            "SELECT 2)");
}

}  // namespace
}  // namespace slipway::table
