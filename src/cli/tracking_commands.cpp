// slipway experiments <verb> and slipway runs <verb>: list, show, compare, delete/restore, and
// create/log/end so shell scripts can track runs too. Thin: slipway/track/tracking.h does the work.
// `runs` is registered here; `runs reproduce` is added to it by train_commands.cpp.
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <set>

#include "context.h"
#include "output.h"
#include "slipway/track/tracking.h"

namespace slipway::cli {

namespace {

using nlohmann::json;
using track::Run;
using track::Tracking;

std::string user_name() {
  for (const char* var : {"SLIPWAY_AUTHOR", "USER", "LOGNAME"}) {
    const char* v = std::getenv(var);
    if (v != nullptr && *v != '\0') return v;
  }
  if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_name != nullptr) return pw->pw_name;
  return "unknown";
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// UTC, to the second: "2026-11-28 13:10:56".
std::string format_time(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string format_duration(int64_t ms) {
  if (ms < 0) return "-";
  if (ms < 60000) return fmt::format("{:.1f}s", ms / 1000.0);
  const int64_t s = ms / 1000;
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
}

std::string run_duration(const track::RunInfo& info) {
  if (info.end_time_ms) return format_duration(*info.end_time_ms - info.start_time_ms);
  return info.status == track::RunStatus::kRunning ? format_duration(now_ms() - info.start_time_ms) + "+" : "-";
}

json number_json(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

json info_json(const track::RunInfo& i) {
  json j = {{"run_id", i.run_id},
            {"experiment_id", i.experiment_id},
            {"run_name", i.run_name},
            {"user", i.user},
            {"status", track::run_status_name(i.status)},
            {"start_time", i.start_time_ms},
            {"end_time", i.end_time_ms ? json(*i.end_time_ms) : json(nullptr)},
            {"lifecycle", track::lifecycle_name(i.lifecycle)},
            {"artifact_uri", i.artifact_uri},
            {"parent_run_id", i.parent_run_id ? json(*i.parent_run_id) : json(nullptr)}};
  if (i.owner) j["owner"] = {{"host", i.owner->host}, {"pid", i.owner->pid}};
  return j;
}

json run_json(const Run& r) {
  json j = info_json(r.info);
  j["params"] = r.params;
  j["tags"] = r.tags;
  json metrics = json::object();
  for (const auto& m : r.latest_metrics) {
    metrics[m.key] = {{"value", number_json(m.value)}, {"step", m.step}, {"timestamp", m.timestamp_ms}};
  }
  j["metrics"] = metrics;
  json inputs = json::array();
  for (const auto& in : r.inputs) inputs.push_back({{"dataset", in.dataset}, {"version", in.version_id}, {"context", in.context}});
  j["inputs"] = inputs;
  j["output_model"] = r.output_model ? json(*r.output_model) : json(nullptr);
  return j;
}

json experiment_json(const track::Experiment& e) {
  return {{"experiment_id", e.id},
          {"name", e.name},
          {"artifact_location", e.artifact_location},
          {"lifecycle", track::lifecycle_name(e.lifecycle)},
          {"creation_time", e.creation_time_ms},
          {"last_update_time", e.last_update_time_ms},
          {"tags", e.tags}};
}

Result<std::pair<std::string, std::string>> parse_key_value(const std::string& flag, const std::string& text) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return make_error(ErrorCode::kInvalidArgument, "{} expects KEY=VALUE, got '{}'", flag, text);
  }
  return std::make_pair(text.substr(0, eq), text.substr(eq + 1));
}

// KEY=VALUE[@STEP]
Result<track::MetricPoint> parse_metric(const std::string& text, int64_t timestamp) {
  SLIPWAY_ASSIGN_OR_RETURN(auto kv, parse_key_value("--metric", text));
  track::MetricPoint p;
  p.key = kv.first;
  p.timestamp_ms = timestamp;
  std::string value = kv.second;
  if (size_t at = value.rfind('@'); at != std::string::npos) {
    std::string step = value.substr(at + 1);
    char* end = nullptr;
    long long s = std::strtoll(step.c_str(), &end, 10);
    if (step.empty() || *end != '\0') {
      return make_error(ErrorCode::kInvalidArgument, "--metric '{}': step '{}' is not an integer", text, step);
    }
    p.step = s;
    value = value.substr(0, at);
  }
  char* end = nullptr;
  p.value = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0') {
    return make_error(ErrorCode::kInvalidArgument, "--metric '{}': value '{}' is not a number", text, value);
  }
  return p;
}

struct Session {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<Tracking> tracking;
};

Result<Session> open_tracking(Context& ctx) {
  Session s;
  SLIPWAY_ASSIGN_OR_RETURN(s.store, ctx.open_store());
  s.tracking = std::make_unique<Tracking>(*s.store);
  return s;
}

// An experiment by name, or by id when the text is a number that names none.
Result<track::Experiment> find_experiment(Tracking& t, const std::string& name) {
  auto e = t.get_experiment_by_name(name);
  if (e.ok() || e.status().code() != ErrorCode::kNotFound) return e;
  if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) {
    auto by_id = t.get_experiment(std::strtoll(name.c_str(), nullptr, 10));
    if (by_id.ok()) return by_id;
  }
  return e;
}

