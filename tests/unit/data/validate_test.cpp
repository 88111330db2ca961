#include "slipway/data/validate.h"

#include <deque>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace slipway::data {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Cell = std::optional<std::string>;  // nullopt: missing
using Rows = std::vector<std::vector<Cell>>;

// A RecordBatch over strings this object owns, rows numbered from `first_row`.
class TestBatch {
 public:
  TestBatch(size_t columns, const Rows& rows, uint64_t first_row = 1) {
    batch.num_rows = rows.size();
    batch.columns.resize(columns);
    batch.nulls.resize(columns);
    for (size_t r = 0; r < rows.size(); ++r) {
      for (size_t c = 0; c < columns; ++c) {
        const Cell& cell = rows[r][c];
        batch.columns[c].push_back(cell ? std::string_view(storage_.emplace_back(*cell)) : std::string_view());
        batch.nulls[c].push_back(cell ? 0 : 1);
      }
      batch.row_numbers.push_back(first_row + r);
      batch.line_numbers.push_back(first_row + r + 1);
    }
  }
  table::RecordBatch batch;

 private:
  std::deque<std::string> storage_;
};

DatasetRules rules_from(const std::string& yaml) {
  auto rules = parse_rules(yaml, "schema.yaml");
  EXPECT_TRUE(rules.ok()) << rules.status().message();
  return rules.ok() ? *rules : DatasetRules{};
}

ValidationReport run(const std::string& yaml, const std::vector<std::string>& names, const Rows& rows) {
  auto validator = Validator::create(rules_from(yaml), names);
  EXPECT_TRUE(validator.ok()) << validator.status().message();
  TestBatch b(names.size(), rows);
  EXPECT_TRUE(validator->add(b.batch).ok());
  return validator->finish();
}

// One column, one value per row.
ValidationReport run_column(const std::string& column_yaml, const std::vector<Cell>& values) {
  Rows rows;
  for (const auto& v : values) rows.push_back({v});
  return run("format: 1\ncolumns:\n  x:\n" + column_yaml, {"x"}, rows);
}

void expect_one(const ValidationReport& report, const Violation& want) {
  EXPECT_FALSE(report.passed);
  ASSERT_EQ(report.violations.size(), 1u) << render_text(report);
  const Violation& got = report.violations[0];
  EXPECT_EQ(got.column, want.column);
  EXPECT_EQ(got.rule, want.rule);
  EXPECT_EQ(got.expected, want.expected);
  EXPECT_EQ(got.observed, want.observed);
  EXPECT_EQ(got.failing_count, want.failing_count);
  EXPECT_EQ(got.example_rows, want.example_rows);
}

std::string parse_error(const std::string& yaml) {
  auto rules = parse_rules(yaml, "schema.yaml");
  EXPECT_FALSE(rules.ok());
  return rules.ok() ? std::string() : rules.status().message();
}

// --- each rule, passing and failing -------------------------------------------------------------

TEST(Validate, TypeRule) {
  EXPECT_TRUE(run_column("    type: int64\n", {"1", "-7", std::nullopt}).passed);
  expect_one(run_column("    type: int64\n", {"1", "abc", "1.5", "abc", "2"}),
             {"x", "type", "int64", "'abc', '1.5' (2 distinct)", 3, {2, 3, 4}});
  expect_one(run_column("    type: bool\n", {"true", "False", "yes"}), {"x", "type", "bool", "'yes' (1 distinct)", 1, {3}});
}

TEST(Validate, NullableRule) {
  EXPECT_TRUE(run_column("    nullable: false\n", {"a", ""}).passed);  // an empty string is a value
  EXPECT_TRUE(run_column("    nullable: true\n", {std::nullopt}).passed);
  expect_one(run_column("    nullable: false\n", {"a", std::nullopt, "b", std::nullopt}),
             {"x", "nullable", "no missing values", "2 missing", 2, {2, 4}});
}

TEST(Validate, MinAndMax) {
  const std::string rules = "    type: int64\n    min: -60\n    max: 1500\n";
  EXPECT_TRUE(run_column(rules, {"-60", "0", "1500", std::nullopt}).passed);
  expect_one(run_column(rules, {"1801", "3", "1501", "1600"}), {"x", "max", "<= 1500", "1501 .. 1801", 3, {1, 3, 4}});
  expect_one(run_column(rules, {"-61", "3"}), {"x", "min", ">= -60", "-61", 1, {1}});
  expect_one(run_column("    type: float64\n    max: 0.5\n", {"0.25", "nan", "0.75"}),
             {"x", "max", "<= 0.5", "0.75, nan", 2, {2, 3}});
}

