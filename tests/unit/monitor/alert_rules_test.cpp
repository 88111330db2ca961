// The alert rule language: expressions and the YAML rules file, with the exact errors a user sees.
#include <gtest/gtest.h>

#include "slipway/monitor/alerts.h"

namespace slipway::monitor {
namespace {

TEST(AlertExpression, ParsesEveryForm) {
  auto c = parse_alert_expression("drift_share > 0.3 for 2 windows");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->metric, "drift_share");
  EXPECT_EQ(c->op, Comparison::kGreater);
  EXPECT_DOUBLE_EQ(c->threshold, 0.3);
  EXPECT_EQ(c->windows, 2);
  EXPECT_TRUE(c->labels.empty());

  c = parse_alert_expression("error_rate{segment=carrier, value=\"AA\"} >= 2e-1");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->metric, "error_rate");
  EXPECT_EQ(c->labels, (std::map<std::string, std::string>{{"segment", "carrier"}, {"value", "AA"}}));
  EXPECT_EQ(c->op, Comparison::kGreaterEqual);
  EXPECT_DOUBLE_EQ(c->threshold, 0.2);
  EXPECT_EQ(c->windows, 1);
  EXPECT_EQ(c->to_string(), "error_rate{segment=carrier,value=AA} >= 0.2");

  for (auto [text, op] : std::vector<std::pair<const char*, Comparison>>{{"auc<0.8", Comparison::kLess},
                                                                         {"auc <= 0.8", Comparison::kLessEqual},
                                                                         {"auc == 0.8", Comparison::kEqual},
                                                                         {"auc != 0.8", Comparison::kNotEqual}}) {
    auto parsed = parse_alert_expression(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status().message();
    EXPECT_EQ(parsed->op, op) << text;
  }
  c = parse_alert_expression("revenue_per_1k < -40 for 1 window");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_DOUBLE_EQ(c->threshold, -40);
  EXPECT_EQ(c->to_string(), "revenue_per_1k < -40");
}

TEST(AlertExpression, BreaksComparesAndNeverOnNaN) {
  auto c = parse_alert_expression("x > 1");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->breaks(1.5));
  EXPECT_FALSE(c->breaks(1));
  EXPECT_FALSE(c->breaks(std::numeric_limits<double>::quiet_NaN()));
  c = parse_alert_expression("x != 1");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->breaks(std::numeric_limits<double>::quiet_NaN()));
}

void expect_expression_error(const std::string& text, const std::string& message) {
  auto c = parse_alert_expression(text);
  ASSERT_FALSE(c.ok()) << text;
  EXPECT_EQ(c.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(), message) << text;
}

TEST(AlertExpression, ErrorsNameTheColumnAndWhatWasExpected) {
  expect_expression_error("", "column 1: expected a metric name (a letter or '_' first), got the end");
  expect_expression_error("> 3", "column 1: expected a metric name (a letter or '_' first), got '>'");
  expect_expression_error("auc 0.8",
                          "column 5: expected a comparison (>, >=, <, <=, == or !=) after the metric, got '0.8'");
  expect_expression_error("auc < high", "column 7: expected a number after the comparison, got 'high'");
  expect_expression_error("auc < 0.8x", "column 7: expected a number after the comparison, got '0.8x'");
  expect_expression_error("auc < 0.8 during 2 windows",
                          "column 11: expected 'for N windows' or the end of the expression, got 'during'");
  expect_expression_error("auc < 0.8 for 0 windows",
                          "column 15: expected a whole number of windows from 1 to 1000 after 'for', got '0'");
  expect_expression_error("auc < 0.8 for 2 minutes", "column 17: expected 'windows' after 'for 2', got 'minutes'");
  expect_expression_error("auc < 0.8 for 2 windows now", "column 25: expected the end of the expression, got 'now'");
  expect_expression_error("error_rate{segment} > 1", "column 19: expected '=' after label 'segment', got '}'");
  expect_expression_error("error_rate{segment=carrier > 1", "column 28: expected ',' or '}' after a label, got '>'");
  expect_expression_error("error_rate{a=1,a=2} > 1", "column 16: label 'a' is given twice");
}

Result<std::vector<AlertRule>> parse(const std::string& yaml) {
  return parse_alert_rules(yaml, "rules.yaml");
}

void expect_file_error(const std::string& yaml, const std::string& message) {
  auto r = parse(yaml);
  ASSERT_FALSE(r.ok()) << yaml;
  EXPECT_EQ(r.status().message(), message) << yaml;
}

