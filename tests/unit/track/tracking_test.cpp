#include <cmath>
#include <regex>

#include "track_test_util.h"

namespace slipway::track {
namespace {

TEST_F(TrackTest, DefaultExperimentExistsWithTheTables) {
  auto e = tracking_->get_experiment(0);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->name, "Default");
  EXPECT_EQ(e->artifact_location, "mlflow-artifacts:/0");
  EXPECT_EQ(e->lifecycle, Lifecycle::kActive);
  EXPECT_GT(e->creation_time_ms, 1600000000000);
}

TEST_F(TrackTest, ExperimentsCreateGetListRenameDelete) {
  auto id = tracking_->create_experiment("churn", {{"team", "growth"}});
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(*id, 1);
  auto again = tracking_->create_experiment("churn");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(again.status().message(), "experiment 'churn' already exists");
  auto e = tracking_->get_experiment_by_name("churn");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->tags.at("team"), "growth");
  EXPECT_EQ(e->artifact_location, "mlflow-artifacts:/1");
  EXPECT_EQ(tracking_->get_experiment_by_name("nope").status().message(), "experiment 'nope' not found");
  EXPECT_EQ(tracking_->get_experiment(42).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(tracking_->create_experiment("  ").status().message(), "experiment name must not be empty");

  ASSERT_OK(tracking_->rename_experiment(*id, "churn-v2"));
  ASSERT_OK(tracking_->set_experiment_tag(*id, "owner", "ana"));
  std::string run = new_run(*id);
  ASSERT_OK(tracking_->delete_experiment(*id));
  EXPECT_EQ(tracking_->get_run(run)->info.lifecycle, Lifecycle::kDeleted);
  auto active = tracking_->list_experiments(SearchRunsRequest::ViewType::kActiveOnly);
  ASSERT_TRUE(active.ok());
  ASSERT_EQ(active->size(), 1u);
  auto all = tracking_->list_experiments(SearchRunsRequest::ViewType::kAll);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].name, "churn-v2");
  EXPECT_EQ((*all)[1].tags.at("owner"), "ana");
  // A deleted experiment's name stays taken; runs cannot be created in it.
  EXPECT_EQ(tracking_->create_experiment("churn-v2").status().message(),
            "experiment 'churn-v2' already exists (deleted; restore it or choose another name)");
  CreateRunRequest request;
  request.experiment_id = *id;
  EXPECT_EQ(tracking_->create_run(request).status().message(),
            "experiment 'churn-v2' (id 1) is deleted; restore it first");
  ASSERT_OK(tracking_->restore_experiment(*id));
  EXPECT_EQ(tracking_->get_run(run)->info.lifecycle, Lifecycle::kActive);
  EXPECT_EQ(tracking_->delete_experiment(0).message(), "the Default experiment (id 0) cannot be deleted");
}

TEST_F(TrackTest, CreateRunFillsIdNameUriAndTags) {
  CreateRunRequest request;
  request.user = "ana";
  request.tags = {{"team", "growth"}};
  auto info = tracking_->create_run(request);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_TRUE(std::regex_match(info->run_id, std::regex("[0-9a-f]{32}"))) << info->run_id;
  EXPECT_TRUE(std::regex_match(info->run_name, std::regex("[a-z]+-[a-z]+-[0-9]{3}"))) << info->run_name;
  EXPECT_EQ(info->artifact_uri, "mlflow-artifacts:/0/" + info->run_id + "/artifacts");
  EXPECT_EQ(info->status, RunStatus::kRunning);
  EXPECT_GT(info->start_time_ms, 0);
  auto run = tracking_->get_run(info->run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->info.user, "ana");
  EXPECT_EQ(run->tags.at("mlflow.runName"), info->run_name);
  EXPECT_EQ(run->tags.at("team"), "growth");
  EXPECT_NE(new_run(), new_run());  // random ids

  // The name may come from the mlflow.runName tag; the parent from mlflow.parentRunId.
  CreateRunRequest child;
  child.tags = {{"mlflow.runName", "trial-1"}, {"mlflow.parentRunId", info->run_id}};
  auto c = tracking_->create_run(child);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->run_name, "trial-1");
  EXPECT_EQ(c->parent_run_id, info->run_id);
  child.tags.clear();
  child.parent_run_id = std::string(32, 'a');
  EXPECT_EQ(tracking_->create_run(child).status().message(), "parent run '" + std::string(32, 'a') + "' not found");
  EXPECT_EQ(tracking_->get_run("nope").status().message(), "run 'nope' not found");
}

