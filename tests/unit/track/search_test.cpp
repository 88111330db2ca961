#include <cmath>
#include <set>

#include "track_test_util.h"

namespace slipway::track {
namespace {

class SearchTest : public TrackTest {
 protected:
  void SetUp() override {
    TrackTest::SetUp();
    // Six runs: model, lr, auc (missing for run 5), a tag; start times 1000..6000.
    const char* models[] = {"xgboost", "xgboost", "linear", "mlp", "xgboost", "linear"};
    const double aucs[] = {0.81, 0.93, 0.70, 0.88, 0, 0.75};
    for (int i = 0; i < 6; ++i) {
      CreateRunRequest request;
      request.run_name = fmt::format("run-{}", i);
      request.start_time_ms = 1000 * (i + 1);
      request.user = i % 2 ? "bo" : "ana";
      if (i == 2) request.tags["mlflow.note"] = "Fast Baseline";
      auto info = tracking_->create_run(request);
      ASSERT_TRUE(info.ok());
      ids_.push_back(info->run_id);
      LogBatch batch;
      batch.params = {{"model", models[i]}, {"lr", fmt::format("0.{}", i + 1)}};
      if (i != 4) batch.metrics = {{"auc", aucs[i] - 0.1, 1, 0}, {"auc", aucs[i], 2, 1}};
      batch.tags = {{"group", i < 3 ? "a" : "b"}};
      ASSERT_OK(tracking_->log_batch(info->run_id, batch));
    }
    UpdateRunRequest end;
    end.status = RunStatus::kFinished;
    ASSERT_TRUE(tracking_->update_run(ids_[1], end).ok());
  }

  // Run indexes (0..5) of a search, in result order.
  std::vector<int> search(const std::string& filter, std::vector<std::string> order_by = {}) {
    SearchRunsRequest request;
    request.filter = filter;
    request.order_by = std::move(order_by);
    auto page = tracking_->search_runs(request);
    EXPECT_TRUE(page.ok()) << filter << ": " << page.status().message();
    std::vector<int> out;
    if (!page.ok()) return out;
    for (const auto& run : page->runs) {
      out.push_back(int(std::find(ids_.begin(), ids_.end(), run.info.run_id) - ids_.begin()));
    }
    return out;
  }
  std::string error(const std::string& filter, std::vector<std::string> order_by = {}) {
    SearchRunsRequest request;
    request.filter = filter;
    request.order_by = std::move(order_by);
    auto page = tracking_->search_runs(request);
    EXPECT_FALSE(page.ok()) << filter;
    if (!page.ok()) {
      EXPECT_EQ(page.status().code(), ErrorCode::kInvalidArgument);
    }
    return page.ok() ? "" : page.status().message();
  }

