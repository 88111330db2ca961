#include "../../../src/data/detail/sketch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "slipway/core/hash.h"

namespace slipway::data::detail {
namespace {

uint64_t hash_of(uint64_t v) { return xxh3_64(&v, sizeof v); }

TEST(FlatHashIndex, DenseIdsInInsertionOrderAcrossGrowth) {
  FlatHashIndex index;
  for (uint64_t i = 0; i < 10000; ++i) EXPECT_EQ(index.insert(hash_of(i)), i);
  EXPECT_EQ(index.insert(0), 10000u);  // the key 0 is a key like any other
  EXPECT_EQ(index.insert(0), 10000u);
  for (uint64_t i = 0; i < 10000; i += 7) EXPECT_EQ(index.insert(hash_of(i)), i);
  EXPECT_EQ(index.size(), 10001u);
  size_t visited = 0;
  index.for_each([&](uint64_t key, uint32_t id) {
    ++visited;
    if (id < 10000) {
      EXPECT_EQ(key, hash_of(id));
    }
  });
  EXPECT_EQ(visited, 10001u);
}

TEST(HyperLogLog, WithinThreeStandardErrorsAtOneMillion) {
  HyperLogLog hll;
  const uint64_t n = 1000000;
  for (uint64_t i = 0; i < n; ++i) hll.add_hash(hash_of(i));
  for (uint64_t i = 0; i < n; i += 3) hll.add_hash(hash_of(i));  // duplicates change nothing
  const double error = std::abs(hll.estimate() - static_cast<double>(n)) / static_cast<double>(n);
  EXPECT_LT(error, 3 * HyperLogLog::kRelativeStandardError);
  EXPECT_NEAR(HyperLogLog::kRelativeStandardError, 0.0081, 0.0001);
}

TEST(HyperLogLog, SmallCardinalitiesAndEmpty) {
  EXPECT_EQ(HyperLogLog().estimate(), 0.0);
  for (uint64_t n : {1, 10, 100, 1000, 20000}) {
    HyperLogLog hll;
    for (uint64_t i = 0; i < n; ++i) hll.add_hash(hash_of(i + 12345));
    EXPECT_NEAR(hll.estimate(), static_cast<double>(n), 3 * HyperLogLog::kRelativeStandardError * n + 0.5) << n;
  }
}

TEST(HyperLogLog, MergeEqualsSingleStream) {
  HyperLogLog a, b, all;
  for (uint64_t i = 0; i < 600000; ++i) a.add_hash(hash_of(i));
  for (uint64_t i = 400000; i < 1000000; ++i) b.add_hash(hash_of(i));
  for (uint64_t i = 0; i < 1000000; ++i) all.add_hash(hash_of(i));
  a.merge(b);
  EXPECT_EQ(a.estimate(), all.estimate());
  EXPECT_NEAR(a.estimate(), 1e6, 3 * HyperLogLog::kRelativeStandardError * 1e6);
}

const std::vector<double> kQs = {0.0, 0.001, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999, 1.0};

// Checks every answer against the exact ranks of the data: the returned value must be a true
// quantile for some rank within the sketch's stated bound of the target rank.
void expect_within_bound(const QuantileSketch& sketch, std::vector<double> data) {
  std::sort(data.begin(), data.end());
  const double n = static_cast<double>(data.size());
  ASSERT_EQ(sketch.count(), data.size());
  const double bound = static_cast<double>(sketch.rank_error_bound());
  EXPECT_GT(bound, 0);
  EXPECT_LT(sketch.rank_error_fraction(), 0.005);
  std::vector<double> got = sketch.quantiles(kQs);
  double worst = 0;
  for (size_t i = 0; i < kQs.size(); ++i) {
    const double target = kQs[i] * (n - 1) + 1;
    const double below = static_cast<double>(std::lower_bound(data.begin(), data.end(), got[i]) - data.begin());
    const double through = static_cast<double>(std::upper_bound(data.begin(), data.end(), got[i]) - data.begin());
    EXPECT_LE(below, target + bound) << "q=" << kQs[i];
    EXPECT_GE(through, target - bound) << "q=" << kQs[i];
    worst = std::max({worst, below - target, target - through});
  }
  // Alternating offsets make the actual error far smaller than the worst case.
  EXPECT_LT(worst, bound / 2);
}

std::vector<double> generate(size_t n, bool heavy_tailed, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(-5.0, 5.0);
  std::cauchy_distribution<double> cauchy(0.0, 1.0);
  std::vector<double> data(n);
  for (double& v : data) v = heavy_tailed ? cauchy(rng) : uniform(rng);
  return data;
}

TEST(QuantileSketch, WithinStatedBoundUniformAndHeavyTailed) {
  for (bool heavy : {false, true}) {
    auto data = generate(2000000, heavy, heavy ? 2 : 1);
    QuantileSketch sketch;
    for (double v : data) sketch.add(v);
    expect_within_bound(sketch, data);
  }
}

TEST(QuantileSketch, MergedWithinStatedBound) {
  auto data = generate(2000000, true, 3);
  QuantileSketch a, b;
  for (size_t i = 0; i < data.size(); ++i) (i < 1300000 ? a : b).add(data[i]);
  const uint64_t bound_before = a.rank_error_bound() + b.rank_error_bound();
  a.merge(b);
  EXPECT_GE(a.rank_error_bound(), bound_before);
  expect_within_bound(a, data);
}

TEST(QuantileSketch, SmallInputIsExactAndDeterministic) {
  QuantileSketch sketch;
  for (int i = 100; i >= 1; --i) sketch.add(i);
  EXPECT_EQ(sketch.rank_error_bound(), 0u);
  // Target rank for q = 0.5 is 0.5 * 99 + 1 = 50.5, first reached by the 51st value.
  EXPECT_EQ(sketch.quantiles({0.0, 0.5, 1.0}), (std::vector<double>{1, 51, 100}));
  auto data = generate(300000, false, 9);
  QuantileSketch x, y;
  for (double v : data) x.add(v), y.add(v);
  EXPECT_EQ(x.quantiles(kQs), y.quantiles(kQs));
  EXPECT_TRUE(std::isnan(QuantileSketch().quantiles({0.5})[0]));
}

TEST(HeavyHitters, FindsFrequentValuesWithUpperBoundCounts) {
  // Values 0..9 are frequent (value v appears 20000 - 1000 v times); 200000 others appear once.
  std::vector<uint64_t> stream;
  std::map<uint64_t, uint64_t> truth;
  for (uint64_t v = 0; v < 10; ++v) {
    for (uint64_t k = 0; k < 20000 - 1000 * v; ++k) stream.push_back(v);
    truth[v] = 20000 - 1000 * v;
  }
  for (uint64_t v = 1000; v < 201000; ++v) stream.push_back(v);
  std::shuffle(stream.begin(), stream.end(), std::mt19937_64(5));
  const size_t half = stream.size() / 2;
  HeavyHitters one(256), first(256), second(256);
  for (size_t i = 0; i < stream.size(); ++i) {
    const uint64_t v = stream[i];
    one.add(hash_of(v), std::to_string(v));
    (i < half ? first : second).add(hash_of(v), std::to_string(v));
  }
  first.merge(second);
  const double slack = static_cast<double>(stream.size()) / 256.0;
  for (const HeavyHitters* hh : {&one, &first}) {
    auto top = hh->top(10);
    ASSERT_EQ(top.size(), 10u);
    for (size_t i = 0; i < 10; ++i) {
      EXPECT_EQ(top[i].text, std::to_string(i));
      EXPECT_GE(top[i].count, truth[i]);
      EXPECT_LE(static_cast<double>(top[i].count), static_cast<double>(truth[i]) + 2 * slack);
    }
  }
}

TEST(HeavyHitters, ExactWhileUnderCapacity) {
  HeavyHitters hh(8);
  for (int i = 0; i < 5; ++i) hh.add(hash_of(1), "a");
  hh.add(hash_of(2), "b", 7);
  hh.add(hash_of(3), "c", 5);
  auto top = hh.top(10);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].text, "b");
  EXPECT_EQ(top[0].count, 7u);
  EXPECT_EQ(top[1].text, "a");  // ties broken by text
  EXPECT_EQ(top[2].text, "c");
  EXPECT_EQ(top[2].count, 5u);
}

}  // namespace
}  // namespace slipway::data::detail
