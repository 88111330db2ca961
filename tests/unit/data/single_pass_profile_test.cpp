// Ingest's single pass: float64 columns profiled from the values type inference parsed, with
// histograms binned afterwards from spilled values, must give the very profile that a second pass
// over the typed text gives.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "../../../src/data/detail/value_spill.h"
#include "slipway/data/profile.h"
#include "slipway/table/infer.h"

namespace slipway::data {
namespace {

using table::DataType;

struct Text {
  std::vector<std::vector<std::string>> columns;  // [column][row]; "" is missing
};

table::RecordBatch batch_of(const Text& text, size_t from, size_t to) {
  table::RecordBatch batch;
  batch.num_rows = to - from;
  for (const auto& column : text.columns) {
    auto& values = batch.columns.emplace_back();
    auto& nulls = batch.nulls.emplace_back();
    for (size_t r = from; r < to; ++r) {
      values.emplace_back(column[r]);
      nulls.push_back(column[r].empty());
    }
  }
  for (size_t r = from; r < to; ++r) {
    batch.row_numbers.push_back(r + 1);
    batch.line_numbers.push_back(r + 2);
  }
  return batch;
}

// Four columns: decimals (with NaN and missing), integers that turn into decimals half-way, plain
// integers, and numbers that turn into text at the very end.
Text generate(size_t rows) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal(50, 20);
  Text t;
  t.columns.resize(4);
  for (size_t r = 0; r < rows; ++r) {
    const double v = normal(rng);
    t.columns[0].push_back(r % 97 == 0 ? "" : r % 193 == 0 ? "nan" : fmt::format("{:.3f}", v));
    t.columns[1].push_back(r < rows / 2 ? fmt::format("{}", static_cast<int>(v)) : fmt::format("{:.1f}", v));
    t.columns[2].push_back(fmt::format("{}", static_cast<int>(v)));
    t.columns[3].push_back(r + 1 == rows ? "oops" : fmt::format("{:.2f}", v));
  }
  return t;
}

const std::vector<std::string> kNames = {"dec", "int_then_dec", "int", "dec_then_text"};
constexpr size_t kBatch = 512;

std::filesystem::path scratch() {
  auto dir = std::filesystem::temp_directory_path() / fmt::format("slipway-single-pass-{}", ::getpid());
  std::filesystem::create_directories(dir);
  return dir;
}

// Profiles rows [0, rows) in `ranges` parts, each part the way ingest's pass 2 does it.
DatasetProfile two_pass(const Text& text, size_t rows, size_t ranges, const ProfileOptions& options,
                        std::vector<table::InferredColumn>* inferred) {
  table::TypeInferrer all(kNames, "t.csv");
  for (size_t from = 0; from < rows; from += kBatch) all.add(batch_of(text, from, std::min(rows, from + kBatch)));
  *inferred = *all.finish();
  std::vector<Profiler> parts;
  for (size_t p = 0; p < ranges; ++p) {
    Profiler profiler = Profiler::with_kept_values(*inferred, options, scratch());
    for (size_t from = p * rows / ranges; from < (p + 1) * rows / ranges; from += kBatch) {
      EXPECT_TRUE(profiler.add(batch_of(text, from, std::min((p + 1) * rows / ranges, from + kBatch))).ok());
    }
    parts.push_back(std::move(profiler));
  }
  for (size_t p = 1; p < parts.size(); ++p) parts[0].merge(std::move(parts[p]));
  return parts[0].finish().value();
}

// The same, the way ingest's single pass does it; `speculated` says which columns it profiled.
DatasetProfile single_pass(const Text& text, size_t rows, size_t ranges, const ProfileOptions& options,
                           std::vector<uint8_t>* speculated) {
  std::vector<table::InferredColumn> as_float(kNames.size());
  for (size_t c = 0; c < kNames.size(); ++c) as_float[c].spec = {kNames[c], DataType::kFloat64, true};
  std::vector<table::TypeInferrer> inferrers;
  std::vector<Profiler> parts;
  speculated->assign(kNames.size(), 1);
  for (size_t p = 0; p < ranges; ++p) {
    table::TypeInferrer inferrer(kNames, "t.csv");
    Profiler profiler = Profiler::with_deferred_histograms(as_float, options, scratch());
    std::vector<uint8_t> alive;
    table::FloatValues floats;
    for (size_t from = p * rows / ranges; from < (p + 1) * rows / ranges; from += kBatch) {
      auto batch = batch_of(text, from, std::min((p + 1) * rows / ranges, from + kBatch));
      inferrer.add(batch, &floats);
      if (alive.empty()) {
        alive = floats.valid;
      } else {
        for (size_t c = 0; c < alive.size(); ++c) alive[c] &= floats.valid[c];
      }
      EXPECT_TRUE(profiler.add_float64(batch, floats, alive).ok());
    }
    for (size_t c = 0; c < alive.size(); ++c) (*speculated)[c] &= alive[c];
    inferrers.push_back(std::move(inferrer));
    parts.push_back(std::move(profiler));
  }
  for (size_t p = 1; p < inferrers.size(); ++p) inferrers[0].merge(inferrers[p]);
  auto columns = *inferrers[0].finish();
  for (auto& part : parts) EXPECT_TRUE(part.finish_histograms(columns).ok());
  for (size_t p = 1; p < parts.size(); ++p) parts[0].merge(std::move(parts[p]));
  return parts[0].finish().value();
}

void expect_same_column(const DatasetProfile& got, const DatasetProfile& want, size_t c) {
  DatasetProfile a, b;
  a.row_count = got.row_count;
  b.row_count = want.row_count;
  a.columns = {got.columns[c]};
  b.columns = {want.columns[c]};
  EXPECT_EQ(to_json(a).dump(), to_json(b).dump()) << "column " << want.columns[c].name;
}

TEST(SinglePassProfile, FloatColumnsMatchTheSecondPassExactly) {
  // Small exact limits so that the sketches and the spill are used.
  const ProfileOptions options{.histogram_bins = 7, .exact_distinct_limit = 300, .exact_quantile_limit = 700};
  const Text text = generate(6000);
  for (size_t ranges : {1, 3}) {
    std::vector<table::InferredColumn> inferred;
    const DatasetProfile want = two_pass(text, 6000, ranges, options, &inferred);
    std::vector<uint8_t> speculated;
    const DatasetProfile got = single_pass(text, 6000, ranges, options, &speculated);
    EXPECT_EQ(got.row_count, want.row_count);
    // Only "dec" is float64 from the first batch of every range and stays float64.
    EXPECT_EQ(inferred[0].spec.type, DataType::kFloat64);
    EXPECT_EQ(inferred[1].spec.type, DataType::kFloat64);
    EXPECT_EQ(inferred[2].spec.type, DataType::kInt64);
    EXPECT_EQ(inferred[3].spec.type, DataType::kString);
    EXPECT_TRUE(speculated[0]);
    EXPECT_FALSE(speculated[2]);
    EXPECT_FALSE(speculated[3]);
    expect_same_column(got, want, 0);
    // Past the exact limit both keep the values (spilled) and select exact quantiles.
    EXPECT_EQ(want.columns[0].quantile_rank_error, 0);
    std::vector<double> sorted;
    for (const auto& t : text.columns[0]) {
      if (!t.empty() && t != "nan") sorted.push_back(std::stod(t));
    }
    std::sort(sorted.begin(), sorted.end());
    ASSERT_EQ(want.columns[0].quantiles.size(), 7u);
    for (const auto& [q, v] : want.columns[0].quantiles) {
      const double position = q * static_cast<double>(sorted.size() - 1);
      const auto lo = static_cast<size_t>(position);
      const double t = position - static_cast<double>(lo);
      const double a = sorted[lo], b = sorted[lo + 1];
      EXPECT_EQ(v, t == 0 ? a : (t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t)) << q;
    }
    ASSERT_FALSE(want.columns[0].histogram.counts.empty());
    if (ranges == 3) {
      // The third range starts inside the decimals of "int_then_dec": speculated there, not in the
      // first range, so ingest profiles it in pass 2.
      EXPECT_FALSE(speculated[1]);
    }
  }
}

TEST(SinglePassProfile, SmallInputsNeedNoSpill) {
  const ProfileOptions options{.histogram_bins = 5};
  const Text text = generate(300);
  std::vector<table::InferredColumn> inferred;
  const DatasetProfile want = two_pass(text, 300, 2, options, &inferred);
  std::vector<uint8_t> speculated;
  const DatasetProfile got = single_pass(text, 300, 2, options, &speculated);
  expect_same_column(got, want, 0);
  EXPECT_EQ(want.columns[0].quantile_rank_error, 0);
}

TEST(ValueSpill, ReplaysEverythingInOrderThroughTheFile) {
  detail::ValueSpill spill(scratch());
  std::vector<std::pair<uint32_t, std::vector<double>>> written;
  std::mt19937_64 rng(3);
  // Enough to pass the 4 MiB buffer several times, with blocks above the largest block size.
  for (int i = 0; i < 40; ++i) {
    std::vector<double> values(i % 7 == 0 ? 70000 : 1 + rng() % 20000);
    for (double& v : values) v = static_cast<double>(rng() % 1000000) / 7;
    ASSERT_TRUE(spill.append(static_cast<uint32_t>(i % 5), values.data(), values.size()).ok());
    written.emplace_back(i % 5, std::move(values));
  }
  EXPECT_GT(spill.bytes(), 4u << 20);  // past the buffer: read back from the file
  std::vector<std::vector<double>> by_column(5), want(5);
  for (const auto& [c, values] : written) want[c].insert(want[c].end(), values.begin(), values.end());
  ASSERT_TRUE(spill.replay([&](uint32_t c, const double* v, size_t n) { by_column[c].insert(by_column[c].end(), v, v + n); }).ok());
  EXPECT_EQ(by_column, want);
}

TEST(ValueSpill, SmallSpillsStayInMemory) {
  detail::ValueSpill spill("/nonexistent-folder");
  const double values[] = {1.5, -2, 3};
  ASSERT_TRUE(spill.append(2, values, 3).ok());
  std::vector<double> got;
  ASSERT_TRUE(spill.replay([&](uint32_t c, const double* v, size_t n) {
    EXPECT_EQ(c, 2u);
    got.assign(v, v + n);
  }).ok());
  EXPECT_EQ(got, std::vector<double>({1.5, -2, 3}));
}

TEST(ValueSpill, AnUnwritableFolderIsAnIoError) {
  detail::ValueSpill spill("/nonexistent-folder");
  std::vector<double> values(1u << 20, 1.0);
  Status st = spill.append(0, values.data(), values.size());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kIoError);
  EXPECT_NE(st.message().find("cannot create the profile's temporary file in /nonexistent-folder"), std::string::npos)
      << st.message();
}

}  // namespace
}  // namespace slipway::data

