// slipway logs list|tail|export: read the prediction log (slipway/serve/prediction_log.h) that
// `slipway serve` writes under <store>/logs/predictions. Reading needs no server and never locks
// the writer out: segments are append-only files.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "context.h"
#include "output.h"
#include "slipway/monitor/time_text.h"
#include "slipway/serve/prediction_log.h"

namespace slipway::cli {

namespace {

namespace fs = std::filesystem;
using serve::PredictionLogFilter;
using serve::PredictionLogReader;
using serve::PredictionRecord;

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// 2025-01-31T10:00:00.123456Z
std::string iso_time(int64_t us) {
  int64_t secs = us >= 0 ? us / 1'000'000 : (us - 999'999) / 1'000'000;
  auto frac = static_cast<int>(us - secs * 1'000'000);
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:06d}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

// --since / --until (slipway/monitor/time_text.h).
Result<int64_t> parse_time(const std::string& text, const char* flag) {
  return monitor::parse_time_text(text, flag, now_us());
}

struct ModelRef {
  std::string model;
  std::optional<int64_t> version;
};

// NAME or NAME/VERSION.
Result<ModelRef> parse_model_ref(const std::string& text) {
  ModelRef ref;
  if (text.find('@') != std::string::npos) {
    return make_error(ErrorCode::kInvalidArgument,
                      "'{}': `slipway logs` reads a model's log by name; give NAME or NAME/VERSION (aliases move, "
                      "the log keeps every version)",
                      text);
  }
  auto slash = text.rfind('/');
  ref.model = text.substr(0, slash);
  if (slash != std::string::npos) {
    std::string v = text.substr(slash + 1);
    char* end = nullptr;
    long long n = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || n < 0) {
      return make_error(ErrorCode::kInvalidArgument, "'{}': the version after '/' must be a number, got '{}'", text, v);
    }
    ref.version = n;
  }
  if (ref.model.empty()) return make_error(ErrorCode::kInvalidArgument, "'{}': the model name is empty", text);
  return ref;
}

Result<fs::path> log_dir(const Context& ctx) {
  fs::path root = store::Store::resolve_root(ctx.store_flag);
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "no slipway store at {} (run `slipway init` there, or point --store / SLIPWAY_HOME at one)",
                      root.string());
  }
  return serve::prediction_log_dir(root);
}

