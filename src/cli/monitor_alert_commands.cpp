// `slipway monitor alerts` (placeholder until the alert commands land).
#include "context.h"

namespace slipway::cli {
void add_monitor_alert_commands(CLI::App* /*monitor*/, Context& /*ctx*/, Command& /*run*/) {}
}  // namespace slipway::cli
