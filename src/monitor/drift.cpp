// Drift over whole Frames (slipway/monitor/drift.h): per column the test, its statistic and effect,
// then Benjamini–Hochberg and the dataset verdict (drift_verdict.cpp).
#include "slipway/monitor/drift.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "drift_internal.h"
#include "slipway/monitor/stats.h"

namespace slipway::monitor {

namespace {

using detail::CategoryCounts;

// numpy.histogram with `bins` equal-width bins over [lo, hi] (lo == hi: [lo - 0.5, hi + 0.5]),
// reproducing its index computation so counts agree with NumPy exactly.
void histogram_edges(double lo, double hi, size_t bins, std::vector<double>& edges) {
  if (lo == hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  edges.resize(bins + 1);
  const double step = (hi - lo) / static_cast<double>(bins);
  for (size_t i = 0; i <= bins; ++i) edges[i] = lo + static_cast<double>(i) * step;  // np.linspace
  edges[bins] = hi;
}

std::vector<uint64_t> histogram_counts(std::span<const double> sorted, const std::vector<double>& edges) {
  const size_t bins = edges.size() - 1;
  std::vector<uint64_t> counts(bins, 0);
  const double first = edges.front();
  const double last = edges.back();
  const double norm = static_cast<double>(bins) / (last - first);
  for (double v : sorted) {
    if (v < first || v > last) continue;
    auto idx = static_cast<int64_t>((v - first) * norm);
    if (idx == static_cast<int64_t>(bins)) idx -= 1;
    if (v < edges[static_cast<size_t>(idx)]) idx -= 1;
    if (idx != static_cast<int64_t>(bins) - 1 && v >= edges[static_cast<size_t>(idx) + 1]) idx += 1;
    ++counts[static_cast<size_t>(idx)];
  }
  return counts;
}

std::vector<double> to_doubles(const std::vector<uint64_t>& v) { return {v.begin(), v.end()}; }

// Distinct values of two sorted samples, stopping once more than `limit` are seen.
size_t distinct_values(std::span<const double> a, std::span<const double> b, size_t limit) {
  size_t i = 0, j = 0, distinct = 0;
  while ((i < a.size() || j < b.size()) && distinct <= limit) {
    const double v = (j >= b.size() || (i < a.size() && a[i] <= b[j])) ? a[i] : b[j];
    while (i < a.size() && a[i] <= v) ++i;
    while (j < b.size() && b[j] <= v) ++j;
    ++distinct;
  }
  return distinct;
}

// A numeric column with few values seen as categories (the values, printed shortest-exact).
CategoryCounts discrete_counts(std::span<const double> a, std::span<const double> b) {
  CategoryCounts out;
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    const double v = (j >= b.size() || (i < a.size() && a[i] <= b[j])) ? a[i] : b[j];
    const size_t i0 = i, j0 = j;
    while (i < a.size() && a[i] <= v) ++i;
    while (j < b.size() && b[j] <= v) ++j;
    out.labels.push_back(fmt::format("{}", v));
    out.reference.push_back(static_cast<double>(i - i0));
    out.current.push_back(static_cast<double>(j - j0));
  }
  return out;
}

CategoryCounts categorical_counts(const Column& ref, const Column& cur, uint64_t* ref_missing, uint64_t* cur_missing) {
  std::unordered_map<std::string_view, size_t> index;
  CategoryCounts out;
  auto count = [&](const Column& c, bool is_ref, uint64_t* missing) {
    for (size_t r = 0; r < c.strings.size(); ++r) {
      if (c.is_missing(r)) {
        ++*missing;
        continue;
      }
      auto [it, inserted] = index.try_emplace(c.strings[r], out.labels.size());
      if (inserted) {
        out.labels.push_back(c.strings[r]);
        out.reference.push_back(0);
        out.current.push_back(0);
      }
      (is_ref ? out.reference : out.current)[it->second] += 1;
    }
  };
  count(ref, true, ref_missing);
  count(cur, false, cur_missing);
  // Most frequent first, then by name: the order never depends on the rows' order.
  std::vector<size_t> order(out.labels.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    const double tx = out.reference[x] + out.current[x], ty = out.reference[y] + out.current[y];
    return tx != ty ? tx > ty : out.labels[x] < out.labels[y];
  });
  CategoryCounts sorted;
  for (size_t k : order) {
    sorted.labels.push_back(std::move(out.labels[k]));
    sorted.reference.push_back(out.reference[k]);
    sorted.current.push_back(out.current[k]);
  }
  return sorted;
}

DriftHistogram category_histogram(const CategoryCounts& c, size_t max_bins) {
  DriftHistogram h;
  for (size_t k = 0; k < c.labels.size(); ++k) {
    if (k + 1 < max_bins || c.labels.size() <= max_bins) {
      h.labels.push_back(c.labels[k]);
      h.reference.push_back(static_cast<uint64_t>(c.reference[k]));
      h.current.push_back(static_cast<uint64_t>(c.current[k]));
    } else {
      if (h.labels.size() < max_bins) {
        h.labels.emplace_back(kOtherCategory);
        h.reference.push_back(0);
        h.current.push_back(0);
      }
      h.reference.back() += static_cast<uint64_t>(c.reference[k]);
      h.current.back() += static_cast<uint64_t>(c.current[k]);
    }
  }
  return h;
}

double population_std(std::span<const double> a) {
  long double mean = 0;
  for (double v : a) mean += v;
  mean /= static_cast<long double>(a.size());
  long double ss = 0;
  for (double v : a) ss += (v - mean) * (v - mean);
  return static_cast<double>(std::sqrt(ss / static_cast<long double>(a.size())));
}

Status run_numeric(const Column& ref, const Column& cur, const DriftOptions& options, ColumnDrift& out) {
  std::vector<double> a = sorted_without_nan(ref.numbers);
  std::vector<double> b = sorted_without_nan(cur.numbers);
  out.reference_rows = a.size();
  out.current_rows = b.size();
  out.reference_missing = ref.numbers.size() - a.size();
  out.current_missing = cur.numbers.size() - b.size();
  if (a.empty() || b.empty()) {
    out.note = a.empty() ? "no values in the reference" : "no values in the current data";
    if (out.test == DriftTest::kAuto) out.test = DriftTest::kKs;
    return {};
  }
  const bool discrete = distinct_values(a, b, options.max_discrete_values) <= options.max_discrete_values;
  if (out.test == DriftTest::kAuto) {
    const bool small = a.size() <= options.small_sample_rows;
    if (discrete) {
      const size_t distinct = distinct_values(a, b, 2);
      out.test = small ? (distinct <= 2 ? DriftTest::kZ : DriftTest::kChiSquared) : DriftTest::kJensenShannon;
    } else {
      out.test = small ? DriftTest::kKs : DriftTest::kWasserstein;
    }
  }
  std::vector<double> edges;
  histogram_edges(std::min(a.front(), b.front()), std::max(a.back(), b.back()), options.histogram_bins, edges);
  out.histogram.edges = edges;
  out.histogram.reference = histogram_counts(a, edges);
  out.histogram.current = histogram_counts(b, edges);
  out.tested = true;
  switch (out.test) {
    case DriftTest::kKs: {
      KsResult r = ks_2samp_sorted(a, b);
      out.statistic = r.statistic;
      out.p_value = r.p_value;
      out.effect_name = "D";
      out.effect = r.statistic;
      return {};
    }
    case DriftTest::kWasserstein: {
      const double w = wasserstein_sorted(a, b);
      out.statistic = w / std::max(population_std(a), 0.001);
      out.effect_name = "wasserstein_normed";
      out.effect = out.statistic;
      return {};
    }
    case DriftTest::kJensenShannon:
    case DriftTest::kPsi: {
      if (discrete) return detail::run_categorical(discrete_counts(a, b), options, out);
      std::vector<double> bins;
      histogram_edges(std::min(a.front(), b.front()), std::max(a.back(), b.back()), options.distance_bins, bins);
      auto ra = to_doubles(histogram_counts(a, bins));
      auto rb = to_doubles(histogram_counts(b, bins));
      out.statistic = out.test == DriftTest::kPsi ? psi(ra, rb) : jensen_shannon(ra, rb);
      out.effect_name = out.test == DriftTest::kPsi ? "psi" : "jensenshannon";
      out.effect = out.statistic;
      return {};
    }
    case DriftTest::kChiSquared:
    case DriftTest::kZ: {
      if (!discrete && out.test == DriftTest::kZ) {
        return make_error(ErrorCode::kInvalidArgument,
                          "column '{}': the z test compares two proportions; it has more than {} distinct values",
                          out.column, options.max_discrete_values);
      }
      return detail::run_categorical(discrete_counts(a, b), options, out);
    }
    case DriftTest::kAuto: break;
  }
  return {};
}

Status run_column(const Column& ref, const Column& cur, const DriftOptions& options, ColumnDrift& out) {
  if (ref.kind == ColumnKind::kNumeric) return run_numeric(ref, cur, options, out);
  CategoryCounts counts = categorical_counts(ref, cur, &out.reference_missing, &out.current_missing);
  for (size_t k = 0; k < counts.labels.size(); ++k) {
    out.reference_rows += static_cast<uint64_t>(counts.reference[k]);
    out.current_rows += static_cast<uint64_t>(counts.current[k]);
  }
  if (out.test == DriftTest::kAuto) {
    const bool small = out.reference_rows <= options.small_sample_rows;
    out.test = small ? (counts.labels.size() <= 2 ? DriftTest::kZ : DriftTest::kChiSquared) : DriftTest::kJensenShannon;
  }
  out.histogram = category_histogram(counts, options.histogram_bins);
  if (out.reference_rows == 0 || out.current_rows == 0) {
    out.note = out.reference_rows == 0 ? "no values in the reference" : "no values in the current data";
    return {};
  }
  out.tested = true;
  return detail::run_categorical(counts, options, out);
}

}  // namespace

