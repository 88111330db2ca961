#include <gtest/gtest.h>

#include "../../../src/table/detail/reader_testing.h"
#include "slipway/table/reader.h"
#include "table_test_util.h"

namespace slipway::table {
namespace {

using testing::read_all;
using testing::Table;
using Values = std::vector<std::optional<std::string>>;

Result<Table> parse(std::string_view text, JsonlOptions options = {}, size_t batch_rows = 1000) {
  SLIPWAY_ASSIGN_OR_RETURN(auto reader, open_jsonl_buffer(text, "mem.jsonl", options));
  return read_all(*reader, batch_rows);
}

TEST(JsonlReaderTest, ValuesBecomeText) {
  auto t = parse(
      "{\"s\": \"a\\\"b\\u00e9\", \"i\": -12, \"f\": 1.50, \"e\": 1E5, \"b\": true, \"n\": null, "
      "\"o\": {\"k\": [1, 2.0, \"x\"], \"z\": {}}, \"a\": []}\n"
      "{\"i\": 18446744073709551615, \"b\": false}\n");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->columns, (std::vector<std::string>{"s", "i", "f", "e", "b", "n", "o", "a"}));
  ASSERT_EQ(t->rows.size(), 2u);
  EXPECT_EQ(t->rows[0].values,
            (Values{"a\"b\xc3\xa9", "-12", "1.50", "1E5", "true", std::nullopt, "{\"k\":[1,2.0,\"x\"],\"z\":{}}", "[]"}));
  EXPECT_EQ(t->rows[1].values, (Values{std::nullopt, "18446744073709551615", std::nullopt, std::nullopt, "false",
                                       std::nullopt, std::nullopt, std::nullopt}));
}

TEST(JsonlReaderTest, BlankLinesCrlfAndBom) {
  auto t = parse("\xef\xbb\xbf{\"a\": 1}\r\n\n   \r\n{\"a\": 2}");
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_EQ(t->rows.size(), 2u);
  EXPECT_EQ(t->rows[1].values, (Values{"2"}));
  EXPECT_EQ(t->rows[1].line, 4u);
  EXPECT_EQ(t->rows[1].row, 2u);
}

TEST(JsonlReaderTest, ColumnsComeFromTheScannedRows) {
  std::string text;
  for (int i = 0; i < 5; ++i) text += "{\"a\": " + std::to_string(i) + "}\n";
  text += "{\"b\": 1}\n";
  auto small = parse(text, JsonlOptions{.header_scan_rows = 3, .max_line_bytes = 1024, .on_bad_record = {}});
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.status().message(), "mem.jsonl:6: key 'b' not seen in the first 3 rows");
  auto wide = parse(text, JsonlOptions{.header_scan_rows = 6, .max_line_bytes = 1024, .on_bad_record = {}}, 2);
  ASSERT_TRUE(wide.ok());
  EXPECT_EQ(wide->columns, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(wide->rows.size(), 6u);
  EXPECT_EQ(wide->rows[0].values, (Values{"0", std::nullopt}));
  EXPECT_EQ(wide->rows[5].values, (Values{std::nullopt, "1"}));
}

TEST(JsonlReaderTest, Errors) {
  EXPECT_EQ(parse("{\"a\": 1}\n\"text\"\n").status().message(), "mem.jsonl:2: expected a JSON object, got a string");
  EXPECT_EQ(parse("{\"a\": 1}\n7\n").status().message(), "mem.jsonl:2: expected a JSON object, got a number");
  EXPECT_EQ(parse("{\"a\": 1}\nnull\n").status().message(), "mem.jsonl:2: expected a JSON object, got null");
  EXPECT_EQ(parse("{\"a\": 1} {\"a\": 2}\n").status().message(),
            "mem.jsonl:1:10: invalid JSON: syntax error while parsing value - unexpected '{'; expected end of input");
  EXPECT_EQ(parse("{\"\xc3\xa9\": \"\xff\"}\n").status().message(),
            "mem.jsonl:1:8: invalid JSON: syntax error while parsing value - invalid string: ill-formed UTF-8 "
            "byte; last read: '\"\xff'");
  EXPECT_EQ(parse("{\"a\": 1}\n{\"a\": \"" + std::string(100, 'x') + "\"}\n", JsonlOptions{.header_scan_rows = 1000, .max_line_bytes = 64, .on_bad_record = {}}).status().message(),
            "mem.jsonl:2: line is longer than 64 bytes");
  EXPECT_EQ(parse("").status().message(), "mem.jsonl: the file is empty (expected JSON objects, one per line)");
}

TEST(JsonlReaderTest, TinyBlocksGiveIdenticalResults) {
  std::string text = "{\"name\": \"Z\xc3\xbcrich\", \"n\": 1}\r\n\n{\"name\": \"x\", \"n\": 2.5, \"tags\": [\"a\"]}\n";
  for (int i = 0; i < 20; ++i) text += "{\"n\": " + std::to_string(i) + "}\n";
  auto whole = parse(text, JsonlOptions{.header_scan_rows = 2, .max_line_bytes = 1u << 20, .on_bad_record = {}});
  ASSERT_TRUE(whole.ok());
  auto path = testing::write_temp("blocks.jsonl", text);
  for (size_t block : {1, 2, 3, 7, 64}) {
    for (size_t batch_rows : {1, 3, 100}) {
      auto reader = detail::open_jsonl_with_block_size(path, JsonlOptions{.header_scan_rows = 2, .max_line_bytes = 1u << 20, .on_bad_record = {}}, block);
      ASSERT_TRUE(reader.ok()) << reader.status().message();
      auto t = read_all(**reader, batch_rows);
      ASSERT_TRUE(t.ok()) << t.status().message();
      EXPECT_EQ(t->columns, whole->columns);
      EXPECT_EQ(t->rows, whole->rows) << "block " << block << " batch " << batch_rows;
      EXPECT_EQ((*reader)->bytes_consumed(), text.size());
    }
  }
}

TEST(JsonlReaderTest, CompressedFiles) {
  // The CSV fixtures are compressed text; read as JSON Lines they fail on the first line, which
  // proves the decompressed bytes arrive.
  auto gz = open_jsonl(testing::data_path("malformed/good.csv.gz"), {});
  ASSERT_FALSE(gz.ok());
  EXPECT_EQ(gz.status().message().substr(gz.status().message().find(".gz:")),
            ".gz:1:1: invalid JSON: syntax error while parsing value - invalid literal; last read: 'i'");
}

}  // namespace
}  // namespace slipway::table