// Marks runs whose process died as failed, so listings never show them running forever.
void reap(Tracking& t) { (void)t.reap_dead_runs(now_ms(), track::kDefaultStaleAfterMs); }

std::string metric_value(const Run& r, const std::string& key) {
  for (const auto& m : r.latest_metrics) {
    if (m.key == key) return format_number(m.value);
  }
  return "-";
}

// ---- experiments ----

void register_experiments(CLI::App& app, Context& ctx, Command& run) {
  auto* exp = app.add_subcommand("experiments", "Experiments: named groups of runs");
  exp->require_subcommand(1);

  struct ListArgs {
    bool deleted = false, all = false;
  };
  auto la = std::make_shared<ListArgs>();
  auto* list = exp->add_subcommand("list", "List experiments");
  list->add_flag("--deleted", la->deleted, "Only deleted experiments");
  list->add_flag("--all", la->all, "Active and deleted experiments");
  list->footer("Example:\n  slipway experiments list");
  add_json_flag(list, ctx);
  list->callback([&ctx, &run, la] {
    run = [&ctx, la] {
      auto s = open_tracking(ctx);
      if (!s.ok()) return report_error(s.status());
      auto view = la->all ? track::SearchRunsRequest::ViewType::kAll
                          : la->deleted ? track::SearchRunsRequest::ViewType::kDeletedOnly
                                        : track::SearchRunsRequest::ViewType::kActiveOnly;
      auto exps = s->tracking->list_experiments(view);
      if (!exps.ok()) return report_error(exps.status());
      if (ctx.json) {
        json out = json::array();
        for (const auto& e : *exps) out.push_back(experiment_json(e));
        print_json({{"experiments", out}});
        return kExitOk;
      }
      TextTable table({"ID", "NAME", "LIFECYCLE", "CREATED (UTC)"});
      for (const auto& e : *exps) {
        table.add_row({std::to_string(e.id), e.name, track::lifecycle_name(e.lifecycle), format_time(e.creation_time_ms)});
      }
      std::fputs(table.render({0}).c_str(), stdout);
      return kExitOk;
    };
  });

  struct CreateArgs {
    std::string name;
    std::vector<std::string> tags;
  };
  auto ca = std::make_shared<CreateArgs>();
  auto* create = exp->add_subcommand("create", "Create an experiment");
  create->add_option("name", ca->name, "Experiment name (unique)")->required();
  create->add_option("--tag", ca->tags, "A tag KEY=VALUE (repeatable)")->type_name("KEY=VALUE");
  create->footer("Example:\n  slipway experiments create churn --tag team=growth");
  add_json_flag(create, ctx);
  create->callback([&ctx, &run, ca] {
    run = [&ctx, ca] {
      std::map<std::string, std::string> tags;
      for (const auto& t : ca->tags) {
        auto kv = parse_key_value("--tag", t);
        if (!kv.ok()) return report_error(kv.status());
        tags[kv->first] = kv->second;
      }
      auto s = open_tracking(ctx);
      if (!s.ok()) return report_error(s.status());
      auto id = s->tracking->create_experiment(ca->name, tags);
      if (!id.ok()) return report_error(id.status());
      if (ctx.json) {
        print_json({{"experiment_id", *id}, {"name", ca->name}});
      } else {
        std::printf("created experiment '%s' (id %lld)\n", ca->name.c_str(), static_cast<long long>(*id));
      }
      return kExitOk;
    };
  });
}

// ---- runs: reading ----

struct ListArgs {
  std::string experiment, filter;
  std::vector<std::string> order_by, metrics;
  size_t max = 100;
  bool deleted = false;
};

