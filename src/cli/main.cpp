// slipway: `slipway <noun> <verb>`. Parses arguments with CLI11, runs one command, maps its
// Status to an exit code (output.h). Library code never prints; commands here do.
#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include <CLI/CLI.hpp>

#include "context.h"
#include "output.h"

namespace {

// CLI11 reports "A subcommand is required" for `slipway frobnicate`; name the unknown word instead.
std::string unknown_command(CLI::App& app, int argc, char** argv) {
  CLI::App* current = &app;
  std::string path = "slipway";
  for (int i = 1; i < argc; ++i) {
    std::string token = argv[i];
    if (token == "--store") {
      ++i;
      continue;
    }
    if (token.starts_with("-")) continue;
    auto subs = current->get_subcommands([](CLI::App*) { return true; });
    if (subs.empty()) return {};
    CLI::App* next = nullptr;
    for (auto* sub : subs) {
      if (sub->get_name() == token) next = sub;
    }
    if (next == nullptr) {
      std::string names;
      for (auto* sub : subs) names += (names.empty() ? "" : ", ") + sub->get_name();
      return "unknown command '" + token + "' for `" + path + "` (commands: " + names + "); run `" + path +
             " --help`";
    }
    current = next;
    path += " " + token;
  }
  auto subs = current->get_subcommands([](CLI::App*) { return true; });
  if (!subs.empty()) {
    std::string names;
    for (auto* sub : subs) names += (names.empty() ? "" : ", ") + sub->get_name();
    return "`" + path + "` needs a command: " + names + "; run `" + path + " --help`";
  }
  return {};
}

// Files are read through memory mappings (inputs being chunked, model bundles, artifacts). When
// another process truncates such a file while it is read, the kernel raises SIGBUS at the first
// page past the new end. Nothing is committed before a command finishes (objects are written to
// temporary names, the metadata in one transaction), so say what happened and exit instead of
// dying with "Bus error": the store stays as it was.
void on_sigbus(int) {
  static const char kMessage[] =
      "error: a file being read was truncated or changed by another process while slipway read it "
      "(SIGBUS); nothing was committed. Run the command again once the file is stable.\n";
  ssize_t ignored = ::write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
  (void)ignored;
  ::_exit(3);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace slipway::cli;
  struct sigaction bus = {};
  bus.sa_handler = on_sigbus;
  sigemptyset(&bus.sa_mask);
  ::sigaction(SIGBUS, &bus, nullptr);
  Context ctx;
  // Recorded in lineage as the user would type it again: `slipway ...`, not the binary's path.
  for (int i = 0; i < argc; ++i) ctx.argv.emplace_back(i == 0 ? std::string("slipway") : std::string(argv[i]));

  CLI::App app{"slipway — the production ML loop in one fast binary: data, training, registry, serving, monitoring."};
  app.name("slipway");
  app.set_version_flag("--version", std::string("slipway ") + SLIPWAY_VERSION_STRING);
  app.add_option("--store", ctx.store_flag, "Store folder (default: $SLIPWAY_HOME, else ./.slipway)")
      ->envname("")
      ->type_name("PATH");
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  slipway init\n"
      "  slipway data ingest flights.csv --dataset flights -m 'January'\n"
      "  slipway data profile flights@main\n"
      "  slipway model import model.json -o model.slw\n\n"
      "Exit codes: 0 ok, 1 a check failed, 2 bad usage, 3 bad input, 4 store problem, 5 internal error.\n"
      "Run `slipway <command> --help` for a command's options and an example.");

  Command run;
  register_store_commands(app, ctx, run);
  register_data_commands(app, ctx, run);
  register_model_commands(app, ctx, run);
  register_tracking_commands(app, ctx, run);
  register_train_commands(app, ctx, run);
  register_registry_commands(app, ctx, run);
  register_server_commands(app, ctx, run);
  register_logs_commands(app, ctx, run);
  register_serve_commands(app, ctx, run);
  register_monitor_commands(app, ctx, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (std::string unknown = unknown_command(app, argc, argv); !unknown.empty()) {
      std::fprintf(stderr, "error: %s\n", unknown.c_str());
      return kExitUsage;
    }
    std::fprintf(stderr, "error: %s\n", e.what());
    std::fprintf(stderr, "Run with --help for usage and an example.\n");
    return kExitUsage;
  }
  if (!run) {
    std::fprintf(stderr, "error: missing command; run `slipway --help`\n");
    return kExitUsage;
  }
  try {
    return run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: internal error: %s\n", e.what());
    return kExitInternal;
  }
}
