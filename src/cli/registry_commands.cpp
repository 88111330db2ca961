// slipway models <verb>: register, list, show, alias, update, archive, unarchive, rename, delete,
// history, deployments. Thin: slipway/registry/registry.h does the work. A model is named as
// NAME (latest version that is not archived), NAME/N or NAME@ALIAS everywhere.
#include <pwd.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>

#include "context.h"
#include "output.h"
#include "slipway/model/bundle.h"
#include "slipway/registry/registry.h"

namespace slipway::cli {

namespace {

using nlohmann::json;
using registry::Registry;

std::string user_name() {
  for (const char* var : {"SLIPWAY_AUTHOR", "USER", "LOGNAME"}) {
    const char* v = std::getenv(var);
    if (v != nullptr && *v != '\0') return v;
  }
  if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_name != nullptr) return pw->pw_name;
  return "unknown";
}

// The command line as the user would type it again (the default reason in the audit trail).
std::string command_line(const Context& ctx) {
  std::string out;
  for (const auto& a : ctx.argv) {
    if (!out.empty()) out += ' ';
    if (a.empty() || a.find_first_of(" \t\"'$\\") != std::string::npos) {
      out += '\'';
      for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
      out += '\'';
    } else {
      out += a;
    }
  }
  return out;
}

registry::Actor actor(const Context& ctx, const std::string& reason) {
  return {user_name(), reason.empty() ? command_line(ctx) : reason};
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

json number_json(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

std::string join(const std::vector<std::string>& parts, const char* sep = ", ") {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

Result<std::pair<std::string, std::string>> parse_key_value(const std::string& flag, const std::string& text) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return make_error(ErrorCode::kInvalidArgument, "{} expects KEY=VALUE, got '{}'", flag, text);
  }
  return std::make_pair(text.substr(0, eq), text.substr(eq + 1));
}

json version_json(const registry::ModelVersion& v) {
  json inputs = json::array();
  for (const auto& in : v.signature.inputs) inputs.push_back({{"name", in.name}, {"kind", in.kind}});
  json metrics = json::object();
  for (const auto& [k, value] : v.metrics) metrics[k] = number_json(value);
  json datasets = json::array();
  for (const auto& d : v.datasets) {
    datasets.push_back({{"dataset", d.dataset}, {"version", d.version_id}, {"context", d.context}});
  }
  return {{"name", v.name},
          {"version", v.version},
          {"bundle", v.bundle_object_id.empty() ? json(nullptr) : json(v.bundle_object_id)},
          {"source", v.source},
          {"run_id", v.run_id ? json(*v.run_id) : json(nullptr)},
          {"description", v.description},
          {"tags", v.tags},
          {"aliases", v.aliases},
          {"archived", v.archived},
          {"user", v.user},
          {"creation_time", v.creation_time_ms},
          {"last_updated_time", v.last_updated_time_ms},
          {"signature", {{"task", v.signature.task}, {"inputs", inputs}, {"outputs", v.signature.outputs}}},
          {"metrics", metrics},
          {"datasets", datasets}};
}

json model_json(const registry::RegisteredModel& m) {
  return {{"name", m.name},
          {"description", m.description},
          {"tags", m.tags},
          {"aliases", m.aliases},
          {"latest_version", m.latest_version ? json(*m.latest_version) : json(nullptr)},
          {"versions", m.version_count},
          {"creation_time", m.creation_time_ms},
          {"last_updated_time", m.last_updated_time_ms}};
}

json deployment_json(const registry::Deployment& d) {
  return {{"name", d.name},     {"version", d.version}, {"endpoint", d.endpoint},
          {"host", d.host},     {"pid", d.pid},         {"started", d.started_ms}};
}

struct Session {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<Registry> registry;
};

Result<Session> open_registry(Context& ctx) {
  Session s;
  SLIPWAY_ASSIGN_OR_RETURN(s.store, ctx.open_store());
  s.registry = std::make_unique<Registry>(*s.store);
  return s;
}

// A version-level spec (NAME/N or NAME@ALIAS); plain NAME is refused with what to write instead.
Result<registry::ModelRef> resolve_version_spec(Registry& r, const std::string& spec, const char* verb) {
  SLIPWAY_ASSIGN_OR_RETURN(auto parsed, registry::parse_model_spec(spec));
  if (!parsed.version && !parsed.alias) {
    return make_error(ErrorCode::kInvalidArgument, "`slipway models {}` needs a version: {}/N or {}@ALIAS", verb,
                      parsed.name, parsed.name);
  }
  return r.resolve(spec);
}

int ok_message(Context& ctx, const json& j, const std::string& text) {
  if (ctx.json) {
    print_json(j);
  } else {
    std::printf("%s\n", text.c_str());
  }
  return kExitOk;
}

// ---- register ----

struct RegisterArgs {
  std::string source, name, description, reason;
  std::vector<std::string> tags, aliases;
};

int run_register(Context& ctx, const RegisterArgs& a) {
  std::map<std::string, std::string> tags;
  for (const auto& t : a.tags) {
    auto kv = parse_key_value("--tag", t);
    if (!kv.ok()) return report_error(kv.status());
    tags[kv->first] = kv->second;
  }
  if (Status s = registry::validate_model_name(a.name); !s.ok()) return report_error(s);
  for (const auto& alias : a.aliases) {
    if (Status s = registry::validate_alias(alias); !s.ok()) return report_error(s);
  }
  auto s = open_registry(ctx);
  if (!s.ok()) return report_error(s.status());
  Registry& r = *s->registry;
  std::error_code ec;
  const bool is_file = std::filesystem::is_regular_file(a.source, ec);
  const bool looks_like_run = !a.source.empty() && a.source.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (!is_file && !looks_like_run) {
    return report_error(make_error(ErrorCode::kNotFound, "'{}' is neither a model bundle file nor a run in this store",
                                   a.source));
  }
  Result<registry::NewVersion> v = is_file ? r.version_from_bundle_file(a.source) : r.version_from_run(a.source);
  if (!v.ok()) {
    if (!is_file && v.status().code() == ErrorCode::kNotFound) {
      return report_error(make_error(ErrorCode::kNotFound, "'{}' is neither a model bundle file nor a run in this store",
                                     a.source));
    }
    return report_error(v.status());
  }
  v->name = a.name;
  v->description = a.description;
  v->tags = tags;
  v->aliases = a.aliases;
  auto created = r.register_version(*v, actor(ctx, a.reason));
  if (!created.ok()) return report_error(created.status());
  if (ctx.json) {
    print_json(version_json(*created));
    return kExitOk;
  }
  std::string from = created->run_id ? "run " + short_id(*created->run_id) : created->source;
  std::printf("registered %s/%lld from %s (bundle %s)\n", created->name.c_str(),
              static_cast<long long>(created->version), from.c_str(), short_id(created->bundle_object_id).c_str());
  if (!created->aliases.empty()) std::printf("  aliases: %s\n", join(created->aliases).c_str());
  return kExitOk;
}

// ---- list / show ----

int run_list(Context& ctx, const std::string& like) {
  auto s = open_registry(ctx);
  if (!s.ok()) return report_error(s.status());
  registry::SearchModelsRequest request;
  request.name_like = like;
  request.max_results = 100000;
  auto page = s->registry->search_models(request);
  if (!page.ok()) return report_error(page.status());
  if (ctx.json) {
    json models = json::array();
    for (const auto& m : page->models) models.push_back(model_json(m));
    print_json({{"models", models}});
    return kExitOk;
  }
  if (page->models.empty()) {
    std::printf("no registered models\n");
    return kExitOk;
  }
  TextTable table({"NAME", "VERSIONS", "LATEST", "ALIASES", "UPDATED (UTC)", "DESCRIPTION"});
  for (const auto& m : page->models) {
    std::vector<std::string> aliases;
    for (const auto& [alias, version] : m.aliases) aliases.push_back(fmt::format("{}={}", alias, version));
    table.add_row({m.name, std::to_string(m.version_count),
                   m.latest_version ? std::to_string(*m.latest_version) : "-", aliases.empty() ? "-" : join(aliases),
                   format_time(m.last_updated_time_ms), m.description});
  }
  std::fputs(table.render({1, 2}).c_str(), stdout);
  return kExitOk;
}

void line(const char* label, const std::string& value) { std::printf("  %-12s %s\n", label, value.c_str()); }

int show_version(Context& ctx, Registry& r, const registry::ModelVersion& v) {
  auto deployments = r.deployments(v.name);
  std::vector<registry::Deployment> mine;
  if (deployments.ok()) {
    for (const auto& d : *deployments) {
      if (d.version == v.version) mine.push_back(d);
    }
  }
  if (ctx.json) {
    json j = version_json(v);
    json deps = json::array();
    for (const auto& d : mine) deps.push_back(deployment_json(d));
    j["deployments"] = deps;
    print_json(j);
    return kExitOk;
  }
  std::printf("%s/%lld\n", v.name.c_str(), static_cast<long long>(v.version));
  if (!v.aliases.empty()) line("aliases", join(v.aliases));
  line("status", v.archived ? "archived" : "ready");
  line("bundle", v.bundle_object_id.empty() ? "none (cannot be served)" : v.bundle_object_id);
  line("source", v.source);
  if (v.run_id) line("run", *v.run_id);
  line("registered", format_time(v.creation_time_ms) + " UTC by " + v.user);
  if (!v.description.empty()) line("description", v.description);
  if (!v.signature.task.empty()) line("task", v.signature.task);
  if (!v.signature.inputs.empty()) {
    std::vector<std::string> inputs;
    for (const auto& in : v.signature.inputs) inputs.push_back(in.name + " (" + in.kind + ")");
    line("inputs", join(inputs));
  }
  if (!v.signature.outputs.empty()) line("outputs", join(v.signature.outputs));
  if (!v.metrics.empty()) {
    std::vector<std::string> metrics;
    for (const auto& [k, value] : v.metrics) metrics.push_back(k + "=" + format_number(value));
    line("metrics", join(metrics));
  }
  for (const auto& d : v.datasets) {
    std::string what = d.dataset.empty() ? d.version_id : d.dataset + "@" + short_id(d.version_id);
    line("dataset", d.context.empty() ? what : what + " (" + d.context + ")");
  }
  for (const auto& [k, value] : v.tags) line("tag", k + "=" + value);
  for (const auto& d : mine) {
    line("deployed", fmt::format("endpoint {} (pid {} on {}, since {} UTC)", d.endpoint, d.pid, d.host,
                                 format_time(d.started_ms)));
  }
  return kExitOk;
}

int run_show(Context& ctx, const std::string& spec) {
  auto parsed = registry::parse_model_spec(spec);
  if (!parsed.ok()) return report_error(parsed.status());
  auto s = open_registry(ctx);
  if (!s.ok()) return report_error(s.status());
  Registry& r = *s->registry;
  // NAME@latest names a version (the latest not archived); plain NAME names the model.
  if (parsed->version || parsed->alias || spec.find('@') != std::string::npos) {
    auto v = r.resolve_version(spec);
    if (!v.ok()) return report_error(v.status());
    return show_version(ctx, r, *v);
  }
  auto m = r.get_model(parsed->name);
  if (!m.ok()) return report_error(m.status());
  registry::SearchVersionsRequest request;
  request.name = parsed->name;
  request.max_results = 100000;
  auto versions = r.search_versions(request);
  if (!versions.ok()) return report_error(versions.status());
  auto deployments = r.deployments(parsed->name);
  if (ctx.json) {
    json j = model_json(*m);
    json vs = json::array();
    for (const auto& v : versions->versions) vs.push_back(version_json(v));
    j["versions"] = vs;
    json deps = json::array();
    if (deployments.ok()) {
      for (const auto& d : *deployments) deps.push_back(deployment_json(d));
    }
    j["deployments"] = deps;
    print_json(j);
    return kExitOk;
  }
  std::printf("%s\n", m->name.c_str());
  if (!m->description.empty()) line("description", m->description);
  for (const auto& [k, value] : m->tags) line("tag", k + "=" + value);
  for (const auto& [alias, version] : m->aliases) line("alias", fmt::format("{} -> {}", alias, version));
  if (deployments.ok()) {
    for (const auto& d : *deployments) {
      line("deployed", fmt::format("{}/{} at endpoint {} (pid {}, since {} UTC)", d.name, d.version, d.endpoint, d.pid,
                                   format_time(d.started_ms)));
    }
  }
  if (versions->versions.empty()) {
    std::printf("\nno versions\n");
    return kExitOk;
  }
  std::printf("\n");
  TextTable table({"VERSION", "STATUS", "ALIASES", "RUN", "REGISTERED (UTC)", "BY", "DESCRIPTION"});
  for (const auto& v : versions->versions) {
    table.add_row({std::to_string(v.version), v.archived ? "archived" : "ready",
                   v.aliases.empty() ? "-" : join(v.aliases), v.run_id ? short_id(*v.run_id) : "-",
                   format_time(v.creation_time_ms), v.user, v.description});
  }
  std::fputs(table.render({0}).c_str(), stdout);
  return kExitOk;
}

// ---- changes ----

struct AliasArgs {
  std::string name, alias, reason;
  std::string version;
  bool remove = false;
};

int run_alias(Context& ctx, const AliasArgs& a) {
  if (Status s = registry::validate_model_name(a.name); !s.ok()) return report_error(s);
  auto s = open_registry(ctx);
  if (!s.ok()) return report_error(s.status());
  Registry& r = *s->registry;
  if (a.remove) {
    if (!a.version.empty()) {
      return report_error(make_error(ErrorCode::kInvalidArgument, "--delete takes no version: slipway models alias {} "
                                                                  "{} --delete",
                                     a.name, a.alias));
    }
    Status st = r.delete_alias(a.name, a.alias, actor(ctx, a.reason));
    if (!st.ok()) return report_error(st);
    return ok_message(ctx, {{"name", a.name}, {"alias", a.alias}, {"deleted", true}},
                      fmt::format("deleted alias {}@{}", a.name, a.alias));
  }
  if (a.version.empty()) {
    return report_error(make_error(ErrorCode::kInvalidArgument,
                                   "which version should {}@{} point at? slipway models alias {} {} N", a.name,
                                   a.alias, a.name, a.alias));
  }
  // The version may itself be named through another alias: `models alias churn champion @challenger`.
  int64_t version = 0;
  if (a.version.starts_with("@")) {
    auto ref = r.resolve(a.name + a.version);
    if (!ref.ok()) return report_error(ref.status());
    version = ref->version;
  } else {
    char* end = nullptr;
    long long v = std::strtoll(a.version.c_str(), &end, 10);
    if (a.version.empty() || *end != '\0' || v <= 0) {
      return report_error(make_error(ErrorCode::kInvalidArgument, "model version '{}' is not a positive integer",
                                     a.version));
    }
    version = v;
  }
  Status st = r.set_alias(a.name, a.alias, version, actor(ctx, a.reason));
  if (!st.ok()) return report_error(st);
  return ok_message(ctx, {{"name", a.name}, {"alias", a.alias}, {"version", version}},
                    fmt::format("{}@{} -> {}/{}", a.name, a.alias, a.name, version));
}

struct UpdateArgs {
  std::string spec, reason, description_text;
  std::optional<std::string> description;  // set when --description was given (even empty)
  std::vector<std::string> tags, delete_tags;
};

int run_update(Context& ctx, const UpdateArgs& a) {
  auto parsed = registry::parse_model_spec(a.spec);
  if (!parsed.ok()) return report_error(parsed.status());
  if (!a.description && a.tags.empty() && a.delete_tags.empty()) {
    return report_error(make_error(ErrorCode::kInvalidArgument,
                                   "nothing to update: give --description, --tag KEY=VALUE or --delete-tag KEY"));
  }
  std::vector<std::pair<std::string, std::string>> tags;
  for (const auto& t : a.tags) {
    auto kv = parse_key_value("--tag", t);
    if (!kv.ok()) return report_error(kv.status());
    tags.push_back(*kv);
  }
  auto s = open_registry(ctx);
  if (!s.ok()) return report_error(s.status());
  Registry& r = *s->registry;
  const registry::Actor who = actor(ctx, a.reason);
  std::optional<int64_t> version;
  if (parsed->version || parsed->alias) {
    auto ref = r.resolve(a.spec);
    if (!ref.ok()) return report_error(ref.status());
    version = ref->version;
  }
  const std::string& name = parsed->name;
  auto apply = [&]() -> Status {
    if (a.description) {
      SLIPWAY_RETURN_IF_ERROR(version ? r.set_version_description(name, *version, *a.description, who)
                                      : r.set_model_description(name, *a.description, who));
    }
    for (const auto& [k, v] : tags) {
      SLIPWAY_RETURN_IF_ERROR(version ? r.set_version_tag(name, *version, k, v, who) : r.set_model_tag(name, k, v, who));
    }
    for (const auto& k : a.delete_tags) {
      SLIPWAY_RETURN_IF_ERROR(version ? r.delete_version_tag(name, *version, k, who) : r.delete_model_tag(name, k, who));
    }
    return {};
  };
  if (Status st = apply(); !st.ok()) return report_error(st);
  const std::string what = version ? fmt::format("{}/{}", name, *version) : name;
  return ok_message(ctx, {{"name", name}, {"version", version ? json(*version) : json(nullptr)}, {"updated", true}},
                    "updated " + what);
}

int run_archive(Context& ctx, const std::string& spec, const std::string& reason, bool archive) {
  auto s = open_registry(ctx);
  if (!s.ok()) return report_error(s.status());
  Registry& r = *s->registry;
  auto ref = resolve_version_spec(r, spec, archive ? "archive" : "unarchive");
  if (!ref.ok()) return report_error(ref.status());
  Status st = archive ? r.archive_version(ref->name, ref->version, actor(ctx, reason))
                      : r.unarchive_version(ref->name, ref->version, actor(ctx, reason));
  if (!st.ok()) return report_error(st);
  return ok_message(ctx, {{"name", ref->name}, {"version", ref->version}, {"archived", archive}},
                    fmt::format("{} {}/{}", archive ? "archived" : "unarchived", ref->name, ref->version));
}

int run_delete(Context& ctx, const std::string& spec, const std::string& reason) {
  auto parsed = registry::parse_model_spec(spec);
  if (!parsed.ok()) return report_error(parsed.status());
  auto s = open_registry(ctx);
  if (!s.ok()) return report_error(s.status());
  Registry& r = *s->registry;
  if (!parsed->version && !parsed->alias) {
    Status st = r.delete_model(parsed->name, actor(ctx, reason));
    if (!st.ok()) return report_error(st);
    return ok_message(ctx, {{"name", parsed->name}, {"deleted", true}},
                      fmt::format("deleted model {} and all its versions", parsed->name));
  }
  auto ref = r.resolve(spec);
  if (!ref.ok()) return report_error(ref.status());
  Status st = r.delete_version(ref->name, ref->version, actor(ctx, reason));
  if (!st.ok()) return report_error(st);
  return ok_message(ctx, {{"name", ref->name}, {"version", ref->version}, {"deleted", true}},
                    fmt::format("deleted {}/{}", ref->name, ref->version));
}

int run_rename(Context& ctx, const std::string& name, const std::string& new_name, const std::string& reason) {
  auto s = open_registry(ctx);
  if (!s.ok()) return report_error(s.status());
  Status st = s->registry->rename_model(name, new_name, actor(ctx, reason));
  if (!st.ok()) return report_error(st);
  return ok_message(ctx, {{"name", new_name}, {"renamed_from", name}}, fmt::format("renamed {} to {}", name, new_name));
}

int run_history(Context& ctx, const std::string& name) {
  auto s = open_registry(ctx);
  if (!s.ok()) return report_error(s.status());
  auto entries = s->registry->history(name);
  if (!entries.ok()) return report_error(entries.status());
  if (ctx.json) {
    json out = json::array();
    for (const auto& e : *entries) {
      out.push_back({{"seq", e.seq},
                     {"time", e.time_ms},
                     {"user", e.user},
                     {"action", e.action},
                     {"name", e.name},
                     {"version", e.version ? json(*e.version) : json(nullptr)},
                     {"detail", e.detail},
                     {"reason", e.reason}});
    }
    print_json({{"history", out}});
    return kExitOk;
  }
  TextTable table({"TIME (UTC)", "USER", "ACTION", "MODEL", "DETAIL", "REASON"});
  for (const auto& e : *entries) {
    table.add_row({format_time(e.time_ms), e.user, e.action,
                   e.version ? fmt::format("{}/{}", e.name, *e.version) : e.name, e.detail.empty() ? "-" : e.detail,
                   e.reason});
  }
  std::fputs(table.render().c_str(), stdout);
  return kExitOk;
}

int run_deployments(Context& ctx, const std::string& name) {
  auto s = open_registry(ctx);
  if (!s.ok()) return report_error(s.status());
  auto deps = s->registry->deployments(name);
  if (!deps.ok()) return report_error(deps.status());
  if (ctx.json) {
    json out = json::array();
    for (const auto& d : *deps) out.push_back(deployment_json(d));
    print_json({{"deployments", out}});
    return kExitOk;
  }
  if (deps->empty()) {
    std::printf("no live deployments\n");
    return kExitOk;
  }
  TextTable table({"MODEL", "ENDPOINT", "HOST", "PID", "SINCE (UTC)"});
  for (const auto& d : *deps) {
    table.add_row({fmt::format("{}/{}", d.name, d.version), d.endpoint, d.host, std::to_string(d.pid),
                   format_time(d.started_ms)});
  }
  std::fputs(table.render({3}).c_str(), stdout);
  return kExitOk;
}

void add_reason(CLI::App* cmd, std::string& reason) {
  cmd->add_option("--reason", reason, "Why, for the audit trail (default: the command line)");
}

}  // namespace

Result<model::Model> load_named_model(Context& ctx, const std::string& arg) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(arg, ec)) return model::load_bundle(arg);
  auto spec = registry::parse_model_spec(arg);
  if (!spec.ok()) {
    return make_error(ErrorCode::kNotFound, "'{}' is neither a file nor a registered model ({})", arg,
                      spec.status().message());
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto store, ctx.open_store());
  Registry r(*store);
  SLIPWAY_ASSIGN_OR_RETURN(registry::ModelRef ref, r.resolve(arg));
  return r.load_model(ref);
}

