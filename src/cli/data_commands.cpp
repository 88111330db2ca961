// slipway data <verb>: ingest, ls, log, show, profile, diff, checkout, branch, tag, hash.
// Validation commands (schema infer, validate, compare) live in data_validate_commands.cpp.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>

#include <pwd.h>
#include <unistd.h>

#include "context.h"
#include "data_commands.h"
#include "output.h"
#include "slipway/core/progress.h"
#include "slipway/data/dataset.h"
#include "slipway/data/ingest.h"

namespace slipway::cli {

namespace {

std::string author_name() {
  for (const char* var : {"SLIPWAY_AUTHOR", "USER", "LOGNAME"}) {
    const char* v = std::getenv(var);
    if (v != nullptr && *v != '\0') return v;
  }
  if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_name != nullptr) return pw->pw_name;
  return "unknown";
}

nlohmann::json summary_json(const data::VersionSummary& v) {
  return {{"id", v.id},           {"dataset", v.dataset},   {"parent", v.parent ? nlohmann::json(*v.parent) : nullptr},
          {"created_at", v.created_at}, {"author", v.author}, {"message", v.message},
          {"source", v.source},   {"rows", v.rows},         {"bytes", v.bytes},
          {"files", v.files},     {"refs", v.refs}};
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

struct IngestArgs {
  std::string source;
  std::string dataset;
  std::string message;
  std::string branch = "main";
  std::string format;
  std::string delimiter;
  std::string quote;
  std::vector<std::string> null_tokens;
  bool no_header = false;
  std::string schema;
  std::string on_error = "fail";
};

int run_ingest(Context& ctx, const IngestArgs& a) {
  data::IngestOptions o;
  o.dataset = a.dataset;
  o.message = a.message;
  o.branch = a.branch;
  o.author = author_name();
  o.command = ctx.argv;
  if (!a.format.empty()) o.format = a.format;
  if (!a.delimiter.empty()) {
    std::string d = a.delimiter == "\\t" || a.delimiter == "tab" ? "\t" : a.delimiter;
    if (d.size() != 1) return report_error(make_error(ErrorCode::kInvalidArgument, "--delimiter must be one character, got '{}'", a.delimiter));
    o.csv.delimiter = d[0];
    o.csv_delimiter_given = true;
  }
  if (!a.quote.empty()) {
    if (a.quote.size() != 1) return report_error(make_error(ErrorCode::kInvalidArgument, "--quote must be one character, got '{}'", a.quote));
    o.csv.quote = a.quote[0];
  }
  if (!a.null_tokens.empty()) {
    o.csv.null_tokens = a.null_tokens;
    if (std::find(o.csv.null_tokens.begin(), o.csv.null_tokens.end(), "") == o.csv.null_tokens.end()) {
      o.csv.null_tokens.push_back("");  // an empty unquoted field is always missing
    }
  }
  o.csv.header = !a.no_header;
  if (!a.schema.empty()) o.schema_file = a.schema;
  o.on_error = a.on_error == "skip" ? data::OnError::kSkip
               : a.on_error == "quarantine" ? data::OnError::kQuarantine
                                            : data::OnError::kFail;
  o.progress = Progress::enabled_by_default() && !ctx.json;

  auto store = ctx.open_store();
  if (!store.ok()) return report_error(store.status());
  auto result = data::ingest(**store, a.source, o);
  if (!result.ok()) {
    int code = report_error(result.status());
    // The hint only fits errors in one record (those carry a line number), not a broken file.
    static const std::regex kRecordError(R"(:\d+:)");
    if (result.status().code() == ErrorCode::kParseError && o.on_error == data::OnError::kFail &&
        std::regex_search(result.status().message(), kRecordError) &&
        result.status().message().find("in the header") == std::string::npos &&
        result.status().message().find("of the header") == std::string::npos) {
      std::fprintf(stderr, "nothing was committed; `--on-error skip` or `--on-error quarantine` goes on past bad records\n");
    }
    return code;
  }
  const auto& m = result->manifest;
  if (ctx.json) {
    print_json({{"version", result->version_id},
                {"dataset", m.dataset},
                {"branch", a.branch},
                {"parent", m.parent ? nlohmann::json(*m.parent) : nullptr},
                {"rows", m.rows},
                {"columns", m.schema.columns.size()},
                {"bytes", m.bytes},
                {"files", m.files.size()},
                {"chunks", result->chunks},
                {"new_chunks", result->new_chunks},
                {"stored_bytes", result->stored_bytes},
                {"bad_records", result->bad_records},
                {"seconds", result->seconds}});
  } else {
    std::printf("%s@%s: new version %s\n", m.dataset.c_str(), a.branch.c_str(), result->version_id.c_str());
    std::printf("  %s rows, %zu columns, %zu file(s), %s\n", human_count(m.rows).c_str(), m.schema.columns.size(),
                m.files.size(), human_bytes(m.bytes).c_str());
    std::printf("  stored %s new in %s of %s chunks (%.2fs)\n", human_bytes(result->stored_bytes).c_str(),
                human_count(result->new_chunks).c_str(), human_count(result->chunks).c_str(), result->seconds);
    if (result->bad_records > 0) {
      std::printf("  %s bad record(s) %s\n", human_count(result->bad_records).c_str(),
                  o.on_error == data::OnError::kQuarantine ? "quarantined (see `slipway data show`)" : "skipped");
    }
  }
  return kExitOk;
}

}  // namespace

Result<ResolvedVersion> resolve_version(Context& ctx, const std::string& spec) {
  SLIPWAY_ASSIGN_OR_RETURN(auto store, ctx.open_store());
  data::Datasets datasets(*store);
  SLIPWAY_ASSIGN_OR_RETURN(std::string id, datasets.resolve(spec));
  SLIPWAY_ASSIGN_OR_RETURN(auto manifest, datasets.load(id));
  return ResolvedVersion{std::move(store), id, std::move(manifest)};
}

void register_data_commands(CLI::App& app, Context& ctx, Command& run) {
  auto* data = app.add_subcommand("data", "Datasets: ingest, profile, validate, version");
  data->require_subcommand(1);
  data->footer("Example:\n  slipway data ingest flights.csv --dataset flights\n  slipway data log flights");

  // ingest
  auto args = std::make_shared<IngestArgs>();
  auto* ingest = data->add_subcommand("ingest", "Create a new version of a dataset from a file, folder or SQL query");
  ingest->add_option("source", args->source,
                     "CSV or JSON Lines file (.gz/.zst ok), a folder of them, sqlite:///db?query=..., "
                     "postgresql://user@host/db?query=...")
      ->required();
  ingest->add_option("--dataset,-d", args->dataset, "Dataset name")->required();
  ingest->add_option("-m,--message", args->message, "What this version is");
  ingest->add_option("--branch", args->branch, "Branch to commit to (default main)");
  ingest->add_option("--format", args->format, "csv or jsonl (default: from the file extension)")
      ->check(CLI::IsMember({"csv", "jsonl"}));
  ingest->add_option("--delimiter", args->delimiter, "CSV field delimiter (default ',', tab for .tsv)");
  ingest->add_option("--quote", args->quote, "CSV quote character (default '\"')");
  ingest->add_option("--null-token", args->null_tokens, "A field value meaning missing (repeatable; default: '', NA, null, NULL)");
  ingest->add_flag("--no-header", args->no_header, "CSV has no header row (columns become c0, c1, ...)");
  ingest->add_option("--schema", args->schema, "Schema file: pins column types; the version is refused unless it validates");
  ingest->add_option("--on-error", args->on_error, "fail (default): stop at the first bad record; skip; quarantine")
      ->check(CLI::IsMember({"fail", "skip", "quarantine"}));
  add_json_flag(ingest, ctx);
  ingest->footer(
      "Examples:\n"
      "  slipway data ingest flights_q1.csv --dataset flights -m 'Q1 2013'\n"
      "  slipway data ingest exports/ --dataset events --format jsonl\n"
      "  slipway data ingest 'sqlite:///app.db?query=SELECT * FROM orders' --dataset orders\n"
      "  slipway data ingest 'postgresql://me@127.0.0.1:5432/shop?table=orders' --dataset orders");
  ingest->callback([&ctx, &run, args] { run = [&ctx, args] { return run_ingest(ctx, *args); }; });

  // ls
  auto* ls = data->add_subcommand("ls", "List datasets");
  ls->footer("Example:\n  slipway data ls --json");
  add_json_flag(ls, ctx);
  ls->callback([&ctx, &run] {
    run = [&ctx] {
      auto store = ctx.open_store();
      if (!store.ok()) return report_error(store.status());
      auto list = data::Datasets(**store).list();
      if (!list.ok()) return report_error(list.status());
      if (ctx.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& d : *list) {
          nlohmann::json refs = nlohmann::json::object();
          for (const auto& r : d.refs) refs[r.name] = {{"kind", r.kind}, {"version", r.version_id}};
          out.push_back({{"name", d.name}, {"versions", d.versions}, {"refs", refs},
                         {"head", d.head ? summary_json(*d.head) : nlohmann::json(nullptr)}});
        }
        print_json({{"datasets", out}});
        return kExitOk;
      }
      if (list->empty()) {
        std::printf("no datasets yet; create one with `slipway data ingest FILE --dataset NAME`\n");
        return kExitOk;
      }
      TextTable t({"dataset", "versions", "main", "rows", "size", "updated", "refs"});
      for (const auto& d : *list) {
        std::vector<std::string> names;
        for (const auto& r : d.refs) names.push_back(r.name);
        t.add_row({d.name, std::to_string(d.versions), d.head ? short_id(d.head->id) : "-",
                   d.head ? human_count(d.head->rows) : "-", d.head ? human_bytes(d.head->bytes) : "-",
                   d.head ? d.head->created_at.substr(0, 19) : "-", join(names, ", ")});
      }
      std::fputs(t.render({1, 3, 4}).c_str(), stdout);
      return kExitOk;
    };
  });

