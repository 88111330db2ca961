// Inline SVG charts for the report (report_svg.h). Coordinates are in a fixed viewBox; CSS makes
// the element as wide as its card, so the charts scale with the page.
#include "report_svg.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <ctime>

#include <fmt/format.h>

namespace slipway::monitor::report_svg {

namespace {

constexpr std::array<const char*, 8> kPalette = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                                  "#b07aa1", "#76b7b2", "#edc948", "#9c755f"};

// Plot area inside the viewBox.
struct Frame {
  double width = 600, height = 240;
  double left = 56, right = 16, top = 16, bottom = 40;
  double x0() const { return left; }
  double x1() const { return width - right; }
  double y0() const { return height - bottom; }  // bottom of the plot
  double y1() const { return top; }
};

std::string num(double v) {
  if (!std::isfinite(v)) return "0";
  return fmt::format("{:.1f}", v);
}

// A short label for a number on an axis or beside a bar.
std::string label(double v) {
  if (v == 0) return "0";
  const double a = std::abs(v);
  if (a >= 1e6 || a < 1e-3) return fmt::format("{:.2g}", v);
  if (a >= 100) return fmt::format("{:.0f}", v);
  if (a >= 10) return fmt::format("{:.1f}", v);
  std::string s = fmt::format("{:.3f}", v);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

// "Nice" ticks covering [lo, hi] (Heckbert's rule: steps of 1, 2 or 5 times a power of ten).
std::vector<double> nice_ticks(double& lo, double& hi, int target = 5) {
  if (!(hi > lo)) {
    const double pad = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  const double step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step) * step;
  std::vector<double> ticks;
  for (double t = lo; t <= hi + step * 1e-9; t += step) ticks.push_back(std::abs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

std::string open_svg(const Frame& f, const std::string& title) {
  return fmt::format(
      R"(<svg viewBox="0 0 {} {}" role="img" aria-label="{}"><title>{}</title>)",
      num(f.width), num(f.height), escape(title), escape(title));
}

std::string y_axis(const Frame& f, const std::vector<double>& ticks, double lo, double hi, const std::string& name) {
  std::string out;
  for (double t : ticks) {
    const double y = f.y0() - (t - lo) / (hi - lo) * (f.y0() - f.y1());
    out += fmt::format(R"(<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}"/>)", num(f.x0()), num(y), num(f.x1()), num(y));
    out += fmt::format(R"(<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>)", num(f.x0() - 6), num(y + 4),
                       escape(label(t)));
  }
  if (!name.empty()) {
    out += fmt::format(R"svg(<text class="axis" transform="translate(14 {}) rotate(-90)" text-anchor="middle">{}</text>)svg",
                       num((f.y0() + f.y1()) / 2), escape(name));
  }
  return out;
}

std::string legend(const Frame& f, const std::vector<std::pair<std::string, std::string>>& items) {
  std::string out;
  double x = f.x0();
  const double y = f.height - 8;
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& [name, c] = items[i];
    out += fmt::format(R"(<rect x="{}" y="{}" width="10" height="10" fill="{}"/>)", num(x), num(y - 9), c);
    out += fmt::format(R"(<text class="legend" x="{}" y="{}">{}</text>)", num(x + 14), num(y), escape(name));
    x += 24 + 6.5 * static_cast<double>(std::min<size_t>(name.size(), 40));
  }
  return out;
}

// Time ticks: the smallest calendar step giving at most `target` ticks.
struct TimeStep {
  int64_t us;
  const char* format;  // for strftime
};

std::vector<int64_t> time_ticks(int64_t lo, int64_t hi, const char*& format, int target = 6) {
  static constexpr int64_t s = 1'000'000, m = 60 * s, h = 60 * m, d = 24 * h;
  static const std::array<TimeStep, 20> steps = {{{s, "%H:%M:%S"},      {2 * s, "%H:%M:%S"},   {5 * s, "%H:%M:%S"},
                                                   {10 * s, "%H:%M:%S"}, {15 * s, "%H:%M:%S"},  {30 * s, "%H:%M:%S"},
                                                   {m, "%H:%M"},          {2 * m, "%H:%M"},      {5 * m, "%H:%M"},
                                                   {10 * m, "%H:%M"},     {15 * m, "%H:%M"},     {30 * m, "%H:%M"},
                                                   {h, "%H:%M"},          {3 * h, "%H:%M"},      {6 * h, "%m-%d %H:%M"},
                                                   {12 * h, "%m-%d %H:%M"}, {d, "%m-%d"},        {2 * d, "%m-%d"},
                                                   {7 * d, "%m-%d"},      {30 * d, "%Y-%m-%d"}}};
  const TimeStep* chosen = &steps.back();
  for (const auto& st : steps) {
    if ((hi - lo) / st.us <= target) {
      chosen = &st;
      break;
    }
  }
  format = chosen->format;
  std::vector<int64_t> out;
  const int64_t w = chosen->us;
  int64_t t = (lo >= 0 ? (lo + w - 1) / w : lo / w) * w;
  for (; t <= hi; t += w) out.push_back(t);
  return out;
}

std::string time_label(int64_t us, const char* format) {
  std::time_t t = static_cast<std::time_t>(us >= 0 ? us / 1'000'000 : (us - 999'999) / 1'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

}  // namespace

const char* colour(size_t i) { return kPalette[i % kPalette.size()]; }

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string distribution(const DriftHistogram& h, bool numeric) {
  const size_t n = std::min(h.reference.size(), h.current.size());
  if (n == 0) return "";
  double ref_total = 0, cur_total = 0;
  for (size_t i = 0; i < n; ++i) {
    ref_total += static_cast<double>(h.reference[i]);
    cur_total += static_cast<double>(h.current[i]);
  }
  if (ref_total + cur_total == 0) return "";
  Frame f;
  f.height = 200;
  f.bottom = 44;
  std::string out;
  if (numeric && h.edges.size() == n + 1) {
    // Densities, so bins of unequal width (quantile bins) read correctly.
    std::vector<double> rd(n, 0), cd(n, 0);
    double top = 0;
    for (size_t i = 0; i < n; ++i) {
      const double w = h.edges[i + 1] - h.edges[i];
      if (!(w > 0)) continue;
      if (ref_total > 0) rd[i] = static_cast<double>(h.reference[i]) / ref_total / w;
      if (cur_total > 0) cd[i] = static_cast<double>(h.current[i]) / cur_total / w;
      top = std::max({top, rd[i], cd[i]});
    }
    if (!(top > 0)) return "";
    double lo = h.edges.front(), hi = h.edges.back();
    if (!(hi > lo)) return "";
    auto xs = [&](double v) { return f.x0() + (v - lo) / (hi - lo) * (f.x1() - f.x0()); };
    auto ys = [&](double v) { return f.y0() - v / top * (f.y0() - f.y1()); };
    out = open_svg(f, "reference and current distributions");
    out += fmt::format(R"(<line class="axisline" x1="{}" y1="{}" x2="{}" y2="{}"/>)", num(f.x0()), num(f.y0()),
                       num(f.x1()), num(f.y0()));
    for (size_t i = 0; i < n; ++i) {
      if (!(h.edges[i + 1] > h.edges[i]) || rd[i] <= 0) continue;
      out += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="{}" fill-opacity="0.55"><title>{} .. {}: reference {}</title></rect>)",
                         num(xs(h.edges[i])), num(ys(rd[i])), num(std::max(0.5, xs(h.edges[i + 1]) - xs(h.edges[i]))),
                         num(f.y0() - ys(rd[i])), kReferenceColour, escape(label(h.edges[i])),
                         escape(label(h.edges[i + 1])), h.reference[i]);
    }
    // The current distribution as an outline (a step line) over the reference's bars.
    std::string path;
    for (size_t i = 0; i < n; ++i) {
      if (!(h.edges[i + 1] > h.edges[i])) continue;
      const double y = ys(cd[i]);
      path += fmt::format("{}{} {} L{} {} ", path.empty() ? "M" : "L", num(xs(h.edges[i])), num(y),
                          num(xs(h.edges[i + 1])), num(y));
    }
    out += fmt::format(R"(<path d="{}" fill="none" stroke="{}" stroke-width="2"/>)", path, kCurrentColour);
    double tlo = lo, thi = hi;
    auto ticks = nice_ticks(tlo, thi, 5);
    for (double t : ticks) {
      if (t < lo || t > hi) continue;
      out += fmt::format(R"(<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>)", num(xs(t)),
                         num(f.y0() + 14), escape(label(t)));
    }
    out += legend(f, {{"reference", kReferenceColour}, {"current", kCurrentColour}});
    out += "</svg>";
    return out;
  }
  // Categories: the largest 15 by share on either side, the rest summed.
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  auto share = [&](size_t i) {
    const double r = ref_total > 0 ? static_cast<double>(h.reference[i]) / ref_total : 0;
    const double c = cur_total > 0 ? static_cast<double>(h.current[i]) / cur_total : 0;
    return std::make_pair(r, c);
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    auto [ra, ca] = share(a);
    auto [rb, cb] = share(b);
    return std::max(ra, ca) > std::max(rb, cb);
  });
  constexpr size_t kShown = 15;
  std::vector<std::string> names;
  std::vector<double> rs, cs;
  for (size_t k = 0; k < order.size(); ++k) {
    auto [r, c] = share(order[k]);
    if (k < kShown) {
      names.push_back(order[k] < h.labels.size() ? h.labels[order[k]] : fmt::format("#{}", order[k]));
      rs.push_back(r);
      cs.push_back(c);
    } else {
      if (names.size() == kShown) {
        names.push_back("(rest)");
        rs.push_back(0);
        cs.push_back(0);
      }
      rs.back() += r;
      cs.back() += c;
    }
  }
  double top = 0;
  for (size_t i = 0; i < rs.size(); ++i) top = std::max({top, rs[i], cs[i]});
  double lo = 0, hi = top;
  auto ticks = nice_ticks(lo, hi, 4);
  const double slot = (f.x1() - f.x0()) / static_cast<double>(names.size());
  auto ys = [&](double v) { return f.y0() - v / hi * (f.y0() - f.y1()); };
  out = open_svg(f, "reference and current category shares");
  out += y_axis(f, ticks, 0, hi, "share");
  for (size_t i = 0; i < names.size(); ++i) {
    const double x = f.x0() + slot * static_cast<double>(i);
    const double bw = std::max(1.0, slot * 0.38);
    out += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: reference {:.1f}%</title></rect>)",
                       num(x + slot * 0.1), num(ys(rs[i])), num(bw), num(f.y0() - ys(rs[i])), kReferenceColour,
                       escape(names[i]), rs[i] * 100);
    out += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: current {:.1f}%</title></rect>)",
                       num(x + slot * 0.1 + bw), num(ys(cs[i])), num(bw), num(f.y0() - ys(cs[i])), kCurrentColour,
                       escape(names[i]), cs[i] * 100);
    std::string name = names[i].size() > 10 ? names[i].substr(0, 9) + "…" : names[i];
    out += fmt::format(R"(<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>)", num(x + slot / 2),
                       num(f.y0() + 14), escape(name));
  }
  out += legend(f, {{"reference", kReferenceColour}, {"current", kCurrentColour}});
  out += "</svg>";
  return out;
}