std::string json_string(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A stored inputs/outputs text goes into the line as JSON when it is JSON, else as a string.
std::string json_value(const std::string& text) {
  if (text.empty()) return "null";
  if (nlohmann::json::accept(text)) return text;
  return json_string(text);
}

std::string tags_json(const PredictionRecord& r) {
  nlohmann::json tags = nlohmann::json::object();
  for (const auto& [k, v] : r.tags) tags[k] = v;
  return tags.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string jsonl_line(const PredictionRecord& r) {
  return fmt::format(
      R"({{"request_id":{},"time":"{}","time_us":{},"model":{},"version":{},"latency_us":{},"inputs":{},"outputs":{},"tags":{}}})",
      json_string(r.request_id), iso_time(r.time_us), r.time_us, json_string(r.model), r.version, r.latency_us,
      json_value(r.inputs_as_json()), json_value(r.outputs_as_json()), tags_json(r));
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

constexpr const char* kCsvHeader = "request_id,time,time_us,model,version,latency_us,inputs,outputs,tags";

std::string csv_line(const PredictionRecord& r) {
  return fmt::format("{},{},{},{},{},{},{},{},{}", csv_field(r.request_id), iso_time(r.time_us), r.time_us,
                     csv_field(r.model), r.version, r.latency_us, csv_field(r.inputs_as_json()),
                     csv_field(r.outputs_as_json()), csv_field(r.tags.empty() ? "" : tags_json(r)));
}

std::string shorten(const std::string& s, size_t width) {
  if (s.size() <= width) return s;
  size_t cut = width;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // keep UTF-8 whole
  return s.substr(0, cut) + "…";
}

std::string human_line(const PredictionRecord& r) {
  return fmt::format("{}  {}/{}  {}  {:.3f} ms  inputs={}  outputs={}", iso_time(r.time_us), r.model, r.version,
                     r.request_id.empty() ? "-" : r.request_id, static_cast<double>(r.latency_us) / 1000.0,
                     shorten(r.inputs_as_json(), 100), shorten(r.outputs_as_json(), 100));
}

void warn_damage(const PredictionLogReader& reader, size_t& reported) {
  const auto& bad = reader.corruptions();
  for (; reported < bad.size(); ++reported) {
    std::fprintf(stderr, "warning: %s:%llu: skipped %llu damaged bytes (%s)\n", bad[reported].segment.c_str(),
                 static_cast<unsigned long long>(bad[reported].offset),
                 static_cast<unsigned long long>(bad[reported].bytes), bad[reported].reason.c_str());
  }
}

nlohmann::json damage_json(const PredictionLogReader& reader) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : reader.corruptions()) {
    out.push_back({{"segment", c.segment.string()}, {"offset", c.offset}, {"bytes", c.bytes}, {"reason", c.reason}});
  }
  return out;
}

struct TailArgs {
  std::string name;
  size_t lines = 10;
  bool follow = false;
  std::string poll = "200";
};

int run_tail(const Context& ctx, const TailArgs& args) {
  auto ref = parse_model_ref(args.name);
  if (!ref.ok()) return report_error(ref.status());
  auto dir = log_dir(ctx);
  if (!dir.ok()) return report_error(dir.status());
  PredictionLogFilter filter;
  filter.version = ref->version;
  auto reader = PredictionLogReader::open(*dir, ref->model, filter);
  if (!reader.ok()) return report_error(reader.status());
  auto print = [&](const PredictionRecord& r) {
    std::string line = ctx.json ? jsonl_line(r) : human_line(r);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
  };

  // The last N: start at the newest segment and step back one segment at a time until N are found.
  auto segments = reader->segments();
  if (!segments.ok()) return report_error(segments.status());
  std::deque<PredictionRecord> last;
  size_t reported = 0;
  size_t first = segments->size();
  PredictionRecord r;
  for (;;) {
    if (first > 0) --first;
    last.clear();
    if (!segments->empty()) {
      Status st = reader->seek_to_segment((*segments)[first]);
      if (!st.ok()) return report_error(st);
    }
    for (;;) {
      auto more = reader->next(r);
      if (!more.ok()) return report_error(more.status());
      if (!*more) break;
      last.push_back(std::move(r));
      if (last.size() > args.lines) last.pop_front();
    }
    if (last.size() >= args.lines || first == 0) break;
  }
  warn_damage(*reader, reported);
  for (const auto& rec : last) print(rec);
  std::fflush(stdout);
  if (!args.follow) return kExitOk;
  // Follow: poll for records appended since (new segments included) until interrupted.
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    for (;;) {
      auto more = reader->next(r);
      if (!more.ok()) return report_error(more.status());
      if (!*more) break;
      print(r);
    }
    warn_damage(*reader, reported);
    std::fflush(stdout);
  }
}

struct ExportArgs {
  std::string name;
  std::string since;
  std::string until;
  std::string format = "jsonl";
  std::string output;
};

int run_export(const Context& ctx, const ExportArgs& args) {
  auto ref = parse_model_ref(args.name);
  if (!ref.ok()) return report_error(ref.status());
  PredictionLogFilter filter;
  filter.version = ref->version;
  if (!args.since.empty()) {
    auto t = parse_time(args.since, "--since");
    if (!t.ok()) return report_error(t.status());
    filter.since_us = *t;
  }
  if (!args.until.empty()) {
    auto t = parse_time(args.until, "--until");
    if (!t.ok()) return report_error(t.status());
    filter.until_us = *t;
  }
  auto dir = log_dir(ctx);
  if (!dir.ok()) return report_error(dir.status());
  auto reader = PredictionLogReader::open(*dir, ref->model, filter);
  if (!reader.ok()) return report_error(reader.status());

  // Write to a temporary file beside the output and rename at the end: an interrupted export
  // never leaves a half-written file under the name asked for.
  bool to_stdout = args.output == "-";
  fs::path out_path = args.output;
  fs::path tmp_path = out_path;
  tmp_path += fmt::format(".tmp.{}", ::getpid());
  std::ofstream file;
  if (!to_stdout) {
    file.open(tmp_path, std::ios::binary | std::ios::trunc);
    if (!file) {
      return report_error(make_error(ErrorCode::kIoError, "cannot create {}: {}", out_path.string(),
                                     std::strerror(errno)));
    }
  }
  auto emit = [&](const std::string& line) {
    if (to_stdout) {
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fputc('\n', stdout);
    } else {
      file << line << '\n';
    }
  };
  bool csv = args.format == "csv";
  if (csv) emit(kCsvHeader);
  uint64_t count = 0;
  PredictionRecord r;
  for (;;) {
    auto more = reader->next(r);
    if (!more.ok()) {
      if (!to_stdout) fs::remove(tmp_path);
      return report_error(more.status());
    }
    if (!*more) break;
    emit(csv ? csv_line(r) : jsonl_line(r));
    ++count;
  }
  if (!to_stdout) {
    file.close();
    std::error_code ec;
    if (!file) {
      fs::remove(tmp_path, ec);
      return report_error(make_error(ErrorCode::kIoError, "cannot write {}", out_path.string()));
    }
    fs::rename(tmp_path, out_path, ec);
    if (ec) {
      fs::remove(tmp_path, ec);
      return report_error(make_error(ErrorCode::kIoError, "cannot write {}: {}", out_path.string(), ec.message()));
    }
  } else {
    std::fflush(stdout);
  }
  size_t reported = 0;
  warn_damage(*reader, reported);
  if (ctx.json && !to_stdout) {
    print_json({{"model", ref->model},
                {"records", count},
                {"path", out_path.string()},
                {"format", args.format},
                {"damaged", damage_json(*reader)},
                {"torn_tail_bytes", reader->torn_tail_bytes() + reader->unfinished_tail_bytes()}});
  } else {
    std::fprintf(to_stdout ? stderr : stdout, "exported %s predictions of %s to %s\n", human_count(count).c_str(),
                 ref->model.c_str(), to_stdout ? "stdout" : out_path.c_str());
  }
  return kExitOk;
}

