// slipway train CONFIG.yaml, slipway runs reproduce RUN. Thin: src/train does the work; this file
// prints progress (stderr), the summary (stdout) and maps errors to exit codes.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "context.h"
#include "output.h"
#include "slipway/core/progress.h"
#include "slipway/track/tracking.h"
#include "slipway/train/config.h"
#include "slipway/train/pipeline.h"

namespace slipway::cli {

namespace {

struct TrainArgs {
  std::string config;
  std::vector<std::string> sets;
  std::string output;
  bool quiet = false;
};

std::string metric_text(double v) {
  if (std::isnan(v)) return "nan";
  return fmt::format("{:.6g}", v);
}

// Progress on stderr (when it is a terminal, or SLIPWAY_PROGRESS=1, as everywhere in slipway):
// stages as they start, and training curves every 10th step (and the first).
train::TrainOptions progress_options(const Context& ctx, bool quiet) {
  train::TrainOptions options;
  options.command = ctx.argv;
  if (quiet || !Progress::enabled_by_default()) return options;  // a terminal, or SLIPWAY_PROGRESS=1
  auto start = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  options.on_stage = [start](const std::string& stage) {
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - *start).count();
    std::fprintf(stderr, "[%6.2fs] %s\n", t, stage.c_str());
  };
  options.on_step = [](int64_t step, const std::vector<std::pair<std::string, double>>& metrics) {
    if (step != 0 && (step + 1) % 10 != 0) return;
    std::string line = fmt::format("  step {:>5}", step + 1);
    for (const auto& [key, value] : metrics) line += fmt::format("  {} {}", key, metric_text(value));
    std::fprintf(stderr, "%s\n", line.c_str());
  };
  return options;
}

nlohmann::json outcome_json(const train::TrainOutcome& o) {
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [k, v] : o.metrics) metrics[k] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
  nlohmann::json datasets = nlohmann::json::array();
  for (const auto& [source, id] : o.dataset_versions) datasets.push_back({{"source", source}, {"version", id}});
  return {{"run_id", o.run_id},
          {"run_name", o.run_name},
          {"experiment", o.experiment},
          {"experiment_id", o.experiment_id},
          {"model", o.model_kind},
          {"task", model::task_name(o.task)},
          {"class_labels", o.class_labels},
          {"bundle", o.bundle_object_id},
          {"bundle_path", o.bundle_path.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.bundle_path.string())},
          {"bundle_bytes", o.bundle_bytes},
          {"rows",
           {{"read", o.rows_read},
            {"dropped_missing_target", o.rows_dropped},
            {"train", o.rows_train},
            {"validation", o.rows_validation},
            {"test", o.rows_test}}},
          {"inputs", o.n_inputs},
          {"features", o.n_features},
          {"best_iteration", o.best_iteration},
          {"evaluated_on", o.evaluated_on},
          {"metrics", metrics},
          {"report", o.report},
          {"datasets", datasets},
          {"seconds", o.seconds}};
}

