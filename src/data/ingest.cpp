#include "slipway/data/ingest.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <chrono>
#include <future>
#include <thread>

#include "slipway/core/fs.h"
#include "slipway/core/hash.h"
#include "slipway/core/progress.h"
#include "slipway/data/validate.h"
#include "detail/bad_rows.h"
#include "detail/chunk_store.h"
#include "slipway/table/infer.h"
#include "slipway/table/sql_source.h"

namespace slipway::data {

namespace {

namespace fs = std::filesystem;

constexpr size_t kBatchRows = 8192;
// Below this size a file is parsed on one thread; above it, in ranges on `threads` threads.
constexpr size_t kParallelParseBytes = 32u << 20;
// Values the profilers keep for histograms and exact quantiles stay in memory up to this much in
// all (shared by the parallel profilers); past it they go to the temporary file. Peak memory thus
// does not grow with the input.
constexpr size_t kSpillMemoryBytes = 384u << 20;

ProfileOptions spill_options(ProfileOptions options, unsigned threads) {
  options.spill_memory_bytes = kSpillMemoryBytes / std::max(1u, threads);
  return options;
}

struct InputFile {
  fs::path path;     // where to read it
  std::string name;  // name inside the version
  std::string format;
  std::string compression;
};

// From the magic bytes, as the readers decide it (the extension may lie).
std::string detect_compression(const fs::path& path) {
  unsigned char v[4] = {};
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return "none";
  const size_t n = std::fread(v, 1, sizeof v, f);
  std::fclose(f);
  if (n < 4) return "none";
  if (v[0] == 0x1f && v[1] == 0x8b) return "gzip";
  if (v[0] == 0x28 && v[1] == 0xb5 && v[2] == 0x2f && v[3] == 0xfd) return "zstd";
  return "none";
}

Result<std::vector<InputFile>> list_inputs(const fs::path& source, const IngestOptions& options) {
  std::error_code ec;
  auto status = fs::status(source, ec);
  if (ec || !fs::exists(status)) return make_error(ErrorCode::kNotFound, "no such file or folder: {}", source.string());
  std::vector<InputFile> files;
  auto add = [&](const fs::path& path, std::string name) -> Status {
    InputFile f{path, std::move(name), options.format.value_or(""), detect_compression(path)};
    if (f.format.empty()) f.format = data_format_from_name(f.name);
    if (f.format.empty()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "cannot tell the format of {} from its name; pass --format csv or --format jsonl",
                        path.string());
    }
    files.push_back(std::move(f));
    return {};
  };
  if (fs::is_directory(status)) {
    std::vector<fs::path> paths;
    for (auto it = fs::recursive_directory_iterator(source, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_regular_file()) {
        auto rel = fs::relative(it->path(), source).generic_string();
        if (rel.starts_with(".")) continue;  // hidden files (.DS_Store, .gitkeep) are not data
        paths.push_back(it->path());
      }
    }
    if (ec) return make_error(ErrorCode::kIoError, "cannot list {}: {}", source.string(), ec.message());
    std::sort(paths.begin(), paths.end());
    if (paths.empty()) return make_error(ErrorCode::kInvalidArgument, "folder {} has no files to ingest", source.string());
    for (const auto& p : paths) SLIPWAY_RETURN_IF_ERROR(add(p, fs::relative(p, source).generic_string()));
    for (const auto& f : files) {
      if (f.format != files[0].format) {
        return make_error(ErrorCode::kInvalidArgument,
                          "folder {} mixes formats ({} is {}, {} is {}); a version holds files of one format",
                          source.string(), files[0].name, files[0].format, f.name, f.format);
      }
    }
  } else {
    SLIPWAY_RETURN_IF_ERROR(add(source, source.filename().string()));
  }
  return files;
}

Result<std::unique_ptr<table::RecordReader>> open_reader(const InputFile& file, const table::CsvOptions& csv) {
  if (file.format == "jsonl") {
    table::JsonlOptions jsonl;
    jsonl.on_bad_record = csv.on_bad_record;
    return table::open_jsonl(file.path, jsonl);
  }
  return table::open_csv(file.path, csv);
}

// Bad records met with --on-error skip|quarantine: malformed records (from the readers) and rows
// whose values do not parse as the type a schema file pins.
struct BadRecords {
  static constexpr uint64_t kMaxKeptBytes = 256u << 20;
  std::string jsonl;  // quarantine file: {"file", "line", "error", "record"} per line
  std::vector<uint64_t> per_file;
  uint64_t total = 0;
  bool keep = false;

