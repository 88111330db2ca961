// `slipway monitor drift`: compare a reference (dataset version or file) with current data (the
// prediction log, a dataset version or a file), column by column (slipway/monitor/drift.h).
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "context.h"
#include "output.h"
#include "slipway/monitor/drift.h"
#include "slipway/monitor/frame_load.h"
#include "slipway/monitor/log_window.h"

namespace slipway::cli {

namespace {

namespace fs = std::filesystem;
using monitor::DriftOptions;
using monitor::DriftReport;
using monitor::Frame;

struct DriftArgs {
  std::string reference;
  std::string current;
  std::vector<std::string> columns;
  std::vector<std::string> tests;       // COLUMN=TEST
  std::vector<std::string> thresholds;  // COLUMN=VALUE
  double alpha = 0.05;
  double drift_share = 0.5;
  bool no_fdr = false;
  bool fail_on_drift = false;
  bool streaming = false;
  size_t bins = 1000;
  unsigned threads = 0;
};

constexpr size_t kLogChunkRows = 65536;

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool is_log_source(const std::string& s) { return s.rfind("log:", 0) == 0; }

// Inputs and outputs of a log chunk as one Frame (outputs after inputs; an output named like an
// input keeps the input).
Frame log_frame(monitor::LogChunk&& chunk) {
  Frame f = std::move(chunk.inputs);
  f.rows = chunk.rows();
  for (auto& c : chunk.outputs.columns) {
    if (f.find(c.name) == nullptr) f.columns.push_back(std::move(c));
  }
  return f;
}

Result<std::unique_ptr<store::Store>> open_store_for(const Context& ctx, const std::string& what) {
  auto store = ctx.open_store();
  if (!store.ok()) return store.status().with_context(what);
  return store;
}

// FILE if it exists, else a dataset version NAME@REF in the store.
Result<Frame> load_table_source(const Context& ctx, const std::string& source, const monitor::FrameLoadOptions& opts) {
  std::error_code ec;
  if (fs::is_regular_file(source, ec)) return monitor::load_frame_file(source, opts);
  SLIPWAY_ASSIGN_OR_RETURN(
      auto store, open_store_for(ctx, fmt::format("'{}' is not a file, so it names a dataset version", source)));
  return monitor::load_frame_dataset(*store, source, opts);
}

Result<Frame> load_source(const Context& ctx, const std::string& source, const monitor::FrameLoadOptions& opts) {
  if (!is_log_source(source)) return load_table_source(ctx, source, opts);
  SLIPWAY_ASSIGN_OR_RETURN(auto spec, monitor::parse_log_window(std::string_view(source).substr(4), now_us()));
  SLIPWAY_ASSIGN_OR_RETURN(auto chunk, monitor::read_log_window(store::Store::resolve_root(ctx.store_flag), spec));
  return log_frame(std::move(chunk));
}

// COLUMN=VALUE pairs.
Result<std::vector<std::pair<std::string, std::string>>> pairs(const std::vector<std::string>& items, const char* flag) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& item : items) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      return make_error(ErrorCode::kInvalidArgument, "{} '{}': expected COLUMN=VALUE", flag, item);
    }
    out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
  }
  return out;
}

Result<DriftOptions> make_options(const DriftArgs& args) {
  DriftOptions options;
  if (!(args.alpha > 0 && args.alpha < 1)) {
    return make_error(ErrorCode::kInvalidArgument, "--alpha {}: expected a number between 0 and 1", args.alpha);
  }
  if (!(args.drift_share > 0 && args.drift_share <= 1)) {
    return make_error(ErrorCode::kInvalidArgument, "--drift-share {}: expected a number in (0, 1]", args.drift_share);
  }
  options.alpha = args.alpha;
  options.drift_share = args.drift_share;
  options.adjust_p_values = !args.no_fdr;
  options.columns = args.columns;
  options.threads = args.threads;
  SLIPWAY_ASSIGN_OR_RETURN(auto tests, pairs(args.tests, "--test"));
  for (const auto& [column, name] : tests) {
    auto test = monitor::parse_drift_test(name);
    if (!test.ok()) return test.status().with_context(fmt::format("--test {}={}", column, name));
    options.tests[column] = *test;
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto thresholds, pairs(args.thresholds, "--threshold"));
  for (const auto& [column, text] : thresholds) {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (*end != '\0' || !(v >= 0)) {
      return make_error(ErrorCode::kInvalidArgument, "--threshold {}={}: expected a number >= 0", column, text);
    }
    options.thresholds[column] = v;
  }
  return options;
}