TEST(Validate, TimestampBounds) {
  const std::string rules = "    type: timestamp\n    min: 2013-01-01\n    max: 2014-01-01\n";
  EXPECT_TRUE(run_column(rules, {"2013-01-01T10:00:00Z", "2013-12-31"}).passed);
  expect_one(run_column(rules, {"2012-12-31T23:00:00Z", "2013-05-05"}),
             {"x", "min", ">= 2013-01-01T00:00:00Z", "2012-12-31T23:00:00Z", 1, {1}});
}

TEST(Validate, AllowedValues) {
  const std::string rules = "    type: string\n    allowed_values: [UA, AA, B6]\n";
  EXPECT_TRUE(run_column(rules, {"UA", "B6", std::nullopt}).passed);
  expect_one(run_column(rules, {"UA", "ZZ", "ZZ", "ua", "AA"}),
             {"x", "allowed_values", "UA, AA, B6", "'ZZ', 'ua' (2 distinct)", 3, {2, 3, 4}});
  // Typed columns compare parsed values: "07" is the int64 7.
  EXPECT_TRUE(run_column("    type: int64\n    allowed_values: [7, 8]\n", {"07", "8"}).passed);
  EXPECT_TRUE(run_column("    type: bool\n    allowed_values: [true]\n", {"True", "TRUE"}).passed);
  expect_one(run_column("    type: int64\n    allowed_values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n", {"11"}),
             {"x", "allowed_values", "1, 2, 3, 4, 5, 6, 7, 8, ... (10 values)", "'11' (1 distinct)", 1, {1}});
}

TEST(Validate, MaxMissingFraction) {
  const std::string rules = "    max_missing_fraction: 0.25\n";
  EXPECT_TRUE(run_column(rules, {"a", std::nullopt, "b", "c"}).passed);
  expect_one(run_column(rules, {"a", std::nullopt, std::nullopt, "c"}),
             {"x", "max_missing_fraction", "<= 0.25", "0.5 (2 of 4 rows)", 2, {2, 3}});
}

TEST(Validate, Unique) {
  EXPECT_TRUE(run_column("    type: int64\n    unique: true\n", {"1", "2", std::nullopt, std::nullopt}).passed);
  expect_one(run_column("    type: int64\n    unique: true\n", {"1", "2", "01", "2", "2"}),
             {"x", "unique", "no repeated values", "repeated '01', '2' (2 distinct)", 3, {3, 4, 5}});
}

TEST(Validate, UniqueOverManyValues) {
  std::vector<Cell> values;
  for (int i = 0; i < 5000; ++i) values.push_back(std::to_string(i * 7919));
  EXPECT_TRUE(run_column("    type: int64\n    unique: true\n", values).passed);
  values.push_back("0");
  expect_one(run_column("    type: int64\n    unique: true\n", values),
             {"x", "unique", "no repeated values", "repeated '0' (1 distinct)", 1, {5001}});
}

TEST(Validate, Regex) {
  const std::string rules = "    regex: '^N[0-9A-Z]+$'\n";
  EXPECT_TRUE(run_column(rules, {"N14228", "N3ALAA", std::nullopt}).passed);
  // Repeated values are checked once (cached) but every failing row is counted.
  expect_one(run_column(rules, {"N14228", "X123", "n1", "X123"}),
             {"x", "regex", "matches '^N[0-9A-Z]+$'", "'X123', 'n1' (2 distinct)", 3, {2, 3, 4}});
  // search semantics: without anchors a match anywhere will do.
  EXPECT_TRUE(run_column("    regex: '[0-9]'\n", {"abc1"}).passed);
}

TEST(Validate, Lengths) {
  const std::string rules = "    min_length: 2\n    max_length: 3\n";
  EXPECT_TRUE(run_column(rules, {"ab", "abc", "\xC3\xA9t\xC3\xA9"}).passed);  // "été" is 3 characters
  expect_one(run_column("    min_length: 2\n", {"a", "", "abc"}),
             {"x", "min_length", ">= 2 characters", "length 0 .. 1", 2, {1, 2}});
  expect_one(run_column("    max_length: 3\n", {"abcd", "abc"}), {"x", "max_length", "<= 3 characters", "length 4", 1, {1}});
}

