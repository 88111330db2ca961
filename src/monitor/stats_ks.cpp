// Kolmogorov–Smirnov: the two-sample statistic by a merge walk over sorted samples and its p-value,
// choosing between exact and asymptotic distributions exactly as scipy.stats.ks_2samp(method='auto')
// (SciPy 1.15, scipy/stats/_stats_py.py, _ksstats.py, special/cephes kolmogorov.c), reimplemented.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "slipway/monitor/stats.h"

namespace slipway::monitor {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kScaleExponent = 128;
const double kScaleUp = std::ldexp(1.0, kScaleExponent);
const double kScaleDown = std::ldexp(1.0, -kScaleExponent);
constexpr uint64_t kMaxExactN = 10000;  // SciPy's MAX_AUTO_N

double clip01(double p) { return std::clamp(p, 0.0, 1.0); }

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

// ---- exact two-sample distribution -------------------------------------------------------------

// P(D_{n,n} >= h/n): 2 * sum_k (-1)^(k+1) binom(2n, n - k h) / binom(2n, n), in Horner form.
double prob_outside_square(int64_t n, int64_t h) {
  double p = 0.0;
  for (int64_t k = n / h; k >= 0; --k) {
    double p1 = 1.0;
    for (int64_t j = 0; j < h; ++j) {
      p1 = static_cast<double>(n - k * h - j) * p1 / static_cast<double>(n + k * h + j + 1);
    }
    p = p1 * (1.0 - p);
  }
  return 2 * p;
}

// P(D_{m,n} >= h / lcm(m, n)) by counting lattice paths that leave the band |x/m - y/n| < h/lcm
// (Hodges 1958), carried as 1 - p column by column (Viehmann 2021, arXiv:2102.08037).
double prob_outside_band(int64_t m, int64_t n, int64_t g, int64_t h) {
  if (m < n) std::swap(m, n);
  const int64_t mg = m / g;
  const int64_t ng = n / g;
  int64_t minj = 0;
  int64_t maxj = std::min(ceil_div(h, mg), n + 1);
  int64_t curlen = maxj - minj;
  const auto len = static_cast<size_t>(std::min(2 * maxj + 2, n + 1));
  std::vector<double> a(len, 1.0);
  for (int64_t j = minj; j < maxj && j < static_cast<int64_t>(len); ++j) a[static_cast<size_t>(j)] = 0.0;
  for (int64_t i = 1; i <= m; ++i) {
    const int64_t lastminj = minj;
    const int64_t lastlen = curlen;
    minj = std::min(std::max(floor_div(ng * i - h, mg) + 1, int64_t{0}), n);
    maxj = std::min(ceil_div(ng * i + h, mg), n + 1);
    if (maxj <= minj) return 1.0;
    double val = minj == 0 ? 0.0 : 1.0;
    for (int64_t jj = 0; jj < maxj - minj; ++jj) {
      const int64_t j = jj + minj;
      val = (a[static_cast<size_t>(jj + minj - lastminj)] * static_cast<double>(i) + val * static_cast<double>(j)) /
            static_cast<double>(i + j);
      a[static_cast<size_t>(jj)] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) {
      const auto from = static_cast<size_t>(maxj - minj);
      const auto to = std::min(len, static_cast<size_t>(maxj - minj + (lastlen - curlen)));
      for (size_t k = from; k < to; ++k) a[k] = 1.0;
    }
  }
  return a[static_cast<size_t>(maxj - minj - 1)];
}

// ---- one-sample two-sided distribution (kstwo) -----------------------------------------------------

// log(n! / n^n) by Stirling's series with n log n removed up front.
double log_nfactorial_div_n_pow_n(double n) {
  static constexpr double kStirling[] = {-2.955065359477124183e-2, 6.4102564102564102564e-3,
                                         -1.9175269175269175269e-3, 8.4175084175084175084e-4,
                                         -5.952380952380952381e-4,  7.9365079365079365079e-4,
                                         -2.7777777777777777778e-3, 8.3333333333333333333e-2};
  const double rn = 1.0 / n;
  const double z = rn / n;
  double poly = 0.0;
  for (double c : kStirling) poly = poly * z + c;
  return std::log(n) / 2 - n + std::log(2 * kPi) / 2 + rn * poly;
}

using Matrix = std::vector<double>;  // row-major m x m

Matrix matmul(const Matrix& x, const Matrix& y, size_t m) {
  Matrix out(m * m, 0.0);
  for (size_t i = 0; i < m; ++i) {
    for (size_t k = 0; k < m; ++k) {
      const double xik = x[i * m + k];
      if (xik == 0.0) continue;
      for (size_t j = 0; j < m; ++j) out[i * m + j] += xik * y[k * m + j];
    }
  }
  return out;
}

// P(D_n <= d): Durbin's matrix, evaluated as Marsaglia, Tsang and Wang (2003) with power scaling.
double kolmogn_cdf_durbin(int64_t n, double d) {
  if (d >= 1.0) return 1.0;
  const double nd = static_cast<double>(n) * d;
  if (nd <= 0.5) return 0.0;
  const auto k = static_cast<int64_t>(std::ceil(nd));
  const double h = static_cast<double>(k) - nd;
  const auto m = static_cast<size_t>(2 * k - 1);
  Matrix hm(m * m, 0.0);
  std::vector<double> v(m), w(m);
  double fac = 1.0;
  for (size_t j = 1; j <= m; ++j) {
    v[j - 1] = 1.0 - std::pow(h, static_cast<double>(j));
    w[j - 1] = fac;
    fac /= static_cast<double>(j);
    v[j - 1] *= fac;
  }
  const double tt = std::pow(std::max(2 * h - 1.0, 0.0), static_cast<double>(m)) - 2 * std::pow(h, static_cast<double>(m));
  v[m - 1] = (1.0 + tt) * fac;
  for (size_t i = 1; i < m; ++i) {
    for (size_t r = i - 1; r < m; ++r) hm[r * m + i] = w[r - (i - 1)];
  }
  for (size_t r = 0; r < m; ++r) hm[r * m] = v[r];
  for (size_t c = 0; c < m; ++c) hm[(m - 1) * m + c] = v[m - 1 - c];

  Matrix power(m * m, 0.0);
  for (size_t i = 0; i < m; ++i) power[i * m + i] = 1.0;
  int64_t nn = n;
  int64_t expnt = 0;
  int64_t hexpnt = 0;
  const size_t kk = static_cast<size_t>(k - 1) * m + static_cast<size_t>(k - 1);
  while (nn > 0) {
    if (nn % 2 != 0) {
      power = matmul(power, hm, m);
      expnt += hexpnt;
    }
    hm = matmul(hm, hm, m);
    hexpnt *= 2;
    if (std::abs(hm[kk]) > kScaleUp) {
      for (double& x : hm) x /= kScaleUp;
      hexpnt += kScaleExponent;
    }
    nn /= 2;
  }
  double p = power[kk];
  for (int64_t i = 1; i <= n; ++i) {
    p = static_cast<double>(i) * p / static_cast<double>(n);
    if (std::abs(p) < kScaleDown) {
      p *= kScaleUp;
      expnt -= kScaleExponent;
    }
  }
  if (expnt != 0) p = std::ldexp(p, static_cast<int>(expnt));
  return clip01(p);
}

void pomeranz_bounds(int64_t i, int64_t n, int64_t ll, int64_t ceilf, int64_t roundf, int64_t* j1, int64_t* j2) {
  int64_t a = 0;
  int64_t b = 0;
  if (i == 0) {
    a = -ll - ceilf - 1;
    b = ll + ceilf - 1;
  } else {
    const int64_t half = (i + 1) / 2;
    if ((i + 1) % 2 == 0) {
      if (half == n + 1) {
        a = n - ll - ceilf - 1;
        b = n + ll + ceilf - 1;
      } else {
        a = half - 1 - ll - roundf - 1;
        b = half + ll - 1 + ceilf - 1;
      }
    } else {
      a = half - 1 - ll - 1;
      b = half + ll + roundf - 1;
    }
  }
  *j1 = std::max(a + 2, int64_t{0});
  *j2 = std::min(b, n);
}

// P(D_n <= x) by Pomeranz's recursion (1974): rows of Poisson-like convolutions, scaled.
double kolmogn_cdf_pomeranz(int64_t n, double x) {
  const double t = static_cast<double>(n) * x;
  const auto ll = static_cast<int64_t>(std::floor(t));
  const double f = t - static_cast<double>(ll);
  const double g = std::min(f, 1.0 - f);
  const int64_t ceilf = f > 0 ? 1 : 0;
  const int64_t roundf = f > 0.5 ? 1 : 0;
  const auto npwrs = static_cast<size_t>(2 * (ll + 1));
  std::vector<double> gpower(npwrs), twogpower(npwrs), onem2gpower(npwrs);
  gpower[0] = twogpower[0] = onem2gpower[0] = 1.0;
  const double dn = static_cast<double>(n);
  for (size_t m = 1; m < npwrs; ++m) {
    gpower[m] = gpower[m - 1] * (g / dn) / static_cast<double>(m);
    twogpower[m] = twogpower[m - 1] * (2 * g / dn) / static_cast<double>(m);
    onem2gpower[m] = onem2gpower[m - 1] * ((1 - 2 * g) / dn) / static_cast<double>(m);
  }
  std::vector<double> v0(npwrs, 0.0), v1(npwrs, 0.0);
  v1[0] = 1;
  int64_t v0s = 0;
  int64_t v1s = 0;
  int64_t expnt = 0;
  int64_t j1 = 0;
  int64_t j2 = 0;
  pomeranz_bounds(0, n, ll, ceilf, roundf, &j1, &j2);
  std::vector<double> conv;
  for (int64_t i = 1; i < 2 * n + 2; ++i) {
    const int64_t k1 = j1;
    std::swap(v0, v1);
    std::swap(v0s, v1s);
    std::fill(v1.begin(), v1.end(), 0.0);
    pomeranz_bounds(i, n, ll, ceilf, roundf, &j1, &j2);
    const std::vector<double>& pwrs = (i == 1 || i == 2 * n + 1) ? gpower : (i % 2 != 0 ? twogpower : onem2gpower);
    const int64_t ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      // np.convolve(V0[k1 - V0s : k1 - V0s + ln2], pwrs[:ln2]), slices truncated at the ends.
      const int64_t start = k1 - v0s;
      const int64_t la = std::max<int64_t>(0, std::min<int64_t>(ln2, static_cast<int64_t>(npwrs) - start));
      const int64_t lb = std::min<int64_t>(ln2, static_cast<int64_t>(npwrs));
      conv.assign(static_cast<size_t>(la + lb - 1), 0.0);
      for (int64_t p = 0; p < la; ++p) {
        const double s = v0[static_cast<size_t>(start + p)];
        if (s == 0.0) continue;
        for (int64_t q = 0; q < lb; ++q) conv[static_cast<size_t>(p + q)] += s * pwrs[static_cast<size_t>(q)];
      }
      const int64_t conv_start = j1 - k1;
      const int64_t conv_len = j2 - j1 + 1;
      for (int64_t c = 0; c < conv_len; ++c) {
        const int64_t src = conv_start + c;
        if (src >= 0 && src < static_cast<int64_t>(conv.size()) && c < static_cast<int64_t>(npwrs)) {
          v1[static_cast<size_t>(c)] = conv[static_cast<size_t>(src)];
        }
      }
      const double mx = *std::max_element(v1.begin(), v1.end());
      if (mx > 0 && mx < kScaleDown) {
        for (double& z : v1) z *= kScaleUp;
        expnt -= kScaleExponent;
      }
      v1s = v0s + j1 - k1;
    }
  }
  double ans = v1[static_cast<size_t>(n - v1s)];
  for (int64_t m = 1; m <= n; ++m) {
    if (std::abs(ans) > kScaleUp) {
      ans *= kScaleDown;
      expnt += kScaleExponent;
    }
    ans *= static_cast<double>(m);
  }
  if (expnt != 0) ans = std::ldexp(ans, static_cast<int>(expnt));
  return clip01(ans);
}

