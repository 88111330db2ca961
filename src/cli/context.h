// What every command gets: global options, resolved once, passed explicitly (no globals).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "slipway/core/status.h"
#include "slipway/store/store.h"

namespace slipway::model {
struct Model;
}  // namespace slipway::model

namespace slipway::cli {

struct Context {
  std::optional<std::string> store_flag;
  bool json = false;
  std::vector<std::string> argv;  // recorded in lineage

  // Opens the store named by --store / $SLIPWAY_HOME / ./.slipway.
  Result<std::unique_ptr<store::Store>> open_store() const {
    return store::Store::open(store::Store::resolve_root(store_flag));
  }
};

// Each returns the process exit code.
using Command = std::function<int()>;

// Adds `--json` to a subcommand (bound to ctx.json).
inline void add_json_flag(CLI::App* cmd, Context& ctx) {
  cmd->add_flag("--json", ctx.json, "Machine-readable JSON on stdout");
}

void register_store_commands(CLI::App& app, Context& ctx, Command& run);
void register_data_commands(CLI::App& app, Context& ctx, Command& run);
void register_model_commands(CLI::App& app, Context& ctx, Command& run);
void register_tracking_commands(CLI::App& app, Context& ctx, Command& run);  // runs, experiments
void register_train_commands(CLI::App& app, Context& ctx, Command& run);     // train, runs reproduce
void register_server_commands(CLI::App& app, Context& ctx, Command& run);    // server
void register_registry_commands(CLI::App& app, Context& ctx, Command& run);  // models
void register_logs_commands(CLI::App& app, Context& ctx, Command& run);      // logs (prediction log)
void register_serve_commands(CLI::App& app, Context& ctx, Command& run);     // serve (KServe v2 inference)
void register_monitor_commands(CLI::App& app, Context& ctx, Command& run);   // monitor (monitor_commands.cpp)

// `monitor` verbs, each in its own file, added by register_monitor_commands.
void add_monitor_drift_command(CLI::App* monitor, Context& ctx, Command& run);   // monitor_drift_commands.cpp
void add_monitor_alert_commands(CLI::App* monitor, Context& ctx, Command& run);  // monitor_alert_commands.cpp
void add_monitor_report_command(CLI::App* monitor, Context& ctx, Command& run);   // monitor_report_command.cpp

// A model named on the command line: a bundle file when `arg` is an existing file, else a registered
// model NAME, NAME/N or NAME@ALIAS in the store (registry_commands.cpp).
Result<model::Model> load_named_model(Context& ctx, const std::string& arg);

}  // namespace slipway::cli
