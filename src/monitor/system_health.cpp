// Host CPU / memory from /proc, the process's descriptors, GPUs through a dlopen'd NVML
// (system_health.h).
#include "slipway/monitor/system_health.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <tuple>

#include <cerrno>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "slipway/core/process.h"
#include "slipway/serve/prometheus.h"

namespace slipway::monitor {

namespace {

// NVML's C API, the few calls used (nvml.h is not needed: the ABI is stable and documented).
struct NvmlUtilization {
  unsigned int gpu;
  unsigned int memory;
};
struct NvmlMemory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
using NvmlDevice = void*;

struct Nvml {
  bool available = false;
  std::string reason;
  int (*device_count)(unsigned int*) = nullptr;
  int (*handle_by_index)(unsigned int, NvmlDevice*) = nullptr;
  int (*utilization)(NvmlDevice, NvmlUtilization*) = nullptr;
  int (*memory_info)(NvmlDevice, NvmlMemory*) = nullptr;
};

const Nvml& nvml() {
  static Nvml n = [] {
    Nvml out;
    void* lib = ::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      out.reason = "libnvidia-ml.so.1 not found (no NVIDIA driver)";
      return out;
    }
    auto init = reinterpret_cast<int (*)()>(::dlsym(lib, "nvmlInit_v2"));
    out.device_count = reinterpret_cast<int (*)(unsigned int*)>(::dlsym(lib, "nvmlDeviceGetCount_v2"));
    out.handle_by_index = reinterpret_cast<int (*)(unsigned int, NvmlDevice*)>(::dlsym(lib, "nvmlDeviceGetHandleByIndex_v2"));
    out.utilization = reinterpret_cast<int (*)(NvmlDevice, NvmlUtilization*)>(::dlsym(lib, "nvmlDeviceGetUtilizationRates"));
    out.memory_info = reinterpret_cast<int (*)(NvmlDevice, NvmlMemory*)>(::dlsym(lib, "nvmlDeviceGetMemoryInfo"));
    if (init == nullptr || out.device_count == nullptr || out.handle_by_index == nullptr || out.utilization == nullptr ||
        out.memory_info == nullptr) {
      out.reason = "libnvidia-ml.so.1 lacks the NVML calls used";
      return out;
    }
    if (int rc = init(); rc != 0) {
      out.reason = fmt::format("nvmlInit failed (NVML error {})", rc);
      return out;
    }
    out.available = true;
    return out;
  }();
  return n;
}

struct HostCpu {
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  bool ok = false;
  unsigned long long total() const { return user + nice + system + idle + iowait + irq + softirq + steal; }
  unsigned long long busy() const { return total() - idle - iowait; }
};

HostCpu host_cpu() {
  HostCpu c;
  if (std::ifstream stat("/proc/stat"); stat) {
    std::string cpu;
    stat >> cpu >> c.user >> c.nice >> c.system >> c.idle >> c.iowait >> c.irq >> c.softirq >> c.steal;
    c.ok = static_cast<bool>(stat);
  }
  return c;
}

double load_average() {
  double load1 = 0;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load1) != 1) load1 = 0;
    std::fclose(f);
  }
  return load1;
}

// MemTotal and MemAvailable from /proc/meminfo, in bytes.
std::pair<uint64_t, uint64_t> host_memory() {
  unsigned long long total_kb = 0, available_kb = 0;
  if (std::ifstream mem("/proc/meminfo"); mem) {
    std::string key;
    unsigned long long value = 0;
    std::string unit;
    while (mem >> key >> value) {
      std::getline(mem, unit);
      if (key == "MemTotal:") total_kb = value;
      if (key == "MemAvailable:") available_kb = value;
    }
  }
  return {total_kb * 1024, available_kb * 1024};
}

// Open descriptors and how many of them are sockets (connections plus listeners).
std::pair<uint64_t, uint64_t> descriptors() {
  uint64_t fds = 0, sockets = 0;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(dir)) {
      if (e->d_name[0] == '.') continue;
      ++fds;
      char target[64];
      std::string path = fmt::format("/proc/self/fd/{}", e->d_name);
      ssize_t n = ::readlink(path.c_str(), target, sizeof(target) - 1);
      if (n > 0 && std::strncmp(target, "socket:", 7) == 0) ++sockets;
    }
    ::closedir(dir);
  }
  return {fds, sockets};
}

std::vector<GpuSample> gpu_samples() {
  std::vector<GpuSample> out;
  const Nvml& n = nvml();
  unsigned int count = 0;
  if (!n.available || n.device_count(&count) != 0) return out;
  for (unsigned int i = 0; i < count; ++i) {
    NvmlDevice device = nullptr;
    if (n.handle_by_index(i, &device) != 0) continue;
    GpuSample g;
    g.index = i;
    NvmlUtilization u{};
    if (n.utilization(device, &u) == 0) g.utilization = u.gpu / 100.0;
    NvmlMemory m{};
    if (n.memory_info(device, &m) == 0) {
      g.memory_used_bytes = m.used;
      g.memory_total_bytes = m.total;
    }
    out.push_back(g);
  }
  return out;
}

