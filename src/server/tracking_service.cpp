#include <chrono>
#include <condition_variable>
#include <exception>
#include <thread>

#include "detail/errors.h"
#include "detail/tracking_pool.h"
#include "slipway/server/tracking_server.h"

namespace slipway::server {

namespace detail {

Result<TrackingPool::Lease> TrackingPool::acquire() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!free_.empty()) {
      auto handle = std::move(free_.back());
      free_.pop_back();
      return Lease(*this, std::move(handle));
    }
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto store, store::Store::open(root_));
  auto handle = std::make_unique<Handle>();
  handle->store = std::move(store);
  handle->tracking = std::make_unique<track::Tracking>(*handle->store);
  return Lease(*this, std::move(handle));
}

void TrackingPool::release(std::unique_ptr<Handle> handle) {
  std::lock_guard<std::mutex> lock(mutex_);
  free_.push_back(std::move(handle));
}

Handler tracking_handler(TrackingPool& pool, Access access, TrackingBody body) {
  return [&pool, access, body = std::move(body)](const Request& request, Response& response) {
    auto params = Params::from_request(request);
    if (!params.ok()) {
      response = error_response(params.status());
      return;
    }
    auto lease = pool.acquire();
    if (!lease.ok()) {
      response = error_response(lease.status());
      return;
    }
    std::unique_lock<std::mutex> writing;
    if (access == Access::kWrite) writing = std::unique_lock<std::mutex>(pool.write_mutex());
    Result<std::string> out = body(*params, **lease);
    if (!out.ok()) {
      response = error_response(out.status());
      return;
    }
    response.status = 200;
    response.body = std::move(*out);
  };
}

Handler tracking_raw_handler(TrackingPool& pool, Access access, TrackingRawBody body) {
  return [&pool, access, body = std::move(body)](const Request& request, Response& response) {
    auto lease = pool.acquire();
    if (!lease.ok()) {
      response = error_response(lease.status());
      return;
    }
    std::unique_lock<std::mutex> writing;
    if (access == Access::kWrite) writing = std::unique_lock<std::mutex>(pool.write_mutex());
    Status status = body(request, **lease, response);
    if (!status.ok()) response = error_response(status);
  };
}

}  // namespace detail

struct TrackingService::Impl {
  explicit Impl(std::filesystem::path root) : pool(std::move(root)) {}
  detail::TrackingPool pool;
};

TrackingService::TrackingService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TrackingService::~TrackingService() = default;

Result<std::unique_ptr<TrackingService>> TrackingService::open(const std::filesystem::path& store_root) {
  auto impl = std::make_unique<Impl>(store_root);
  SLIPWAY_ASSIGN_OR_RETURN(auto first, impl->pool.acquire());  // fails early on a missing store
  (void)first;
  return std::unique_ptr<TrackingService>(new TrackingService(std::move(impl)));
}

Status TrackingService::add_routes(Router& router) {
  SLIPWAY_RETURN_IF_ERROR(detail::add_mlflow_routes(router, impl_->pool));
  SLIPWAY_RETURN_IF_ERROR(detail::add_v1_routes(router, impl_->pool));
  SLIPWAY_RETURN_IF_ERROR(detail::add_registry_routes(router, impl_->pool));
  return {};
}

Result<size_t> TrackingService::reap_dead_runs(std::chrono::milliseconds stale_after) {
  SLIPWAY_ASSIGN_OR_RETURN(auto lease, impl_->pool.acquire());
  std::lock_guard<std::mutex> writing(impl_->pool.write_mutex());
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  return lease->reap_dead_runs(now, stale_after.count());
}

Result<int> run_tracking_server(const TrackingServerOptions& options,
                                const std::function<void(HttpServer&)>& on_listening) {
  SLIPWAY_ASSIGN_OR_RETURN(auto service, TrackingService::open(options.store_root));
  auto router = std::make_shared<Router>();
  SLIPWAY_RETURN_IF_ERROR(service->add_routes(*router));
  if (options.extra_routes) SLIPWAY_RETURN_IF_ERROR(options.extra_routes(*router));
  HttpServerOptions http = options.http;
  http.handle_signals = true;
  SLIPWAY_ASSIGN_OR_RETURN(auto server, HttpServer::start(std::move(http), router));

  // The reaper: once at start, then every reap_interval, until the server has drained.
  std::mutex mutex;
  std::condition_variable wake;
  bool done = false;
  std::thread reaper([&] {
    std::unique_lock<std::mutex> lock(mutex);
    while (!done) {
      (void)service->reap_dead_runs(options.stale_run_timeout);  // a failed pass is retried next time
      wake.wait_for(lock, options.reap_interval, [&] { return done; });
    }
  });
  if (on_listening) on_listening(*server);
  int signal_number = server->run();
  {
    std::lock_guard<std::mutex> lock(mutex);
    done = true;
  }
  wake.notify_all();
  reaper.join();
  return signal_number;
}

}  // namespace slipway::server
