// Many writers at once (processes and threads, each with its own store handle) lose and duplicate
// nothing; runs whose process died are reaped.
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "track_test_util.h"

namespace slipway::track {
namespace {

constexpr int kBatches = 20;
constexpr int kPointsPerBatch = 250;

// Logs kBatches batches to `shared` (steps unique to `writer`) and its own run; 0 on success.
int write_from(const std::filesystem::path& root, const std::string& shared, int writer) {
  auto store = store::Store::open(root);
  if (!store.ok()) return 1;
  Tracking tracking(**store);
  CreateRunRequest request;
  request.run_name = fmt::format("writer-{}", writer);
  auto own = tracking.create_run(request);
  if (!own.ok()) return 2;
  for (int b = 0; b < kBatches; ++b) {
    LogBatch batch;
    for (int i = 0; i < kPointsPerBatch; ++i) {
      const int64_t step = (int64_t(writer) * kBatches + b) * kPointsPerBatch + i;
      batch.metrics.push_back({"loss", double(step), 1000, step});
    }
    batch.params = {{fmt::format("w{}", writer), "1"}, {"shared", "same"}};
    batch.tags = {{"last_writer", std::to_string(writer)}};
    if (!tracking.log_batch(shared, batch).ok()) return 3;
    if (!tracking.log_batch(own->run_id, batch).ok()) return 4;
  }
  return 0;
}

TEST_F(TrackTest, ConcurrentProcessesLoseAndDuplicateNothing) {
  const std::string shared = new_run();
  constexpr int kWriters = 4;
  std::vector<pid_t> children;
  for (int w = 0; w < kWriters; ++w) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) ::_exit(write_from(root_, shared, w));
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  auto history = tracking_->metric_history(shared, "loss");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), size_t(kWriters * kBatches * kPointsPerBatch));
  for (size_t i = 0; i < history->size(); ++i) ASSERT_EQ((*history)[i].step, int64_t(i));
  auto run = tracking_->get_run(shared);
  EXPECT_EQ(run->params.size(), size_t(kWriters + 1));
  EXPECT_EQ(run->latest_metrics[0].step, int64_t(kWriters * kBatches * kPointsPerBatch - 1));
  SearchRunsRequest request;
  request.filter = "run_name LIKE 'writer-%'";
  auto page = tracking_->search_runs(request);
  ASSERT_EQ(page->runs.size(), size_t(kWriters));
  for (const auto& r : page->runs) {
    EXPECT_EQ(tracking_->metric_history(r.info.run_id, "loss")->size(), size_t(kBatches * kPointsPerBatch));
  }
}

TEST_F(TrackTest, ConcurrentThreadsWithTheirOwnHandles) {
  const std::string shared = new_run();
  constexpr int kWriters = 3;
  std::vector<int> results(kWriters, -1);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] { results[w] = write_from(root_, shared, w); });
  }
  for (auto& t : threads) t.join();
  for (int r : results) EXPECT_EQ(r, 0);
  EXPECT_EQ(tracking_->metric_history(shared, "loss")->size(), size_t(kWriters * kBatches * kPointsPerBatch));
}

TEST_F(TrackTest, ReapsRunsWhoseProcessDied) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto store = store::Store::open(root_);
    if (!store.ok()) ::_exit(1);
    Tracking tracking(**store);
    CreateRunRequest request;
    request.owner = Tracking::current_process();
    auto info = tracking.create_run(request);
    if (!info.ok()) ::_exit(2);
    ssize_t n = ::write(fds[1], info->run_id.data(), info->run_id.size());
    ::_exit(n == 32 ? 0 : 3);  // exits without ending the run, like a crash
  }
  ::close(fds[1]);
  char buf[32];
  ASSERT_EQ(::read(fds[0], buf, 32), 32);
  ::close(fds[0]);
  const std::string dead(buf, 32);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_EQ(WEXITSTATUS(status), 0);

  // Alive: this process owns a run; a reused pid (same pid, other start time) counts as dead.
  CreateRunRequest mine;
  mine.owner = Tracking::current_process();
  EXPECT_GT(mine.owner->process_start_ticks, 0);
  const std::string alive = tracking_->create_run(mine)->run_id;
  mine.owner->process_start_ticks += 1;
  const std::string reused = tracking_->create_run(mine)->run_id;
  const std::string ownerless = new_run();

  const int64_t now = tracking_->get_run(ownerless)->info.last_write_ms + 1000;
  auto reaped = tracking_->reap_dead_runs(now, kDefaultStaleAfterMs);
  ASSERT_TRUE(reaped.ok()) << reaped.status().message();
  EXPECT_EQ(*reaped, 2u);
  auto d = tracking_->get_run(dead);
  EXPECT_EQ(d->info.status, RunStatus::kFailed);
  EXPECT_EQ(d->info.end_time_ms, now);
  const RunOwner me = Tracking::current_process();
  EXPECT_EQ(d->tags.at("slipway.failure"),
            fmt::format("its process {} on {} ended without ending the run", pid, me.host));
  EXPECT_EQ(tracking_->get_run(reused)->info.status, RunStatus::kFailed);
  EXPECT_EQ(tracking_->get_run(alive)->info.status, RunStatus::kRunning);
  EXPECT_EQ(tracking_->get_run(ownerless)->info.status, RunStatus::kRunning);

  // Ownerless runs fail once stale; finished runs are never touched.
  UpdateRunRequest end;
  end.status = RunStatus::kFinished;
  ASSERT_TRUE(tracking_->update_run(alive, end).ok());
  reaped = tracking_->reap_dead_runs(now + 3 * 3600 * 1000, 3600 * 1000);
  ASSERT_TRUE(reaped.ok());
  EXPECT_EQ(*reaped, 1u);
  auto o = tracking_->get_run(ownerless);
  EXPECT_EQ(o->info.status, RunStatus::kFailed);
  EXPECT_EQ(o->tags.at("slipway.failure"), "no write for 3h (the run has no owner process to check)");
  EXPECT_EQ(tracking_->get_run(alive)->info.status, RunStatus::kFinished);
  EXPECT_EQ(*tracking_->reap_dead_runs(now, kDefaultStaleAfterMs), 0u);
}

}  // namespace
}  // namespace slipway::track

namespace slipway::track {
namespace {

TEST(ProcessOwner, NamesALiveProcessAndRefusesAMissingOne) {
  auto me = Tracking::process_owner(::getpid());
  ASSERT_TRUE(me.ok()) << me.status().message();
  EXPECT_EQ(me->pid, ::getpid());
  EXPECT_EQ(me->process_start_ticks, Tracking::current_process().process_start_ticks);
  EXPECT_EQ(Tracking::process_owner(999999999).status().message(), "no process 999999999 on this host");
}

}  // namespace
}  // namespace slipway::track
