#include "slipway/data/compare.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace slipway::data {
namespace {

using ::testing::HasSubstr;
using table::DataType;

// Jensen-Shannon distance written out the textbook way (natural logs, then converted to base 2),
// independent of the implementation: sqrt((KL(p||m) + KL(q||m)) / 2 / ln 2), m = (p + q) / 2.
double reference_js(std::vector<double> p, std::vector<double> q) {
  double sp = 0, sq = 0;
  for (double v : p) sp += v;
  for (double v : q) sq += v;
  double kl_p = 0, kl_q = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double pi = p[i] / sp, qi = q[i] / sq, m = 0.5 * (pi + qi);
    if (pi > 0) kl_p += pi * std::log(pi / m);
    if (qi > 0) kl_q += qi * std::log(qi / m);
  }
  return std::sqrt((kl_p + kl_q) / 2 / std::log(2.0));
}

// Mass of the uniform distribution on [lo, hi] in each bin of `edges`.
std::vector<double> uniform_mass(double lo, double hi, const std::vector<double>& edges) {
  std::vector<double> mass;
  for (size_t i = 0; i + 1 < edges.size(); ++i) {
    mass.push_back(std::max(0.0, std::min(hi, edges[i + 1]) - std::max(lo, edges[i])) / (hi - lo));
  }
  return mass;
}

ColumnProfile numeric(std::string name, double lo, double hi, size_t bins, uint64_t per_bin, uint64_t missing = 0) {
  ColumnProfile c;
  c.name = std::move(name);
  c.type = DataType::kFloat64;
  c.count = per_bin * bins;
  c.missing = missing;
  c.min = lo;
  c.max = hi;
  c.mean = (lo + hi) / 2;
  for (size_t i = 0; i <= bins; ++i) c.histogram.edges.push_back(lo + (hi - lo) * static_cast<double>(i) / bins);
  c.histogram.counts.assign(bins, per_bin);
  return c;
}

ColumnProfile categorical(std::string name, std::vector<ValueCount> top, uint64_t count) {
  ColumnProfile c;
  c.name = std::move(name);
  c.type = DataType::kString;
  c.count = count;
  c.distinct = top.size();
  c.top_values = std::move(top);
  return c;
}

DatasetProfile flights_like() {
  DatasetProfile p;
  p.row_count = 1000;
  p.columns = {numeric("dep_delay", 0, 10, 10, 97, 30),
               categorical("carrier", {{"UA", 500}, {"AA", 300}, {"B6", 200}}, 1000)};
  return p;
}

TEST(JensenShannon, MatchesScipyValues) {
  // scipy.spatial.distance.jensenshannon(p, q, base=2)
  EXPECT_DOUBLE_EQ(*jensen_shannon_distance({1, 0}, {0, 1}), 1.0);
  EXPECT_NEAR(*jensen_shannon_distance({0.1, 0.4, 0.5}, {0.3, 0.3, 0.4}), 0.21663402449519675, 1e-12);
  EXPECT_NEAR(*jensen_shannon_distance({0.1, 0.4, 0.5}, {0.3, 0.3, 0.4}),
              reference_js({0.1, 0.4, 0.5}, {0.3, 0.3, 0.4}), 1e-12);
  // Unnormalised counts are normalised first.
  EXPECT_NEAR(*jensen_shannon_distance({1, 4, 5}, {30, 30, 40}), 0.21663402449519675, 1e-12);
  EXPECT_DOUBLE_EQ(*jensen_shannon_distance({2, 3}, {2, 3}), 0.0);
  EXPECT_EQ(jensen_shannon_distance({0, 0}, {1, 1}), std::nullopt);
  EXPECT_EQ(jensen_shannon_distance({}, {}), std::nullopt);
}

TEST(Rebin, SpreadsMassUniformlyWithinSourceBins) {
  Histogram h{{0, 10, 20}, {10, 20}};
  EXPECT_EQ(rebin_histogram(h, {0, 5, 10, 15, 20}), (std::vector<double>{5, 5, 10, 10}));
  EXPECT_EQ(rebin_histogram(h, {0, 20}), (std::vector<double>{30}));
  EXPECT_EQ(rebin_histogram(h, {-10, 0, 20, 30}), (std::vector<double>{0, 30, 0}));
  // A zero-width bin (a constant column) lands in the grid bin holding its value; the last bin is closed.
  EXPECT_EQ(rebin_histogram(Histogram{{7, 7}, {4}}, {0, 5, 10}), (std::vector<double>{0, 4}));
  EXPECT_EQ(rebin_histogram(Histogram{{10, 10}, {4}}, {0, 5, 10}), (std::vector<double>{0, 4}));
}

