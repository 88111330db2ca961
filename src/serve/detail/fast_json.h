// A fast parser for the common shape of a JSON infer body (no escapes in strings; FP32, FP64,
// INT32, INT64 or BYTES tensors; flat or nested data; simple parameters). It either produces exactly
// what the general parser (nlohmann) would, or gives up and returns false — on anything unusual,
// and on every error — so the general parser remains the one source of behaviour and messages.
#pragma once

#include <string_view>

#include "slipway/serve/inference.h"

namespace slipway::serve::detail {

bool fast_parse_infer_request(std::string_view json, InferRequest& out);

}  // namespace slipway::serve::detail