TEST_F(TrackTest, ParamsAreImmutable) {
  std::string run = new_run();
  ASSERT_OK(tracking_->log_param(run, "lr", "0.1"));
  ASSERT_OK(tracking_->log_param(run, "lr", "0.1"));  // the same value again is fine
  Status st = tracking_->log_param(run, "lr", "0.2");
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "param 'lr' of run " + run + " was already logged with value '0.1'; params are immutable");
  // The failing batch wrote nothing, not even its other values.
  LogBatch batch;
  batch.params = {{"depth", "6"}, {"lr", "0.3"}};
  batch.metrics = {{"auc", 0.5, 1, 0}};
  EXPECT_FALSE(tracking_->log_batch(run, batch).ok());
  auto r = tracking_->get_run(run);
  EXPECT_EQ(r->params.size(), 1u);
  EXPECT_TRUE(r->latest_metrics.empty());
  batch.params = {{"depth", "6"}, {"depth", "7"}};
  batch.metrics.clear();
  EXPECT_EQ(tracking_->log_batch(run, batch).message(),
            "param 'depth' appears twice in the batch with different values ('6' and '7')");
  EXPECT_EQ(tracking_->log_param(run, "big", std::string(6001, 'x')).message(),
            "value of param 'big' is 6001 bytes; the limit is 6000");
}

TEST_F(TrackTest, MetricsAppendDedupeAndKeepLatest) {
  std::string run = new_run();
  LogBatch batch;
  for (int step = 0; step < 10; ++step) batch.metrics.push_back({"loss", 1.0 / (step + 1), 1000 + step, step});
  batch.metrics.push_back({"loss", 1.0, 1000, 0});  // identical to the first point: kept once
  ASSERT_OK(tracking_->log_batch(run, batch));
  ASSERT_OK(tracking_->log_batch(run, batch));  // logged again: nothing new
  ASSERT_OK(tracking_->log_metric(run, {"loss", 7.0, 5, 3}));  // an older step: history grows, latest stays
  auto history = tracking_->metric_history(run, "loss");
  ASSERT_TRUE(history.ok()) << history.status().message();
  ASSERT_EQ(history->size(), 11u);
  EXPECT_EQ((*history)[0].step, 0);
  EXPECT_EQ((*history)[3].step, 3);
  EXPECT_EQ((*history)[3].timestamp_ms, 5);  // ordered by step, then timestamp
  EXPECT_EQ((*history)[3].value, 7.0);
  auto r = tracking_->get_run(run);
  ASSERT_EQ(r->latest_metrics.size(), 1u);
  EXPECT_EQ(r->latest_metrics[0].step, 9);
  EXPECT_DOUBLE_EQ(r->latest_metrics[0].value, 0.1);

  // Same step, later timestamp wins; NaN and infinities round-trip.
  ASSERT_OK(tracking_->log_metric(run, {"loss", 0.05, 2000, 9}));
  ASSERT_OK(tracking_->log_metric(run, {"odd", std::nan(""), 1, 0}));
  ASSERT_OK(tracking_->log_metric(run, {"odd", INFINITY, 1, 1}));
  r = tracking_->get_run(run);
  EXPECT_DOUBLE_EQ(r->latest_metrics[0].value, 0.05);
  EXPECT_TRUE(std::isinf(r->latest_metrics[1].value));
  auto odd = tracking_->metric_history(run, "odd");
  EXPECT_TRUE(std::isnan((*odd)[0].value));
  EXPECT_TRUE(tracking_->metric_history(run, "missing")->empty());
  EXPECT_EQ(tracking_->metric_history("nope", "loss").status().code(), ErrorCode::kNotFound);
}

