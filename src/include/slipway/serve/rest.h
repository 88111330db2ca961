// The KServe Open Inference Protocol v2 over HTTP/REST, on slipway's HTTP layer (server/http.h):
//
//   GET  /v2                                          server metadata
//   GET  /v2/health/live, /v2/health/ready            200, or 503 {"error": ...}
//   GET  /v2/models/{name}[/versions/{v}]             model metadata
//   GET  /v2/models/{name}[/versions/{v}]/ready       200, or 503 / 404 {"error": ...}
//   POST /v2/models/{name}[/versions/{v}]/infer       inference
//   POST /v2/repository/index                         the served models (Triton's repository extension)
//   GET  /metrics                                     Prometheus text format (add_metrics_route)
//
// Infer bodies are JSON typed tensors, or — Triton's binary tensor extension, which tritonclient uses
// by default — a JSON header of Inference-Header-Content-Length bytes followed by the raw tensors
// of the inputs whose parameters carry "binary_data_size", in order (BYTES elements as a 4-byte
// little-endian length and the bytes). Outputs asked for with "binary_data": true (or every output
// when the request's parameters say "binary_data_output": true) come back the same way.
// Errors under /v2 are {"error": "message"} with the status from protocol_error().
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slipway/core/status.h"
#include "slipway/serve/inference.h"
#include "slipway/serve/service.h"
#include "slipway/server/http.h"

namespace slipway::serve {

// Registers the /v2 routes and the {"error": ...} format for paths under /v2.
Status add_rest_routes(server::Router& router, std::shared_ptr<InferenceApi> api);
// GET /metrics from service.render_metrics().
Status add_metrics_route(server::Router& router, std::shared_ptr<InferenceService> service);

// Parses an infer body. `json_length` is the Inference-Header-Content-Length value when the request
// carried one (binary extension). kInvalidArgument names the field, input and problem.
Result<InferRequest> parse_infer_request(std::string_view body, std::optional<size_t> json_length);

// Which outputs of a response go as binary data: one flag per requested output, or, when the
// request named none, `all` for every output.
struct BinaryOutputs {
  std::vector<bool> per_output;
  bool all = false;
  bool binary(size_t i) const { return i < per_output.size() ? per_output[i] : all; }
};
BinaryOutputs binary_outputs_of(const InferRequest& request);

// Writes the response body; returns the JSON header's length when any output went binary (the
// value of the Inference-Header-Content-Length response header), else nullopt.
std::optional<size_t> write_infer_response(const InferResponse& response, const BinaryOutputs& binary,
                                           std::string& body);

}  // namespace slipway::serve
