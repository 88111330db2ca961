// Every file in tests/data/malformed/ and the exact message a user sees for it.
#include <gtest/gtest.h>

#include "slipway/table/infer.h"
#include "slipway/table/reader.h"
#include "table_test_util.h"

namespace slipway::table {
namespace {

using testing::data_path;
using testing::read_all;
using Values = std::vector<std::optional<std::string>>;

// The error from opening and reading the whole file, with the path replaced by its file name.
std::string csv_error(const std::string& name) {
  std::string path = data_path("malformed/" + name);
  auto reader = open_csv(path, {});
  std::string message;
  if (!reader.ok()) {
    message = reader.status().message();
  } else {
    auto table = read_all(**reader);
    if (table.ok()) return "no error";
    message = table.status().message();
  }
  if (message.rfind(path, 0) == 0) message = name + message.substr(path.size());
  return message;
}

TEST(MalformedCorpusTest, CsvErrors) {
  EXPECT_EQ(csv_error("unbalanced_quote.csv"),
            "unbalanced_quote.csv:4:5: unterminated quoted field (opened here) runs to the end of the file");
  EXPECT_EQ(csv_error("ragged_short.csv"),
            "ragged_short.csv:3:1: row has 4 fields but the header has 5 (columns: year,month,day,carrier,flight)");
  EXPECT_EQ(csv_error("ragged_long.csv"), "ragged_long.csv:3:1: row has 3 fields but the header has 2 (columns: a,b)");
  EXPECT_EQ(csv_error("invalid_utf8.csv"), "invalid_utf8.csv:3:4: invalid UTF-8 (byte 0xff) in column 'carrier'");
  EXPECT_EQ(csv_error("invalid_utf8_quoted.csv"),
            "invalid_utf8_quoted.csv:3:1: invalid UTF-8 (byte 0xe2) in column 'carrier'");
  EXPECT_EQ(csv_error("after_quote.csv"),
            "after_quote.csv:2:10: unexpected character 'x' after closing quote in column 'name'");
  EXPECT_EQ(csv_error("quote_in_unquoted.csv"),
            "quote_in_unquoted.csv:2:4: quote character inside an unquoted field in column 'size' (quote the whole "
            "field and double the quotes inside it)");
  EXPECT_EQ(csv_error("empty.csv"), "empty.csv: the file is empty (expected a header line)");
  EXPECT_EQ(csv_error("duplicate_header.csv"),
            "duplicate_header.csv:1:5: duplicate column name 'a' in the header (columns 1 and 3)");
  EXPECT_EQ(csv_error("empty_header_name.csv"), "empty_header_name.csv:1:3: column 2 of the header has an empty name");
  EXPECT_EQ(csv_error("corrupt.csv.gz"), "corrupt.csv.gz: gzip decompression failed: invalid distance too far back");
  EXPECT_EQ(csv_error("truncated.csv.gz"),
            "truncated.csv.gz: gzip decompression failed: the compressed data ends early (truncated file)");
  EXPECT_EQ(csv_error("truncated.csv.zst"),
            "truncated.csv.zst: zstd decompression failed: the compressed data ends early (truncated file)");
}

TEST(MalformedCorpusTest, ValidOddities) {
  auto header_only = open_csv(data_path("malformed/header_only.csv"), {});
  ASSERT_TRUE(header_only.ok());
  auto t = read_all(**header_only);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->columns, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(t->rows.empty());

  auto bom = open_csv(data_path("malformed/bom.csv"), {});
  ASSERT_TRUE(bom.ok());
  EXPECT_EQ((*bom)->column_names(), (std::vector<std::string>{"a", "b"}));

  auto mixed = open_csv(data_path("malformed/mixed_endings.csv"), {});
  ASSERT_TRUE(mixed.ok());
  t = read_all(**mixed);
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_EQ(t->rows.size(), 4u);
  EXPECT_EQ(t->rows[2].values, (Values{"x\r\ny", "5"}));
  EXPECT_EQ(t->rows[3].values, (Values{"6", "7"}));
  EXPECT_EQ(t->rows[3].line, 6u);
}

TEST(MalformedCorpusTest, CompressedFilesReadLikeThePlainOne) {
  auto plain_reader = open_csv(data_path("malformed/good.csv"), {});
  ASSERT_TRUE(plain_reader.ok());
  auto plain = read_all(**plain_reader);
  ASSERT_TRUE(plain.ok());
  ASSERT_EQ(plain->rows.size(), 3u);
  EXPECT_EQ(plain->rows[1].values, (Values{"2", "say \"hi\"", "4"}));
  for (const char* name : {"good.csv.gz", "good.csv.zst"}) {
    auto reader = open_csv(data_path(std::string("malformed/") + name), {});
    ASSERT_TRUE(reader.ok()) << reader.status().message();
    auto t = read_all(**reader);
    ASSERT_TRUE(t.ok()) << t.status().message();
    EXPECT_EQ(t->columns, plain->columns) << name;
    EXPECT_EQ(t->rows, plain->rows) << name;
  }
}

Result<std::vector<InferredColumn>> infer_file(const std::string& path, const TableSchema* fixed) {
  SLIPWAY_ASSIGN_OR_RETURN(auto reader, open_csv(path, {}));
  TypeInferrer inferrer(reader->column_names(), reader->source_name(), fixed);
  RecordBatch batch;
  for (;;) {
    SLIPWAY_ASSIGN_OR_RETURN(bool more, reader->next(batch, 777));
    if (!more) break;
    inferrer.add(batch);
  }
  return inferrer.finish();
}

TEST(MalformedCorpusTest, TypeChangesHalfWay) {
  auto columns = infer_file(data_path("malformed/type_change.csv"), nullptr);
  ASSERT_TRUE(columns.ok());
  EXPECT_EQ((*columns)[1].spec.type, DataType::kFloat64);  // ints, then "2500.5": the wider type
  TableSchema schema{{{"dep_time", DataType::kInt64, true}}};
  std::string path = data_path("malformed/schema_violation.csv");
  auto pinned = infer_file(path, &schema);
  ASSERT_FALSE(pinned.ok());
  EXPECT_EQ(pinned.status().message(),
            path + ":5001:2: value 'abc' in column 'dep_time' is not a valid int64 (the schema says int64)");
  path = data_path("malformed/type_change.csv");
  pinned = infer_file(path, &schema);
  ASSERT_FALSE(pinned.ok());
  EXPECT_EQ(pinned.status().message(),
            path + ":2501:2: value '2500.5' in column 'dep_time' is not a valid int64 (the schema says int64)");
}

std::string jsonl_error(const std::string& name) {
  std::string path = data_path("malformed/" + name);
  auto reader = open_jsonl(path, JsonlOptions{.header_scan_rows = 2, .max_line_bytes = 1u << 20, .on_bad_record = {}});
  std::string message;
  if (!reader.ok()) {
    message = reader.status().message();
  } else {
    auto table = read_all(**reader);
    if (table.ok()) return "no error";
    message = table.status().message();
  }
  if (message.rfind(path, 0) == 0) message = name + message.substr(path.size());
  return message;
}

TEST(MalformedCorpusTest, JsonlErrors) {
  EXPECT_EQ(jsonl_error("bad_json.jsonl"),
            "bad_json.jsonl:2:7: invalid JSON: syntax error while parsing value - invalid literal; last read: "
            "'\"a\": x'");
  EXPECT_EQ(jsonl_error("not_object.jsonl"), "not_object.jsonl:2: expected a JSON object, got an array");
  EXPECT_EQ(jsonl_error("late_key.jsonl"), "late_key.jsonl:3: key 'b' not seen in the first 2 rows");
}

}  // namespace
}  // namespace slipway::table