namespace detail {

void pool_rare_categories(CategoryCounts& counts, double min_expected, std::vector<std::string>* pooled) {
  double row_a = 0, row_b = 0;
  for (size_t k = 0; k < counts.labels.size(); ++k) {
    row_a += counts.reference[k];
    row_b += counts.current[k];
  }
  const double total = row_a + row_b;
  if (total <= 0) return;
  auto rare = [&](double ca, double cb) {
    const double col = ca + cb;
    return std::min(row_a, row_b) * col / total < min_expected;
  };
  CategoryCounts kept;
  double other_a = 0, other_b = 0;
  bool any_other = false;
  for (size_t k = 0; k < counts.labels.size(); ++k) {
    if (rare(counts.reference[k], counts.current[k])) {
      other_a += counts.reference[k];
      other_b += counts.current[k];
      any_other = true;
      pooled->push_back(counts.labels[k]);
    } else {
      kept.labels.push_back(counts.labels[k]);
      kept.reference.push_back(counts.reference[k]);
      kept.current.push_back(counts.current[k]);
    }
  }
  if (any_other) {
    // The pool itself still rare: fold it into the smallest kept category, so no cell of the
    // table is expected below the floor (as long as two categories remain).
    if (rare(other_a, other_b) && !kept.labels.empty()) {
      size_t smallest = 0;
      for (size_t k = 1; k < kept.labels.size(); ++k) {
        if (kept.reference[k] + kept.current[k] < kept.reference[smallest] + kept.current[smallest]) smallest = k;
      }
      kept.reference[smallest] += other_a;
      kept.current[smallest] += other_b;
      pooled->push_back(kept.labels[smallest]);
      kept.labels[smallest] = kOtherCategory;
    } else {
      kept.labels.emplace_back(kOtherCategory);
      kept.reference.push_back(other_a);
      kept.current.push_back(other_b);
    }
  }
  std::sort(pooled->begin(), pooled->end());
  counts = std::move(kept);
}

Status run_categorical(CategoryCounts counts, const DriftOptions& options, ColumnDrift& out) {
  switch (out.test) {
    case DriftTest::kChiSquared: {
      pool_rare_categories(counts, options.min_expected, &out.pooled);
      ChiSquaredResult r = chi2_contingency(counts.reference, counts.current);
      out.statistic = r.statistic;
      out.p_value = r.p_value;
      out.effect_name = "cramers_v";
      out.effect = r.cramers_v;
      return {};
    }
    case DriftTest::kZ: {
      if (counts.labels.size() > 2) {
        return make_error(ErrorCode::kInvalidArgument,
                          "column '{}': the z test compares two proportions; it has {} categories", out.column,
                          counts.labels.size());
      }
      double na = 0, nb = 0;
      for (size_t k = 0; k < counts.labels.size(); ++k) {
        na += counts.reference[k];
        nb += counts.current[k];
      }
      ProportionTestResult r = two_proportion_z(static_cast<uint64_t>(counts.reference[0]), static_cast<uint64_t>(na),
                                                static_cast<uint64_t>(counts.current[0]), static_cast<uint64_t>(nb));
      out.statistic = r.statistic;
      out.p_value = r.p_value;
      out.effect_name = "cohens_h";
      out.effect = r.cohens_h;
      return {};
    }
    case DriftTest::kJensenShannon:
      out.statistic = jensen_shannon(counts.reference, counts.current);
      out.effect_name = "jensenshannon";
      out.effect = out.statistic;
      return {};
    case DriftTest::kPsi:
      out.statistic = psi(counts.reference, counts.current);
      out.effect_name = "psi";
      out.effect = out.statistic;
      return {};
    case DriftTest::kKs:
    case DriftTest::kWasserstein:
    case DriftTest::kAuto: break;
  }
  return make_error(ErrorCode::kInvalidArgument, "column '{}': the {} test needs a numeric column", out.column,
                    drift_test_name(out.test));
}

void for_each_index(size_t n, unsigned threads, const std::function<void(size_t)>& fn) {
  unsigned workers = threads != 0 ? threads : std::max(1U, std::thread::hardware_concurrency());
  workers = static_cast<unsigned>(std::min<size_t>(workers, n));
  if (workers <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (unsigned w = 0; w < workers; ++w) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++) fn(i);
    });
  }
  for (auto& t : pool) t.join();
}

}  // namespace detail

Result<DriftReport> detect_drift(const Frame& reference, const Frame& current, const DriftOptions& options) {
  auto refs = [](const Frame& f) {
    std::vector<detail::ColumnRef> out;
    for (const auto& c : f.columns) out.push_back({c.name, c.kind});
    return out;
  };
  SLIPWAY_ASSIGN_OR_RETURN(auto plan, detail::plan_columns(refs(reference), refs(current), options));
  DriftReport report;
  report.columns.resize(plan.size());
  std::vector<Status> errors(plan.size());
  detail::for_each_index(plan.size(), options.threads, [&](size_t i) {
    const Column& ref = reference.columns[plan[i].reference_index];
    const Column& cur = current.columns[plan[i].current_index];
    ColumnDrift& out = report.columns[i];
    out.column = ref.name;
    out.kind = ref.kind;
    out.test = plan[i].test;
    out.test_chosen = plan[i].test == DriftTest::kAuto;
    errors[i] = run_column(ref, cur, options, out);
  });
  for (const auto& e : errors) SLIPWAY_RETURN_IF_ERROR(e);
  detail::finish_report(options, report);
  return report;
}

}  // namespace slipway::monitor