int run_list(Context& ctx, const ListArgs& a) {
  auto s = open_tracking(ctx);
  if (!s.ok()) return report_error(s.status());
  Tracking& t = *s->tracking;
  reap(t);
  track::SearchRunsRequest request;
  if (!a.experiment.empty()) {
    auto e = find_experiment(t, a.experiment);
    if (!e.ok()) return report_error(e.status());
    request.experiment_ids.push_back(e->id);
  }
  request.filter = a.filter;
  request.order_by = a.order_by;
  request.max_results = a.max;
  if (a.deleted) request.view = track::SearchRunsRequest::ViewType::kDeletedOnly;
  auto page = t.search_runs(request);
  if (!page.ok()) return report_error(page.status());
  if (ctx.json) {
    json runs = json::array();
    for (const auto& r : page->runs) runs.push_back(run_json(r));
    print_json({{"runs", runs}, {"more", !page->next_page_token.empty()}});
    return kExitOk;
  }
  auto exps = t.list_experiments(track::SearchRunsRequest::ViewType::kAll);
  std::map<int64_t, std::string> exp_names;
  if (exps.ok()) {
    for (const auto& e : *exps) exp_names[e.id] = e.name;
  }
  // Metric columns: those asked for, then those the order names.
  std::vector<std::string> metric_cols = a.metrics;
  for (const auto& o : a.order_by) {
    for (const char* prefix : {"metrics.", "metric."}) {
      if (o.starts_with(prefix)) {
        std::string key = o.substr(std::string_view(prefix).size());
        if (size_t sp = key.find(' '); sp != std::string::npos) key = key.substr(0, sp);
        if (key.size() > 1 && (key.front() == '`' || key.front() == '"')) key = key.substr(1, key.size() - 2);
        if (std::find(metric_cols.begin(), metric_cols.end(), key) == metric_cols.end()) metric_cols.push_back(key);
      }
    }
  }
  std::vector<std::string> header = {"RUN", "NAME", "EXPERIMENT", "STATUS", "STARTED (UTC)", "DURATION"};
  std::vector<size_t> right = {5};
  for (const auto& m : metric_cols) {
    right.push_back(header.size());
    header.push_back(m);
  }
  TextTable table(header);
  for (const auto& r : page->runs) {
    std::vector<std::string> row = {short_id(r.info.run_id), r.info.run_name, exp_names[r.info.experiment_id],
                                    track::run_status_name(r.info.status), format_time(r.info.start_time_ms),
                                    run_duration(r.info)};
    for (const auto& m : metric_cols) row.push_back(metric_value(r, m));
    table.add_row(std::move(row));
  }
  if (table.empty()) {
    std::printf("no runs\n");
    return kExitOk;
  }
  std::fputs(table.render(right).c_str(), stdout);
  if (!page->next_page_token.empty()) std::printf("(first %zu runs; --max N shows more)\n", page->runs.size());
  return kExitOk;
}

Result<std::string> resolve(Tracking& t, const std::string& spec) { return t.resolve_run_prefix(spec); }

void collect_artifacts(Tracking& t, const std::string& run_id, const std::string& dir,
                       std::vector<track::ArtifactEntry>& out) {
  auto entries = t.list_artifacts(run_id, dir);
  if (!entries.ok()) return;
  for (const auto& e : *entries) {
    if (e.is_dir) {
      collect_artifacts(t, run_id, e.path, out);
    } else {
      out.push_back(e);
    }
  }
}


// Plain metrics as a KEY / VALUE / STEP table; per-segment metrics, which the trainer logs as
// "METRIC/COLUMN/VALUE" (e.g. "test-auc/carrier/AA"), pivoted into one table per segment column
// (rows: segment values, columns: metrics) so a run with many segments stays readable.
void print_metrics(const std::vector<track::MetricPoint>& metrics) {
  std::vector<const track::MetricPoint*> plain;
  // column -> (metric names in first-seen order, value -> metric -> formatted value)
  struct Pivot {
    std::vector<std::string> metric_names;
    std::map<std::string, std::map<std::string, std::string>> cells;
  };
  std::map<std::string, Pivot> pivots;
  for (const auto& m : metrics) {
    size_t first = m.key.find('/');
    size_t second = first == std::string::npos ? std::string::npos : m.key.find('/', first + 1);
    if (second == std::string::npos) {
      plain.push_back(&m);
      continue;
    }
    std::string metric = m.key.substr(0, first);
    std::string column = m.key.substr(first + 1, second - first - 1);
    std::string value = m.key.substr(second + 1);
    Pivot& pivot = pivots[column];
    if (std::find(pivot.metric_names.begin(), pivot.metric_names.end(), metric) == pivot.metric_names.end()) {
      pivot.metric_names.push_back(metric);
    }
    pivot.cells[value][metric] = format_number(m.value);
  }
  if (!plain.empty()) {
    std::printf("\nmetrics (%zu, latest values)\n", plain.size());
    TextTable table({"  KEY", "VALUE", "STEP"});
    for (const auto* m : plain) table.add_row({"  " + m->key, format_number(m->value), std::to_string(m->step)});
    std::fputs(table.render({1, 2}).c_str(), stdout);
  }
  for (const auto& [column, pivot] : pivots) {
    std::printf("\nmetrics by %s (%zu values, latest)\n", column.c_str(), pivot.cells.size());
    std::vector<std::string> header = {"  " + column};
    std::vector<size_t> right;
    for (const auto& name : pivot.metric_names) {
      right.push_back(header.size());
      header.push_back(name);
    }
    TextTable table(header);
    for (const auto& [value, row] : pivot.cells) {
      std::vector<std::string> cells = {"  " + value};
      for (const auto& name : pivot.metric_names) {
        auto it = row.find(name);
        cells.push_back(it == row.end() ? "-" : it->second);
      }
      table.add_row(std::move(cells));
    }
    std::fputs(table.render(right).c_str(), stdout);
  }
}

