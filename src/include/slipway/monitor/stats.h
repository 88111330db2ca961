// The statistics drift detection is built from, each equal to SciPy's on the same arrays (to 1e-6;
// tests/data/monitor/make_fixtures.py writes the SciPy side, tests/unit/monitor/stats_test.cpp
// checks it). Missing values never reach these functions: callers drop NaN first.
//
//   ks_2samp            scipy.stats.ks_2samp(a, b, method='auto')  (exact below 10,000 per side)
//   chi2_contingency    scipy.stats.chi2_contingency(table)        (Yates' correction when dof == 1)
//   two_proportion_z    pooled two-proportion z-test, two-sided
//   wasserstein         scipy.stats.wasserstein_distance(a, b)
//   jensen_shannon      scipy.spatial.distance.jensenshannon(p, q)  (natural log)
//   psi                 population stability index over shared bins
//   benjamini_hochberg  scipy.stats.false_discovery_control(p, method='bh')
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace slipway::monitor {

// Sorts doubles ascending with an LSD radix sort on their bit patterns (std::sort below a few
// thousand values). Input must hold no NaN; -0.0 becomes +0.0 so equal values tie as in NumPy.
void sort_values(std::vector<double>& values);

// Copies `values` without NaN and sorts them.
std::vector<double> sorted_without_nan(std::span<const double> values);

struct KsResult {
  double statistic = 0;  // D = sup |F_a - F_b|
  double p_value = 1;
  bool exact = false;    // the exact null distribution (max(n_a, n_b) <= 10,000), else asymptotic
};

// Two-sided two-sample Kolmogorov–Smirnov test on ascending, NaN-free samples (both non-empty).
KsResult ks_2samp_sorted(std::span<const double> a, std::span<const double> b);
// The same on raw samples: NaN dropped, both sorted (on two threads above 200,000 values). A
// sample left empty gives p-value NaN.
KsResult ks_2samp(std::span<const double> a, std::span<const double> b);

// The p-value of D for samples of sizes n1, n2, chosen exactly as SciPy's method='auto': the exact
// distribution (Hodges' lattice-path count, Viehmann's 1 - p recursion) when max(n1, n2) <= 10,000,
// else the one-sample Kolmogorov distribution kstwo at n = round(n1 n2 / (n1 + n2)). In exact mode
// *rounded_d (when given) receives D rounded to the lattice h / lcm(n1, n2), as SciPy reports it.
double ks_2samp_pvalue(double d, uint64_t n1, uint64_t n2, bool* exact = nullptr, double* rounded_d = nullptr);

// P(D_n >= x) for the two-sided one-sample statistic (scipy.stats.kstwo.sf), following Simard and
// L'Ecuyer (2011): Durbin/Marsaglia–Tsang–Wang matrix, Pomeranz recursion, Pelz–Good asymptotic or
// 2 * Smirnov's one-sided tail, by n and n x^2.
double kolmogorov_sf(int64_t n, double x);

// P(D_n^+ >= x) for the one-sided one-sample statistic (scipy.special.smirnov).
double smirnov_sf(int64_t n, double x);

// Upper tail of the chi-squared distribution, Q(dof / 2, x / 2) (scipy.stats.chi2.sf).
double chi2_sf(double x, double dof);
// Upper tail of the standard normal (scipy.stats.norm.sf).
double normal_sf(double z);

struct ChiSquaredResult {
  double statistic = 0;
  double p_value = 1;
  int64_t dof = 0;
  double cramers_v = 0;  // sqrt(chi2 / (N (min(rows, cols) - 1))), the effect size
};

// Pearson's chi-squared test of independence on a 2 x k table: counts of each category in the
// reference (`a`) and current (`b`) sample, same order. Categories with no count in either row are
// dropped first (SciPy would reject their zero expected count); fewer than two left gives
// statistic 0, p 1. Yates' continuity correction when dof == 1, as SciPy does by default.
ChiSquaredResult chi2_contingency(std::span<const double> a, std::span<const double> b);

struct ProportionTestResult {
  double statistic = 0;  // z, (p_a - p_b) / sqrt(p (1 - p) (1/n_a + 1/n_b)), p pooled
  double p_value = 1;    // two-sided
  double cohens_h = 0;   // |2 asin sqrt(p_a) - 2 asin sqrt(p_b)|, the effect size
};

// Two-proportion z-test: successes x out of n in each sample. Both proportions 0 or both 1: z = 0.
ProportionTestResult two_proportion_z(uint64_t x_a, uint64_t n_a, uint64_t x_b, uint64_t n_b);

// First Wasserstein distance between two ascending, NaN-free samples.
double wasserstein_sorted(std::span<const double> a, std::span<const double> b);

// Jensen–Shannon distance (the square root of the divergence, natural log, so in [0, sqrt(ln 2)])
// between two count or probability vectors over the same bins; each is normalised to sum 1.
double jensen_shannon(std::span<const double> p, std::span<const double> q);

// Population stability index sum (c_i - r_i) ln(c_i / r_i) over bin shares, where a share of 0 is
// replaced by `epsilon` (Evidently's 0.0001) so empty bins stay finite.
inline constexpr double kPsiEpsilon = 1e-4;
double psi(std::span<const double> reference_counts, std::span<const double> current_counts,
           double epsilon = kPsiEpsilon);

// Benjamini–Hochberg adjusted p-values (same order as the input; NaN entries stay NaN and are not
// counted among the hypotheses).
std::vector<double> benjamini_hochberg(std::span<const double> p_values);

}  // namespace slipway::monitor
