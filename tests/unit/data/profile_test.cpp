#include "slipway/data/profile.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace slipway::data {
namespace {

using table::DataType;

// Column-major text; nullptr marks a missing value. Views point at the caller's strings.
table::RecordBatch make_batch(const std::vector<std::vector<const char*>>& columns, uint64_t first_row = 1) {
  table::RecordBatch batch;
  batch.num_rows = columns.empty() ? 0 : columns[0].size();
  for (const auto& column : columns) {
    auto& values = batch.columns.emplace_back();
    auto& nulls = batch.nulls.emplace_back();
    for (const char* v : column) {
      values.emplace_back(v ? v : "");
      nulls.push_back(v == nullptr);
    }
  }
  for (size_t r = 0; r < batch.num_rows; ++r) {
    batch.row_numbers.push_back(first_row + r);
    batch.line_numbers.push_back(first_row + r + 1);
  }
  return batch;
}

table::InferredColumn column(std::string name, DataType type, std::optional<double> min = std::nullopt,
                             std::optional<double> max = std::nullopt) {
  table::InferredColumn c;
  c.spec.name = std::move(name);
  c.spec.type = type;
  c.min = min;
  c.max = max;
  return c;
}

std::vector<double> values_of(const std::vector<std::pair<double, double>>& quantiles) {
  std::vector<double> out;
  for (const auto& [q, v] : quantiles) out.push_back(v);
  return out;
}

void expect_doubles_eq(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_DOUBLE_EQ(got[i], want[i]) << "index " << i;
}

class SmallBatch : public ::testing::Test {
 protected:
  std::vector<table::InferredColumn> columns_ = {
      column("x", DataType::kInt64, 1, 10),     column("s", DataType::kString),
      column("f", DataType::kFloat64, -1.5, 10), column("b", DataType::kBool),
      column("t", DataType::kTimestamp, 1704067200e6, 1704067200e6)};
  table::RecordBatch batch_ = make_batch({
      {"3", "1", "+3", "2", nullptr, "10", "3"},
      {"a", "bb", "a", "ccc", "a", nullptr, "bb"},
      {"0.5", "-1.5", "2.25", "nan", nullptr, "10", "-0"},
      {"true", "false", "True", "TRUE", nullptr, "false", "true"},
      {"2024-01-01", "2024-01-01T00:00:00Z", nullptr, "2024-01-01", "2024-01-01 00:00", "2024-01-01",
       "2024-01-01T01:00:00+01:00"},
  });

  DatasetProfile profile() {
    Profiler profiler(columns_, {.histogram_bins = 3, .top_values = 3});
    EXPECT_TRUE(profiler.add(batch_).ok());
    return profiler.finish().value();
  }
};

// Expected numbers come from numpy (mean, std(ddof=1), quantile, histogram) on the same values.
TEST_F(SmallBatch, IntColumn) {
  DatasetProfile p = profile();
  EXPECT_EQ(p.row_count, 7u);
  const ColumnProfile* x = p.find("x");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->type, DataType::kInt64);
  EXPECT_EQ(x->count, 6u);
  EXPECT_EQ(x->missing, 1u);
  EXPECT_EQ(x->distinct, 4u);  // "+3" and "3" are one value
  EXPECT_TRUE(x->distinct_exact);
  EXPECT_EQ(x->min, 1.0);
  EXPECT_EQ(x->max, 10.0);
  EXPECT_DOUBLE_EQ(*x->mean, 3.6666666666666665);
  EXPECT_DOUBLE_EQ(*x->stddev, 3.2041639575194445);
  expect_doubles_eq(values_of(x->quantiles), {1.05, 1.25, 2.25, 3.0, 3.0, 8.25, 9.650000000000002});
  EXPECT_EQ(x->quantiles.front().first, 0.01);
  EXPECT_EQ(x->quantiles.back().first, 0.99);
  EXPECT_EQ(x->quantile_rank_error, 0.0);
  EXPECT_EQ(x->histogram.edges, (std::vector<double>{1, 4, 7, 10}));
  EXPECT_EQ(x->histogram.counts, (std::vector<uint64_t>{5, 0, 1}));
  ASSERT_EQ(x->top_values.size(), 3u);
  EXPECT_EQ(x->top_values[0].value, "3");
  EXPECT_EQ(x->top_values[0].count, 3u);
  EXPECT_EQ(x->top_values[1].value, "1");  // ties by text
  EXPECT_EQ(x->top_values[2].value, "10");
  EXPECT_TRUE(x->top_values_exact);
  EXPECT_FALSE(x->min_length.has_value());
}

