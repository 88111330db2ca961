// Deployments block archive and delete while their process lives; concurrent registrations get
// distinct, consecutive version numbers.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <set>
#include <thread>

#include "registry_test_util.h"

namespace slipway::registry {
namespace {

// A child process that sleeps until killed: a stand-in for a server.
pid_t start_sleeper() {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::pause();
    ::_exit(0);
  }
  return pid;
}

void stop(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

TEST_F(RegistryTest, ADeployedVersionCannotBeArchivedOrDeleted) {
  register_file("churn");
  register_file("churn");
  pid_t server = start_sleeper();
  ASSERT_GT(server, 0);
  auto ref = registry_->resolve("churn/1");
  ASSERT_TRUE(ref.ok());
  ASSERT_OK(registry_->record_deployment(*ref, "churn", server));

  auto deployments = registry_->deployments("churn");
  ASSERT_TRUE(deployments.ok());
  ASSERT_EQ(deployments->size(), 1u);
  EXPECT_EQ((*deployments)[0].pid, server);
  EXPECT_EQ((*deployments)[0].endpoint, "churn");

  const std::string prefix = fmt::format("model version churn/1 is deployed at endpoint churn (pid {}, since ", server);
  for (const Status& refused : {registry_->archive_version("churn", 1, alice()),
                                registry_->delete_version("churn", 1, alice()),
                                registry_->delete_model("churn", alice())}) {
    EXPECT_EQ(refused.code(), ErrorCode::kFailedPrecondition);
    EXPECT_TRUE(refused.message().starts_with(prefix)) << refused.message();
    EXPECT_TRUE(refused.message().ends_with("Z); stop it first")) << refused.message();
  }
  // Other versions are free.
  ASSERT_OK(registry_->archive_version("churn", 2, alice()));

  // Once the process is gone the deployment no longer counts.
  stop(server);
  EXPECT_TRUE(registry_->deployments("churn")->empty());
  ASSERT_OK(registry_->archive_version("churn", 1, alice()));
  ASSERT_OK(registry_->delete_version("churn", 1, alice()));
}

TEST_F(RegistryTest, EndingADeploymentFreesTheVersion) {
  register_file("churn");
  auto ref = registry_->resolve("churn");
  ASSERT_TRUE(ref.ok());
  const int64_t me = ::getpid();
  ASSERT_OK(registry_->record_deployment(*ref, "churn", me));
  ASSERT_OK(registry_->record_deployment(*ref, "churn-canary", me));
  auto live = registry_->deployments("churn");
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 2u);
  std::time_t since = static_cast<std::time_t>(live->front().started_ms / 1000);
  std::tm tm{};
  gmtime_r(&since, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  EXPECT_EQ(registry_->delete_model("churn", alice()).message(),
            fmt::format("model version churn/1 is deployed at endpoint churn (pid {}, since {}) and 1 more "
                        "deployment(s); stop it first",
                        me, when));
  ASSERT_OK(registry_->end_deployment(*ref, "churn", me));
  ASSERT_OK(registry_->end_deployment(*ref, "churn-canary", me));
  EXPECT_TRUE(registry_->deployments()->empty());
  ASSERT_OK(registry_->delete_model("churn", alice()));
  EXPECT_EQ(registry_->record_deployment(*ref, "churn", me).message(), "registered model 'churn' not found");
  EXPECT_EQ(registry_->record_deployment({"x", 1, ""}, "x", 999999999).code(), ErrorCode::kNotFound);
}

TEST_F(RegistryTest, ConcurrentRegistrationsGetDistinctConsecutiveVersions) {
  auto bundle = registry_->version_from_bundle_file(kLinearBundle);
  ASSERT_TRUE(bundle.ok());
  constexpr int kThreads = 4;
  constexpr int kEach = 10;
  std::vector<std::vector<int64_t>> got(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Each writer has its own store handle (its own SQLite connection), as separate processes do.
      auto store = store::Store::open(root_);
      if (!store.ok()) {
        errors[t] = store.status().message();
        return;
      }
      Registry reg(**store);
      for (int i = 0; i < kEach; ++i) {
        NewVersion v = *bundle;
        v.name = "churn";
        auto created = reg.register_version(v, {fmt::format("writer-{}", t), "race"});
        if (!created.ok()) {
          errors[t] = created.status().message();
          return;
        }
        got[t].push_back(created->version);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<int64_t> all;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(errors[t], "");
    all.insert(all.end(), got[t].begin(), got[t].end());
  }
  std::sort(all.begin(), all.end());
  std::vector<int64_t> expected(kThreads * kEach);
  for (size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<int64_t>(i) + 1;
  EXPECT_EQ(all, expected);
  // One model was created, once.
  auto history = registry_->history("churn");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(std::count_if(history->begin(), history->end(), [](const AuditEntry& e) { return e.action == "create"; }),
            1);
  EXPECT_EQ(registry_->get_model("churn")->version_count, kThreads * kEach);
}

}  // namespace
}  // namespace slipway::registry
