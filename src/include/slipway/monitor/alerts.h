// Alerts: rules over monitoring metrics (`drift_share > 0.3 for 2 windows`), evaluated one window at
// a time, with actions (an event, a webhook, a command) that run once per firing. The rule language,
// the state machine and what "exactly once" means are in docs/alerts.md.
//
// The engine is pure with respect to time and metrics: the caller (the server's monitoring loop, or
// a test) hands it one window's MetricSnapshot and the window's time; it answers which rules changed
// state, records firings in the store (alert_firings / alert_actions) and runs their actions on its
// own executor thread, so a slow webhook never holds up evaluation.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slipway/core/status.h"

namespace slipway::monitor {

// ---- Rules ----------------------------------------------------------------------------------

enum class Comparison { kGreater, kGreaterEqual, kLess, kLessEqual, kEqual, kNotEqual };
const char* comparison_symbol(Comparison op);  // ">", ">=", ...

// METRIC[{label=value,...}] OP NUMBER [for N windows]
struct AlertCondition {
  std::string metric;
  std::map<std::string, std::string> labels;  // a series matches when its labels include all of these
  Comparison op = Comparison::kGreater;
  double threshold = 0;
  int windows = 1;  // consecutive windows the comparison must hold before the rule fires

  bool breaks(double value) const;  // the comparison holds for `value` (NaN never does)
  std::string to_string() const;    // canonical form, e.g. `error_rate{segment=carrier} > 0.2 for 2 windows`
};

// Parses one expression. An error's message starts with "column C: " (1-based, within `text`).
Result<AlertCondition> parse_alert_expression(std::string_view text);

enum class AlertActionKind { kEvent, kWebhook, kCommand };
const char* action_kind_name(AlertActionKind kind);  // "event", "webhook", "command"

struct AlertAction {
  AlertActionKind kind = AlertActionKind::kEvent;
  std::string target;      // webhook: the http:// URL; command: the shell command line; event: ""
  int64_t timeout_ms = 0;  // webhook: per attempt (default 5000); command: whole run (default 3600000)
  int retries = 0;         // webhook: attempts after the first (default 3); command: always 0
};

struct AlertRule {
  std::string name;
  std::optional<std::string> model;  // only this model's series; nullopt: each model on its own
  std::string expression;            // as written in the file
  AlertCondition condition;
  // Webhooks and commands in file order. The event is not listed: every firing is recorded.
  std::vector<AlertAction> actions;
  int line = 0;  // 1-based line of the rule in its file (0 when not from a file)
};

// Parses a rules file's text; `source` names it in errors ("FILE:LINE:COL: what was wrong").
// kParseError for YAML syntax, kInvalidArgument for a well-formed file that breaks the rule schema.
Result<std::vector<AlertRule>> parse_alert_rules(std::string_view yaml_text, const std::string& source);
// Reads and parses a file (kNotFound when it cannot be read).
Result<std::vector<AlertRule>> load_alert_rules(const std::filesystem::path& file);

// ---- Metrics in ----------------------------------------------------------------------------

// One series' value in one window, e.g. error_rate{segment=carrier,value=AA} of model flights.
struct MetricSample {
  std::string metric;
  std::map<std::string, std::string> labels;
  std::string model;  // "" for series that belong to no model (host health)
  double value = 0;
};

// One window's metric values. A rule whose metric has no matching series in a window is neither
// held nor broken by it: its state stays, and the window does not count towards `for N windows`.
struct MetricSnapshot {
  std::vector<MetricSample> samples;
  // Stored with a firing's evidence as "extra" (e.g. the drift test results of the window).
  // Per model: extra_by_model[model] is attached to that model's firings, `extra` to all.
  nlohmann::json extra;
  std::map<std::string, nlohmann::json> extra_by_model;
};

// ---- The engine ----------------------------------------------------------------------------

enum class AlertState { kInactive = 0, kPending = 1, kFiring = 2 };
const char* alert_state_name(AlertState state);  // "inactive", "pending", "firing"

// A rule's state changing for one model in one evaluate() call.
struct AlertTransition {
  std::string rule;
  std::string model;
  AlertState from = AlertState::kInactive;
  AlertState to = AlertState::kInactive;
  double value = 0;       // the breaking value (or, on resolve, the worst value of the window)
  int64_t firing_id = 0;  // when entering or leaving kFiring; 0 otherwise
};

struct AlertStatus {
  std::string rule;
  std::string model;
  AlertState state = AlertState::kInactive;
  int held_windows = 0;   // consecutive windows the condition has held (pending and firing)
  int64_t firing_id = 0;  // while firing
};

struct AlertEngineOptions {
  // Command output kept per action (stdout and stderr together); beyond it the middle is dropped.
  size_t command_output_limit = 64 * 1024;
  // Webhook retries wait base, 2*base, 4*base, ... capped at backoff_max_ms.
  int64_t webhook_backoff_base_ms = 500;
  int64_t webhook_backoff_max_ms = 30'000;
  // Clock for finished_time / resolved rows written by the executor (Unix microseconds).
  std::function<int64_t()> clock;  // default: the system clock
};

class AlertEngine {
 public:
  // Opens the store at `store_root` (its own connection) and resumes the firings stored there as
  // state=firing for a rule of `rules`: they stay firing and are not fired again. A stored firing
  // whose rule is no longer in `rules` is resolved. Actions a previous process left unfinished are
  // recorded as failed ("interrupted") and are not run again.
  static Result<std::unique_ptr<AlertEngine>> open(const std::filesystem::path& store_root,
                                                   std::vector<AlertRule> rules, AlertEngineOptions options = {});
  // Stops the executor: actions not yet started are recorded as failed ("not run"), a running
  // command is killed, a webhook makes no further attempt.
  ~AlertEngine();
  AlertEngine(const AlertEngine&) = delete;
  AlertEngine& operator=(const AlertEngine&) = delete;

