// System health samples (monitor/system_health.h): what the sampler measures, the JSON line round
// trip, appending and reading back with a torn line and a time filter, and /metrics.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "slipway/monitor/system_health.h"

namespace slipway::monitor {
namespace {

namespace fs = std::filesystem;

TEST(SystemHealth, SamplerMeasuresThisProcessAndHost) {
  HealthSampler sampler;
  HealthSample first = sampler.sample(1'000'000);
  EXPECT_EQ(first.process_cpu_cores, 0);  // no previous sample to measure from
  EXPECT_EQ(first.pid, ::getpid());
  EXPECT_GT(first.process_rss_bytes, 1u << 20);
  EXPECT_GE(first.host_cpus, 1u);
  EXPECT_GT(first.host_memory_total_bytes, first.host_memory_available_bytes);
  EXPECT_GE(first.open_fds, 3u);  // stdin, stdout, stderr at least
  // Burn CPU for a while: the next sample sees it.
  const auto start = std::chrono::steady_clock::now();
  volatile double sink = 0;
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(300)) {
    for (int i = 0; i < 10000; ++i) sink = sink + std::sqrt(static_cast<double>(i));
  }
  const auto elapsed_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  HealthSample second = sampler.sample(1'000'000 + elapsed_us);
  // One busy thread: up to one core (less on a loaded machine, never more; 10 ms clock ticks).
  EXPECT_GT(second.process_cpu_cores, 0.0);
  EXPECT_LT(second.process_cpu_cores, 1.2);
  EXPECT_GE(second.host_cpu_busy, 0.0);
  EXPECT_LE(second.host_cpu_busy, 1.0);
  if (!second.gpu_available) {
    EXPECT_FALSE(second.gpu_reason.empty());  // says why, never fails
  }
}

TEST(SystemHealth, JsonLineRoundTrips) {
  HealthSample h;
  h.time_us = 1'700'000'000'000'000;
  h.pid = 42;
  h.process_cpu_cores = 1.25;
  h.process_rss_bytes = 123'456'789;
  h.host_cpu_busy = 0.5;
  h.host_cpus = 8;
  h.host_memory_total_bytes = 16'000'000'000;
  h.host_memory_available_bytes = 9'000'000'000;
  h.load1 = 3.5;
  h.open_fds = 40;
  h.open_sockets = 33;
  h.gpu_available = true;
  h.gpus = {{0, 0.75, 1'000, 80'000}, {1, 0.0, 0, 80'000}};
  std::string line = health_json_line(h);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line
  auto back = parse_health_line(line);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->time_us, h.time_us);
  EXPECT_EQ(back->pid, 42);
  EXPECT_EQ(back->process_cpu_cores, 1.25);
  EXPECT_EQ(back->process_rss_bytes, h.process_rss_bytes);
  EXPECT_EQ(back->host_cpus, 8u);
  EXPECT_EQ(back->host_memory_available_bytes, h.host_memory_available_bytes);
  EXPECT_EQ(back->open_sockets, 33u);
  ASSERT_EQ(back->gpus.size(), 2u);
  EXPECT_EQ(back->gpus[0].utilization, 0.75);
  EXPECT_EQ(back->gpus[1].memory_total_bytes, 80'000u);
  EXPECT_FALSE(parse_health_line("{\"pid\":1}").ok());  // no time
  EXPECT_FALSE(parse_health_line("{\"time_us\":").ok());
}

TEST(SystemHealth, AppendedSamplesReadBackInTheirWindowSkippingATornLine) {
  fs::path root = fs::temp_directory_path() / fmt::format("slipway_health_{}", ::getpid());
  fs::remove_all(root);
  auto none = read_health_samples(root, 0, INT64_MAX);
  ASSERT_TRUE(none.ok());  // no file yet: an empty history, not an error
  EXPECT_TRUE(none->samples.empty());
  for (int64_t t : {300, 100, 200}) {
    HealthSample h;
    h.time_us = t;
    h.process_rss_bytes = static_cast<uint64_t>(t);
    ASSERT_TRUE(append_health_sample(root, h).ok());
  }
  {
    std::ofstream torn(health_log_path(root), std::ios::app);
    torn << "{\"time_us\":400,\"process_r";  // a writer killed mid-line
  }
  auto all = read_health_samples(root, 0, INT64_MAX);
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->samples.size(), 3u);
  EXPECT_EQ(all->samples[0].time_us, 100);  // time order
  EXPECT_EQ(all->samples[2].time_us, 300);
  EXPECT_EQ(all->skipped_lines, 1u);
  auto window = read_health_samples(root, 150, 300);  // since inclusive, until exclusive
  ASSERT_TRUE(window.ok());
  ASSERT_EQ(window->samples.size(), 1u);
  EXPECT_EQ(window->samples[0].time_us, 200);
  fs::remove_all(root);
}

TEST(SystemHealth, MetricsTextHasHostProcessAndGpuLines) {
  std::string text = render_system_metrics();
  for (const char* name : {"slipway_host_cpu_seconds_total{mode=\"user\"}", "slipway_host_cpus ",
                           "slipway_host_memory_available_bytes ", "process_open_fds ",
                           "slipway_process_open_sockets ", "slipway_gpu_available{reason="}) {
    EXPECT_NE(text.find(name), std::string::npos) << name << "\n" << text;
  }
}

}  // namespace
}  // namespace slipway::monitor
