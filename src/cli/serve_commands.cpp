// slipway serve: models over the KServe Open Inference Protocol v2 (REST; gRPC beside it).
// Thin: slipway/serve/service.h does the work; this resolves what to serve, parses flags and
// deploy.yaml, records deployments in the registry, and prints the address.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "context.h"
#include "output.h"
#include "slipway/monitor/system_health.h"
#include "slipway/monitor/time_text.h"
#include "serving_setup.h"
#include "slipway/registry/registry.h"
#include "slipway/serve/grpc_server.h"
#include "slipway/serve/rest.h"
#include "slipway/serve/service.h"
#include "slipway/server/http.h"

namespace slipway::cli {

namespace {


// The registry deployment of what a registry source serves, recorded once the endpoint is known.
struct Deployments {
  std::mutex mutex;
  store::Store* store = nullptr;
  std::string endpoint;  // empty until the server listens
};

class RegistrySource final : public serve::ModelSource {
 public:
  RegistrySource(std::string spec, std::shared_ptr<Deployments> deployments)
      : spec_(std::move(spec)), deployments_(std::move(deployments)) {}

  std::string describe() const override { return spec_; }

  Result<serve::SourceVersion> current() override {
    std::lock_guard lock(deployments_->mutex);
    registry::Registry registry(*deployments_->store);
    SLIPWAY_ASSIGN_OR_RETURN(registry::ModelRef ref, registry.resolve(spec_));
    if (ref.bundle_object_id.empty()) {
      return make_error(ErrorCode::kFailedPrecondition, "model version {}/{} has no bundle to serve", ref.name, ref.version);
    }
    return serve::SourceVersion{std::to_string(ref.version), ref.bundle_object_id + "#" + std::to_string(ref.version)};
  }

  Result<model::Model> load(const serve::SourceVersion& version) override {
    std::lock_guard lock(deployments_->mutex);
    registry::Registry registry(*deployments_->store);
    return registry.load_model(ref_of(version));
  }

  void on_serving(const serve::SourceVersion& version, bool serving) override {
    std::lock_guard lock(deployments_->mutex);
    if (serving) served_ = version;
    if (deployments_->endpoint.empty()) return;
    record(version, serving);
  }

  // Records the version served now (called once the endpoint is known) or ends it at shutdown.
  void record_current(bool serving) {
    std::lock_guard lock(deployments_->mutex);
    if (!served_.label.empty() && !deployments_->endpoint.empty()) record(served_, serving);
  }

 private:
  registry::ModelRef ref_of(const serve::SourceVersion& version) const {
    registry::ModelRef ref;
    auto spec = registry::parse_model_spec(spec_);
    ref.name = spec.ok() ? spec->name : spec_;
    ref.version = std::stoll(version.label);
    ref.bundle_object_id = version.key.substr(0, version.key.find('#'));
    return ref;
  }
  void record(const serve::SourceVersion& version, bool serving) {
    registry::Registry registry(*deployments_->store);
    auto ref = ref_of(version);
    // Best effort: serving goes on even when the store cannot record the deployment.
    if (serving) {
      (void)registry.record_deployment(ref, deployments_->endpoint, static_cast<int64_t>(::getpid()));
    } else {
      (void)registry.end_deployment(ref, deployments_->endpoint, static_cast<int64_t>(::getpid()));
    }
  }