// Pelz and Good (1976): the Li-Chien/Korolyuk expansion K0 + K1/sqrt(n) + K2/n + K3/n^1.5 rewritten
// through Jacobi theta functions for small z = x sqrt(n). Returns P(D_n <= x).
double kolmogn_cdf_pelz_good(int64_t n, double x) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const double dn = static_cast<double>(n);
  const double z = std::sqrt(dn) * x;
  const double z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
  const double qlog = -kPi * kPi / 8 / z2;
  if (qlog < -708) return 0.0;
  double q = std::exp(qlog);
  const double pi2 = kPi * kPi, pi4 = pi2 * pi2, pi6 = pi4 * pi2;
  const double k1a = -z2, k1b = pi2 / 4;
  const double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * pi2 / 4, k2c = pi4 * (1 - 2 * z2) / 16;
  const double k3d = pi6 * (5 - 30 * z2) / 64, k3c = pi4 * (-60 * z2 + 212 * z4) / 16;
  const double k3b = pi2 * (135 * z4 - 96 * z6) / 4, k3a = -30 * z6 - 90 * std::pow(z, 8);
  double k[4] = {0, 0, 0, 0};
  const auto maxk = static_cast<int64_t>(std::ceil(16 * z / kPi));
  for (int64_t kk = maxk; kk > 0; --kk) {
    const double m = static_cast<double>(2 * kk - 1);
    const double m2 = m * m, m4 = m2 * m2, m6 = m4 * m2;
    const double qpower = std::pow(q, static_cast<double>(8 * kk));
    const double coeffs[4] = {1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4,
                              k3a + k3b * m2 + k3c * m4 + k3d * m6};
    for (int i = 0; i < 4; ++i) k[i] = k[i] * qpower + coeffs[i];
  }
  const double sqrt2pi = std::sqrt(2 * kPi);
  const double denom[4] = {z, 6 * z4, 72 * std::pow(z, 7), 6480 * std::pow(z, 10)};
  for (int i = 0; i < 4; ++i) k[i] = k[i] * q * sqrt2pi / denom[i];
  q = std::exp(-pi2 / 2 / z2);
  double k2extra = 0, k3extra = 0;
  const double sqrt3z = std::sqrt(3.0) * z;
  for (int64_t kk = maxk; kk > 0; --kk) {
    const double ks = static_cast<double>(kk);
    const double qp = std::pow(q, ks * ks);
    k2extra += ks * ks * qp;
    k3extra += (sqrt3z + kPi * ks) * (sqrt3z - kPi * ks) * ks * ks * qp;
  }
  k[2] += k2extra * pi2 * sqrt2pi / (-36 * z3);
  k[3] += k3extra * pi2 * sqrt2pi / (216 * z6);
  double sum = 0;
  for (int i = 0; i < 4; ++i) sum += k[i] / std::pow(dn, i / 2.0);
  return sum;
}

}  // namespace

