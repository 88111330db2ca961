// Sorting, chi-squared, proportions, distances and the FDR adjustment (see slipway/monitor/stats.h).
#include "slipway/monitor/stats.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <numeric>
#include <thread>

namespace slipway::monitor {

namespace {

// Maps a double to an unsigned key whose unsigned order is the numeric order (negative numbers:
// all bits flipped; positive: the sign bit set).
inline uint64_t to_key(double v) {
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof bits);
  return (bits & 0x8000000000000000ULL) != 0 ? ~bits : bits | 0x8000000000000000ULL;
}
inline double from_key(uint64_t key) {
  const uint64_t bits = (key & 0x8000000000000000ULL) != 0 ? key & ~0x8000000000000000ULL : ~key;
  double v = 0;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

constexpr size_t kRadixThreshold = 4096;
constexpr int kDigitBits = 11;  // 2,048 counters per pass stay in L1
constexpr int kPasses = 6;      // 6 x 11 >= 64
constexpr size_t kBuckets = size_t{1} << kDigitBits;

// Upper regularized incomplete gamma Q(a, x): series for x < a + 1, else Lentz's continued fraction
// (Numerical Recipes 6.2), both to relative 1e-16.
double gamma_q(double a, double x) {
  if (x <= 0) return 1.0;
  const double log_prefix = -x + a * std::log(x) - std::lgamma(a);
  if (x < a + 1) {
    double ap = a;
    double del = 1.0 / a;
    double sum = del;
    for (int i = 0; i < 100000; ++i) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (std::abs(del) < std::abs(sum) * 1e-17) break;
    }
    return std::clamp(1.0 - sum * std::exp(log_prefix), 0.0, 1.0);
  }
  constexpr double kTiny = 1e-300;
  double b = x + 1 - a;
  double c = 1 / kTiny;
  double d = 1 / b;
  double h = d;
  for (int i = 1; i < 100000; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::abs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::abs(del - 1) < 1e-17) break;
  }
  return std::clamp(std::exp(log_prefix) * h, 0.0, 1.0);
}

}  // namespace

namespace {

// LSD radix sort of order-preserving keys, 11 bits a pass, all histograms from one read.
void radix_sort_keys(std::vector<uint64_t>& keys) {
  const size_t n = keys.size();
  std::vector<uint64_t> tmp(n);
  std::vector<uint32_t> counts(kBuckets * kPasses, 0);
  for (uint64_t k : keys) {
    for (int p = 0; p < kPasses; ++p) ++counts[static_cast<size_t>(p) * kBuckets + ((k >> (p * kDigitBits)) & (kBuckets - 1))];
  }
  for (int pass = 0; pass < kPasses; ++pass) {
    const int shift = pass * kDigitBits;
    uint32_t* c = counts.data() + static_cast<size_t>(pass) * kBuckets;
    if (c[(keys[0] >> shift) & (kBuckets - 1)] == n) continue;  // every key shares this digit
    uint32_t total = 0;
    for (size_t b = 0; b < kBuckets; ++b) {
      const uint32_t here = c[b];
      c[b] = total;
      total += here;
    }
    for (uint64_t k : keys) tmp[c[(k >> shift) & (kBuckets - 1)]++] = k;
    keys.swap(tmp);
  }
}

}  // namespace

void sort_values(std::vector<double>& values) {
  for (double& v : values) v += 0.0;  // -0.0 -> +0.0
  if (values.size() < kRadixThreshold) {
    std::sort(values.begin(), values.end());
    return;
  }
  std::vector<uint64_t> keys(values.size());
  for (size_t i = 0; i < values.size(); ++i) keys[i] = to_key(values[i]);
  radix_sort_keys(keys);
  for (size_t i = 0; i < values.size(); ++i) values[i] = from_key(keys[i]);
}

