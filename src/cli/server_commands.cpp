// slipway server: the tracking REST API (slipway's /api/v1/ and MLflow's routes) over HTTP.
// Thin: slipway/server/tracking_server.h does the work; this parses flags and prints the address.
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "context.h"
#include "output.h"
#include "serving_setup.h"
#include "slipway/monitor/time_text.h"
#include "slipway/serve/grpc_server.h"
#include "slipway/serve/rest.h"
#include "slipway/server/tracking_server.h"

namespace slipway::cli {

namespace {

// "24h", "30m", "90s", "500ms", or a plain number of seconds (slipway/monitor/time_text.h).
Result<std::chrono::milliseconds> parse_duration(const std::string& text, const char* flag) {
  SLIPWAY_ASSIGN_OR_RETURN(auto d, monitor::parse_duration(text, flag));
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

struct ServerArgs {
  std::string host = "127.0.0.1";
  int port = 5000;
  size_t threads = 0;
  std::string stale_run_timeout = "24h";
  std::string reap_interval = "1m";
  size_t max_body_mb = 64;
  std::string request_timeout = "30s";
  bool access_log = false;
  // Models served beside the tracking routes (KServe v2 under /v2, /metrics), as `slipway serve`.
  ServeArgs serving;
  int grpc_port = -1;  // -1: no gRPC front end
};

}  // namespace

void register_server_commands(CLI::App& app, Context& ctx, Command& run) {
  auto args = std::make_shared<ServerArgs>();
  auto* cmd = app.add_subcommand(
      "server", "Serve the tracking REST API (/api/v1/) and MLflow's tracking routes so the MLflow client works");
  cmd->footer(
      "Examples:\n"
      "  slipway server                       # http://127.0.0.1:5000\n"
      "  slipway server --host 0.0.0.0 --port 8080\n"
      "  MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python train.py\n"
      "  slipway server --serve flights@champion --grpc-port 8081   # tracking + KServe v2 on one port\n"
      "Stops gracefully on SIGTERM or Ctrl-C (finishes requests in flight, then exits 0).");
  cmd->add_option("--host", args->host, "Address to bind (default 127.0.0.1: this machine only)");
  cmd->add_option("--port", args->port, "Port (default 5000; 0 picks a free one)")->check(CLI::Range(0, 65535));
  cmd->add_option("--threads", args->threads, "Worker threads (default: one per core)");
  cmd->add_option("--stale-run-timeout", args->stale_run_timeout,
                  "Mark RUNNING runs created over HTTP FAILED after this long without a write (default 24h)");
  cmd->add_option("--reap-interval", args->reap_interval, "How often to look for dead runs (default 1m)");
  cmd->add_option("--max-body-mb", args->max_body_mb, "Largest request body accepted, in MiB (default 64)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--request-timeout", args->request_timeout,
                  "A request must arrive completely within this time of its first byte (default 30s)");
  cmd->add_flag("--access-log", args->access_log, "Print one line per request on stderr");
  cmd->add_option("--serve", args->serving.models,
                  "Also serve this model over KServe v2 on the same port (/v2/..., /metrics): a bundle file, "
                  "NAME@ALIAS or NAME/N; repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--serve-config", args->serving.config, "deploy.yaml of the models to serve (see docs/serving.md)");
  cmd->add_option("--grpc-port", args->grpc_port, "Also serve the models over KServe v2 gRPC on this port (0 picks one)")
      ->check(CLI::Range(0, 65535));
  add_prediction_log_flags(cmd, args->serving);
  cmd->callback([&ctx, &run, args] {
    run = [&ctx, args] {
      server::TrackingServerOptions options;
      options.store_root = store::Store::resolve_root(ctx.store_flag);
      options.http.host = args->host;
      options.http.port = static_cast<uint16_t>(args->port);
      options.http.threads = args->threads;
      options.http.max_body_bytes = args->max_body_mb << 20;
      auto stale = parse_duration(args->stale_run_timeout, "--stale-run-timeout");
      if (!stale.ok()) return report_error(stale.status());
      options.stale_run_timeout = *stale;
      auto interval = parse_duration(args->reap_interval, "--reap-interval");
      if (!interval.ok()) return report_error(interval.status());
      options.reap_interval = *interval;
      auto request_timeout = parse_duration(args->request_timeout, "--request-timeout");
      if (!request_timeout.ok()) return report_error(request_timeout.status());
      options.http.request_timeout = *request_timeout;
      if (args->access_log) {
        options.http.on_response = [](const server::Request& request, int status) {
          std::fprintf(stderr, "%s %s%s%s %d\n", server::method_name(request.method), request.path.c_str(),
                       request.query.empty() ? "" : "?", request.query.c_str(), status);
        };
      }
      std::unique_ptr<ServingSetup> serving;
      std::unique_ptr<serve::GrpcServer> grpc;
      if (!args->serving.models.empty() || !args->serving.config.empty()) {
        args->serving.host = args->host;
        auto setup = setup_serving(ctx, args->serving);
        if (!setup.ok()) return report_error(setup.status());
        serving = std::move(setup).value();
        options.extra_routes = [setup = serving.get()](server::Router& router) { return setup->add_routes(router); };
        if (args->grpc_port >= 0) {
          serve::GrpcServerOptions grpc_options;
          grpc_options.host = args->host;
          grpc_options.port = static_cast<uint16_t>(args->grpc_port);
          grpc_options.threads = args->threads;
          grpc_options.max_message_bytes = args->max_body_mb << 20;
          auto started = serve::GrpcServer::start(serving->service, grpc_options);
          if (!started.ok()) return report_error(started.status());
          grpc = std::move(started).value();
        }
      }
      auto stopped = server::run_tracking_server(options, [&](server::HttpServer& http) {
        std::string banner = fmt::format("listening on http://{}:{}\n", http.host(), http.port());
        if (serving) {
          serving->listening(fmt::format("http://{}:{}", http.host(), http.port()));
          banner += serving->banner();
        }
        if (grpc) banner += fmt::format("listening on grpc://{}:{}\n", grpc->host(), grpc->port());
        std::fputs(banner.c_str(), stderr);
        std::fflush(stderr);
      });
      if (grpc) grpc->shutdown(std::chrono::seconds(30));
      if (serving) serving->stop();
      if (!stopped.ok()) return report_error(stopped.status());
      if (*stopped != 0) std::fprintf(stderr, "stopped by signal %d; requests in flight finished\n", *stopped);
      return kExitOk;
    };
  });
}

}  // namespace slipway::cli