TEST_F(SmallBatch, StringColumn) {
  DatasetProfile p = profile();
  const ColumnProfile* s = p.find("s");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->count, 6u);
  EXPECT_EQ(s->missing, 1u);
  EXPECT_EQ(s->distinct, 3u);
  EXPECT_EQ(s->min_length, 1u);
  EXPECT_EQ(s->max_length, 3u);
  ASSERT_EQ(s->top_values.size(), 3u);
  EXPECT_EQ(s->top_values[0].value, "a");
  EXPECT_EQ(s->top_values[0].count, 3u);
  EXPECT_EQ(s->top_values[1].value, "bb");
  EXPECT_EQ(s->top_values[1].count, 2u);
  EXPECT_EQ(s->top_values[2].value, "ccc");
  EXPECT_EQ(s->top_values[2].count, 1u);
  EXPECT_FALSE(s->mean.has_value());
  EXPECT_TRUE(s->quantiles.empty());
  EXPECT_TRUE(s->histogram.counts.empty());
  EXPECT_EQ(p.find("nope"), nullptr);
}

TEST_F(SmallBatch, FloatColumnLeavesNanOutOfStatistics) {
  DatasetProfile p = profile();
  const ColumnProfile* f = p.find("f");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->count, 6u);
  EXPECT_EQ(f->distinct, 6u);
  EXPECT_EQ(f->min, -1.5);
  EXPECT_EQ(f->max, 10.0);
  EXPECT_DOUBLE_EQ(*f->mean, 2.25);
  EXPECT_DOUBLE_EQ(*f->stddev, 4.534589286804263);
  expect_doubles_eq(values_of(f->quantiles), {-1.44, -1.2, 0.0, 0.5, 2.25, 8.45, 9.69});
  EXPECT_EQ(f->histogram.edges, (std::vector<double>{-1.5, 2.3333333333333335, 6.166666666666667, 10}));
  EXPECT_EQ(f->histogram.counts, (std::vector<uint64_t>{4, 0, 1}));
  EXPECT_TRUE(f->top_values.empty());
}

TEST_F(SmallBatch, BoolAndSingleValueTimestamp) {
  DatasetProfile p = profile();
  const ColumnProfile* b = p.find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->count, 6u);
  EXPECT_EQ(b->distinct, 2u);
  EXPECT_DOUBLE_EQ(*b->mean, 0.6666666666666666);
  EXPECT_DOUBLE_EQ(*b->stddev, 0.5163977794943223);
  expect_doubles_eq(values_of(b->quantiles), {0, 0, 0.25, 1, 1, 1, 1});
  EXPECT_TRUE(b->histogram.counts.empty());
  ASSERT_EQ(b->top_values.size(), 2u);
  EXPECT_EQ(b->top_values[0].value, "true");
  EXPECT_EQ(b->top_values[0].count, 4u);
  EXPECT_EQ(b->top_values[1].value, "false");
  EXPECT_EQ(b->top_values[1].count, 2u);

  const ColumnProfile* t = p.find("t");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->count, 6u);
  EXPECT_EQ(t->distinct, 1u);  // five spellings of one instant
  EXPECT_EQ(t->min, 1704067200e6);
  EXPECT_EQ(t->stddev, 0.0);
  EXPECT_EQ(t->histogram.edges, (std::vector<double>{1704067200e6, 1704067200e6}));
  EXPECT_EQ(t->histogram.counts, (std::vector<uint64_t>{6}));
}

