// The minimiser behind train_linear: limited-memory BFGS (Nocedal & Wright, "Numerical Optimization",
// 2nd ed., Algorithm 7.4 two-loop recursion, Algorithms 3.5/3.6 strong-Wolfe line search), and its
// orthant-wise variant OWL-QN for an added L1 term (Andrew & Gao, "Scalable training of
// L1-regularized log-linear models", ICML 2007). Plain sequential double arithmetic: the same inputs
// give bit-identical iterates. Header-only because only linear.cpp and its tests use it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace slipway::train::detail {

struct LbfgsOptions {
  int max_iter = 1000;
  double tol = 1e-6;  // stop when max |(pseudo-)gradient component| <= tol (scipy's pgtol)
  int memory = 10;    // correction pairs kept (scipy's maxcor)
  int max_linesearch = 50;
  double ftol = 64 * std::numeric_limits<double>::epsilon();  // relative decrease that counts as none (scipy's factr)
};

struct LbfgsResult {
  int iterations = 0;
  bool converged = false;
  std::string stop;  // why it stopped, for people (recorded in the run's details)
  double value = 0;  // objective at the returned point, L1 term included
};

// value_and_gradient(x, grad) returns the smooth part of the objective at x and writes its gradient.
// l1[i] >= 0 is the L1 weight of parameter i (empty = none). on_iteration(k, value) runs after each
// iteration k = 0, 1, ... with the new point already in x.
using ObjectiveFn = std::function<double(const std::vector<double>& x, std::vector<double>& grad)>;

namespace lbfgs_internal {

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Minimiser of the cubic through (a, fa, da) and (b, fb, db), kept inside the middle 80% of [a, b];
// the bisection point when the cubic has no usable minimum.
inline double cubic_step(double a, double fa, double da, double b, double fb, double db) {
  const double lo = std::min(a, b), hi = std::max(a, b), margin = 0.1 * (hi - lo);
  const double d1 = da + db - 3 * (fa - fb) / (a - b);
  const double disc = d1 * d1 - da * db;
  double t = 0.5 * (a + b);
  if (disc >= 0) {
    const double d2 = std::copysign(std::sqrt(disc), b - a);
    const double denom = db - da + 2 * d2;
    if (denom != 0) t = b - (b - a) * (db + d2 - d1) / denom;
  }
  if (!std::isfinite(t) || t < lo + margin || t > hi - margin) t = 0.5 * (a + b);
  return t;
}

}  // namespace lbfgs_internal

