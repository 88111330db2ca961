#include <gtest/gtest.h>

#include "../../../src/table/detail/reader_testing.h"
#include "slipway/table/reader.h"
#include "table_test_util.h"

namespace slipway::table {
namespace {

using testing::read_all;
using testing::Row;
using testing::Table;
using Values = std::vector<std::optional<std::string>>;

Table parse(std::string_view text, const CsvOptions& options = {}, size_t batch_rows = 1000) {
  auto reader = open_csv_buffer(text, "mem.csv", options);
  EXPECT_TRUE(reader.ok()) << reader.status().message();
  if (!reader.ok()) return {};
  auto table = read_all(**reader, batch_rows);
  EXPECT_TRUE(table.ok()) << table.status().message();
  return table.ok() ? *table : Table{};
}

std::string parse_error(std::string_view text, const CsvOptions& options = {}) {
  auto reader = open_csv_buffer(text, "mem.csv", options);
  if (!reader.ok()) return reader.status().message();
  auto table = read_all(**reader);
  return table.ok() ? "no error" : table.status().message();
}

TEST(CsvReaderTest, QuotedFieldsDelimitersNewlinesAndDoubledQuotes) {
  Table t = parse("id,text\n1,\"a,b\"\n2,\"line1\nline2\"\n3,\"say \"\"hi\"\"\"\n4,\"\"\n");
  ASSERT_EQ(t.columns, (std::vector<std::string>{"id", "text"}));
  ASSERT_EQ(t.rows.size(), 4u);
  EXPECT_EQ(t.rows[0].values, (Values{"1", "a,b"}));
  EXPECT_EQ(t.rows[1].values, (Values{"2", "line1\nline2"}));
  EXPECT_EQ(t.rows[2].values, (Values{"3", "say \"hi\""}));
  // A quoted empty field is an empty string, not missing.
  EXPECT_EQ(t.rows[3].values, (Values{"4", ""}));
  EXPECT_EQ(t.rows[0].line, 2u);
  EXPECT_EQ(t.rows[1].line, 3u);
  EXPECT_EQ(t.rows[2].line, 5u);
  EXPECT_EQ(t.rows[3].row, 4u);
}

TEST(CsvReaderTest, NullTokensOnlyUnquoted) {
  Table t = parse("a,b,c,d,e\n,NA,null,NULL,\"NA\"\n");
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0].values, (Values{std::nullopt, std::nullopt, std::nullopt, std::nullopt, "NA"}));
  CsvOptions options;
  options.null_tokens = {"-"};
  t = parse("a,b\n,-\n", options);
  EXPECT_EQ(t.rows[0].values, (Values{"", std::nullopt}));
}

TEST(CsvReaderTest, LineEndingsBlankLinesAndNoTrailingNewline) {
  Table t = parse("a,b\r\n1,2\n\r\n\n3,4\r\n5,\"x\"\r\n6,7");
  ASSERT_EQ(t.rows.size(), 4u);
  EXPECT_EQ(t.rows[0].values, (Values{"1", "2"}));
  EXPECT_EQ(t.rows[1].values, (Values{"3", "4"}));
  EXPECT_EQ(t.rows[1].line, 5u);
  EXPECT_EQ(t.rows[1].row, 2u);
  EXPECT_EQ(t.rows[2].values, (Values{"5", "x"}));
  EXPECT_EQ(t.rows[3].values, (Values{"6", "7"}));
}

TEST(CsvReaderTest, TrailingDelimiterMeansEmptyLastField) {
  Table t = parse("a,b,c\n1,2,\n1,2,");
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0].values, (Values{"1", "2", std::nullopt}));
  EXPECT_EQ(t.rows[1].values, (Values{"1", "2", std::nullopt}));
}

TEST(CsvReaderTest, OptionsDelimiterQuoteAndNoHeader) {
  CsvOptions options;
  options.delimiter = ';';
  options.quote = '\'';
  options.header = false;
  Table t = parse("1;'a;b'\n2;'it''s'\n", options);
  EXPECT_EQ(t.columns, (std::vector<std::string>{"c0", "c1"}));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0].values, (Values{"1", "a;b"}));
  EXPECT_EQ(t.rows[1].values, (Values{"2", "it's"}));
  EXPECT_EQ(t.rows[0].line, 1u);
  options.delimiter = '\t';
  options.quote = '\0';  // no quoting at all
  t = parse("x\t\"y\n", options);
  EXPECT_EQ(t.rows[0].values, (Values{"x", "\"y"}));
}

TEST(CsvReaderTest, WhiteSpaceIsKept) {
  Table t = parse("a,b\n 1 , x\n");
  EXPECT_EQ(t.rows[0].values, (Values{" 1 ", " x"}));
}

