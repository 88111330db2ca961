// What `slipway serve` and `slipway server --serve` share: resolving the models to serve (bundle
// files, registry specs, deploy.yaml), the prediction log, the InferenceService, and the registry
// deployments recorded while they are served.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "context.h"
#include "slipway/monitor/feedback_service.h"
#include "slipway/monitor/live.h"
#include "slipway/serve/prediction_log.h"
#include "slipway/serve/service.h"
#include "slipway/store/store.h"

namespace slipway::cli {

struct ServeArgs {
  std::vector<std::string> models;
  std::string name;
  std::string host = "127.0.0.1";
  int http_port = 8080;
  int grpc_port = 8081;
  size_t threads = 0;
  // Dynamic batching is off unless asked for (--max-batch-size N > 1), as in Triton and MLServer:
  // a request is predicted on the worker that parsed it, with no hand-off to a batch thread.
  serve::BatchingOptions batching = [] {
    serve::BatchingOptions b;
    b.max_batch_size = 1;
    return b;
  }();
  int64_t timeout_ms = 0;
  size_t max_body_mb = 64;
  int64_t request_timeout_ms = 30000;
  std::string config;
  bool access_log = false;
  std::string log_predictions = "auto";  // on | off | auto (on when a store exists)
  bool no_log_inputs = false;
  std::string log_fsync = "interval";
  double log_sample_rate = 1.0;
  // Monitoring inside the server (slipway/monitor/live.h); on with the prediction log.
  bool no_monitor = false;
  std::string monitor_interval = "60s";
  std::string performance_window = "24h";
  std::string reference;             // NAME@REF or a file; default: the training data (lineage)
  std::vector<std::string> segments;
  std::string alerts;                // rules file
};

struct ServingSetup {
  ServingSetup();
  ~ServingSetup();  // stop()
  ServingSetup(const ServingSetup&) = delete;
  ServingSetup& operator=(const ServingSetup&) = delete;

  std::unique_ptr<store::Store> store;  // open when a registry model is served
  std::shared_ptr<serve::PredictionLog> prediction_log;  // null: predictions are not logged
  std::shared_ptr<serve::InferenceService> service;
  std::shared_ptr<monitor::FeedbackService> feedback;  // with a prediction log only
  std::shared_ptr<monitor::LiveMonitor> live;           // with a prediction log, unless --no-monitor

  // KServe v2 REST routes, /metrics, and POST /v2/models/{name}/feedback when predictions are logged.
  Status add_routes(server::Router& router) const;

  // The HTTP endpoint is known: record the registry deployments.
  void listening(const std::string& endpoint);
  // "serving model 'x' version N" lines (and where the log goes) for the start-up banner.
  std::string banner() const;
  // Answers queued requests, stops the service, flushes the log, ends the deployments. Idempotent.
  void stop();

  struct Sources;
  std::unique_ptr<Sources> sources_;
  bool stopped_ = false;
};

// Resolves `args` (models, --name, --config, batching, log flags) into a running service.
Result<std::unique_ptr<ServingSetup>> setup_serving(Context& ctx, ServeArgs& args);

// --log-predictions, --no-log-inputs, --log-fsync, and the monitoring flags.
void add_prediction_log_flags(CLI::App* cmd, ServeArgs& args);

}  // namespace slipway::cli
