// The streaming split finder and range readers must agree exactly with the in-memory versions.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <random>

#include "slipway/table/reader.h"

namespace slipway::table {
namespace {

std::filesystem::path write_temp(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / fmt::format("slipway_split_{}_{}", ::getpid(), name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::vector<std::vector<std::string>> rows_of(RecordReader& reader) {
  std::vector<std::vector<std::string>> rows;
  RecordBatch batch;
  while (true) {
    auto more = reader.next(batch, 1000);
    EXPECT_TRUE(more.ok()) << more.status().message();
    if (!more.ok() || !*more) break;
    for (size_t r = 0; r < batch.num_rows; ++r) {
      std::vector<std::string> row;
      for (const auto& column : batch.columns) row.emplace_back(column[r]);
      row.push_back(std::to_string(batch.line_numbers[r]) + "/" + std::to_string(batch.row_numbers[r]));
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

void expect_same_splits(const std::string& name, const std::string& text) {
  auto path = write_temp(name, text);
  CsvOptions options;
  for (size_t parts = 1; parts <= 5; ++parts) {
    auto in_memory = csv_split_points(text, parts, options);
    auto streamed = csv_split_points_file(path, parts, options);
    ASSERT_TRUE(streamed.ok()) << streamed.status().message();
    ASSERT_EQ(streamed->size(), in_memory.size()) << name << " parts " << parts;
    for (size_t i = 0; i < in_memory.size(); ++i) {
      EXPECT_EQ((*streamed)[i].offset, in_memory[i].offset) << name << " parts " << parts << " split " << i;
      EXPECT_EQ((*streamed)[i].first_line, in_memory[i].first_line) << name;
      EXPECT_EQ((*streamed)[i].first_row, in_memory[i].first_row) << name;
    }
    if (!options.header || text.empty()) continue;
    // Reading the ranges one after the other gives exactly the rows of the whole file.
    auto whole = open_csv(path, options);
    ASSERT_TRUE(whole.ok()) << whole.status().message();
    auto expected = rows_of(**whole);
    std::vector<std::vector<std::string>> got;
    for (size_t i = 0; i < streamed->size(); ++i) {
      uint64_t end = i + 1 < streamed->size() ? (*streamed)[i + 1].offset : text.size();
      auto range = open_csv_file_range(path, (*streamed)[i].offset, end - (*streamed)[i].offset, name, options,
                                       (*whole)->column_names(), (*streamed)[i].first_line, (*streamed)[i].first_row);
      ASSERT_TRUE(range.ok()) << range.status().message();
      auto part = rows_of(**range);
      got.insert(got.end(), part.begin(), part.end());
    }
    EXPECT_EQ(got, expected) << name << " parts " << parts;
  }
  std::filesystem::remove(path);
}

TEST(CsvSplitFile, SmallInputsAgreeWithInMemorySplits) {
  expect_same_splits("plain", "a,b\n1,2\n3,4\n5,6\n7,8\n");
  expect_same_splits("no_trailing_newline", "a,b\n1,2\n3,4\n5,6");
  expect_same_splits("blank_lines", "a,b\n\n1,2\n\r\n3,4\n\n\n5,6\n");
  expect_same_splits("quoted_newlines", "a,b\n\"x\ny\",1\n\"p\n\nq\",2\n3,\"\"\"z\"\"\"\n4,5\n");
  expect_same_splits("bom_crlf", "\xEF\xBB\xBF" "a,b\r\n1,2\r\n3,4\r\n");
  expect_same_splits("header_only", "a,b\n");
}

TEST(CsvSplitFile, LargeInputCrossesReadBlocks) {
  std::mt19937 rng(7);
  std::string text = "id,note,value\n";
  for (int i = 0; text.size() < (9u << 20); ++i) {
    bool quoted = rng() % 7 == 0;
    text += std::to_string(i) + "," + (quoted ? "\"line one\nline, two\"" : "plain") + "," + std::to_string(rng() % 1000) +
            (rng() % 11 == 0 ? "\r\n" : "\n");
    if (rng() % 97 == 0) text += "\n";
  }
  expect_same_splits("large", text);
}

}  // namespace
}  // namespace slipway::table
