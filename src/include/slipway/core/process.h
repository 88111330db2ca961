// This process's resource use from /proc (Linux), for /metrics and the monitor's health samples.
#pragma once

#include <cstdint>

namespace slipway {

struct ProcessUsage {
  double cpu_seconds = 0;  // utime + stime of every thread so far
  uint64_t rss_bytes = 0;  // resident set size now
};

// Zeros where /proc cannot be read.
ProcessUsage process_usage();

}  // namespace slipway