void register_registry_commands(CLI::App& app, Context& ctx, Command& run) {
  auto* cmd = app.add_subcommand("models", "Model registry: versions, aliases, archive, audit trail");
  cmd->require_subcommand(1);
  cmd->footer(
      "A model is named NAME (its latest version that is not archived), NAME/N or NAME@ALIAS.\n"
      "Examples:\n"
      "  slipway models register 3fa2c1 --name churn --alias challenger\n"
      "  slipway models alias churn champion 2\n"
      "  slipway models show churn@champion");

  auto ra = std::make_shared<RegisterArgs>();
  auto* reg = cmd->add_subcommand("register", "Register a run's output model or a bundle file as a new version");
  reg->add_option("source", ra->source, "A run id (or unique prefix) or a model bundle file (.slw)")->required();
  reg->add_option("--name", ra->name, "Registered model name (created on first use)")->required();
  reg->add_option("--description", ra->description, "Description of this version");
  reg->add_option("--tag", ra->tags, "A tag KEY=VALUE on the version (repeatable)")->type_name("KEY=VALUE");
  reg->add_option("--alias", ra->aliases, "Point this alias at the new version (repeatable)");
  add_reason(reg, ra->reason);
  add_json_flag(reg, ctx);
  reg->footer("Examples:\n  slipway models register 3fa2c1 --name churn\n"
              "  slipway models register model.slw --name churn --alias champion --reason 'beats v2 on AUC'");
  reg->callback([&ctx, &run, ra] { run = [&ctx, ra] { return run_register(ctx, *ra); }; });

  auto list_like = std::make_shared<std::string>();
  auto* list = cmd->add_subcommand("list", "List registered models");
  list->add_option("--like", *list_like, "Only names matching this SQL LIKE pattern ('%' any, '_' one character)");
  add_json_flag(list, ctx);
  list->footer("Example:\n  slipway models list");
  list->callback([&ctx, &run, list_like] { run = [&ctx, list_like] { return run_list(ctx, *list_like); }; });

  auto show_spec = std::make_shared<std::string>();
  auto* show = cmd->add_subcommand("show", "Show a model and its versions, or one version");
  show->add_option("model", *show_spec, "NAME, NAME/N or NAME@ALIAS")->required();
  add_json_flag(show, ctx);
  show->footer("Examples:\n  slipway models show churn\n  slipway models show churn@champion");
  show->callback([&ctx, &run, show_spec] { run = [&ctx, show_spec] { return run_show(ctx, *show_spec); }; });

  auto aa = std::make_shared<AliasArgs>();
  auto* alias = cmd->add_subcommand("alias", "Point an alias at a version, or delete it");
  alias->add_option("name", aa->name, "Registered model name")->required();
  alias->add_option("alias", aa->alias, "Alias (letters, digits, '_', '-')")->required();
  alias->add_option("version", aa->version, "Version number (or @OTHER_ALIAS)");
  alias->add_flag("--delete", aa->remove, "Delete the alias");
  add_reason(alias, aa->reason);
  add_json_flag(alias, ctx);
  alias->footer("Examples:\n  slipway models alias churn champion 3\n  slipway models alias churn champion @challenger\n"
                "  slipway models alias churn challenger --delete");
  alias->callback([&ctx, &run, aa] { run = [&ctx, aa] { return run_alias(ctx, *aa); }; });

  auto ua = std::make_shared<UpdateArgs>();
  auto* update = cmd->add_subcommand("update", "Change the description or tags of a model (NAME) or a version");
  update->add_option("model", ua->spec, "NAME (the model), NAME/N or NAME@ALIAS (a version)")->required();
  update->add_option("--description", ua->description_text, "New description");
  update->add_option("--tag", ua->tags, "Set a tag KEY=VALUE (repeatable)")->type_name("KEY=VALUE");
  update->add_option("--delete-tag", ua->delete_tags, "Delete a tag (repeatable)")->type_name("KEY");
  add_reason(update, ua->reason);
  add_json_flag(update, ctx);
  update->footer("Examples:\n  slipway models update churn --description 'Churn within 30 days'\n"
                 "  slipway models update churn/3 --tag validated=yes");
  update->callback([&ctx, &run, ua, update] {
    if (update->count("--description") > 0) ua->description = ua->description_text;
    run = [&ctx, ua] { return run_update(ctx, *ua); };
  });

  for (bool archive : {true, false}) {
    auto spec = std::make_shared<std::string>();
    auto reason = std::make_shared<std::string>();
    auto* sub = cmd->add_subcommand(archive ? "archive" : "unarchive",
                                    archive ? "Archive a version: kept, but NAME no longer resolves to it"
                                            : "Bring an archived version back");
    sub->add_option("version", *spec, "NAME/N or NAME@ALIAS")->required();
    add_reason(sub, *reason);
    add_json_flag(sub, ctx);
    sub->footer(archive ? "Example:\n  slipway models archive churn/1" : "Example:\n  slipway models unarchive churn/1");
    sub->callback([&ctx, &run, spec, reason, archive] {
      run = [&ctx, spec, reason, archive] { return run_archive(ctx, *spec, *reason, archive); };
    });
  }

  auto del_spec = std::make_shared<std::string>();
  auto del_reason = std::make_shared<std::string>();
  auto* del = cmd->add_subcommand("delete", "Delete a version (NAME/N, NAME@ALIAS) or a whole model (NAME)");
  del->add_option("model", *del_spec, "NAME, NAME/N or NAME@ALIAS")->required();
  add_reason(del, *del_reason);
  add_json_flag(del, ctx);
  del->footer("Refused while a running server uses the version.\nExamples:\n  slipway models delete churn/1\n"
              "  slipway models delete churn");
  del->callback([&ctx, &run, del_spec, del_reason] {
    run = [&ctx, del_spec, del_reason] { return run_delete(ctx, *del_spec, *del_reason); };
  });

  struct RenameArgs {
    std::string name, new_name, reason;
  };
  auto rn = std::make_shared<RenameArgs>();
  auto* rename = cmd->add_subcommand("rename", "Rename a registered model");
  rename->add_option("name", rn->name, "Current name")->required();
  rename->add_option("new_name", rn->new_name, "New name")->required();
  add_reason(rename, rn->reason);
  add_json_flag(rename, ctx);
  rename->footer("Example:\n  slipway models rename churn churn-30d");
  rename->callback([&ctx, &run, rn] {
    run = [&ctx, rn] { return run_rename(ctx, rn->name, rn->new_name, rn->reason); };
  });

  auto hist_name = std::make_shared<std::string>();
  auto* history = cmd->add_subcommand("history", "Every change to a model: who, when, what and why");
  history->add_option("name", *hist_name, "Registered model name")->required();
  add_json_flag(history, ctx);
  history->footer("Example:\n  slipway models history churn");
  history->callback([&ctx, &run, hist_name] { run = [&ctx, hist_name] { return run_history(ctx, *hist_name); }; });

  auto dep_name = std::make_shared<std::string>();
  auto* deps = cmd->add_subcommand("deployments", "Live deployments (servers using a version)");
  deps->add_option("name", *dep_name, "Only this model");
  add_json_flag(deps, ctx);
  deps->footer("Example:\n  slipway models deployments churn");
  deps->callback([&ctx, &run, dep_name] { run = [&ctx, dep_name] { return run_deployments(ctx, *dep_name); }; });
}

}  // namespace slipway::cli
