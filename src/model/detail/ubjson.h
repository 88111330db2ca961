// A bounded UBJSON (Draft 12, as XGBoost writes its .ubj models) decoder into nlohmann::json.
// nlohmann's own from_ubjson recurses without limit and materialises typed containers of
// zero-byte elements one by one, so a hostile file could exhaust the stack or memory; this one
// checks every count against the bytes that remain and limits nesting.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "slipway/core/status.h"

namespace slipway::model::detail {

inline constexpr int kMaxUbjsonDepth = 64;

// Errors are kParseError: "<source_name>: invalid UBJSON at byte <offset>: <what>".
Result<nlohmann::json> parse_ubjson(std::string_view bytes, const std::string& source_name);

}  // namespace slipway::model::detail