int run_show(Context& ctx, const std::string& spec) {
  auto s = open_tracking(ctx);
  if (!s.ok()) return report_error(s.status());
  Tracking& t = *s->tracking;
  reap(t);
  auto id = resolve(t, spec);
  if (!id.ok()) return report_error(id.status());
  auto r = t.get_run(*id);
  if (!r.ok()) return report_error(r.status());
  std::vector<track::ArtifactEntry> artifacts;
  collect_artifacts(t, *id, "", artifacts);
  auto exp = t.get_experiment(r->info.experiment_id);
  if (ctx.json) {
    json j = run_json(*r);
    json arts = json::array();
    for (const auto& a : artifacts) arts.push_back({{"path", a.path}, {"size", a.size}});
    j["artifacts"] = arts;
    print_json(j);
    return kExitOk;
  }
  const auto& i = r->info;
  std::printf("run %s\n", i.run_id.c_str());
  auto line = [](const char* label, const std::string& value) { std::printf("  %-11s %s\n", label, value.c_str()); };
  line("name", i.run_name);
  line("experiment", fmt::format("{} ({})", exp.ok() ? exp->name : "?", i.experiment_id));
  line("status", std::string(track::run_status_name(i.status)) +
                     (i.lifecycle == track::Lifecycle::kDeleted ? " (deleted)" : ""));
  line("started", format_time(i.start_time_ms) + " UTC");
  if (i.end_time_ms) line("ended", fmt::format("{} UTC ({})", format_time(*i.end_time_ms), run_duration(i)));
  if (!i.user.empty()) line("user", i.user);
  if (i.parent_run_id) line("parent", *i.parent_run_id);
  if (i.owner) line("owner", fmt::format("process {} on {}", i.owner->pid, i.owner->host));
  line("artifacts", i.artifact_uri);
  if (r->output_model) line("model", *r->output_model);
  if (auto f = r->tags.find("slipway.failure"); f != r->tags.end()) line("failure", f->second);

  if (!r->params.empty()) {
    std::printf("\nparams (%zu)\n", r->params.size());
    TextTable table({"  KEY", "VALUE"});
    for (const auto& [k, v] : r->params) table.add_row({"  " + k, v});
    std::fputs(table.render().c_str(), stdout);
  }
  if (!r->latest_metrics.empty()) print_metrics(r->latest_metrics);
  if (!r->tags.empty()) {
    std::printf("\ntags (%zu)\n", r->tags.size());
    TextTable table({"  KEY", "VALUE"});
    for (const auto& [k, v] : r->tags) table.add_row({"  " + k, v});
    std::fputs(table.render().c_str(), stdout);
  }
  if (!r->inputs.empty()) {
    std::printf("\ninputs (%zu)\n", r->inputs.size());
    TextTable table({"  DATASET", "VERSION", "CONTEXT"});
    for (const auto& in : r->inputs) table.add_row({"  " + in.dataset, short_id(in.version_id), in.context});
    std::fputs(table.render().c_str(), stdout);
  }
  if (!artifacts.empty()) {
    std::printf("\nartifacts (%zu)\n", artifacts.size());
    TextTable table({"  PATH", "SIZE"});
    for (const auto& a : artifacts) table.add_row({"  " + a.path, human_bytes(static_cast<uint64_t>(a.size))});
    std::fputs(table.render({1}).c_str(), stdout);
  }
  return kExitOk;
}

// ---- runs compare ----

struct CompareArgs {
  std::vector<std::string> runs;
  std::string curve;
  size_t points = 20;
};

// One line per run: the curve squeezed into `width` buckets (each the mean of its points), drawn
// with eight block heights on a scale shared by all runs.
std::string sparkline(const std::vector<track::MetricPoint>& points, double lo, double hi, size_t width) {
  static const char* kBlocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  std::string out;
  if (points.empty()) return out;
  const size_t buckets = std::min(width, points.size());
  for (size_t b = 0; b < buckets; ++b) {
    size_t from = b * points.size() / buckets, to = (b + 1) * points.size() / buckets;
    double sum = 0;
    size_t n = 0;
    for (size_t i = from; i < to; ++i) {
      if (std::isfinite(points[i].value)) {
        sum += points[i].value;
        ++n;
      }
    }
    if (n == 0) {
      out += " ";
      continue;
    }
    double v = sum / static_cast<double>(n);
    int level = hi > lo ? static_cast<int>(std::lround((v - lo) / (hi - lo) * 7)) : 3;
    out += kBlocks[std::clamp(level, 0, 7)];
  }
  return out;
}