// Streaming: the reference's bins, the current data counted chunk by chunk (bounded memory).
Result<DriftReport> streaming_drift(const Context& ctx, const DriftArgs& args, const Frame& reference,
                                    const DriftOptions& options, const monitor::FrameLoadOptions& load) {
  monitor::SummaryOptions summary_options;
  summary_options.bins = args.bins;
  monitor::FrameSummary layout = monitor::summary_layout(reference, summary_options);
  monitor::FrameSummary ref = layout;
  SLIPWAY_RETURN_IF_ERROR(ref.add(reference));
  monitor::FrameSummary cur = layout;
  if (is_log_source(args.current)) {
    SLIPWAY_ASSIGN_OR_RETURN(auto spec, monitor::parse_log_window(std::string_view(args.current).substr(4), now_us()));
    SLIPWAY_RETURN_IF_ERROR(monitor::visit_log_chunks(
        store::Store::resolve_root(ctx.store_flag), spec, kLogChunkRows, [&](const monitor::LogChunk& chunk) {
          monitor::LogChunk copy = chunk;
          return cur.add(log_frame(std::move(copy)));
        }));
  } else {
    SLIPWAY_ASSIGN_OR_RETURN(Frame current, load_table_source(ctx, args.current, load));
    SLIPWAY_RETURN_IF_ERROR(cur.add(current));
  }
  return monitor::detect_drift(ref, cur, options);
}

std::string fmt_p(const std::optional<double>& p) {
  if (!p) return "-";
  if (*p < 1e-4) return fmt::format("{:.2e}", *p);
  return fmt::format("{:.4f}", *p);
}

void print_table(const DriftArgs& args, const DriftReport& report) {
  TextTable table({"COLUMN", "TEST", "STATISTIC", "P-VALUE", "ADJ. P", "EFFECT", "THRESHOLD", "DRIFTED"});
  for (const auto& c : report.columns) {
    std::string test = monitor::drift_test_name(c.test);
    if (!c.test_chosen) test += "*";
    if (!c.tested) {
      table.add_row({c.column, test, "-", "-", "-", "-", "-", c.note});
      continue;
    }
    std::string stat = fmt::format("{:.4f}", c.statistic);
    if (c.statistic_upper) stat += fmt::format("..{:.4f}", *c.statistic_upper);
    table.add_row({c.column, test, stat, fmt_p(c.p_value), fmt_p(c.adjusted_p_value),
                   fmt::format("{} {:.4f}", c.effect_name, c.effect), fmt::format("{:g}", c.threshold),
                   c.drifted ? "✓" : ""});
  }
  std::fputs(table.render({2, 3, 4, 6}).c_str(), stdout);
  uint64_t ref_rows = 0, cur_rows = 0;
  for (const auto& c : report.columns) {
    ref_rows = std::max(ref_rows, c.reference_rows + c.reference_missing);
    cur_rows = std::max(cur_rows, c.current_rows + c.current_missing);
  }
  std::printf("\n%s: %zu of %zu columns drifted (%.0f%% %s %.0f%%); reference %s rows, current %s rows%s\n",
              report.dataset_drift ? "Dataset drift" : "No dataset drift", report.drifted_columns,
              report.tested_columns, report.share * 100, report.dataset_drift ? ">=" : "<",
              report.drift_share * 100, human_count(ref_rows).c_str(), human_count(cur_rows).c_str(),
              report.from_summaries ? " (streaming summaries)" : "");
  bool any_chosen_by_user = false;
  for (const auto& c : report.columns) any_chosen_by_user |= !c.test_chosen;
  std::printf("Drifted: %s p < %g and effect >= threshold; distances >= threshold.%s\n",
              args.no_fdr ? "raw" : "Benjamini-Hochberg adjusted", report.alpha,
              any_chosen_by_user ? " * test named with --test." : "");
}