  std::string spec_;
  std::shared_ptr<Deployments> deployments_;
  serve::SourceVersion served_;
};

bool looks_like_bundle(const std::string& text) {
  std::error_code ec;
  return text.ends_with(".slw") || std::filesystem::is_regular_file(text, ec);
}

// deploy.yaml: server settings and per-model batching, overriding the flags.
//   host: 0.0.0.0
//   http_port: 8080
//   threads: 2
//   models:
//     - model: flights@champion        # or a bundle file
//       name: flights                  # optional
//       max_batch_size: 64
//       max_queue_delay_us: 200
//       queue_limit: 1024
//       timeout_ms: 500
struct ModelEntry {
  std::string model;
  std::string name;
  serve::BatchingOptions batching;
};

Status read_config(const std::string& path, ServeArgs& args, std::vector<ModelEntry>& entries) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return make_error(ErrorCode::kParseError, "{}: {}", path, e.what());
  }
  try {
    if (root["host"]) args.host = root["host"].as<std::string>();
    if (root["http_port"]) args.http_port = root["http_port"].as<int>();
    if (root["grpc_port"]) args.grpc_port = root["grpc_port"].as<int>();
    if (root["threads"]) args.threads = root["threads"].as<size_t>();
    if (root["models"]) {
      if (!root["models"].IsSequence()) return make_error(ErrorCode::kInvalidArgument, "{}: 'models' must be a list", path);
      for (const auto& m : root["models"]) {
        ModelEntry e;
        e.batching = args.batching;
        if (!m["model"]) {
          return make_error(ErrorCode::kInvalidArgument, "{}:{}: a model entry needs 'model' (a bundle file or NAME@ALIAS)",
                            path, m.Mark().line + 1);
        }
        e.model = m["model"].as<std::string>();
        if (m["name"]) e.name = m["name"].as<std::string>();
        if (m["max_batch_size"]) e.batching.max_batch_size = m["max_batch_size"].as<size_t>();
        if (m["max_queue_delay_us"]) e.batching.max_queue_delay_us = m["max_queue_delay_us"].as<int64_t>();
        if (m["queue_limit"]) e.batching.queue_limit = m["queue_limit"].as<size_t>();
        if (m["timeout_ms"]) e.batching.timeout = std::chrono::milliseconds(m["timeout_ms"].as<int64_t>());
        entries.push_back(std::move(e));
      }
    }
  } catch (const YAML::Exception& e) {
    return make_error(ErrorCode::kInvalidArgument, "{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  return {};
}

}  // namespace

struct ServingSetup::Sources {
  std::shared_ptr<Deployments> deployments = std::make_shared<Deployments>();
  std::vector<RegistrySource*> registry;
};

ServingSetup::ServingSetup() : sources_(std::make_unique<Sources>()) {}
ServingSetup::~ServingSetup() { stop(); }

void ServingSetup::listening(const std::string& endpoint) {
  {
    std::lock_guard lock(sources_->deployments->mutex);
    sources_->deployments->endpoint = endpoint;
  }
  for (auto* source : sources_->registry) source->record_current(true);
}

void ServingSetup::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (service) service->shutdown();  // predicts every queued request, stops the batch and poll threads
  if (prediction_log) prediction_log->flush();
  if (live) live->stop();  // waits for alert actions in flight
  for (auto* source : sources_->registry) source->record_current(false);
}

Status ServingSetup::add_routes(server::Router& router) const {
  SLIPWAY_RETURN_IF_ERROR(serve::add_rest_routes(router, service));
  SLIPWAY_RETURN_IF_ERROR(router.add(server::Method::kGet, "/metrics",
                                     [service = service, live = live](const server::Request&, server::Response& out) {
                                       out.content_type = "text/plain; version=0.0.4; charset=utf-8";
                                       out.body = service->render_metrics();
                                       out.body += monitor::render_system_metrics();
                                       if (live) out.body += live->render_metrics();
                                     }));
  if (feedback) SLIPWAY_RETURN_IF_ERROR(monitor::add_feedback_route(router, feedback));
  if (live) {
    SLIPWAY_RETURN_IF_ERROR(router.add(server::Method::kGet, "/v2/monitor",
                                       [live = live](const server::Request&, server::Response& out) {
                                         out = server::Response::json(200, live->latest_json());
                                       }));
    SLIPWAY_RETURN_IF_ERROR(router.add(server::Method::kPost, "/v2/monitor/evaluate",
                                       [live = live](const server::Request&, server::Response& out) {
                                         auto r = live->evaluate_now();
                                         if (!r.ok()) {
                                           out = server::Response::json(
                                               500, nlohmann::json({{"error", r.status().message()}}).dump());
                                           return;
                                         }
                                         out = server::Response::json(200, live->latest_json());
                                       }));
  }
  return {};
}

std::string ServingSetup::banner() const {
  std::string text;
  for (const auto& name : service->model_names()) {
    auto md = service->model_metadata(name, "");
    text += fmt::format("serving model '{}' version {}\n", name, md.ok() ? md->versions.front() : "?");
  }
  if (prediction_log) {
    text += fmt::format("logging predictions to {}\n", prediction_log->dir().string());
  }
  return text;
}