std::vector<double> sorted_without_nan(std::span<const double> values) {
  size_t kept = 0;
  for (double v : values) kept += std::isnan(v) ? 0 : 1;
  if (kept < kRadixThreshold) {
    std::vector<double> out;
    out.reserve(kept);
    for (double v : values) {
      if (!std::isnan(v)) out.push_back(v + 0.0);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // Straight into keys (one pass fewer than copy-then-sort), back to doubles at the end.
  std::vector<uint64_t> keys;
  keys.reserve(kept);
  for (double v : values) {
    if (!std::isnan(v)) keys.push_back(to_key(v + 0.0));
  }
  radix_sort_keys(keys);
  std::vector<double> out(kept);
  for (size_t i = 0; i < kept; ++i) out[i] = from_key(keys[i]);
  return out;
}

namespace {

// D without sorting everything: values are counted into 2^20 bins of equal width (tails clamped into
// the end bins); F_a - F_b is exact at every bin's end (all copies of a value share a bin), and inside a bin
// it can move at most by the bin's own counts. Only the bins whose bound could beat the best
// bin-end value are sorted and walked exactly, so the answer is the same as the full merge walk
// (ks_2samp_sorted) at a fraction of the cost.
struct Extremes {
  int64_t best_pos = 0, best_neg = 0;
  uint64_t pos_i = 0, pos_j = 0, neg_i = 0, neg_j = 0;
  void see(uint64_t i, uint64_t j, int64_t m1, int64_t m2) {
    const int64_t num = static_cast<int64_t>(i) * m2 - static_cast<int64_t>(j) * m1;
    if (num > best_pos) {
      best_pos = num;
      pos_i = i;
      pos_j = j;
    } else if (-num > best_neg) {
      best_neg = -num;
      neg_i = i;
      neg_j = j;
    }
  }
};

KsResult ks_2samp_binned(std::span<const double> a, std::span<const double> b) {
  std::vector<double> ka, kb;
  ka.reserve(a.size());
  kb.reserve(b.size());
  for (double v : a) {
    if (!std::isnan(v)) ka.push_back(v + 0.0);
  }
  for (double v : b) {
    if (!std::isnan(v)) kb.push_back(v + 0.0);
  }
  KsResult out;
  const uint64_t n1 = ka.size(), n2 = kb.size();
  if (n1 == 0 || n2 == 0) {
    out.p_value = std::nan("");
    return out;
  }
  const int64_t m1 = static_cast<int64_t>(n1), m2 = static_cast<int64_t>(n2);
  // Bins of equal width in value between robust ends (from an even sample of both), the tails
  // clamped into the end bins: bin_of is monotone, so bins keep the values' order and equal values
  // share a bin, whatever the values (infinities included).
  constexpr size_t kBins = size_t{1} << 20;
  std::vector<double> sample;
  sample.reserve(8192);
  for (size_t k = 0; k < 4096; ++k) {
    sample.push_back(ka[k * n1 / 4096]);
    sample.push_back(kb[k * n2 / 4096]);
  }
  std::sort(sample.begin(), sample.end());
  double lo = sample[8], hi = sample[sample.size() - 9];
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) {
    lo = sample.front();
    hi = sample.back();
  }
  const double scale = (hi > lo && std::isfinite(hi - lo)) ? static_cast<double>(kBins - 2) / (hi - lo) : 0.0;
  auto bin_of = [&](double v) -> size_t {
    const double x = (v - lo) * scale;
    if (!(x > 0)) return 0;
    if (x >= static_cast<double>(kBins - 1)) return kBins - 1;
    return static_cast<size_t>(x);
  };
  const size_t bins = kBins;
  std::vector<uint32_t> ca(bins, 0), cb(bins, 0);
  for (double v : ka) ++ca[bin_of(v)];
  for (double v : kb) ++cb[bin_of(v)];
  // Exact values at the bin ends.
  Extremes best;
  uint64_t i = 0, j = 0;
  for (size_t bin = 0; bin < bins; ++bin) {
    i += ca[bin];
    j += cb[bin];
    if (ca[bin] + cb[bin] > 0) best.see(i, j, m1, m2);
  }
  // Bins whose inside could hold a larger gap: walk them exactly.
  std::vector<uint32_t> candidates;
  i = 0;
  j = 0;
  for (size_t bin = 0; bin < bins; ++bin) {
    if (ca[bin] + cb[bin] > 1) {
      const int64_t before = static_cast<int64_t>(i) * m2 - static_cast<int64_t>(j) * m1;
      const int64_t up = before + static_cast<int64_t>(ca[bin]) * m2;
      const int64_t down = before - static_cast<int64_t>(cb[bin]) * m1;
      if (up > best.best_pos || -down > best.best_neg) candidates.push_back(static_cast<uint32_t>(bin));
    }
    i += ca[bin];
    j += cb[bin];
  }
  if (!candidates.empty()) {
    std::vector<int32_t> slot(bins, -1);
    for (size_t c = 0; c < candidates.size(); ++c) slot[candidates[c]] = static_cast<int32_t>(c);
    std::vector<std::vector<double>> va(candidates.size()), vb(candidates.size());
    for (size_t c = 0; c < candidates.size(); ++c) {
      va[c].reserve(ca[candidates[c]]);
      vb[c].reserve(cb[candidates[c]]);
    }
    for (double v : ka) {
      if (int32_t s = slot[bin_of(v)]; s >= 0) va[static_cast<size_t>(s)].push_back(v);
    }
    for (double v : kb) {
      if (int32_t s = slot[bin_of(v)]; s >= 0) vb[static_cast<size_t>(s)].push_back(v);
    }
    // Counts before each candidate bin.
    std::vector<uint64_t> before_a(candidates.size()), before_b(candidates.size());
    i = 0;
    j = 0;
    size_t c = 0;
    for (size_t bin = 0; bin < bins && c < candidates.size(); ++bin) {
      if (bin == candidates[c]) {
        before_a[c] = i;
        before_b[c] = j;
        ++c;
      }
      i += ca[bin];
      j += cb[bin];
    }
    for (size_t c2 = 0; c2 < candidates.size(); ++c2) {
      auto& x = va[c2];
      auto& y = vb[c2];
      std::sort(x.begin(), x.end());
      std::sort(y.begin(), y.end());
      size_t p = 0, q = 0;
      while (p < x.size() || q < y.size()) {
        const double v = q == y.size() || (p < x.size() && x[p] <= y[q]) ? x[p] : y[q];
        while (p < x.size() && x[p] == v) ++p;
        while (q < y.size() && y[q] == v) ++q;
        best.see(before_a[c2] + p, before_b[c2] + q, m1, m2);
      }
    }
  }
  const double max_pos = static_cast<double>(best.pos_i) / static_cast<double>(n1) -
                         static_cast<double>(best.pos_j) / static_cast<double>(n2);
  const double max_neg = static_cast<double>(best.neg_j) / static_cast<double>(n2) -
                         static_cast<double>(best.neg_i) / static_cast<double>(n1);
  const double d = std::min(1.0, std::max(max_pos, max_neg));
  out.p_value = ks_2samp_pvalue(d, n1, n2, &out.exact, &out.statistic);
  return out;
}

}  // namespace

KsResult ks_2samp(std::span<const double> a, std::span<const double> b) {
  if (a.size() + b.size() > 200000) return ks_2samp_binned(a, b);
  std::vector<double> sb = sorted_without_nan(b);
  std::vector<double> sa = sorted_without_nan(a);
  if (sa.empty() || sb.empty()) {
    KsResult empty;
    empty.p_value = std::nan("");
    return empty;
  }
  return ks_2samp_sorted(sa, sb);
}

double chi2_sf(double x, double dof) {
  if (std::isnan(x) || dof <= 0) return std::nan("");
  return gamma_q(dof / 2, x / 2);
}

double normal_sf(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

ChiSquaredResult chi2_contingency(std::span<const double> a, std::span<const double> b) {
  ChiSquaredResult out;
  std::vector<std::array<double, 2>> cols;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i] + b[i] > 0) cols.push_back({a[i], b[i]});
  }
  double row_a = 0;
  double row_b = 0;
  for (const auto& c : cols) {
    row_a += c[0];
    row_b += c[1];
  }
  const double total = row_a + row_b;
  if (cols.size() < 2 || row_a <= 0 || row_b <= 0) return out;
  out.dof = static_cast<int64_t>(cols.size()) - 1;
  double chi2 = 0;
  for (const auto& c : cols) {
    const double col = c[0] + c[1];
    const double expected[2] = {row_a * col / total, row_b * col / total};
    for (int r = 0; r < 2; ++r) {
      double observed = c[static_cast<size_t>(r)];
      if (out.dof == 1) {  // Yates: move each cell at most 0.5 towards its expected count
        const double diff = expected[r] - observed;
        observed += std::copysign(std::min(0.5, std::abs(diff)), diff) * (diff != 0 ? 1.0 : 0.0);
      }
      chi2 += (observed - expected[r]) * (observed - expected[r]) / expected[r];
    }
  }
  out.statistic = chi2;
  out.p_value = chi2_sf(chi2, static_cast<double>(out.dof));
  out.cramers_v = std::sqrt(chi2 / total);  // min(2, k) - 1 == 1
  return out;
}

