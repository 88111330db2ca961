// The alert state machine: inactive -> pending -> firing -> resolved, per rule and model; firings
// stored once (also across a restart); Prometheus output.
#include <fstream>
#include <sstream>

#include "alert_test_util.h"

namespace slipway::monitor {
namespace {

using testing::AlertStoreTest;
using testing::sample;
using testing::snapshot;

AlertState state_of(const AlertEngine& engine, const std::string& rule, const std::string& model) {
  for (const auto& s : engine.states()) {
    if (s.rule == rule && s.model == model) return s.state;
  }
  return AlertState::kInactive;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class AlertEngineTest : public AlertStoreTest {};

TEST_F(AlertEngineTest, FiresAfterNConsecutiveWindowsAndResolves) {
  auto e = engine("rules:\n  - name: drift\n    model: flights\n    when: drift_share > 0.3 for 3 windows\n");
  ASSERT_TRUE(e);
  auto high = snapshot({sample("drift_share", 0.5)});
  auto t = e->evaluate(high, 100);
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_EQ(t->size(), 1u);
  EXPECT_EQ((*t)[0].from, AlertState::kInactive);
  EXPECT_EQ((*t)[0].to, AlertState::kPending);
  t = e->evaluate(high, 200);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->empty());  // still pending
  EXPECT_EQ(state_of(*e, "drift", "flights"), AlertState::kPending);
  EXPECT_TRUE(firings().empty());

  t = e->evaluate(high, 300);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->size(), 1u);
  EXPECT_EQ((*t)[0].to, AlertState::kFiring);
  EXPECT_DOUBLE_EQ((*t)[0].value, 0.5);
  int64_t id = (*t)[0].firing_id;
  EXPECT_GT(id, 0);
  auto stored = firings();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].rule, "drift");
  EXPECT_EQ(stored[0].model, "flights");
  EXPECT_EQ(stored[0].state, "firing");
  EXPECT_EQ(stored[0].expression, "drift_share > 0.3 for 3 windows");
  EXPECT_EQ(stored[0].started_time, 300);
  EXPECT_FALSE(stored[0].resolved_time.has_value());
  // The evidence holds the three windows that made it fire.
  auto evidence = nlohmann::json::parse(stored[0].evidence);
  ASSERT_EQ(evidence["windows"].size(), 3u);
  EXPECT_EQ(evidence["windows"][0]["time_us"], 100);
  EXPECT_EQ(evidence["windows"][2]["time_us"], 300);
  EXPECT_EQ(evidence["windows"][2]["series"][0]["value"], 0.5);

  // Holding on: no new firing.
  t = e->evaluate(high, 400);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->empty());
  EXPECT_EQ(firings().size(), 1u);

  t = e->evaluate(snapshot({sample("drift_share", 0.1)}), 500);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->size(), 1u);
  EXPECT_EQ((*t)[0].from, AlertState::kFiring);
  EXPECT_EQ((*t)[0].to, AlertState::kInactive);
  EXPECT_EQ((*t)[0].firing_id, id);
  stored = firings();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].state, "resolved");
  EXPECT_EQ(stored[0].resolved_time, 500);
  // The event is recorded as the firing's first action.
  auto f = firing(id);
  ASSERT_EQ(f.actions.size(), 1u);
  EXPECT_EQ(f.actions[0].kind, "event");
  EXPECT_EQ(f.actions[0].status, "ok");
}

TEST_F(AlertEngineTest, ABreakInTheRunStartsTheCountAgain) {
  auto e = engine("rules:\n  - name: slow\n    when: p99_latency_ms > 5 for 2 windows\n");
  ASSERT_TRUE(e);
  auto high = snapshot({sample("p99_latency_ms", 9)});
  auto low = snapshot({sample("p99_latency_ms", 1)});
  ASSERT_TRUE(e->evaluate(high, 1).ok());
  auto t = e->evaluate(low, 2);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->size(), 1u);
  EXPECT_EQ((*t)[0].from, AlertState::kPending);
  EXPECT_EQ((*t)[0].to, AlertState::kInactive);
  ASSERT_TRUE(e->evaluate(high, 3).ok());
  EXPECT_EQ(state_of(*e, "slow", "flights"), AlertState::kPending);
  ASSERT_TRUE(e->evaluate(high, 4).ok());
  EXPECT_EQ(state_of(*e, "slow", "flights"), AlertState::kFiring);
}

