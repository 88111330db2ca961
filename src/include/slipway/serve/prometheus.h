// Prometheus text exposition helpers shared by every /metrics producer (serving, monitoring, alerts,
// system health).
#pragma once

#include <string>
#include <string_view>

namespace slipway::serve {

// A label value escaped for the text format: backslash, double quote and newline.
std::string prometheus_label_value(std::string_view value);

}  // namespace slipway::serve
