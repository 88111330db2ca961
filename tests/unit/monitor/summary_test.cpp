// Streaming summaries: bounded, mergeable, order-independent, and KS's D from bins within the
// stated bound of the exact D.
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "slipway/monitor/drift.h"
#include "slipway/monitor/stats.h"

namespace slipway::monitor {
namespace {

Frame numeric_frame(const std::string& name, std::vector<double> values) {
  Frame f;
  f.rows = values.size();
  Column c;
  c.name = name;
  c.numbers = std::move(values);
  f.columns.push_back(std::move(c));
  return f;
}

std::vector<double> draw(size_t n, double mean, double sd, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> d(mean, sd);
  std::vector<double> out(n);
  for (auto& v : out) v = std::round(d(rng) * 1000) / 1000;  // some ties
  return out;
}

FrameSummary summarize(const FrameSummary& layout, const std::vector<double>& values, size_t chunk) {
  FrameSummary s = layout;
  for (size_t at = 0; at < values.size(); at += chunk) {
    std::vector<double> part(values.begin() + static_cast<std::ptrdiff_t>(at),
                             values.begin() + static_cast<std::ptrdiff_t>(std::min(values.size(), at + chunk)));
    EXPECT_TRUE(s.add(numeric_frame("x", part)).ok());
  }
  return s;
}

TEST(Summary, LayoutHasBoundedQuantileBins) {
  auto ref = draw(100000, 0, 1, 1);
  FrameSummary layout = summary_layout(numeric_frame("x", ref), {.bins = 500});
  ASSERT_EQ(layout.columns.size(), 1u);
  EXPECT_LE(layout.columns[0].edges.size(), 501u);
  EXPECT_EQ(layout.columns[0].counts.size(), layout.columns[0].edges.size() + 2);
  EXPECT_TRUE(std::is_sorted(layout.columns[0].edges.begin(), layout.columns[0].edges.end()));
}

// The cell lookup (sliced edges, used from 64 edges up) must put every value where a search of the
// edges would: below e_0 -> 0, otherwise 1 + the number of edges below it. Probed at every edge,
// its neighbours in both directions, the extremes and random values, for references whose edges
// bunch up (heavy ties, a few huge values) as well as spread evenly.
TEST(Summary, CellsAreTheSameAsASearchOfTheEdges) {
  std::mt19937_64 rng(11);
  std::vector<std::vector<double>> references;
  references.push_back(draw(50000, 0, 1, 12));
  std::vector<double> skewed;
  std::lognormal_distribution<double> ln(0, 3);
  for (int i = 0; i < 50000; ++i) skewed.push_back(i % 1000 == 0 ? 1e300 * (i % 3 == 0 ? -1 : 1) : ln(rng));
  references.push_back(skewed);
  std::vector<double> tiny;
  for (int i = 0; i < 20000; ++i) tiny.push_back(std::ldexp(static_cast<double>(i % 5000), -1070));  // denormals
  references.push_back(tiny);
  for (const auto& ref : references) {
    FrameSummary layout = summary_layout(numeric_frame("x", ref));
    const std::vector<double>& edges = layout.columns[0].edges;
    ASSERT_GE(edges.size(), 64u);
    std::vector<double> probes = {-INFINITY, INFINITY, 0.0, -0.0, std::numeric_limits<double>::max(),
                                  std::numeric_limits<double>::lowest(), std::numeric_limits<double>::denorm_min()};
    for (double e : edges) {
      probes.push_back(e);
      probes.push_back(std::nextafter(e, INFINITY));
      probes.push_back(std::nextafter(e, -INFINITY));
    }
    std::uniform_real_distribution<double> u(edges.front() / 2, edges.back() / 2);
    for (int i = 0; i < 20000; ++i) probes.push_back(u(rng));
    for (int i = 0; i < 2000; ++i) probes.push_back(ref[rng() % ref.size()]);
    std::vector<uint64_t> expected(edges.size() + 2, 0);
    for (double v : probes) {
      const size_t below = static_cast<size_t>(std::lower_bound(edges.begin(), edges.end(), v) - edges.begin());
      ++expected[v < edges.front() ? 0 : below + 1];
    }
    FrameSummary s = layout;
    ASSERT_TRUE(s.add(numeric_frame("x", probes)).ok());
    EXPECT_EQ(s.columns[0].counts, expected);
  }
}

TEST(Summary, MergeEqualsOneSummaryWhateverTheChunking) {
  auto ref = draw(20000, 0, 1, 2);
  auto cur = draw(30000, 0.1, 1.2, 3);
  cur[5] = NAN;
  FrameSummary layout = summary_layout(numeric_frame("x", ref));
  FrameSummary whole = summarize(layout, cur, cur.size());
  FrameSummary a = summarize(layout, std::vector<double>(cur.begin(), cur.begin() + 12345), 1000);
  FrameSummary b = summarize(layout, std::vector<double>(cur.begin() + 12345, cur.end()), 777);
  ASSERT_TRUE(a.merge(b).ok());
  EXPECT_EQ(a.columns[0].counts, whole.columns[0].counts);
  EXPECT_EQ(a.columns[0].missing, 1u);
  EXPECT_EQ(a.columns[0].min, whole.columns[0].min);
  EXPECT_EQ(a.columns[0].max, whole.columns[0].max);
  EXPECT_EQ(a.rows, 30000u);
  FrameSummary other = summary_layout(numeric_frame("x", draw(100, 0, 1, 9)));
  EXPECT_EQ(a.merge(other).message(),
            "cannot merge summaries of column 'x': they were binned against different references");
}

TEST(Summary, KsFromBinsBracketsTheExactStatistic) {
  auto ref = draw(50000, 0, 1, 4);
  for (double shift : {0.0, 0.01, 0.05, 0.3}) {
    auto cur = draw(40000, shift, 1.1, 5);
    for (size_t bins : {50, 200, 1000}) {
      FrameSummary layout = summary_layout(numeric_frame("x", ref), {.bins = bins});
      FrameSummary r = summarize(layout, ref, 8192);
      FrameSummary c = summarize(layout, cur, 8192);
      DriftOptions options;
      options.tests["x"] = DriftTest::kKs;
      auto report = detect_drift(r, c, options);
      ASSERT_TRUE(report.ok()) << report.status().message();
      const auto& col = report->columns[0];
      const double exact = ks_2samp_sorted(sorted_without_nan(ref), sorted_without_nan(cur)).statistic;
      EXPECT_LE(col.statistic, exact + 1e-12) << "bins " << bins << " shift " << shift;
      EXPECT_GE(*col.statistic_upper, exact - 1e-12) << "bins " << bins << " shift " << shift;
      // The documented bound: the gap is at most the largest cell mass of either sample.
      double max_mass = 0;
      for (size_t k = 0; k < r.columns[0].counts.size(); ++k) {
        max_mass = std::max({max_mass, static_cast<double>(r.columns[0].counts[k]) / 50000.0,
                             static_cast<double>(c.columns[0].counts[k]) / 40000.0});
      }
      EXPECT_LE(*col.statistic_upper - col.statistic, max_mass + 1e-12);
    }
  }
}

TEST(Summary, DriftFromSummariesAgreesWithExactData) {
  auto ref = draw(20000, 0, 1, 6);
  auto same = draw(20000, 0, 1, 7);
  auto shifted = draw(20000, 0.5, 1, 8);
  FrameSummary layout = summary_layout(numeric_frame("x", ref));
  FrameSummary r = summarize(layout, ref, 5000);
  auto exact_same = detect_drift(numeric_frame("x", ref), numeric_frame("x", same), {});
  auto binned_same = detect_drift(r, summarize(layout, same, 5000), {});
  ASSERT_TRUE(binned_same.ok());
  EXPECT_TRUE(binned_same->from_summaries);
  EXPECT_EQ(binned_same->columns[0].test, DriftTest::kWasserstein);
  EXPECT_NEAR(binned_same->columns[0].statistic, exact_same->columns[0].statistic, 0.01);
  EXPECT_FALSE(binned_same->dataset_drift);
  auto exact_shift = detect_drift(numeric_frame("x", ref), numeric_frame("x", shifted), {});
  auto binned_shift = detect_drift(r, summarize(layout, shifted, 5000), {});
  EXPECT_NEAR(binned_shift->columns[0].statistic, exact_shift->columns[0].statistic, 0.01);
  EXPECT_TRUE(binned_shift->dataset_drift);
}

TEST(Summary, CategoriesOutsideTheReferenceGoToOther) {
  Frame ref;
  ref.rows = 6;
  Column c;
  c.name = "k";
  c.kind = ColumnKind::kCategorical;
  c.strings = {"a", "a", "b", "b", "b", "c"};
  ref.columns.push_back(c);
  FrameSummary layout = summary_layout(ref, {.max_categories = 2});
  EXPECT_EQ(layout.columns[0].categories, (std::vector<std::string>{"b", "a", "(other)"}));
  Frame cur = ref;
  cur.columns[0].strings = {"a", "z", "c", "b", "b", "b"};
  FrameSummary s = layout;
  ASSERT_TRUE(s.add(cur).ok());
  EXPECT_EQ(s.columns[0].counts, (std::vector<uint64_t>{3, 1, 2}));
  Frame wrong = numeric_frame("k", {1, 2});
  EXPECT_EQ(s.add(wrong).message(), "column 'k' is numeric here but categorical in the reference");
}

// The automatic test of a small categorical or discrete column: z when the two samples fill at most
// two cells, chi-squared when more — a category or value the reference lacks counts too (it fills
// "(other)" or a cell outside the edges), as in the exact path. It used to count the reference's
// categories only and then refuse its own choice ("the z test compares two proportions; it has 3
// categories").
TEST(Summary, AutoTestCountsTheCellsBothSamplesFill) {
  auto categorical = [](std::vector<std::string> values) {
    Frame f;
    f.rows = values.size();
    Column c;
    c.name = "k";
    c.kind = ColumnKind::kCategorical;
    c.strings = std::move(values);
    f.columns.push_back(std::move(c));
    return f;
  };
  const Frame ref = categorical({"a", "b", "a", "b", "a", "b", "a", "a"});
  FrameSummary layout = summary_layout(ref);
  FrameSummary r = layout;
  ASSERT_TRUE(r.add(ref).ok());
  FrameSummary two = layout;
  ASSERT_TRUE(two.add(categorical({"a", "b", "b", "b"})).ok());
  auto same_cells = detect_drift(r, two, {});
  ASSERT_TRUE(same_cells.ok()) << same_cells.status().message();
  EXPECT_EQ(same_cells->columns[0].test, DriftTest::kZ);
  FrameSummary three = layout;
  ASSERT_TRUE(three.add(categorical({"a", "b", "c", "c"})).ok());
  auto new_category = detect_drift(r, three, {});
  ASSERT_TRUE(new_category.ok()) << new_category.status().message();
  EXPECT_EQ(new_category->columns[0].test, DriftTest::kChiSquared);

  FrameSummary nl = summary_layout(numeric_frame("x", {0, 1, 0, 1, 1, 0}));
  FrameSummary nr = nl;
  ASSERT_TRUE(nr.add(numeric_frame("x", {0, 1, 0, 1, 1, 0})).ok());
  FrameSummary nc = nl;
  ASSERT_TRUE(nc.add(numeric_frame("x", {0, 1, 2, 2})).ok());
  auto new_value = detect_drift(nr, nc, {});
  ASSERT_TRUE(new_value.ok()) << new_value.status().message();
  EXPECT_EQ(new_value->columns[0].test, DriftTest::kChiSquared);
}

}  // namespace
}  // namespace slipway::monitor
