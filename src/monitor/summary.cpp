// Bounded-memory, mergeable per-window summaries binned against the reference, and drift computed
// from two of them (slipway/monitor/drift.h). Counts are integers, so a summary of the same rows is
// the same whatever the order or the chunking: results are stable run to run.
#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include <fmt/format.h>

#include "drift_internal.h"
#include "slipway/monitor/drift.h"
#include "slipway/monitor/stats.h"

namespace slipway::monitor {

namespace {

ColumnSummary numeric_layout(const Column& column, size_t bins) {
  ColumnSummary s;
  s.column = column.name;
  s.kind = ColumnKind::kNumeric;
  std::vector<double> a = sorted_without_nan(column.numbers);
  if (!a.empty() && bins > 0) {
    const size_t n = a.size();
    for (size_t k = 0; k <= bins; ++k) {
      // Lower empirical quantile k / bins: always a reference value, so ties collapse to one edge.
      const double e = a[static_cast<size_t>((static_cast<unsigned __int128>(k) * (n - 1)) / bins)];
      if (s.edges.empty() || e > s.edges.back()) s.edges.push_back(e);
    }
  }
  s.counts.assign(s.edges.size() + 2, 0);
  return s;
}

ColumnSummary categorical_layout(const Column& column, size_t max_categories) {
  ColumnSummary s;
  s.column = column.name;
  s.kind = ColumnKind::kCategorical;
  std::unordered_map<std::string_view, uint64_t> counts;
  for (size_t r = 0; r < column.strings.size(); ++r) {
    if (!column.is_missing(r)) ++counts[column.strings[r]];
  }
  std::vector<std::pair<std::string_view, uint64_t>> order(counts.begin(), counts.end());
  std::sort(order.begin(), order.end(),
            [](const auto& x, const auto& y) { return x.second != y.second ? x.second > y.second : x.first < y.first; });
  for (size_t k = 0; k < order.size() && k < max_categories; ++k) {
    if (order[k].first != kOtherCategory) s.categories.emplace_back(order[k].first);
  }
  s.categories.emplace_back(kOtherCategory);
  s.counts.assign(s.categories.size(), 0);
  return s;
}

// Cell of a numeric value: 0 below e_0, k + 1 for e_{k-1} < v <= e_k (k = 0: v == e_0), E + 1 above.
size_t numeric_cell(const std::vector<double>& edges, double v) {
  if (edges.empty()) return 1;  // counts has two cells; everything is "above" nothing
  if (v < edges.front()) return 0;
  return static_cast<size_t>(std::lower_bound(edges.begin(), edges.end(), v) - edges.begin()) + 1;
}

// numeric_cell with a lookup. [e_0, e_E] is cut into equal-width slices and an edge's slice is
// computed by the same monotone function as a value's, so the edges of slices before v's are all
// below v and those of slices after it all above: v's cell is the number of edges in earlier
// slices plus the few of its own slice below it (usually none or one) — exact, no search, no
// branch that depends on the data beyond the short scan.
class CellIndex {
 public:
  explicit CellIndex(const std::vector<double>& edges) : edges_(edges) {
    const size_t n = edges.size();
    if (n < 64 || !(edges.front() < edges.back()) || !std::isfinite(edges.back() - edges.front())) return;
    lo_ = edges.front();
    scale_ = static_cast<double>(kSlices) / (edges.back() - edges.front());
    if (!std::isfinite(scale_) || !(scale_ > 0)) return;
    start_.assign(kSlices + 1, 0);
    for (double e : edges) ++start_[slice(e) + 1];
    for (size_t j = 1; j <= kSlices; ++j) start_[j] += start_[j - 1];
  }
  size_t cell(double v) const {
    if (start_.empty()) return numeric_cell(edges_, v);
    if (v < edges_.front()) return 0;
    if (v > edges_.back()) return edges_.size() + 1;
    const size_t j = slice(v);
    size_t p = start_[j];
    const size_t end = start_[j + 1];
    while (p < end && edges_[p] < v) ++p;
    return p + 1;
  }

