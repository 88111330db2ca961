// Inside the alert engine: the two actions that reach outside the process. Each runs on the
// engine's executor thread and never throws.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace slipway::monitor::detail {

struct ActionOutcome {
  bool ok = false;
  int attempts = 0;
  std::string output;  // what the action said, bounded
};

// Waits up to `delay`; false when the engine is stopping (no further attempt then).
using BackoffWait = std::function<bool(std::chrono::milliseconds delay)>;

// POSTs `body` (application/json) to an http:// URL. An attempt fails on a connection error, on
// passing `timeout_ms` (the whole attempt: connect, send, read), or on a non-2xx status; failed
// attempts are retried `retries` times after base, 2*base, 4*base, ... (capped) milliseconds.
// `output`: one line per attempt, then the body of the last response (at most 4 KiB).
ActionOutcome post_webhook(const std::string& url, const std::string& body, int64_t timeout_ms, int retries,
                           int64_t backoff_base_ms, int64_t backoff_max_ms, const BackoffWait& wait);

// Runs `/bin/sh -c command` in its own process group with stdin from /dev/null, the process's
// environment plus `env`, stdout and stderr captured together (the first and last output_limit/2
// bytes kept). Past `timeout_ms`, or when `stop` becomes true, the whole group is killed. ok when
// it exits 0. `output` ends with a line saying how it ended ("[exit status 0]", "[timed out …]").
ActionOutcome run_command(const std::string& command, const std::vector<std::pair<std::string, std::string>>& env,
                          int64_t timeout_ms, size_t output_limit, const std::atomic<bool>& stop);

}  // namespace slipway::monitor::detail