int run_drift(const Context& ctx, const DriftArgs& args) {
  auto options = make_options(args);
  if (!options.ok()) return report_error(options.status());
  monitor::FrameLoadOptions load;
  load.columns = args.columns;
  if (is_log_source(args.reference)) {
    return report_error(make_error(ErrorCode::kInvalidArgument,
                                   "--reference '{}': the reference is a dataset version NAME@REF or a file, "
                                   "not the prediction log",
                                   args.reference));
  }
  auto reference = load_table_source(ctx, args.reference, load);
  if (!reference.ok()) return report_error(reference.status().with_context("--reference"));
  Result<DriftReport> report = [&]() -> Result<DriftReport> {
    if (args.streaming) return streaming_drift(ctx, args, *reference, *options, load);
    auto current = load_source(ctx, args.current, load);
    if (!current.ok()) return current.status().with_context("--current");
    return monitor::detect_drift(*reference, *current, *options);
  }();
  if (!report.ok()) return report_error(report.status());
  if (ctx.json) {
    nlohmann::json j = monitor::to_json(*report);
    j["reference"] = args.reference;
    j["current"] = args.current;
    print_json(j);
  } else {
    print_table(args, *report);
  }
  return args.fail_on_drift && report->dataset_drift ? kExitCheckFailed : kExitOk;
}

}  // namespace

void add_monitor_drift_command(CLI::App* monitor, Context& ctx, Command& run) {
  auto args = std::make_shared<DriftArgs>();
  auto* drift = monitor->add_subcommand("drift", "Test whether current data drifted from a reference, column by column");
  drift->add_option("--reference", args->reference, "Dataset version NAME@REF or a CSV / JSON Lines file")->required();
  drift->add_option("--current", args->current,
                    "NAME@REF, a file, or the prediction log: log:MODEL[/VERSION][?last=N&since=24h&until=T]")
      ->required();
  drift->add_option("--columns", args->columns, "Only these columns (comma separated; default: every shared column)")
      ->delimiter(',');
  drift->add_option("--test", args->tests,
                    "COLUMN=TEST: ks, chi2, z, wasserstein, jensenshannon, psi or auto (repeatable)");
  drift->add_option("--threshold", args->thresholds,
                    "COLUMN=VALUE: effect floor (ks, chi2, z) or distance threshold for that column (repeatable)");
  drift->add_option("--alpha", args->alpha, "Significance level for the adjusted p-values (default 0.05)");
  drift->add_option("--drift-share", args->drift_share,
                    "The dataset drifts when at least this share of tested columns drifted (default 0.5)");
  drift->add_flag("--no-fdr", args->no_fdr, "Compare raw p-values with --alpha (no Benjamini-Hochberg adjustment)");
  drift->add_flag("--fail-on-drift", args->fail_on_drift, "Exit 1 when the dataset drifted");
  drift->add_flag("--streaming", args->streaming,
                  "Bin the current data against the reference's quantile bins chunk by chunk (bounded memory)");
  drift->add_option("--bins", args->bins, "Quantile bins per numeric column with --streaming (default 1000)");
  drift->add_option("--threads", args->threads, "Columns tested in parallel (default: one per CPU)");
  add_json_flag(drift, ctx);
  drift->footer(
      "Tests are chosen per column as Evidently does: up to 1,000 reference rows KS (numeric), chi-squared\n"
      "(categories; z-test for two), above that normalised Wasserstein / Jensen-Shannon. A column drifts when\n"
      "its Benjamini-Hochberg adjusted p < alpha and its effect size reaches the threshold (D 0.05, Cramer's V\n"
      "0.05, Cohen's h 0.1), or its distance reaches 0.1. See docs/drift.md.\n"
      "Exit codes: 0 ok, 1 drift with --fail-on-drift, 2 usage, 3 bad input, 4 store problem.\n\n"
      "Examples:\n"
      "  slipway monitor drift --reference flights@v1 --current flights@main\n"
      "  slipway monitor drift --reference train.csv --current log:flights/3?since=24h --fail-on-drift\n"
      "  slipway monitor drift --reference train.csv --current today.csv --test carrier=psi --json");
  drift->callback([&ctx, &run, args] { run = [&ctx, args] { return run_drift(ctx, *args); }; });
}

}  // namespace slipway::cli