int run_compare(Context& ctx, const CompareArgs& a) {
  auto s = open_tracking(ctx);
  if (!s.ok()) return report_error(s.status());
  Tracking& t = *s->tracking;
  if (a.runs.size() < 2) {
    return report_error(make_error(ErrorCode::kInvalidArgument, "runs compare needs at least two runs, got {}", a.runs.size()));
  }
  reap(t);
  std::vector<Run> runs;
  for (const auto& spec : a.runs) {
    auto id = resolve(t, spec);
    if (!id.ok()) return report_error(id.status());
    auto r = t.get_run(*id);
    if (!r.ok()) return report_error(r.status());
    runs.push_back(std::move(*r));
  }
  std::set<std::string> param_keys, metric_keys;
  for (const auto& r : runs) {
    for (const auto& [k, v] : r.params) param_keys.insert(k);
    for (const auto& m : r.latest_metrics) metric_keys.insert(m.key);
  }
  auto param_of = [](const Run& r, const std::string& k) {
    auto it = r.params.find(k);
    return it == r.params.end() ? std::string("-") : it->second;
  };

  if (!a.curve.empty()) {
    std::vector<std::vector<track::MetricPoint>> curves;
    for (const auto& r : runs) {
      auto h = t.metric_history(r.info.run_id, a.curve);
      if (!h.ok()) return report_error(h.status());
      curves.push_back(std::move(*h));
    }
    if (ctx.json) {
      json out = json::array();
      for (size_t i = 0; i < runs.size(); ++i) {
        json pts = json::array();
        for (const auto& p : curves[i]) pts.push_back({{"step", p.step}, {"value", number_json(p.value)}, {"timestamp", p.timestamp_ms}});
        out.push_back({{"run_id", runs[i].info.run_id}, {"points", pts}});
      }
      print_json({{"metric", a.curve}, {"runs", out}});
      return kExitOk;
    }
    size_t total = 0;
    double lo = INFINITY, hi = -INFINITY;
    std::set<int64_t> steps;
    for (const auto& c : curves) {
      total += c.size();
      for (const auto& p : c) {
        steps.insert(p.step);
        if (std::isfinite(p.value)) {
          lo = std::min(lo, p.value);
          hi = std::max(hi, p.value);
        }
      }
    }
    if (total == 0) {
      return report_error(make_error(ErrorCode::kNotFound, "none of the runs logged metric '{}'", a.curve));
    }
    std::printf("%s by step (%zu runs, %s points)\n", a.curve.c_str(), runs.size(), human_count(total).c_str());
    TextTable lines({"  RUN", "CURVE", "FIRST", "LAST"});
    for (size_t i = 0; i < runs.size(); ++i) {
      const auto& c = curves[i];
      lines.add_row({"  " + short_id(runs[i].info.run_id), c.empty() ? "-" : sparkline(c, lo, hi, 40),
                     c.empty() ? "-" : format_number(c.front().value), c.empty() ? "-" : format_number(c.back().value)});
    }
    std::fputs(lines.render({2, 3}).c_str(), stdout);
    // The step table: at most `points` steps, evenly spread, always the first and the last.
    std::vector<int64_t> all(steps.begin(), steps.end());
    std::vector<int64_t> shown;
    const size_t n = std::max<size_t>(2, a.points);
    if (all.size() <= n) {
      shown = all;
    } else {
      for (size_t k = 0; k < n; ++k) shown.push_back(all[k * (all.size() - 1) / (n - 1)]);
    }
    std::vector<std::string> header = {"STEP"};
    std::vector<size_t> right = {0};
    for (size_t i = 0; i < runs.size(); ++i) {
      right.push_back(header.size());
      header.push_back(short_id(runs[i].info.run_id));
    }
    TextTable table(header);
    for (int64_t step : shown) {
      std::vector<std::string> row = {std::to_string(step)};
      for (const auto& c : curves) {
        // The last point logged at that step (history is ordered by step, then time).
        auto it = std::upper_bound(c.begin(), c.end(), step,
                                   [](int64_t s, const track::MetricPoint& p) { return s < p.step; });
        row.push_back(it != c.begin() && std::prev(it)->step == step ? format_number(std::prev(it)->value) : "-");
      }
      table.add_row(std::move(row));
    }
    std::printf("\n");
    std::fputs(table.render(right).c_str(), stdout);
    return kExitOk;
  }

  if (ctx.json) {
    json out = json::array();
    for (const auto& r : runs) out.push_back(run_json(r));
    json differ_params = json::array(), differ_metrics = json::array();
    for (const auto& k : param_keys) {
      std::set<std::string> values;
      for (const auto& r : runs) values.insert(param_of(r, k));
      if (values.size() > 1) differ_params.push_back(k);
    }
    for (const auto& k : metric_keys) {
      std::set<std::string> values;
      for (const auto& r : runs) values.insert(metric_value(r, k));
      if (values.size() > 1) differ_metrics.push_back(k);
    }
    print_json({{"runs", out}, {"differing_params", differ_params}, {"differing_metrics", differ_metrics}});
    return kExitOk;
  }
  std::vector<std::string> header = {""};
  for (const auto& r : runs) header.push_back(short_id(r.info.run_id));
  TextTable table(header);
  auto add = [&](const std::string& label, const std::vector<std::string>& values, bool mark) {
    std::vector<std::string> row = {(mark ? "* " : "  ") + label};
    row.insert(row.end(), values.begin(), values.end());
    table.add_row(std::move(row));
  };
  auto section = [&](const std::string& title) { table.add_row({title}); };
  auto each = [&](auto&& f) {
    std::vector<std::string> v;
    for (const auto& r : runs) v.push_back(f(r));
    return v;
  };
  auto differs = [](const std::vector<std::string>& v) { return std::set<std::string>(v.begin(), v.end()).size() > 1; };
  add("name", each([](const Run& r) { return r.info.run_name; }), false);
  add("status", each([](const Run& r) { return std::string(track::run_status_name(r.info.status)); }), false);
  add("duration", each([](const Run& r) { return run_duration(r.info); }), false);
  size_t differing = 0;
  if (!param_keys.empty()) {
    section("params");
    for (const auto& k : param_keys) {
      auto v = each([&](const Run& r) { return param_of(r, k); });
      bool d = differs(v);
      differing += d;
      add(k, v, d);
    }
  }
  if (!metric_keys.empty()) {
    section("metrics (final)");
    for (const auto& k : metric_keys) {
      auto v = each([&](const Run& r) { return metric_value(r, k); });
      bool d = differs(v);
      differing += d;
      add(k, v, d);
    }
  }
  std::fputs(table.render().c_str(), stdout);
  std::printf("%zu of %zu params and metrics differ (marked *)\n", differing, param_keys.size() + metric_keys.size());
  return kExitOk;
}

