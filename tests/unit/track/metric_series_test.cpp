// Metric series (migration 5): points keyed by an integer series, keyset history pages, grouped
// log batches, keyset search pages, and a store written before migration 5 read after it.
#include <cmath>
#include <set>

#include "slipway/store/database.h"
#include "track_test_util.h"

namespace slipway::track {
namespace {

TEST_F(TrackTest, HistoryPagesCutBetweenEqualStepsAndOddValues) {
  std::string run = new_run();
  LogBatch batch;
  // Several points per step (timestamps and values differ), NaN and infinities among them.
  for (int step = 0; step < 10; ++step) {
    batch.metrics.push_back({"x", double(step), 100, step});
    batch.metrics.push_back({"x", double(step) + 0.5, 100, step});
    batch.metrics.push_back({"x", std::nan(""), 200, step});
    batch.metrics.push_back({"x", step % 2 ? INFINITY : -INFINITY, 300, step});
  }
  batch.metrics.push_back({"x", 0.0, 100, 0});  // an identical point: kept once
  ASSERT_OK(tracking_->log_batch(run, batch));
  auto all = tracking_->metric_history(run, "x");
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 40u);
  for (size_t page_size : {1u, 3u, 7u, 40u, 41u}) {
    MetricHistoryRequest request{run, "x", page_size, ""};
    std::vector<MetricPoint> got;
    for (int page = 0; page < 100; ++page) {
      auto p = tracking_->metric_history_page(request);
      ASSERT_TRUE(p.ok()) << p.status().message();
      EXPECT_LE(p->points.size(), page_size);
      got.insert(got.end(), p->points.begin(), p->points.end());
      if (p->next_page_token.empty()) break;
      request.page_token = p->next_page_token;
    }
    ASSERT_EQ(got.size(), all->size()) << "pages of " << page_size;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].step, (*all)[i].step);
      EXPECT_EQ(got[i].timestamp_ms, (*all)[i].timestamp_ms);
      EXPECT_EQ(std::isnan(got[i].value), std::isnan((*all)[i].value));
      if (!std::isnan(got[i].value)) {
        EXPECT_EQ(got[i].value, (*all)[i].value);
      }
    }
  }
  MetricHistoryRequest request{run, "x", 5, "aGlzdG9yeToxMA=="};  // "history:10", the old offset form
  EXPECT_EQ(tracking_->metric_history_page(request).status().message(), "invalid page_token 'aGlzdG9yeToxMA=='");
}

TEST_F(TrackTest, GroupedBatchesFailAlone) {
  std::string a = new_run(), b = new_run();
  ASSERT_OK(tracking_->log_param(b, "lr", "0.1"));
  LogBatch good, conflicting, too_long;
  good.metrics.push_back({"loss", 1.0, 10, 0});
  good.params.emplace_back("depth", "3");
  conflicting.metrics.push_back({"loss", 2.0, 10, 0});
  conflicting.params.emplace_back("lr", "0.2");  // lr is already 0.1: the whole batch is refused
  too_long.metrics.push_back({std::string(300, 'k'), 1.0, 10, 0});
  const std::string missing = "0123456789abcdef0123456789abcdef";
  std::vector<Tracking::BatchToLog> batches = {{&a, &good}, {&b, &conflicting}, {&a, &too_long}, {&missing, &good}};
  std::vector<Status> results;
  ASSERT_OK(tracking_->log_batches(batches, results));
  ASSERT_EQ(results.size(), 4u);
  EXPECT_TRUE(results[0].ok()) << results[0].message();
  EXPECT_EQ(results[1].message(), tracking_->log_batch(b, conflicting).message());
  EXPECT_EQ(results[2].message(), tracking_->log_batch(a, too_long).message());
  EXPECT_EQ(results[3].code(), ErrorCode::kNotFound);
  EXPECT_EQ(tracking_->metric_history(a, "loss")->size(), 1u);
  EXPECT_TRUE(tracking_->metric_history(b, "loss")->empty());
  auto run_b = tracking_->get_run(b);
  EXPECT_EQ(run_b->params.at("lr"), "0.1");
  EXPECT_TRUE(run_b->latest_metrics.empty());
  EXPECT_EQ(tracking_->get_run(a)->params.at("depth"), "3");
}

TEST_F(TrackTest, PurgeDeletesTheRunsPoints) {
  std::string keep = new_run(), gone = new_run();
  LogBatch batch;
  for (int step = 0; step < 50; ++step) batch.metrics.push_back({"loss", 1.0 / (step + 1), step, step});
  ASSERT_OK(tracking_->log_batch(keep, batch));
  ASSERT_OK(tracking_->log_batch(gone, batch));
  ASSERT_OK(tracking_->purge_run(gone));
  auto count = store_->db().prepare("SELECT count(*) FROM metric_points");
  ASSERT_TRUE(count.ok());
  ASSERT_TRUE(*count->step());
  EXPECT_EQ(count->column_int64(0), 50);
  EXPECT_EQ(tracking_->metric_history(keep, "loss")->size(), 50u);
}

