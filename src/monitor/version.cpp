// The monitoring layer (drift statistics, feedback joins, alerts). See src/include/slipway/monitor/.
namespace slipway::monitor {
int monitor_layer_version() { return 1; }
}  // namespace slipway::monitor