namespace {

Result<serve::FsyncPolicy> parse_fsync(const std::string& text) {
  if (text == "never") return serve::FsyncPolicy::kNever;
  if (text == "interval") return serve::FsyncPolicy::kInterval;
  if (text == "always") return serve::FsyncPolicy::kAlways;
  return make_error(ErrorCode::kInvalidArgument, "--log-fsync '{}': expected never, interval or always", text);
}

}  // namespace

Result<std::unique_ptr<ServingSetup>> setup_serving(Context& ctx, ServeArgs& args) {
  auto setup = std::make_unique<ServingSetup>();
  args.batching.timeout = std::chrono::milliseconds(args.timeout_ms);
  std::vector<ModelEntry> entries;
  if (!args.config.empty()) SLIPWAY_RETURN_IF_ERROR(read_config(args.config, args, entries));
  for (const auto& m : args.models) entries.push_back({m, "", args.batching});
  if (entries.empty()) {
    return Status(ErrorCode::kInvalidArgument, "nothing to serve: name a bundle file, NAME@ALIAS or NAME/N");
  }
  if (!args.name.empty()) {
    if (entries.size() != 1) return Status(ErrorCode::kInvalidArgument, "--name needs exactly one model to serve");
    entries[0].name = args.name;
  }
  if (args.log_predictions != "on" && args.log_predictions != "off" && args.log_predictions != "auto") {
    return make_error(ErrorCode::kInvalidArgument, "--log-predictions '{}': expected on, off or auto",
                      args.log_predictions);
  }
  SLIPWAY_ASSIGN_OR_RETURN(serve::FsyncPolicy fsync, parse_fsync(args.log_fsync));

  auto& deployments = setup->sources_->deployments;
  std::unique_ptr<store::Store>& store = setup->store;
  std::vector<RegistrySource*>& registry_sources = setup->sources_->registry;
  std::vector<serve::ServedModelSpec> specs;
  std::vector<monitor::LiveModel> live_models;
  for (auto& e : entries) {
    serve::ServedModelSpec spec;
    spec.batching = e.batching;
    if (looks_like_bundle(e.model)) {
      spec.name = e.name.empty() ? std::filesystem::path(e.model).stem().string() : e.name;
      live_models.push_back({spec.name, ""});
      spec.source = serve::bundle_file_source(e.model);
    } else {
      auto parsed = registry::parse_model_spec(e.model);
      if (!parsed.ok()) {
        return parsed.status().with_context(
            fmt::format("'{}' is neither a bundle file nor a registry model (NAME@ALIAS, NAME/N)", e.model));
      }
      if (!store) {
        SLIPWAY_ASSIGN_OR_RETURN(store, ctx.open_store());
        deployments->store = store.get();
      }
      spec.name = e.name.empty() ? parsed->name : e.name;
      live_models.push_back({spec.name, parsed->name});
      auto source = std::make_unique<RegistrySource>(e.model, deployments);
      registry_sources.push_back(source.get());
      spec.source = std::move(source);
    }
    specs.push_back(std::move(spec));
  }

  // The prediction log lives in the store: on when asked, or (auto) when a store exists.
  if (args.log_predictions != "off") {
    auto root = store ? store->root() : store::Store::resolve_root(ctx.store_flag);
    std::error_code ec;
    const bool have_store = store != nullptr || std::filesystem::is_directory(root, ec);
    if (!have_store && args.log_predictions == "on") {
      return make_error(ErrorCode::kFailedPrecondition,
                        "--log-predictions on needs a store at {}: run `slipway init` there, or pass --store", root.string());
    }
    if (have_store) {
      serve::PredictionLogOptions log_options;
      log_options.fsync = fsync;
      SLIPWAY_ASSIGN_OR_RETURN(auto log, serve::PredictionLog::open(serve::prediction_log_dir(root), log_options));
      setup->prediction_log = std::move(log);
    }
  }

  serve::ServiceOptions options;
  options.server_version = SLIPWAY_VERSION_STRING;
  options.log = [](std::string_view message) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()), message.data());
    std::fflush(stderr);
  };
  options.prediction_log = setup->prediction_log;
  options.log_inputs = !args.no_log_inputs;
  options.log_sample_rate = args.log_sample_rate;
  SLIPWAY_ASSIGN_OR_RETURN(setup->service, serve::InferenceService::create(std::move(specs), options));
  if (setup->prediction_log) {
    auto root = store ? store->root() : store::Store::resolve_root(ctx.store_flag);
    setup->feedback = std::make_shared<monitor::FeedbackService>(
        root, setup->service->model_names(), [log = setup->prediction_log] { log->flush(); });
    if (!args.no_monitor) {
      monitor::LiveMonitorOptions live;
      live.store_root = root;
      live.models = live_models;
      SLIPWAY_ASSIGN_OR_RETURN(auto interval, monitor::parse_duration(args.monitor_interval, "--monitor-interval"));
      SLIPWAY_ASSIGN_OR_RETURN(auto look_back, monitor::parse_duration(args.performance_window, "--performance-window"));
      live.interval = std::chrono::duration_cast<std::chrono::milliseconds>(interval);
      live.performance_window = std::chrono::duration_cast<std::chrono::milliseconds>(look_back);
      live.reference = args.reference;
      live.segments = args.segments;
      if (!args.alerts.empty()) {
        SLIPWAY_ASSIGN_OR_RETURN(live.rules, monitor::load_alert_rules(args.alerts));
      }
      live.log = options.log;
      live.flush_log = [log = setup->prediction_log] { log->flush(); };
      SLIPWAY_ASSIGN_OR_RETURN(setup->live, monitor::LiveMonitor::start(std::move(live)));
    }
  } else if (!args.alerts.empty()) {
    return Status(ErrorCode::kFailedPrecondition,
                  "--alerts needs the prediction log (a store, and --log-predictions on or auto): monitoring reads it");
  }
  return setup;
}

