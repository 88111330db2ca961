// Progress for long work, printed to stderr only when the work has already taken more than a
// second and stderr is a terminal (or SLIPWAY_PROGRESS=1), at most a few times per second.
// Safe to update from several threads (ingest advances it from the chunking thread).
#pragma once

#include <chrono>
#include <mutex>
#include <cstdint>
#include <string>

namespace slipway {

class Progress {
 public:
  // `total` is in `unit` (e.g. bytes); 0 means unknown.
  Progress(std::string label, uint64_t total, bool enabled);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(uint64_t amount);
  void set(uint64_t done);
  void finish();

  static bool enabled_by_default();  // stderr is a tty, or SLIPWAY_PROGRESS=1

 private:
  void maybe_print(bool force);  // with mutex_ held
  std::mutex mutex_;
  std::string label_;
  uint64_t total_;
  uint64_t done_ = 0;
  bool enabled_;
  bool printed_ = false;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_print_;
};

}  // namespace slipway
