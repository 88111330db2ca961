// slipway data schema infer, slipway data validate, slipway data compare.
#include <cstdio>

#include "data_commands.h"
#include "output.h"
#include "slipway/core/fs.h"
#include "slipway/data/compare.h"
#include "slipway/data/ingest.h"
#include "slipway/data/validate.h"

namespace slipway::cli {

namespace {

// Validates a stored version (NAME@REF) or a file on disk.
Result<data::ValidationReport> validate_target(Context& ctx, const std::string& target, const data::DatasetRules& rules) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(target, ec)) {
    SLIPWAY_ASSIGN_OR_RETURN(auto reader, data::open_data_file(target));
    return data::validate(*reader, rules);
  }
  if (target.find('@') == std::string::npos && (target.find('/') != std::string::npos || target.find('.') != std::string::npos)) {
    return make_error(ErrorCode::kNotFound, "no such file: {} (to validate a stored version write NAME@REF)", target);
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto resolved, resolve_version(ctx, target));
  std::vector<std::string> names;
  for (const auto& c : resolved.manifest.schema.columns) names.push_back(c.name);
  SLIPWAY_ASSIGN_OR_RETURN(auto validator, data::Validator::create(rules, names));
  SLIPWAY_RETURN_IF_ERROR(data::scan_version(*resolved.store, resolved.manifest,
                                             [&](const table::RecordBatch& b) { return validator.add(b); }));
  return validator.finish();
}

}  // namespace

void register_validate_commands(CLI::App& data, Context& ctx, Command& run) {
  auto* schema = data.add_subcommand("schema", "Dataset schemas (rules a version must satisfy)");
  schema->require_subcommand(1);
  struct InferArgs {
    std::string spec;
    std::string out;
  };
  auto ia = std::make_shared<InferArgs>();
  auto* infer = schema->add_subcommand("infer", "Write a schema a person can read and edit, inferred from a version's profile");
  infer->add_option("version", ia->spec, "NAME@REF")->required();
  infer->add_option("-o,--output", ia->out, "Write to this file instead of stdout");
  infer->footer("Example:\n  slipway data schema infer flights@q1 > schema.yaml\n  slipway data validate flights@q2 --schema schema.yaml");
  infer->callback([&ctx, &run, ia] {
    run = [&ctx, ia] {
      auto r = resolve_version(ctx, ia->spec);
      if (!r.ok()) return report_error(r.status());
      auto rules = data::infer_rules(r->manifest.profile);
      std::string yaml = data::rules_to_yaml(rules);
      if (ia->out.empty()) {
        std::fputs(yaml.c_str(), stdout);
      } else {
        Status st = write_file_atomic(ia->out, yaml);
        if (!st.ok()) return report_error(st);
        std::fprintf(stderr, "wrote %s (%zu columns)\n", ia->out.c_str(), rules.columns.size());
      }
      return kExitOk;
    };
  });

  struct ValidateArgs {
    std::string target;
    std::string schema;
  };
  auto va = std::make_shared<ValidateArgs>();
  auto* validate = data.add_subcommand("validate", "Check a version or a file against a schema; exit 1 listing every violation");
  validate->add_option("target", va->target, "NAME@REF or a CSV/JSON Lines file")->required();
  validate->add_option("--schema", va->schema, "Schema file (see `slipway data schema infer`)")->required();
  validate->footer("Example:\n  slipway data validate flights@q2 --schema schema.yaml\n  slipway data validate new_batch.csv --schema schema.yaml --json");
  add_json_flag(validate, ctx);
  validate->callback([&ctx, &run, va] {
    run = [&ctx, va] {
      auto rules = data::load_rules(va->schema);
      if (!rules.ok()) return report_error(rules.status());
      auto report = validate_target(ctx, va->target, *rules);
      if (!report.ok()) return report_error(report.status());
      if (ctx.json) {
        nlohmann::json j = data::to_json(*report);
        j["target"] = va->target;
        j["schema"] = va->schema;
        print_json(j);
      } else {
        std::fputs(data::render_text(*report).c_str(), stdout);
      }
      return report->passed ? kExitOk : kExitCheckFailed;
    };
  });

  struct CompareArgs {
    std::string a, b;
    data::CompareOptions options;
  };
  auto ca = std::make_shared<CompareArgs>();
  auto* compare = data.add_subcommand("compare", "Schema differences and per-column distribution distance of two versions; exit 1 on drift");
  compare->add_option("a", ca->a, "Baseline NAME@REF")->required();
  compare->add_option("b", ca->b, "NAME@REF to compare with it")->required();
  compare->add_option("--categorical-threshold", ca->options.categorical_threshold,
                      "L-infinity distance between category frequencies above which a column drifts (default 0.1)");
  compare->add_option("--numeric-threshold", ca->options.numeric_threshold,
                      "Jensen-Shannon distance (base 2) between histograms above which a column drifts (default 0.1)");
  compare->footer("Example:\n  slipway data compare flights@q1 flights@q2\n  slipway data compare flights@q1 flights@q2 --json --numeric-threshold 0.05");
  add_json_flag(compare, ctx);
  compare->callback([&ctx, &run, ca] {
    run = [&ctx, ca] {
      auto a = resolve_version(ctx, ca->a);
      if (!a.ok()) return report_error(a.status());
      auto b = resolve_version(ctx, ca->b);
      if (!b.ok()) return report_error(b.status());
      auto report = data::compare_profiles(a->manifest.profile, b->manifest.profile, ca->options);
      if (ctx.json) {
        nlohmann::json j = data::to_json(report);
        j["a"] = {{"spec", ca->a}, {"version", a->id}};
        j["b"] = {{"spec", ca->b}, {"version", b->id}};
        print_json(j);
      } else {
        std::printf("a  %s (%s)\nb  %s (%s)\n\n", ca->a.c_str(), short_id(a->id).c_str(), ca->b.c_str(), short_id(b->id).c_str());
        std::fputs(data::render_text(report).c_str(), stdout);
      }
      return report.drift || report.schema_changed ? kExitCheckFailed : kExitOk;
    };
  });
}

}  // namespace slipway::cli
