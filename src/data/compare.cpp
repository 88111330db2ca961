// Profile comparison. Distances follow TFDV's skew/drift comparators: L-infinity over category
// frequencies for categorical features, Jensen-Shannon distance over histograms for numeric ones.
#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "slipway/data/compare.h"

namespace slipway::data {
namespace {

using table::DataType;

const ColumnProfile* find_column(const DatasetProfile& p, const std::string& name) {
  for (const auto& c : p.columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

bool is_categorical(DataType t) { return t == DataType::kString || t == DataType::kBool; }

bool has_histogram(const ColumnProfile& c) {
  if (c.histogram.counts.empty() || c.histogram.edges.size() != c.histogram.counts.size() + 1) return false;
  uint64_t total = 0;
  for (uint64_t n : c.histogram.counts) total += n;
  return total > 0;
}

std::string percent(double f) { return fmt::format("{:.1f}%", 100.0 * f); }

// L-infinity distance between the two columns' category frequency vectors (frequency = share of
// non-missing values). Categories are the union of both top-value lists; whatever a list does not
// cover goes to one 'other' bucket per side.
double linf_distance(const ColumnProfile& a, const ColumnProfile& b, std::string* note) {
  std::map<std::string, std::array<double, 2>> freq;
  std::array<double, 2> covered{0, 0};
  const ColumnProfile* sides[2] = {&a, &b};
  for (int s = 0; s < 2; ++s) {
    const double n = static_cast<double>(sides[s]->count);
    for (const auto& v : sides[s]->top_values) {
      const double f = static_cast<double>(v.count) / n;
      freq[v.value][s] += f;
      covered[s] += f;
    }
  }
  double dist = std::fabs(std::max(0.0, 1 - covered[0]) - std::max(0.0, 1 - covered[1]));
  for (const auto& [value, f] : freq) dist = std::max(dist, std::fabs(f[0] - f[1]));
  if (covered[0] < 1 - 1e-12 || covered[1] < 1 - 1e-12) {
    *note = fmt::format("top values cover {} of a and {} of b; the rest is compared as one 'other' bucket",
                        percent(covered[0]), percent(covered[1]));
  }
  return dist;
}

std::vector<double> common_grid(const Histogram& a, const Histogram& b, size_t bins) {
  const double lo = std::min(a.edges.front(), b.edges.front());
  const double hi = std::max(a.edges.back(), b.edges.back());
  if (bins == 0) bins = std::max(a.counts.size(), b.counts.size());
  if (!(hi > lo)) return {lo, hi};
  std::vector<double> edges(bins + 1);
  for (size_t i = 0; i <= bins; ++i) edges[i] = lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(bins);
  edges.back() = hi;
  return edges;
}

std::string opt_number(const std::optional<double>& v, int precision) {
  return v ? fmt::format("{:.{}g}", *v, precision) : std::string("-");
}

std::string format_mean(const std::optional<double>& v, const std::optional<DataType>& type) {
  if (v && type == DataType::kTimestamp) return table::format_timestamp(static_cast<int64_t>(*v));
  return opt_number(v, 6);
}

std::string opt_percent(const std::optional<double>& v) { return v ? percent(*v) : std::string("-"); }

nlohmann::json opt_json(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

const char* column_verdict_name(ColumnVerdict v) {
  switch (v) {
    case ColumnVerdict::kSame: return "same";
    case ColumnVerdict::kDrift: return "drift";
    case ColumnVerdict::kAdded: return "added";
    case ColumnVerdict::kRemoved: return "removed";
    case ColumnVerdict::kTypeChanged: return "type_changed";
    case ColumnVerdict::kNotCompared: return "not_compared";
  }
  return "unknown";
}

std::vector<double> rebin_histogram(const Histogram& h, const std::vector<double>& edges) {
  const size_t bins = edges.size() < 2 ? 0 : edges.size() - 1;
  std::vector<double> mass(bins, 0.0);
  if (bins == 0) return mass;
  // The grid bin holding x: bins are [e_j, e_j+1), the last one closed; outside values clamp.
  auto bin_of = [&](double x) {
    const auto it = std::upper_bound(edges.begin(), edges.end(), x);
    const size_t j = it == edges.begin() ? 0 : static_cast<size_t>(it - edges.begin()) - 1;
    return std::min(j, bins - 1);
  };
  for (size_t i = 0; i < h.counts.size() && i + 1 < h.edges.size(); ++i) {
    const double c = static_cast<double>(h.counts[i]);
    const double e0 = h.edges[i], e1 = h.edges[i + 1];
    if (c == 0) continue;
    if (!(e1 > e0)) {
      mass[bin_of(e0)] += c;
      continue;
    }
    double placed = 0;
    for (size_t j = bin_of(e0); j < bins && edges[j] < e1; ++j) {
      const double overlap = std::min(e1, edges[j + 1]) - std::max(e0, edges[j]);
      if (overlap <= 0) continue;
      const double part = c * overlap / (e1 - e0);
      mass[j] += part;
      placed += part;
    }
    // Mass of a source bin reaching past the grid (only from rounding) stays in the last bin it touched.
    if (placed < c) mass[std::min(bin_of(e1), bins - 1)] += c - placed;
  }
  return mass;
}

std::optional<double> jensen_shannon_distance(const std::vector<double>& p, const std::vector<double>& q) {
  if (p.size() != q.size() || p.empty()) return std::nullopt;
  double sp = 0, sq = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    sp += p[i];
    sq += q[i];
  }
  if (!(sp > 0) || !(sq > 0)) return std::nullopt;
  double divergence = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double pi = p[i] / sp, qi = q[i] / sq, mi = (pi + qi) / 2;
    if (pi > 0) divergence += pi * std::log2(pi / mi);
    if (qi > 0) divergence += qi * std::log2(qi / mi);
  }
  return std::min(1.0, std::sqrt(std::max(0.0, divergence / 2)));
}

CompareReport compare_profiles(const DatasetProfile& a, const DatasetProfile& b, const CompareOptions& options) {
  CompareReport report;
  report.rows_a = a.row_count;
  report.rows_b = b.row_count;
  auto fraction = [](uint64_t missing, uint64_t rows) -> std::optional<double> {
    if (rows == 0) return std::nullopt;
    return static_cast<double>(missing) / static_cast<double>(rows);
  };
  for (const auto& ca : a.columns) {
    ColumnComparison cmp;
    cmp.name = ca.name;
    cmp.type_a = ca.type;
    cmp.missing_fraction_a = fraction(ca.missing, a.row_count);
    cmp.mean_a = ca.mean;
    const ColumnProfile* cb = find_column(b, ca.name);
    if (!cb) {
      cmp.verdict = ColumnVerdict::kRemoved;
      report.schema_changed = true;
      report.columns.push_back(std::move(cmp));
      continue;
    }
    cmp.type_b = cb->type;
    cmp.missing_fraction_b = fraction(cb->missing, b.row_count);
    cmp.mean_b = cb->mean;
    if (ca.type != cb->type) {
      cmp.verdict = ColumnVerdict::kTypeChanged;
      report.schema_changed = true;
    } else if (is_categorical(ca.type)) {
      cmp.measure = "linf";
      cmp.threshold = options.categorical_threshold;
      if (ca.count == 0 || cb->count == 0) {
        cmp.verdict = ColumnVerdict::kNotCompared;
        cmp.note = ca.count == 0 ? "no values in a" : "no values in b";
      } else {
        cmp.distance = linf_distance(ca, *cb, &cmp.note);
      }
    } else {
      cmp.measure = "jensen_shannon";
      cmp.threshold = options.numeric_threshold;
      if (!has_histogram(ca) || !has_histogram(*cb)) {
        cmp.verdict = ColumnVerdict::kNotCompared;
        cmp.note = !has_histogram(ca) ? "no histogram in a" : "no histogram in b";
      } else {
        const auto grid = common_grid(ca.histogram, cb->histogram, options.bins);
        cmp.distance = jensen_shannon_distance(rebin_histogram(ca.histogram, grid), rebin_histogram(cb->histogram, grid));
      }
    }
    if (cmp.distance) cmp.verdict = *cmp.distance > cmp.threshold ? ColumnVerdict::kDrift : ColumnVerdict::kSame;
    report.drift = report.drift || cmp.verdict == ColumnVerdict::kDrift;
    report.columns.push_back(std::move(cmp));
  }
  for (const auto& cb : b.columns) {
    if (find_column(a, cb.name)) continue;
    ColumnComparison cmp;
    cmp.name = cb.name;
    cmp.type_b = cb.type;
    cmp.verdict = ColumnVerdict::kAdded;
    cmp.missing_fraction_b = fraction(cb.missing, b.row_count);
    cmp.mean_b = cb.mean;
    report.schema_changed = true;
    report.columns.push_back(std::move(cmp));
  }
  return report;
}

nlohmann::json to_json(const CompareReport& report) {
  nlohmann::json columns = nlohmann::json::array();
  auto type_json = [](const std::optional<DataType>& t) {
    return t ? nlohmann::json(table::data_type_name(*t)) : nlohmann::json(nullptr);
  };
  for (const auto& c : report.columns) {
    columns.push_back({{"name", c.name},
                       {"type_a", type_json(c.type_a)},
                       {"type_b", type_json(c.type_b)},
                       {"verdict", column_verdict_name(c.verdict)},
                       {"measure", c.measure.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.measure)},
                       {"distance", opt_json(c.distance)},
                       {"threshold", c.measure.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.threshold)},
                       {"missing_fraction_a", opt_json(c.missing_fraction_a)},
                       {"missing_fraction_b", opt_json(c.missing_fraction_b)},
                       {"mean_a", opt_json(c.mean_a)},
                       {"mean_b", opt_json(c.mean_b)},
                       {"note", c.note.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.note)}});
  }
  return {{"rows_a", report.rows_a},
          {"rows_b", report.rows_b},
          {"schema_changed", report.schema_changed},
          {"drift", report.drift},
          {"columns", std::move(columns)}};
}