TEST(Compare, IdenticalProfilesHaveNoDrift) {
  const DatasetProfile p = flights_like();
  const CompareReport r = compare_profiles(p, p);
  EXPECT_FALSE(r.drift);
  EXPECT_FALSE(r.schema_changed);
  ASSERT_EQ(r.columns.size(), 2u);
  for (const auto& c : r.columns) {
    EXPECT_EQ(c.verdict, ColumnVerdict::kSame) << c.name;
    ASSERT_TRUE(c.distance.has_value());
    EXPECT_DOUBLE_EQ(*c.distance, 0.0) << c.name;
    EXPECT_EQ(c.note, "");
  }
  EXPECT_EQ(r.columns[0].measure, "jensen_shannon");
  EXPECT_EQ(r.columns[0].threshold, 0.1);
  EXPECT_EQ(r.columns[1].measure, "linf");
  EXPECT_DOUBLE_EQ(*r.columns[0].missing_fraction_a, 0.03);
  EXPECT_EQ(r.columns[0].mean_a, 5.0);
  EXPECT_EQ(r.columns[0].mean_b, 5.0);
}

TEST(Compare, ShiftedNumericDrifts) {
  DatasetProfile a, b;
  a.row_count = b.row_count = 1000;
  a.columns = {numeric("x", 0, 10, 10, 100)};
  b.columns = {numeric("x", 5, 15, 10, 100)};
  const CompareReport r = compare_profiles(a, b);
  ASSERT_EQ(r.columns.size(), 1u);
  const auto& c = r.columns[0];
  // Common grid: the union range [0, 15] in max(10, 10) = 10 bins of 1.5.
  std::vector<double> grid;
  for (int i = 0; i <= 10; ++i) grid.push_back(1.5 * i);
  const double expected = reference_js(uniform_mass(0, 10, grid), uniform_mass(5, 15, grid));
  EXPECT_NEAR(expected, 0.6762117651936653, 1e-12);  // the same numbers through numpy
  EXPECT_NEAR(*c.distance, expected, 1e-12);
  EXPECT_EQ(c.verdict, ColumnVerdict::kDrift);
  EXPECT_TRUE(r.drift);

  // A shift by a tenth of the range: union [0, 11] in 10 bins of 1.1.
  b.columns = {numeric("x", 1, 11, 10, 100)};
  const auto small = compare_profiles(a, b).columns[0];
  std::vector<double> grid11;
  for (int i = 0; i <= 10; ++i) grid11.push_back(1.1 * i);
  EXPECT_NEAR(*small.distance, reference_js(uniform_mass(0, 10, grid11), uniform_mass(1, 11, grid11)), 1e-12);
  EXPECT_NEAR(*small.distance, 0.2652206213015194, 1e-12);  // numpy, same formula
  EXPECT_EQ(small.verdict, ColumnVerdict::kDrift);
  CompareOptions loose;
  loose.numeric_threshold = 0.5;
  EXPECT_EQ(compare_profiles(a, b, loose).columns[0].verdict, ColumnVerdict::kSame);
}

TEST(Compare, CategoricalLInfinity) {
  DatasetProfile a = flights_like(), b = flights_like();
  b.columns[1] = categorical("carrier", {{"UA", 300}, {"AA", 300}, {"B6", 400}}, 1000);
  const auto c = compare_profiles(a, b).columns[1];
  EXPECT_NEAR(*c.distance, 0.2, 1e-12);  // UA: 0.5 -> 0.3, B6: 0.2 -> 0.4
  EXPECT_EQ(c.verdict, ColumnVerdict::kDrift);
  // A new category shows up as a full-size difference of its own.
  b.columns[1] = categorical("carrier", {{"UA", 500}, {"AA", 300}, {"ZZ", 200}}, 1000);
  EXPECT_NEAR(*compare_profiles(a, b).columns[1].distance, 0.2, 1e-12);
  // Small changes are under the default threshold.
  b.columns[1] = categorical("carrier", {{"UA", 450}, {"AA", 330}, {"B6", 220}}, 1000);
  EXPECT_EQ(compare_profiles(a, b).columns[1].verdict, ColumnVerdict::kSame);
}

