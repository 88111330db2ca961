// The feedback endpoint beside the KServe routes: POST /v2/models/{name}/feedback (feedback.h for
// the body). 200 {"accepted", "replaced"}; 400 for a malformed body or item (named); 404 for an
// unknown model or request id (named; nothing is written). The store is opened on first use.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "slipway/core/status.h"
#include "slipway/monitor/feedback.h"
#include "slipway/server/http.h"

namespace slipway::monitor {

class FeedbackService {
 public:
  // `models`: the served names; `flush_log` makes just-logged ids visible (the prediction log's flush).
  FeedbackService(std::filesystem::path store_root, std::vector<std::string> models, std::function<void()> flush_log);
  ~FeedbackService();

  Result<FeedbackOutcome> record(const std::string& model, std::string_view body);

 private:
  std::filesystem::path store_root_;
  std::vector<std::string> models_;
  std::function<void()> flush_log_;
  std::mutex mutex_;
  std::unique_ptr<store::Store> store_;
  std::map<std::string, RequestIdIndex> indexes_;
};

Status add_feedback_route(server::Router& router, std::shared_ptr<FeedbackService> service);

}  // namespace slipway::monitor
