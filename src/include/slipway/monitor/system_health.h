// System health: the host's CPU and memory, the server process's CPU, memory, open file
// descriptors and sockets, and GPU utilisation and memory through NVML when a GPU and
// libnvidia-ml are present. Without them the GPU metrics say so (slipway_gpu_available 0 and the
// reason) and nothing fails: NVML is loaded with dlopen at first use, never linked.
//
// Two uses: render_system_metrics() for /metrics (on every scrape), and HealthSampler for the live
// monitor, which appends one sample per window to <store>/monitor/health.jsonl so that reports can
// plot the server's health over time (docs/monitoring.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "slipway/core/status.h"

namespace slipway::monitor {

// Prometheus text exposition (gauges and counters), cheap enough to call on every scrape.
std::string render_system_metrics();

struct GpuSample {
  unsigned index = 0;
  double utilization = 0;  // 0-1, busy time over NVML's last sample period
  uint64_t memory_used_bytes = 0;
  uint64_t memory_total_bytes = 0;
};

struct HealthSample {
  int64_t time_us = 0;
  int64_t pid = 0;
  // Since the sampler's previous sample (0 on the first one):
  double process_cpu_cores = 0;  // CPU the process used, in cores (1.0 = one core busy all the time)
  double host_cpu_busy = 0;      // share of all the host's CPUs that were busy, 0-1
  uint64_t process_rss_bytes = 0;
  unsigned host_cpus = 0;
  uint64_t host_memory_total_bytes = 0;
  uint64_t host_memory_available_bytes = 0;
  double load1 = 0;
  uint64_t open_fds = 0;
  uint64_t open_sockets = 0;
  bool gpu_available = false;
  std::string gpu_reason;  // why not, when not
  std::vector<GpuSample> gpus;
};

// Takes samples of this process and host; CPU shares are over the time since the previous sample.
class HealthSampler {
 public:
  HealthSample sample(int64_t now_us);

 private:
  double last_process_cpu_s_ = -1;
  unsigned long long last_host_busy_ = 0, last_host_total_ = 0;
  int64_t last_us_ = 0;
};

// <store root>/monitor/health.jsonl
std::filesystem::path health_log_path(const std::filesystem::path& store_root);

// One JSON line (what append_health_sample writes), and back.
std::string health_json_line(const HealthSample& sample);
Result<HealthSample> parse_health_line(std::string_view line);

// Appends one line with a single O_APPEND write, so concurrent servers never interleave and a
// killed process leaves at most a torn last line (which readers skip).
Status append_health_sample(const std::filesystem::path& store_root, const HealthSample& sample);

struct HealthHistory {
  std::vector<HealthSample> samples;  // time order
  uint64_t skipped_lines = 0;         // torn or unreadable lines
};
// The samples with since_us <= time_us < until_us; an absent file is an empty history.
Result<HealthHistory> read_health_samples(const std::filesystem::path& store_root, int64_t since_us, int64_t until_us);

}  // namespace slipway::monitor