  // Evaluates every rule against one window. Firings and resolutions are written to the store
  // before this returns; actions are queued for the executor. Call from one thread at a time.
  // On a store error nothing of that rule+model changes, so the next window tries again.
  Result<std::vector<AlertTransition>> evaluate(const MetricSnapshot& snapshot, int64_t now_us);

  // Blocks until every queued action has finished (tests; a graceful shutdown).
  void wait_for_actions();

  std::vector<AlertStatus> states() const;
  const std::vector<AlertRule>& rules() const;

  // Prometheus text: gauge slipway_alert_state{rule,model} (0 inactive, 1 pending, 2 firing) and
  // counter slipway_alert_firings_total{rule} (firings started by this process). Thread-safe.
  std::string render_metrics() const;

  struct Impl;

 private:
  explicit AlertEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---- Reading firings back (the CLI, reports) -------------------------------------------------

struct AlertActionRecord {
  int64_t seq = 0;
  std::string kind;  // event | webhook | command
  std::string target;
  std::string status;  // ok | failed | running (not finished yet)
  int64_t attempts = 0;
  std::string output;
  int64_t finished_time = 0;  // 0 while running
};

struct AlertFiring {
  int64_t firing_id = 0;
  std::string rule;
  std::string model;
  std::string expression;
  std::string state;  // firing | resolved
  std::optional<double> value;
  int64_t started_time = 0;
  std::optional<int64_t> resolved_time;
  std::string evidence;  // JSON text
  int64_t actions_ok = 0;
  int64_t actions_failed = 0;
  std::vector<AlertActionRecord> actions;  // filled by get_alert_firing only
};

struct AlertFiringFilter {
  std::optional<std::string> rule;
  std::optional<std::string> state;  // firing | resolved
  size_t limit = 1000;               // newest first
};

}  // namespace slipway::monitor

namespace slipway::store {
class Database;
}  // namespace slipway::store

namespace slipway::monitor {
Result<std::vector<AlertFiring>> list_alert_firings(store::Database& db, const AlertFiringFilter& filter);
// kNotFound when there is no such firing.
Result<AlertFiring> get_alert_firing(store::Database& db, int64_t firing_id);
}  // namespace slipway::monitor