void print_summary(const train::TrainOutcome& o) {
  std::printf("run         %s  (%s, experiment %s)\n", o.run_id.c_str(), o.run_name.c_str(), o.experiment.c_str());
  std::string model = fmt::format("{} {}, {} input(s) -> {} feature(s)", o.model_kind, model::task_name(o.task),
                                   o.n_inputs, o.n_features);
  if (o.best_iteration >= 0) model += fmt::format(", best iteration {}", o.best_iteration);
  std::printf("model       %s\n", model.c_str());
  std::string data;
  for (const auto& [source, id] : o.dataset_versions) {
    data += (data.empty() ? "" : " + ") + source + " (" + short_id(id.starts_with("sha256:") ? id.substr(7) : id) + ")";
  }
  std::printf("data        %s: %s rows", data.c_str(), human_count(o.rows_read).c_str());
  if (o.rows_dropped > 0) std::printf(", %s dropped (missing target)", human_count(o.rows_dropped).c_str());
  std::printf("\nsplit       %s train / %s validation / %s test\n", human_count(o.rows_train).c_str(),
              human_count(o.rows_validation).c_str(), human_count(o.rows_test).c_str());
  std::printf("bundle      %s (%s)%s\n", o.bundle_object_id.c_str(), human_bytes(o.bundle_bytes).c_str(),
              o.bundle_path.empty() ? "" : (" -> " + o.bundle_path.string()).c_str());
  std::printf("time        %.2fs\n", o.seconds);

  // Overall metrics, then a table per segment value (from the report: segment values unmangled).
  const std::string prefix = o.evaluated_on + "-";
  std::vector<std::string> names;
  std::printf("\n%s metrics\n", o.evaluated_on.c_str());
  TextTable overall({"  metric", "value"});
  for (const auto& [key, value] : o.metrics) {
    if (key.find('/') != std::string::npos) continue;
    names.push_back(key.substr(prefix.size()));
    overall.add_row({"  " + names.back(), metric_text(value)});
  }
  std::fputs(overall.render({1}).c_str(), stdout);
  if (o.report.contains("confusion") || (o.report.contains("metrics") && o.report["metrics"].contains("confusion"))) {
    const auto& confusion = o.report["metrics"]["confusion"];
    if (confusion.is_array() && confusion.size() <= 10) {
      std::printf("\nconfusion matrix (rows: true class, columns: predicted)\n");
      std::vector<std::string> header = {"  "};
      for (const auto& label : o.class_labels) header.push_back(label);
      TextTable t(header);
      for (size_t i = 0; i < confusion.size(); ++i) {
        std::vector<std::string> row = {"  " + (i < o.class_labels.size() ? o.class_labels[i] : std::to_string(i))};
        for (const auto& c : confusion[i]) row.push_back(human_count(c.get<uint64_t>()));
        t.add_row(row);
      }
      std::vector<size_t> right;
      for (size_t i = 1; i < header.size(); ++i) right.push_back(i);
      std::fputs(t.render(right).c_str(), stdout);
    }
  }
  if (o.report.contains("segments")) {
    const auto& segments = o.report["segments"];
    const std::string column = segments["column"].get<std::string>();
    std::printf("\nby %s (%s)\n", column.c_str(), o.evaluated_on.c_str());
    std::vector<std::string> header = {"  " + column, "n"};
    for (const auto& n : names) header.push_back(n);
    TextTable t(header);
    for (const auto& [segment, j] : segments["values"].items()) {
      std::vector<std::string> row = {"  " + segment, human_count(j.value("n", uint64_t{0}))};
      for (const auto& name : names) {
        row.push_back(j.contains(name) && j[name].is_number() ? metric_text(j[name].get<double>()) : "nan");
      }
      t.add_row(row);
    }
    std::vector<size_t> right;
    for (size_t i = 1; i < header.size(); ++i) right.push_back(i);
    std::fputs(t.render(right).c_str(), stdout);
  }
}

int run_train(Context& ctx, const TrainArgs& a) {
  std::vector<std::string> sets = a.sets;
  auto config = train::load_train_config(a.config, sets);
  if (!config.ok()) return report_error(config.status());
  if (!a.output.empty()) config->output = std::filesystem::absolute(a.output);
  auto store = ctx.open_store();
  if (!store.ok()) return report_error(store.status());
  auto outcome = train::run_training(**store, *config, progress_options(ctx, a.quiet));
  if (!outcome.ok()) return report_error(outcome.status());
  if (ctx.json) {
    print_json(outcome_json(*outcome));
  } else {
    print_summary(*outcome);
  }
  return kExitOk;
}

struct ReproduceArgs {
  std::string run;
  bool quiet = false;
};

