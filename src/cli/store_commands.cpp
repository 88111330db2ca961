// slipway init, slipway fsck.
#include <cstdio>

#include "context.h"
#include "output.h"
#include "slipway/data/dataset.h"

namespace slipway::cli {

void register_store_commands(CLI::App& app, Context& ctx, Command& run) {
  auto* init = app.add_subcommand("init", "Create a store (./.slipway, or --store / $SLIPWAY_HOME)");
  init->footer("Example:\n  slipway init\n  slipway --store /data/team-store init");
  add_json_flag(init, ctx);
  init->callback([&ctx, &run] {
    run = [&ctx] {
      auto root = store::Store::resolve_root(ctx.store_flag);
      auto created = store::Store::create(root);
      if (!created.ok()) return report_error(created.status());
      auto abs = std::filesystem::absolute(root).lexically_normal().string();
      if (ctx.json) {
        print_json({{"store", abs}, {"schema_version", (*created)->schema_version()}});
      } else {
        std::printf("Initialized an empty slipway store in %s\n", abs.c_str());
      }
      return kExitOk;
    };
  });

  auto* fsck = app.add_subcommand("fsck", "Verify every stored object and reference; exit 1 naming each problem");
  fsck->footer("Example:\n  slipway fsck\n  slipway fsck --json | jq .problems");
  add_json_flag(fsck, ctx);
  fsck->callback([&ctx, &run] {
    run = [&ctx] {
      auto st = ctx.open_store();
      if (!st.ok()) return report_error(st.status());
      auto report = store::fsck_objects(**st);
      auto dataset_problems = data::Datasets(**st).fsck();
      report.problems.insert(report.problems.end(), dataset_problems.begin(), dataset_problems.end());
      if (ctx.json) {
        nlohmann::json problems = nlohmann::json::array();
        for (const auto& p : report.problems) problems.push_back({{"what", p.what}, {"where", p.where}});
        print_json({{"ok", report.problems.empty()},
                    {"objects_checked", report.objects_checked},
                    {"bytes_checked", report.bytes_checked},
                    {"interrupted_write_leftovers", report.temp_files},
                    {"problems", problems}});
      } else {
        std::printf("checked %s objects (%s)\n", human_count(report.objects_checked).c_str(),
                    human_bytes(report.bytes_checked).c_str());
        if (report.temp_files > 0) {
          std::printf("note: %llu leftover temp file(s) from interrupted writes (harmless, not part of the store)\n",
                      static_cast<unsigned long long>(report.temp_files));
        }
        for (const auto& p : report.problems) std::printf("problem: %s (%s)\n", p.what.c_str(), p.where.c_str());
        std::printf(report.problems.empty() ? "store is consistent\n" : "store has %zu problem(s)\n",
                    report.problems.size());
      }
      return report.problems.empty() ? kExitOk : kExitCheckFailed;
    };
  });
}

}  // namespace slipway::cli