  std::vector<std::string> ids_;
};

using V = std::vector<int>;

TEST_F(SearchTest, DefaultOrderIsNewestFirstWithDetails) {
  EXPECT_EQ(search(""), (V{5, 4, 3, 2, 1, 0}));
  SearchRunsRequest request;
  auto page = tracking_->search_runs(request);
  const track::Run& newest = page->runs[0];
  EXPECT_EQ(newest.params.at("model"), "linear");
  EXPECT_EQ(newest.tags.at("group"), "b");
  ASSERT_EQ(newest.latest_metrics.size(), 1u);
  EXPECT_DOUBLE_EQ(newest.latest_metrics[0].value, 0.75);
}

TEST_F(SearchTest, MetricParamTagAndAttributeFilters) {
  EXPECT_EQ(search("metrics.auc > 0.8"), (V{3, 1, 0}));
  EXPECT_EQ(search("metrics.auc >= 0.88 and params.model = 'xgboost'"), (V{1}));
  EXPECT_EQ(search("params.model != \"xgboost\""), (V{5, 3, 2}));
  EXPECT_EQ(search("params.model IN ('mlp', 'linear')"), (V{5, 3, 2}));
  EXPECT_EQ(search("params.model NOT IN ('mlp', 'linear')"), (V{4, 1, 0}));
  EXPECT_EQ(search("params.model LIKE 'xg%'"), (V{4, 1, 0}));
  EXPECT_EQ(search("params.model LIKE 'XG%'"), (V{}));  // LIKE is case-sensitive
  EXPECT_EQ(search("params.model ILIKE 'XG%'"), (V{4, 1, 0}));
  EXPECT_EQ(search("params.model LIKE 'l_near'"), (V{5, 2}));
  EXPECT_EQ(search("tags.`mlflow.note` LIKE '%Baseline'"), (V{2}));
  EXPECT_EQ(search("tags.\"mlflow.note\" = 'Fast Baseline'"), (V{2}));
  EXPECT_EQ(search("tags.group = 'a' AND metrics.auc < 0.9"), (V{2, 0}));
  EXPECT_EQ(search("attributes.status = 'FINISHED'"), (V{1}));
  EXPECT_EQ(search("attributes.run_name = 'run-3'"), (V{3}));
  EXPECT_EQ(search("run_name LIKE 'run-%' and attributes.start_time >= 5000"), (V{5, 4}));
  EXPECT_EQ(search("attributes.user_id = 'bo'"), (V{5, 3, 1}));
  EXPECT_EQ(search(fmt::format("attributes.run_id IN ('{}', '{}')", ids_[0], ids_[4])), (V{4, 0}));
  EXPECT_EQ(search("metrics.missing > 0"), (V{}));
  // Values travel as bound parameters: quotes in them are data, not SQL.
  EXPECT_EQ(search("params.model = 'x'' OR 1=1 --'"), (V{}));
}

TEST_F(SearchTest, OrderBy) {
  EXPECT_EQ(search("", {"metrics.auc DESC"}), (V{1, 3, 0, 5, 2, 4}));  // no value: last
  EXPECT_EQ(search("", {"metrics.auc"}), (V{2, 5, 0, 3, 1, 4}));
  EXPECT_EQ(search("", {"params.model ASC", "attributes.start_time DESC"}), (V{5, 2, 3, 4, 1, 0}));
  EXPECT_EQ(search("", {"start_time"}), (V{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(search("tags.group = 'b'", {"tags.group", "run_name DESC"}), (V{5, 4, 3}));
  EXPECT_EQ(error("", {"metrics.auc sideways"}),
            "order_by 'metrics.auc sideways': column 13: expected ASC or DESC after 'metrics.auc', got 'sideways'");
  EXPECT_EQ(error("", {"colour"}),
            "order_by 'colour': column 1: unknown attribute 'colour' (attributes: run_id, run_name, status, user_id, "
            "artifact_uri, start_time, end_time)");
}

TEST_F(SearchTest, FilterOnTheOrderedKeyTestsTheOrderedValue) {
  // The filter reuses order_by's join of the same key: the answers are those of the plain filter.
  EXPECT_EQ(search("metrics.auc > 0.7", {"metrics.auc DESC"}), (V{1, 3, 0, 5}));
  EXPECT_EQ(search("metrics.auc < 0.85", {"metrics.auc"}), (V{2, 5, 0}));
  EXPECT_EQ(search("metrics.auc != 0.7 and metrics.auc > 0", {"metrics.auc", "params.lr DESC"}), (V{5, 0, 3, 1}));
  EXPECT_EQ(search("params.model != 'mlp'", {"params.model DESC", "metrics.auc DESC"}), (V{1, 0, 4, 5, 2}));
  EXPECT_EQ(search("params.model IN ('mlp', 'linear')", {"params.model"}), (V{5, 2, 3}));
  EXPECT_EQ(search("tags.group = 'a'", {"tags.group DESC"}), (V{2, 1, 0}));
  // NaN is no value for a filter or an order: left out by the filter, last in an order.
  auto nan_run = new_run(0, "nan");
  ASSERT_OK(tracking_->log_metric(nan_run, {"auc", std::nan(""), 7, 0}));
  ids_.push_back(nan_run);
  EXPECT_EQ(search("metrics.auc > 0.7", {"metrics.auc DESC"}), (V{1, 3, 0, 5}));
  EXPECT_EQ(search("", {"metrics.auc DESC"}).back(), 4);
  // Errors keep the order of the request's fields: the filter's first.
  EXPECT_EQ(error("metrics.auc >", {"colour"}).substr(0, 17), "filter: column 14");
}

TEST_F(SearchTest, PagesVisitEveryRunOnceInOrder) {
  // Runs sharing a start time (as when created together) split pages inside one start time.
  for (int i = 0; i < 9; ++i) {
    CreateRunRequest request;
    request.start_time_ms = i < 7 ? 3000 : 500;
    auto info = tracking_->create_run(request);
    ASSERT_TRUE(info.ok());
    ASSERT_OK(tracking_->log_metric(info->run_id, {"auc", 0.05 * (i % 4), 1, 0}));
  }
  for (const auto& [filter, order_by] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"", {}}, {"metrics.auc >= 0.05", {"metrics.auc DESC"}}, {"", {"metrics.auc"}}, {"params.lr LIKE '0.%'", {}}}) {
    SearchRunsRequest all;
    all.filter = filter;
    all.order_by = order_by;
    auto whole = tracking_->search_runs(all);
    ASSERT_TRUE(whole.ok()) << whole.status().message();
    for (size_t size : {1, 2, 4}) {
      SearchRunsRequest request = all;
      request.max_results = size;
      std::vector<std::string> seen;
      while (true) {
        auto page = tracking_->search_runs(request);
        ASSERT_TRUE(page.ok()) << page.status().message();
        for (const auto& run : page->runs) seen.push_back(run.info.run_id);
        if (page->next_page_token.empty()) break;
        request.page_token = page->next_page_token;
      }
      std::vector<std::string> expected;
      for (const auto& run : whole->runs) expected.push_back(run.info.run_id);
      EXPECT_EQ(seen, expected) << "filter '" << filter << "', pages of " << size;
    }
  }
}

TEST_F(SearchTest, Pagination) {
  SearchRunsRequest request;
  request.max_results = 4;
  request.order_by = {"start_time"};
  auto first = tracking_->search_runs(request);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->runs.size(), 4u);
  ASSERT_FALSE(first->next_page_token.empty());
  request.page_token = first->next_page_token;
  auto second = tracking_->search_runs(request);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->runs.size(), 2u);
  EXPECT_EQ(second->runs[1].info.run_id, ids_[5]);
  EXPECT_TRUE(second->next_page_token.empty());
  request.page_token = "bm90IGpzb24=";  // "not json"
  EXPECT_EQ(tracking_->search_runs(request).status().message(), "invalid page_token 'bm90IGpzb24='");
  request.page_token.clear();
  request.max_results = 50001;
  EXPECT_EQ(tracking_->search_runs(request).status().message(), "max_results must be between 1 and 50000, got 50001");
}

TEST_F(SearchTest, ExperimentsAndLifecycle) {
  auto exp = tracking_->create_experiment("other");
  ASSERT_TRUE(exp.ok());
  std::string other = new_run(*exp);
  SearchRunsRequest request;
  request.experiment_ids = {*exp};
  auto page = tracking_->search_runs(request);
  ASSERT_EQ(page->runs.size(), 1u);
  EXPECT_EQ(page->runs[0].info.run_id, other);
  ASSERT_OK(tracking_->delete_run(ids_[0]));
  EXPECT_EQ(search(""), (V{6, 5, 4, 3, 2, 1}));  // 6: the run in "other" (not in ids_)
  request.experiment_ids = {0};
  request.view = SearchRunsRequest::ViewType::kDeletedOnly;
  page = tracking_->search_runs(request);
  ASSERT_EQ(page->runs.size(), 1u);
  EXPECT_EQ(page->runs[0].info.run_id, ids_[0]);
}

TEST_F(SearchTest, BadFiltersNameThePositionAndToken) {
  EXPECT_EQ(error("params.x = 'a' and metrics.auc foo"),
            "filter: column 32: expected an operator after 'metrics.auc', got 'foo'");
  EXPECT_EQ(error("metrics.auc > 'high'"), "filter: column 15: expected a number after 'metrics.auc >', got ''high''");
  EXPECT_EQ(error("params.lr = 0.1"), "filter: column 13: expected a quoted string after 'params.lr =', got '0.1'");
  EXPECT_EQ(error("params.lr > '0.1'"),
            "filter: column 11: operator '>' does not apply to 'params.lr' (a string: use = != LIKE ILIKE IN NOT IN)");
  EXPECT_EQ(error("metrics.auc LIKE '0.%'"),
            "filter: column 13: operator 'LIKE' does not apply to 'metrics.auc' (a number: use = != < <= > >=)");
  EXPECT_EQ(error("metrics.auc > 0.5 or metrics.auc < 0.1"),
            "filter: column 19: OR is not supported; a filter is comparisons joined by AND");
  EXPECT_EQ(error("metrics.auc > 0.5 metrics.loss < 1"),
            "filter: column 19: expected AND after 'metrics.auc > 0.5', got 'metrics.loss'");
  EXPECT_EQ(error("colour.x = 'a'"),
            "filter: column 1: unknown column type 'colour' in 'colour.x' (expected metrics, params, tags or attributes)");
  EXPECT_EQ(error("attributes.colour = 'red'"),
            "filter: column 1: unknown attribute 'colour' (attributes: run_id, run_name, status, user_id, "
            "artifact_uri, start_time, end_time)");
  EXPECT_EQ(error("params.model = 'xgb"), "filter: column 16: unterminated string");
  EXPECT_EQ(error("params.model IN 'a'"), "filter: column 17: expected '(' after 'params.model IN', got ''a''");
  EXPECT_EQ(error("params.model IN ('a' 'b')"),
            "filter: column 22: expected ',' or ')' in the list after 'params.model IN ( 'a'', got ''b''");
  EXPECT_EQ(error("params.model NOT LIKE 'a'"),
            "filter: column 18: expected IN after 'params.model NOT', got 'LIKE'");
  EXPECT_EQ(error("metrics.auc >"), "filter: column 14: expected a number after 'metrics.auc >', got 'end of filter'");
  EXPECT_EQ(error("= 3"),
            "filter: column 1: expected a column like metrics.auc, params.lr, tags.\"name\" or attributes.status, got '='");
  EXPECT_EQ(error("metrics.auc > 0.5 and"),
            "filter: column 22: expected a column like metrics.auc, params.lr, tags.\"name\" or attributes.status, got "
            "'end of filter'");
  EXPECT_EQ(error("metrics.auc ; drop"), "filter: column 13: unexpected character ';'");
}

}  // namespace
}  // namespace slipway::track
