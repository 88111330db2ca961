// What a training run records about where it ran (reproducibility tags). Private to src/train.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace slipway::train::detail {

struct GitState {
  std::string commit;  // HEAD's full hash
  bool dirty = false;  // tracked files modified (untracked files do not count)
};
// nullopt when `dir` is not inside a git work tree or git is not installed.
std::optional<GitState> git_state(const std::filesystem::path& dir);

std::string cpu_model();  // /proc/cpuinfo's "model name", else "unknown"
std::string host_name();
std::string user_name();  // $USER, else the password database, else "unknown"
int64_t now_ms();
std::string iso_utc(int64_t ms);  // "2026-11-28T13:04:05Z"

}  // namespace slipway::train::detail