TEST(CsvReaderTest, BatchesHoldAtMostMaxRows) {
  std::string text = "n\n";
  for (int i = 0; i < 10; ++i) text += std::to_string(i) + "\n";
  auto reader = open_csv_buffer(text, "mem.csv", {});
  ASSERT_TRUE(reader.ok());
  RecordBatch batch;
  std::vector<size_t> sizes;
  for (;;) {
    auto more = (*reader)->next(batch, 4);
    ASSERT_TRUE(more.ok());
    if (!*more) break;
    sizes.push_back(batch.num_rows);
    EXPECT_EQ(batch.columns[0].size(), batch.num_rows);
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{4, 4, 2}));
  EXPECT_EQ((*reader)->bytes_consumed(), text.size());
}

TEST(CsvReaderTest, BufferWithGivenHeaderAndLineOffsets) {
  std::vector<std::string> names = {"a", "b"};
  auto reader = open_csv_buffer("1,2\n3,4\n", "part", {}, &names, 101, 100);
  ASSERT_TRUE(reader.ok());
  auto t = read_all(**reader);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->rows.size(), 2u);
  EXPECT_EQ(t->rows[1].line, 102u);
  EXPECT_EQ(t->rows[1].row, 101u);
  auto bad = open_csv_buffer("1,2\n3\n", "part", {}, &names, 101, 100);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(read_all(**bad).status().message(), "part:102:1: row has 1 field but the header has 2 (columns: a,b)");
}

TEST(CsvReaderTest, ErrorsInMemory) {
  EXPECT_EQ(parse_error("a,b\n1,\"x\"y\n"), "mem.csv:2:6: unexpected character 'y' after closing quote in column 'b'");
  EXPECT_EQ(parse_error("a,b\n1,\"x\"\t\n"),
            "mem.csv:2:6: unexpected character byte 0x09 after closing quote in column 'b'");
  EXPECT_EQ(parse_error("a,b\n\"\xc3\xa9t\xc3\xa9\",\"open\n\nstill"),
            "mem.csv:2:7: unterminated quoted field (opened here) runs to the end of the file");
  // Columns count characters, not bytes: the error after "é" is reported at column 4.
  EXPECT_EQ(parse_error("a,b\n\xc3\xa9,1\"\n"),
            "mem.csv:2:4: quote character inside an unquoted field in column 'b' (quote the whole field and "
            "double the quotes inside it)");
  EXPECT_EQ(parse_error("a,b,c,d,e,f,g,h,i,j\n1\n"),
            "mem.csv:2:1: row has 1 field but the header has 10 (columns: a,b,c,d,e,f,g,h,...)");
  CsvOptions no_header;
  no_header.header = false;
  EXPECT_EQ(parse_error("1,2\n3,4,5\n", no_header), "mem.csv:2:1: row has 3 fields but the first row has 2");
  EXPECT_EQ(parse_error("a,\"b\nc\"\n1,2\n1,\"x\xfe\"\n"), "mem.csv:4:5: invalid UTF-8 (byte 0xfe) in column 'b\nc'");
  EXPECT_EQ(parse_error("a,b\xff\n"), "mem.csv:1:4: invalid UTF-8 (byte 0xff) in the header");
  // A bad byte before a later syntax error in the same record is reported first.
  EXPECT_EQ(parse_error("a,b\n\xff,\"x\"y\n"), "mem.csv:2:1: invalid UTF-8 (byte 0xff) in column 'a'");
  CsvOptions lax;
  lax.validate_utf8 = false;
  EXPECT_EQ(parse_error("a,b\n\xff,1\n", lax), "no error");
}

TEST(CsvReaderTest, FieldLongerThanTheLimit) {
  CsvOptions options;
  options.max_field_bytes = 1u << 20;
  std::string big(options.max_field_bytes + 1, 'x');
  EXPECT_EQ(parse_error("id,notes\n1," + big + "\n", options),
            "mem.csv:2:3: field in column 'notes' is longer than 1048576 bytes");
  EXPECT_EQ(parse_error("id,notes\n1,\"" + big + "\"\n", options),
            "mem.csv:2:3: field in column 'notes' is longer than 1048576 bytes");
  // Exactly at the limit is fine, and also when streamed in blocks much smaller than the field.
  std::string fits(options.max_field_bytes, 'y');
  auto path = testing::write_temp("big_field.csv", "id,notes\n1,\"" + fits + "\"\n2," + big + "\n");
  auto reader = detail::open_csv_with_block_size(path, options, 4096);
  ASSERT_TRUE(reader.ok());
  RecordBatch batch;
  auto first = (*reader)->next(batch, 1);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(batch.columns[1][0].size(), fits.size());
  auto second = (*reader)->next(batch, 1);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(),
            path.string() + ":3:3: field in column 'notes' is longer than 1048576 bytes");
}