int run_list(const Context& ctx) {
  auto dir = log_dir(ctx);
  if (!dir.ok()) return report_error(dir.status());
  auto models = serve::logged_models(*dir);
  if (!models.ok()) return report_error(models.status());
  nlohmann::json out = nlohmann::json::array();
  TextTable table({"MODEL", "SEGMENTS", "SIZE"});
  for (const auto& model : *models) {
    uint64_t bytes = 0;
    size_t segments = 0;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(*dir / serve::model_folder_name(model), ec)) {
      if (entry.path().extension() != ".log") continue;
      ++segments;
      bytes += entry.file_size(ec);
    }
    out.push_back({{"model", model}, {"segments", segments}, {"bytes", bytes}});
    table.add_row({model, std::to_string(segments), human_bytes(bytes)});
  }
  if (ctx.json) {
    print_json(out);
  } else if (table.empty()) {
    std::printf("no predictions logged yet (%s)\n", dir->c_str());
  } else {
    std::fputs(table.render({1, 2}).c_str(), stdout);
  }
  return kExitOk;
}

}  // namespace

void register_logs_commands(CLI::App& app, Context& ctx, Command& run) {
  auto* logs = app.add_subcommand("logs", "Read the prediction log that `slipway serve` writes");
  logs->require_subcommand(1);

  auto* list = logs->add_subcommand("list", "Models with logged predictions");
  add_json_flag(list, ctx);
  list->callback([&ctx, &run] { run = [&ctx] { return run_list(ctx); }; });

  auto tail_args = std::make_shared<TailArgs>();
  auto* tail = logs->add_subcommand("tail", "Print a model's latest predictions");
  tail->add_option("name", tail_args->name, "Model NAME or NAME/VERSION")->required();
  tail->add_option("-n,--lines", tail_args->lines, "How many (default 10)");
  tail->add_flag("-f,--follow", tail_args->follow, "Keep printing predictions as they are logged (Ctrl-C stops)");
  tail->add_flag("--json", ctx.json, "One JSON object per line (the `logs export` jsonl format)");
  tail->footer(
      "Examples:\n"
      "  slipway logs tail flights -n 20\n"
      "  slipway logs tail flights/3 --follow --json");
  tail->callback([&ctx, &run, tail_args] { run = [&ctx, tail_args] { return run_tail(ctx, *tail_args); }; });

  auto export_args = std::make_shared<ExportArgs>();
  auto* exp = logs->add_subcommand("export", "Write a model's logged predictions to a file");
  exp->add_option("name", export_args->name, "Model NAME or NAME/VERSION")->required();
  exp->add_option("--since", export_args->since,
                  "From this time on (2025-01-31, 2025-01-31T10:00:00Z, or 24h / 7d before now)");
  exp->add_option("--until", export_args->until, "Before this time (same forms as --since)");
  exp->add_option("--format", export_args->format, "jsonl (default) or csv")
      ->check(CLI::IsMember({"jsonl", "csv"}));
  exp->add_option("-o,--output", export_args->output, "Output file ('-' for stdout)")->required();
  add_json_flag(exp, ctx);
  exp->footer(
      "Examples:\n"
      "  slipway logs export flights --since 24h -o last-day.jsonl\n"
      "  slipway logs export flights/3 --since 2025-01-01 --until 2025-02-01 --format csv -o january.csv");
  exp->callback([&ctx, &run, export_args] { run = [&ctx, export_args] { return run_export(ctx, *export_args); }; });
}

}  // namespace slipway::cli