std::string time_chart(const LineChart& chart) {
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  size_t points = 0;
  for (const auto& s : chart.series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      ++points;
      xlo = std::min(xlo, s.x[i]);
      xhi = std::max(xhi, s.x[i]);
      ylo = std::min(ylo, s.y[i]);
      yhi = std::max(yhi, s.y[i]);
      if (i < s.lo.size() && std::isfinite(s.lo[i])) ylo = std::min(ylo, s.lo[i]);
      if (i < s.hi.size() && std::isfinite(s.hi[i])) yhi = std::max(yhi, s.hi[i]);
    }
  }
  if (points == 0) return "";
  for (const auto& [v, name] : chart.rules) {
    ylo = std::min(ylo, v);
    yhi = std::max(yhi, v);
  }
  if (chart.y_min) ylo = std::min(ylo, *chart.y_min);
  if (chart.y_max) yhi = std::max(yhi, *chart.y_max);
  const double pad = chart.bars ? chart.bar_width / 2 : 0;
  xlo -= pad;
  xhi += pad;
  if (!(xhi > xlo)) {
    xlo -= 500'000;
    xhi += 500'000;
  }
  Frame f;
  f.right = 32;  // room for the last time label
  auto ticks = nice_ticks(ylo, yhi, 4);
  auto xs = [&](double v) { return f.x0() + (v - xlo) / (xhi - xlo) * (f.x1() - f.x0()); };
  auto ys = [&](double v) { return f.y0() - (v - ylo) / (yhi - ylo) * (f.y0() - f.y1()); };
  std::string out = open_svg(f, chart.y_label + " over time");
  out += y_axis(f, ticks, ylo, yhi, chart.y_label);
  const char* format = "%H:%M";
  for (int64_t t : time_ticks(static_cast<int64_t>(xlo), static_cast<int64_t>(xhi), format)) {
    const double x = xs(static_cast<double>(t));
    out += fmt::format(R"(<line class="tickmark" x1="{}" y1="{}" x2="{}" y2="{}"/>)", num(x), num(f.y0()), num(x),
                       num(f.y0() + 4));
    out += fmt::format(R"(<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>)", num(x), num(f.y0() + 16),
                       escape(time_label(t, format)));
  }
  std::vector<std::pair<std::string, std::string>> items;
  for (size_t k = 0; k < chart.series.size(); ++k) {
    const Series& s = chart.series[k];
    const char* c = colour(k);
    items.emplace_back(s.name, c);
    if (k == 0 && chart.bars) {
      for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
        if (!std::isfinite(s.y[i])) continue;
        const double x = xs(s.x[i] - chart.bar_width / 2) + 1;
        const double w = std::max(1.0, xs(s.x[i] + chart.bar_width / 2) - xs(s.x[i] - chart.bar_width / 2) - 2);
        const double y = ys(std::max(0.0, s.y[i]));
        out += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="{}" fill-opacity="0.8"><title>{}: {}</title></rect>)",
                           num(x), num(y), num(w), num(std::max(0.0, ys(ylo < 0 ? 0 : ylo) - y)), c, escape(s.name),
                           escape(label(s.y[i])));
      }
      continue;
    }
    std::string path;
    bool pen_down = false;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) {
        pen_down = false;
        continue;
      }
      path += fmt::format("{}{} {} ", pen_down ? "L" : "M", num(xs(s.x[i])), num(ys(s.y[i])));
      pen_down = true;
    }
    out += fmt::format(R"(<path d="{}" fill="none" stroke="{}" stroke-width="2"{}/>)", path, c,
                       s.dashed ? R"( stroke-dasharray="5 3")" : "");
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      const double x = xs(s.x[i]);
      if (i < s.lo.size() && i < s.hi.size() && std::isfinite(s.lo[i]) && std::isfinite(s.hi[i])) {
        out += fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1.5"/>)", num(x),
                           num(ys(s.lo[i])), num(x), num(ys(s.hi[i])), c);
      }
      out += fmt::format(R"(<circle cx="{}" cy="{}" r="3" fill="{}"><title>{} {}: {}</title></circle>)", num(x),
                         num(ys(s.y[i])), c, escape(s.name), escape(time_label(static_cast<int64_t>(s.x[i]), "%Y-%m-%d %H:%M:%S")),
                         escape(label(s.y[i])));
    }
  }
  for (const auto& [v, name] : chart.rules) {
    out += fmt::format(R"(<line class="rule" x1="{}" y1="{}" x2="{}" y2="{}"/>)", num(f.x0()), num(ys(v)), num(f.x1()),
                       num(ys(v)));
    out += fmt::format(R"(<text class="rulelabel" x="{}" y="{}" text-anchor="end">{}</text>)", num(f.x1() - 2),
                       num(ys(v) - 4), escape(name));
  }
  out += legend(f, items);
  out += "</svg>";
  return out;
}

