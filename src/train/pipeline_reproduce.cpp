// reproduce_run: train again from what a run recorded (run.json) and compare bytes and metrics.
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>

#include "slipway/track/tracking.h"
#include "slipway/train/pipeline.h"

namespace slipway::train {

namespace {

bool same_bits(double a, double b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  return std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace

Result<ReproduceOutcome> reproduce_run(store::Store& store, const std::string& run_id, const TrainOptions& options) {
  track::Tracking tracking(store);
  SLIPWAY_ASSIGN_OR_RETURN(track::Run original, tracking.get_run(run_id));
  auto recorded = tracking.get_artifact(run_id, "run.json");
  if (!recorded.ok()) {
    if (recorded.status().code() != ErrorCode::kNotFound) return recorded.status();
    return make_error(ErrorCode::kFailedPrecondition,
                      "run {} has no recorded training (run.json): only runs made by `slipway train` can be reproduced",
                      run_id);
  }
  nlohmann::json run = nlohmann::json::parse(*recorded, nullptr, false);
  if (run.is_discarded() || !run.is_object() || !run.contains("config_yaml") || !run.contains("sources")) {
    return make_error(ErrorCode::kCorrupt, "run {}: run.json is not a training record slipway can read", run_id);
  }
  // Pin every source to the version the run read.
  std::vector<std::string> sets;
  TrainOptions opts = options;
  for (const auto& s : run["sources"]) {
    const std::string key = s.value("key", "");
    const std::string version = s.value("version_id", "");
    if (s.contains("dataset")) {
      std::string spec = s["dataset"].get<std::string>();
      const std::string name = spec.substr(0, spec.find('@'));
      sets.push_back(fmt::format("{}.dataset={}@{}", key, name, version));
    } else {
      sets.push_back(fmt::format("{}.file={}", key, s.value("file", "")));
    }
    opts.expected_versions[key] = version;
  }
  SLIPWAY_ASSIGN_OR_RETURN(
      TrainConfig config,
      parse_train_config(run["config_yaml"].get<std::string>(), fmt::format("config.yaml of run {}", run_id), sets));
  config.output.clear();  // never overwrite the file the original run wrote
  config.run_name = original.info.run_name + "-reproduction";
  const std::string original_run = run.value("provenance_run_id", run_id);
  opts.reproduces = original_run;
  opts.reproduce_created_at = run.value("created_at", "");

  ReproduceOutcome outcome;
  outcome.original_run_id = run_id;
  outcome.original_bundle = run.value("bundle", "");
  SLIPWAY_ASSIGN_OR_RETURN(outcome.rerun, run_training(store, config, opts));
  outcome.bundle_identical = outcome.rerun.bundle_object_id == outcome.original_bundle;

  // Compare every final metric bit for bit (run.json keeps them as exact text).
  std::map<std::string, double> before;
  if (run.contains("metrics_exact")) {
    for (const auto& [key, text] : run["metrics_exact"].items()) before[key] = std::strtod(text.get<std::string>().c_str(), nullptr);
  }
  std::map<std::string, double> after(outcome.rerun.metrics.begin(), outcome.rerun.metrics.end());
  std::set<std::string> keys;
  for (const auto& [k, v] : before) keys.insert(k);
  for (const auto& [k, v] : after) keys.insert(k);
  constexpr double kAbsent = std::numeric_limits<double>::quiet_NaN();
  for (const auto& key : keys) {
    auto b = before.find(key);
    auto a = after.find(key);
    if (b != before.end() && a != after.end() && same_bits(b->second, a->second)) continue;
    outcome.differences.push_back({key, b == before.end() ? kAbsent : b->second, a == after.end() ? kAbsent : a->second});
  }
  return outcome;
}

}  // namespace slipway::train
