// The command action: /bin/sh -c COMMAND in its own process group (so a timeout kills what the
// shell started too), output captured through one pipe, bounded.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "alert_internal.h"

extern char** environ;

namespace slipway::monitor::detail {

namespace {

// Keeps the first and the last `limit / 2` bytes of a stream and counts what falls between.
class BoundedOutput {
 public:
  explicit BoundedOutput(size_t limit) : half_(std::max<size_t>(limit / 2, 1)) {}
  void append(const char* data, size_t n) {
    total_ += n;
    size_t to_head = std::min(n, half_ - std::min(head_.size(), half_));
    head_.append(data, to_head);
    if (to_head == n) return;
    tail_.append(data + to_head, n - to_head);
    if (tail_.size() > 2 * half_) tail_.erase(0, tail_.size() - half_);
  }
  std::string text() const {
    size_t keep = std::min(tail_.size(), half_);
    size_t dropped = total_ - head_.size() - keep;
    if (dropped == 0) return head_ + tail_;
    return head_ + fmt::format("\n[… {} bytes left out …]\n", dropped) + tail_.substr(tail_.size() - keep);
  }

 private:
  size_t half_;
  size_t total_ = 0;
  std::string head_;
  std::string tail_;
};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

ActionOutcome run_command(const std::string& command, const std::vector<std::pair<std::string, std::string>>& env,
                          int64_t timeout_ms, size_t output_limit, const std::atomic<bool>& stop) {
  ActionOutcome outcome;
  outcome.attempts = 1;

  // The environment: ours, with `env` set over it. Built before spawning (no allocation in the child).
  std::map<std::string, std::string> vars;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    size_t eq = entry.find('=');
    if (eq != std::string::npos) vars[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [k, v] : env) vars[k] = v;
  std::vector<std::string> env_strings;
  env_strings.reserve(vars.size());
  for (const auto& [k, v] : vars) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    outcome.output = fmt::format("cannot create a pipe: {}", std::strerror(errno));
    return outcome;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own session and process group: killing -pid reaches everything the shell started.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  posix_spawnattr_setsigmask(&attr, &empty_mask);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigdefault(&attr, &defaults);

  std::string shell = "/bin/sh";
  std::string dash_c = "-c";
  std::string cmd = command;
  char* argv[] = {shell.data(), dash_c.data(), cmd.data(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    outcome.output = fmt::format("cannot start /bin/sh: {}", std::strerror(rc));
    return outcome;
  }

  BoundedOutput output(output_limit);
  const int64_t deadline = now_ms() + timeout_ms;
  bool timed_out = false;
  bool stopped = false;
  bool eof = false;
  char buf[16 * 1024];
  // Read until the pipe closes (everything in the group has exited or closed it) or time is up.
  while (!eof) {
    if (stop.load()) {
      stopped = true;
      break;
    }
    int64_t left = deadline - now_ms();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 100)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) {
      output.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      eof = true;
    }
  }
  if (timed_out || stopped) {
    ::kill(-pid, SIGKILL);
    // Keep what it wrote before it was killed: the group is dead, so the pipe ends soon.
    for (int i = 0; i < 20 && !eof; ++i) {
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n > 0) {
        output.append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        eof = true;
      }
    }
  }
  ::close(fds[0]);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }

  std::string text = output.text();
  if (!text.empty() && text.back() != '\n') text += '\n';
  if (timed_out) {
    text += fmt::format("[timed out after {} ms: killed]", timeout_ms);
  } else if (stopped) {
    text += "[stopped: slipway shut down while it ran: killed]";
  } else if (WIFEXITED(wstatus)) {
    outcome.ok = WEXITSTATUS(wstatus) == 0;
    text += fmt::format("[exit status {}]", WEXITSTATUS(wstatus));
  } else if (WIFSIGNALED(wstatus)) {
    text += fmt::format("[killed by signal {}]", WTERMSIG(wstatus));
  }
  outcome.output = std::move(text);
  return outcome;
}

}  // namespace slipway::monitor::detail
