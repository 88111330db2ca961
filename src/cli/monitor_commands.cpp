// `slipway monitor …`: drift, feedback, performance, alerts, reports over the prediction log.
#include "context.h"

namespace slipway::cli {

void register_monitor_commands(CLI::App& app, Context& ctx, Command& run) {
  auto* monitor = app.add_subcommand("monitor", "Watch served models: drift, performance with feedback, alerts");
  monitor->require_subcommand(1);
  add_monitor_drift_command(monitor, ctx, run);
  add_monitor_alert_commands(monitor, ctx, run);
}

}  // namespace slipway::cli