inline LbfgsResult minimize_lbfgs(const ObjectiveFn& value_and_gradient, std::vector<double>& x,
                                  const std::vector<double>& l1, const LbfgsOptions& options,
                                  const std::function<void(int, double)>& on_iteration) {
  using lbfgs_internal::dot;
  const size_t n = x.size();
  const bool owlqn = std::any_of(l1.begin(), l1.end(), [](double w) { return w > 0; });
  const auto l1_term = [&](const std::vector<double>& at) {
    double s = 0;
    if (owlqn) {
      for (size_t i = 0; i < n; ++i) s += l1[i] * std::fabs(at[i]);
    }
    return s;
  };
  // OWL-QN's pseudo-gradient: the steepest-descent direction of f + L1 at a point where |x| is not
  // differentiable, component by component. Equals the gradient when there is no L1 term.
  const auto pseudo_gradient = [&](const std::vector<double>& at, const std::vector<double>& g,
                                   std::vector<double>& pg) {
    pg = g;
    if (!owlqn) return;
    for (size_t i = 0; i < n; ++i) {
      const double c = l1[i];
      if (c == 0) continue;
      if (at[i] > 0) {
        pg[i] = g[i] + c;
      } else if (at[i] < 0) {
        pg[i] = g[i] - c;
      } else if (g[i] + c < 0) {
        pg[i] = g[i] + c;
      } else if (g[i] - c > 0) {
        pg[i] = g[i] - c;
      } else {
        pg[i] = 0;
      }
    }
  };
  const auto max_abs = [](const std::vector<double>& v) {
    double m = 0;
    for (double e : v) m = std::max(m, std::fabs(e));
    return m;
  };

  LbfgsResult result;
  std::vector<double> g(n), pg(n), d(n), x_new(n), g_new(n);
  double f = value_and_gradient(x, g) + l1_term(x);
  pseudo_gradient(x, g, pg);
  result.value = f;
  if (!std::isfinite(f)) {
    result.stop = "objective is not finite at the start";
    return result;
  }
  if (max_abs(pg) <= options.tol) {
    result.converged = true;
    result.stop = "gradient below tol at the start";
    return result;
  }

  const size_t m = static_cast<size_t>(std::max(1, options.memory));
  std::vector<std::vector<double>> s_hist, y_hist;
  std::vector<double> rho_hist, alpha(m);
  constexpr double kC1 = 1e-4, kC2 = 0.9;

  for (int iter = 0; iter < options.max_iter; ++iter) {
    // Two-loop recursion: d = -H * pg, H the L-BFGS inverse-Hessian estimate, H0 = (s'y / y'y) I.
    d = pg;
    for (size_t j = s_hist.size(); j-- > 0;) {
      alpha[j] = rho_hist[j] * dot(s_hist[j], d);
      for (size_t i = 0; i < n; ++i) d[i] -= alpha[j] * y_hist[j][i];
    }
    if (!s_hist.empty()) {
      const double gamma = dot(s_hist.back(), y_hist.back()) / dot(y_hist.back(), y_hist.back());
      for (double& e : d) e *= gamma;
    }
    for (size_t j = 0; j < s_hist.size(); ++j) {
      const double beta = rho_hist[j] * dot(y_hist[j], d);
      for (size_t i = 0; i < n; ++i) d[i] += (alpha[j] - beta) * s_hist[j][i];
    }
    for (double& e : d) e = -e;
    if (owlqn) {  // keep only components that descend along the pseudo-gradient
      for (size_t i = 0; i < n; ++i) {
        if (d[i] * pg[i] >= 0) d[i] = 0;
      }
    }
    double slope = dot(pg, d);
    if (!(slope < 0)) {  // not a descent direction (rounding): restart from steepest descent
      s_hist.clear();
      y_hist.clear();
      rho_hist.clear();
      for (size_t i = 0; i < n; ++i) d[i] = -pg[i];
      slope = dot(pg, d);
    }
    // First step of a run (or after a restart): length 1 / ||d||, as scipy; afterwards the unit step.
    double step = s_hist.empty() ? std::min(1.0, 1.0 / std::sqrt(dot(d, d))) : 1.0;

    double f_new = 0;
    bool accepted = false;
    if (owlqn) {
      // Backtracking on the orthant-projected step (Andrew & Gao, section 3.2).
      for (int ls = 0; ls < options.max_linesearch && !accepted; ++ls, step *= 0.5) {
        for (size_t i = 0; i < n; ++i) {
          x_new[i] = x[i] + step * d[i];
          if (l1[i] > 0) {
            const double orthant = x[i] != 0 ? x[i] : -pg[i];
            if (x_new[i] * orthant <= 0) x_new[i] = 0;
          }
        }
        f_new = value_and_gradient(x_new, g_new) + l1_term(x_new);
        double decrease = 0;
        for (size_t i = 0; i < n; ++i) decrease += pg[i] * (x_new[i] - x[i]);
        accepted = std::isfinite(f_new) && f_new <= f + kC1 * decrease;
      }
    } else {
      // Strong Wolfe line search (Nocedal & Wright 3.5 / 3.6) on phi(a) = f(x + a d).
      const auto eval = [&](double a, std::vector<double>& at, std::vector<double>& grad, double& dphi) {
        for (size_t i = 0; i < n; ++i) at[i] = x[i] + a * d[i];
        const double v = value_and_gradient(at, grad);
        dphi = dot(grad, d);
        return v;
      };
      std::vector<double> x_lo = x, g_lo = g, x_try(n), g_try(n);
      double a_lo = 0, f_lo = f, d_lo = slope;  // best point with sufficient decrease so far
      double a_prev = 0, f_prev = f, d_prev = slope;
      double a_hi = 0, f_hi = 0, d_hi = 0;
      bool zoom = false;
      int evals = 0;
      double a = step;
      while (evals < options.max_linesearch) {
        double d_a = 0;
        const double f_a = eval(a, x_try, g_try, d_a);
        ++evals;
        if (!std::isfinite(f_a) || f_a > f + kC1 * a * slope || (evals > 1 && f_a >= f_prev)) {
          a_hi = a, f_hi = f_a, d_hi = d_a;
          a_lo = a_prev, f_lo = f_prev, d_lo = d_prev;
          zoom = true;
          break;
        }
        x_lo = x_try, g_lo = g_try, a_lo = a, f_lo = f_a, d_lo = d_a;
        if (std::fabs(d_a) <= -kC2 * slope) {
          accepted = true;
          break;
        }
        if (d_a >= 0) {
          a_hi = a_prev, f_hi = f_prev, d_hi = d_prev;
          zoom = true;
          break;
        }
        a_prev = a, f_prev = f_a, d_prev = d_a;
        a *= 2;
      }
      while (zoom && !accepted && evals < options.max_linesearch) {
        double a_j =
            std::isfinite(f_hi) ? lbfgs_internal::cubic_step(a_lo, f_lo, d_lo, a_hi, f_hi, d_hi) : 0.5 * (a_lo + a_hi);
        if (std::fabs(a_hi - a_lo) <= 1e-16 * std::max(1.0, a_hi)) break;
        double d_j = 0;
        const double f_j = eval(a_j, x_try, g_try, d_j);
        ++evals;
        if (!std::isfinite(f_j) || f_j > f + kC1 * a_j * slope || f_j >= f_lo) {
          a_hi = a_j, f_hi = f_j, d_hi = d_j;
          continue;
        }
        if (std::fabs(d_j) <= -kC2 * slope) {
          x_lo = x_try, g_lo = g_try, a_lo = a_j, f_lo = f_j, d_lo = d_j;
          accepted = true;
          break;
        }
        if (d_j * (a_hi - a_lo) >= 0) a_hi = a_lo, f_hi = f_lo, d_hi = d_lo;
        x_lo = x_try, g_lo = g_try, a_lo = a_j, f_lo = f_j, d_lo = d_j;
      }
      // Without a Wolfe point, still take the best sufficient-decrease point found, if any.
      if (!accepted && a_lo > 0) accepted = true;
      if (accepted) {
        x_new = std::move(x_lo);
        g_new = std::move(g_lo);
        f_new = f_lo;
      }
    }

    if (!accepted) {
      result.stop = "line search found no decrease";
      result.iterations = iter;
      return result;
    }

    // Curvature pair from the smooth gradients; skipped when not positive (keeps H positive definite).
    std::vector<double> s(n), y(n);
    for (size_t i = 0; i < n; ++i) {
      s[i] = x_new[i] - x[i];
      y[i] = g_new[i] - g[i];
    }
    const double sy = dot(s, y);
    if (sy > 1e-10 * dot(y, y)) {
      if (s_hist.size() == m) {
        s_hist.erase(s_hist.begin());
        y_hist.erase(y_hist.begin());
        rho_hist.erase(rho_hist.begin());
      }
      s_hist.push_back(std::move(s));
      y_hist.push_back(std::move(y));
      rho_hist.push_back(1.0 / sy);
    }

    const double f_old = f;
    x.swap(x_new);
    g.swap(g_new);
    f = f_new;
    pseudo_gradient(x, g, pg);
    result.iterations = iter + 1;
    result.value = f;
    if (on_iteration) on_iteration(iter, f);

    if (max_abs(pg) <= options.tol) {
      result.converged = true;
      result.stop = "gradient below tol";
      return result;
    }
    if (f_old - f <= options.ftol * std::max({std::fabs(f_old), std::fabs(f), 1.0})) {
      result.converged = true;
      result.stop = "objective stopped decreasing";
      return result;
    }
  }
  result.stop = "max_iter reached";
  return result;
}

}  // namespace slipway::train::detail