// Every block size from 1 byte up must give the same rows as reading in one piece.
TEST(CsvReaderTest, TinyBlocksGiveIdenticalResults) {
  const std::string text =
      "\xef\xbb\xbfid,name,note\r\n1,\"Z\xc3\xbcrich\",\"a \"\"quoted\"\"\r\nvalue\"\n\n2,plain,\xe2\x82\xac\r\n"
      "3,,NA\n4,\"\",\"x,y\"\r\n5,last,\"\"\"\"";
  auto path = testing::write_temp("blocks.csv", text);
  Table whole = parse(text);
  ASSERT_EQ(whole.rows.size(), 5u);
  EXPECT_EQ(whole.rows[0].values, (Values{"1", "Z\xc3\xbcrich", "a \"quoted\"\r\nvalue"}));
  EXPECT_EQ(whole.rows[4].values, (Values{"5", "last", "\""}));
  for (size_t block : {1, 2, 3, 5, 7, 16, 64}) {
    for (size_t batch_rows : {1, 2, 1000}) {
      auto reader = detail::open_csv_with_block_size(path, {}, block);
      ASSERT_TRUE(reader.ok()) << reader.status().message();
      auto t = read_all(**reader, batch_rows);
      ASSERT_TRUE(t.ok()) << "block " << block << ": " << t.status().message();
      EXPECT_EQ(t->columns, whole.columns) << "block " << block;
      EXPECT_EQ(t->rows, whole.rows) << "block " << block << " batch " << batch_rows;
      EXPECT_EQ((*reader)->bytes_consumed(), text.size());
    }
  }
}

TEST(CsvReaderTest, TinyBlocksReportTheSameErrors) {
  const std::string text = "a,b\n1,\"x\xc3\xa9\"\n2,\"\xe2\x82\xac\xff\"\n";
  auto path = testing::write_temp("blocks_bad.csv", text);
  for (size_t block : {1, 2, 3, 4, 9, 1024}) {
    auto reader = detail::open_csv_with_block_size(path, {}, block);
    ASSERT_TRUE(reader.ok());
    EXPECT_EQ(read_all(**reader).status().message(),
              path.string() + ":3:5: invalid UTF-8 (byte 0xff) in column 'b'")
        << "block " << block;
  }
}

TEST(CsvReaderTest, SplitPointsParseToTheWhole) {
  std::string text = "id,text\n";
  for (int i = 0; i < 300; ++i) {
    text += std::to_string(i) + ",";
    text += i % 7 == 0 ? "\"multi\nline, \"\"quoted\"\"\"" : "plain";
    text += i % 11 == 0 ? "\r\n\n" : "\n";
  }
  Table whole = parse(text);
  ASSERT_EQ(whole.rows.size(), 300u);
  for (size_t parts : {1, 2, 3, 8, 64, 1000}) {
    auto splits = csv_split_points(text, parts, {});
    ASSERT_FALSE(splits.empty());
    ASSERT_LE(splits.size(), parts);
    EXPECT_EQ(splits[0].offset, 8u);
    EXPECT_EQ(splits[0].first_line, 2u);
    EXPECT_EQ(splits[0].first_row, 1u);
    std::vector<Row> rows;
    for (size_t i = 0; i < splits.size(); ++i) {
      size_t end = i + 1 < splits.size() ? splits[i + 1].offset : text.size();
      ASSERT_LT(splits[i].offset, end);
      auto reader = open_csv_buffer(std::string_view(text).substr(splits[i].offset, end - splits[i].offset), "mem.csv",
                                    {}, &whole.columns, splits[i].first_line, splits[i].first_row);
      ASSERT_TRUE(reader.ok());
      auto part = read_all(**reader);
      ASSERT_TRUE(part.ok()) << part.status().message();
      rows.insert(rows.end(), part->rows.begin(), part->rows.end());
    }
    EXPECT_EQ(rows, whole.rows) << parts << " parts";
  }
}

TEST(CsvReaderTest, SplitPointsOfHeaderOnlyAndNoHeader) {
  auto splits = csv_split_points("a,b\n", 4, {});
  ASSERT_EQ(splits.size(), 1u);
  EXPECT_EQ(splits[0].offset, 4u);
  CsvOptions no_header;
  no_header.header = false;
  splits = csv_split_points("\xef\xbb\xbf" "1,2\n3,4\n", 2, no_header);
  ASSERT_EQ(splits.size(), 2u);
  EXPECT_EQ(splits[0].offset, 3u);
  EXPECT_EQ(splits[1].offset, 7u);
  EXPECT_EQ(splits[1].first_line, 2u);
  EXPECT_EQ(splits[1].first_row, 2u);
}

TEST(CsvReaderTest, MissingFile) {
  auto reader = open_csv("/nonexistent/slipway.csv", {});
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(reader.status().message(), "/nonexistent/slipway.csv: no such file");
}

}  // namespace
}  // namespace slipway::table
