// Store handles shared by the worker threads, and the glue every tracking route uses: read the
// parameters, lease a handle, take the write lock for writes, map a failed Status to its error
// response in one place.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "params.h"
#include "slipway/server/http.h"
#include "slipway/store/store.h"
#include "slipway/track/tracking.h"

namespace slipway::server::detail {

class TrackingPool {
 public:
  explicit TrackingPool(std::filesystem::path store_root) : root_(std::move(store_root)) {}

  struct Handle {
    std::unique_ptr<store::Store> store;
    std::unique_ptr<track::Tracking> tracking;
  };

  class Lease {
   public:
    Lease(TrackingPool& pool, std::unique_ptr<Handle> handle) : pool_(&pool), handle_(std::move(handle)) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), handle_(std::move(other.handle_)) {}
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease() {
      if (handle_) pool_->release(std::move(handle_));
    }
    track::Tracking& operator*() { return *handle_->tracking; }
    track::Tracking* operator->() { return handle_->tracking.get(); }
    store::Store& store() { return *handle_->store; }

   private:
    TrackingPool* pool_;
    std::unique_ptr<Handle> handle_;
  };

  // A free handle, or a newly opened one (each has its own SQLite connection).
  Result<Lease> acquire();
  std::mutex& write_mutex() { return write_mutex_; }
  const std::filesystem::path& root() const { return root_; }

 private:
  void release(std::unique_ptr<Handle> handle);

  std::filesystem::path root_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Handle>> free_;
  std::mutex write_mutex_;
};

enum class Access { kRead, kWrite };

// A route body: the request's parameters and a tracking handle in, a JSON body (200) or an error out.
using TrackingBody = std::function<Result<std::string>(const Params&, track::Tracking&)>;
// The same with the whole request, for routes that read path parameters or raw bodies, and may
// answer any status and content type.
using TrackingRawBody = std::function<Status(const Request&, track::Tracking&, Response&)>;

Handler tracking_handler(TrackingPool& pool, Access access, TrackingBody body);
Handler tracking_raw_handler(TrackingPool& pool, Access access, TrackingRawBody body);

Status add_mlflow_routes(Router& router, TrackingPool& pool);
Status add_v1_routes(Router& router, TrackingPool& pool);
Status add_registry_routes(Router& router, TrackingPool& pool);  // registry_routes.cpp

}  // namespace slipway::server::detail