TEST(Profiler, ParseErrorsNameRowValueColumnAndType) {
  Profiler profiler({column("id", DataType::kInt64), column("price", DataType::kFloat64)});
  auto ok = make_batch({{"1", "2"}, {"1.5", "2"}}, 1);
  ASSERT_TRUE(profiler.add(ok).ok());
  auto bad_int = make_batch({{"3", "12x"}, {"1", "2"}}, 101);
  Status status = profiler.add(bad_int);
  EXPECT_EQ(status.code(), ErrorCode::kParseError);
  EXPECT_EQ(status.message(), "row 102: value '12x' in column 'id' is not a valid int64");

  Profiler other({column("id", DataType::kInt64), column("price", DataType::kFloat64)});
  status = other.add(make_batch({{"1"}, {"1,5"}}, 7));
  EXPECT_EQ(status.message(), "row 7: value '1,5' in column 'price' is not a valid float64");
  status = other.add(make_batch({{"1"}}));
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "batch has 1 columns but the profile has 2");

  Profiler flags({column("ok", DataType::kBool), column("at", DataType::kTimestamp)});
  EXPECT_EQ(flags.add(make_batch({{"yes"}, {"2024-01-01"}}, 3)).message(),
            "row 3: value 'yes' in column 'ok' is not a valid bool");
  Profiler times({column("ok", DataType::kBool), column("at", DataType::kTimestamp)});
  EXPECT_EQ(times.add(make_batch({{"true"}, {"2024-02-30"}}, 4)).message(),
            "row 4: value '2024-02-30' in column 'at' is not a valid timestamp");
}

TEST(Profiler, EmptyAndAllMissingColumns) {
  Profiler profiler({column("x", DataType::kFloat64), column("s", DataType::kString)});
  ASSERT_TRUE(profiler.add(make_batch({{nullptr, nullptr}, {nullptr, nullptr}})).ok());
  DatasetProfile p = profiler.finish().value();
  EXPECT_EQ(p.row_count, 2u);
  EXPECT_EQ(p.columns[0].missing, 2u);
  EXPECT_EQ(p.columns[0].distinct, 0u);
  EXPECT_FALSE(p.columns[0].mean.has_value());
  EXPECT_TRUE(p.columns[0].quantiles.empty());
  EXPECT_FALSE(p.columns[1].min_length.has_value());
}

// A larger data set: expected values computed independently here (full sort, long double sums).
struct Generated {
  std::vector<std::vector<std::string>> text;  // column-major
  std::vector<double> f;
  std::vector<int64_t> k;
  std::vector<std::string> s;
  std::vector<table::InferredColumn> columns;
};

Generated generate(size_t rows, size_t tail, uint64_t seed) {
  Generated g;
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> lognormal(1.0, 1.5);
  std::geometric_distribution<int> geometric(0.1);
  g.text.resize(3);
  for (size_t r = 0; r < rows; ++r) {
    const double f = lognormal(rng) - 3.0;
    g.f.push_back(std::stod(fmt::format("{}", f)));
    g.text[0].push_back(fmt::format("{}", f));
    const int64_t k = static_cast<int64_t>(rng() % 40) - 20;
    g.k.push_back(k);
    g.text[1].push_back(std::to_string(k));
    // Half the values from a few frequent categories (cat0 most), half spread over `tail` rare ones.
    g.s.push_back(rng() % 2 ? fmt::format("cat{}", geometric(rng)) : fmt::format("u{}", rng() % tail));
    g.text[2].push_back(g.s.back());
  }
  const auto [fmin, fmax] = std::minmax_element(g.f.begin(), g.f.end());
  g.columns = {column("f", DataType::kFloat64, *fmin, *fmax), column("k", DataType::kInt64, -20, 19),
               column("s", DataType::kString)};
  return g;
}

