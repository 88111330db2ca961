// `slipway monitor alerts [list|show ID|check RULES.yaml]`: the firings the server's alert engine
// stored (slipway/monitor/alerts.h), and a check of a rules file before the server loads it.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "context.h"
#include "output.h"
#include "slipway/monitor/alerts.h"

namespace slipway::cli {

namespace {

using monitor::AlertFiring;

// 2025-01-31T10:00:00Z (whole seconds: enough to tell firings apart for a person).
std::string utc_time(int64_t us) {
  std::time_t t = static_cast<std::time_t>(us >= 0 ? us / 1'000'000 : (us - 999'999) / 1'000'000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string model_text(const std::string& model) {
  return model.empty() ? "-" : model;
}

nlohmann::json firing_json(const AlertFiring& f, bool with_details) {
  nlohmann::json j = {{"firing_id", f.firing_id},
                      {"rule", f.rule},
                      {"model", f.model},
                      {"expression", f.expression},
                      {"state", f.state},
                      {"value", f.value ? nlohmann::json(*f.value) : nlohmann::json()},
                      {"started_time", f.started_time},
                      {"resolved_time", f.resolved_time ? nlohmann::json(*f.resolved_time) : nlohmann::json()},
                      {"actions_ok", f.actions_ok},
                      {"actions_failed", f.actions_failed}};
  if (with_details) {
    j["evidence"] = nlohmann::json::parse(f.evidence, nullptr, /*allow_exceptions=*/false);
    nlohmann::json actions = nlohmann::json::array();
    for (const auto& a : f.actions) {
      actions.push_back({{"seq", a.seq},
                         {"kind", a.kind},
                         {"target", a.target},
                         {"status", a.status},
                         {"attempts", a.attempts},
                         {"output", a.output},
                         {"finished_time", a.finished_time == 0 ? nlohmann::json() : nlohmann::json(a.finished_time)}});
    }
    j["actions"] = std::move(actions);
  }
  return j;
}

Result<std::unique_ptr<store::Store>> open_store(const Context& ctx) {
  return ctx.open_store();
}

struct ListArgs {
  std::string rule;
  std::string state;
  size_t limit = 100;
};

int run_list(const Context& ctx, const ListArgs& args) {
  if (!args.state.empty() && args.state != "firing" && args.state != "resolved") {
    return report_error(make_error(ErrorCode::kInvalidArgument,
                                   "--state '{}': expected firing or resolved (pending is not stored: see "
                                   "slipway_alert_state in /metrics)",
                                   args.state));
  }
  auto store = open_store(ctx);
  if (!store.ok()) return report_error(store.status());
  monitor::AlertFiringFilter filter;
  if (!args.rule.empty()) filter.rule = args.rule;
  if (!args.state.empty()) filter.state = args.state;
  filter.limit = args.limit;
  auto firings = monitor::list_alert_firings((*store)->db(), filter);
  if (!firings.ok()) return report_error(firings.status());
  if (ctx.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& f : *firings) out.push_back(firing_json(f, false));
    print_json(out);
    return kExitOk;
  }
  if (firings->empty()) {
    std::printf("no alert firings%s\n", args.rule.empty() && args.state.empty() ? " yet" : " match");
    return kExitOk;
  }
  TextTable table({"ID", "RULE", "MODEL", "STATE", "VALUE", "STARTED", "RESOLVED", "ACTIONS"});
  for (const auto& f : *firings) {
    table.add_row({std::to_string(f.firing_id), f.rule, model_text(f.model), f.state,
                   f.value ? format_number(*f.value) : "-", utc_time(f.started_time),
                   f.resolved_time ? utc_time(*f.resolved_time) : "-",
                   fmt::format("{} ok, {} failed", f.actions_ok, f.actions_failed)});
  }
  std::fputs(table.render({0, 4}).c_str(), stdout);
  return kExitOk;
}

int run_show(const Context& ctx, int64_t id) {
  auto store = open_store(ctx);
  if (!store.ok()) return report_error(store.status());
  auto f = monitor::get_alert_firing((*store)->db(), id);
  if (!f.ok()) return report_error(f.status());
  if (ctx.json) {
    print_json(firing_json(*f, true));
    return kExitOk;
  }
  std::printf("firing %lld: rule %s, model %s, %s\n", static_cast<long long>(f->firing_id), f->rule.c_str(),
              model_text(f->model).c_str(), f->state.c_str());
  std::printf("  when      %s\n", f->expression.c_str());
  std::printf("  value     %s\n", f->value ? format_number(*f->value).c_str() : "-");
  std::printf("  started   %s\n", utc_time(f->started_time).c_str());
  std::printf("  resolved  %s\n", f->resolved_time ? utc_time(*f->resolved_time).c_str() : "-");
  // The evidence, summarised: each window's series, and the drift tests when the window had them
  // (the whole evidence, histograms included, is in --json).
  auto evidence = nlohmann::json::parse(f->evidence, nullptr, false);
  std::printf("evidence (everything: --json):\n");
  if (evidence.is_object()) {
    static const nlohmann::json kNone = nlohmann::json::array();
    auto field = [](const nlohmann::json& j, const char* key) -> const nlohmann::json& {
      auto it = j.find(key);
      return it == j.end() ? kNone : *it;
    };
    for (const auto& w : field(evidence, "windows")) {
      std::string series;
      for (const auto& s : field(w, "series")) {
        std::string labels;
        const auto& label_object = field(s, "labels");
        for (auto it = label_object.begin(); label_object.is_object() && it != label_object.end(); ++it) {
          labels += fmt::format("{}{}={}", labels.empty() ? "" : ",", it.key(),
                                it->is_string() ? it->get<std::string>() : it->dump());
        }
        series += fmt::format("{}{}{}{}{} = {}{}", series.empty() ? "" : "; ", s.value("metric", ""),
                              labels.empty() ? "" : "{", labels, labels.empty() ? "" : "}",
                              format_number(s.value("value", 0.0)), s.value("breaks", false) ? " (breaks)" : "");
      }
      std::printf("  window %s: %s\n", utc_time(w.value("time_us", int64_t{0})).c_str(), series.c_str());
    }
    const auto* drift = evidence.contains("model_extra") && evidence["model_extra"].contains("drift")
                            ? &evidence["model_extra"]["drift"]
                            : nullptr;
    if (drift != nullptr && drift->contains("columns")) {
      std::printf("  drift tests of the firing window:\n");
      for (const auto& c : (*drift)["columns"]) {
        if (!c.value("tested", false)) continue;
        std::printf("    %-20s %-14s %s = %-10s threshold %-6s %s\n", c.value("column", "").c_str(),
                    c.value("test", "").c_str(), c.value("effect_name", "effect").c_str(),
                    format_number(c.value("effect", 0.0)).c_str(), format_number(c.value("threshold", 0.0)).c_str(),
                    c.value("drifted", false) ? "drifted" : "");
      }
    }
  } else {
    std::printf("  %s\n", f->evidence.c_str());
  }
  std::printf("actions:\n");
  for (const auto& a : f->actions) {
    std::string when = a.finished_time == 0 ? "not finished" : "finished " + utc_time(a.finished_time);
    std::printf("  %lld. %s%s%s: %s, %lld attempt%s, %s\n", static_cast<long long>(a.seq), a.kind.c_str(),
                a.target.empty() ? "" : " ", a.target.c_str(), a.status.c_str(), static_cast<long long>(a.attempts),
                a.attempts == 1 ? "" : "s", when.c_str());
    size_t start = 0;
    while (start < a.output.size()) {
      size_t end = a.output.find('\n', start);
      if (end == std::string::npos) end = a.output.size();
      std::printf("     | %.*s\n", static_cast<int>(end - start), a.output.data() + start);
      start = end + 1;
    }
  }
  return kExitOk;
}

int run_check(const Context& ctx, const std::string& file) {
  auto rules = monitor::load_alert_rules(file);
  if (!rules.ok()) {
    // A file that reads but breaks the rule language is a failed check (exit 1); a missing file
    // is bad input (exit 3).
    std::fprintf(stderr, "error: %s\n", rules.status().message().c_str());
    ErrorCode code = rules.status().code();
    if (code == ErrorCode::kInvalidArgument || code == ErrorCode::kParseError) return kExitCheckFailed;
    return exit_code_for(rules.status());
  }
  if (ctx.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : *rules) {
      nlohmann::json actions = nlohmann::json::array({{{"kind", "event"}}});
      for (const auto& a : r.actions) {
        nlohmann::json action = {
            {"kind", monitor::action_kind_name(a.kind)}, {"target", a.target}, {"timeout_ms", a.timeout_ms}};
        if (a.kind == monitor::AlertActionKind::kWebhook) action["retries"] = a.retries;
        actions.push_back(std::move(action));
      }
      out.push_back({{"name", r.name},
                     {"model", r.model ? nlohmann::json(*r.model) : nlohmann::json()},
                     {"when", r.expression},
                     {"condition", r.condition.to_string()},
                     {"windows", r.condition.windows},
                     {"line", r.line},
                     {"actions", std::move(actions)}});
    }
    print_json({{"file", file}, {"valid", true}, {"rules", std::move(out)}});
    return kExitOk;
  }
  TextTable table({"RULE", "MODEL", "WHEN", "ACTIONS"});
  for (const auto& r : *rules) {
    std::string actions = "event";
    for (const auto& a : r.actions) actions += fmt::format(", {} {}", monitor::action_kind_name(a.kind), a.target);
    table.add_row({r.name, r.model ? *r.model : "(each)", r.condition.to_string(), actions});
  }
  std::printf("%s: %zu rule%s, valid\n", file.c_str(), rules->size(), rules->size() == 1 ? "" : "s");
  if (!table.empty()) std::fputs(table.render().c_str(), stdout);
  return kExitOk;
}

}  // namespace

void add_monitor_alert_commands(CLI::App* monitor, Context& ctx, Command& run) {
  auto list_args = std::make_shared<ListArgs>();
  auto* alerts = monitor->add_subcommand("alerts", "Alert firings: list them, show one, check a rules file");
  alerts->require_subcommand(0, 1);
  alerts->add_option("--rule", list_args->rule, "Only this rule's firings");
  alerts->add_option("--state", list_args->state, "Only firings in this state: firing or resolved");
  alerts->add_option("-n,--limit", list_args->limit, "At most this many, newest first (default 100)");
  add_json_flag(alerts, ctx);
  alerts->footer(
      "Lists firings newest first: id, rule, model, state, value, started, resolved, actions ok/failed.\n"
      "Examples:\n"
      "  slipway monitor alerts\n"
      "  slipway monitor alerts --rule drift --state firing --json\n"
      "  slipway monitor alerts show 12\n"
      "  slipway monitor alerts check alerts.yaml\n"
      "Rules, states and actions: docs/alerts.md.");

  auto show_id = std::make_shared<int64_t>(0);
  auto* show = alerts->add_subcommand("show", "One firing: its evidence and each action's outcome and output");
  show->add_option("id", *show_id, "Firing id (from `slipway monitor alerts`)")->required();
  add_json_flag(show, ctx);
  show->footer(
      "Examples:\n"
      "  slipway monitor alerts show 12\n"
      "  slipway monitor alerts show 12 --json");
  show->callback([&ctx, &run, show_id] { run = [&ctx, show_id] { return run_show(ctx, *show_id); }; });

  auto check_file = std::make_shared<std::string>();
  auto* check = alerts->add_subcommand("check", "Validate an alert rules file (exit 0 valid, 1 invalid, 3 unreadable)");
  check->add_option("file", *check_file, "Rules file (YAML)")->required();
  add_json_flag(check, ctx);
  check->footer(
      "Errors name FILE:LINE:COLUMN and what was expected there.\n"
      "Examples:\n"
      "  slipway monitor alerts check alerts.yaml\n"
      "  slipway monitor alerts check alerts.yaml --json");
  check->callback([&ctx, &run, check_file] { run = [&ctx, check_file] { return run_check(ctx, *check_file); }; });

  // Runs after a verb's callback: list only when no verb was given.
  alerts->callback([&ctx, &run, alerts, list_args] {
    if (!alerts->get_subcommands().empty()) return;
    run = [&ctx, list_args] { return run_list(ctx, *list_args); };
  });
}

}  // namespace slipway::cli