  void add(size_t file_index, const std::string& file, uint64_t line, const std::string& error, std::string_view text) {
    ++per_file[file_index];
    ++total;
    if (keep && jsonl.size() < kMaxKeptBytes) {
      nlohmann::json j = {{"file", file}, {"line", line}, {"error", error}, {"record", std::string(text)}};
      jsonl += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      jsonl += '\n';
    }
  }
};

std::string join_fields(const table::RecordBatch& batch, size_t row, char delimiter) {
  std::string out;
  for (size_t c = 0; c < batch.columns.size(); ++c) {
    if (c > 0) out += delimiter;
    out += batch.columns[c][row];
  }
  return out;
}



// Runs `per_range(reader)` over the file: in parallel ranges when it is a large plain CSV,
// else one streaming reader. Each call gets its own reader.
Status for_each_reader(const InputFile& file, const table::CsvOptions& csv, unsigned threads,
                       const std::function<Status(size_t part, table::RecordReader&)>& per_range, size_t* parts_out) {
  std::error_code ec;
  uint64_t size = fs::file_size(file.path, ec);
  if (file.format == "csv" && file.compression == "none" && threads > 1 && !ec && size >= kParallelParseBytes) {
    // Header names come from a reader over the start of the file; each range streams on its own.
    std::vector<std::string> names;
    {
      SLIPWAY_ASSIGN_OR_RETURN(auto head_reader, table::open_csv(file.path, csv));
      names = head_reader->column_names();
    }
    SLIPWAY_ASSIGN_OR_RETURN(auto splits, table::csv_split_points_file(file.path, threads, csv));
    *parts_out = splits.size();
    std::vector<std::future<Status>> futures;
    for (size_t i = 0; i < splits.size(); ++i) {
      uint64_t end = i + 1 < splits.size() ? splits[i + 1].offset : size;
      futures.push_back(std::async(std::launch::async, [&, i, end]() -> Status {
        SLIPWAY_ASSIGN_OR_RETURN(auto reader, table::open_csv_file_range(file.path, splits[i].offset,
                                                                         end - splits[i].offset, file.path.string(),
                                                                         csv, names, splits[i].first_line,
                                                                         splits[i].first_row));
        return per_range(i, *reader);
      }));
    }
    Status first;
    for (auto& f : futures) {
      Status st = f.get();
      if (first.ok() && !st.ok()) first = st;
    }
    return first;
  }
  *parts_out = 1;
  SLIPWAY_ASSIGN_OR_RETURN(auto reader, open_reader(file, csv));
  return per_range(0, *reader);
}

std::string redact_uri(const std::string& source) {
  // postgresql://user:secret@host/db -> postgresql://user:***@host/db
  auto scheme = source.find("://");
  if (scheme == std::string::npos) return source;
  auto at = source.find('@', scheme);
  auto colon = source.find(':', scheme + 3);
  if (at != std::string::npos && colon != std::string::npos && colon < at) {
    return source.substr(0, colon + 1) + "***" + source.substr(at);
  }
  return source;
}

}  // namespace

std::string data_format_from_name(const std::string& name) {
  std::string n = name;
  for (const char* suffix : {".gz", ".zst", ".zstd"}) {
    if (n.size() > std::strlen(suffix) && n.ends_with(suffix)) n.resize(n.size() - std::strlen(suffix));
  }
  auto dot = n.rfind('.');
  std::string ext = dot == std::string::npos ? "" : n.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == "csv" || ext == "tsv" || ext == "txt") return "csv";
  if (ext == "jsonl" || ext == "ndjson" || ext == "json") return "jsonl";
  return "";
}

Result<std::unique_ptr<table::RecordReader>> open_data_file(const fs::path& path, const std::string& format) {
  const std::string name = path.filename().string();
  const std::string chosen = format.empty() ? data_format_from_name(name) : format;
  if (chosen == "jsonl") return table::open_jsonl(path, table::JsonlOptions{});
  table::CsvOptions csv;
  if (name.find(".tsv") != std::string::npos) csv.delimiter = '\t';
  return table::open_csv(path, csv);
}

