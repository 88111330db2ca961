// slipway model <verb>: inspect, import, predict, export. Thin: the model library does the work.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "context.h"
#include "output.h"
#include "slipway/data/ingest.h"
#include "slipway/core/fs.h"
#include "slipway/model/bundle.h"
#include "slipway/model/engine.h"
#include "slipway/model/exporters.h"
#include "slipway/model/importers.h"
#include "slipway/model/transforms.h"
#include "slipway/table/reader.h"

namespace slipway::cli {

void register_model_commands(CLI::App& app, Context& ctx, Command& run);

namespace {

using model::Model;
using nlohmann::json;

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

bool is_bundle_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  char magic[8] = {};
  const bool yes = std::fread(magic, 1, 8, f) == 8 && std::string_view(magic, 8) == "SLWMODEL";
  std::fclose(f);
  return yes;
}

// A bundle, or any file an importer reads (imported in memory, nothing written).
Result<Model> load_any(const std::string& path, model::SourceFormat format = model::SourceFormat::kAuto) {
  if (format == model::SourceFormat::kBundle || (format == model::SourceFormat::kAuto && is_bundle_file(path))) {
    return model::load_bundle(path);
  }
  return model::import_model(path, format);
}

std::vector<std::string> output_names(const Model& m) {
  if (!m.output_names.empty()) return m.output_names;
  if (m.task == model::Task::kRegression) return {"value"};
  if (m.task == model::Task::kBinary) return {"probability"};
  std::vector<std::string> names;
  for (size_t k = 0; k < m.n_outputs(); ++k) {
    names.push_back("prob_" + (k < m.class_labels.size() ? m.class_labels[k] : std::to_string(k)));
  }
  return names;
}

std::string step_text(const model::TransformStep& s) {
  std::string params;
  for (double p : s.params) params += (params.empty() ? "" : ", ") + format_number(p);
  switch (s.kind) {
    case model::StepKind::kOrdinal:
      return fmt::format("ordinal({} categories, unknown -> {})", s.categories.size(), params);
    case model::StepKind::kOneHot:
      return fmt::format("one_hot({} categories{})", s.categories.size(), s.unknown_bucket ? " + unknown" : "");
    case model::StepKind::kBucketize:
      return fmt::format("bucketize({} edges)", s.params.size());
    default:
      return fmt::format("{}({})", model::step_kind_name(s.kind), params);
  }
}

void print_inspect(const std::string& path, const Model& m, const json& d, bool bundle) {
  // The writer uses the oldest format that holds the model: 2 only when it normalizes rows.
  const int format = m.row_normalization != model::RowNormalization::kNone ? 2 : 1;
  std::printf("%s  (%s)\n", path.c_str(),
              bundle ? fmt::format("slipway model bundle, format {}", format).c_str() : "imported in memory");
  std::string task = fmt::format("{}, output {}", model::task_name(m.task), model::output_transform_name(m.output_transform));
  std::printf("  task        %s\n", task.c_str());
  std::printf("  outputs     %s\n", join(output_names(m), ", ").c_str());
  if (!m.class_labels.empty()) std::printf("  classes     %s\n", join(m.class_labels, ", ").c_str());
  if (m.row_normalization != model::RowNormalization::kNone) {
    std::printf("  normalize   each feature row by its %s norm, before the model\n",
                model::row_normalization_name(m.row_normalization));
  }
  const json& b = d["body"];
  std::string body;
  if (b["kind"] == "tree_ensemble") {
    body = fmt::format("tree ensemble: {} trees, {} nodes, {} leaves, max depth {}, left when x {} threshold{}{}{}",
                       human_count(b["trees"].get<uint64_t>()), human_count(b["nodes"].get<uint64_t>()),
                       human_count(b["leaves"].get<uint64_t>()), b["max_depth"].get<uint64_t>(),
                       b["comparison"].get<std::string>(),
                       b["categorical_splits"].get<uint64_t>() ? fmt::format(", {} categorical splits",
                                                                             b["categorical_splits"].get<uint64_t>())
                                                               : "",
                       b["leaf_width"].get<uint64_t>() > 1 ? fmt::format(", {} values per leaf", b["leaf_width"].get<uint64_t>()) : "",
                       b["average"].get<bool>() ? ", averaged (forest)" : "");
  } else if (b["kind"] == "mlp") {
    std::vector<std::string> layers;
    for (const auto& l : b["layers"]) {
      layers.push_back(fmt::format("{}x{} {}", l["out"].get<uint64_t>(), l["in"].get<uint64_t>(), l["activation"].get<std::string>()));
    }
    body = fmt::format("mlp: {} layers ({}), {} parameters", b["layers"].size(), join(layers, ", "),
                       human_count(b["parameters"].get<uint64_t>()));
  } else {
    body = fmt::format("linear: {} parameters", human_count(b["parameters"].get<uint64_t>()));
  }
  std::printf("  model       %s\n", body.c_str());
  const auto& p = m.provenance;
  if (!p.producer.empty()) {
    std::string from = p.producer + (p.producer_version.empty() ? "" : " " + p.producer_version);
    if (!p.source_file.empty()) from += " from " + p.source_file;
    if (!p.source_sha256.empty()) from += " (sha256 " + short_id(p.source_sha256) + ")";
    std::printf("  produced    %s\n", from.c_str());
  }
  if (!p.created_at.empty()) std::printf("  created     %s\n", p.created_at.c_str());
  if (p.run_id) std::printf("  run         %s\n", p.run_id->c_str());
  if (!p.dataset_versions.empty()) std::printf("  datasets    %s\n", join(p.dataset_versions, ", ").c_str());
  std::printf("\ninputs (%zu, giving %zu features)\n", m.inputs.size(), m.n_features());
  TextTable t({"  name", "kind", "features", "steps"});
  for (const auto& in : m.inputs) {
    std::vector<std::string> steps;
    for (const auto& s : in.steps) steps.push_back(step_text(s));
    t.add_row({"  " + in.name, in.kind == model::InputKind::kNumeric ? "numeric" : "categorical",
               std::to_string(in.width()), steps.empty() ? "-" : join(steps, " -> ")});
  }
  std::fputs(t.render({2}).c_str(), stdout);
}

// ---- predict ----

struct PredictArgs {
  std::string bundle, input, output, input_format;
  unsigned threads = 1;
  size_t batch_rows = 65536;
};


// Writes to a temporary file beside the destination and renames it into place, so a failed or
// interrupted run never leaves a partial output file under the requested name.
class AtomicOutput {
 public:
  static Result<std::unique_ptr<AtomicOutput>> open(const std::string& path) {
    auto out = std::unique_ptr<AtomicOutput>(new AtomicOutput(path));
    out->file_ = std::fopen(out->temp_.c_str(), "wb");
    if (out->file_ == nullptr) {
      return make_error(ErrorCode::kIoError, "{}: cannot create ({})", path, std::strerror(errno));
    }
    return out;
  }
  ~AtomicOutput() {
    if (file_ != nullptr) {
      std::fclose(file_);
      std::remove(temp_.c_str());
    }
  }
  Status write(std::string_view data) {
    if (std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
      return make_error(ErrorCode::kIoError, "{}: write failed ({})", path_, std::strerror(errno));
    }
    return {};
  }
  Status commit() {
    const bool ok = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
    const bool closed = std::fclose(file_) == 0;
    file_ = nullptr;
    if (!ok || !closed || std::rename(temp_.c_str(), path_.c_str()) != 0) {
      std::remove(temp_.c_str());
      return make_error(ErrorCode::kIoError, "{}: cannot write ({})", path_, std::strerror(errno));
    }
    return {};
  }