table::RecordBatch batch_of(const Generated& g, size_t begin, size_t end) {
  table::RecordBatch batch;
  batch.num_rows = end - begin;
  for (const auto& column : g.text) {
    batch.columns.emplace_back(column.begin() + static_cast<ptrdiff_t>(begin),
                               column.begin() + static_cast<ptrdiff_t>(end));
    batch.nulls.emplace_back(end - begin, 0);
  }
  for (size_t r = begin; r < end; ++r) batch.row_numbers.push_back(r + 1);
  return batch;
}

DatasetProfile profile_range(const Generated& g, size_t begin, size_t end, const ProfileOptions& options,
                             size_t batch_rows = 4096) {
  Profiler profiler(g.columns, options);
  for (size_t b = begin; b < end; b += batch_rows) {
    EXPECT_TRUE(profiler.add(batch_of(g, b, std::min(end, b + batch_rows))).ok());
  }
  return profiler.finish().value();
}

double numpy_linear_quantile(const std::vector<double>& sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<size_t>(position);
  const double t = position - static_cast<double>(lo);
  if (t == 0) return sorted[lo];
  const double a = sorted[lo], b = sorted[lo + 1];
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

TEST(Profiler, ExactStatisticsOnGeneratedData) {
  Generated g = generate(200000, 30, 1);
  DatasetProfile p = profile_range(g, 0, g.f.size(), {.top_values = 10, .exact_distinct_limit = 250000, .exact_quantile_limit = 1000000});
  const ColumnProfile& f = p.columns[0];
  EXPECT_TRUE(f.distinct_exact);
  std::vector<double> sorted = g.f;
  std::sort(sorted.begin(), sorted.end());
  long double sum = 0, squares = 0;
  for (double v : g.f) sum += v;
  const long double mean = sum / g.f.size();
  for (double v : g.f) squares += (v - mean) * (v - mean);
  EXPECT_NEAR(*f.mean, static_cast<double>(mean), 1e-12 * std::abs(static_cast<double>(mean)));
  EXPECT_NEAR(*f.stddev, std::sqrt(static_cast<double>(squares / (g.f.size() - 1))), 1e-10);
  EXPECT_EQ(f.min, sorted.front());
  EXPECT_EQ(f.max, sorted.back());
  EXPECT_EQ(f.distinct, static_cast<uint64_t>(std::unique(sorted.begin(), sorted.end()) - sorted.begin()));
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [q, v] : f.quantiles) EXPECT_EQ(v, numpy_linear_quantile(sorted, q)) << q;
  uint64_t total = 0;
  for (size_t b = 0; b < f.histogram.counts.size(); ++b) {
    const double lo = f.histogram.edges[b], hi = f.histogram.edges[b + 1];
    const bool last = b + 1 == f.histogram.counts.size();
    const auto expected = std::count_if(g.f.begin(), g.f.end(),
                                        [&](double v) { return v >= lo && (last ? v <= hi : v < hi); });
    EXPECT_EQ(f.histogram.counts[b], static_cast<uint64_t>(expected)) << "bin " << b;
    total += f.histogram.counts[b];
  }
  EXPECT_EQ(total, g.f.size());

  std::map<int64_t, uint64_t> k_counts;
  for (int64_t k : g.k) ++k_counts[k];
  const ColumnProfile& k = p.columns[1];
  EXPECT_EQ(k.distinct, k_counts.size());
  ASSERT_EQ(k.top_values.size(), 10u);
  for (const ValueCount& vc : k.top_values) EXPECT_EQ(vc.count, k_counts[std::stoll(vc.value)]);
  EXPECT_GE(k.top_values[0].count, k.top_values[9].count);

  std::map<std::string, uint64_t> s_counts;
  for (const auto& s : g.s) ++s_counts[s];
  const ColumnProfile& s = p.columns[2];
  EXPECT_EQ(s.distinct, s_counts.size());
  EXPECT_EQ(s.top_values[0].value, "cat0");
  for (const ValueCount& vc : s.top_values) EXPECT_EQ(vc.count, s_counts[vc.value]);
}