Result<FileHash> hash_file(const fs::path& path, const ChunkerOptions& options) {
  auto start = std::chrono::steady_clock::now();
  SLIPWAY_ASSIGN_OR_RETURN(auto stored, detail::chunk_and_store(nullptr, path, options, nullptr, /*workers=*/2));
  FileHash out;
  out.sha256 = stored.id;
  out.size = stored.size;
  out.chunks = std::move(stored.chunks);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

Result<IngestResult> ingest(store::Store& store, const std::string& source, const IngestOptions& options) {
  auto start = std::chrono::steady_clock::now();
  if (!valid_name(options.dataset)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "'{}' is not a valid dataset name (use letters, digits, '.', '_' and '-', at most 128)",
                      options.dataset);
  }

  // SQL sources are exported to a CSV in the store's temp folder, then ingested like a file.
  std::vector<InputFile> files;
  fs::path export_path;
  struct Cleanup {
    fs::path path;
    ~Cleanup() {
      std::error_code ec;
      if (!path.empty()) fs::remove(path, ec);
    }
  } cleanup;
  if (table::is_sql_uri(source)) {
    SLIPWAY_ASSIGN_OR_RETURN(auto sql, table::parse_sql_uri(source));
    export_path = store.temp_dir() / fmt::format("export-{}-{}.csv", ::getpid(),
                                                 std::chrono::steady_clock::now().time_since_epoch().count());
    cleanup.path = export_path;
    SLIPWAY_ASSIGN_OR_RETURN(auto stats, table::export_sql_to_csv(sql, export_path));
    (void)stats;
    std::string name = sql.table.empty() ? "query.csv" : sql.table + ".csv";
    files.push_back({export_path, name, "csv", "none"});
  } else {
    SLIPWAY_ASSIGN_OR_RETURN(files, list_inputs(source, options));
  }

  // A schema file pins column types for inference and must validate before anything is committed.
  std::optional<DatasetRules> rules;
  table::TableSchema pinned;
  if (options.schema_file) {
    SLIPWAY_ASSIGN_OR_RETURN(rules, load_rules(*options.schema_file));
    for (const auto& c : rules->columns) {
      if (c.type) pinned.columns.push_back({c.name, *c.type, c.nullable});
    }
  }

  table::CsvOptions csv = options.csv;
  if (!options.csv_delimiter_given && !files.empty() && files[0].name.find(".tsv") != std::string::npos) {
    csv.delimiter = '\t';
  }

  uint64_t total_bytes = 0;
  for (const auto& f : files) {
    std::error_code ec;
    total_bytes += fs::file_size(f.path, ec);
  }
  Progress progress("ingest " + options.dataset, total_bytes * 3, options.progress);

  IngestResult result;
  VersionManifest& manifest = result.manifest;
  manifest.dataset = options.dataset;
  manifest.author = options.author;
  manifest.message = options.message;
  // Lineage records where the data came from: an absolute path for files, the URI for queries.
  manifest.source = table::is_sql_uri(source) ? redact_uri(source)
                                              : fs::absolute(source).lexically_normal().string();
  manifest.command = options.command;
  manifest.slipway_version = SLIPWAY_VERSION_STRING;
  manifest.read.format = files[0].format;
  manifest.read.csv = csv;

  // Pass 1: store the bytes (background) while inferring types over every value (foreground).
  // A single file without a schema is also profiled in this pass, speculatively: every column that
  // is float64 from a range's first batch on is profiled as float64 from the values inference
  // parses anyway (histograms wait for the final ranges). Columns that end up another type, or that
  // a range could not speculate on, are profiled by pass 2, which reads only for them.
  const bool single_pass = files.size() == 1 && !rules;
  std::vector<std::unique_ptr<Profiler>> speculative;  // per range
  std::vector<std::vector<uint8_t>> speculated;        // per range: columns profiled as float64
  std::vector<std::string> column_names;
  std::vector<table::TypeInferrer> inferrers;
  unsigned threads = std::max(1u, options.threads);
  const bool tolerant = options.on_error != OnError::kFail;
  BadRecords bad;
  bad.keep = options.on_error == OnError::kQuarantine;
  bad.per_file.assign(files.size(), 0);
  detail::PinnedTypes pinned_types;
  for (size_t fi = 0; fi < files.size(); ++fi) {
    const auto& file = files[fi];
    table::CsvOptions pass1_csv = csv;
    if (tolerant) {
      pass1_csv.on_bad_record = [&bad, fi, &file](const table::BadRecord& r) {
        bad.add(fi, file.name, r.line, r.message, r.text);
      };
    }
    auto stored_future = std::async(std::launch::async, [&store, &file, &options, &progress, threads] {
      return detail::chunk_and_store(&store.objects(), file.path, options.chunker, &progress, threads);
    });
    size_t parts = 1;
    std::vector<std::unique_ptr<table::TypeInferrer>> part_inferrers(threads);
    std::vector<uint64_t> part_rows(threads, 0);
    if (single_pass) {
      speculative.resize(threads);
      speculated.resize(threads);
    }
    std::mutex names_mutex;
    Status inferred = for_each_reader(
        // In parallel ranges too, unless bad records must be collected in input order.
        file, pass1_csv, tolerant ? 1 : threads,
        [&](size_t part, table::RecordReader& reader) -> Status {
          {
            std::lock_guard<std::mutex> lock(names_mutex);
            if (column_names.empty()) {
              column_names = reader.column_names();
            } else if (reader.column_names() != column_names) {
              return make_error(ErrorCode::kParseError,
                                "{} has different columns than {} (a version's files must share one header)",
                                file.name, files[0].name);
            }
          }
          part_inferrers[part] = std::make_unique<table::TypeInferrer>(column_names, file.path.string(),
                                                                       rules ? &pinned : nullptr);
          table::FloatValues floats;
          if (single_pass) {
            std::vector<table::InferredColumn> as_float(column_names.size());
            for (size_t c = 0; c < column_names.size(); ++c) {
              as_float[c].spec = {column_names[c], table::DataType::kFloat64, true};
            }
            speculative[part] = std::make_unique<Profiler>(
                Profiler::with_deferred_histograms(as_float, spill_options(options.profile, threads), store.temp_dir()));
          }
          bool first_batch = true;
          table::RecordBatch batch;
          while (true) {
            SLIPWAY_ASSIGN_OR_RETURN(bool more, reader.next(batch, kBatchRows));
            if (!more) break;
            if (tolerant) {
              if (pinned_types.by_column.empty()) {
                for (const auto& name : column_names) {
                  auto idx = pinned.index_of(name);
                  pinned_types.by_column.push_back(idx ? std::optional(pinned.columns[*idx].type) : std::nullopt);
                  pinned_types.any |= idx.has_value();
                }
              }
              detail::drop_rows_with_bad_values(batch, pinned_types, [&](size_t r, size_t c) {
                bad.add(fi, file.name, batch.line_numbers[r],
                        fmt::format("{}:{}: value '{}' in column '{}' is not a valid {} (the schema says {})",
                                    file.path.string(), batch.line_numbers[r], batch.columns[c][r], column_names[c],
                                    table::data_type_name(*pinned_types.by_column[c]),
                                    table::data_type_name(*pinned_types.by_column[c])),
                        join_fields(batch, r, csv.delimiter));
              });
            }
            if (!single_pass) {
              part_inferrers[part]->add(batch);
              continue;
            }
            part_inferrers[part]->add(batch, &floats);
            std::vector<uint8_t>& alive = speculated[part];
            if (first_batch) {
              alive = floats.valid;
              first_batch = false;
            } else {
              for (size_t c = 0; c < alive.size(); ++c) alive[c] &= floats.valid[c];
            }
            SLIPWAY_RETURN_IF_ERROR(speculative[part]->add_float64(batch, floats, alive));
            part_rows[part] += batch.num_rows;
          }
          if (single_pass && first_batch) speculated[part].assign(column_names.size(), 1);  // no rows
          return Status{};
        },
        &parts);
    auto stored = stored_future.get();
    SLIPWAY_RETURN_IF_ERROR(inferred);
    if (!stored.ok()) return stored.status();
    for (size_t p = 0; p < parts; ++p) {
      if (inferrers.empty()) {
        inferrers.push_back(std::move(*part_inferrers[p]));
      } else {
        inferrers[0].merge(*part_inferrers[p]);
      }
    }
    FileEntry entry;
    entry.name = file.name;
    if (single_pass) {
      speculative.resize(parts);
      speculated.resize(parts);
      for (size_t p = 0; p < parts; ++p) entry.rows += part_rows[p];
    }
    entry.format = file.format;
    entry.compression = file.compression;
    entry.size = stored->size;
    entry.sha256 = stored->id;
    entry.chunks = std::move(stored->chunks);
    result.chunks += entry.chunks.size();
    result.new_chunks += stored->new_chunks;
    result.stored_bytes += stored->stored_bytes;
    manifest.bytes += entry.size;
    manifest.files.push_back(std::move(entry));
    progress.set(manifest.bytes * 2);
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto columns, inferrers[0].finish());
  for (const auto& c : columns) manifest.schema.columns.push_back(c.spec);

  // Pass 2: profile with the now-known types, in parallel ranges where the input allows. With a
  // schema the same pass validates, on one thread (the validator sees rows in order).
  std::optional<Validator> validator;
  if (rules) {
    std::vector<std::string> names;
    for (const auto& c : columns) names.push_back(c.spec.name);
    SLIPWAY_ASSIGN_OR_RETURN(auto v, Validator::create(*rules, names));
    validator.emplace(std::move(v));
    threads = 1;
  }
  // What pass 1 profiled: the columns that are float64 and were speculated on in every range.
  std::vector<uint8_t> profiled(columns.size(), 0);
  std::optional<DatasetProfile> single_pass_profile;
  if (single_pass) {
    for (size_t c = 0; c < columns.size(); ++c) {
      profiled[c] = columns[c].spec.type == table::DataType::kFloat64;
      for (const auto& alive : speculated) profiled[c] &= c < alive.size() ? alive[c] : 0;
    }
    // Histograms of each range in parallel (each reads back its own spilled values), then merge.
    std::vector<std::future<Status>> histograms;
    for (auto& p : speculative) {
      histograms.push_back(std::async(std::launch::async, [&p, &columns] { return p->finish_histograms(columns); }));
    }
    Status first;
    for (auto& h : histograms) {
      Status st = h.get();
      if (first.ok() && !st.ok()) first = st;
    }
    SLIPWAY_RETURN_IF_ERROR(first);
    for (size_t p = 1; p < speculative.size(); ++p) speculative[0]->merge(std::move(*speculative[p]));
    SLIPWAY_ASSIGN_OR_RETURN(single_pass_profile, speculative[0]->finish());
    speculative.clear();
  }
  const bool pass2 = std::find(profiled.begin(), profiled.end(), 0) != profiled.end();

  std::vector<std::unique_ptr<Profiler>> profilers;
  table::CsvOptions pass2_csv = csv;
  if (tolerant) pass2_csv.on_bad_record = [](const table::BadRecord&) {};  // recorded in pass 1
  for (size_t fi = 0; fi < files.size() && pass2; ++fi) {
    const auto& file = files[fi];
    size_t parts = 1;
    std::vector<std::unique_ptr<Profiler>> part_profilers(threads);
    std::vector<uint64_t> part_rows(threads, 0);
    SLIPWAY_RETURN_IF_ERROR(for_each_reader(
        file, pass2_csv, threads,
        [&](size_t part, table::RecordReader& reader) -> Status {
          part_profilers[part] =
              std::make_unique<Profiler>(Profiler::with_kept_values(columns, spill_options(options.profile, threads), store.temp_dir()));
          if (single_pass) {
            std::vector<uint8_t> rest(profiled.size());
            for (size_t c = 0; c < rest.size(); ++c) rest[c] = !profiled[c];
            part_profilers[part]->restrict_to(std::move(rest));
          }
          table::RecordBatch batch;
          while (true) {
            SLIPWAY_ASSIGN_OR_RETURN(bool more, reader.next(batch, kBatchRows));
            if (!more) break;
            if (tolerant) detail::drop_rows_with_bad_values(batch, pinned_types, [](size_t, size_t) {});
            SLIPWAY_RETURN_IF_ERROR(part_profilers[part]->add(batch).with_context(file.name));
            if (validator) SLIPWAY_RETURN_IF_ERROR(validator->add(batch));
            part_rows[part] += batch.num_rows;
          }
          return Status{};
        },
        &parts));
    for (size_t p = 0; p < parts; ++p) {
      if (!single_pass) manifest.files[fi].rows += part_rows[p];
      profilers.push_back(std::move(part_profilers[p]));
    }
  }
  if (!profilers.empty()) {
    for (size_t p = 1; p < profilers.size(); ++p) profilers[0]->merge(std::move(*profilers[p]));
    SLIPWAY_ASSIGN_OR_RETURN(manifest.profile, profilers[0]->finish());
  }
  if (single_pass_profile) {
    if (profilers.empty()) {
      manifest.profile = std::move(*single_pass_profile);
    } else {
      for (size_t c = 0; c < columns.size(); ++c) {
        if (profiled[c]) manifest.profile.columns[c] = std::move(single_pass_profile->columns[c]);
      }
    }
  }
  for (const auto& f : manifest.files) manifest.rows += f.rows;
  progress.set(total_bytes * 3);
  progress.finish();
  if (validator) {
    ValidationReport report = validator->finish();
    if (!report.passed) {
      return make_error(ErrorCode::kValidationFailed,
                        "{} does not satisfy {}; nothing was committed. {} rule(s) failed:\n{}", source,
                        options.schema_file->string(), report.violations.size(), render_text(report));
    }
  }

  for (size_t fi = 0; fi < files.size(); ++fi) manifest.files[fi].bad_records = bad.per_file[fi];
  result.bad_records = bad.total;
  if (bad.keep && bad.total > 0) {
    SLIPWAY_ASSIGN_OR_RETURN(auto put, store.objects().put(bad.jsonl));
    manifest.quarantine = put.id;
  }
  SLIPWAY_ASSIGN_OR_RETURN(result.version_id, Datasets(store).commit(manifest, options.branch));
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace slipway::data