std::string bar_chart(const std::vector<Bar>& bars, const std::string& value_label) {
  if (bars.empty()) return "";
  Frame f;
  f.left = 130;
  f.right = 140;
  f.top = 8;
  f.bottom = 24;
  const double row = 22;
  f.height = f.top + f.bottom + row * static_cast<double>(bars.size());
  double top = 0;
  for (const auto& b : bars) top = std::max(top, b.value);
  double lo = 0, hi = top > 0 ? top : 1;
  nice_ticks(lo, hi, 4);
  auto xs = [&](double v) { return f.x0() + v / hi * (f.x1() - f.x0()); };
  std::string out = open_svg(f, value_label + " by segment");
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const double y = f.top + row * static_cast<double>(i);
    std::string name = b.label.size() > 18 ? b.label.substr(0, 17) + "…" : b.label;
    out += fmt::format(R"(<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>)", num(f.x0() - 6),
                       num(y + row / 2 + 4), escape(name));
    out += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>)", num(f.x0()),
                       num(y + 3), num(std::max(1.0, xs(std::max(0.0, b.value)) - f.x0())), num(row - 6),
                       b.highlight ? "#e15759" : kReferenceColour, escape(b.label), escape(label(b.value)));
    out += fmt::format(R"(<text class="value" x="{}" y="{}">{}{}</text>)", num(xs(std::max(0.0, b.value)) + 6),
                       num(y + row / 2 + 4), escape(label(b.value)), b.note.empty() ? "" : " · " + escape(b.note));
  }
  out += fmt::format(R"(<line class="axisline" x1="{}" y1="{}" x2="{}" y2="{}"/>)", num(f.x0()), num(f.top),
                     num(f.x0()), num(f.height - f.bottom));
  out += fmt::format(R"(<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>)", num((f.x0() + f.x1()) / 2),
                     num(f.height - 6), escape(value_label));
  out += "</svg>";
  return out;
}