ProportionTestResult two_proportion_z(uint64_t x_a, uint64_t n_a, uint64_t x_b, uint64_t n_b) {
  ProportionTestResult out;
  if (n_a == 0 || n_b == 0) {
    out.p_value = std::nan("");
    return out;
  }
  const double pa = static_cast<double>(x_a) / static_cast<double>(n_a);
  const double pb = static_cast<double>(x_b) / static_cast<double>(n_b);
  const double p = static_cast<double>(x_a + x_b) / static_cast<double>(n_a + n_b);
  const double se = std::sqrt(p * (1 - p) * (1.0 / static_cast<double>(n_a) + 1.0 / static_cast<double>(n_b)));
  out.cohens_h = std::abs(2 * std::asin(std::sqrt(pa)) - 2 * std::asin(std::sqrt(pb)));
  if (se == 0) return out;
  out.statistic = (pa - pb) / se;
  out.p_value = std::min(1.0, 2 * normal_sf(std::abs(out.statistic)));
  return out;
}

double wasserstein_sorted(std::span<const double> a, std::span<const double> b) {
  const size_t n1 = a.size();
  const size_t n2 = b.size();
  if (n1 == 0 || n2 == 0) return std::nan("");
  size_t i = 0;
  size_t j = 0;
  long double sum = 0;
  while (i < n1 || j < n2) {
    const double v = (j >= n2 || (i < n1 && a[i] <= b[j])) ? a[i] : b[j];
    while (i < n1 && a[i] <= v) ++i;
    while (j < n2 && b[j] <= v) ++j;
    if (i == n1 && j == n2) break;
    const double next = (j >= n2 || (i < n1 && a[i] <= b[j])) ? a[i] : b[j];
    const double gap = static_cast<double>(i) / static_cast<double>(n1) - static_cast<double>(j) / static_cast<double>(n2);
    sum += static_cast<long double>(std::abs(gap)) * static_cast<long double>(next - v);
  }
  return static_cast<double>(sum);
}