TEST(Validate, MostlyAllowsAFractionOfFailures) {
  std::vector<Cell> values(100, Cell("UA"));
  values[9] = "ZZ";
  const std::string rules = "    allowed_values: [UA]\n    mostly: 0.99\n";
  EXPECT_TRUE(run_column(rules, values).passed);
  values[19] = "ZZ";
  expect_one(run_column(rules, values),
             {"x", "allowed_values", "UA (mostly 0.99)", "'ZZ' (1 distinct)", 2, {10, 20}});
  // nullable looks at every row; the other value rules at non-missing values.
  values.assign(100, Cell("UA"));
  values[0] = std::nullopt;
  EXPECT_TRUE(run_column("    nullable: false\n    mostly: 0.99\n", values).passed);
}

TEST(Validate, RowCount) {
  const std::string yaml = "format: 1\ndataset:\n  row_count: {min: 3, max: 4}\ncolumns: {}\n";
  EXPECT_TRUE(run(yaml, {"a"}, {{"1"}, {"2"}, {"3"}}).passed);
  expect_one(run(yaml, {"a"}, {{"1"}, {"2"}}), {"", "row_count", "3 .. 4", "2", 0, {}});
  expect_one(run("format: 1\ndataset:\n  row_count: {max: 1}\n", {"a"}, {{"1"}, {"2"}}),
             {"", "row_count", "<= 1", "2", 0, {}});
}

TEST(Validate, DuplicateRows) {
  const Rows rows = {{"1", "a"}, {"2", "b"}, {"1", "a"}, {"1", std::nullopt}, {"1", ""}, {"1", "a"}};
  EXPECT_TRUE(run("format: 1\ndataset:\n  max_duplicate_rows: 2\n", {"k", "v"}, rows).passed);
  expect_one(run("format: 1\ndataset:\n  max_duplicate_rows: 1\n", {"k", "v"}, rows),
             {"", "max_duplicate_rows", "<= 1", "2 duplicate rows", 2, {3, 6}});
  expect_one(run("format: 1\ndataset:\n  max_duplicate_rows: 0.25\n", {"k", "v"}, rows),
             {"", "max_duplicate_rows", "<= 0.25 of rows", "2 duplicate rows", 2, {3, 6}});
  EXPECT_TRUE(run("format: 1\ndataset:\n  max_duplicate_rows: 0.5\n", {"k", "v"}, rows).passed);
  // A missing value and an empty string are different; field boundaries matter.
  EXPECT_TRUE(run("format: 1\ndataset:\n  max_duplicate_rows: 0\n", {"k", "v"},
                  {{"ab", "c"}, {"a", "bc"}, {"a", std::nullopt}, {"a", ""}})
                  .passed);
}

TEST(Validate, RequiredAndExtraColumns) {
  const std::string yaml = "format: 1\ncolumns:\n  a:\n    type: int64\n  b:\n";
  EXPECT_TRUE(run(yaml, {"b", "a", "c"}, {{"x", "1", "y"}}).passed);
  expect_one(run(yaml, {"a"}, {{"1"}}), {"b", "required", "column present", "column missing", 0, {}});
  expect_one(run("format: 1\ndataset:\n  allow_extra_columns: false\n" + yaml.substr(10), {"a", "b", "c"},
                 {{"1", "x", "y"}}),
             {"c", "allow_extra_columns", "only listed columns", "extra column", 0, {}});
}

TEST(Validate, ListsEveryViolationInOrder) {
  const std::string yaml = R"(format: 1
dataset:
  row_count: {min: 10}
columns:
  dep_delay:
    type: int64
    min: -60
    max: 1500
  carrier:
    allowed_values: [UA, AA]
    nullable: false
  gone:
)";
  auto report = run(yaml, {"carrier", "dep_delay"},
                    {{"UA", "1501"}, {"ZZ", "x"}, {std::nullopt, "-61"}, {"AA", std::nullopt}});
  ASSERT_EQ(report.violations.size(), 7u) << render_text(report);
  std::vector<std::string> got;
  for (const auto& v : report.violations) got.push_back(v.column + "/" + v.rule);
  EXPECT_EQ(got, (std::vector<std::string>{"/row_count", "gone/required", "dep_delay/type", "dep_delay/min",
                                           "dep_delay/max", "carrier/nullable", "carrier/allowed_values"}));
  EXPECT_EQ(report.rows, 4u);
}