 private:
  static constexpr size_t kSlices = 4096;
  // Monotone in x over [e_0, e_E]: rounding of the subtraction and the product never reorders.
  size_t slice(double x) const {
    const double t = (x - lo_) * scale_;
    return t >= static_cast<double>(kSlices) ? kSlices - 1 : t > 0 ? static_cast<size_t>(t) : 0;
  }
  const std::vector<double>& edges_;
  double lo_ = 0, scale_ = 0;
  std::vector<uint32_t> start_;
};

struct Cdf {
  std::vector<double> at;  // F at -inf, e_0, ..., e_{E-1}, +inf
};

Cdf cdf_at_edges(const ColumnSummary& s) {
  Cdf out;
  const double n = static_cast<double>(s.values());
  out.at.push_back(0.0);
  uint64_t running = s.counts[0];
  for (size_t k = 0; k < s.edges.size(); ++k) {
    running += s.counts[k + 1];
    out.at.push_back(static_cast<double>(running) / n);
  }
  out.at.push_back(1.0);
  return out;
}

// W = integral |F1 - F2| with each cell's mass spread evenly across it (point mass at e_0), the
// open cells spanning [min, e_0) and (e_last, max] of both samples.
double binned_wasserstein(const ColumnSummary& r, const ColumnSummary& c) {
  const auto& e = r.edges;
  const double lo = std::min(r.min, c.min);
  const double hi = std::max(r.max, c.max);
  std::vector<double> xs = {std::min(lo, e.front())};
  std::vector<double> f1 = {0.0}, f2 = {0.0};
  const double n1 = static_cast<double>(r.values()), n2 = static_cast<double>(c.values());
  // Just before e_0 the below cell is complete; at e_0 the point mass jumps.
  xs.push_back(e.front());
  f1.push_back(static_cast<double>(r.counts[0]) / n1);
  f2.push_back(static_cast<double>(c.counts[0]) / n2);
  double total = 0;
  auto segment = [](double x0, double x1, double a0, double a1) {
    // integral over [x0, x1] of |a(x)| where a is linear from a0 to a1
    const double w = x1 - x0;
    if (w <= 0) return 0.0;
    if ((a0 >= 0) == (a1 >= 0)) return w * (std::abs(a0) + std::abs(a1)) / 2;
    const double t = a0 / (a0 - a1);
    return w * (t * std::abs(a0) + (1 - t) * std::abs(a1)) / 2;
  };
  total += segment(xs[0], xs[1], f1[0] - f2[0], f1[1] - f2[1]);
  uint64_t c1 = r.counts[0] + r.counts[1], c2 = c.counts[0] + c.counts[1];
  double prev1 = static_cast<double>(c1) / n1, prev2 = static_cast<double>(c2) / n2;
  for (size_t k = 1; k < e.size(); ++k) {
    c1 += r.counts[k + 1];
    c2 += c.counts[k + 1];
    const double next1 = static_cast<double>(c1) / n1, next2 = static_cast<double>(c2) / n2;
    total += segment(e[k - 1], e[k], prev1 - prev2, next1 - next2);
    prev1 = next1;
    prev2 = next2;
  }
  total += segment(e.back(), std::max(hi, e.back()), prev1 - prev2, 0.0);
  return total;
}

struct CellGroup {
  std::vector<double> reference, current;
  std::vector<double> edges;  // group boundaries (numeric)
};

// Fine cells coarsened into about `groups` groups of equal reference mass; the below / above cells
// stay groups of their own.
CellGroup coarsen(const ColumnSummary& r, const ColumnSummary& c, size_t groups) {
  CellGroup g;
  const size_t cells = r.counts.size();
  const double n1 = static_cast<double>(r.values());
  g.reference.push_back(static_cast<double>(r.counts[0]));
  g.current.push_back(static_cast<double>(c.counts[0]));
  g.edges.push_back(std::min(std::min(r.min, c.min), r.edges.front()));
  g.edges.push_back(r.edges.front());
  double acc_r = 0, acc_c = 0, cum = static_cast<double>(r.counts[0]);
  size_t made = 0;
  for (size_t k = 1; k + 1 < cells; ++k) {
    acc_r += static_cast<double>(r.counts[k]);
    acc_c += static_cast<double>(c.counts[k]);
    cum += static_cast<double>(r.counts[k]);
    const bool last = k + 2 == cells;
    if (last || cum >= n1 * static_cast<double>(made + 1) / static_cast<double>(groups)) {
      g.reference.push_back(acc_r);
      g.current.push_back(acc_c);
      g.edges.push_back(r.edges[k - 1]);
      acc_r = acc_c = 0;
      ++made;
    }
  }
  g.reference.push_back(static_cast<double>(r.counts[cells - 1]));
  g.current.push_back(static_cast<double>(c.counts[cells - 1]));
  g.edges.push_back(std::max(std::max(r.max, c.max), r.edges.back()));
  return g;
}

Status run_summary_column(const ColumnSummary& r, const ColumnSummary& c, const DriftOptions& options,
                          ColumnDrift& out) {
  out.reference_rows = r.values();
  out.current_rows = c.values();
  out.reference_missing = r.missing;
  out.current_missing = c.missing;
  const bool numeric = r.kind == ColumnKind::kNumeric;
  const bool discrete = numeric && r.edges.size() <= options.max_discrete_values;
  // Auto on a small categorical/discrete sample: z for two values, chi-squared for more — counted
  // over the cells either sample fills (a category the reference lacks lands in "(other)", a value
  // outside the reference's edges below/above them), as the exact path counts both samples.
  bool choose_z_by_cells = false;
  if (out.test == DriftTest::kAuto) {
    const bool small = out.reference_rows <= options.small_sample_rows;
    if (numeric && !discrete) {
      out.test = small ? DriftTest::kKs : DriftTest::kWasserstein;
    } else {
      out.test = small ? DriftTest::kChiSquared : DriftTest::kJensenShannon;
      choose_z_by_cells = small;
    }
  }
  if (out.reference_rows == 0 || out.current_rows == 0 || (numeric && r.edges.empty())) {
    out.note = out.reference_rows == 0 ? "no values in the reference" : "no values in the current data";
    return {};
  }
  out.tested = true;
  if (!numeric || (discrete && out.test != DriftTest::kKs && out.test != DriftTest::kWasserstein)) {
    detail::CategoryCounts counts;
    for (size_t k = 0; k < r.counts.size(); ++k) {
      if (r.counts[k] + c.counts[k] == 0) continue;
      std::string label;
      if (!numeric) {
        label = r.categories[k];
      } else if (k == 0) {
        label = "(below)";
      } else if (k == r.counts.size() - 1) {
        label = "(above)";
      } else {
        label = fmt::format("{}", r.edges[k - 1]);
      }
      counts.labels.push_back(std::move(label));
      counts.reference.push_back(static_cast<double>(r.counts[k]));
      counts.current.push_back(static_cast<double>(c.counts[k]));
    }
    if (choose_z_by_cells && counts.labels.size() <= 2) out.test = DriftTest::kZ;
    for (size_t k = 0; k < counts.labels.size(); ++k) {
      out.histogram.labels.push_back(counts.labels[k]);
      out.histogram.reference.push_back(static_cast<uint64_t>(counts.reference[k]));
      out.histogram.current.push_back(static_cast<uint64_t>(counts.current[k]));
    }
    return detail::run_categorical(std::move(counts), options, out);
  }
  CellGroup groups = coarsen(r, c, options.distance_bins);
  out.histogram.edges = groups.edges;
  for (size_t k = 0; k < groups.reference.size(); ++k) {
    out.histogram.reference.push_back(static_cast<uint64_t>(groups.reference[k]));
    out.histogram.current.push_back(static_cast<uint64_t>(groups.current[k]));
  }
  switch (out.test) {
    case DriftTest::kKs: {
      Cdf f1 = cdf_at_edges(r), f2 = cdf_at_edges(c);
      double lo = 0, hi = 0;
      for (size_t j = 0; j < f1.at.size(); ++j) {
        lo = std::max(lo, std::abs(f1.at[j] - f2.at[j]));
        if (j + 1 < f1.at.size()) {
          hi = std::max({hi, f1.at[j + 1] - f2.at[j], f2.at[j + 1] - f1.at[j]});
        }
      }
      hi = std::max(hi, lo);
      out.statistic = lo;
      out.statistic_upper = hi;
      out.p_value = ks_2samp_pvalue(lo, out.reference_rows, out.current_rows);
      out.effect_name = "D";
      out.effect = lo;
      return {};
    }
    case DriftTest::kWasserstein: {
      const auto n = static_cast<long double>(r.values());
      const long double mean = r.sum / n;
      const double var = static_cast<double>(std::max<long double>(0, r.sum_squares / n - mean * mean));
      out.statistic = binned_wasserstein(r, c) / std::max(std::sqrt(var), 0.001);
      out.effect_name = "wasserstein_normed";
      out.effect = out.statistic;
      return {};
    }
    case DriftTest::kJensenShannon:
      out.statistic = jensen_shannon(groups.reference, groups.current);
      out.effect_name = "jensenshannon";
      out.effect = out.statistic;
      return {};
    case DriftTest::kPsi:
      out.statistic = psi(groups.reference, groups.current);
      out.effect_name = "psi";
      out.effect = out.statistic;
      return {};
    case DriftTest::kChiSquared:
    case DriftTest::kZ:
      return make_error(ErrorCode::kInvalidArgument,
                        "column '{}': the {} test needs categories; the column has more than {} distinct values",
                        out.column, drift_test_name(out.test), options.max_discrete_values);
    case DriftTest::kAuto: break;
  }
  return {};
}

bool same_layout(const ColumnSummary& a, const ColumnSummary& b) {
  return a.column == b.column && a.kind == b.kind && a.edges == b.edges && a.categories == b.categories &&
         a.counts.size() == b.counts.size();
}

}  // namespace

uint64_t ColumnSummary::values() const {
  uint64_t n = 0;
  for (uint64_t c : counts) n += c;
  return n;
}

const ColumnSummary* FrameSummary::find(std::string_view name) const {
  for (const auto& c : columns) {
    if (c.column == name) return &c;
  }
  return nullptr;
}

FrameSummary summary_layout(const Frame& reference, const SummaryOptions& options) {
  FrameSummary out;
  for (const auto& column : reference.columns) {
    out.columns.push_back(column.kind == ColumnKind::kNumeric ? numeric_layout(column, options.bins)
                                                              : categorical_layout(column, options.max_categories));
  }
  return out;
}

Status FrameSummary::add(const Frame& frame) {
  for (auto& s : columns) {
    const Column* column = frame.find(s.column);
    if (column == nullptr) {
      s.missing += frame.rows;
      continue;
    }
    if (column->kind != s.kind) {
      return make_error(ErrorCode::kInvalidArgument, "column '{}' is {} here but {} in the reference", s.column,
                        column->kind == ColumnKind::kNumeric ? "numeric" : "categorical",
                        s.kind == ColumnKind::kNumeric ? "numeric" : "categorical");
    }
    if (s.kind == ColumnKind::kNumeric) {
      // Accumulated in locals (registers) and stored once: the same sums in the same order.
      const bool empty = s.values() == 0;
      const CellIndex index(s.edges);
      uint64_t* counts = s.counts.data();
      uint64_t missing = 0, seen = 0;
      double sum = s.sum;
      long double sum_squares = s.sum_squares;
      double lo = std::numeric_limits<double>::infinity(), hi = -lo;
      for (double v : column->numbers) {
        if (std::isnan(v)) {
          ++missing;
          continue;
        }
        ++counts[index.cell(v)];
        ++seen;
        sum += v;
        sum_squares += static_cast<long double>(v) * v;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
      }
      s.missing += missing;
      s.sum = sum;
      s.sum_squares = sum_squares;
      if (seen > 0) {
        s.min = empty ? lo : std::min(s.min, lo);
        s.max = empty ? hi : std::max(s.max, hi);
      }
    } else {
      std::unordered_map<std::string_view, size_t> index;
      for (size_t k = 0; k + 1 < s.categories.size(); ++k) index.emplace(s.categories[k], k);
      const size_t other = s.categories.size() - 1;
      for (size_t r = 0; r < column->strings.size(); ++r) {
        if (column->is_missing(r)) {
          ++s.missing;
          continue;
        }
        auto it = index.find(column->strings[r]);
        ++s.counts[it == index.end() ? other : it->second];
      }
    }
  }
  rows += frame.rows;
  return {};
}

Status FrameSummary::merge(const FrameSummary& other) {
  if (other.columns.size() != columns.size()) {
    return make_error(ErrorCode::kInvalidArgument, "cannot merge summaries of {} and {} columns", columns.size(),
                      other.columns.size());
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    if (!same_layout(columns[i], other.columns[i])) {
      return make_error(ErrorCode::kInvalidArgument,
                        "cannot merge summaries of column '{}': they were binned against different references",
                        columns[i].column);
    }
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    auto& a = columns[i];
    const auto& b = other.columns[i];
    const bool a_empty = a.values() == 0, b_empty = b.values() == 0;
    if (a.kind == ColumnKind::kNumeric && !b_empty) {
      a.min = a_empty ? b.min : std::min(a.min, b.min);
      a.max = a_empty ? b.max : std::max(a.max, b.max);
    }
    for (size_t k = 0; k < a.counts.size(); ++k) a.counts[k] += b.counts[k];
    a.missing += b.missing;
    a.sum += b.sum;
    a.sum_squares += b.sum_squares;
  }
  rows += other.rows;
  return {};
}

Result<DriftReport> detect_drift(const FrameSummary& reference, const FrameSummary& current,
                                 const DriftOptions& options) {
  auto refs = [](const FrameSummary& f) {
    std::vector<detail::ColumnRef> out;
    for (const auto& c : f.columns) out.push_back({c.column, c.kind});
    return out;
  };
  SLIPWAY_ASSIGN_OR_RETURN(auto plan, detail::plan_columns(refs(reference), refs(current), options));
  DriftReport report;
  report.from_summaries = true;
  report.columns.resize(plan.size());
  for (size_t i = 0; i < plan.size(); ++i) {
    const ColumnSummary& r = reference.columns[plan[i].reference_index];
    const ColumnSummary& c = current.columns[plan[i].current_index];
    if (!same_layout(r, c)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "column '{}': the current summary was binned against a different reference", r.column);
    }
    ColumnDrift& out = report.columns[i];
    out.column = r.column;
    out.kind = r.kind;
    out.test = plan[i].test;
    out.test_chosen = plan[i].test == DriftTest::kAuto;
    SLIPWAY_RETURN_IF_ERROR(run_summary_column(r, c, options, out));
  }
  detail::finish_report(options, report);
  return report;
}

}  // namespace slipway::monitor