std::string without_moments(DatasetProfile p) {
  for (ColumnProfile& c : p.columns) c.mean = c.stddev = std::nullopt;
  return to_json(p).dump();
}

TEST(Profiler, MergeOfPartsEqualsSinglePass) {
  Generated g = generate(50000, 30, 2);
  const ProfileOptions options;
  DatasetProfile single = profile_range(g, 0, 50000, options, 1000);
  Profiler a(g.columns, options), b(g.columns, options);
  for (size_t r = 0; r < 50000; r += 1000) ASSERT_TRUE((r < 21000 ? a : b).add(batch_of(g, r, r + 1000)).ok());
  a.merge(std::move(b));
  DatasetProfile merged = a.finish().value();
  EXPECT_EQ(merged.row_count, 50000u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_NEAR(*merged.columns[i].mean, *single.columns[i].mean, 1e-12 * std::abs(*single.columns[i].mean) + 1e-15);
    EXPECT_NEAR(*merged.columns[i].stddev, *single.columns[i].stddev, 1e-12 * *single.columns[i].stddev);
  }
  EXPECT_EQ(without_moments(merged), without_moments(single));
}

TEST(Profiler, SketchesAboveTheExactLimits) {
  Generated g = generate(300000, 20000, 3);
  const ProfileOptions options{.top_values = 10, .exact_distinct_limit = 1000, .exact_quantile_limit = 50000};
  DatasetProfile single = profile_range(g, 0, g.f.size(), options);
  Profiler a(g.columns, options), b(g.columns, options);
  for (size_t r = 0; r < g.f.size(); r += 4096) {
    ASSERT_TRUE((r < 100000 ? a : b).add(batch_of(g, r, std::min(g.f.size(), r + 4096))).ok());
  }
  a.merge(std::move(b));
  DatasetProfile merged = a.finish().value();

  std::vector<double> sorted = g.f;
  std::sort(sorted.begin(), sorted.end());
  const double n = static_cast<double>(sorted.size());
  const double true_distinct = static_cast<double>(std::unique(sorted.begin(), sorted.end()) - sorted.begin());
  sorted = g.f;
  std::sort(sorted.begin(), sorted.end());
  std::map<std::string, uint64_t> s_counts;
  for (const auto& s : g.s) ++s_counts[s];

  for (const DatasetProfile* p : {&single, &merged}) {
    const ColumnProfile& f = p->columns[0];
    EXPECT_FALSE(f.distinct_exact);
    EXPECT_NEAR(static_cast<double>(f.distinct), true_distinct, 3 * 0.0081 * true_distinct);
    EXPECT_GT(f.quantile_rank_error, 0.0);
    EXPECT_LT(f.quantile_rank_error, 0.01);
    const double bound = f.quantile_rank_error * n;
    for (const auto& [q, v] : f.quantiles) {
      const double target = q * (n - 1) + 1;
      const auto below = static_cast<double>(std::lower_bound(sorted.begin(), sorted.end(), v) - sorted.begin());
      const auto through = static_cast<double>(std::upper_bound(sorted.begin(), sorted.end(), v) - sorted.begin());
      EXPECT_LE(below, target + bound) << q;
      EXPECT_GE(through, target - bound) << q;
    }
    EXPECT_NEAR(*f.mean, *single.columns[0].mean, 1e-12 * std::abs(*single.columns[0].mean));

    const ColumnProfile& k = p->columns[1];  // 40 distinct: still exact
    EXPECT_TRUE(k.distinct_exact);
    EXPECT_TRUE(k.top_values_exact);

    const ColumnProfile& s = p->columns[2];
    EXPECT_FALSE(s.distinct_exact);
    EXPECT_FALSE(s.top_values_exact);
    ASSERT_EQ(s.top_values.size(), 10u);
    // Geometric frequencies: the ten most frequent categories are cat0..cat9, counts upper bounds.
    for (size_t i = 0; i < 10; ++i) {
      EXPECT_EQ(s.top_values[i].value, fmt::format("cat{}", i));
      EXPECT_GE(s.top_values[i].count, s_counts[s.top_values[i].value]);
      EXPECT_LE(s.top_values[i].count, s_counts[s.top_values[i].value] + 2 * g.s.size() / 1024);
    }
  }
}

