// Scale measurements (DISABLED_: run by hand with --gtest_also_run_disabled_tests; they print
// times and assert only counts — timings belong in bench/, never in tests).
#include <chrono>
#include <cstdio>

#include "track_test_util.h"

namespace slipway::track {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST_F(TrackTest, DISABLED_ScaleMetricPointsAndRuns) {
  std::string run = new_run();
  auto t0 = std::chrono::steady_clock::now();
  for (int b = 0; b < 100; ++b) {
    LogBatch batch;
    for (int i = 0; i < 1000; ++i) {
      const int64_t step = b * 1000 + i;
      batch.metrics.push_back({i % 2 ? "loss" : "auc", double(step) * 1e-5, 1700000000000 + step, step});
    }
    ASSERT_OK(tracking_->log_batch(run, batch));
  }
  double log_s = seconds_since(t0);
  std::printf("log 100,000 points in 1000-point batches: %.3f s (%.0f points/s)\n", log_s, 100000 / log_s);
  t0 = std::chrono::steady_clock::now();
  auto history = tracking_->metric_history(run, "loss");
  std::printf("metric_history of 50,000 points: %.3f s\n", seconds_since(t0));
  ASSERT_EQ(history->size(), 50000u);
  t0 = std::chrono::steady_clock::now();
  auto got = tracking_->get_run(run);
  std::printf("get_run of that run: %.4f s\n", seconds_since(t0));

  auto exp = tracking_->create_experiment("many");
  ASSERT_TRUE(exp.ok());
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 10000; ++i) {
    CreateRunRequest request;
    request.experiment_id = *exp;
    auto info = tracking_->create_run(request);
    ASSERT_TRUE(info.ok());
    LogBatch batch;
    batch.params = {{"model", i % 3 ? "xgboost" : "linear"}, {"lr", std::to_string(i % 10)}};
    batch.metrics = {{"auc", (i % 1000) / 1000.0, 1, 0}, {"loss", 1.0 - (i % 1000) / 1000.0, 1, 0}};
    ASSERT_OK(tracking_->log_batch(info->run_id, batch));
  }
  std::printf("create 10,000 runs (+2 params, 2 metrics each): %.3f s\n", seconds_since(t0));
  SearchRunsRequest request;
  request.experiment_ids = {*exp};
  request.filter = "metrics.auc > 0.5 and params.model = 'xgboost'";
  request.order_by = {"metrics.auc DESC"};
  request.max_results = 100;
  t0 = std::chrono::steady_clock::now();
  auto page = tracking_->search_runs(request);
  std::printf("search 10,000 runs, filter + order_by, first 100: %.4f s\n", seconds_since(t0));
  ASSERT_EQ(page->runs.size(), 100u);
  request.max_results = 50000;
  t0 = std::chrono::steady_clock::now();
  page = tracking_->search_runs(request);
  std::printf("search 10,000 runs, filter + order_by, all %zu matches with details: %.4f s\n", page->runs.size(),
              seconds_since(t0));
  request.filter.clear();
  request.order_by.clear();
  request.max_results = 1000;
  t0 = std::chrono::steady_clock::now();
  page = tracking_->search_runs(request);
  std::printf("list newest 1,000 of 10,000 runs: %.4f s\n", seconds_since(t0));
  t0 = std::chrono::steady_clock::now();
  request.max_results = 50000;
  page = tracking_->search_runs(request);
  std::printf("list all 10,000 runs with details: %.4f s\n", seconds_since(t0));
  t0 = std::chrono::steady_clock::now();
  auto reaped = tracking_->reap_dead_runs(0, kDefaultStaleAfterMs);
  std::printf("reap check over 10,001 running runs: %.4f s\n", seconds_since(t0));
}

}  // namespace
}  // namespace slipway::track