// ---- runs: writing ----

struct CreateArgs {
  std::string experiment = "Default", name, parent;
  std::vector<std::string> params, tags;
  int64_t owner_pid = 0;
};

int run_create(Context& ctx, const CreateArgs& a) {
  track::LogBatch batch;
  for (const auto& p : a.params) {
    auto kv = parse_key_value("--param", p);
    if (!kv.ok()) return report_error(kv.status());
    batch.params.push_back(*kv);
  }
  track::CreateRunRequest request;
  for (const auto& tg : a.tags) {
    auto kv = parse_key_value("--tag", tg);
    if (!kv.ok()) return report_error(kv.status());
    request.tags[kv->first] = kv->second;
  }
  auto s = open_tracking(ctx);
  if (!s.ok()) return report_error(s.status());
  Tracking& t = *s->tracking;
  auto exp = find_experiment(t, a.experiment);
  if (!exp.ok() && exp.status().code() == ErrorCode::kNotFound) {
    // As mlflow.set_experiment: a script names its experiment and it exists from then on.
    auto id = t.create_experiment(a.experiment);
    if (!id.ok()) return report_error(id.status());
    exp = t.get_experiment(*id);
  }
  if (!exp.ok()) return report_error(exp.status());
  request.experiment_id = exp->id;
  request.run_name = a.name;
  request.user = user_name();
  if (!a.parent.empty()) {
    auto parent = resolve(t, a.parent);
    if (!parent.ok()) return report_error(parent.status());
    request.parent_run_id = *parent;
  }
  if (a.owner_pid != 0) {
    auto owner = Tracking::process_owner(a.owner_pid);
    if (!owner.ok()) return report_error(owner.status().with_context("--owner-pid"));
    request.owner = *owner;
  }
  auto info = t.create_run(request);
  if (!info.ok()) return report_error(info.status());
  if (!batch.params.empty()) {
    Status st = t.log_batch(info->run_id, batch);
    if (!st.ok()) {
      (void)t.purge_run(info->run_id);  // a bad --param leaves no half-made run behind
      return report_error(st);
    }
  }
  if (ctx.json) {
    print_json(info_json(*info));
  } else {
    std::printf("%s\n", info->run_id.c_str());
  }
  return kExitOk;
}

struct LogArgs {
  std::string run;
  std::vector<std::string> params, metrics, tags, artifacts;
};

int run_log(Context& ctx, const LogArgs& a) {
  const int64_t now = now_ms();
  track::LogBatch batch;
  for (const auto& p : a.params) {
    auto kv = parse_key_value("--param", p);
    if (!kv.ok()) return report_error(kv.status());
    batch.params.push_back(*kv);
  }
  for (const auto& m : a.metrics) {
    auto point = parse_metric(m, now);
    if (!point.ok()) return report_error(point.status());
    batch.metrics.push_back(*point);
  }
  for (const auto& tg : a.tags) {
    auto kv = parse_key_value("--tag", tg);
    if (!kv.ok()) return report_error(kv.status());
    batch.tags.push_back(*kv);
  }
  // --artifact FILE (stored under the file's name) or --artifact PATH=FILE.
  std::vector<std::pair<std::string, std::string>> artifacts;
  for (const auto& spec : a.artifacts) {
    size_t eq = spec.find('=');
    std::string file = eq == std::string::npos ? spec : spec.substr(eq + 1);
    std::string path = eq == std::string::npos ? std::filesystem::path(spec).filename().string() : spec.substr(0, eq);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
      return report_error(make_error(ErrorCode::kNotFound, "--artifact: {}: no such file", file));
    }
    artifacts.emplace_back(path, file);
  }
  if (batch.params.empty() && batch.metrics.empty() && batch.tags.empty() && artifacts.empty()) {
    return report_error(
        make_error(ErrorCode::kInvalidArgument, "nothing to log: give --param, --metric, --tag or --artifact"));
  }
  auto s = open_tracking(ctx);
  if (!s.ok()) return report_error(s.status());
  auto id = resolve(*s->tracking, a.run);
  if (!id.ok()) return report_error(id.status());
  if (!batch.params.empty() || !batch.metrics.empty() || !batch.tags.empty()) {
    Status st = s->tracking->log_batch(*id, batch);
    if (!st.ok()) return report_error(st);
  }
  for (const auto& [path, file] : artifacts) {
    Status st = s->tracking->put_artifact_file(*id, path, file);
    if (!st.ok()) return report_error(st);
  }
  if (ctx.json) {
    print_json({{"run_id", *id},
                {"metrics", batch.metrics.size()},
                {"params", batch.params.size()},
                {"tags", batch.tags.size()},
                {"artifacts", artifacts.size()}});
  } else {
    std::printf("logged %zu metric(s), %zu param(s), %zu tag(s)%s to run %s\n", batch.metrics.size(),
                batch.params.size(), batch.tags.size(),
                artifacts.empty() ? "" : fmt::format(", {} artifact(s)", artifacts.size()).c_str(), short_id(*id).c_str());
  }
  return kExitOk;
}

