// `slipway monitor report NAME`: one served model's monitoring report (slipway/monitor/report.h) as
// a self-contained HTML page (--html FILE) and / or JSON (--json on stdout, --json-out FILE).
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "context.h"
#include "output.h"
#include "slipway/monitor/report.h"
#include "slipway/monitor/time_text.h"

namespace slipway::cli {

namespace {

struct ReportArgs {
  std::string model;  // MODEL[/V][?last=N&since=..]
  std::string window;  // a duration: the last 24h, 7d ...
  std::string since, until;
  uint64_t last = 0;
  std::string html;
  std::string json_out;
  std::string reference;
  std::string registered;
  size_t buckets = 12;
  std::string bucket;
  std::vector<std::string> segments;
  size_t top = 5;
  double alpha = 0.05;
  double drift_share = 0.5;
};

Result<int64_t> parse_duration(const std::string& text, const char* flag) {
  SLIPWAY_ASSIGN_OR_RETURN(auto d, monitor::parse_duration(text, flag));
  return d.count();
}

Status write_file(const std::string& path, const std::string& text, const char* flag) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return make_error(ErrorCode::kIoError, "{} '{}': cannot write there", flag, path);
    out << text;
    out.close();
    if (!out) return make_error(ErrorCode::kIoError, "{} '{}': write failed", flag, path);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return make_error(ErrorCode::kIoError, "{} '{}': {}", flag, path, ec.message());
  return {};
}

Result<monitor::ReportOptions> make_options(const ReportArgs& args, int64_t now) {
  monitor::ReportOptions options;
  SLIPWAY_ASSIGN_OR_RETURN(options.window, monitor::parse_log_window(args.model, now));
  if (!args.window.empty()) {
    SLIPWAY_ASSIGN_OR_RETURN(int64_t span, parse_duration(args.window, "--window"));
    options.window.since_us = now - span;
  }
  if (!args.since.empty()) {
    SLIPWAY_ASSIGN_OR_RETURN(options.window.since_us, monitor::parse_time_text(args.since, "--since", now));
  }
  if (!args.until.empty()) {
    SLIPWAY_ASSIGN_OR_RETURN(options.window.until_us, monitor::parse_time_text(args.until, "--until", now));
  }
  if (args.last > 0) options.window.last_rows = args.last;
  if (!args.bucket.empty()) {
    SLIPWAY_ASSIGN_OR_RETURN(int64_t width, parse_duration(args.bucket, "--bucket"));
    options.bucket_us = width;
  }
  if (args.buckets == 0) return Status(ErrorCode::kInvalidArgument, "--buckets 0: expected at least 1");
  if (!(args.alpha > 0 && args.alpha < 1)) {
    return make_error(ErrorCode::kInvalidArgument, "--alpha {}: expected a number between 0 and 1", args.alpha);
  }
  if (!(args.drift_share > 0 && args.drift_share <= 1)) {
    return make_error(ErrorCode::kInvalidArgument, "--drift-share {}: expected a number in (0, 1]", args.drift_share);
  }
  options.buckets = args.buckets;
  options.reference = args.reference;
  options.registered_model = args.registered;
  options.segments = args.segments;
  options.top_columns = args.top;
  options.drift.alpha = args.alpha;
  options.drift.drift_share = args.drift_share;
  return options;
}

void print_summary(const monitor::MonitorReport& r, const ReportArgs& args) {
  std::string versions;
  for (int64_t v : r.versions) versions += (versions.empty() ? "" : ", ") + std::to_string(v);
  std::printf("%s: %s predictions, versions %s, %s .. %s\n", r.model.c_str(), human_count(r.predictions).c_str(),
              versions.c_str(), monitor::report_time(r.first_us).c_str(), monitor::report_time(r.last_us).c_str());
  std::printf("reference: %s (%s rows)\n", r.reference.source.c_str(), human_count(r.reference.rows).c_str());
  if (r.drift) {
    std::string drifted;
    for (const auto& c : r.drift->columns) {
      if (c.drifted) drifted += (drifted.empty() ? "" : ", ") + c.column;
    }
    std::printf("%s: %zu of %zu inputs drifted%s%s\n", r.drift->dataset_drift ? "dataset drift" : "no dataset drift",
                r.drift->drifted_columns, r.drift->tested_columns, drifted.empty() ? "" : ": ", drifted.c_str());
  } else {
    std::printf("drift: not computed (%s)\n", r.drift_note.c_str());
  }
  if (r.performance) {
    std::printf("labelled: %s of %s\n", human_count(r.performance->overall.labelled).c_str(),
                human_count(r.predictions).c_str());
  }
  std::printf("alert firings: %zu\n", r.alerts.size());
  for (const auto& n : r.notes) std::printf("note: %s\n", n.c_str());
  if (!args.html.empty()) std::printf("wrote %s\n", args.html.c_str());
  if (!args.json_out.empty()) std::printf("wrote %s\n", args.json_out.c_str());
}

int run_report(Context& ctx, const ReportArgs& args) {
  const int64_t now = monitor::unix_now_us();
  auto options = make_options(args, now);
  if (!options.ok()) return report_error(options.status());
  auto store = ctx.open_store();
  if (!store.ok()) return report_error(store.status());
  auto report = monitor::build_report(**store, *options, now);
  if (!report.ok()) return report_error(report.status());
  if (!args.html.empty()) {
    Status written = write_file(args.html, monitor::render_report_html(*report), "--html");
    if (!written.ok()) return report_error(written);
  }
  const nlohmann::json j = monitor::to_json(*report);
  if (!args.json_out.empty()) {
    Status written = write_file(args.json_out, j.dump(2) + "\n", "--json-out");
    if (!written.ok()) return report_error(written);
  }
  if (ctx.json) {
    print_json(j);
  } else {
    print_summary(*report, args);
  }
  return kExitOk;
}

}  // namespace

