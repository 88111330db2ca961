// The drift statistics against SciPy: tests/data/monitor/stats_fixtures.json holds SciPy 1.15's
// answers on samples both sides regenerate from a splitmix64 stream (make_fixtures.py).
#include "slipway/monitor/stats.h"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace slipway::monitor {
namespace {

constexpr double kTolerance = 1e-6;

const nlohmann::json& fixtures() {
  static const nlohmann::json json = [] {
    std::ifstream in(std::string(SLIPWAY_TEST_DATA) + "/monitor/stats_fixtures.json");
    return nlohmann::json::parse(in);
  }();
  return json;
}

std::vector<double> uniforms(uint64_t seed, size_t n) {
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z = z ^ (z >> 31);
    out[i] = static_cast<double>(z >> 11) * 0x1.0p-53;
  }
  return out;
}

// make_fixtures.py's sample(): the same doubles, operation for operation.
std::vector<double> sample(const nlohmann::json& spec) {
  const auto n = spec["n"].get<size_t>();
  std::vector<double> x;
  if (spec["shape"] == "uniform") {
    x = uniforms(spec["seed"].get<uint64_t>(), n);
  } else {
    auto u = uniforms(spec["seed"].get<uint64_t>(), 4 * n);
    x.resize(n);
    for (size_t i = 0; i < n; ++i) x[i] = ((u[4 * i] + u[4 * i + 1]) + (u[4 * i + 2] + u[4 * i + 3])) - 2.0;
  }
  const double levels = spec.value("levels", 0.0);
  const double loc = spec.value("loc", 0.0);
  const double scale = spec.value("scale", 1.0);
  for (double& v : x) {
    if (levels > 0) v = std::floor(v * levels) / levels;
    volatile double scaled = scale * v;  // no fused multiply-add: NumPy rounds the product first
    v = loc + scaled;
  }
  return x;
}

std::vector<double> numbers(const nlohmann::json& array) { return array.get<std::vector<double>>(); }

TEST(SortValues, MatchesStdSortIncludingNegativesZerosAndInfinities) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal(0, 1e3);
  std::vector<double> values(50000);
  for (auto& v : values) v = normal(rng);
  values[10] = -0.0;
  values[11] = 0.0;
  values[12] = INFINITY;
  values[13] = -INFINITY;
  values[14] = -1e-310;  // subnormal
  auto expected = values;
  std::sort(expected.begin(), expected.end());
  sort_values(values);
  ASSERT_EQ(values.size(), expected.size());
  for (size_t i = 0; i < values.size(); ++i) ASSERT_EQ(values[i], expected[i]) << i;
}

TEST(SortedWithoutNan, DropsNan) {
  std::vector<double> v = {3, NAN, 1, 2, NAN};
  EXPECT_EQ(sorted_without_nan(v), (std::vector<double>{1, 2, 3}));
}

TEST(Ks2Samp, EqualsScipyOnEveryRegime) {
  for (const auto& c : fixtures()["ks_2samp"]) {
    auto a = sorted_without_nan(sample(c["a"]));
    auto b = sorted_without_nan(sample(c["b"]));
    KsResult r = ks_2samp_sorted(a, b);
    EXPECT_NEAR(r.statistic, c["statistic"].get<double>(), 1e-12) << c["name"];
    EXPECT_NEAR(r.p_value, c["p_value"].get<double>(), kTolerance) << c["name"];
    EXPECT_EQ(r.exact, std::max(a.size(), b.size()) <= 10000) << c["name"];
  }
}

TEST(Ks2Samp, RawSamplesDropNanAndSortOnTwoThreads) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> d(0, 1);
  std::vector<double> a(150000), b(120000);
  for (auto& v : a) v = d(rng);
  for (auto& v : b) v = d(rng) + 0.01;
  a[3] = NAN;
  b[7] = NAN;
  KsResult raw = ks_2samp(a, b);
  KsResult sorted = ks_2samp_sorted(sorted_without_nan(a), sorted_without_nan(b));
  EXPECT_EQ(raw.statistic, sorted.statistic);
  EXPECT_EQ(raw.p_value, sorted.p_value);
  EXPECT_FALSE(raw.exact);
  std::vector<double> none = {NAN};
  EXPECT_TRUE(std::isnan(ks_2samp(none, b).p_value));
}

TEST(KolmogorovSf, EqualsScipyKstwo) {
  for (const auto& c : fixtures()["kstwo_sf"]) {
    EXPECT_NEAR(kolmogorov_sf(c["n"].get<int64_t>(), c["x"].get<double>()), c["sf"].get<double>(), kTolerance)
        << "n=" << c["n"] << " x=" << c["x"];
  }
}

TEST(SmirnovSf, EqualsScipySmirnov) {
  for (const auto& c : fixtures()["smirnov"]) {
    EXPECT_NEAR(smirnov_sf(c["n"].get<int64_t>(), c["x"].get<double>()), c["sf"].get<double>(), kTolerance)
        << "n=" << c["n"] << " x=" << c["x"];
  }
}

TEST(Chi2Contingency, EqualsScipyWithYatesAtOneDegreeOfFreedom) {
  for (const auto& c : fixtures()["chi2_contingency"]) {
    auto a = numbers(c["a"]);
    auto b = numbers(c["b"]);
    ChiSquaredResult r = chi2_contingency(a, b);
    EXPECT_EQ(r.dof, c["dof"].get<int64_t>());
    EXPECT_NEAR(r.statistic, c["statistic"].get<double>(), 1e-6 * std::max(1.0, r.statistic)) << c["a"];
    EXPECT_NEAR(r.p_value, c["p_value"].get<double>(), kTolerance) << c["a"];
  }
}

