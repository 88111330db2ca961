// System health for /metrics: the host's CPU and memory, the process's open file descriptors and
// sockets, and GPU utilisation and memory through NVML when a GPU and libnvidia-ml are present.
// Without them the GPU metrics say so (slipway_gpu_available 0 and the reason) and nothing fails:
// NVML is loaded with dlopen at first use, never linked.
#pragma once

#include <string>

namespace slipway::monitor {

// Prometheus text exposition (gauges and counters), cheap enough to call on every scrape.
std::string render_system_metrics();

}  // namespace slipway::monitor