TEST(Validate, ExamplesAreFirstFiveAcrossBatches) {
  auto validator = Validator::create(rules_from("format: 1\ncolumns:\n  x:\n    type: int64\n"), {"x"});
  ASSERT_TRUE(validator.ok());
  Rows bad(4, {Cell("bad")});
  TestBatch first(1, bad, 1);
  TestBatch second(1, bad, 1001);  // row numbers come from the batch, not a counter
  ASSERT_TRUE(validator->add(first.batch).ok());
  ASSERT_TRUE(validator->add(second.batch).ok());
  auto report = validator->finish();
  ASSERT_EQ(report.violations.size(), 1u);
  EXPECT_EQ(report.violations[0].failing_count, 8u);
  EXPECT_EQ(report.violations[0].example_rows, (std::vector<uint64_t>{1, 2, 3, 4, 1001}));
  EXPECT_EQ(report.rows, 8u);
}

TEST(Validate, BatchWithWrongColumnCountIsAnError) {
  auto validator = Validator::create(DatasetRules{}, {"a", "b"});
  ASSERT_TRUE(validator.ok());
  TestBatch b(1, {{Cell("1")}});
  Status st = validator->add(b.batch);
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "batch has 1 columns; the validator was created for 2");
}

TEST(Validate, RulesBuiltInCodeAreChecked) {
  DatasetRules rules;
  ColumnRules c;
  c.name = "x";
  c.regex = "([a-z";
  rules.columns.push_back(c);
  auto v = Validator::create(rules, {"x"});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(v.status().message(),
              StartsWith("regex for column 'x' is not a valid ECMAScript regular expression: "));
}

TEST(Validate, JsonAndText) {
  auto report = run(R"(format: 1
columns:
  dep_delay:
    type: int64
    max: 1500
  carrier:
    allowed_values: [UA, AA, B6]
)",
                    {"dep_delay", "carrier"}, {{"1801", "UA"}, {"1301", "ZZ"}, {"1600", "ZZ"}});
  EXPECT_EQ(to_json(report).dump(),
            R"j({"passed":false,"rows":3,"violations":[)j"
            R"j({"column":"dep_delay","example_rows":[1,3],"expected":"<= 1500","failing_count":2,)j"
            R"j("observed":"1600 .. 1801","rule":"max"},)j"
            R"j({"column":"carrier","example_rows":[2,3],"expected":"UA, AA, B6","failing_count":2,)j"
            R"j("observed":"'ZZ' (1 distinct)","rule":"allowed_values"}]})j");
  EXPECT_EQ(render_text(report),
            "failed: 2 rules broken in 3 rows\n"
            "\n"
            "column     rule            expected    observed           failing  example rows\n"
            "dep_delay  max             <= 1500     1600 .. 1801       2        1, 3\n"
            "carrier    allowed_values  UA, AA, B6  'ZZ' (1 distinct)  2        2, 3\n");
  EXPECT_EQ(render_text(ValidationReport{12, true, {}}), "passed: 12 rows, every rule holds\n");
}

// --- schema files -------------------------------------------------------------------------------

TEST(Schema, ParsesEveryKey) {
  auto rules = load_rules(std::filesystem::path(SLIPWAY_TEST_DATA) / "schemas" / "flights.yaml");
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  EXPECT_EQ(rules->min_rows, 1000u);
  EXPECT_EQ(rules->max_rows, 2000000u);
  EXPECT_EQ(rules->max_duplicate_rows, (DuplicateLimit{false, 0}));
  EXPECT_TRUE(rules->allow_extra_columns);
  ASSERT_EQ(rules->columns.size(), 6u);
  const ColumnRules* carrier = rules->find("carrier");
  ASSERT_NE(carrier, nullptr);
  EXPECT_EQ(carrier->type, table::DataType::kString);
  EXPECT_FALSE(carrier->nullable);
  EXPECT_EQ(carrier->allowed_values->size(), 16u);
  EXPECT_EQ(carrier->mostly, 0.99);
  const ColumnRules* delay = rules->find("dep_delay");
  EXPECT_EQ(delay->min, -60);
  EXPECT_EQ(delay->max, 1500);
  EXPECT_EQ(delay->max_missing_fraction, 0.05);
  const ColumnRules* tail = rules->find("tailnum");
  EXPECT_EQ(tail->regex, "^N[0-9A-Z]+$");
  EXPECT_EQ(tail->min_length, 5u);
  EXPECT_EQ(tail->max_length, 6u);
  EXPECT_EQ(rules->find("time_hour")->min, 1356998400e6);
}

