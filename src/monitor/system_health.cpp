// Host CPU / memory from /proc, the process's descriptors, GPUs through a dlopen'd NVML
// (system_health.h).
#include "slipway/serve/prometheus.h"
#include "slipway/monitor/system_health.h"

#include <dirent.h>
#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>

#include <fmt/format.h>

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


void gauge(std::string& out, const char* name, const char* help, double value, const char* type = "gauge") {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
}

}  // namespace

std::string render_system_metrics() {
  std::string out;
  // Host CPU: jiffies from the first line of /proc/stat.
  if (std::ifstream stat("/proc/stat"); stat) {
    std::string cpu;
    unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
    const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
    out += "# HELP slipway_host_cpu_seconds_total CPU time of the whole host by mode (all cores).\n"
           "# TYPE slipway_host_cpu_seconds_total counter\n";
    fmt::format_to(std::back_inserter(out),
                   "slipway_host_cpu_seconds_total{{mode=\"user\"}} {}\n"
                   "slipway_host_cpu_seconds_total{{mode=\"system\"}} {}\n"
                   "slipway_host_cpu_seconds_total{{mode=\"idle\"}} {}\n"
                   "slipway_host_cpu_seconds_total{{mode=\"iowait\"}} {}\n"
                   "slipway_host_cpu_seconds_total{{mode=\"other\"}} {}\n",
                   static_cast<double>(user + nice) / hz, static_cast<double>(system) / hz,
                   static_cast<double>(idle) / hz, static_cast<double>(iowait) / hz,
                   static_cast<double>(irq + softirq + steal) / hz);
  }
  gauge(out, "slipway_host_cpus", "Online CPUs of the host.", static_cast<double>(::sysconf(_SC_NPROCESSORS_ONLN)));
  double load1 = 0;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load1) != 1) load1 = 0;
    std::fclose(f);
  }
  gauge(out, "slipway_host_load1", "The host's one-minute load average.", load1);
  // Host memory from /proc/meminfo (kB).
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
  gauge(out, "slipway_host_memory_total_bytes", "Physical memory of the host.", static_cast<double>(total_kb) * 1024);
  gauge(out, "slipway_host_memory_available_bytes", "Memory available to new work (MemAvailable).",
        static_cast<double>(available_kb) * 1024);
  // The process's descriptors and sockets (connections plus listeners).
  size_t fds = 0, sockets = 0;
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
  gauge(out, "process_open_fds", "Open file descriptors of the server process.", static_cast<double>(fds));
  gauge(out, "slipway_process_open_sockets", "Open sockets of the server process (connections and listeners).",
        static_cast<double>(sockets));
  // GPUs.
  const Nvml& n = nvml();
  unsigned int count = 0;
  if (n.available && n.device_count(&count) != 0) count = 0;
  out += "# HELP slipway_gpu_available 1 when NVML reports GPUs; 0 with the reason as a label.\n"
         "# TYPE slipway_gpu_available gauge\n";
  if (n.available) {
    fmt::format_to(std::back_inserter(out), "slipway_gpu_available{{reason=\"\"}} 1\n");
  } else {
    fmt::format_to(std::back_inserter(out), "slipway_gpu_available{{reason=\"{}\"}} 0\n", serve::prometheus_label_value(n.reason));
  }
  if (n.available && count > 0) {
    out += "# HELP slipway_gpu_utilization_ratio GPU busy time over the last sample period (0-1).\n"
           "# TYPE slipway_gpu_utilization_ratio gauge\n";
    std::string memory =
        "# HELP slipway_gpu_memory_used_bytes GPU memory in use.\n# TYPE slipway_gpu_memory_used_bytes gauge\n";
    std::string total =
        "# HELP slipway_gpu_memory_total_bytes GPU memory.\n# TYPE slipway_gpu_memory_total_bytes gauge\n";
    for (unsigned int i = 0; i < count; ++i) {
      NvmlDevice device = nullptr;
      if (n.handle_by_index(i, &device) != 0) continue;
      NvmlUtilization u{};
      if (n.utilization(device, &u) == 0) {
        fmt::format_to(std::back_inserter(out), "slipway_gpu_utilization_ratio{{gpu=\"{}\"}} {}\n", i, u.gpu / 100.0);
      }
      NvmlMemory m{};
      if (n.memory_info(device, &m) == 0) {
        fmt::format_to(std::back_inserter(memory), "slipway_gpu_memory_used_bytes{{gpu=\"{}\"}} {}\n", i, m.used);
        fmt::format_to(std::back_inserter(total), "slipway_gpu_memory_total_bytes{{gpu=\"{}\"}} {}\n", i, m.total);
      }
    }
    out += memory;
    out += total;
  }
  return out;
}

}  // namespace slipway::monitor
