// The alert engine: per (rule, model) state machine over windows, firings recorded in the store,
// actions run once per firing on an executor thread. See docs/alerts.md.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "alert_internal.h"
#include "slipway/serve/prometheus.h"
#include "slipway/monitor/alerts.h"
#include "slipway/store/store.h"

namespace slipway::monitor {

const char* alert_state_name(AlertState state) {
  switch (state) {
    case AlertState::kInactive:
      return "inactive";
    case AlertState::kPending:
      return "pending";
    case AlertState::kFiring:
      return "firing";
  }
  return "?";
}

namespace {

using Key = std::pair<std::string, std::string>;  // (rule, model)

int64_t system_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct RuleState {
  AlertState state = AlertState::kInactive;
  int held = 0;
  int64_t firing_id = 0;
  std::deque<nlohmann::json> windows;  // the last `windows` windows in which the condition held
};

struct ActionJob {
  int64_t firing_id = 0;
  int64_t seq = 0;
  AlertAction action;
  std::string payload;                                   // webhook body
  std::vector<std::pair<std::string, std::string>> env;  // command environment
};

bool matches(const AlertCondition& condition, const MetricSample& sample) {
  if (sample.metric != condition.metric) return false;
  for (const auto& [key, want] : condition.labels) {
    auto it = sample.labels.find(key);
    if (it != sample.labels.end() && it->second == want) continue;
    if (key == "model" && sample.model == want) continue;  // drift_share{model=flights}
    return false;
  }
  return true;
}

// The value to report for a set of series: the one furthest past the threshold in the rule's
// direction (for == and != the first breaking one).
double worst_value(const AlertCondition& condition, const std::vector<const MetricSample*>& series,
                   bool only_breaking) {
  double out = std::numeric_limits<double>::quiet_NaN();
  for (const auto* s : series) {
    if (only_breaking && !condition.breaks(s->value)) continue;
    if (std::isnan(s->value)) continue;
    if (std::isnan(out)) {
      out = s->value;
      continue;
    }
    switch (condition.op) {
      case Comparison::kGreater:
      case Comparison::kGreaterEqual:
        out = std::max(out, s->value);
        break;
      case Comparison::kLess:
      case Comparison::kLessEqual:
        out = std::min(out, s->value);
        break;
      default:
        break;
    }
  }
  return out;
}


constexpr const char* kInterrupted =
    "interrupted: slipway stopped before this action finished; not run again (it may have run)";
constexpr const char* kNotRun = "not run: slipway shut down before this action started";

}  // namespace

struct AlertEngine::Impl {
  std::unique_ptr<store::Store> store;
  std::vector<AlertRule> rules;
  AlertEngineOptions options;

  mutable std::mutex state_mu;  // states, firings_total
  std::map<Key, RuleState> states;
  std::map<std::string, uint64_t> firings_total;

  std::mutex db_mu;  // the connection is shared by evaluate() and the executor

  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::deque<ActionJob> queue;
  bool busy = false;
  std::atomic<bool> stop{false};
  std::thread worker;

  int64_t now() const { return options.clock ? options.clock() : system_now_us(); }