TEST(Schema, ErrorsNamePlaceAndKey) {
  const std::string path = std::string(SLIPWAY_TEST_DATA) + "/schemas/bad_rule.yaml";
  auto rules = load_rules(path);
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.status().code(), ErrorCode::kParseError);
  EXPECT_EQ(rules.status().message(),
            path + ":7:5: unknown rule 'maxx' for column 'dep_delay' (known: type, nullable, min, max, "
                   "allowed_values, max_missing_fraction, unique, regex, min_length, max_length, mostly)");

  const std::string newer = std::string(SLIPWAY_TEST_DATA) + "/schemas/newer_format.yaml";
  auto v2 = load_rules(newer);
  EXPECT_EQ(v2.status().code(), ErrorCode::kParseError);
  EXPECT_EQ(v2.status().message(), newer + " was written by a newer slipway (format 2); this slipway reads format 1");

  auto missing = load_rules("/nonexistent/schema.yaml");
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "/nonexistent/schema.yaml: cannot open schema file");
}

TEST(Schema, ExactParseErrors) {
  const std::string head = "format: 1\ncolumns:\n  dep_delay:\n    type: int64\n";
  EXPECT_EQ(parse_error(head + "    min: lots\n"), "schema.yaml:5:10: min for column 'dep_delay' must be a number");
  EXPECT_EQ(parse_error("format: 1\ncolumns:\n  x:\n    type: int\n"),
            "schema.yaml:4:11: unknown type 'int' for column 'x' (known: bool, int64, float64, timestamp, string)");
  EXPECT_EQ(parse_error(head + "    nullable: maybe\n"),
            "schema.yaml:5:15: nullable for column 'dep_delay' must be true or false");
  EXPECT_EQ(parse_error(head + "    min: 5\n    max: 1\n"),
            "schema.yaml:6:10: max 1 is less than min 5 for column 'dep_delay'");
  EXPECT_EQ(parse_error(head + "    min_length: -1\n"),
            "schema.yaml:5:17: min_length for column 'dep_delay' must be a non-negative integer");
  EXPECT_EQ(parse_error(head + "    mostly: 1.5\n"), "schema.yaml:5:13: mostly for column 'dep_delay' must be in (0, 1]");
  EXPECT_EQ(parse_error(head + "    allowed_values: [1, x]\n"),
            "schema.yaml:5:21: allowed_values entry 'x' for column 'dep_delay' is not a int64");
  EXPECT_EQ(parse_error(head + "    max_missing_fraction: 2\n"),
            "schema.yaml:5:27: max_missing_fraction for column 'dep_delay' must be in [0, 1]");
  EXPECT_EQ(parse_error(head + "    min: 1\n    min: 2\n"), "schema.yaml:6:5: duplicate key 'min' for column 'dep_delay'");
  EXPECT_EQ(parse_error("format: 1\ncolumns:\n  s:\n    type: string\n    min: 1\n"),
            "schema.yaml:5:10: min for column 's' applies to int64, float64 and timestamp columns, not string");
  EXPECT_EQ(parse_error("format: 1\ncolumns:\n  s:\n    min: 1\n"),
            "schema.yaml:4:10: min for column 's' needs a type (int64, float64 or timestamp)");
  EXPECT_EQ(parse_error("format: 1\ncolumns:\n  t:\n    type: timestamp\n    min: yesterday\n"),
            "schema.yaml:5:10: min for column 't' must be a timestamp (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)");
  EXPECT_THAT(parse_error("format: 1\ncolumns:\n  t:\n    regex: '(['\n"),
              StartsWith("schema.yaml:4:12: regex for column 't' is not a valid ECMAScript regular expression: "));
  EXPECT_EQ(parse_error("format: 1\ncolumns:\n  a:\n  a:\n"), "schema.yaml:4:3: column 'a' is listed twice");
  EXPECT_EQ(parse_error("format: 1\ncolums: {}\n"),
            "schema.yaml:2:1: unknown top-level key 'colums' (known: format, dataset, columns)");
  EXPECT_EQ(parse_error("format: 1\ndataset:\n  rows: 5\n"),
            "schema.yaml:3:3: unknown dataset rule 'rows' (known: row_count, max_duplicate_rows, allow_extra_columns)");
  EXPECT_EQ(parse_error("format: 1\ndataset:\n  row_count: {min: 1, mx: 2}\n"),
            "schema.yaml:3:23: unknown key 'mx' in row_count (known: min, max)");
  EXPECT_EQ(parse_error("format: 1\ndataset:\n  max_duplicate_rows: 1.5\n"),
            "schema.yaml:3:23: max_duplicate_rows must be a count (0, 1, ...) or a fraction of rows in [0, 1]");
  EXPECT_EQ(parse_error("columns: {}\n"), "schema.yaml: missing 'format' (this slipway writes format 1)");
  EXPECT_EQ(parse_error("format: one\n"), "schema.yaml:1:9: format must be a positive integer");
  EXPECT_EQ(parse_error("- a\n- b\n"), "schema.yaml: a schema is a mapping with keys format, dataset, columns");
  EXPECT_THAT(parse_error("format: 1\ncolumns:\n  x: [a\n"), StartsWith("schema.yaml:"));
  EXPECT_THAT(parse_error("format: 1\ncolumns:\n  x: [a\n"), HasSubstr(": invalid YAML: "));
}