void gauge(std::string& out, const char* name, const char* help, double value, const char* type = "gauge") {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
}

}  // namespace

std::string render_system_metrics() {
  std::string out;
  // Host CPU: jiffies from the first line of /proc/stat.
  if (HostCpu c = host_cpu(); c.ok) {
    const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
    out += "# HELP slipway_host_cpu_seconds_total CPU time of the whole host by mode (all cores).\n"
           "# TYPE slipway_host_cpu_seconds_total counter\n";
    fmt::format_to(std::back_inserter(out),
                   "slipway_host_cpu_seconds_total{{mode=\"user\"}} {}\n"
                   "slipway_host_cpu_seconds_total{{mode=\"system\"}} {}\n"
                   "slipway_host_cpu_seconds_total{{mode=\"idle\"}} {}\n"
                   "slipway_host_cpu_seconds_total{{mode=\"iowait\"}} {}\n"
                   "slipway_host_cpu_seconds_total{{mode=\"other\"}} {}\n",
                   static_cast<double>(c.user + c.nice) / hz, static_cast<double>(c.system) / hz,
                   static_cast<double>(c.idle) / hz, static_cast<double>(c.iowait) / hz,
                   static_cast<double>(c.irq + c.softirq + c.steal) / hz);
  }
  gauge(out, "slipway_host_cpus", "Online CPUs of the host.", static_cast<double>(::sysconf(_SC_NPROCESSORS_ONLN)));
  gauge(out, "slipway_host_load1", "The host's one-minute load average.", load_average());
  auto [total, available] = host_memory();
  gauge(out, "slipway_host_memory_total_bytes", "Physical memory of the host.", static_cast<double>(total));
  gauge(out, "slipway_host_memory_available_bytes", "Memory available to new work (MemAvailable).",
        static_cast<double>(available));
  auto [fds, sockets] = descriptors();
  gauge(out, "process_open_fds", "Open file descriptors of the server process.", static_cast<double>(fds));
  gauge(out, "slipway_process_open_sockets", "Open sockets of the server process (connections and listeners).",
        static_cast<double>(sockets));
  // GPUs.
  const Nvml& n = nvml();
  out += "# HELP slipway_gpu_available 1 when NVML reports GPUs; 0 with the reason as a label.\n"
         "# TYPE slipway_gpu_available gauge\n";
  if (n.available) {
    fmt::format_to(std::back_inserter(out), "slipway_gpu_available{{reason=\"\"}} 1\n");
  } else {
    fmt::format_to(std::back_inserter(out), "slipway_gpu_available{{reason=\"{}\"}} 0\n", serve::prometheus_label_value(n.reason));
  }
  const std::vector<GpuSample> gpus = gpu_samples();
  if (!gpus.empty()) {
    out += "# HELP slipway_gpu_utilization_ratio GPU busy time over the last sample period (0-1).\n"
           "# TYPE slipway_gpu_utilization_ratio gauge\n";
    for (const auto& g : gpus) {
      fmt::format_to(std::back_inserter(out), "slipway_gpu_utilization_ratio{{gpu=\"{}\"}} {}\n", g.index, g.utilization);
    }
    out += "# HELP slipway_gpu_memory_used_bytes GPU memory in use.\n# TYPE slipway_gpu_memory_used_bytes gauge\n";
    for (const auto& g : gpus) {
      fmt::format_to(std::back_inserter(out), "slipway_gpu_memory_used_bytes{{gpu=\"{}\"}} {}\n", g.index, g.memory_used_bytes);
    }
    out += "# HELP slipway_gpu_memory_total_bytes GPU memory.\n# TYPE slipway_gpu_memory_total_bytes gauge\n";
    for (const auto& g : gpus) {
      fmt::format_to(std::back_inserter(out), "slipway_gpu_memory_total_bytes{{gpu=\"{}\"}} {}\n", g.index, g.memory_total_bytes);
    }
  }
  return out;
}