  // log
  auto log_args = std::make_shared<std::string>();
  auto* log = data->add_subcommand("log", "History of a dataset branch, newest first");
  log->add_option("dataset", *log_args, "NAME or NAME@REF")->required();
  log->footer("Example:\n  slipway data log flights\n  slipway data log flights@experiment --json");
  add_json_flag(log, ctx);
  log->callback([&ctx, &run, log_args] {
    run = [&ctx, log_args] {
      auto store = ctx.open_store();
      if (!store.ok()) return report_error(store.status());
      auto at = log_args->find('@');
      std::string name = log_args->substr(0, at);
      std::string ref = at == std::string::npos ? "main" : log_args->substr(at + 1);
      auto versions = data::Datasets(**store).log(name, ref);
      if (!versions.ok()) return report_error(versions.status());
      if (ctx.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& v : *versions) out.push_back(summary_json(v));
        print_json({{"dataset", name}, {"ref", ref}, {"versions", out}});
        return kExitOk;
      }
      TextTable t({"version", "created", "author", "rows", "size", "refs", "message"});
      for (const auto& v : *versions) {
        t.add_row({short_id(v.id), v.created_at.substr(0, 19), v.author, human_count(v.rows), human_bytes(v.bytes),
                   join(v.refs, ", "), v.message});
      }
      std::fputs(t.render({3, 4}).c_str(), stdout);
      return kExitOk;
    };
  });

  // show
  auto show_args = std::make_shared<std::string>();
  auto* show = data->add_subcommand("show", "A version's lineage: source, parent, command, files");
  show->add_option("version", *show_args, "NAME@REF")->required();
  show->footer("Example:\n  slipway data show flights@main");
  add_json_flag(show, ctx);
  show->callback([&ctx, &run, show_args] {
    run = [&ctx, show_args] {
      auto resolved = resolve_version(ctx, *show_args);
      if (!resolved.ok()) return report_error(resolved.status());
      data::Datasets datasets(*resolved->store);
      auto summary = datasets.summary(resolved->id);
      if (!summary.ok()) return report_error(summary.status());
      const auto& m = resolved->manifest;
      if (ctx.json) {
        nlohmann::json j = data::to_json(m);
        j.erase("profile");
        j["id"] = resolved->id;
        j["refs"] = summary->refs;
        print_json(j);
        return kExitOk;
      }
      uint64_t bad = 0;
      for (const auto& f : m.files) bad += f.bad_records;
      std::printf("version   %s\n", resolved->id.c_str());
      std::printf("dataset   %s\n", m.dataset.c_str());
      std::printf("refs      %s\n", summary->refs.empty() ? "-" : join(summary->refs, ", ").c_str());
      std::printf("parent    %s\n", m.parent ? m.parent->c_str() : "none (first version)");
      std::printf("created   %s by %s\n", m.created_at.c_str(), m.author.c_str());
      std::printf("message   %s\n", m.message.empty() ? "-" : m.message.c_str());
      std::printf("source    %s\n", m.source.c_str());
      std::printf("command   %s\n", join(m.command, " ").c_str());
      std::printf("slipway   %s\n", m.slipway_version.c_str());
      std::printf("rows      %s (%zu columns)\n", human_count(m.rows).c_str(), m.schema.columns.size());
      if (bad > 0) {
        std::printf("bad       %s record(s)%s\n", human_count(bad).c_str(),
                    m.quarantine ? (" quarantined in object " + short_id(*m.quarantine)).c_str() : " skipped");
      }
      std::printf("\nfiles\n");
      TextTable t({"  name", "format", "size", "rows", "chunks", "id"});
      for (const auto& f : m.files) {
        t.add_row({"  " + f.name, f.format + (f.compression == "none" ? "" : "+" + f.compression),
                   human_bytes(f.size), human_count(f.rows), std::to_string(f.chunks.size()), f.sha256});
      }
      std::fputs(t.render({2, 3, 4}).c_str(), stdout);
      return kExitOk;
    };
  });

  register_profile_commands(*data, ctx, run);
  register_validate_commands(*data, ctx, run);
  register_version_commands(*data, ctx, run);
}

}  // namespace slipway::cli