void add_monitor_report_command(CLI::App* monitor, Context& ctx, Command& run) {
  auto args = std::make_shared<ReportArgs>();
  auto* cmd = monitor->add_subcommand("report", "A served model's monitoring report: HTML page with plots, and JSON");
  cmd->add_option("model", args->model, "MODEL, MODEL/VERSION, or MODEL?last=N&since=24h")->required();
  cmd->add_option("--html", args->html, "Write the report as one self-contained HTML page to this file");
  cmd->add_option("--json-out", args->json_out, "Write the report's JSON to this file");
  cmd->add_option("--window", args->window, "Only the last DURATION of predictions (24h, 7d ...)");
  cmd->add_option("--since", args->since, "Predictions from this time on (2025-01-31, 24h, 7d ...)");
  cmd->add_option("--until", args->until, "Predictions before this time");
  cmd->add_option("--last", args->last, "Only the newest N predictions");
  cmd->add_option("--reference", args->reference,
                  "Drift reference: dataset version NAME@REF or a CSV / JSON Lines file (default: the served "
                  "version's training data through the registry, else the window's first bucket)");
  cmd->add_option("--registered-model", args->registered,
                  "The registered model whose lineage gives the training data (default: the served name)");
  cmd->add_option("--buckets", args->buckets, "Time buckets over the window (default 12)");
  cmd->add_option("--bucket", args->bucket, "Bucket width instead (30m, 1h, 1d ...)");
  cmd->add_option("--segment", args->segments, "Performance by this input column or request tag (repeatable)");
  cmd->add_option("--top", args->top, "Inputs plotted in drift over time (default 5)");
  cmd->add_option("--alpha", args->alpha, "Significance level for the adjusted p-values (default 0.05)");
  cmd->add_option("--drift-share", args->drift_share,
                  "The dataset drifts when at least this share of tested inputs drifted (default 0.5)");
  add_json_flag(cmd, ctx);
  cmd->footer(
      "The page has no outside resources (inline SVG and CSS): open it offline, attach it to a ticket.\n"
      "Buckets are whole seconds, aligned as `monitor performance --by-time` aligns them. See docs/reports.md.\n\n"
      "Examples:\n"
      "  slipway monitor report flights --html flights.html\n"
      "  slipway monitor report flights/2 --window 7d --bucket 1d --segment carrier --html week.html\n"
      "  slipway monitor report flights --reference flights@v1 --json > report.json");
  cmd->callback([&ctx, &run, args] { run = [&ctx, args] { return run_report(ctx, *args); }; });
}

}  // namespace slipway::cli