namespace {

int run_serve(Context& ctx, ServeArgs& args) {
  auto setup_result = setup_serving(ctx, args);
  if (!setup_result.ok()) return report_error(setup_result.status());
  ServingSetup& setup = **setup_result;
  auto service = &setup.service;

  auto router = std::make_shared<server::Router>();
  Status routes = setup.add_routes(*router);
  if (!routes.ok()) return report_error(routes);

  server::HttpServerOptions http;
  http.host = args.host;
  http.port = static_cast<uint16_t>(args.http_port);
  http.threads = args.threads;
  http.max_body_bytes = args.max_body_mb << 20;
  http.request_timeout = std::chrono::milliseconds(args.request_timeout_ms);
  http.handle_signals = true;
  if (args.access_log) {
    http.on_response = [](const server::Request& request, int status) {
      std::fprintf(stderr, "%s %s %d\n", server::method_name(request.method), request.path.c_str(), status);
    };
  }
  auto started = server::HttpServer::start(http, router);
  if (!started.ok()) return report_error(started.status());
  auto& server = *started;
  // ---- gRPC front end (owned by the gRPC helper; see slipway/serve/grpc_server.h) ----
  serve::GrpcServerOptions grpc_options;
  grpc_options.host = args.host;
  grpc_options.port = static_cast<uint16_t>(args.grpc_port);
  grpc_options.threads = args.threads;
  grpc_options.max_message_bytes = args.max_body_mb << 20;
  auto grpc = serve::GrpcServer::start(*service, grpc_options);
  if (!grpc.ok()) return report_error(grpc.status());
  // ---- end gRPC ----
  setup.listening(fmt::format("http://{}:{}", server->host(), server->port()));
  // One write, so a reader never sees the addresses without the models.
  std::string banner = fmt::format("listening on http://{}:{}\n", server->host(), server->port());
  banner += setup.banner();
  banner += fmt::format("listening on grpc://{}:{}\n", (*grpc)->host(), (*grpc)->port());
  std::fputs(banner.c_str(), stderr);
  std::fflush(stderr);
  int signal = server->run();
  (*grpc)->shutdown(std::chrono::seconds(30));  // gRPC: stop accepting, finish calls in flight
  setup.stop();  // answers every queued request, flushes the prediction log, ends the deployments
  if (signal != 0) std::fprintf(stderr, "stopped by signal %d; requests in flight finished\n", signal);
  return kExitOk;
}

}  // namespace