TEST(Profiler, IntColumnAboveDistinctLimitHasNoTopValues) {
  Profiler profiler({column("id", DataType::kInt64, 1, 5)}, {.exact_distinct_limit = 3});
  ASSERT_TRUE(profiler.add(make_batch({{"1", "2", "3", "4", "5", "5"}})).ok());
  DatasetProfile p = profiler.finish().value();
  EXPECT_FALSE(p.columns[0].distinct_exact);
  EXPECT_EQ(p.columns[0].distinct, 5u);  // HyperLogLog is exact in practice at tiny counts
  EXPECT_TRUE(p.columns[0].top_values.empty());
  EXPECT_FALSE(p.columns[0].top_values_exact);
}

TEST(ProfileJson, RoundTripIsLossless) {
  Generated g = generate(20000, 30, 4);
  DatasetProfile p = profile_range(g, 0, 20000, {});
  ColumnProfile odd;
  odd.name = "odd";
  odd.type = DataType::kFloat64;
  odd.min = -std::numeric_limits<double>::infinity();
  odd.max = std::numeric_limits<double>::infinity();
  odd.mean = std::nan("");
  odd.quantiles = {{0.5, 0.1 + 0.2}};
  p.columns.push_back(odd);
  nlohmann::json j = to_json(p);
  EXPECT_EQ(j["columns"][3]["min"], "-inf");
  EXPECT_EQ(j["columns"][3]["mean"], "nan");
  EXPECT_TRUE(j["columns"][3]["stddev"].is_null());
  auto back = profile_from_json(nlohmann::json::parse(j.dump()));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(to_json(*back).dump(), j.dump());
  EXPECT_EQ(back->columns[3].quantiles[0].second, 0.1 + 0.2);  // doubles round-trip exactly
  EXPECT_EQ(back->columns[0].mean, p.columns[0].mean);
  EXPECT_TRUE(std::isnan(*back->columns[3].mean));
}

TEST(ProfileJson, LayoutKeys) {
  Profiler profiler({column("x", DataType::kInt64, 1, 2)});
  ASSERT_TRUE(profiler.add(make_batch({{"1", "2"}})).ok());
  nlohmann::json j = to_json(profiler.finish().value());
  std::vector<std::string> keys;
  for (const auto& [key, value] : j["columns"][0].items()) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"count", "distinct", "distinct_exact", "histogram", "max", "max_length",
                                            "mean", "min", "min_length", "missing", "name", "quantile_rank_error",
                                            "quantiles", "stddev", "top_values", "top_values_exact", "type"}));
  EXPECT_EQ(j["row_count"], 2);
  EXPECT_EQ(j["columns"][0]["quantiles"][3], (nlohmann::json{{"q", 0.5}, {"value", 1.5}}));
  EXPECT_EQ(j["columns"][0]["top_values"][0], (nlohmann::json{{"value", "1"}, {"count", 1}}));
}

