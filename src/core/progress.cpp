#include "slipway/core/progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace slipway {

Progress::Progress(std::string label, uint64_t total, bool enabled)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

Progress::~Progress() { finish(); }

bool Progress::enabled_by_default() {
  const char* env = std::getenv("SLIPWAY_PROGRESS");
  if (env != nullptr) return std::strcmp(env, "0") != 0;
  return ::isatty(STDERR_FILENO) != 0;
}

void Progress::advance(uint64_t amount) {
  std::lock_guard<std::mutex> lock(mutex_);
  done_ += amount;
  maybe_print(false);
}

void Progress::set(uint64_t done) {
  std::lock_guard<std::mutex> lock(mutex_);
  done_ = done;
  maybe_print(false);
}

void Progress::maybe_print(bool force) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (!force) {
    if (now - start_ < std::chrono::seconds(1)) return;
    if (printed_ && now - last_print_ < std::chrono::milliseconds(250)) return;
  }
  last_print_ = now;
  printed_ = true;
  double secs = std::chrono::duration<double>(now - start_).count();
  if (total_ > 0) {
    std::fprintf(stderr, "\r%s: %5.1f%% (%.1f / %.1f MB, %.1fs)", label_.c_str(),
                 100.0 * static_cast<double>(done_) / static_cast<double>(total_), done_ / 1e6,
                 total_ / 1e6, secs);
  } else {
    std::fprintf(stderr, "\r%s: %.1f MB (%.1fs)", label_.c_str(), done_ / 1e6, secs);
  }
  std::fflush(stderr);
}

void Progress::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  finished_ = true;
  if (printed_) {
    maybe_print(true);
    std::fputc('\n', stderr);
  }
}

}  // namespace slipway