TEST_F(TrackTest, MetricHistoryPages) {
  std::string run = new_run();
  LogBatch batch;
  for (int step = 0; step < 25; ++step) batch.metrics.push_back({"x", double(step), 0, step});
  ASSERT_OK(tracking_->log_batch(run, batch));
  MetricHistoryRequest request{run, "x", 10, ""};
  std::vector<int64_t> steps;
  for (int page = 0; page < 5; ++page) {
    auto p = tracking_->metric_history_page(request);
    ASSERT_TRUE(p.ok()) << p.status().message();
    for (const auto& point : p->points) steps.push_back(point.step);
    if (p->next_page_token.empty()) break;
    request.page_token = p->next_page_token;
  }
  ASSERT_EQ(steps.size(), 25u);
  EXPECT_EQ(steps.back(), 24);
  request.page_token = "garbage!";
  EXPECT_EQ(tracking_->metric_history_page(request).status().message(), "invalid page_token 'garbage!'");
}

TEST_F(TrackTest, TagsOverwriteAndRenameTheRun) {
  std::string run = new_run();
  ASSERT_OK(tracking_->set_tag(run, "note", "a"));
  ASSERT_OK(tracking_->set_tag(run, "note", "b"));
  ASSERT_OK(tracking_->set_tag(run, "mlflow.runName", "renamed"));
  auto r = tracking_->get_run(run);
  EXPECT_EQ(r->tags.at("note"), "b");
  EXPECT_EQ(r->info.run_name, "renamed");
  ASSERT_OK(tracking_->delete_tag(run, "note"));
  EXPECT_EQ(tracking_->delete_tag(run, "note").message(), "run " + run + " has no tag 'note'");
  EXPECT_EQ(tracking_->set_tag(run, "t", std::string(8001, 'v')).message(),
            "value of tag 't' is 8001 bytes; the limit is 8000");
}

TEST_F(TrackTest, KeysAreValidated) {
  std::string run = new_run();
  EXPECT_EQ(tracking_->log_metric(run, {"a$b", 1, 0, 0}).message(),
            "invalid metric key 'a$b': keys may contain only letters, digits, '_', '-', '.', ' ' and '/'");
  EXPECT_EQ(tracking_->log_param(run, "", "1").message(), "param key must not be empty");
  EXPECT_EQ(tracking_->set_tag(run, "a/../b", "1").message(),
            "invalid tag key 'a/../b': keys must not contain empty, '.' or '..' path parts");
  EXPECT_EQ(tracking_->log_metric(run, {"/abs", 1, 0, 0}).message(),
            "invalid metric key '/abs': keys must not start with '/'");
  std::string long_key(251, 'k');
  EXPECT_EQ(tracking_->log_metric(run, {long_key, 1, 0, 0}).message(),
            "metric key '" + std::string(32, 'k') + "...' is 251 bytes; the limit is 250");
  ASSERT_OK(tracking_->log_metric(run, {"eval/auc score-1.v2", 1, 0, 0}));
}

TEST_F(TrackTest, BatchLimits) {
  std::string run = new_run();
  LogBatch batch;
  batch.metrics.assign(1001, MetricPoint{"m", 1, 0, 0});
  EXPECT_EQ(tracking_->log_batch(run, batch).message(), "a log batch may hold at most 1000 metrics; got 1001");
  batch.metrics.clear();
  for (int i = 0; i < 101; ++i) batch.params.emplace_back(fmt::format("p{}", i), "v");
  EXPECT_EQ(tracking_->log_batch(run, batch).message(), "a log batch may hold at most 100 params; got 101");
  batch.params.clear();
  for (int i = 0; i < 101; ++i) batch.tags.emplace_back(fmt::format("t{}", i), "v");
  EXPECT_EQ(tracking_->log_batch(run, batch).message(), "a log batch may hold at most 100 tags; got 101");
  batch.tags.resize(100);
  batch.metrics.assign(901, MetricPoint{"m", 1, 0, 0});
  EXPECT_EQ(tracking_->log_batch(run, batch).message(),
            "a log batch may hold at most 1000 metrics, params and tags together; got 1001");
  batch.metrics.resize(900);
  ASSERT_OK(tracking_->log_batch(run, batch));
  // A full batch of distinct points, not a multiple of the insert block size.
  batch = {};
  for (int i = 0; i < 999; ++i) batch.metrics.push_back({fmt::format("k{}", i % 7), double(i), i, i});
  ASSERT_OK(tracking_->log_batch(run, batch));
  EXPECT_EQ(tracking_->metric_history(run, "k3")->size(), 143u);
}

