// `slipway server`: the tracking service over HTTP. slipway's own REST API under /api/v1/
// (docs/api/tracking.openapi.yaml) and MLflow's tracking routes under /api/2.0/mlflow/ and
// /ajax-api/2.0/mlflow/ plus the artifact proxy under /api/2.0/mlflow-artifacts/, so the unmodified
// MLflow client works against it (docs/server.md lists what is and is not supported).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>

#include "slipway/core/status.h"
#include "slipway/server/http.h"

namespace slipway::server {

// Store handles for the worker threads: each lease is a store (its own SQLite connection) and a
// Tracking over it, handed to one request at a time. Writes from this process take one lock so the
// server's threads queue in memory instead of in SQLite's busy-wait (other processes still share
// the database through SQLite's own locking).
class TrackingService {
 public:
  // Opens the store once to check it (kFailedPrecondition with what to do when it does not exist).
  static Result<std::unique_ptr<TrackingService>> open(const std::filesystem::path& store_root);
  ~TrackingService();

  // Registers the MLflow routes, the artifact proxy and /api/v1/ (plus GET /health, /version).
  Status add_routes(Router& router);

  // Marks dead or stale runs failed (Tracking::reap_dead_runs); what the server runs periodically.
  Result<size_t> reap_dead_runs(std::chrono::milliseconds stale_after);

 private:
  struct Impl;
  explicit TrackingService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct TrackingServerOptions {
  HttpServerOptions http;
  std::filesystem::path store_root;
  // Ownerless RUNNING runs (created over HTTP) without a write for this long are marked FAILED.
  std::chrono::milliseconds stale_run_timeout{std::chrono::hours(24)};
  std::chrono::milliseconds reap_interval{std::chrono::minutes(1)};
  // More routes on the same server (e.g. model serving); run after the tracking routes are added.
  std::function<Status(Router&)> extra_routes;
};

// Opens the store, listens, calls `on_listening` once the port is bound (the CLI prints the
// address), serves until SIGTERM/SIGINT (or stop through the HttpServer handed to on_listening),
// drains, and returns the signal number that stopped it (0 if none).
Result<int> run_tracking_server(const TrackingServerOptions& options,
                                const std::function<void(HttpServer&)>& on_listening);

}  // namespace slipway::server