TEST(AlertRulesFile, ParsesAGoodFile) {
  auto rules = parse(R"(rules:
  - name: drift
    model: flights
    when: drift_share > 0.3 for 2 windows
    actions:
      - event
      - webhook: http://127.0.0.1:9000/hook
        timeout_ms: 2000
        retries: 1
      - command: slipway train retrain.yaml
        timeout_ms: 60000
  - name: slow
    when: p99_latency_ms > 5
  - name: bad-carrier
    when: "error_rate{segment=carrier} > 0.2"
  - name: revenue
    when: revenue_per_1k < 40
    actions: [webhook: http://hooks.local/x]
)");
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  ASSERT_EQ(rules->size(), 4u);
  const auto& drift = (*rules)[0];
  EXPECT_EQ(drift.name, "drift");
  EXPECT_EQ(drift.model, "flights");
  EXPECT_EQ(drift.expression, "drift_share > 0.3 for 2 windows");
  EXPECT_EQ(drift.condition.windows, 2);
  EXPECT_EQ(drift.line, 2);
  ASSERT_EQ(drift.actions.size(), 2u);  // the event is implied
  EXPECT_EQ(drift.actions[0].kind, AlertActionKind::kWebhook);
  EXPECT_EQ(drift.actions[0].target, "http://127.0.0.1:9000/hook");
  EXPECT_EQ(drift.actions[0].timeout_ms, 2000);
  EXPECT_EQ(drift.actions[0].retries, 1);
  EXPECT_EQ(drift.actions[1].kind, AlertActionKind::kCommand);
  EXPECT_EQ(drift.actions[1].target, "slipway train retrain.yaml");
  EXPECT_EQ(drift.actions[1].timeout_ms, 60000);
  EXPECT_FALSE((*rules)[1].model.has_value());
  EXPECT_TRUE((*rules)[1].actions.empty());
  EXPECT_EQ((*rules)[2].condition.labels.at("segment"), "carrier");
  ASSERT_EQ((*rules)[3].actions.size(), 1u);
  EXPECT_EQ((*rules)[3].actions[0].timeout_ms, 5000);  // defaults
  EXPECT_EQ((*rules)[3].actions[0].retries, 3);
}

TEST(AlertRulesFile, EmptyRulesListIsFine) {
  auto rules = parse("rules: []\n");
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  EXPECT_TRUE(rules->empty());
}

TEST(AlertRulesFile, ExpressionErrorsPointIntoTheFile) {
  expect_file_error("rules:\n  - name: drift\n    when: drift_share >> 0.3\n",
                    "rules.yaml:3:24: rule 'drift': expected a number after the comparison, got '>'");
  // A quoted expression: the column still lands on the bad character.
  expect_file_error("rules:\n  - name: drift\n    when: \"drift_share >> 0.3\"\n",
                    "rules.yaml:3:25: rule 'drift': expected a number after the comparison, got '>'");
}

TEST(AlertRulesFile, UnknownKeysAreErrors) {
  expect_file_error("rulez: []\n", "rules.yaml:1:1: unknown key 'rulez' (expected: rules)");
  expect_file_error("rules:\n  - name: drift\n    wen: auc < 1\n",
                    "rules.yaml:3:5: unknown key 'wen' in rule 'drift' (expected: name, model, when, actions)");
  expect_file_error(
      "rules:\n  - name: drift\n    when: auc < 1\n    actions:\n      - webhook: http://h/x\n        retry: 2\n",
      "rules.yaml:6:9: unknown key 'retry' in webhook action of rule 'drift' (expected: webhook, "
      "timeout_ms, retries)");
  expect_file_error(
      "rules:\n  - name: drift\n    when: auc < 1\n    actions:\n      - command: true\n        retries: 2\n",
      "rules.yaml:6:9: unknown key 'retries' in command action of rule 'drift' (expected: command, "
      "timeout_ms)");
}

TEST(AlertRulesFile, SchemaErrors) {
  expect_file_error("", "rules.yaml:1:1: expected a mapping with a `rules` list, got an empty file");
  expect_file_error("- a\n", "rules.yaml:1:1: expected a mapping with a `rules` list");
  expect_file_error("{}\n", "rules.yaml:1:1: missing `rules` (a list of rules)");
  expect_file_error("rules: 3\n", "rules.yaml:1:8: `rules` must be a list of rules");
  expect_file_error("rules:\n  - when: auc < 1\n", "rules.yaml:2:5: rule 1 has no `name`");
  expect_file_error("rules:\n  - name: a\n", "rules.yaml:2:5: rule 'a' has no `when` (e.g. when: drift_share > 0.3)");
  expect_file_error("rules:\n  - name: a\n    when: x > 1\n  - name: a\n    when: x > 2\n",
                    "rules.yaml:4:5: duplicate rule name 'a' (first at line 2)");
  expect_file_error("rules:\n  - name: a\n    when: x > 1\n    actions:\n      - email\n",
                    "rules.yaml:5:9: rule 'a': unknown action 'email' (expected event, webhook: URL or command: "
                    "COMMAND)");
  expect_file_error("rules:\n  - name: a\n    when: x > 1\n    actions:\n      - webhook: https://h/x\n",
                    "rules.yaml:5:18: rule 'a': webhook URL 'https://h/x' must start with http:// (https is not "
                    "supported: put a TLS-terminating proxy on loopback)");
  expect_file_error(
      "rules:\n  - name: a\n    when: x > 1\n    actions:\n      - webhook: http://h/x\n        retries: many\n",
      "rules.yaml:6:18: rule 'a': `retries` must be a whole number from 0 to 10");
}

TEST(AlertRulesFile, YamlSyntaxErrorsAreParseErrors) {
  auto r = parse("rules:\n  - name: [a\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kParseError);
  EXPECT_EQ(r.status().message().rfind("rules.yaml:", 0), 0u) << r.status().message();
}

TEST(AlertRulesFile, MissingFileIsNotFound) {
  auto r = load_alert_rules("/nonexistent/rules.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.status().message(), "no such file: /nonexistent/rules.yaml");
}

}  // namespace
}  // namespace slipway::monitor