HealthSample HealthSampler::sample(int64_t now_us) {
  HealthSample h;
  h.time_us = now_us;
  h.pid = ::getpid();
  const ProcessUsage usage = process_usage();
  const double cpu_s = usage.cpu_seconds;
  h.process_rss_bytes = usage.rss_bytes;
  if (last_process_cpu_s_ >= 0 && now_us > last_us_) {
    h.process_cpu_cores = std::max(0.0, cpu_s - last_process_cpu_s_) / (static_cast<double>(now_us - last_us_) / 1e6);
  }
  last_process_cpu_s_ = cpu_s;
  HostCpu c = host_cpu();
  if (c.ok) {
    if (last_host_total_ > 0 && c.total() > last_host_total_) {
      h.host_cpu_busy = static_cast<double>(c.busy() - std::min(c.busy(), last_host_busy_)) /
                        static_cast<double>(c.total() - last_host_total_);
    }
    last_host_busy_ = c.busy();
    last_host_total_ = c.total();
  }
  last_us_ = now_us;
  h.host_cpus = static_cast<unsigned>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
  std::tie(h.host_memory_total_bytes, h.host_memory_available_bytes) = host_memory();
  h.load1 = load_average();
  std::tie(h.open_fds, h.open_sockets) = descriptors();
  const Nvml& n = nvml();
  h.gpu_available = n.available;
  h.gpu_reason = n.reason;
  h.gpus = gpu_samples();
  return h;
}

std::filesystem::path health_log_path(const std::filesystem::path& store_root) {
  return store_root / "monitor" / "health.jsonl";
}

std::string health_json_line(const HealthSample& h) {
  nlohmann::json gpus = nlohmann::json::array();
  for (const auto& g : h.gpus) {
    gpus.push_back({{"index", g.index},
                    {"utilization", g.utilization},
                    {"memory_used_bytes", g.memory_used_bytes},
                    {"memory_total_bytes", g.memory_total_bytes}});
  }
  nlohmann::json j = {{"time_us", h.time_us},
                      {"pid", h.pid},
                      {"process_cpu_cores", h.process_cpu_cores},
                      {"process_rss_bytes", h.process_rss_bytes},
                      {"host_cpu_busy", h.host_cpu_busy},
                      {"host_cpus", h.host_cpus},
                      {"host_memory_total_bytes", h.host_memory_total_bytes},
                      {"host_memory_available_bytes", h.host_memory_available_bytes},
                      {"load1", h.load1},
                      {"open_fds", h.open_fds},
                      {"open_sockets", h.open_sockets},
                      {"gpu_available", h.gpu_available},
                      {"gpu_reason", h.gpu_reason},
                      {"gpus", std::move(gpus)}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<HealthSample> parse_health_line(std::string_view line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(ErrorCode::kParseError, "not a JSON object");
  HealthSample h;
  try {
    h.time_us = j.at("time_us").get<int64_t>();
    h.pid = j.value("pid", int64_t{0});
    h.process_cpu_cores = j.value("process_cpu_cores", 0.0);
    h.process_rss_bytes = j.value("process_rss_bytes", uint64_t{0});
    h.host_cpu_busy = j.value("host_cpu_busy", 0.0);
    h.host_cpus = j.value("host_cpus", 0u);
    h.host_memory_total_bytes = j.value("host_memory_total_bytes", uint64_t{0});
    h.host_memory_available_bytes = j.value("host_memory_available_bytes", uint64_t{0});
    h.load1 = j.value("load1", 0.0);
    h.open_fds = j.value("open_fds", uint64_t{0});
    h.open_sockets = j.value("open_sockets", uint64_t{0});
    h.gpu_available = j.value("gpu_available", false);
    h.gpu_reason = j.value("gpu_reason", std::string());
    for (const auto& g : j.value("gpus", nlohmann::json::array())) {
      h.gpus.push_back({g.value("index", 0u), g.value("utilization", 0.0), g.value("memory_used_bytes", uint64_t{0}),
                        g.value("memory_total_bytes", uint64_t{0})});
    }
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorCode::kParseError, "{}", e.what());
  }
  return h;
}

Status append_health_sample(const std::filesystem::path& store_root, const HealthSample& sample) {
  const auto path = health_log_path(store_root);
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return make_error(ErrorCode::kIoError, "cannot create {}: {}", path.parent_path().string(), ec.message());
  const std::string line = health_json_line(sample);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return make_error(ErrorCode::kIoError, "cannot open {}: {}", path.string(), std::strerror(errno));
  ssize_t n = ::write(fd, line.data(), line.size());
  int saved = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(line.size())) {
    return make_error(ErrorCode::kIoError, "cannot append to {}: {}", path.string(),
                      n < 0 ? std::strerror(saved) : "short write");
  }
  return {};
}

Result<HealthHistory> read_health_samples(const std::filesystem::path& store_root, int64_t since_us,
                                          int64_t until_us) {
  HealthHistory out;
  const auto path = health_log_path(store_root);
  std::ifstream in(path);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return out;
    return make_error(ErrorCode::kIoError, "cannot read {}", path.string());
  }
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto sample = parse_health_line(line);
    if (!sample.ok()) {
      ++out.skipped_lines;
      continue;
    }
    if (sample->time_us >= since_us && sample->time_us < until_us) out.samples.push_back(std::move(sample).value());
  }
  std::stable_sort(out.samples.begin(), out.samples.end(),
                   [](const HealthSample& a, const HealthSample& b) { return a.time_us < b.time_us; });
  return out;
}

}  // namespace slipway::monitor
