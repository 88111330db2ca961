// This process's CPU time and resident memory from /proc/self (process.h).
#include "slipway/core/process.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace slipway {

ProcessUsage process_usage() {
  ProcessUsage out;
  if (std::ifstream stat("/proc/self/stat"); stat) {
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // The fields after the command name (which may hold spaces and parentheses); field 3 is the state.
    if (auto paren = text.rfind(')'); paren != std::string::npos && paren + 2 <= text.size()) {
      std::istringstream fields(text.substr(paren + 2));
      std::string field;
      unsigned long long utime = 0, stime = 0;
      for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
        if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
      }
      out.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
    }
  }
  if (std::ifstream statm("/proc/self/statm"); statm) {
    unsigned long long size = 0, resident = 0;
    if (statm >> size >> resident) out.rss_bytes = resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  }
  return out;
}

}  // namespace slipway