void add_run_lifecycle(CLI::App* runs, Context& ctx, Command& run, const char* verb, const char* help,
                       bool restore) {
  auto spec = std::make_shared<std::string>();
  auto* cmd = runs->add_subcommand(verb, help);
  cmd->add_option("run", *spec, "Run id (or a unique prefix of at least 6 characters)")->required();
  cmd->footer(fmt::format("Example:\n  slipway runs {} 3fa2b1", verb));
  add_json_flag(cmd, ctx);
  cmd->callback([&ctx, &run, spec, restore] {
    run = [&ctx, spec, restore] {
      auto s = open_tracking(ctx);
      if (!s.ok()) return report_error(s.status());
      auto id = resolve(*s->tracking, *spec);
      if (!id.ok()) return report_error(id.status());
      Status st = restore ? s->tracking->restore_run(*id) : s->tracking->delete_run(*id);
      if (!st.ok()) return report_error(st);
      if (ctx.json) {
        print_json({{"run_id", *id}, {"lifecycle", restore ? "active" : "deleted"}});
      } else if (restore) {
        std::printf("restored run %s\n", id->c_str());
      } else {
        std::printf("deleted run %s (`slipway runs restore %s` brings it back)\n", id->c_str(), short_id(*id).c_str());
      }
      return kExitOk;
    };
  });
}