TEST_F(TrackTest, FinishedAndDeletedRuns) {
  std::string run = new_run();
  UpdateRunRequest end;
  end.status = RunStatus::kFinished;
  auto info = tracking_->update_run(run, end);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->status, RunStatus::kFinished);
  ASSERT_TRUE(info->end_time_ms.has_value());
  ASSERT_OK(tracking_->log_metric(run, {"m", 1, 0, 0}));  // MLflow: only deleted runs refuse writes
  ASSERT_OK(tracking_->set_tag(run, "verdict", "good"));
  ASSERT_OK(tracking_->delete_run(run));
  EXPECT_EQ(tracking_->set_tag(run, "x", "y").message(), "run '" + run + "' is deleted; restore it before writing to it");
  ASSERT_OK(tracking_->restore_run(run));
  ASSERT_OK(tracking_->set_tag(run, "x", "y"));
  ASSERT_OK(tracking_->purge_run(run));
  EXPECT_EQ(tracking_->get_run(run).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(parse_run_status("DONE").status().message(),
            "unknown run status 'DONE' (expected RUNNING, SCHEDULED, FINISHED, FAILED or KILLED)");
}

TEST_F(TrackTest, InputsAndOutputModel) {
  std::string run = new_run();
  ASSERT_OK(tracking_->log_inputs(run, {{"flights", std::string(64, 'a'), "training"},
                                        {"weather", std::string(64, 'b'), "join"}}));
  ASSERT_OK(tracking_->log_inputs(run, {{"flights", std::string(64, 'a'), "training"}}));  // kept once
  ASSERT_OK(tracking_->set_output_model(run, std::string(64, 'c')));
  EXPECT_EQ(tracking_->set_output_model(run, "xyz").message(),
            "output model 'xyz' is not an object id (64 lowercase hex characters)");
  auto r = tracking_->get_run(run);
  ASSERT_EQ(r->inputs.size(), 2u);
  EXPECT_EQ(r->inputs[0].dataset, "flights");
  EXPECT_EQ(r->inputs[1].context, "join");
  EXPECT_EQ(r->output_model, std::string(64, 'c'));
}

TEST_F(TrackTest, ResolveRunPrefix) {
  std::string run = new_run();
  EXPECT_EQ(*tracking_->resolve_run_prefix(run.substr(0, 6)), run);
  EXPECT_EQ(*tracking_->resolve_run_prefix(run), run);
  EXPECT_EQ(tracking_->resolve_run_prefix(run.substr(0, 5)).status().message(),
            "run id prefix '" + run.substr(0, 5) + "' is too short; give at least 6 characters");
  EXPECT_EQ(tracking_->resolve_run_prefix("XYZ").status().message(), "'XYZ' is not a run id: run ids are lowercase hex");
  std::string other = run[0] == '0' ? "ffffff" : "000000";
  EXPECT_EQ(tracking_->resolve_run_prefix(other).status().message(), "no run id starts with '" + other + "'");
  // Two runs sharing a prefix (inserted directly: random ids rarely collide).
  for (const char* id : {"abcdef01000000000000000000000000", "abcdef02000000000000000000000000"}) {
    ASSERT_OK(store_->db().exec(fmt::format(
        "INSERT INTO runs (run_id, experiment_id, name, user, status, start_time, lifecycle, artifact_uri, last_write) "
        "VALUES ('{}', 0, 'x', '', 'RUNNING', 1, 'active', '', 1)",
        id)));
  }
  auto amb = tracking_->resolve_run_prefix("abcdef");
  ASSERT_FALSE(amb.ok());
  EXPECT_TRUE(amb.status().message().starts_with("run id prefix 'abcdef' is ambiguous: it matches abcdef01"))
      << amb.status().message();
}

}  // namespace
}  // namespace slipway::track
