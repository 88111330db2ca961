// POST /v2/models/{name}/feedback (feedback_service.h).
#include "slipway/monitor/feedback_service.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "slipway/monitor/time_text.h"

namespace slipway::monitor {

FeedbackService::FeedbackService(std::filesystem::path store_root, std::vector<std::string> models,
                                 std::function<void()> flush_log)
    : store_root_(std::move(store_root)), models_(std::move(models)), flush_log_(std::move(flush_log)) {}

FeedbackService::~FeedbackService() = default;

Result<FeedbackOutcome> FeedbackService::record(const std::string& model, std::string_view body) {
  if (std::find(models_.begin(), models_.end(), model) == models_.end()) {
    return make_error(ErrorCode::kNotFound, "unknown model '{}'", model);
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto items, parse_feedback_json(body, "request body"));
  std::lock_guard lock(mutex_);
  if (!store_) {
    SLIPWAY_ASSIGN_OR_RETURN(store_, store::Store::open(store_root_));
  }
  auto it = indexes_.find(model);
  if (it == indexes_.end()) it = indexes_.emplace(model, RequestIdIndex(store_root_, model)).first;
  FeedbackOptions options;
  options.before_unknown_check = flush_log_;
  return record_feedback(*store_, model, std::move(items), it->second, options, unix_now_us());
}

Status add_feedback_route(server::Router& router, std::shared_ptr<FeedbackService> service) {
  auto handler = [service](const server::Request& request, server::Response& out) {
    auto outcome = service->record(request.param("name"), request.body);
    if (!outcome.ok()) {
      const Status& s = outcome.status();
      int status = s.code() == ErrorCode::kNotFound ? 404
                   : (s.code() == ErrorCode::kInvalidArgument || s.code() == ErrorCode::kParseError) ? 400
                                                                                                      : 500;
      std::string message = nlohmann::json(s.message()).dump();
      out = server::Response::json(status, fmt::format("{{\"error\":{}}}", message));
      return;
    }
    out = server::Response::json(200, fmt::format("{{\"accepted\":{},\"replaced\":{}}}", outcome->accepted,
                                                  outcome->replaced));
  };
  SLIPWAY_RETURN_IF_ERROR(router.add(server::Method::kPost, "/v2/models/{name}/feedback", handler));
  return router.add(server::Method::kPost, "/v2/models/{name}/versions/{version}/feedback", handler);
}

}  // namespace slipway::monitor