std::string interval_chart(const std::vector<Interval>& rows, const std::string& value_label) {
  if (rows.empty()) return "";
  Frame f;
  f.left = 130;
  f.right = 150;
  f.top = 8;
  f.bottom = 36;
  const double row = 24;
  f.height = f.top + f.bottom + row * static_cast<double>(rows.size());
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& r : rows) {
    lo = std::min(lo, r.mean);
    hi = std::max(hi, r.mean);
    if (std::isfinite(r.lo)) lo = std::min(lo, r.lo);
    if (std::isfinite(r.hi)) hi = std::max(hi, r.hi);
  }
  if (!std::isfinite(lo) || !std::isfinite(hi)) return "";
  auto ticks = nice_ticks(lo, hi, 4);
  auto xs = [&](double v) { return f.x0() + (v - lo) / (hi - lo) * (f.x1() - f.x0()); };
  std::string out = open_svg(f, value_label + " with 95% intervals");
  const double bottom = f.height - f.bottom;
  for (double t : ticks) {
    out += fmt::format(R"(<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}"/>)", num(xs(t)), num(f.top), num(xs(t)),
                       num(bottom));
    out += fmt::format(R"(<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>)", num(xs(t)), num(bottom + 14),
                       escape(label(t)));
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    const Interval& r = rows[i];
    const double y = f.top + row * static_cast<double>(i) + row / 2;
    out += fmt::format(R"(<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>)", num(f.x0() - 6), num(y + 4),
                       escape(r.label));
    if (std::isfinite(r.lo) && std::isfinite(r.hi)) {
      out += fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2"/>)", num(xs(r.lo)), num(y),
                         num(xs(r.hi)), num(y), kReferenceColour);
      for (double e : {r.lo, r.hi}) {
        out += fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2"/>)", num(xs(e)),
                           num(y - 5), num(xs(e)), num(y + 5), kReferenceColour);
      }
    }
    out += fmt::format(R"(<circle cx="{}" cy="{}" r="4" fill="{}"><title>{}: {}</title></circle>)", num(xs(r.mean)),
                       num(y), kCurrentColour, escape(r.label), escape(label(r.mean)));
    out += fmt::format(R"(<text class="value" x="{}" y="{}">{}{}</text>)", num(f.x1() + 8), num(y + 4),
                       escape(label(r.mean)), r.note.empty() ? "" : " · " + escape(r.note));
  }
  out += fmt::format(R"(<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>)", num((f.x0() + f.x1()) / 2),
                     num(f.height - 6), escape(value_label));
  out += "</svg>";
  return out;
}

}  // namespace slipway::monitor::report_svg