TEST(Chi2Contingency, DropsEmptyCategoriesAndNeedsTwo) {
  std::vector<double> a = {10, 0, 20}, b = {12, 0, 18};
  std::vector<double> a2 = {10, 20}, b2 = {12, 18};
  EXPECT_DOUBLE_EQ(chi2_contingency(a, b).p_value, chi2_contingency(a2, b2).p_value);
  std::vector<double> one_a = {10}, one_b = {5};
  EXPECT_EQ(chi2_contingency(one_a, one_b).p_value, 1.0);
  EXPECT_EQ(chi2_contingency(one_a, one_b).dof, 0);
}

TEST(Chi2Sf, EqualsScipy) {
  for (const auto& c : fixtures()["chi2_sf"]) {
    EXPECT_NEAR(chi2_sf(c["x"].get<double>(), c["dof"].get<double>()), c["sf"].get<double>(), 1e-10)
        << "x=" << c["x"] << " dof=" << c["dof"];
  }
}

TEST(TwoProportionZ, EqualsPooledFormula) {
  for (const auto& c : fixtures()["two_proportion_z"]) {
    auto r = two_proportion_z(c["x_a"], c["n_a"], c["x_b"], c["n_b"]);
    EXPECT_NEAR(r.statistic, c["statistic"].get<double>(), 1e-9);
    EXPECT_NEAR(r.p_value, c["p_value"].get<double>(), kTolerance);
  }
  EXPECT_NEAR(two_proportion_z(50, 100, 50, 100).cohens_h, 0.0, 1e-15);
  EXPECT_NEAR(two_proportion_z(50, 100, 0, 100).cohens_h, 2 * std::asin(std::sqrt(0.5)), 1e-12);
}

TEST(Wasserstein, EqualsScipy) {
  for (const auto& c : fixtures()["wasserstein"]) {
    auto a = sorted_without_nan(sample(c["a"]));
    auto b = sorted_without_nan(sample(c["b"]));
    EXPECT_NEAR(wasserstein_sorted(a, b), c["distance"].get<double>(), kTolerance);
  }
}

TEST(JensenShannon, EqualsScipyNaturalLog) {
  for (const auto& c : fixtures()["jensenshannon"]) {
    auto p = numbers(c["p"]);
    auto q = numbers(c["q"]);
    EXPECT_NEAR(jensen_shannon(p, q), c["distance"].get<double>(), 1e-12);
  }
}

TEST(Psi, EqualsEvidentlyStyleFormulaWithEpsilonForEmptyBins) {
  for (const auto& c : fixtures()["psi"]) {
    auto r = numbers(c["reference"]);
    auto q = numbers(c["current"]);
    EXPECT_NEAR(psi(r, q), c["psi"].get<double>(), 1e-12);
  }
}

TEST(BenjaminiHochberg, EqualsScipyFalseDiscoveryControl) {
  for (const auto& c : fixtures()["benjamini_hochberg"]) {
    auto adjusted = benjamini_hochberg(numbers(c["p"]));
    auto expected = numbers(c["adjusted"]);
    ASSERT_EQ(adjusted.size(), expected.size());
    for (size_t i = 0; i < adjusted.size(); ++i) EXPECT_NEAR(adjusted[i], expected[i], 1e-12);
  }
  std::vector<double> with_nan = {0.01, NAN, 0.02};
  auto adjusted = benjamini_hochberg(with_nan);
  EXPECT_NEAR(adjusted[0], 0.02, 1e-15);
  EXPECT_TRUE(std::isnan(adjusted[1]));
  EXPECT_NEAR(adjusted[2], 0.02, 1e-15);
}

}  // namespace
}  // namespace slipway::monitor

namespace slipway::monitor {
namespace {

// The binned path for large samples (count into bins, walk only the bins that could hold the
// maximum) gives the same D and p-value as the full merge walk: continuous, heavily tied, shifted,
// wide-range and one-sided data.
TEST(KsTwoSample, BinnedPathEqualsTheFullMergeWalk) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_int_distribution<int> small(0, 9);
  std::exponential_distribution<double> expo(1.0);
  for (int scenario = 0; scenario < 6; ++scenario) {
    std::vector<double> a(150000 + scenario * 1000), b(110000);
    for (auto& v : a) {
      v = scenario == 0   ? normal(rng)
          : scenario == 1 ? small(rng)
          : scenario == 2 ? normal(rng) * 1e-3
          : scenario == 3 ? expo(rng) * 1e6
          : scenario == 4 ? normal(rng)
                          : std::round(normal(rng) * 100) / 100;
    }
    for (auto& v : b) {
      v = scenario == 0   ? normal(rng) + 0.01
          : scenario == 1 ? small(rng) + (small(rng) == 0 ? 1 : 0)
          : scenario == 2 ? normal(rng) * 1e-3
          : scenario == 3 ? expo(rng) * 1.01e6
          : scenario == 4 ? normal(rng) + 3.0  // almost no overlap
                          : std::round((normal(rng) + 0.02) * 100) / 100;
    }
    a[5] = NAN;
    SCOPED_TRACE(scenario);
    KsResult binned = ks_2samp(a, b);
    KsResult walk = ks_2samp_sorted(sorted_without_nan(a), sorted_without_nan(b));
    EXPECT_NEAR(binned.statistic, walk.statistic, 1e-15);
    EXPECT_NEAR(binned.p_value, walk.p_value, 1e-12 + 1e-9 * walk.p_value);
  }
}

}  // namespace
}  // namespace slipway::monitor
