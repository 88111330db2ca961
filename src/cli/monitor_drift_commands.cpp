// `slipway monitor drift` (placeholder until the drift command lands).
#include "context.h"

namespace slipway::cli {
void add_monitor_drift_command(CLI::App* /*monitor*/, Context& /*ctx*/, Command& /*run*/) {}
}  // namespace slipway::cli
