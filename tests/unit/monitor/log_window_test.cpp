// The prediction log read back as columns (monitor/log_window.h): binary tensors (format version 2)
// and JSON tensors (version-1 records) give the same frames; packed [rows, k] tensors become k
// columns of `rows` rows; windows by last rows; the tail hands over each record once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "slipway/monitor/log_window.h"
#include "slipway/serve/prediction_log.h"

namespace slipway::monitor {
namespace {

namespace fs = std::filesystem;
using serve::DataType;
using serve::PredictionRecord;
using serve::Tensor;

Tensor fp32(std::string name, std::vector<int64_t> shape, const std::vector<float>& values) {
  Tensor t;
  t.name = std::move(name);
  t.datatype = DataType::kFp32;
  t.shape = std::move(shape);
  t.raw.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  return t;
}

Tensor bytes(std::string name, std::vector<std::string> values) {
  Tensor t;
  t.name = std::move(name);
  t.datatype = DataType::kBytes;
  t.shape = {static_cast<int64_t>(values.size())};
  t.strings = std::move(values);
  return t;
}

class LogWindowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            fmt::format("slipway_logwin_{}_{}", ::getpid(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(std::vector<PredictionRecord> records) {
    auto log = serve::PredictionLog::open(serve::prediction_log_dir(root_));
    ASSERT_TRUE(log.ok()) << log.status().message();
    for (auto& r : records) ASSERT_TRUE((*log)->try_append(std::move(r)));
    (*log)->flush();
  }

  static PredictionRecord record(std::string id, int64_t i) {
    PredictionRecord r;
    r.request_id = std::move(id);
    r.model = "m";
    r.version = 1;
    r.time_us = 1'700'000'000'000'000 + i;
    r.latency_us = 10 + i;
    return r;
  }

  static LogWindowSpec spec(std::optional<uint64_t> last_rows = std::nullopt) {
    LogWindowSpec s;
    s.model = "m";
    s.last_rows = last_rows;
    return s;
  }

  fs::path root_;
};

TEST_F(LogWindowTest, PackedTensorsGiveOneColumnPerFeatureAndOneRowPerRequestRow) {
  auto one = record("a", 0);  // one row of three features, as a [1, 3] tensor
  one.inputs.push_back(fp32("input__0", {1, 3}, {1, 2, 3}));
  one.outputs.push_back(fp32("output__0", {1, 1}, {0.5f}));
  auto two = record("b", 1);  // two rows
  two.inputs.push_back(fp32("input__0", {2, 3}, {4, 5, 6, 7, 8, 9}));
  two.outputs.push_back(fp32("output__0", {2, 1}, {0.25f, 0.75f}));
  two.tags = {{"variant", "blue"}};
  write({one, two});

  auto window = read_log_window(root_, spec());
  ASSERT_TRUE(window.ok()) << window.status().message();
  EXPECT_EQ(window->rows(), 3u);
  EXPECT_EQ(window->row_ids, (std::vector<std::string>{"a", "b#0", "b#1"}));
  ASSERT_EQ(window->inputs.columns.size(), 3u);
  EXPECT_EQ(window->inputs.columns[0].name, "input__0[0]");
  EXPECT_EQ(window->inputs.columns[2].name, "input__0[2]");
  EXPECT_EQ(window->inputs.columns[0].numbers, (std::vector<double>{1, 4, 7}));
  EXPECT_EQ(window->inputs.columns[2].numbers, (std::vector<double>{3, 6, 9}));
  ASSERT_EQ(window->outputs.columns.size(), 1u);
  EXPECT_EQ(window->outputs.columns[0].numbers, (std::vector<double>{0.5, 0.25, 0.75}));
  EXPECT_EQ(window->latency_us, (std::vector<int64_t>{10, 11, 11}));
  const Column* variant = window->tags.find("variant");
  ASSERT_NE(variant, nullptr);
  EXPECT_TRUE(variant->is_missing(0));
  EXPECT_EQ(variant->strings[1], "blue");
}

TEST_F(LogWindowTest, BinaryAndJsonRecordsReadTheSame) {
  auto binary = record("bin", 0);
  binary.inputs.push_back(fp32("distance", {1}, {1400}));
  binary.inputs.push_back(bytes("carrier", {"UA"}));
  binary.outputs.push_back(fp32("probability", {1}, {0.125f}));
  auto text = record("json", 1);
  text.inputs_json = R"([{"name":"distance","datatype":"FP32","shape":[1],"data":[1400]},)"
                     R"({"name":"carrier","datatype":"BYTES","shape":[1],"data":["UA"]}])";
  text.outputs_json = R"([{"name":"probability","datatype":"FP32","shape":[1],"data":[0.125]}])";
  write({binary, text});

  auto window = read_log_window(root_, spec());
  ASSERT_TRUE(window.ok()) << window.status().message();
  ASSERT_EQ(window->rows(), 2u);
  const Column* distance = window->inputs.find("distance");
  const Column* carrier = window->inputs.find("carrier");
  ASSERT_NE(distance, nullptr);
  ASSERT_NE(carrier, nullptr);
  EXPECT_EQ(distance->numbers, (std::vector<double>{1400, 1400}));
  EXPECT_EQ(carrier->kind, ColumnKind::kCategorical);
  EXPECT_EQ(carrier->strings, (std::vector<std::string>{"UA", "UA"}));
  EXPECT_EQ(window->outputs.columns[0].numbers, (std::vector<double>{0.125, 0.125}));
}

TEST_F(LogWindowTest, ChangingLayoutsAndRepeatedNamesKeepColumnsAligned) {
  auto a = record("a", 0);
  a.inputs.push_back(fp32("x", {1}, {1}));
  a.inputs.push_back(fp32("y", {1}, {2}));
  a.outputs.push_back(fp32("p", {1}, {0.5f}));
  auto b = record("b", 1);  // y missing, a new z, x given twice (the first one counts)
  b.inputs.push_back(fp32("z", {1}, {3}));
  b.inputs.push_back(fp32("x", {1}, {4}));
  b.inputs.push_back(fp32("x", {1}, {99}));
  b.outputs.push_back(fp32("p", {1}, {0.25f}));
  auto c = a;  // back to the first layout
  c.request_id = "c";
  write({a, b, c});
  auto window = read_log_window(root_, spec());
  ASSERT_TRUE(window.ok()) << window.status().message();
  ASSERT_EQ(window->rows(), 3u);
  for (const auto& column : window->inputs.columns) EXPECT_EQ(column.numbers.size(), 3u) << column.name;
  EXPECT_EQ(window->inputs.find("x")->numbers, (std::vector<double>{1, 4, 1}));
  const auto& y = window->inputs.find("y")->numbers;
  EXPECT_EQ(y[0], 2);
  EXPECT_TRUE(std::isnan(y[1]));
  EXPECT_EQ(y[2], 2);
  const auto& z = window->inputs.find("z")->numbers;
  EXPECT_TRUE(std::isnan(z[0]));
  EXPECT_EQ(z[1], 3);
  EXPECT_TRUE(std::isnan(z[2]));
}

TEST_F(LogWindowTest, LastRowsCountsRowsNotRequests) {
  std::vector<PredictionRecord> records;
  for (int i = 0; i < 4; ++i) {
    auto r = record(fmt::format("r{}", i), i);
    r.inputs.push_back(fp32("input__0", {2, 1}, {static_cast<float>(2 * i), static_cast<float>(2 * i + 1)}));
    r.outputs.push_back(fp32("output__0", {2, 1}, {0, 1}));
    records.push_back(std::move(r));
  }
  write(std::move(records));
  auto window = read_log_window(root_, spec(3));
  ASSERT_TRUE(window.ok()) << window.status().message();
  // Whole requests: the newest two (4 rows) cover the last 3 rows; the window starts at a request.
  EXPECT_EQ(window->rows(), 4u);
  EXPECT_EQ(window->row_ids.front(), "r2#0");
  EXPECT_EQ(window->row_ids.back(), "r3#1");
  EXPECT_EQ(window->inputs.columns[0].numbers.back(), 7.0);
}

TEST_F(LogWindowTest, TailHandsOverEachRecordOnce) {
  auto first = record("one", 0);
  first.outputs.push_back(fp32("probability", {1}, {0.1f}));
  write({first});
  LogTail tail(root_, "m", 0);
  std::vector<std::string> seen;
  auto collect = [&](const LogChunk& chunk) {
    seen.insert(seen.end(), chunk.row_ids.begin(), chunk.row_ids.end());
    return Status{};
  };
  ASSERT_TRUE(tail.read_new(1000, collect).ok());
  auto second = record("two", 1);
  second.outputs.push_back(fp32("probability", {1}, {0.2f}));
  write({second});
  ASSERT_TRUE(tail.read_new(1000, collect).ok());
  ASSERT_TRUE(tail.read_new(1000, collect).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"one", "two"}));
}

}  // namespace
}  // namespace slipway::monitor