std::string render_text(const CompareReport& report) {
  std::vector<std::array<std::string, 9>> rows;
  rows.push_back({"column", "type", "verdict", "measure", "distance", "missing a", "missing b", "mean a", "mean b"});
  std::vector<std::string> notes;
  for (const auto& c : report.columns) {
    std::string type = c.type_a ? table::data_type_name(*c.type_a) : table::data_type_name(*c.type_b);
    if (c.type_a && c.type_b && *c.type_a != *c.type_b) type += std::string(" -> ") + table::data_type_name(*c.type_b);
    std::string distance = c.distance ? fmt::format("{:.4f} {} {}", *c.distance,
                                                    c.verdict == ColumnVerdict::kDrift ? ">" : "<=", c.threshold)
                                      : std::string("-");
    rows.push_back({c.name, type, column_verdict_name(c.verdict), c.measure.empty() ? "-" : c.measure, distance,
                    opt_percent(c.missing_fraction_a), opt_percent(c.missing_fraction_b), format_mean(c.mean_a, c.type_a),
                    format_mean(c.mean_b, c.type_b)});
    if (!c.note.empty()) notes.push_back(c.name + ": " + c.note);
  }
  std::array<size_t, 9> width{};
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out = fmt::format("rows: a {}, b {}\n", report.rows_a, report.rows_b);
  out += fmt::format("{}\n\n", report.drift || report.schema_changed
                                   ? fmt::format("differences: {}{}{}", report.schema_changed ? "schema changed" : "",
                                                 report.schema_changed && report.drift ? ", " : "",
                                                 report.drift ? "distribution drift" : "")
                                   : std::string("no schema change, no drift"));
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) line += fmt::format("{:<{}}  ", row[i], width[i]);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  if (!notes.empty()) {
    out += "\nnotes:\n";
    for (const auto& n : notes) out += "  " + n + "\n";
  }
  return out;
}

}  // namespace slipway::data