 private:
  explicit AtomicOutput(std::string path) : path_(std::move(path)) {
    temp_ = path_ + fmt::format(".tmp-{}", ::getpid());
  }
  std::string path_, temp_;
  std::FILE* file_ = nullptr;
};

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

int run_predict(Context& ctx, const PredictArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  auto loaded = load_named_model(ctx, a.bundle);  // a bundle file, or NAME@ALIAS, NAME/N, NAME (registry)
  if (!loaded.ok()) return report_error(loaded.status());
  const Model& m = *loaded;
  model::PredictorOptions options;
  options.threads = a.threads;
  auto predictor = model::Predictor::create(m, options);
  if (!predictor.ok()) return report_error(predictor.status());
  model::FeatureEncoder encoder(m);
  auto reader = data::open_data_file(a.input, a.input_format);
  if (!reader.ok()) return report_error(reader.status());
  auto columns = encoder.bind((*reader)->column_names());
  if (!columns.ok()) return report_error(columns.status().with_context(a.input));
  auto out = AtomicOutput::open(a.output);
  if (!out.ok()) return report_error(out.status());

  const std::vector<std::string> names = output_names(m);
  std::vector<std::string> header;
  for (const auto& n : names) header.push_back(csv_field(n));
  Status s = (*out)->write(join(header, ",") + "\n");
  if (!s.ok()) return report_error(s);
  const size_t n_features = m.n_features(), n_outputs = (*predictor)->n_outputs();
  std::vector<float> features, outputs;
  table::RecordBatch batch;
  fmt::memory_buffer text;
  uint64_t rows = 0;
  for (;;) {
    auto more = (*reader)->next(batch, a.batch_rows);
    if (!more.ok()) return report_error(more.status());
    if (!*more) break;
    features.resize(batch.num_rows * n_features);
    outputs.resize(batch.num_rows * n_outputs);
    s = encoder.encode_batch(batch, *columns, features.data());
    if (!s.ok()) return report_error(Status(ErrorCode::kParseError, a.input + ": " + s.message()));
    (*predictor)->predict(features.data(), batch.num_rows, outputs.data());
    text.clear();
    for (size_t r = 0; r < batch.num_rows; ++r) {
      for (size_t k = 0; k < n_outputs; ++k) {
        if (k > 0) text.push_back(',');
        fmt::format_to(std::back_inserter(text), "{}", outputs[r * n_outputs + k]);  // shortest round-trip text
      }
      text.push_back('\n');
    }
    s = (*out)->write(std::string_view(text.data(), text.size()));
    if (!s.ok()) return report_error(s);
    rows += batch.num_rows;
  }
  s = (*out)->commit();
  if (!s.ok()) return report_error(s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (ctx.json) {
    print_json({{"output", a.output}, {"rows", rows}, {"columns", names}, {"seconds", seconds},
                {"isa", (*predictor)->isa_name()}});
  } else {
    std::printf("wrote %s prediction(s) to %s (%s) in %.2fs\n", human_count(rows).c_str(), a.output.c_str(),
                join(names, ", ").c_str(), seconds);
  }
  return kExitOk;
}

}  // namespace

void register_model_commands(CLI::App& app, Context& ctx, Command& run) {
  auto* cmd = app.add_subcommand("model", "Models: inspect, import, predict, export");
  cmd->require_subcommand(1);
  cmd->footer(
      "Example:\n  slipway model import xgb.json -o model.slw\n"
      "  slipway model predict model.slw --input flights.csv --output predictions.csv");

  // inspect
  auto inspect_path = std::make_shared<std::string>();
  auto* inspect = cmd->add_subcommand("inspect", "Show a model's task, inputs and steps, outputs, size and provenance");
  inspect->add_option("file", *inspect_path, "A bundle, or any file `slipway model import` reads")->required();
  add_json_flag(inspect, ctx);
  inspect->footer("Examples:\n  slipway model inspect model.slw\n  slipway model inspect xgb_model.json --json");
  inspect->callback([&ctx, &run, inspect_path] {
    run = [&ctx, inspect_path] {
      const bool bundle = is_bundle_file(*inspect_path);
      auto m = load_any(*inspect_path);
      if (!m.ok()) return report_error(m.status());
      json d = model::describe(*m);
      if (ctx.json) {
        print_json(d);
      } else {
        print_inspect(*inspect_path, *m, d, bundle);
      }
      return kExitOk;
    };
  });

  // import
  struct ImportArgs {
    std::string source, output, format;
  };
  auto import_args = std::make_shared<ImportArgs>();
  auto* import = cmd->add_subcommand("import", "Convert an XGBoost, LightGBM or ONNX model into a slipway bundle");
  import->add_option("file", import_args->source, "The model file")->required();
  import->add_option("-o,--output", import_args->output, "Bundle to write")->required();
  import->add_option("--format", import_args->format, "Source format (default: detected from the file)")
      ->check(CLI::IsMember({"xgboost", "xgboost-ubj", "lightgbm", "onnx"}));
  add_json_flag(import, ctx);
  import->footer(
      "Examples:\n  slipway model import xgb_model.json -o model.slw\n"
      "  slipway model import model.txt --format lightgbm -o model.slw\n"
      "  slipway model import pipeline.onnx -o model.slw --json");
  import->callback([&ctx, &run, import_args] {
    run = [&ctx, import_args] {
      auto format = model::SourceFormat::kAuto;
      if (!import_args->format.empty()) {
        auto f = model::parse_source_format(import_args->format);
        if (!f.ok()) return report_error(f.status());
        format = *f;
      }
      auto m = model::import_model(import_args->source, format);
      if (!m.ok()) return report_error(m.status());
      Status s = model::save_bundle(*m, import_args->output);
      if (!s.ok()) return report_error(s);
      json d = model::describe(*m);
      if (ctx.json) {
        print_json({{"output", import_args->output}, {"model", d}});
      } else {
        std::printf("wrote %s: %s %s model, %zu input(s), %zu output(s), from %s\n", import_args->output.c_str(),
                    model::task_name(m->task), model::body_kind_name(m->body), m->inputs.size(), m->n_outputs(),
                    m->provenance.producer.empty() ? import_args->source.c_str() : m->provenance.producer.c_str());
      }
      return kExitOk;
    };
  });

  // predict
  auto predict_args = std::make_shared<PredictArgs>();
  auto* predict = cmd->add_subcommand("predict", "Score a CSV or JSON Lines file with a bundle (streaming)");
  predict->add_option("bundle", predict_args->bundle, "The model bundle")->required();
  predict->add_option("--input,-i", predict_args->input, "CSV or JSON Lines file (.gz/.zst ok); columns matched by name")
      ->required();
  predict->add_option("--output,-o", predict_args->output, "CSV to write: a header, then one row per input row")->required();
  predict->add_option("--input-format", predict_args->input_format, "csv or jsonl (default: from the file extension)")
      ->check(CLI::IsMember({"csv", "jsonl"}));
  predict->add_option("--threads", predict_args->threads, "Threads for scoring (default 1; 0 = all cores)");
  predict->add_option("--batch-rows", predict_args->batch_rows, "Rows read and scored at a time (default 65536)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 24));
  add_json_flag(predict, ctx);
  predict->footer(
      "Examples:\n  slipway model predict model.slw --input flights.csv --output predictions.csv\n"
      "  slipway model predict model.slw -i events.jsonl.gz -o scores.csv --threads 0\n"
      "Empty fields are missing values. Output columns: the probability of the positive class (binary),\n"
      "one probability per class (multiclass), or the value (regression).");
  predict->callback([&ctx, &run, predict_args] { run = [&ctx, predict_args] { return run_predict(ctx, *predict_args); }; });

  // export
  struct ExportArgs {
    std::string bundle, format, output;
  };
  auto export_args = std::make_shared<ExportArgs>();
  auto* exp = cmd->add_subcommand("export", "Write a bundle as ONNX or as dependency-free C source");
  exp->add_option("bundle", export_args->bundle, "The model bundle")->required();
  exp->add_option("--format", export_args->format, "onnx or c")->required()->check(CLI::IsMember({"onnx", "c"}));
  exp->add_option("-o,--output", export_args->output, "File to write")->required();
  add_json_flag(exp, ctx);
  exp->footer(
      "Examples:\n  slipway model export model.slw --format onnx -o model.onnx\n"
      "  slipway model export model.slw --format c -o model.c   (see docs/model-format.md, 'C export')");
  exp->callback([&ctx, &run, export_args] {
    run = [&ctx, export_args] {
      auto m = model::load_bundle(export_args->bundle);
      if (!m.ok()) return report_error(m.status());
      auto bytes = export_args->format == "onnx" ? model::export_onnx(*m) : model::export_c_source(*m);
      if (!bytes.ok()) return report_error(bytes.status());
      Status s = write_file_atomic(export_args->output, *bytes);
      if (!s.ok()) return report_error(s);
      if (ctx.json) {
        print_json({{"output", export_args->output}, {"format", export_args->format}, {"bytes", bytes->size()}});
      } else {
        std::printf("wrote %s (%s, %s)\n", export_args->output.c_str(), export_args->format.c_str(),
                    human_bytes(bytes->size()).c_str());
      }
      return kExitOk;
    };
  });
}

}  // namespace slipway::cli
