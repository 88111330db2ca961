// Test names and thresholds, which columns to compare, and the verdicts: Benjamini–Hochberg over
// the p-value columns, per-column drift (p and effect), share and dataset drift; the JSON form.
#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "drift_internal.h"
#include "slipway/monitor/stats.h"

namespace slipway::monitor {

const char* drift_test_name(DriftTest test) {
  switch (test) {
    case DriftTest::kAuto: return "auto";
    case DriftTest::kKs: return "ks";
    case DriftTest::kChiSquared: return "chi2";
    case DriftTest::kZ: return "z";
    case DriftTest::kWasserstein: return "wasserstein";
    case DriftTest::kJensenShannon: return "jensenshannon";
    case DriftTest::kPsi: return "psi";
  }
  return "?";
}

Result<DriftTest> parse_drift_test(std::string_view name) {
  for (DriftTest t : {DriftTest::kAuto, DriftTest::kKs, DriftTest::kChiSquared, DriftTest::kZ, DriftTest::kWasserstein,
                      DriftTest::kJensenShannon, DriftTest::kPsi}) {
    if (name == drift_test_name(t)) return t;
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown drift test '{}' (expected ks, chi2, z, wasserstein, jensenshannon, psi or auto)", name);
}

bool has_p_value(DriftTest test) {
  return test == DriftTest::kKs || test == DriftTest::kChiSquared || test == DriftTest::kZ;
}

// Effect floors for the p-value tests sit at about the smallest effect a 1,000-row sample can
// detect at alpha 0.05 (KS D 0.061, V 0.044, h 0.088), so at Evidently's small-sample sizes they
// rarely override the p-value, while at a million rows they stop a trivial shift from flagging.
double default_threshold(DriftTest test) {
  switch (test) {
    case DriftTest::kKs: return 0.05;
    case DriftTest::kChiSquared: return 0.05;
    case DriftTest::kZ: return 0.1;
    case DriftTest::kWasserstein: return 0.1;
    case DriftTest::kJensenShannon: return 0.1;
    case DriftTest::kPsi: return 0.1;
    case DriftTest::kAuto: break;
  }
  return 0;
}

namespace detail {

namespace {
std::string column_list(const std::vector<ColumnRef>& cols) {
  std::string out;
  for (size_t i = 0; i < cols.size() && i < 12; ++i) out += (i != 0 ? "," : "") + cols[i].name;
  if (cols.size() > 12) out += ",...";
  return out;
}
const char* kind_name(ColumnKind k) { return k == ColumnKind::kNumeric ? "numeric" : "categorical"; }
}  // namespace

Result<std::vector<PlannedColumn>> plan_columns(const std::vector<ColumnRef>& reference,
                                                const std::vector<ColumnRef>& current, const DriftOptions& options) {
  auto index_of = [](const std::vector<ColumnRef>& cols, const std::string& name) -> std::optional<size_t> {
    for (size_t i = 0; i < cols.size(); ++i) {
      if (cols[i].name == name) return i;
    }
    return std::nullopt;
  };
  std::vector<std::string> names = options.columns;
  if (names.empty()) {
    for (const auto& c : reference) {
      if (index_of(current, c.name)) names.push_back(c.name);
    }
    if (names.empty()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "the reference and the current data share no column (reference: {}; current: {})",
                        column_list(reference), column_list(current));
    }
  }
  for (const auto& [name, test] : options.tests) {
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      return make_error(ErrorCode::kInvalidArgument, "--test names column '{}', which is not compared", name);
    }
  }
  std::vector<PlannedColumn> plan;
  std::set<std::string> seen;
  for (const auto& name : names) {
    if (!seen.insert(name).second) continue;
    auto r = index_of(reference, name);
    if (!r) {
      return make_error(ErrorCode::kInvalidArgument, "column '{}' is not in the reference (columns: {})", name,
                        column_list(reference));
    }
    auto c = index_of(current, name);
    if (!c) {
      return make_error(ErrorCode::kInvalidArgument, "column '{}' is not in the current data (columns: {})", name,
                        column_list(current));
    }
    if (reference[*r].kind != current[*c].kind) {
      return make_error(ErrorCode::kInvalidArgument, "column '{}' is {} in the reference but {} in the current data",
                        name, kind_name(reference[*r].kind), kind_name(current[*c].kind));
    }
    DriftTest test = DriftTest::kAuto;
    if (auto it = options.tests.find(name); it != options.tests.end()) test = it->second;
    if (reference[*r].kind == ColumnKind::kCategorical && (test == DriftTest::kKs || test == DriftTest::kWasserstein)) {
      return make_error(ErrorCode::kInvalidArgument, "column '{}': the {} test needs a numeric column; '{}' is categorical",
                        name, drift_test_name(test), name);
    }
    plan.push_back({*r, *c, test});
  }
  return plan;
}

void finish_report(const DriftOptions& options, DriftReport& report) {
  report.alpha = options.alpha;
  report.drift_share = options.drift_share;
  std::vector<double> p(report.columns.size(), std::nan(""));
  for (size_t i = 0; i < report.columns.size(); ++i) {
    const auto& c = report.columns[i];
    if (c.tested && c.p_value && !std::isnan(*c.p_value)) p[i] = *c.p_value;
  }
  const std::vector<double> adjusted = options.adjust_p_values ? benjamini_hochberg(p) : p;
  report.tested_columns = 0;
  report.drifted_columns = 0;
  for (size_t i = 0; i < report.columns.size(); ++i) {
    auto& c = report.columns[i];
    auto it = options.thresholds.find(c.column);
    c.threshold = it != options.thresholds.end() ? it->second : default_threshold(c.test);
    if (!c.tested) continue;
    ++report.tested_columns;
    if (has_p_value(c.test)) {
      if (!std::isnan(adjusted[i])) c.adjusted_p_value = adjusted[i];
      c.drifted = c.adjusted_p_value && *c.adjusted_p_value < options.alpha && c.effect >= c.threshold;
    } else {
      c.drifted = !std::isnan(c.statistic) && c.statistic >= c.threshold;
    }
    if (c.drifted) ++report.drifted_columns;
  }
  report.share = report.tested_columns == 0
                     ? 0.0
                     : static_cast<double>(report.drifted_columns) / static_cast<double>(report.tested_columns);
  report.dataset_drift = report.tested_columns > 0 && report.share >= options.drift_share;
}

}  // namespace detail