void add_prediction_log_flags(CLI::App* cmd, ServeArgs& args) {
  cmd->add_option("--log-predictions", args.log_predictions,
                  "Record every prediction in the store's prediction log: on, off, or auto (default: on when a "
                  "store exists)");
  cmd->add_flag("--no-log-inputs", args.no_log_inputs, "Keep ids, outputs and latency in the log, not the inputs");
  cmd->add_option("--log-fsync", args.log_fsync,
                  "When the log is fsynced: never, interval (default, at most every second), always");
  cmd->add_option("--log-sample-rate", args.log_sample_rate,
                  "Log (and monitor) this share of requests, evenly spread (default 1: every request)")
      ->check(CLI::Range(1e-6, 1.0));
  cmd->add_flag("--no-monitor", args.no_monitor, "Do not monitor drift / performance inside the server");
  cmd->add_option("--monitor-interval", args.monitor_interval,
                  "How often a monitoring window closes: drift, performance, alerts (default 60s)");
  cmd->add_option("--performance-window", args.performance_window,
                  "How far back performance looks for predictions with feedback (default 24h)");
  cmd->add_option("--reference", args.reference,
                  "Drift reference: NAME@REF or a file (default: the served version's training data)");
  cmd->add_option("--segment", args.segments, "Performance per value of this input or tag (repeatable)");
  cmd->add_option("--alerts", args.alerts, "Alert rules (YAML, see docs/alerts.md) evaluated every window");
}

void register_serve_commands(CLI::App& app, Context& ctx, Command& run) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "Serve models over the KServe v2 inference protocol (REST; Triton clients work)");
  cmd->footer(
      "Examples:\n"
      "  slipway serve model.slw                     # http://127.0.0.1:8080/v2/models/model/infer\n"
      "  slipway serve flights@champion --http-port 9000 --max-batch-size 64 --max-queue-delay-us 200  # batching on\n"
      "  slipway serve --config deploy.yaml\n"
      "A registry alias that moves is picked up within a second (hot swap). Metrics: GET /metrics.\n"
      "Stops gracefully on SIGTERM or Ctrl-C (answers every accepted request, then exits 0).");
  cmd->add_option("models", args->models, "Bundle files, NAME@ALIAS or NAME/N");
  cmd->add_option("--name", args->name, "Name to serve a single model under (default: file stem or registered name)");
  cmd->add_option("--host", args->host, "Address to bind (default 127.0.0.1: this machine only)");
  cmd->add_option("--http-port", args->http_port, "HTTP port (default 8080; 0 picks a free one)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--grpc-port", args->grpc_port, "gRPC port (default 8081; 0 picks a free one)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--threads", args->threads, "HTTP worker threads (default: one per core)");
  cmd->add_option("--max-batch-size", args->batching.max_batch_size,
                  "Most rows the dynamic batcher merges into one prediction (default 1: no dynamic batching)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--max-queue-delay-us", args->batching.max_queue_delay_us,
                  "How long a queued request waits for others to batch with, in µs (default 100)")
      ->check(CLI::Range(0, 10'000'000));
  cmd->add_option("--queue-limit", args->batching.queue_limit,
                  "Queued requests per model beyond which requests get 503 'queue full' (default 1024)")
      ->check(CLI::Range(1, 1 << 24));
  cmd->add_option("--timeout-ms", args->timeout_ms, "Per-request timeout while queued, in ms (default 0: none)")
      ->check(CLI::Range(0, 86'400'000));
  cmd->add_option("--max-body-mb", args->max_body_mb, "Largest request body accepted, in MiB (default 64)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--request-timeout-ms", args->request_timeout_ms,
                  "A request must arrive completely within this time of its first byte (default 30000)")
      ->check(CLI::Range(1, 3'600'000));
  cmd->add_option("--config", args->config, "deploy.yaml: models and per-model batching (see docs/serving.md)");
  cmd->add_flag("--access-log", args->access_log, "Print one line per request on stderr");
  add_prediction_log_flags(cmd, *args);
  cmd->callback([&ctx, &run, args] { run = [&ctx, args] { return run_serve(ctx, *args); }; });
}

}  // namespace slipway::cli