void register_runs(CLI::App& app, Context& ctx, Command& run) {
  auto* runs = app.add_subcommand("runs", "Tracked runs: list, show, compare, and create/log/end from scripts");
  runs->require_subcommand(1);

  auto la = std::make_shared<ListArgs>();
  auto* list = runs->add_subcommand("list", "List runs, newest first (runs whose process died are marked FAILED first)");
  list->add_option("--experiment", la->experiment, "Only this experiment (name or id)")->type_name("NAME");
  list->add_option("--filter", la->filter, "MLflow search filter, e.g. \"metrics.auc > 0.8 and params.model = 'xgboost'\"")
      ->type_name("EXPR");
  list->add_option("--order-by", la->order_by, "Order, e.g. 'metrics.auc DESC' (repeatable)")->type_name("COLUMN");
  list->add_option("--max", la->max, "At most N runs (default 100, at most 50000)")->type_name("N");
  list->add_option("--metric", la->metrics, "Show this metric as a column (repeatable)")->type_name("KEY");
  list->add_flag("--deleted", la->deleted, "Only deleted runs");
  list->footer(
      "Examples:\n"
      "  slipway runs list --experiment churn\n"
      "  slipway runs list --filter \"metrics.auc > 0.8 and params.model = 'xgboost'\" --order-by 'metrics.auc DESC'");
  add_json_flag(list, ctx);
  list->callback([&ctx, &run, la] { run = [&ctx, la] { return run_list(ctx, *la); }; });

  auto show_spec = std::make_shared<std::string>();
  auto* show = runs->add_subcommand("show", "Show a run: info, params, latest metrics, tags, inputs, model, artifacts");
  show->add_option("run", *show_spec, "Run id (or a unique prefix of at least 6 characters)")->required();
  show->footer("Example:\n  slipway runs show 3fa2b1");
  add_json_flag(show, ctx);
  show->callback([&ctx, &run, show_spec] { run = [&ctx, show_spec] { return run_show(ctx, *show_spec); }; });

  auto ca = std::make_shared<CompareArgs>();
  auto* compare = runs->add_subcommand("compare", "Params and final metrics of runs side by side; differing ones marked *");
  compare->add_option("runs", ca->runs, "Two or more run ids (or unique prefixes)")->required();
  compare->add_option("--curve", ca->curve, "Print this metric's curves instead: one line per run and a step table")
      ->type_name("METRIC");
  compare->add_option("--points", ca->points, "Steps in the --curve table (default 20)")->type_name("N");
  compare->footer("Examples:\n  slipway runs compare 3fa2b1 91c0de\n  slipway runs compare 3fa2b1 91c0de --curve loss");
  add_json_flag(compare, ctx);
  compare->callback([&ctx, &run, ca] { run = [&ctx, ca] { return run_compare(ctx, *ca); }; });

  add_run_lifecycle(runs, ctx, run, "delete", "Delete a run (soft: `runs restore` brings it back)", false);
  add_run_lifecycle(runs, ctx, run, "restore", "Restore a deleted run", true);

  auto cr = std::make_shared<CreateArgs>();
  auto* create = runs->add_subcommand("create", "Start a run from a script; prints its id");
  create->add_option("--experiment", cr->experiment, "Experiment name (created if missing; default Default)")
      ->type_name("NAME");
  create->add_option("--name", cr->name, "Run name (default: a generated one)");
  create->add_option("--param", cr->params, "A param KEY=VALUE (repeatable)")->type_name("KEY=VALUE");
  create->add_option("--tag", cr->tags, "A tag KEY=VALUE (repeatable)")->type_name("KEY=VALUE");
  create->add_option("--parent", cr->parent, "Parent run id (nested runs)")->type_name("RUN");
  create->add_option("--owner-pid", cr->owner_pid,
                     "The run belongs to this process (e.g. $$): if it exits before `runs end`, the run is marked FAILED")
      ->type_name("PID");
  create->footer(
      "Example:\n"
      "  run=$(slipway runs create --experiment churn --param lr=0.1 --owner-pid $$)\n"
      "  slipway runs log $run --metric loss=0.42@1\n"
      "  slipway runs end $run");
  add_json_flag(create, ctx);
  create->callback([&ctx, &run, cr] { run = [&ctx, cr] { return run_create(ctx, *cr); }; });

  auto lg = std::make_shared<LogArgs>();
  auto* log = runs->add_subcommand("log", "Log params, metrics and tags to a run (one transaction), and artifacts");
  log->add_option("run", lg->run, "Run id (or a unique prefix of at least 6 characters)")->required();
  log->add_option("--param", lg->params, "A param KEY=VALUE (repeatable; params never change)")->type_name("KEY=VALUE");
  log->add_option("--metric", lg->metrics, "A metric point KEY=VALUE or KEY=VALUE@STEP (repeatable)")
      ->type_name("KEY=VALUE[@STEP]");
  log->add_option("--tag", lg->tags, "A tag KEY=VALUE (repeatable; overwrites)")->type_name("KEY=VALUE");
  log->add_option("--artifact", lg->artifacts, "Store a file with the run: FILE, or PATH=FILE (repeatable)")
      ->type_name("[PATH=]FILE");
  log->footer(
      "Examples:\n"
      "  slipway runs log 3fa2b1 --metric loss=0.42@10 --metric auc=0.81@10 --tag stage=tuning\n"
      "  slipway runs log 3fa2b1 --artifact plots/roc.png=roc.png");
  add_json_flag(log, ctx);
  log->callback([&ctx, &run, lg] { run = [&ctx, lg] { return run_log(ctx, *lg); }; });

  struct EndArgs {
    std::string run, status = "FINISHED";
  };
  auto ea = std::make_shared<EndArgs>();
  auto* end = runs->add_subcommand("end", "End a run (FINISHED, or --status FAILED / KILLED)");
  end->add_option("run", ea->run, "Run id (or a unique prefix of at least 6 characters)")->required();
  end->add_option("--status", ea->status, "FINISHED (default), FAILED or KILLED");
  end->footer("Example:\n  slipway runs end 3fa2b1 --status FAILED");
  add_json_flag(end, ctx);
  end->callback([&ctx, &run, ea] {
    run = [&ctx, ea] {
      auto status = track::parse_run_status(ea->status);
      if (!status.ok()) return report_error(status.status());
      if (*status == track::RunStatus::kRunning || *status == track::RunStatus::kScheduled) {
        return report_error(make_error(ErrorCode::kInvalidArgument,
                                       "--status must be FINISHED, FAILED or KILLED, got '{}'", ea->status));
      }
      auto s = open_tracking(ctx);
      if (!s.ok()) return report_error(s.status());
      auto id = resolve(*s->tracking, ea->run);
      if (!id.ok()) return report_error(id.status());
      track::UpdateRunRequest request;
      request.status = *status;
      auto info = s->tracking->update_run(*id, request);
      if (!info.ok()) return report_error(info.status());
      if (ctx.json) {
        print_json(info_json(*info));
      } else {
        std::printf("run %s %s after %s\n", short_id(*id).c_str(), track::run_status_name(info->status),
                    run_duration(*info).c_str());
      }
      return kExitOk;
    };
  });
}

}  // namespace

void register_tracking_commands(CLI::App& app, Context& ctx, Command& run) {
  register_experiments(app, ctx, run);
  register_runs(app, ctx, run);
}

}  // namespace slipway::cli
