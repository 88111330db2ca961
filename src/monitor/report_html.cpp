// The report as one self-contained HTML page (report.h): inline CSS, inline SVG charts
// (report_svg.cpp), no script and no outside resource, so it opens offline and can be mailed.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "report_svg.h"
#include "slipway/monitor/report.h"
#include "slipway/monitor/time_text.h"

namespace slipway::monitor {

namespace {

using report_svg::escape;

constexpr const char* kStyle = R"css(
:root{--ink:#1f2430;--muted:#667085;--line:#e4e7ec;--bg:#f6f7f9;--card:#fff;--ref:#4e79a7;--cur:#f28e2b;
--bad:#d92d20;--badbg:#fef3f2;--good:#067647;--goodbg:#ecfdf3;--warn:#b54708;--warnbg:#fffaeb}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--ink);background:var(--bg)}
main{max-width:1240px;margin:0 auto;padding:24px}
header.top{display:flex;justify-content:space-between;align-items:flex-start;gap:16px;flex-wrap:wrap}
h1{margin:0;font-size:26px}h2{margin:32px 0 8px;font-size:20px;border-bottom:1px solid var(--line);padding-bottom:6px}
h3{margin:0 0 6px;font-size:15px;display:flex;justify-content:space-between;align-items:center;gap:8px}
.sub,.caption{color:var(--muted)}.caption{margin:4px 0 12px;max-width:900px}
nav{margin:12px 0;display:flex;gap:14px;flex-wrap:wrap}nav a{color:var(--ref);text-decoration:none}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin-top:16px}
.fact{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:10px 14px}
.fact .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}.fact .v{font-size:18px;font-weight:600;word-break:break-word}
.fact .d{color:var(--muted);font-size:12px;word-break:break-word}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:14px}
.wide{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:14px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.card.drifted{border-color:#fda29b;box-shadow:0 0 0 1px #fecdca inset}
svg{width:100%;max-width:760px;height:auto;display:block}
svg .grid{stroke:#eef0f3}svg .axisline,svg .tickmark{stroke:#98a2b3}svg .tick,svg .legend,svg .value{font-size:11px;fill:#475467}
svg .axis{font-size:11px;fill:#667085}svg .rule{stroke:var(--bad);stroke-dasharray:4 3}svg .rulelabel{font-size:10px;fill:var(--bad)}
.badge{display:inline-block;border-radius:999px;padding:1px 10px;font-size:12px;font-weight:600;white-space:nowrap}
.badge.bad{background:var(--badbg);color:var(--bad)}.badge.good{background:var(--goodbg);color:var(--good)}.badge.na{background:#f2f4f7;color:var(--muted)}
.badge.warn{background:var(--warnbg);color:var(--warn)}
.verdict{font-size:16px;padding:8px 16px;border-radius:10px;font-weight:600}
.verdict.bad{background:var(--badbg);color:var(--bad)}.verdict.good{background:var(--goodbg);color:var(--good)}.verdict.na{background:#f2f4f7;color:var(--muted)}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line)}
th{color:var(--muted);font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
table.stats td{padding:2px 6px;border:none}table.stats td:first-child{color:var(--muted);width:45%}
.empty{color:var(--muted);font-style:italic}
.notes{background:var(--warnbg);color:var(--warn);border-radius:10px;padding:8px 14px;margin-top:12px}
footer{color:var(--muted);margin:40px 0 10px;font-size:12px}
code{background:#f2f4f7;border-radius:4px;padding:0 4px}
)css";

std::string n0(uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

std::string fnum(double v, int digits = 4) {
  if (!std::isfinite(v)) return "–";
  if (v != 0 && (std::abs(v) < 1e-4 || std::abs(v) >= 1e7)) return fmt::format("{:.3g}", v);
  std::string s = fmt::format("{:.{}f}", v, digits);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

std::string fp(const std::optional<double>& p) {
  if (!p) return "–";
  if (*p < 1e-4) return fmt::format("{:.2e}", *p);
  return fmt::format("{:.4f}", *p);
}

std::string duration(int64_t us) {
  const int64_t s = us / 1'000'000;
  if (s % 86400 == 0) return fmt::format("{}d", s / 86400);
  if (s % 3600 == 0) return fmt::format("{}h", s / 3600);
  if (s % 60 == 0) return fmt::format("{}m", s / 60);
  return fmt::format("{}s", s);
}

std::string empty(const std::string& text) { return "<p class=\"empty\">" + escape(text) + "</p>"; }

std::string chart_or(const std::string& svg, const std::string& why) { return svg.empty() ? empty(why) : svg; }

std::string fact(const std::string& k, const std::string& v, const std::string& d = "") {
  return fmt::format(R"(<div class="fact"><div class="k">{}</div><div class="v">{}</div>{}</div>)", escape(k),
                     escape(v), d.empty() ? "" : "<div class=\"d\">" + escape(d) + "</div>");
}

std::string badge(const ColumnDrift& c) {
  if (!c.tested) return R"(<span class="badge na">not tested</span>)";
  return c.drifted ? R"(<span class="badge bad">drifted</span>)" : R"(<span class="badge good">no drift</span>)";
}

std::string column_card(const ColumnDrift& c) {
  std::string out = fmt::format(R"(<div class="card{}"><h3><span>{}</span>{}</h3>)", c.drifted ? " drifted" : "",
                                escape(c.column), badge(c));
  out += chart_or(report_svg::distribution(c.histogram, c.kind == ColumnKind::kNumeric),
                  c.note.empty() ? "no values to plot" : c.note);
  out += "<table class=\"stats\">";
  auto row = [&](const std::string& k, const std::string& v) {
    out += "<tr><td>" + escape(k) + "</td><td>" + escape(v) + "</td></tr>";
  };
  std::string test = drift_test_name(c.test);
  if (!c.test_chosen) test += " (named)";
  row("test", test + (c.kind == ColumnKind::kNumeric ? " · numeric" : " · categorical"));
  if (c.tested) {
    std::string stat = fnum(c.statistic);
    if (c.statistic_upper && *c.statistic_upper > c.statistic) stat += " … " + fnum(*c.statistic_upper);
    row("statistic", stat);
    if (c.p_value) row("p-value (adjusted)", fp(c.p_value) + " (" + fp(c.adjusted_p_value) + ")");
    row("effect", fmt::format("{} = {} (threshold {})", c.effect_name, fnum(c.effect), fnum(c.threshold)));
  } else if (!c.note.empty()) {
    row("note", c.note);
  }
  row("rows (reference / current)", n0(c.reference_rows) + " / " + n0(c.current_rows));
  if (c.reference_missing + c.current_missing > 0) {
    row("missing (reference / current)", n0(c.reference_missing) + " / " + n0(c.current_missing));
  }
  if (!c.pooled.empty()) row("pooled as (other)", fmt::format("{} rare categories", c.pooled.size()));
  out += "</table></div>";
  return out;
}

// Drifted first, then by how far past the threshold.
std::vector<const ColumnDrift*> ordered(const DriftReport& d) {
  std::vector<const ColumnDrift*> out;
  for (const auto& c : d.columns) out.push_back(&c);
  auto score = [](const ColumnDrift* c) {
    if (!c->tested) return -1.0;
    return c->threshold > 0 ? c->effect / c->threshold : c->effect;
  };
  std::stable_sort(out.begin(), out.end(), [&](const ColumnDrift* a, const ColumnDrift* b) {
    if (a->drifted != b->drifted) return a->drifted;
    return score(a) > score(b);
  });
  return out;
}

std::string verdict_line(const DriftReport& d, const char* what) {
  return fmt::format("{} of {} {} drifted ({:.0f}% {} the {:.0f}% that makes the dataset drift).", d.drifted_columns,
                     d.tested_columns, what, d.share * 100, d.dataset_drift ? "reaches" : "is below",
                     d.drift_share * 100);
}

std::string header(const MonitorReport& r) {
  std::string out = "<header class=\"top\"><div>";
  out += fmt::format("<h1>{}</h1><p class=\"sub\">Monitoring report · window {} · generated {}</p></div>",
                     escape(r.model), escape(r.window), escape(report_time(r.generated_us)));
  if (r.drift) {
    out += fmt::format(R"(<div class="verdict {}">{}: {} of {} inputs drifted</div>)",
                       r.drift->dataset_drift ? "bad" : "good", r.drift->dataset_drift ? "Dataset drift" : "No dataset drift",
                       r.drift->drifted_columns, r.drift->tested_columns);
  } else {
    out += R"(<div class="verdict na">Drift not computed</div>)";
  }
  out += "</header><div class=\"facts\">";
  std::string versions;
  for (int64_t v : r.versions) versions += (versions.empty() ? "" : ", ") + std::to_string(v);
  out += fact(r.versions.size() == 1 ? "version" : "versions", versions);
  // The time large, the date (and sub-second part) small.
  auto when = [&](const char* k, int64_t us) {
    const std::string t = report_time(us);
    out += fact(k, t.substr(11, 8), t.substr(0, 10) + (t.size() > 20 ? " · " + t.substr(11) : std::string()));
  };
  when("first prediction", r.first_us);
  when("last prediction", r.last_us);
  out += fact("predictions", n0(r.predictions), fmt::format("{} buckets of {}", r.buckets.size(), duration(r.bucket_us)));
  const uint64_t labelled = r.performance ? r.performance->overall.labelled : 0;
  out += fact("labelled", n0(labelled),
              r.predictions > 0 ? fmt::format("{:.1f}% of predictions", 100.0 * static_cast<double>(labelled) /
                                                                            static_cast<double>(r.predictions))
                                : "");
  out += fact("reference", r.reference.kind, r.reference.source + " · " + n0(r.reference.rows) + " rows");
  out += "</div>";
  if (!r.notes.empty()) {
    out += "<div class=\"notes\">";
    for (const auto& n : r.notes) out += "<div>" + escape(n) + "</div>";
    out += "</div>";
  }
  out += R"(<nav><a href="#drift">Data drift</a><a href="#prediction-drift">Prediction drift</a>)"
         R"(<a href="#over-time">Drift over time</a><a href="#performance">Performance</a>)"
         R"(<a href="#business">Business values</a><a href="#alerts">Alerts</a></nav>)";
  return out;
}

std::string drift_section(const MonitorReport& r) {
  std::string out = "<section id=\"drift\"><h2>Data drift: reference vs current, per input</h2>";
  if (!r.drift) return out + empty(r.drift_note) + "</section>";
  const DriftReport& d = *r.drift;
  out += fmt::format(
      "<p class=\"caption\">{} Reference: {} ({} rows). Current: {}. A column drifts when its "
      "Benjamini–Hochberg adjusted p-value is below {} and its effect reaches the threshold, or when its distance reaches the threshold. "
      "Blue bars: the reference; orange line or bars: the current data (densities for numbers, shares for categories)."
      "</p>",
      escape(verdict_line(d, "inputs")), escape(r.reference.source), n0(r.reference.rows),
      r.reference.kind == "reference period" ? "the rest of the window" : "the whole window", fnum(d.alpha));
  out += "<div class=\"grid\">";
  for (const ColumnDrift* c : ordered(d)) out += column_card(*c);
  out += "</div></section>";
  out += "<section id=\"prediction-drift\"><h2>Prediction drift: the model's outputs</h2>";
  if (!r.prediction_drift) return out + empty(r.prediction_drift_note) + "</section>";
  out += fmt::format(
      "<p class=\"caption\">{} Outputs have no training-data counterpart: the reference is the window's first "
      "bucket ({} .. {}), the current data everything after it.</p>",
      escape(verdict_line(*r.prediction_drift, "outputs")), escape(report_time(r.buckets.front().start_us)),
      escape(report_time(r.buckets.front().end_us)));
  out += "<div class=\"grid\">";
  for (const ColumnDrift* c : ordered(*r.prediction_drift)) out += column_card(*c);
  out += "</div></section>";
  return out;
}

double mid(const MonitorReport& r, int64_t start) { return static_cast<double>(start) + static_cast<double>(r.bucket_us) / 2; }

std::string over_time_section(const MonitorReport& r) {
  std::string out = "<section id=\"over-time\"><h2>Drift over time</h2>";
  out += fmt::format("<p class=\"caption\">The window in {} buckets of {}; each bucket tested against the reference "
                     "on its own.</p>",
                     r.buckets.size(), duration(r.bucket_us));
  out += "<div class=\"wide\">";
  {
    report_svg::LineChart chart;
    chart.bars = true;
    chart.bar_width = static_cast<double>(r.bucket_us);
    chart.y_label = "drift share";
    chart.y_min = 0;
    chart.y_max = 1;
    report_svg::Series s;
    s.name = "share of inputs drifted";
    for (const auto& b : r.buckets) {
      s.x.push_back(mid(r, b.start_us));
      s.y.push_back(b.tested ? b.share : NAN);
    }
    chart.series.push_back(std::move(s));
    if (r.drift) chart.rules.emplace_back(r.drift->drift_share, "dataset drift");
    out += "<div class=\"card\"><h3>Share of drifted inputs per bucket</h3>" +
           chart_or(report_svg::time_chart(chart), "no bucket could be tested") + "</div>";
  }
  {
    report_svg::LineChart chart;
    chart.y_label = "drift score";
    chart.y_min = 0;
    std::set<double> thresholds;
    for (const auto& name : r.top_columns) {
      report_svg::Series s;
      s.name = name;
      for (const auto& b : r.buckets) {
        auto it = b.scores.find(name);
        s.x.push_back(mid(r, b.start_us));
        s.y.push_back(it == b.scores.end() ? NAN : it->second);
      }
      chart.series.push_back(std::move(s));
      if (r.drift) {
        for (const auto& c : r.drift->columns) {
          if (c.column == name) thresholds.insert(c.threshold);
        }
      }
    }
    if (thresholds.size() == 1) chart.rules.emplace_back(*thresholds.begin(), "threshold");
    out += "<div class=\"card\"><h3>Top drifting inputs: score per bucket</h3>" +
           chart_or(report_svg::time_chart(chart), "no input could be tested per bucket") +
           "<p class=\"caption\">The score is each column's effect size or distance (the <code>drift_score</code> "
           "gauge alert rules use).</p></div>";
  }
  {
    report_svg::LineChart chart;
    chart.y_label = "score";
    chart.y_min = 0;
    std::set<std::string> names;
    for (const auto& b : r.buckets) {
      for (const auto& [k, v] : b.prediction_scores) names.insert(k);
    }
    for (const auto& name : names) {
      report_svg::Series s;
      s.name = name;
      for (const auto& b : r.buckets) {
        auto it = b.prediction_scores.find(name);
        s.x.push_back(mid(r, b.start_us));
        s.y.push_back(it == b.prediction_scores.end() ? NAN : it->second);
      }
      chart.series.push_back(std::move(s));
      if (chart.series.size() == 5) break;
    }
    const std::string svg = report_svg::time_chart(chart);
    if (!svg.empty()) out += "<div class=\"card\"><h3>Prediction drift score per bucket</h3>" + svg + "</div>";
  }
  {
    report_svg::LineChart chart;
    chart.bars = true;
    chart.bar_width = static_cast<double>(r.bucket_us);
    chart.y_label = "predictions";
    chart.y_min = 0;
    report_svg::Series s;
    s.name = "predictions per bucket";
    for (const auto& b : r.buckets) {
      s.x.push_back(mid(r, b.start_us));
      s.y.push_back(static_cast<double>(b.rows));
    }
    chart.series.push_back(std::move(s));
    out += "<div class=\"card\"><h3>Traffic</h3>" + chart_or(report_svg::time_chart(chart), "no predictions") + "</div>";
  }
  out += "</div></section>";
  return out;
}

double slice_time(const MonitorReport& r, const PerformanceSlice& s) {
  auto t = parse_time_text(s.value, "time", 0);
  return t.ok() ? mid(r, *t) : NAN;
}

std::string metric_table(const PerformanceReport& p) {
  const bool regression = p.task == "regression";
  std::string out = "<table><tr><th>slice</th><th class=\"n\">predictions</th><th class=\"n\">labelled</th>";
  out += regression ? "<th class=\"n\">RMSE</th><th class=\"n\">MAE</th><th class=\"n\">R²</th>"
                    : "<th class=\"n\">accuracy</th><th class=\"n\">AUC</th><th class=\"n\">log loss</th>"
                      "<th class=\"n\">error rate</th>";
  out += "<th class=\"n\">p50 ms</th><th class=\"n\">p99 ms</th></tr>";
  auto o = [](const std::optional<double>& v) { return v ? fnum(*v) : std::string("–"); };
  auto row = [&](const std::string& name, const PerformanceSlice& s) {
    out += "<tr><td>" + escape(name) + "</td><td class=\"n\">" + n0(s.predictions) + "</td><td class=\"n\">" +
           n0(s.labelled) + "</td>";
    if (regression) {
      out += "<td class=\"n\">" + o(s.rmse) + "</td><td class=\"n\">" + o(s.mae) + "</td><td class=\"n\">" + o(s.r2) + "</td>";
    } else {
      out += "<td class=\"n\">" + o(s.accuracy) + "</td><td class=\"n\">" + o(s.auc) + "</td><td class=\"n\">" +
             o(s.log_loss) + "</td><td class=\"n\">" + o(s.error_rate) + "</td>";
    }
    out += "<td class=\"n\">" + fnum(s.latency_p50_ms, 3) + "</td><td class=\"n\">" + fnum(s.latency_p99_ms, 3) +
           "</td></tr>";
  };
  row("all", p.overall);
  for (const auto& s : p.by_version) row("version " + s.value, s);
  out += "</table>";
  return out;
}

std::string performance_section(const MonitorReport& r) {
  std::string out = "<section id=\"performance\"><h2>Performance over time and by segment</h2>";
  if (!r.performance) return out + empty(r.performance_note) + "</section>";
  const PerformanceReport& p = *r.performance;
  const bool regression = p.task == "regression";
  out += fmt::format("<p class=\"caption\">Task: {}. Predictions joined with the feedback that has arrived: {} of {} "
                     "labelled{}.</p>",
                     escape(p.task), n0(p.overall.labelled), n0(p.overall.predictions),
                     r.performance_note.empty() ? "" : " — " + escape(r.performance_note));
  out += "<div class=\"wide\">";
  {
    report_svg::LineChart chart;
    chart.y_label = regression ? "error" : "score";
    if (!regression) {
      chart.y_min = 0;
      chart.y_max = 1;
    } else {
      chart.y_min = 0;
    }
    std::vector<std::pair<std::string, std::optional<double> PerformanceSlice::*>> metrics;
    if (regression) {
      metrics = {{"RMSE", &PerformanceSlice::rmse}, {"MAE", &PerformanceSlice::mae}};
    } else {
      metrics = {{"accuracy", &PerformanceSlice::accuracy}, {"AUC", &PerformanceSlice::auc}};
    }
    for (const auto& [name, member] : metrics) {
      report_svg::Series s;
      s.name = name;
      for (const auto& sl : p.by_time) {
        s.x.push_back(slice_time(r, sl));
        s.y.push_back((sl.*member) ? *(sl.*member) : NAN);
      }
      chart.series.push_back(std::move(s));
    }
    out += std::string("<div class=\"card\"><h3>") + (regression ? "RMSE and MAE" : "Accuracy and AUC") +
           " per bucket</h3>" + chart_or(report_svg::time_chart(chart), "no labelled predictions yet") + "</div>";
  }
  {
    report_svg::LineChart chart;
    chart.y_label = "latency ms";
    chart.y_min = 0;
    report_svg::Series p50, p99;
    p50.name = "p50";
    p99.name = "p99";
    for (const auto& sl : p.by_time) {
      p50.x.push_back(slice_time(r, sl));
      p50.y.push_back(sl.latency_p50_ms);
      p99.x.push_back(slice_time(r, sl));
      p99.y.push_back(sl.latency_p99_ms);
    }
    chart.series = {std::move(p50), std::move(p99)};
    out += "<div class=\"card\"><h3>Latency per bucket</h3>" + chart_or(report_svg::time_chart(chart), "no latencies") +
           "</div>";
  }
  out += "</div><div class=\"card\" style=\"margin-top:14px\"><h3>Overall and per version</h3>" + metric_table(p) +
         "</div>";
  // Error rate (or RMSE) by segment, worst first.
  std::vector<std::string> columns;
  for (const auto& s : p.by_segment) {
    if (std::find(columns.begin(), columns.end(), s.column) == columns.end()) columns.push_back(s.column);
  }
  if (!columns.empty()) {
    out += "<h3 style=\"margin-top:18px\">" + std::string(regression ? "RMSE" : "Error rate") +
           " by segment, worst first</h3><div class=\"wide\">";
    std::set<std::pair<std::string, std::string>> worst;
    for (const auto& s : p.worst_segments) worst.emplace(s.column, s.value);
    for (const auto& col : columns) {
      std::vector<report_svg::Bar> bars;
      for (const auto& s : p.by_segment) {
        if (s.column != col) continue;
        const auto& v = regression ? s.rmse : s.error_rate;
        if (!v) continue;
        bars.push_back({s.value, *v, fmt::format("{} labelled", n0(s.labelled)), worst.contains({s.column, s.value})});
      }
      std::stable_sort(bars.begin(), bars.end(), [](const auto& a, const auto& b) { return a.value > b.value; });
      if (bars.size() > 25) bars.resize(25);
      out += "<div class=\"card\"><h3>" + escape(col) + "</h3>" +
             chart_or(report_svg::bar_chart(bars, regression ? "RMSE" : "error rate"), "no labelled rows per segment") +
             "</div>";
    }
    out += "</div><p class=\"caption\">Red: among the worst segments (enough labelled rows to rank).</p>";
  }
  out += "</section>";
  // Business values: per version with 95% intervals, and over time.
  out += "<section id=\"business\"><h2>Business values</h2>";
  std::vector<std::string> names;
  for (const auto& b : p.overall.values) names.push_back(b.name);
  if (names.empty()) {
    out += empty("no business values in the feedback (send named values, e.g. revenue, with the labels)");
    return out + "</section>";
  }
  out += "<p class=\"caption\">Means over the predictions whose feedback carries the value, with 95% confidence "
         "intervals (Student t).</p><div class=\"wide\">";
  for (const auto& name : names) {
    std::vector<report_svg::Interval> rows;
    for (const auto& s : p.by_version) {
      for (const auto& b : s.values) {
        if (b.name == name) rows.push_back({"version " + s.value, b.mean, b.ci_low, b.ci_high, fmt::format("n={}", b.n)});
      }
    }
    report_svg::LineChart chart;
    chart.y_label = name;
    report_svg::Series s;
    s.name = name + " (mean, 95% CI)";
    for (const auto& sl : p.by_time) {
      for (const auto& b : sl.values) {
        if (b.name != name) continue;
        s.x.push_back(slice_time(r, sl));
        s.y.push_back(b.mean);
        s.lo.push_back(b.ci_low);
        s.hi.push_back(b.ci_high);
      }
    }
    chart.series.push_back(std::move(s));
    out += "<div class=\"card\"><h3>" + escape(name) + " per version</h3>" +
           chart_or(report_svg::interval_chart(rows, name), "no values") + "</div>";
    out += "<div class=\"card\"><h3>" + escape(name) + " over time</h3>" +
           chart_or(report_svg::time_chart(chart), "no values") + "</div>";
  }
  out += "</div></section>";
  return out;
}

// The serving process's CPU and memory over the window, with the host's, and GPUs when present.
std::string health_section(const MonitorReport& r) {
  std::string out = "<section id=\"system-health\"><h2>System health</h2>";
  if (r.health.empty()) return out + empty(r.health_note) + "</section>";
  out += "<div class=\"grid\">";
  {
    report_svg::LineChart chart;
    chart.y_label = "CPU cores";
    chart.y_min = 0;
    const double cpus = r.health.back().host_cpus;
    if (cpus > 0) chart.rules.push_back({cpus, fmt::format("{} CPUs", cpus)});
    report_svg::Series process, host;
    process.name = "server process";
    host.name = "whole host";
    host.dashed = true;
    for (const auto& h : r.health) {
      process.x.push_back(static_cast<double>(h.time_us));
      process.y.push_back(h.process_cpu_cores);
      host.x.push_back(static_cast<double>(h.time_us));
      host.y.push_back(h.host_cpu_busy * h.host_cpus);
    }
    chart.series = {std::move(process), std::move(host)};
    out += "<div class=\"card\"><h3>CPU</h3>" + chart_or(report_svg::time_chart(chart), "no samples") + "</div>";
  }
  {
    report_svg::LineChart chart;
    chart.y_label = "memory GB";
    chart.y_min = 0;
    report_svg::Series rss, used;
    rss.name = "server resident memory";
    used.name = "host memory in use";
    used.dashed = true;
    for (const auto& h : r.health) {
      rss.x.push_back(static_cast<double>(h.time_us));
      rss.y.push_back(static_cast<double>(h.process_rss_bytes) / 1e9);
      used.x.push_back(static_cast<double>(h.time_us));
      used.y.push_back(static_cast<double>(h.host_memory_total_bytes - std::min(h.host_memory_total_bytes,
                                                                                 h.host_memory_available_bytes)) / 1e9);
    }
    chart.series = {std::move(rss), std::move(used)};
    out += "<div class=\"card\"><h3>Memory</h3>" + chart_or(report_svg::time_chart(chart), "no samples") + "</div>";
  }
  const bool gpus = std::any_of(r.health.begin(), r.health.end(), [](const HealthSample& h) { return !h.gpus.empty(); });
  if (gpus) {
    report_svg::LineChart chart;
    chart.y_label = "GPU busy";
    chart.y_min = 0;
    chart.y_max = 1;
    std::map<unsigned, report_svg::Series> by_gpu;
    for (const auto& h : r.health) {
      for (const auto& g : h.gpus) {
        auto& s = by_gpu[g.index];
        s.name = fmt::format("GPU {}", g.index);
        s.x.push_back(static_cast<double>(h.time_us));
        s.y.push_back(g.utilization);
      }
    }
    for (auto& [index, s] : by_gpu) chart.series.push_back(std::move(s));
    out += "<div class=\"card\"><h3>GPU utilisation</h3>" + chart_or(report_svg::time_chart(chart), "no samples") +
           "</div>";
  }
  out += "</div>";
  // A summary table: median and peak of each measure.
  auto stats = [&](auto get) {
    std::vector<double> v;
    for (const auto& h : r.health) v.push_back(get(h));
    std::sort(v.begin(), v.end());
    return std::pair<double, double>{v[v.size() / 2], v.back()};
  };
  out += "<div class=\"card\" style=\"margin-top:14px\"><table><tr><th>measure</th><th class=\"n\">median</th>"
         "<th class=\"n\">peak</th></tr>";
  auto row = [&](const char* name, std::pair<double, double> mp, int digits) {
    out += fmt::format("<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>", name,
                       fnum(mp.first, digits), fnum(mp.second, digits));
  };
  row("server CPU, cores", stats([](const HealthSample& h) { return h.process_cpu_cores; }), 3);
  row("server resident memory, MB", stats([](const HealthSample& h) { return h.process_rss_bytes / 1e6; }), 1);
  row("host CPU busy, share", stats([](const HealthSample& h) { return h.host_cpu_busy; }), 3);
  row("host load (1 min)", stats([](const HealthSample& h) { return h.load1; }), 2);
  row("open sockets", stats([](const HealthSample& h) { return static_cast<double>(h.open_sockets); }), 0);
  row("open file descriptors", stats([](const HealthSample& h) { return static_cast<double>(h.open_fds); }), 0);
  out += "</table>";
  const HealthSample& last = r.health.back();
  out += last.gpu_available ? "<p>GPUs through NVML.</p>"
                            : "<p class=\"empty\">No GPU metrics: " + escape(last.gpu_reason) + ".</p>";
  out += fmt::format("<p>{} samples, one per monitoring window, from {} to {}.</p></div></section>", r.health.size(),
                     escape(report_time(r.health.front().time_us)), escape(report_time(last.time_us)));
  return out;
}

std::string alerts_section(const MonitorReport& r) {
  std::string out = "<section id=\"alerts\"><h2>Alerts</h2>";
  if (r.alerts.empty()) return out + empty("no alert has fired for this model") + "</section>";
  out += "<div class=\"card\"><table><tr><th>rule</th><th>condition</th><th>state</th><th class=\"n\">value</th>"
         "<th>started</th><th>resolved</th><th class=\"n\">actions ok / failed</th></tr>";
  for (const auto& f : r.alerts) {
    out += fmt::format(
        "<tr><td>{}</td><td><code>{}</code></td><td><span class=\"badge {}\">{}</span></td><td class=\"n\">{}</td>"
        "<td>{}</td><td>{}</td><td class=\"n\">{} / {}</td></tr>",
        escape(f.rule), escape(f.expression), f.state == "firing" ? "bad" : "na", escape(f.state),
        f.value ? fnum(*f.value) : "–", escape(report_time(f.started_time)),
        f.resolved_time ? escape(report_time(*f.resolved_time)) : "–", f.actions_ok, f.actions_failed);
  }
  out += "</table></div></section>";
  return out;
}

}  // namespace

std::string render_report_html(const MonitorReport& r) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  out += "<title>" + escape(r.model) + " · slipway monitoring report</title><style>" + kStyle + "</style></head><body><main>";
  out += header(r);
  out += drift_section(r);
  out += over_time_section(r);
  out += performance_section(r);
  out += health_section(r);
  out += alerts_section(r);
  out += fmt::format("<footer>Generated by slipway at {}. Every plot is drawn inline from the prediction log; "
                     "<code>slipway monitor report {} --json</code> prints every number shown here. See "
                     "docs/reports.md.</footer>",
                     escape(report_time(r.generated_us)), escape(r.model));
  out += "</main></body></html>\n";
  return out;
}

}  // namespace slipway::monitor