namespace slipway::data {
namespace {

TEST(ValueSpill, KeepsTheFirstBuffersInMemoryAndReplaysAgain) {
  detail::ValueSpill spill(scratch(), 8u << 20);
  std::vector<std::vector<double>> want(3);
  std::mt19937_64 rng(5);
  for (int i = 0; i < 60; ++i) {
    std::vector<double> values(1 + rng() % 50000);
    for (double& v : values) v = static_cast<double>(rng() % 1000000) / 3;
    ASSERT_TRUE(spill.append(static_cast<uint32_t>(i % 3), values.data(), values.size()).ok());
    want[i % 3].insert(want[i % 3].end(), values.begin(), values.end());
  }
  EXPECT_GT(spill.file_bytes(), 0u);                   // past the allowance: the file
  // The first two 4 MiB buffers stayed in memory (less what whole blocks left unused at their ends);
  // once the file is in use, large blocks go straight to it.
  EXPECT_GT(spill.bytes() - spill.file_bytes(), 7u << 20);
  for (int round = 0; round < 2; ++round) {
    std::vector<std::vector<double>> got(3);
    ASSERT_TRUE(spill.replay([&](uint32_t c, const double* v, size_t n) { got[c].insert(got[c].end(), v, v + n); }).ok());
    EXPECT_EQ(got, want) << "round " << round;
  }
}

}  // namespace
}  // namespace slipway::data