TEST(ProfileJson, ErrorsNameTheField) {
  Profiler profiler({column("x", DataType::kInt64, 1, 2)});
  ASSERT_TRUE(profiler.add(make_batch({{"1", "2"}})).ok());
  const nlohmann::json good = to_json(profiler.finish().value());
  auto error_of = [](const nlohmann::json& j) {
    auto r = profile_from_json(j);
    EXPECT_FALSE(r.ok());
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), ErrorCode::kCorrupt);
    }
    return r.ok() ? std::string() : r.status().message();
  };
  nlohmann::json j = good;
  j.erase("row_count");
  EXPECT_EQ(error_of(j), "profile: top level: missing field 'row_count'");
  j = good;
  j["columns"][0].erase("mean");
  EXPECT_EQ(error_of(j), "profile: columns[0] ('x'): missing field 'mean'");
  j = good;
  j["columns"][0]["distinct"] = -1;
  EXPECT_EQ(error_of(j), "profile: columns[0] ('x'): field 'distinct' must be a non-negative integer");
  j = good;
  j["columns"][0]["type"] = "decimal";
  EXPECT_EQ(error_of(j), "profile: columns[0] ('x'): unknown type 'decimal'");
  j = good;
  j["columns"][0]["histogram"]["counts"].push_back(1);
  EXPECT_EQ(error_of(j), "profile: columns[0] ('x'): histogram: 21 edges for 21 counts (expected one more edge than counts)");
  j = good;
  j["columns"][0]["quantiles"][2].erase("value");
  EXPECT_EQ(error_of(j), "profile: columns[0] ('x'): quantiles[2]: missing field 'value'");
  j = good;
  j["columns"][0]["min"] = "low";
  EXPECT_EQ(error_of(j), "profile: columns[0] ('x'): field 'min' must be a number");
  j = good;
  j["columns"][0].erase("name");
  EXPECT_EQ(error_of(j), "profile: columns[0]: missing field 'name'");
}

}  // namespace
}  // namespace slipway::data

namespace slipway::data {
namespace {

// Kept values past the exact limit go to a spill; quantiles are then selected by key buckets. A
// skewed column (nearly everything in one level-1 bucket, with huge outliers) makes the selection
// split buckets further; the result must be the exact numpy quantile however rows are split.
TEST(Profiler, KeptValuesGiveExactQuantilesPastTheLimit) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal(0, 1e-3);
  std::vector<std::string> text;
  std::vector<double> values;
  for (size_t r = 0; r < 300000; ++r) {
    double v = r % 1000 == 0 ? (r % 2000 == 0 ? 1e300 : -1e300) : r % 7 == 0 ? (r % 14 == 0 ? 0.0 : -0.0)
                                                                             : 1 + normal(rng) * 1e-6;
    text.push_back(fmt::format("{}", v));
    values.push_back(v);
  }
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  const auto columns = std::vector<table::InferredColumn>{column("f", DataType::kFloat64, sorted.front(), sorted.back())};
  auto dir = std::filesystem::temp_directory_path();
  std::string kept_json;
  for (size_t parts : {1, 3}) {
    std::vector<Profiler> profilers;
    for (size_t p = 0; p < parts; ++p) {
      profilers.push_back(Profiler::with_kept_values(columns, {.exact_quantile_limit = 1000}, dir));
      for (size_t from = p * text.size() / parts; from < (p + 1) * text.size() / parts; from += 5000) {
        std::vector<const char*> rows;
        for (size_t r = from; r < std::min((p + 1) * text.size() / parts, from + 5000); ++r) rows.push_back(text[r].c_str());
        ASSERT_TRUE(profilers[p].add(make_batch({rows}, from + 1)).ok());
      }
    }
    for (size_t p = 1; p < parts; ++p) profilers[0].merge(std::move(profilers[p]));
    DatasetProfile profile = profilers[0].finish().value();
    const ColumnProfile& f = profile.columns[0];
    EXPECT_EQ(f.quantile_rank_error, 0);
    ASSERT_EQ(f.quantiles.size(), 7u);
    for (const auto& [q, v] : f.quantiles) EXPECT_EQ(v, numpy_linear_quantile(sorted, q)) << q;
    const std::string quantiles = to_json(profile)["columns"][0]["quantiles"].dump();
    if (parts == 1) {
      kept_json = quantiles;
    } else {
      EXPECT_EQ(quantiles, kept_json);
    }
  }
}

}  // namespace
}  // namespace slipway::data