double jensen_shannon(std::span<const double> p, std::span<const double> q) {
  const double sp = std::accumulate(p.begin(), p.end(), 0.0);
  const double sq = std::accumulate(q.begin(), q.end(), 0.0);
  if (sp <= 0 || sq <= 0 || p.size() != q.size()) return std::nan("");
  double left = 0;
  double right = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double pi = p[i] / sp;
    const double qi = q[i] / sq;
    const double m = (pi + qi) / 2.0;
    if (pi > 0) left += pi * std::log(pi / m);
    if (qi > 0) right += qi * std::log(qi / m);
  }
  return std::sqrt(std::max(0.0, (left + right) / 2.0));
}

double psi(std::span<const double> reference_counts, std::span<const double> current_counts, double epsilon) {
  const double sr = std::accumulate(reference_counts.begin(), reference_counts.end(), 0.0);
  const double sc = std::accumulate(current_counts.begin(), current_counts.end(), 0.0);
  if (sr <= 0 || sc <= 0 || reference_counts.size() != current_counts.size()) return std::nan("");
  double total = 0;
  for (size_t i = 0; i < reference_counts.size(); ++i) {
    double r = reference_counts[i] / sr;
    double c = current_counts[i] / sc;
    if (r == 0) r = epsilon;
    if (c == 0) c = epsilon;
    total += (c - r) * std::log(c / r);
  }
  return total;
}

std::vector<double> benjamini_hochberg(std::span<const double> p_values) {
  std::vector<double> out(p_values.size(), std::nan(""));
  std::vector<size_t> order;
  for (size_t i = 0; i < p_values.size(); ++i) {
    if (!std::isnan(p_values[i])) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return p_values[x] < p_values[y]; });
  const double m = static_cast<double>(order.size());
  double running = 1.0;
  for (size_t r = order.size(); r-- > 0;) {
    const double adjusted = p_values[order[r]] * m / static_cast<double>(r + 1);
    running = std::min(running, adjusted);
    out[order[r]] = std::min(1.0, running);
  }
  return out;
}

}  // namespace slipway::monitor
