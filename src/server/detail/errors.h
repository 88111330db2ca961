// The one place that maps slipway's ErrorCode to an HTTP status and an MLflow error_code name, and
// renders an error body: {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "..."}.
#pragma once

#include <string_view>

#include "slipway/core/status.h"
#include "slipway/server/http.h"

namespace slipway::server::detail {

struct HttpError {
  int status;
  const char* code;  // a name MLflow's client knows (databricks_pb2.ErrorCode)
};

HttpError http_error_for(ErrorCode code);

// The error body for a failed Status (never call it with an OK status).
Response error_response(const Status& status);

// A JSON success body: "{}" when there is nothing to say (MLflow answers empty messages that way).
inline Response ok_json(std::string body = "{}") { return Response::json(200, std::move(body)); }

}  // namespace slipway::server::detail