TEST_F(TrackTest, SearchPagesInDefaultOrderResumeAfterTheLastRun) {
  std::set<std::string> created;
  for (int i = 0; i < 23; ++i) {
    CreateRunRequest request;
    request.start_time_ms = 1000 + i % 3;  // ties on start_time: run_id decides
    auto info = tracking_->create_run(request);
    ASSERT_TRUE(info.ok());
    created.insert(info->run_id);
  }
  SearchRunsRequest request;
  request.max_results = 4;
  std::vector<std::string> seen;
  for (int page = 0; page < 20; ++page) {
    auto p = tracking_->search_runs(request);
    ASSERT_TRUE(p.ok()) << p.status().message();
    for (const auto& run : p->runs) seen.push_back(run.info.run_id);
    if (p->next_page_token.empty()) break;
    request.page_token = p->next_page_token;
  }
  ASSERT_EQ(seen.size(), 23u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), created);
  request.max_results = 1000;
  request.page_token.clear();
  auto one = tracking_->search_runs(request);
  ASSERT_TRUE(one.ok());
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(one->runs[i].info.run_id, seen[i]);
}

// A store whose points were written before migration 5 (metrics keyed by run id and key text)
// keeps every point, its latest values and its dedup after the migration.
TEST_F(TrackTest, MigrationFiveKeepsEveryPoint) {
  std::string run = new_run();
  ASSERT_OK(tracking_->log_param(run, "lr", "0.1"));
  tracking_.reset();
  {
    auto& db = store_->db();
    ASSERT_OK(db.exec(R"sql(
      DROP TABLE metric_points;
      DROP TABLE latest_metrics;
      CREATE TABLE metrics (
        run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        key TEXT NOT NULL, step INTEGER NOT NULL, timestamp INTEGER NOT NULL, value REAL NOT NULL,
        is_nan INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, key, step, timestamp, value, is_nan)) WITHOUT ROWID;
      CREATE TABLE latest_metrics (
        run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        key TEXT NOT NULL, value REAL NOT NULL, timestamp INTEGER NOT NULL, step INTEGER NOT NULL,
        is_nan INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, key)) WITHOUT ROWID;
      CREATE INDEX latest_metrics_by_value ON latest_metrics(key, value);
      PRAGMA user_version = 4;
    )sql"));
    auto insert = db.prepare("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)");
    ASSERT_TRUE(insert.ok());
    for (int step = 0; step < 30; ++step) {
      insert->bind(1, run).bind(2, "loss").bind(3, int64_t{step}).bind(4, int64_t{100 + step});
      insert->bind(5, 1.0 / (step + 1)).bind(6, int64_t{0});
      ASSERT_OK(insert->run());
    }
    // "acc" has points but (as a damaged store might) no latest row: the migration makes one.
    insert->bind(1, run).bind(2, "acc").bind(3, int64_t{4}).bind(4, int64_t{7}).bind(5, 0.9).bind(6, int64_t{0});
    ASSERT_OK(insert->run());
    auto latest = db.prepare("INSERT INTO latest_metrics VALUES (?, 'loss', ?, 129, 29, 0)");
    ASSERT_TRUE(latest.ok());
    latest->bind(1, run).bind(2, 1.0 / 30);
    ASSERT_OK(latest->run());
  }
  store_.reset();
  auto reopened = store::Store::open(root_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().message();
  store_ = std::move(*reopened);
  EXPECT_EQ(store_->schema_version(), store::current_schema_version());
  tracking_ = std::make_unique<Tracking>(*store_);
  auto history = tracking_->metric_history(run, "loss");
  ASSERT_TRUE(history.ok()) << history.status().message();
  ASSERT_EQ(history->size(), 30u);
  EXPECT_EQ((*history)[29].step, 29);
  auto r = tracking_->get_run(run);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->latest_metrics.size(), 2u);
  EXPECT_EQ(r->latest_metrics[0].key, "acc");
  EXPECT_EQ(r->latest_metrics[0].step, 4);
  EXPECT_EQ(r->params.at("lr"), "0.1");
  // Logging goes on into the migrated series; the identical point is still kept once.
  ASSERT_OK(tracking_->log_metric(run, {"loss", 1.0, 100, 0}));
  ASSERT_OK(tracking_->log_metric(run, {"loss", 0.01, 200, 30}));
  EXPECT_EQ(tracking_->metric_history(run, "loss")->size(), 31u);
  SearchRunsRequest search;
  search.filter = "metrics.loss < 0.02";
  auto found = tracking_->search_runs(search);
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found->runs.size(), 1u);
}

}  // namespace
}  // namespace slipway::track