// One-sided Smirnov tail: x * sum_{v < n(1-x)} C(n,v) (1 - x - v/n)^(n-v) (x + v/n)^(v-1)
// (Birnbaum and Tingey 1951), terms in long-double log space; above a million terms the
// approximation exp(-(6nx+1)^2 / 18n), as SciPy does.
double smirnov_sf(int64_t n, double x) {
  if (!(n > 0 && x >= 0.0 && x <= 1.0)) return std::nan("");
  if (n == 1) return 1 - x;
  if (x == 0.0) return 1.0;
  if (x == 1.0) return 0.0;
  const long double nx = static_cast<long double>(n) * x;
  auto nxfl = static_cast<int64_t>(std::floor(nx));
  long double alpha = nx - static_cast<long double>(nxfl);
  if (alpha >= 1) {
    nxfl += 1;
    alpha = 0;
  }
  if (nxfl == 0 || (nxfl == 1 && alpha == 0)) {
    const double cdf = x * std::pow(1 + x, static_cast<double>(n - 1));
    return clip01(1 - cdf);
  }
  const double dn = static_cast<double>(n);
  if (-2 * dn * x * x < -708.3964185322641) return 0.0;
  if (nxfl >= n - 1) return clip01(std::pow(1 - x, dn));
  if (n > 1000000) {
    const double logp = -std::pow(6.0 * dn * x + 1, 2) / 18.0 / dn;
    return logp < -std::log(2.0) ? std::exp(logp) : 1 - (-std::expm1(logp));
  }
  int64_t last = n - nxfl - (alpha == 0 ? 0 : 1);  // largest v with 1 - x - v/n > 0
  if (alpha == 0) last -= 1;
  // Every term matters (for x ~ 1/sqrt(n) they are all of similar size), so there may be up to a
  // million: logs in double (each term to ~1e-10 relative), log C(n, v) carried in long double.
  const double nxd = static_cast<double>(nx);
  long double log_binom = 0;  // log C(n, v)
  double sum = 0;
  for (int64_t v = 0; v <= last; ++v) {
    const double dv = static_cast<double>(v);
    const double t2 = ((dn - dv) - nxd) / dn;  // 1 - x - v/n
    const double t1 = (nxd + dv) / dn;         // x + v/n
    const double log_term = static_cast<double>(log_binom) + (dn - dv) * std::log(t2) + (dv - 1) * std::log(t1);
    const double term = std::exp(log_term);
    sum += term;
    if (v > 0 && 4 * static_cast<double>(last - v + 1) * term < 2.220446049250313e-16 * sum && v != last) break;
    log_binom += std::log((dn - dv) / (dv + 1));
  }
  return clip01(x * sum);
}