TEST(Compare, IncompleteTopValuesAreNoted) {
  DatasetProfile a = flights_like(), b = flights_like();
  a.columns[1] = categorical("carrier", {{"UA", 500}, {"AA", 300}}, 1000);  // 20% in values not listed
  b.columns[1] = categorical("carrier", {{"UA", 500}, {"AA", 200}}, 1000);  // 30% not listed
  const auto c = compare_profiles(a, b).columns[1];
  EXPECT_NEAR(*c.distance, 0.1, 1e-12);  // AA 0.3 vs 0.2, other 0.2 vs 0.3
  EXPECT_EQ(c.note, "top values cover 80.0% of a and 70.0% of b; the rest is compared as one 'other' bucket");
}

TEST(Compare, SchemaDifferences) {
  DatasetProfile a = flights_like(), b = flights_like();
  b.columns[0].type = DataType::kInt64;
  b.columns.erase(b.columns.begin() + 1);
  b.columns.push_back(numeric("air_time", 20, 700, 10, 100));
  const CompareReport r = compare_profiles(a, b);
  EXPECT_TRUE(r.schema_changed);
  EXPECT_FALSE(r.drift);
  ASSERT_EQ(r.columns.size(), 3u);
  EXPECT_EQ(r.columns[0].verdict, ColumnVerdict::kTypeChanged);
  EXPECT_EQ(r.columns[0].distance, std::nullopt);
  EXPECT_EQ(r.columns[1].name, "carrier");
  EXPECT_EQ(r.columns[1].verdict, ColumnVerdict::kRemoved);
  EXPECT_EQ(r.columns[2].name, "air_time");
  EXPECT_EQ(r.columns[2].verdict, ColumnVerdict::kAdded);
  EXPECT_EQ(r.columns[2].type_a, std::nullopt);
}

TEST(Compare, EmptySideIsNotCompared) {
  DatasetProfile a = flights_like(), b = flights_like();
  b.columns[0].histogram = {};
  b.columns[1].count = 0;
  b.columns[1].top_values.clear();
  const CompareReport r = compare_profiles(a, b);
  EXPECT_EQ(r.columns[0].verdict, ColumnVerdict::kNotCompared);
  EXPECT_EQ(r.columns[0].note, "no histogram in b");
  EXPECT_EQ(r.columns[1].verdict, ColumnVerdict::kNotCompared);
  EXPECT_EQ(r.columns[1].note, "no values in b");
  EXPECT_FALSE(r.drift);
}

TEST(Compare, JsonAndText) {
  DatasetProfile a = flights_like(), b = flights_like();
  b.row_count = 2000;
  b.columns[1] = categorical("carrier", {{"UA", 300}, {"AA", 300}, {"B6", 400}}, 1000);
  const CompareReport r = compare_profiles(a, b);
  const auto json = to_json(r);
  EXPECT_EQ(json["rows_a"], 1000);
  EXPECT_EQ(json["rows_b"], 2000);
  EXPECT_EQ(json["drift"], true);
  EXPECT_EQ(json["columns"][1].dump(),
            R"({"distance":0.2,"mean_a":null,"mean_b":null,"measure":"linf","missing_fraction_a":0.0,)"
            R"("missing_fraction_b":0.0,"name":"carrier","note":null,"threshold":0.1,"type_a":"string",)"
            R"("type_b":"string","verdict":"drift"})");
  EXPECT_EQ(render_text(r),
            "rows: a 1000, b 2000\n"
            "differences: distribution drift\n"
            "\n"
            "column     type     verdict  measure         distance       missing a  missing b  mean a  mean b\n"
            "dep_delay  float64  same     jensen_shannon  0.0000 <= 0.1  3.0%       1.5%       5       5\n"
            "carrier    string   drift    linf            0.2000 > 0.1   0.0%       0.0%       -       -\n");
}

}  // namespace
}  // namespace slipway::data