TEST_F(AlertEngineTest, AMissingMetricNeitherHoldsNorBreaks) {
  auto e = engine("rules:\n  - name: auc\n    model: flights\n    when: auc < 0.8 for 2 windows\n");
  ASSERT_TRUE(e);
  auto low = snapshot({sample("auc", 0.7)});
  auto none = snapshot({sample("p99_latency_ms", 3)});
  ASSERT_TRUE(e->evaluate(low, 1).ok());
  auto t = e->evaluate(none, 2);  // no labels joined yet in this window
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->empty());
  EXPECT_EQ(state_of(*e, "auc", "flights"), AlertState::kPending);
  ASSERT_TRUE(e->evaluate(low, 3).ok());  // the second window that held
  EXPECT_EQ(state_of(*e, "auc", "flights"), AlertState::kFiring);
  ASSERT_TRUE(e->evaluate(none, 4).ok());
  EXPECT_EQ(state_of(*e, "auc", "flights"), AlertState::kFiring);  // not resolved by silence
  // Another model's series do not count for a rule pinned to flights.
  ASSERT_TRUE(e->evaluate(snapshot({sample("auc", 0.99, "weather")}), 5).ok());
  EXPECT_EQ(state_of(*e, "auc", "flights"), AlertState::kFiring);
}

TEST_F(AlertEngineTest, ALabelFilterFiresWhenAnyMatchingSeriesBreaks) {
  auto e = engine("rules:\n  - name: bad-carrier\n    when: error_rate{segment=carrier} > 0.2\n");
  ASSERT_TRUE(e);
  MetricSnapshot s = snapshot({sample("error_rate", 0.1, "flights", {{"segment", "carrier"}, {"value", "AA"}}),
                               sample("error_rate", 0.35, "flights", {{"segment", "carrier"}, {"value", "UA"}}),
                               sample("error_rate", 0.9, "flights", {{"segment", "origin"}, {"value", "JFK"}}),
                               sample("error_rate", 0.3, "flights")});
  s.extra = {{"window", "last 1000 predictions"}};
  s.extra_by_model["flights"] = {{"drift", {{"dep_delay", {{"test", "ks"}, {"p_value", 0.001}}}}}};
  auto t = e->evaluate(s, 10);
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_EQ(t->size(), 1u);
  EXPECT_EQ((*t)[0].to, AlertState::kFiring);
  EXPECT_DOUBLE_EQ((*t)[0].value, 0.35);
  auto f = firing((*t)[0].firing_id);
  EXPECT_EQ(f.value, 0.35);
  auto evidence = nlohmann::json::parse(f.evidence);
  auto series = evidence["windows"][0]["series"];
  ASSERT_EQ(series.size(), 2u);  // the origin segment and the unlabelled series do not match
  EXPECT_EQ(series[0]["labels"]["value"], "AA");
  EXPECT_EQ(series[0]["breaks"], false);
  EXPECT_EQ(series[1]["labels"]["value"], "UA");
  EXPECT_EQ(series[1]["breaks"], true);
  EXPECT_EQ(evidence["extra"]["window"], "last 1000 predictions");
  EXPECT_EQ(evidence["model_extra"]["drift"]["dep_delay"]["test"], "ks");
}

TEST_F(AlertEngineTest, ARuleWithoutAModelWatchesEachModelApart) {
  auto e = engine(
      "rules:\n  - name: drift\n    when: drift_share{model=weather} > 0.3\n  - name: any\n    when: "
      "drift_share > 0.3\n");
  ASSERT_TRUE(e);
  auto t = e->evaluate(snapshot({sample("drift_share", 0.5, "flights"), sample("drift_share", 0.1, "weather")}), 1);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->size(), 1u);
  EXPECT_EQ((*t)[0].rule, "any");
  EXPECT_EQ((*t)[0].model, "flights");
  EXPECT_EQ(state_of(*e, "any", "weather"), AlertState::kInactive);
  EXPECT_EQ(state_of(*e, "drift", "weather"), AlertState::kInactive);
  t = e->evaluate(snapshot({sample("drift_share", 0.5, "flights"), sample("drift_share", 0.6, "weather")}), 2);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->size(), 2u);  // drift for weather (the label filter), any for weather
  EXPECT_EQ(firings().size(), 3u);
}

TEST_F(AlertEngineTest, ANewFiringRunsTheActionsAgain) {
  auto log = root_ / "ran.txt";
  auto e =
      engine(fmt::format("rules:\n  - name: slow\n    when: p99_latency_ms > 5\n    actions:\n"
                         "      - command: echo $SLIPWAY_ALERT_FIRING_ID >> {}\n",
                         log.string()));
  ASSERT_TRUE(e);
  auto high = snapshot({sample("p99_latency_ms", 9)});
  auto low = snapshot({sample("p99_latency_ms", 1)});
  ASSERT_TRUE(e->evaluate(high, 1).ok());
  ASSERT_TRUE(e->evaluate(high, 2).ok());
  ASSERT_TRUE(e->evaluate(low, 3).ok());
  ASSERT_TRUE(e->evaluate(high, 4).ok());
  e->wait_for_actions();
  EXPECT_EQ(read_text(log), "1\n2\n");
  auto stored = firings();
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].firing_id, 2);  // newest first
  EXPECT_EQ(stored[0].state, "firing");
  EXPECT_EQ(stored[0].actions_ok, 2);  // event + command
  EXPECT_EQ(stored[1].state, "resolved");
  EXPECT_EQ(stored[1].actions_ok, 2);
  EXPECT_EQ(firings({.rule = std::nullopt, .state = "resolved"}).size(), 1u);
  EXPECT_EQ(firings({.rule = "other", .state = std::nullopt}).size(), 0u);
}