double kolmogorov_sf(int64_t n, double x) {
  if (n <= 0) return std::nan("");
  if (x >= 1.0) return 0.0;
  if (x <= 0.0) return 1.0;
  const double dn = static_cast<double>(n);
  const double t = dn * x;
  if (t <= 1.0) {  // Ruben and Gambino: 1/2n <= x <= 1/n
    if (t <= 0.5) return 1.0;
    double cdf = 0;
    if (n <= 140) {
      cdf = 1.0;
      for (int64_t i = 1; i <= n; ++i) cdf *= static_cast<double>(i) * (1.0 / dn) * (2 * t - 1);
    } else {
      cdf = std::exp(log_nfactorial_div_n_pow_n(dn) + dn * std::log(2 * t - 1));
    }
    return clip01(1.0 - cdf);
  }
  if (t >= dn - 1) return clip01(2 * std::pow(1.0 - x, dn));
  if (x >= 0.5) return clip01(2 * smirnov_sf(n, x));
  const double nxsquared = t * x;
  if (n <= 140) {
    if (nxsquared <= 0.754693) return clip01(1.0 - kolmogn_cdf_durbin(n, x));
    if (nxsquared <= 4) return clip01(1.0 - kolmogn_cdf_pomeranz(n, x));
    return clip01(2 * smirnov_sf(n, x));
  }
  if (nxsquared >= 370.0) return 0.0;
  if (nxsquared >= 2.2) return clip01(2 * smirnov_sf(n, x));
  double cdf = 0;
  if (n <= 100000 && dn * std::pow(x, 1.5) <= 1.4) {
    cdf = kolmogn_cdf_durbin(n, x);
  } else {
    cdf = kolmogn_cdf_pelz_good(n, x);
  }
  return clip01(1.0 - clip01(cdf));
}