namespace {
nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
}  // namespace

nlohmann::json to_json(const DriftReport& report) {
  nlohmann::json cols = nlohmann::json::array();
  for (const auto& c : report.columns) {
    nlohmann::json j = {
        {"column", c.column},
        {"kind", c.kind == ColumnKind::kNumeric ? "numeric" : "categorical"},
        {"test", drift_test_name(c.test)},
        {"test_chosen", c.test_chosen},
        {"tested", c.tested},
        {"statistic", number_or_null(c.statistic)},
        {"p_value", c.p_value ? number_or_null(*c.p_value) : nlohmann::json(nullptr)},
        {"adjusted_p_value", c.adjusted_p_value ? number_or_null(*c.adjusted_p_value) : nlohmann::json(nullptr)},
        {"effect_name", c.effect_name},
        {"effect", number_or_null(c.effect)},
        {"threshold", c.threshold},
        {"drifted", c.drifted},
        {"reference_rows", c.reference_rows},
        {"current_rows", c.current_rows},
        {"reference_missing", c.reference_missing},
        {"current_missing", c.current_missing},
    };
    if (c.statistic_upper) j["statistic_upper"] = *c.statistic_upper;
    if (!c.pooled.empty()) j["pooled"] = c.pooled;
    if (!c.note.empty()) j["note"] = c.note;
    nlohmann::json h = {{"reference", c.histogram.reference}, {"current", c.histogram.current}};
    if (!c.histogram.edges.empty()) h["edges"] = c.histogram.edges;
    if (!c.histogram.labels.empty()) h["labels"] = c.histogram.labels;
    j["histogram"] = std::move(h);
    cols.push_back(std::move(j));
  }
  return {{"alpha", report.alpha},
          {"drift_share", report.drift_share},
          {"tested_columns", report.tested_columns},
          {"drifted_columns", report.drifted_columns},
          {"share", report.share},
          {"dataset_drift", report.dataset_drift},
          {"from_summaries", report.from_summaries},
          {"columns", std::move(cols)}};
}

}  // namespace slipway::monitor
