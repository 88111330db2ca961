// Alert actions against real receivers: a webhook to a local HTTP server (raw sockets, so the test
// stays independent of the client's library) and commands run through /bin/sh.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "alert_test_util.h"

namespace slipway::monitor {
namespace {

using testing::AlertStoreTest;
using testing::sample;
using testing::snapshot;

// Answers each POST by a script: the status code for the Nth request, or 0 to never answer (the
// connection is held open until the receiver stops).
class TestReceiver {
 public:
  explicit TestReceiver(std::function<int(int)> status_for) : status_for_(std::move(status_for)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~TestReceiver() {
    stop_ = true;
    thread_.join();
    for (int c : held_) ::close(c);
    ::close(fd_);
  }

  std::string url() const { return fmt::format("http://127.0.0.1:{}/hook", port_); }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::string request = read_request(c);
      int n = 0;
      {
        std::lock_guard lock(mu_);
        bodies_.push_back(request.substr(request.find("\r\n\r\n") + 4));
        n = static_cast<int>(bodies_.size());
      }
      int status = status_for_(n);
      if (status == 0) {
        held_.push_back(c);
        continue;
      }
      std::string body = status == 200 ? "thanks" : "try later";
      std::string response =
          fmt::format("HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", status, body.size(), body);
      (void)::send(c, response.data(), response.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }

  static std::string read_request(int c) {
    std::string data;
    char buf[4096];
    size_t want = std::string::npos;
    while (want == std::string::npos || data.size() < want) {
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      data.append(buf, static_cast<size_t>(n));
      size_t head_end = data.find("\r\n\r\n");
      if (want == std::string::npos && head_end != std::string::npos) {
        size_t cl = data.find("Content-Length: ");
        size_t length = cl == std::string::npos ? 0 : std::stoul(data.substr(cl + 16));
        want = head_end + 4 + length;
      }
    }
    return data;
  }

  std::function<int(int)> status_for_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> bodies_;
  std::vector<int> held_;
};

class AlertActionsTest : public AlertStoreTest {
 protected:
  // Fires `action_yaml` once (rule "r", model "m", value 2.5) and returns the stored firing after
  // every action finished.
  AlertFiring fire_once(const std::string& action_yaml, AlertEngineOptions options = {}) {
    auto e = engine("rules:\n  - name: r\n    when: x > 1\n    actions:\n" + action_yaml, options);
    if (!e) return {};
    auto t = e->evaluate(snapshot({sample("x", 2.5, "m")}), 7);
    EXPECT_TRUE(t.ok()) << t.status().message();
    if (!t.ok() || t->size() != 1) return {};
    e->wait_for_actions();
    return firing((*t)[0].firing_id);
  }
};

TEST_F(AlertActionsTest, AWebhookIsRetriedUntilItSucceeds) {
  TestReceiver receiver([](int n) { return n <= 2 ? 503 : 200; });
  auto f = fire_once(fmt::format("      - webhook: {}\n        retries: 3\n", receiver.url()));
  ASSERT_EQ(f.actions.size(), 2u);
  const auto& hook = f.actions[1];
  EXPECT_EQ(hook.kind, "webhook");
  EXPECT_EQ(hook.target, receiver.url());
  EXPECT_EQ(hook.status, "ok");
  EXPECT_EQ(hook.attempts, 3);
  EXPECT_EQ(hook.output, "attempt 1: HTTP 503\nattempt 2: HTTP 503\nattempt 3: HTTP 200\nthanks");
  EXPECT_GT(hook.finished_time, 0);
  auto bodies = receiver.bodies();
  ASSERT_EQ(bodies.size(), 3u);
  EXPECT_EQ(bodies[0], bodies[2]);  // the same payload each time
  auto payload = nlohmann::json::parse(bodies[0]);
  EXPECT_EQ(payload["rule"], "r");
  EXPECT_EQ(payload["model"], "m");
  EXPECT_EQ(payload["state"], "firing");
  EXPECT_EQ(payload["value"], 2.5);
  EXPECT_EQ(payload["expression"], "x > 1");
  EXPECT_EQ(payload["started_time"], 7);
  EXPECT_EQ(payload["firing_id"], f.firing_id);
  EXPECT_EQ(payload["evidence"]["windows"][0]["series"][0]["value"], 2.5);
}

TEST_F(AlertActionsTest, AWebhookThatNeverAnswersTimesOutAndFails) {
  TestReceiver receiver([](int) { return 0; });
  auto f = fire_once(fmt::format("      - webhook: {}\n        timeout_ms: 200\n        retries: 1\n", receiver.url()));
  ASSERT_EQ(f.actions.size(), 2u);
  EXPECT_EQ(f.actions[1].status, "failed");
  EXPECT_EQ(f.actions[1].attempts, 2);
  EXPECT_EQ(f.actions[1].output, "attempt 1: timed out after 200 ms\nattempt 2: timed out after 200 ms\n");
  EXPECT_EQ(receiver.bodies().size(), 2u);
  EXPECT_EQ(f.actions_failed, 1);
  EXPECT_EQ(f.actions_ok, 1);  // the event
}

TEST_F(AlertActionsTest, AWebhookNobodyListensToFails) {
  int port = 0;
  {
    TestReceiver gone([](int) { return 200; });
    port = std::stoi(gone.url().substr(17));
  }
  auto f = fire_once(fmt::format("      - webhook: http://127.0.0.1:{}/hook\n        retries: 0\n", port));
  ASSERT_EQ(f.actions.size(), 2u);
  EXPECT_EQ(f.actions[1].status, "failed");
  EXPECT_EQ(f.actions[1].attempts, 1);
  EXPECT_EQ(f.actions[1].output, fmt::format("attempt 1: cannot connect 127.0.0.1:{}: Connection refused\n", port));
}

TEST_F(AlertActionsTest, ACommandGetsTheAlertInItsEnvironmentAndItsOutputIsKept) {
  auto f = fire_once(
      "      - command: echo \"rule=$SLIPWAY_ALERT_RULE model=$SLIPWAY_ALERT_MODEL value=$SLIPWAY_ALERT_VALUE "
      "id=$SLIPWAY_ALERT_FIRING_ID\"; echo oops >&2; exit 3\n");
  ASSERT_EQ(f.actions.size(), 2u);
  const auto& cmd = f.actions[1];
  EXPECT_EQ(cmd.kind, "command");
  EXPECT_EQ(cmd.status, "failed");  // exit status 3
  EXPECT_EQ(cmd.attempts, 1);
  EXPECT_EQ(cmd.output, fmt::format("rule=r model=m value=2.5 id={}\noops\n[exit status 3]", f.firing_id));
}

TEST_F(AlertActionsTest, ACommandThatSucceedsIsOk) {
  auto f = fire_once("      - command: printf done\n");
  ASSERT_EQ(f.actions.size(), 2u);
  EXPECT_EQ(f.actions[1].status, "ok");
  EXPECT_EQ(f.actions[1].output, "done\n[exit status 0]");
}

TEST_F(AlertActionsTest, ACommandPastItsTimeoutIsKilledWithWhatItStarted) {
  auto marker = root_ / "survived";
  auto f = fire_once(fmt::format(
      "      - command: echo started; (sleep 1; touch {}) & sleep 60\n        timeout_ms: 300\n", marker.string()));
  ASSERT_EQ(f.actions.size(), 2u);
  EXPECT_EQ(f.actions[1].status, "failed");
  EXPECT_EQ(f.actions[1].output, "started\n[timed out after 300 ms: killed]");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_FALSE(std::filesystem::exists(marker)) << "the background child outlived the timeout";
}

TEST_F(AlertActionsTest, CommandOutputIsBounded) {
  AlertEngineOptions options;
  options.command_output_limit = 1000;
  auto f = fire_once("      - command: head -c 100000 /dev/zero | tr '\\0' a; echo; echo end\n", options);
  ASSERT_EQ(f.actions.size(), 2u);
  const auto& out = f.actions[1].output;
  EXPECT_EQ(f.actions[1].status, "ok");
  EXPECT_LT(out.size(), 1100u);
  EXPECT_EQ(out.substr(0, 500), std::string(500, 'a'));
  EXPECT_NE(out.find("\n[… 99005 bytes left out …]\n"), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.size() - 25), "aaaaa\nend\n[exit status 0]");
}

TEST_F(AlertActionsTest, StoppingTheEngineKillsARunningCommand) {
  auto started = root_ / "started";
  auto e =
      engine(fmt::format("rules:\n  - name: r\n    when: x > 1\n    actions:\n      - command: echo begun; touch {}; "
                         "sleep 60\n",
                         started.string()));
  ASSERT_TRUE(e);
  auto t = e->evaluate(snapshot({sample("x", 2.5, "m")}), 7);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->size(), 1u);
  for (int i = 0; i < 1000 && !std::filesystem::exists(started); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(std::filesystem::exists(started));
  e.reset();
  auto f = firing((*t)[0].firing_id);
  ASSERT_EQ(f.actions.size(), 2u);
  EXPECT_EQ(f.actions[1].status, "failed");
  EXPECT_EQ(f.actions[1].output, "begun\n[stopped: slipway shut down while it ran: killed]");
}

}  // namespace
}  // namespace slipway::monitor