int run_reproduce(Context& ctx, const ReproduceArgs& a) {
  auto store = ctx.open_store();
  if (!store.ok()) return report_error(store.status());
  track::Tracking tracking(**store);
  auto id = tracking.resolve_run_prefix(a.run);
  if (!id.ok()) return report_error(id.status());
  auto outcome = train::reproduce_run(**store, *id, progress_options(ctx, a.quiet));
  if (!outcome.ok()) return report_error(outcome.status());
  const auto& o = *outcome;
  if (ctx.json) {
    nlohmann::json diffs = nlohmann::json::array();
    for (const auto& d : o.differences) {
      auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
      diffs.push_back({{"metric", d.key}, {"original", num(d.original)}, {"reproduced", num(d.reproduced)},
                       {"difference", num(d.reproduced - d.original)}});
    }
    print_json({{"run_id", o.original_run_id},
                {"reproduction_run_id", o.rerun.run_id},
                {"identical", o.identical()},
                {"bundle_identical", o.bundle_identical},
                {"original_bundle", o.original_bundle},
                {"reproduced_bundle", o.rerun.bundle_object_id},
                {"metrics_compared", o.rerun.metrics.size()},
                {"differences", diffs}});
  } else {
    std::printf("run            %s\n", o.original_run_id.c_str());
    std::printf("reproduction   %s (%s, tagged slipway.reproduces)\n", o.rerun.run_id.c_str(), o.rerun.run_name.c_str());
    if (o.bundle_identical) {
      std::printf("bundle         identical (sha256 %s)\n", o.original_bundle.c_str());
    } else {
      std::printf("bundle         differs: sha256 %s was recorded, %s now\n", o.original_bundle.c_str(),
                  o.rerun.bundle_object_id.c_str());
    }
    std::printf("metrics        %zu compared, %zu differ\n", o.rerun.metrics.size(), o.differences.size());
    if (!o.differences.empty()) {
      TextTable t({"  metric", "original", "reproduced", "difference"});
      for (const auto& d : o.differences) {
        t.add_row({"  " + d.key, metric_text(d.original), metric_text(d.reproduced),
                   fmt::format("{:+.3g}", d.reproduced - d.original)});
      }
      std::fputs(t.render({1, 2, 3}).c_str(), stdout);
    }
    std::printf("%s\n", o.identical() ? "identical" : "not identical");
  }
  return o.identical() ? kExitOk : kExitCheckFailed;
}

CLI::App* runs_command(CLI::App& app) {
  auto found = app.get_subcommands([](CLI::App* sub) { return sub->get_name() == "runs"; });
  if (!found.empty()) return found.front();
  auto* runs = app.add_subcommand("runs", "Tracked runs");
  runs->require_subcommand(1);
  return runs;
}

}  // namespace

void register_train_commands(CLI::App& app, Context& ctx, Command& run) {
  auto args = std::make_shared<TrainArgs>();
  auto* train = app.add_subcommand("train", "Train a model from a YAML config; the run is tracked and reproducible");
  train->add_option("config", args->config, "The training config (YAML; reference: docs/training.md)")->required();
  train->add_option("--set", args->sets, "Override a config key, e.g. --set split.seed=7 (repeatable; value read as YAML)")
      ->type_name("KEY=VALUE");
  train->add_option("--output,-o", args->output, "Also write the model bundle to this file")->type_name("PATH");
  train->add_flag("--quiet,-q", args->quiet, "No progress on stderr");
  add_json_flag(train, ctx);
  train->footer(
      "Example config (flights.yaml):\n"
      "  data:\n"
      "    dataset: flights@q1\n"
      "    target: {column: arr_delay, threshold: 15}   # binary: arrived more than 15 min late\n"
      "    features: [sched_dep_time, carrier, origin, dest, distance, temp, wind_speed]\n"
      "    join: [{dataset: weather@main, on: [origin, time_hour], columns: [temp, wind_speed]}]\n"
      "    segment: carrier\n"
      "  split: {method: random, train: 0.7, validation: 0.15, test: 0.15}\n"
      "  model: {kind: xgboost, params: {max_depth: 6, n_estimators: 200, early_stopping_rounds: 20}}\n"
      "  seed: 42\n"
      "  threads: 2\n\n"
      "Examples:\n"
      "  slipway train flights.yaml\n"
      "  slipway train flights.yaml --set model.kind=linear --set split.seed=7 -o model.slw\n"
      "  slipway runs reproduce 3fa2b1\n\n"
      "Model kinds: xgboost, linear, mlp (mlp needs slipway built with libtorch).");
  train->callback([&ctx, &run, args] { run = [&ctx, args] { return run_train(ctx, *args); }; });

  auto rargs = std::make_shared<ReproduceArgs>();
  auto* reproduce = runs_command(app)->add_subcommand(
      "reproduce", "Train a run again from its recorded config and data versions; report whether it is identical");
  reproduce->add_option("run", rargs->run, "Run id (or a unique prefix of at least 6 characters)")->required();
  reproduce->add_flag("--quiet,-q", rargs->quiet, "No progress on stderr");
  add_json_flag(reproduce, ctx);
  reproduce->footer(
      "Compares the bundle's SHA-256 and every final metric bit for bit; exit 0 when identical, 1 when not.\n"
      "The reproduction is recorded as a new run tagged slipway.reproduces=<run>.\n\n"
      "Example:\n  slipway runs reproduce 3fa2b1");
  reproduce->callback([&ctx, &run, rargs] { run = [&ctx, rargs] { return run_reproduce(ctx, *rargs); }; });
}

}  // namespace slipway::cli