  Status resume();
  Status record_outcome(const ActionJob& job, const detail::ActionOutcome& outcome);
  Result<int64_t> insert_firing(const AlertRule& rule, const std::string& model, double value, int64_t now_us,
                                const nlohmann::json& evidence, std::vector<ActionJob>& jobs);
  Status resolve_firing(int64_t firing_id, int64_t now_us);
  void run_executor();
  detail::ActionOutcome run_job(const ActionJob& job);
};

Status AlertEngine::Impl::resume() {
  std::lock_guard db_lock(db_mu);
  auto& db = store->db();
  int64_t now_us = now();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(auto interrupted,
                           db.prepare("UPDATE alert_actions SET status = 'failed', output = ?, finished_time = ? "
                                      "WHERE status = 'running'"));
  interrupted.bind(1, kInterrupted).bind(2, now_us);
  SLIPWAY_RETURN_IF_ERROR(interrupted.run());

  SLIPWAY_ASSIGN_OR_RETURN(auto firing, db.prepare("SELECT firing_id, rule, model FROM alert_firings "
                                                   "WHERE state = 'firing' ORDER BY firing_id DESC"));
  SLIPWAY_ASSIGN_OR_RETURN(auto resolve, db.prepare("UPDATE alert_firings SET state = 'resolved', resolved_time = ? "
                                                    "WHERE firing_id = ?"));
  std::vector<int64_t> to_resolve;
  for (;;) {
    SLIPWAY_ASSIGN_OR_RETURN(bool row, firing.step());
    if (!row) break;
    int64_t id = firing.column_int64(0);
    Key key{firing.column_text(1), firing.column_text(2)};
    const AlertRule* rule = nullptr;
    for (const auto& r : rules) {
      if (r.name == key.first) rule = &r;
    }
    if (rule == nullptr || (rule->model && *rule->model != key.second)) {  // the rule is gone or changed
      to_resolve.push_back(id);
      continue;
    }
    auto& st = states[key];
    if (st.state == AlertState::kFiring) {  // an older duplicate (newest first)
      to_resolve.push_back(id);
      continue;
    }
    st.state = AlertState::kFiring;
    st.firing_id = id;
    st.held = rule->condition.windows;
  }
  firing.reset();
  for (int64_t id : to_resolve) {
    resolve.bind(1, now_us).bind(2, id);
    SLIPWAY_RETURN_IF_ERROR(resolve.run());
  }
  return txn.commit();
}

Result<int64_t> AlertEngine::Impl::insert_firing(const AlertRule& rule, const std::string& model, double value,
                                                 int64_t now_us, const nlohmann::json& evidence,
                                                 std::vector<ActionJob>& jobs) {
  std::lock_guard db_lock(db_mu);
  auto& db = store->db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(auto insert, db.prepare("INSERT INTO alert_firings (rule, model, expression, state, value, "
                                                   "started_time, evidence) VALUES (?, ?, ?, 'firing', ?, ?, ?)"));
  std::string evidence_text = evidence.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  insert.bind(1, rule.name)
      .bind(2, model)
      .bind(3, rule.expression)
      .bind(4, value)
      .bind(5, now_us)
      .bind(6, evidence_text);
  SLIPWAY_RETURN_IF_ERROR(insert.run());
  SLIPWAY_ASSIGN_OR_RETURN(auto last, db.prepare("SELECT last_insert_rowid()"));
  SLIPWAY_ASSIGN_OR_RETURN(bool row, last.step());
  if (!row) return make_error(ErrorCode::kInternal, "alert firing: no row id");
  int64_t firing_id = last.column_int64(0);
  last.reset();

  // The event is the firing itself (seq 1, done); the others are "running" until the executor
  // records how they ended — in the same transaction, so a crash never loses the plan.
  SLIPWAY_ASSIGN_OR_RETURN(auto action, db.prepare("INSERT INTO alert_actions (firing_id, seq, kind, target, status, "
                                                   "attempts, output, finished_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  action.bind(1, firing_id).bind(2, int64_t{1}).bind(3, "event").bind(4, "").bind(5, "ok").bind(6, int64_t{1});
  action.bind(7, "").bind(8, now_us);
  SLIPWAY_RETURN_IF_ERROR(action.run());
  nlohmann::json payload = {{"firing_id", firing_id}, {"rule", rule.name},   {"model", model},
                            {"state", "firing"},      {"value", value},      {"expression", rule.expression},
                            {"started_time", now_us}, {"evidence", evidence}};
  std::string payload_text = payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  int64_t seq = 1;
  for (const auto& a : rule.actions) {
    ++seq;
    action.bind(1, firing_id).bind(2, seq).bind(3, action_kind_name(a.kind)).bind(4, a.target).bind(5, "running");
    action.bind(6, int64_t{0}).bind(7, "").bind(8, int64_t{0});
    SLIPWAY_RETURN_IF_ERROR(action.run());
    ActionJob job;
    job.firing_id = firing_id;
    job.seq = seq;
    job.action = a;
    if (a.kind == AlertActionKind::kWebhook) job.payload = payload_text;
    if (a.kind == AlertActionKind::kCommand) {
      job.env = {{"SLIPWAY_ALERT_RULE", rule.name},
                 {"SLIPWAY_ALERT_MODEL", model},
                 {"SLIPWAY_ALERT_VALUE", fmt::format("{}", value)},
                 {"SLIPWAY_ALERT_FIRING_ID", std::to_string(firing_id)}};
    }
    jobs.push_back(std::move(job));
  }
  SLIPWAY_RETURN_IF_ERROR(txn.commit());
  return firing_id;
}

Status AlertEngine::Impl::resolve_firing(int64_t firing_id, int64_t now_us) {
  std::lock_guard db_lock(db_mu);
  auto& db = store->db();
  SLIPWAY_ASSIGN_OR_RETURN(auto update, db.prepare("UPDATE alert_firings SET state = 'resolved', resolved_time = ? "
                                                   "WHERE firing_id = ?"));
  update.bind(1, now_us).bind(2, firing_id);
  return update.run();
}

Status AlertEngine::Impl::record_outcome(const ActionJob& job, const detail::ActionOutcome& outcome) {
  std::lock_guard db_lock(db_mu);
  auto& db = store->db();
  SLIPWAY_ASSIGN_OR_RETURN(auto update, db.prepare("UPDATE alert_actions SET status = ?, attempts = ?, output = ?, "
                                                   "finished_time = ? WHERE firing_id = ? AND seq = ?"));
  update.bind(1, outcome.ok ? "ok" : "failed").bind(2, static_cast<int64_t>(outcome.attempts)).bind(3, outcome.output);
  update.bind(4, now()).bind(5, job.firing_id).bind(6, job.seq);
  return update.run();
}

detail::ActionOutcome AlertEngine::Impl::run_job(const ActionJob& job) {
  if (job.action.kind == AlertActionKind::kWebhook) {
    auto wait = [this](std::chrono::milliseconds delay) {
      std::unique_lock lock(queue_mu);
      queue_cv.wait_for(lock, delay, [this] { return stop.load(); });
      return !stop.load();
    };
    return detail::post_webhook(job.action.target, job.payload, job.action.timeout_ms, job.action.retries,
                                options.webhook_backoff_base_ms, options.webhook_backoff_max_ms, wait);
  }
  return detail::run_command(job.action.target, job.env, job.action.timeout_ms, options.command_output_limit, stop);
}

void AlertEngine::Impl::run_executor() {
  for (;;) {
    ActionJob job;
    {
      std::unique_lock lock(queue_mu);
      queue_cv.wait(lock, [this] { return stop.load() || !queue.empty(); });
      if (queue.empty()) return;  // stopping, nothing left
      job = std::move(queue.front());
      queue.pop_front();
      busy = true;
    }
    detail::ActionOutcome outcome;
    if (stop.load()) {
      outcome.output = kNotRun;
    } else {
      outcome = run_job(job);
    }
    // A failed write leaves the row "running"; the next open records it as interrupted.
    (void)record_outcome(job, outcome);
    {
      std::lock_guard lock(queue_mu);
      busy = false;
    }
    queue_cv.notify_all();
  }
}

AlertEngine::AlertEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AlertEngine::~AlertEngine() {
  if (!impl_) return;
  {
    std::lock_guard lock(impl_->queue_mu);
    impl_->stop = true;
  }
  impl_->queue_cv.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
}

Result<std::unique_ptr<AlertEngine>> AlertEngine::open(const std::filesystem::path& store_root,
                                                       std::vector<AlertRule> rules, AlertEngineOptions options) {
  auto impl = std::make_unique<Impl>();
  SLIPWAY_ASSIGN_OR_RETURN(impl->store, store::Store::open(store_root));
  impl->rules = std::move(rules);
  impl->options = std::move(options);
  for (const auto& rule : impl->rules) {
    impl->firings_total[rule.name] = 0;
    if (rule.model) impl->states[{rule.name, *rule.model}];
  }
  SLIPWAY_RETURN_IF_ERROR(impl->resume().with_context("resuming alert firings"));
  Impl* raw = impl.get();
  impl->worker = std::thread([raw] { raw->run_executor(); });
  return std::unique_ptr<AlertEngine>(new AlertEngine(std::move(impl)));
}

Result<std::vector<AlertTransition>> AlertEngine::evaluate(const MetricSnapshot& snapshot, int64_t now_us) {
  std::vector<AlertTransition> transitions;
  std::vector<ActionJob> jobs;
  Status failure;
  {
    std::lock_guard state_lock(impl_->state_mu);
    for (const auto& rule : impl_->rules) {
      const auto& cond = rule.condition;
      std::map<std::string, std::vector<const MetricSample*>> by_model;
      for (const auto& sample : snapshot.samples) {
        if (rule.model && sample.model != *rule.model) continue;
        if (matches(cond, sample)) by_model[sample.model].push_back(&sample);
      }
      // A model with no matching series in this window: its state stays (docs/alerts.md).
      for (const auto& [model, series] : by_model) {
        auto& st = impl_->states[{rule.name, model}];
        nlohmann::json series_json = nlohmann::json::array();
        bool holds = false;
        for (const auto* s : series) {
          bool b = cond.breaks(s->value);
          holds = holds || b;
          nlohmann::json labels = nlohmann::json::object();
          for (const auto& [k, v] : s->labels) labels[k] = v;
          series_json.push_back({{"metric", s->metric}, {"labels", labels}, {"value", s->value}, {"breaks", b}});
        }
        double value = worst_value(cond, series, holds);
        AlertTransition t{rule.name, model, st.state, st.state, value, 0};
        if (holds) {
          st.windows.push_back({{"time_us", now_us}, {"series", std::move(series_json)}});
          while (st.windows.size() > static_cast<size_t>(cond.windows)) st.windows.pop_front();
          int held = st.held + 1;
          if (st.state == AlertState::kFiring) {
            st.held = held;
            continue;
          }
          if (held < cond.windows) {
            st.held = held;
            st.state = AlertState::kPending;
          } else {
            nlohmann::json windows = nlohmann::json::array();
            for (const auto& w : st.windows) windows.push_back(w);
            nlohmann::json evidence = {{"rule", rule.name},
                                       {"model", model},
                                       {"expression", rule.expression},
                                       {"condition", cond.to_string()},
                                       {"windows", std::move(windows)}};
            if (!snapshot.extra.is_null()) evidence["extra"] = snapshot.extra;
            auto extra = snapshot.extra_by_model.find(model);
            if (extra != snapshot.extra_by_model.end()) evidence["model_extra"] = extra->second;
            std::vector<ActionJob> new_jobs;
            auto id = impl_->insert_firing(rule, model, value, now_us, evidence, new_jobs);
            if (!id.ok()) {
              st.windows.pop_back();  // as if this window had not been seen
              failure = id.status().with_context(fmt::format("alert rule '{}'", rule.name));
              break;
            }
            st.held = held;
            st.state = AlertState::kFiring;
            st.firing_id = *id;
            t.firing_id = *id;
            ++impl_->firings_total[rule.name];
            for (auto& j : new_jobs) jobs.push_back(std::move(j));
          }
        } else {
          if (st.state == AlertState::kFiring) {
            Status s = impl_->resolve_firing(st.firing_id, now_us);
            if (!s.ok()) {
              failure = s.with_context(fmt::format("alert rule '{}'", rule.name));
              break;
            }
            t.firing_id = st.firing_id;
          }
          st.state = AlertState::kInactive;
          st.held = 0;
          st.firing_id = 0;
          st.windows.clear();
        }
        t.to = st.state;
        if (t.to != t.from) transitions.push_back(std::move(t));
      }
      if (!failure.ok()) break;
    }
  }
  if (!jobs.empty()) {
    {
      std::lock_guard lock(impl_->queue_mu);
      for (auto& j : jobs) impl_->queue.push_back(std::move(j));
    }
    impl_->queue_cv.notify_all();
  }
  if (!failure.ok()) return failure;
  return transitions;
}

void AlertEngine::wait_for_actions() {
  std::unique_lock lock(impl_->queue_mu);
  impl_->queue_cv.wait(lock, [this] { return impl_->queue.empty() && !impl_->busy; });
}

std::vector<AlertStatus> AlertEngine::states() const {
  std::lock_guard lock(impl_->state_mu);
  std::vector<AlertStatus> out;
  for (const auto& [key, st] : impl_->states) out.push_back({key.first, key.second, st.state, st.held, st.firing_id});
  return out;
}

const std::vector<AlertRule>& AlertEngine::rules() const {
  return impl_->rules;
}

std::string AlertEngine::render_metrics() const {
  std::lock_guard lock(impl_->state_mu);
  std::string out =
      "# HELP slipway_alert_state State of an alert rule for a model: 0 inactive, 1 pending, 2 firing.\n"
      "# TYPE slipway_alert_state gauge\n";
  for (const auto& [key, st] : impl_->states) {
    out += fmt::format("slipway_alert_state{{rule=\"{}\",model=\"{}\"}} {}\n", serve::prometheus_label_value(key.first),
                       serve::prometheus_label_value(key.second), static_cast<int>(st.state));
  }
  out +=
      "# HELP slipway_alert_firings_total Firings started by this process, per rule.\n"
      "# TYPE slipway_alert_firings_total counter\n";
  for (const auto& [rule, n] : impl_->firings_total) {
    out += fmt::format("slipway_alert_firings_total{{rule=\"{}\"}} {}\n", serve::prometheus_label_value(rule), n);
  }
  return out;
}

}  // namespace slipway::monitor