TEST(Schema, RoundTripIsStable) {
  auto rules = load_rules(std::filesystem::path(SLIPWAY_TEST_DATA) / "schemas" / "flights.yaml");
  ASSERT_TRUE(rules.ok());
  const std::string yaml = rules_to_yaml(*rules);
  auto again = parse_rules(yaml, "written.yaml");
  ASSERT_TRUE(again.ok()) << again.status().message() << "\n" << yaml;
  EXPECT_EQ(*again, *rules);
  EXPECT_EQ(rules_to_yaml(*again), yaml);
}

TEST(Schema, CanonicalText) {
  DatasetRules rules;
  rules.min_rows = 5;
  rules.max_duplicate_rows = DuplicateLimit{true, 1};
  rules.allow_extra_columns = false;
  ColumnRules c;
  c.name = "code";
  c.type = table::DataType::kString;
  c.nullable = false;
  c.allowed_values = std::vector<std::string>{"null", "true", "a b", "", "x: y", "~", "- z", "it's", "1"};
  c.regex = "^[a-z]+'$";
  c.mostly = 0.95;
  rules.columns.push_back(c);
  ColumnRules t;
  t.name = "when";
  t.type = table::DataType::kTimestamp;
  t.min = 1356998400e6;
  t.max_missing_fraction = 0.125;
  t.unique = true;
  t.min_length = 1;
  t.max_length = 30;
  rules.columns.push_back(t);
  const std::string yaml = rules_to_yaml(rules);
  EXPECT_EQ(yaml,
            "# slipway dataset schema (format 1)\n"
            "# Every listed column is required. Rules and defaults: docs/validation.md\n"
            "format: 1\n"
            "dataset:\n"
            "  row_count: {min: 5}\n"
            "  max_duplicate_rows: 1.0\n"
            "  allow_extra_columns: false\n"
            "columns:\n"
            "  code:\n"
            "    type: string\n"
            "    nullable: false\n"
            "    allowed_values: [\"null\", \"true\", a b, \"\", \"x: y\", \"~\", \"- z\", it's, \"1\"]\n"
            "    regex: '^[a-z]+''$'\n"
            "    mostly: 0.95\n"
            "  when:\n"
            "    type: timestamp\n"
            "    nullable: true\n"
            "    min: 2013-01-01T00:00:00Z\n"
            "    max_missing_fraction: 0.125\n"
            "    unique: true\n"
            "    min_length: 1\n"
            "    max_length: 30\n");
  auto again = parse_rules(yaml, "canonical.yaml");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(*again, rules);
}

