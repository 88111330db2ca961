// `slipway monitor …`: feedback and performance here; drift (monitor_drift_commands.cpp) and alerts
// (monitor_alert_commands.cpp) in their own files.
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "context.h"
#include "output.h"
#include "slipway/monitor/feedback.h"
#include "slipway/monitor/performance.h"
#include "slipway/monitor/report.h"
#include "slipway/monitor/time_text.h"

namespace slipway::cli {

namespace {

struct FeedbackArgs {
  std::string file;
  std::string model;
  bool skip_unknown = false;
};

int run_feedback(Context& ctx, const FeedbackArgs& args) {
  auto store = ctx.open_store();
  if (!store.ok()) return report_error(store.status());
  auto items = monitor::read_feedback_file(args.file);
  if (!items.ok()) return report_error(items.status());
  monitor::RequestIdIndex index((*store)->root(), args.model);
  monitor::FeedbackOptions options;
  options.skip_unknown = args.skip_unknown;
  const size_t total = items->size();
  auto outcome = monitor::record_feedback(**store, args.model, std::move(items).value(), index, options,
                                          monitor::unix_now_us());
  if (!outcome.ok()) return report_error(outcome.status());
  if (ctx.json) {
    print_json({{"model", args.model},
                {"rows", total},
                {"accepted", outcome->accepted},
                {"replaced", outcome->replaced},
                {"skipped_unknown", outcome->skipped_unknown}});
  } else {
    std::printf("%s: %s new, %s replacing earlier feedback", args.model.c_str(), human_count(outcome->accepted).c_str(),
                human_count(outcome->replaced).c_str());
    if (outcome->skipped_unknown > 0) {
      std::printf(", %s skipped (request id not in the log)", human_count(outcome->skipped_unknown).c_str());
    }
    std::printf("\n");
  }
  return kExitOk;
}

struct PerformanceArgs {
  std::string model;  // MODEL[/V][?window]
  std::string since, until;
  uint64_t last = 0;
  std::vector<std::string> segments;
  std::string bucket;
  size_t min_rows = 30;
};

std::string opt(const std::optional<double>& v) { return v ? format_number(*v) : "-"; }

void add_slice_row(TextTable& t, const monitor::PerformanceSlice& s, bool regression, const std::string& label) {
  std::vector<std::string> row = {label, human_count(s.predictions), human_count(s.labelled)};
  if (regression) {
    row.push_back(opt(s.rmse));
    row.push_back(opt(s.mae));
    row.push_back(opt(s.r2));
  } else {
    row.push_back(opt(s.accuracy));
    row.push_back(opt(s.auc));
    row.push_back(opt(s.log_loss));
    row.push_back(opt(s.error_rate));
  }
  row.push_back(format_number(s.latency_p99_ms));
  std::string values;
  for (const auto& b : s.values) {
    values += fmt::format("{}{}={}", values.empty() ? "" : "  ", b.name, format_number(b.mean));
    if (std::isfinite(b.ci_low)) values += fmt::format(" [{}, {}]", format_number(b.ci_low), format_number(b.ci_high));
  }
  row.push_back(values.empty() ? "-" : values);
  t.add_row(std::move(row));
}

int run_performance(Context& ctx, const PerformanceArgs& args) {
  const int64_t now = monitor::unix_now_us();
  auto window = monitor::parse_log_window(args.model, now);
  if (!window.ok()) return report_error(window.status());
  monitor::PerformanceOptions options;
  options.window = *window;
  if (!args.since.empty()) {
    auto t = monitor::parse_time_text(args.since, "--since", now);
    if (!t.ok()) return report_error(t.status());
    options.window.since_us = *t;
  }
  if (!args.until.empty()) {
    auto t = monitor::parse_time_text(args.until, "--until", now);
    if (!t.ok()) return report_error(t.status());
    options.window.until_us = *t;
  }
  if (args.last > 0) options.window.last_rows = args.last;
  if (!args.bucket.empty()) {
    auto width = monitor::parse_duration(args.bucket, "--by-time");
    if (!width.ok()) return report_error(width.status());
    options.bucket_us = width->count();
  }
  options.segments = args.segments;
  options.min_segment_rows = args.min_rows;
  // The arguments first, so a typo is named before anything is opened.
  auto store = ctx.open_store();
  if (!store.ok()) return report_error(store.status());
  auto report = monitor::compute_performance(**store, options);
  if (!report.ok()) return report_error(report.status());
  const auto& r = *report;
  if (ctx.json) {
    print_json(monitor::to_json(r));  // the same document `monitor report --json` carries
    return kExitOk;
  }
  const bool regression = r.task == "regression";
  std::vector<std::string> header = {"slice", "predictions", "labelled"};
  if (regression) {
    header.insert(header.end(), {"rmse", "mae", "r2"});
  } else {
    header.insert(header.end(), {"accuracy", "auc", "log_loss", "error_rate"});
  }
  header.insert(header.end(), {"p99_ms", "business values (mean [95% CI])"});
  const std::vector<size_t> right = regression ? std::vector<size_t>{1, 2, 3, 4, 5, 6}
                                               : std::vector<size_t>{1, 2, 3, 4, 5, 6, 7};
  std::printf("%s: %s, %s predictions, %s with labels (%s feedback rows outside this window, %s duplicates)\n\n",
              r.model.c_str(), r.task.c_str(), human_count(r.overall.predictions).c_str(),
              human_count(r.overall.labelled).c_str(), human_count(r.feedback_outside).c_str(),
              human_count(static_cast<uint64_t>(r.feedback_duplicates)).c_str());
  TextTable table(header);
  add_slice_row(table, r.overall, regression, "all");
  for (const auto& s : r.by_version) add_slice_row(table, s, regression, "version " + s.value);
  for (const auto& s : r.by_time) add_slice_row(table, s, regression, s.value);
  for (const auto& s : r.by_segment) add_slice_row(table, s, regression, s.column + "=" + s.value);
  std::fputs(table.render(right).c_str(), stdout);
  if (!r.worst_segments.empty()) {
    std::printf("\nworst segments (at least %zu labelled rows):\n", args.min_rows);
    for (const auto& s : r.worst_segments) {
      std::printf("  %s=%s  %s %s over %s labelled\n", s.column.c_str(), s.value.c_str(),
                  regression ? "rmse" : "error rate", format_number(regression ? *s.rmse : *s.error_rate).c_str(),
                  human_count(s.labelled).c_str());
    }
  }
  return kExitOk;
}

}  // namespace

void register_monitor_commands(CLI::App& app, Context& ctx, Command& run) {
  auto* monitor = app.add_subcommand("monitor", "Watch served models: drift, performance with feedback, alerts");
  monitor->require_subcommand(1);

  auto fb = std::make_shared<FeedbackArgs>();
  auto* feedback = monitor->add_subcommand("feedback", "Record true labels / business values for logged predictions");
  feedback->add_option("file", fb->file, "A .csv (id,label,VALUE...), .json or .jsonl file")->required();
  feedback->add_option("--model", fb->model, "The served model the ids belong to")->required();
  feedback->add_flag("--skip-unknown", fb->skip_unknown,
                     "Skip ids not in the model's prediction log (default: refuse the file, naming the first)");
  add_json_flag(feedback, ctx);
  feedback->footer(
      "Examples:\n"
      "  slipway monitor feedback labels.csv --model flights        # id,label[,revenue,...]\n"
      "  slipway monitor feedback late.jsonl --model flights --skip-unknown\n"
      "The same over HTTP while serving: POST /v2/models/flights/feedback\n"
      "  {\"feedback\": [{\"id\": \"a1b2c3d4-17\", \"label\": 1, \"values\": {\"revenue\": 12.5}}]}");
  feedback->callback([&ctx, &run, fb] { run = [&ctx, fb] { return run_feedback(ctx, *fb); }; });

  auto pa = std::make_shared<PerformanceArgs>();
  auto* perf = monitor->add_subcommand("performance", "Accuracy, AUC, RMSE ... of logged predictions with feedback");
  perf->add_option("model", pa->model, "MODEL, MODEL/VERSION, or MODEL?last=N&since=24h")->required();
  perf->add_option("--since", pa->since, "Predictions from this time on (2025-01-31, 24h, 7d ...)");
  perf->add_option("--until", pa->until, "Predictions before this time");
  perf->add_option("--last", pa->last, "Only the newest N predictions");
  perf->add_option("--segment", pa->segments, "Break down by this input column or request tag (repeatable)");
  perf->add_option("--by-time", pa->bucket, "Also per time bucket of this width (1h, 1d ...)");
  perf->add_option("--min-rows", pa->min_rows, "Labelled rows a segment needs to rank among the worst (default 30)");
  add_json_flag(perf, ctx);
  perf->footer(
      "Examples:\n"
      "  slipway monitor performance flights --segment carrier\n"
      "  slipway monitor performance flights/2 --since 7d --by-time 1d --json");
  perf->callback([&ctx, &run, pa] { run = [&ctx, pa] { return run_performance(ctx, *pa); }; });

  add_monitor_drift_command(monitor, ctx, run);
  add_monitor_alert_commands(monitor, ctx, run);
  add_monitor_report_command(monitor, ctx, run);
}

}  // namespace slipway::cli