TEST_F(AlertEngineTest, AFiringIsResumedNotRepeatedAfterARestart) {
  auto log = root_ / "ran.txt";
  std::string yaml = fmt::format(
      "rules:\n  - name: drift\n    model: flights\n    when: drift_share > 0.3\n    actions:\n"
      "      - command: echo fired >> {}\n",
      log.string());
  auto high = snapshot({sample("drift_share", 0.5)});
  int64_t id = 0;
  {
    auto first = engine(yaml);
    ASSERT_TRUE(first);
    auto t = first->evaluate(high, 1);
    ASSERT_TRUE(t.ok());
    ASSERT_EQ(t->size(), 1u);
    id = (*t)[0].firing_id;
    first->wait_for_actions();
  }
  auto second = engine(yaml);
  ASSERT_TRUE(second);
  EXPECT_EQ(state_of(*second, "drift", "flights"), AlertState::kFiring);
  auto t = second->evaluate(high, 2);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->empty());
  second->wait_for_actions();
  EXPECT_EQ(read_text(log), "fired\n");
  EXPECT_EQ(firings().size(), 1u);
  t = second->evaluate(snapshot({sample("drift_share", 0.1)}), 3);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->size(), 1u);
  EXPECT_EQ((*t)[0].firing_id, id);
  EXPECT_EQ(firing(id).state, "resolved");
  // The resumed firing was not started by this process.
  EXPECT_NE(second->render_metrics().find("slipway_alert_firings_total{rule=\"drift\"} 0\n"), std::string::npos);
}

TEST_F(AlertEngineTest, OpeningResolvesFiringsOfRemovedRulesAndRecordsInterruptedActions) {
  {
    auto e = engine("rules:\n  - name: old\n    when: x > 1\n  - name: kept\n    when: y > 1\n");
    ASSERT_TRUE(e);
    ASSERT_TRUE(e->evaluate(snapshot({sample("x", 2), sample("y", 2)}), 1).ok());
  }
  // A previous process died while a command ran.
  ASSERT_TRUE(store_->db()
                  .exec("INSERT INTO alert_actions (firing_id, seq, kind, target, status, attempts, output, "
                        "finished_time) VALUES (2, 2, 'command', 'true', 'running', 0, '', 0)")
                  .ok());
  auto e = engine("rules:\n  - name: kept\n    when: y > 1\n");
  ASSERT_TRUE(e);
  auto old = firings({.rule = "old", .state = std::nullopt});
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(old[0].state, "resolved");
  EXPECT_EQ(old[0].resolved_time, 42);  // the engine's clock
  auto kept = firing(2);
  EXPECT_EQ(kept.state, "firing");
  ASSERT_EQ(kept.actions.size(), 2u);
  EXPECT_EQ(kept.actions[1].status, "failed");
  EXPECT_EQ(kept.actions[1].output,
            "interrupted: slipway stopped before this action finished; not run again (it may have run)");
  EXPECT_EQ(state_of(*e, "kept", "flights"), AlertState::kFiring);
}

TEST_F(AlertEngineTest, RendersPrometheusGaugesAndCounters) {
  auto e = engine(
      "rules:\n  - name: drift\n    model: flights\n    when: drift_share > 0.3 for 2 windows\n"
      "  - name: slow\n    when: p99_latency_ms > 5\n");
  ASSERT_TRUE(e);
  ASSERT_TRUE(e->evaluate(snapshot({sample("drift_share", 0.5), sample("p99_latency_ms", 7, "we\"ird")}), 1).ok());
  EXPECT_EQ(e->render_metrics(),
            "# HELP slipway_alert_state State of an alert rule for a model: 0 inactive, 1 pending, 2 firing.\n"
            "# TYPE slipway_alert_state gauge\n"
            "slipway_alert_state{rule=\"drift\",model=\"flights\"} 1\n"
            "slipway_alert_state{rule=\"slow\",model=\"we\\\"ird\"} 2\n"
            "# HELP slipway_alert_firings_total Firings started by this process, per rule.\n"
            "# TYPE slipway_alert_firings_total counter\n"
            "slipway_alert_firings_total{rule=\"drift\"} 0\n"
            "slipway_alert_firings_total{rule=\"slow\"} 1\n");
}

}  // namespace
}  // namespace slipway::monitor
