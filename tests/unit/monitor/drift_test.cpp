// Drift over two Frames: the automatic test choice, overrides, effect floors, pooling, BH and the
// dataset verdict, and the exact errors a user sees.
#include "slipway/monitor/drift.h"

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "slipway/monitor/stats.h"

namespace slipway::monitor {
namespace {

Column numeric(std::string name, std::vector<double> values) {
  Column c;
  c.name = std::move(name);
  c.kind = ColumnKind::kNumeric;
  c.numbers = std::move(values);
  return c;
}

Column categorical(std::string name, std::vector<std::string> values) {
  Column c;
  c.name = std::move(name);
  c.kind = ColumnKind::kCategorical;
  c.strings = std::move(values);
  return c;
}

std::vector<double> normal(size_t n, double mean, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> d(mean, 1.0);
  std::vector<double> out(n);
  for (auto& v : out) v = d(rng);
  return out;
}

std::vector<std::string> categories(size_t n, const std::vector<double>& weights, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::discrete_distribution<int> d(weights.begin(), weights.end());
  std::vector<std::string> out(n);
  for (auto& v : out) v = std::string(1, static_cast<char>('a' + d(rng)));
  return out;
}

Frame frame(std::vector<Column> columns) {
  Frame f;
  f.rows = columns.empty() ? 0 : columns[0].size();
  f.columns = std::move(columns);
  return f;
}

const ColumnDrift& col(const DriftReport& r, const std::string& name) {
  for (const auto& c : r.columns) {
    if (c.column == name) return c;
  }
  throw std::runtime_error("no column " + name);
}

TEST(Drift, ChoosesTestsAsEvidentlyDoesBySizeAndKind) {
  auto small = [](size_t n, uint64_t seed) {
    std::vector<double> three(n), two(n);
    for (size_t i = 0; i < n; ++i) {
      three[i] = static_cast<double>(i % 3);
      two[i] = static_cast<double>(i % 2);
    }
    return frame({numeric("x", normal(n, 0, seed)), numeric("three", three), numeric("binary", two),
                  categorical("cat", categories(n, {1, 2, 3}, seed)), categorical("flag", categories(n, {1, 1}, seed))});
  };
  auto r = detect_drift(small(500, 1), small(500, 2), {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(col(*r, "x").test, DriftTest::kKs);
  EXPECT_EQ(col(*r, "three").test, DriftTest::kChiSquared);
  EXPECT_EQ(col(*r, "binary").test, DriftTest::kZ);
  EXPECT_EQ(col(*r, "cat").test, DriftTest::kChiSquared);
  EXPECT_EQ(col(*r, "flag").test, DriftTest::kZ);
  auto big = detect_drift(small(2000, 1), small(2000, 2), {});
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(col(*big, "x").test, DriftTest::kWasserstein);
  EXPECT_EQ(col(*big, "three").test, DriftTest::kJensenShannon);
  EXPECT_EQ(col(*big, "binary").test, DriftTest::kJensenShannon);
  EXPECT_EQ(col(*big, "cat").test, DriftTest::kJensenShannon);
  EXPECT_FALSE(big->dataset_drift);
  for (const auto& c : big->columns) EXPECT_TRUE(c.test_chosen);
}

TEST(Drift, KsColumnMatchesTheRawTestAndFindsAShift) {
  auto ref = normal(800, 0, 1), cur = normal(900, 0.5, 2);
  auto r = detect_drift(frame({numeric("x", ref)}), frame({numeric("x", cur)}), {});
  ASSERT_TRUE(r.ok());
  const auto& c = col(*r, "x");
  KsResult ks = ks_2samp_sorted(sorted_without_nan(ref), sorted_without_nan(cur));
  EXPECT_EQ(c.statistic, ks.statistic);
  EXPECT_EQ(*c.p_value, ks.p_value);
  EXPECT_EQ(*c.adjusted_p_value, ks.p_value);  // one hypothesis
  EXPECT_TRUE(c.drifted);
  EXPECT_TRUE(r->dataset_drift);
  EXPECT_EQ(c.histogram.edges.size(), 21u);
  uint64_t total = 0;
  for (auto v : c.histogram.reference) total += v;
  EXPECT_EQ(total, 800u);
}

TEST(Drift, EffectFloorStopsATrivialShiftOnAMillionRows) {
  DriftOptions options;
  options.tests["x"] = DriftTest::kKs;
  auto r = detect_drift(frame({numeric("x", normal(1'000'000, 0, 3))}), frame({numeric("x", normal(1'000'000, 0.02, 4))}),
                        options);
  ASSERT_TRUE(r.ok());
  const auto& c = col(*r, "x");
  EXPECT_LT(*c.p_value, 1e-10);  // "significant"...
  EXPECT_LT(c.effect, 0.05);     // ...but D is about 0.008
  EXPECT_FALSE(c.drifted);
  EXPECT_FALSE(c.test_chosen);
  options.thresholds["x"] = 0.005;
  r = detect_drift(frame({numeric("x", normal(1'000'000, 0, 3))}), frame({numeric("x", normal(1'000'000, 0.02, 4))}),
                   options);
  EXPECT_TRUE(col(*r, "x").drifted);
}

TEST(Drift, MissingValuesAreCountedAndLeftOut) {
  std::vector<double> ref = {1, 2, NAN, 4, 5}, cur = {NAN, NAN, 3};
  Column cat_ref = categorical("c", {"a", "", "b"});
  cat_ref.missing = {false, true, false};
  auto r = detect_drift(frame({numeric("x", ref), cat_ref}),
                        frame({numeric("x", cur), categorical("c", {"a", "b", "b"})}), {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(col(*r, "x").reference_missing, 1u);
  EXPECT_EQ(col(*r, "x").current_missing, 2u);
  EXPECT_EQ(col(*r, "x").reference_rows, 4u);
  EXPECT_EQ(col(*r, "c").reference_missing, 1u);
  EXPECT_EQ(col(*r, "c").reference_rows, 2u);
}

TEST(Drift, ColumnWithoutValuesIsNotTested) {
  auto r = detect_drift(frame({numeric("x", {1, 2, 3}), numeric("y", {1, 2, 3})}),
                        frame({numeric("x", {NAN, NAN}), numeric("y", {1, 2})}), {});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(col(*r, "x").tested);
  EXPECT_EQ(col(*r, "x").note, "no values in the current data");
  EXPECT_EQ(r->tested_columns, 1u);
}

TEST(Drift, ChiSquaredPoolsRareCategoriesIntoOther) {
  // a, b common; c, d, e rare (expected < 5 in the smaller row).
  std::vector<std::string> ref, cur;
  for (int i = 0; i < 300; ++i) ref.push_back(i % 2 == 0 ? "a" : "b");
  for (int i = 0; i < 200; ++i) cur.push_back(i % 3 == 0 ? "a" : "b");
  ref.insert(ref.end(), {"c", "d", "d", "e"});
  ref.insert(ref.end(), 10, "f");
  cur.insert(cur.end(), {"c", "c", "e"});
  DriftOptions options;
  options.tests["k"] = DriftTest::kChiSquared;
  auto r = detect_drift(frame({categorical("k", ref)}), frame({categorical("k", cur)}), options);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& c = col(*r, "k");
  EXPECT_EQ(c.pooled, (std::vector<std::string>{"c", "d", "e", "f"}));
  // a: 150/67, b: 150/133, (other): 14/3 (expected 6.7 in the current row, so it stays a cell).
  std::vector<double> a = {150, 150, 14}, b = {67, 133, 3};
  auto expected = chi2_contingency(a, b);
  EXPECT_NEAR(c.statistic, expected.statistic, 1e-9);
  EXPECT_NEAR(*c.p_value, expected.p_value, 1e-12);
}

TEST(Drift, BenjaminiHochbergDecidesTheColumnVerdicts) {
  std::vector<Column> ref, cur;
  for (int k = 0; k < 6; ++k) {
    const std::string name = "x" + std::to_string(k);
    ref.push_back(numeric(name, normal(600, 0, 10 + k)));
    cur.push_back(numeric(name, normal(600, k < 2 ? 0.6 : 0.0, 20 + k)));
  }
  auto r = detect_drift(frame(ref), frame(cur), {});
  ASSERT_TRUE(r.ok());
  std::vector<double> p;
  for (const auto& c : r->columns) p.push_back(*c.p_value);
  auto adjusted = benjamini_hochberg(p);
  for (size_t i = 0; i < r->columns.size(); ++i) {
    EXPECT_EQ(*r->columns[i].adjusted_p_value, adjusted[i]);
    EXPECT_EQ(r->columns[i].drifted, adjusted[i] < 0.05 && r->columns[i].effect >= 0.05);
  }
  EXPECT_EQ(r->drifted_columns, 2u);
  EXPECT_NEAR(r->share, 2.0 / 6.0, 1e-15);
  EXPECT_FALSE(r->dataset_drift);  // 1/3 < 0.5
  DriftOptions low;
  low.drift_share = 0.3;
  EXPECT_TRUE(detect_drift(frame(ref), frame(cur), low)->dataset_drift);
}

TEST(Drift, DistanceTestsCompareWithTheirThresholds) {
  auto ref = frame({numeric("x", normal(5000, 0, 5)), categorical("c", categories(5000, {1, 1, 1}, 5))});
  auto cur = frame({numeric("x", normal(5000, 0.3, 6)), categorical("c", categories(5000, {1, 1, 3}, 6))});
  auto r = detect_drift(ref, cur, {});
  ASSERT_TRUE(r.ok());
  const auto& x = col(*r, "x");
  EXPECT_EQ(x.test, DriftTest::kWasserstein);
  EXPECT_FALSE(x.p_value.has_value());
  EXPECT_NEAR(x.statistic, 0.3, 0.05);  // a 0.3 sd shift
  EXPECT_TRUE(x.drifted);
  const auto& c = col(*r, "c");
  EXPECT_EQ(c.test, DriftTest::kJensenShannon);
  EXPECT_GT(c.statistic, 0.1);
  EXPECT_TRUE(c.drifted);
  DriftOptions psi;
  psi.tests = {{"x", DriftTest::kPsi}, {"c", DriftTest::kPsi}};
  auto p = detect_drift(ref, cur, psi);
  ASSERT_TRUE(p.ok());
  EXPECT_GT(col(*p, "x").statistic, 0.05);
  EXPECT_EQ(col(*p, "x").effect_name, "psi");
}

TEST(Drift, ErrorsNameTheColumnAndTheProblem) {
  auto ref = frame({numeric("x", {1, 2, 3}), categorical("c", {"a", "b", "c"})});
  auto cur = frame({numeric("x", {1, 2}), numeric("c", {1, 2})});
  DriftOptions options;
  options.columns = {"x", "nope"};
  EXPECT_EQ(detect_drift(ref, cur, options).status().message(), "column 'nope' is not in the reference (columns: x,c)");
  options.columns = {"c"};
  EXPECT_EQ(detect_drift(ref, cur, options).status().message(),
            "column 'c' is categorical in the reference but numeric in the current data");
  DriftOptions ks;
  ks.tests["c"] = DriftTest::kKs;
  EXPECT_EQ(detect_drift(ref, ref, ks).status().message(),
            "column 'c': the ks test needs a numeric column; 'c' is categorical");
  DriftOptions z;
  z.tests["c"] = DriftTest::kZ;
  EXPECT_EQ(detect_drift(ref, ref, z).status().message(),
            "column 'c': the z test compares two proportions; it has 3 categories");
  DriftOptions unknown;
  unknown.tests["q"] = DriftTest::kKs;
  EXPECT_EQ(detect_drift(ref, ref, unknown).status().message(), "--test names column 'q', which is not compared");
  EXPECT_EQ(parse_drift_test("kss").status().message(),
            "unknown drift test 'kss' (expected ks, chi2, z, wasserstein, jensenshannon, psi or auto)");
}

TEST(Drift, JsonCarriesEveryField) {
  auto r = detect_drift(frame({numeric("x", {1, 2, 3, 4, 5, 6, 7})}), frame({numeric("x", {2, 3, 4, 5, 6, 7, 8})}), {});
  ASSERT_TRUE(r.ok());
  auto j = to_json(*r);
  EXPECT_EQ(j["columns"][0]["test"], "ks");
  EXPECT_EQ(j["columns"][0]["effect_name"], "D");
  EXPECT_TRUE(j["columns"][0].contains("adjusted_p_value"));
  EXPECT_TRUE(j["columns"][0]["histogram"].contains("edges"));
  EXPECT_EQ(j["dataset_drift"], false);
}

TEST(Drift, ResultsDoNotDependOnThreadCount) {
  std::vector<Column> ref, cur;
  for (int k = 0; k < 8; ++k) {
    ref.push_back(numeric("x" + std::to_string(k), normal(3000, 0, 30 + k)));
    cur.push_back(numeric("x" + std::to_string(k), normal(3000, 0.05 * k, 40 + k)));
  }
  DriftOptions one, four;
  one.threads = 1;
  four.threads = 4;
  EXPECT_EQ(to_json(*detect_drift(frame(ref), frame(cur), one)), to_json(*detect_drift(frame(ref), frame(cur), four)));
}

}  // namespace
}  // namespace slipway::monitor
