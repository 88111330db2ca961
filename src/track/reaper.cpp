// Reaping: a RUNNING run whose owner process is gone (or, without an owner, that has not been
// written for a long time) is marked FAILED, so crashed training never shows as running forever.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iterator>

#include "slipway/track/tracking.h"
#include "detail/tracking_internal.h"

namespace slipway::track {

namespace detail {

std::optional<ProcessStat> read_process_stat(int64_t pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  if (!in) return std::nullopt;
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Field 2 (the command name) may hold spaces and parentheses: fields 3.. follow the last ')'.
  size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return std::nullopt;
  ProcessStat out;
  const char* p = stat.c_str() + close + 2;
  out.state = *p;
  for (int field = 3; field < 22; ++field) {
    while (*p != '\0' && *p != ' ') ++p;
    if (*p == '\0') return out;
    ++p;
  }
  out.start_ticks = std::strtoll(p, nullptr, 10);
  return out;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return buf;
}

}  // namespace detail

namespace {

struct Candidate {
  std::string run_id;
  std::string reason;
};

std::string duration_text(int64_t ms) {
  const int64_t s = ms / 1000;
  if (s < 120) return fmt::format("{}s", s);
  if (s < 7200) return fmt::format("{}m", s / 60);
  if (s < 2 * 86400) return fmt::format("{}h", s / 3600);
  return fmt::format("{}d", s / 86400);
}

// Why the run is dead, or empty when it may still be alive.
std::string death_reason(const std::string& this_host, const std::optional<RunOwner>& owner, int64_t last_write,
                         int64_t now_ms, int64_t stale_after_ms) {
  if (owner && owner->host == this_host) {
    auto stat = detail::read_process_stat(owner->pid);
    bool gone = !stat || stat->state == 'Z' || stat->state == 'X';
    if (!gone && owner->process_start_ticks != 0 && stat->start_ticks != owner->process_start_ticks) gone = true;
    if (!gone && ::kill(static_cast<pid_t>(owner->pid), 0) != 0 && errno == ESRCH) gone = true;
    if (gone) return fmt::format("its process {} on {} ended without ending the run", owner->pid, owner->host);
    return {};
  }
  // Ownerless (created through the server) or owned on another host: only staleness tells.
  if (now_ms - last_write > stale_after_ms) {
    return fmt::format("no write for {}{}", duration_text(now_ms - last_write),
                       owner ? fmt::format(" (its process {} runs on another host, {})", owner->pid, owner->host)
                             : std::string(" (the run has no owner process to check)"));
  }
  return {};
}

}  // namespace

Result<RunOwner> Tracking::process_owner(int64_t pid) {
  auto stat = detail::read_process_stat(pid);
  if (!stat || stat->state == 'Z' || stat->state == 'X') {
    return make_error(ErrorCode::kNotFound, "no process {} on this host", pid);
  }
  return RunOwner{detail::host_name(), pid, stat->start_ticks};
}

Result<size_t> Tracking::reap_dead_runs(int64_t now_ms, int64_t stale_after_ms) {
  auto& db = store_.db();
  const std::string host = detail::host_name();
  // Find candidates without the write lock (listing calls this every time); confirm under it.
  auto find = [&](std::vector<Candidate>& out) -> Status {
    out.clear();
    SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare(fmt::format("SELECT {} FROM runs r WHERE r.status = 'RUNNING'",
                                                               detail::kRunColumns)));
    while (true) {
      SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
      if (!row) break;
      RunInfo info = detail::read_run_info(stmt);
      std::string why = death_reason(host, info.owner, info.last_write_ms, now_ms, stale_after_ms);
      if (!why.empty()) out.push_back({info.run_id, why});
    }
    return {};
  };
  std::vector<Candidate> candidates;
  SLIPWAY_RETURN_IF_ERROR(find(candidates));
  if (candidates.empty()) return size_t{0};
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_RETURN_IF_ERROR(find(candidates));
  SLIPWAY_ASSIGN_OR_RETURN(auto fail, db.prepare("UPDATE runs SET status = 'FAILED', end_time = ? "
                                                 "WHERE run_id = ? AND status = 'RUNNING'"));
  SLIPWAY_ASSIGN_OR_RETURN(auto tag, db.prepare("INSERT INTO tags (run_id, key, value) VALUES (?, 'slipway.failure', ?) "
                                                "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value"));
  size_t reaped = 0;
  for (const auto& c : candidates) {
    fail.bind(1, now_ms).bind(2, c.run_id);
    SLIPWAY_RETURN_IF_ERROR(fail.run());
    if (db.changes() == 0) continue;
    tag.bind(1, c.run_id).bind(2, c.reason);
    SLIPWAY_RETURN_IF_ERROR(tag.run());
    ++reaped;
  }
  SLIPWAY_RETURN_IF_ERROR(txn.commit());
  return reaped;
}

}  // namespace slipway::track