double ks_2samp_pvalue(double d, uint64_t n1, uint64_t n2, bool* exact, double* rounded_d) {
  if (rounded_d != nullptr) *rounded_d = d;
  if (exact != nullptr) *exact = false;
  if (n1 == 0 || n2 == 0) return std::nan("");
  if (std::max(n1, n2) <= kMaxExactN) {
    const auto a = static_cast<int64_t>(n1);
    const auto b = static_cast<int64_t>(n2);
    const int64_t g = std::gcd(a, b);
    const int64_t lcm = (a / g) * b;
    const auto h = static_cast<int64_t>(std::nearbyint(d * static_cast<double>(lcm)));
    const double dr = static_cast<double>(h) / static_cast<double>(lcm);
    double prob = 1.0;
    if (h != 0) prob = a == b ? prob_outside_square(a, h) : prob_outside_band(a, b, g, h);
    if (std::isfinite(prob) && prob >= 0 && prob <= 1) {
      if (rounded_d != nullptr) *rounded_d = dr;
      if (exact != nullptr) *exact = true;
      return prob;
    }
    d = dr;  // SciPy keeps the rounded D when it falls back
    if (rounded_d != nullptr) *rounded_d = dr;
  }
  const double m = static_cast<double>(std::max(n1, n2));
  const double n = static_cast<double>(std::min(n1, n2));
  const double en = m * n / (m + n);
  return clip01(kolmogorov_sf(static_cast<int64_t>(std::nearbyint(en)), d));
}

KsResult ks_2samp_sorted(std::span<const double> a, std::span<const double> b) {
  KsResult out;
  const size_t n1 = a.size();
  const size_t n2 = b.size();
  if (n1 == 0 || n2 == 0) {
    out.p_value = std::nan("");
    return out;
  }
  // Walk the merged order; after the last copy of each distinct value, F_a - F_b = (i n2 - j n1) /
  // (n1 n2) exactly in integers. D is then evaluated as SciPy does, i/n1 - j/n2 in doubles, at the
  // extreme points (searchsorted side='right').
  size_t i = 0;
  size_t j = 0;
  const auto m1 = static_cast<int64_t>(n1);
  const auto m2 = static_cast<int64_t>(n2);
  int64_t best_pos = 0, best_neg = 0;
  size_t pos_i = 0, pos_j = 0, neg_i = 0, neg_j = 0;
  while (i < n1 && j < n2) {
    double v = 0;
    if (a[i] < b[j]) {
      v = a[i++];
    } else if (b[j] < a[i]) {
      v = b[j++];
    } else {
      v = a[i++];
      ++j;
    }
    if ((i < n1 && a[i] <= v) || (j < n2 && b[j] <= v)) continue;  // more copies of v to come
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
  // Once one sample is exhausted its CDF is 1; the other only climbs towards 1, so the gap only shrinks.
  const double max_pos = static_cast<double>(pos_i) / static_cast<double>(n1) - static_cast<double>(pos_j) / static_cast<double>(n2);
  const double max_neg = static_cast<double>(neg_j) / static_cast<double>(n2) - static_cast<double>(neg_i) / static_cast<double>(n1);
  const double d = std::min(1.0, std::max(max_pos, max_neg));
  out.p_value = ks_2samp_pvalue(d, n1, n2, &out.exact, &out.statistic);
  return out;
}

}  // namespace slipway::monitor