// --- inference ----------------------------------------------------------------------------------

ColumnProfile column(std::string name, table::DataType type, uint64_t count, uint64_t missing, uint64_t distinct) {
  ColumnProfile c;
  c.name = std::move(name);
  c.type = type;
  c.count = count;
  c.missing = missing;
  c.distinct = distinct;
  return c;
}

TEST(Infer, FromHandMadeFlightsProfile) {
  DatasetProfile p;
  p.row_count = 1000;
  auto carrier = column("carrier", table::DataType::kString, 1000, 0, 3);
  carrier.top_values = {{"UA", 500}, {"B6", 300}, {"AA", 200}};
  auto month = column("month", table::DataType::kInt64, 1000, 0, 12);
  month.min = 1;
  month.max = 12;
  auto delay = column("dep_delay", table::DataType::kFloat64, 975, 25, 400);
  delay.min = -43;
  delay.max = 1301;
  auto tailnum = column("tailnum", table::DataType::kString, 990, 10, 900);
  tailnum.top_values = {{"N725MQ", 5}};
  auto partial = column("origin", table::DataType::kString, 1000, 0, 3);
  partial.top_values = {{"EWR", 400}, {"JFK", 350}};  // a profile listing only some values
  auto id = column("flight_id", table::DataType::kInt64, 1000, 0, 1000);
  id.min = 1;
  id.max = 1000;
  auto when = column("time_hour", table::DataType::kTimestamp, 1000, 0, 1000);
  when.min = 1356998400e6;
  when.max = 1388534400e6;
  auto cancelled = column("cancelled", table::DataType::kBool, 1000, 0, 1);
  cancelled.top_values = {{"false", 1000}};
  cancelled.min = 0;
  cancelled.max = 0;
  p.columns = {carrier, month, delay, tailnum, partial, id, when, cancelled};
  InferOptions options;
  options.duplicate_rows = 0;
  const DatasetRules rules = infer_rules(p, options);
  EXPECT_EQ(rules_to_yaml(rules),
            "# slipway dataset schema (format 1)\n"
            "# Every listed column is required. Rules and defaults: docs/validation.md\n"
            "format: 1\n"
            "dataset:\n"
            "  row_count: {min: 500, max: 2000}\n"
            "  max_duplicate_rows: 0\n"
            "columns:\n"
            "  carrier:\n"
            "    type: string\n"
            "    nullable: false\n"
            "    allowed_values: [AA, B6, UA]\n"
            "  month:\n"
            "    type: int64\n"
            "    nullable: false\n"
            "    min: 1\n"
            "    max: 12\n"
            "  dep_delay:\n"
            "    type: float64\n"
            "    nullable: true\n"
            "    min: -43\n"
            "    max: 1301\n"
            "    max_missing_fraction: 0.029\n"
            "  tailnum:\n"
            "    type: string\n"
            "    nullable: true\n"
            "    max_missing_fraction: 0.012\n"
            "  origin:\n"
            "    type: string\n"
            "    nullable: false\n"
            "  flight_id:\n"
            "    type: int64\n"
            "    nullable: false\n"
            "    min: 1\n"
            "    max: 1000\n"
            "    unique: true\n"
            "  time_hour:\n"
            "    type: timestamp\n"
            "    nullable: false\n"
            "    min: 2013-01-01T00:00:00Z\n"
            "    max: 2014-01-01T00:00:00Z\n"
            "    unique: true\n"
            "  cancelled:\n"
            "    type: bool\n"
            "    nullable: false\n"
            "    allowed_values: [false]\n");
}

TEST(Infer, DuplicatesAndEmptyProfile) {
  DatasetProfile p;
  p.row_count = 200;
  InferOptions options;
  options.duplicate_rows = 3;  // 1.5% * 1.1 + 0.1% = 1.75%, rounded up: 0.018
  auto rules = infer_rules(p, options);
  EXPECT_EQ(rules.max_duplicate_rows, (DuplicateLimit{true, 0.018}));
  auto empty = infer_rules(DatasetProfile{});
  EXPECT_EQ(empty.min_rows, 0u);
  EXPECT_EQ(empty.max_rows, std::nullopt);
  EXPECT_EQ(empty.max_duplicate_rows, std::nullopt);
}

}  // namespace
}  // namespace slipway::data
