// engine_bench: throughput and latency of slipway's native inference engine.
//
//   engine_bench [--model FILE] [--rows N] [--calls N] [--missing FRACTION] [--seed S]
//                [--rows-csv FILE] [--threads-list 1,2] [--runs N] [--dump FILE] [--dump-rows N]
//
// Without --model it generates (seeded) the reference shape: a binary model of 500 trees of
// depth 6 over 28 numeric features. With --model it imports any supported file (bundle, XGBoost
// JSON/UBJSON, LightGBM text, ONNX). Inputs are N(0, 1) rows with an optional fraction of missing
// values, or with --rows-csv the first --rows rows of a CSV file, encoded by the model's
// FeatureEncoder with columns matched to inputs by name (as `slipway model predict` does; a model
// saved without feature names, inputs f0, f1, ..., takes the file's columns in order).
// Reports batch rows/s (median of --runs runs over the rows): without --threads-list for every ISA
// on 1 thread and for the best ISA on 2 threads, with it for the best ISA at each listed thread
// count; then single-row predict_row latency p50/p99 over --calls calls, each on a different row.
// --dump writes the batch predictions of the first --dump-rows rows (CSV, one column per output) so
// a caller can check them against the originating library. Prints a table, then one JSON line per
// result.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "models/rows_csv.h"
#include "slipway/model/engine.h"
#include "slipway/model/importers.h"
#include "slipway/model/transforms.h"

namespace {

using namespace slipway::model;
using Clock = std::chrono::steady_clock;

Model synthetic_model(uint64_t seed) {
  constexpr int kTrees = 500, kDepth = 6, kFeatures = 28;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Model model;
  model.task = Task::kBinary;
  model.output_transform = OutputTransform::kSigmoid;
  for (int f = 0; f < kFeatures; ++f) {
    model.inputs.push_back(InputColumn{"f" + std::to_string(f), InputKind::kNumeric, {}});
    model.feature_names.push_back("f" + std::to_string(f));
  }
  TreeEnsemble ens;
  ens.base_score = {0.0};
  for (int t = 0; t < kTrees; ++t) {
    Tree tree;
    const int n_nodes = (1 << (kDepth + 1)) - 1;  // perfect tree, breadth-first: children of i are 2i+1, 2i+2
    for (int n = 0; n < n_nodes; ++n) {
      const bool leaf = n >= (1 << kDepth) - 1;
      tree.left.push_back(leaf ? -1 : 2 * n + 1);
      tree.right.push_back(leaf ? -1 : 2 * n + 2);
      tree.feature.push_back(leaf ? 0 : static_cast<int32_t>(rng() % kFeatures));
      tree.threshold.push_back(leaf ? 0.0f : normal(rng) * 0.8f);
      tree.default_left.push_back(static_cast<uint8_t>(rng() % 2));
      tree.leaf_values.push_back(leaf ? normal(rng) * 0.05f : 0.0f);
    }
    ens.trees.push_back(std::move(tree));
  }
  model.body = std::move(ens);
  return model;
}

// CPU seconds used by the whole process: on a shared machine rows per CPU-second is the stable
// "per core" figure, wall-clock rows/s is what a caller sees.
double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

bool unnamed_inputs(const Model& model) {
  for (size_t i = 0; i < model.inputs.size(); ++i) {
    if (model.inputs[i].name != "f" + std::to_string(i)) return false;
  }
  return true;
}

// Reads up to `max_rows` rows of `path` into x (n_features per row) through the model's encoder.
bool load_csv_rows(const Model& model, const std::string& path, size_t max_rows, std::vector<float>* x,
                   size_t* n_rows) {
  auto reader = slipway::table::open_csv(path, slipway::table::CsvOptions{});
  if (!reader.ok()) {
    std::fprintf(stderr, "engine_bench: %s\n", reader.status().message().c_str());
    return false;
  }
  const FeatureEncoder encoder(model);
  const auto& names = (*reader)->column_names();
  auto bound = encoder.bind(names);
  std::vector<size_t> column_of_input;
  if (bound.ok()) {
    column_of_input = *bound;
  } else if (unnamed_inputs(model) && names.size() >= model.inputs.size()) {
    for (size_t i = 0; i < model.inputs.size(); ++i) column_of_input.push_back(i);
    std::fprintf(stderr, "engine_bench: the model has no feature names (inputs f0..f%zu): %s columns taken in order\n",
                 model.inputs.size() - 1, path.c_str());
  } else {
    std::fprintf(stderr, "engine_bench: %s: %s\n", path.c_str(), bound.status().message().c_str());
    return false;
  }
  const size_t nf = model.n_features();
  x->clear();
  *n_rows = 0;
  slipway::table::RecordBatch batch;
  while (*n_rows < max_rows) {
    auto more = (*reader)->next(batch, std::min<size_t>(max_rows - *n_rows, 1 << 16));
    if (!more.ok()) {
      std::fprintf(stderr, "engine_bench: %s\n", more.status().message().c_str());
      return false;
    }
    if (!*more) break;
    x->resize((*n_rows + batch.num_rows) * nf);
    if (auto st = encoder.encode_batch(batch, column_of_input, x->data() + *n_rows * nf); !st.ok()) {
      std::fprintf(stderr, "engine_bench: %s: %s\n", path.c_str(), st.message().c_str());
      return false;
    }
    *n_rows += batch.num_rows;
  }
  return *n_rows > 0;
}

struct Result {
  std::string what, isa;
  unsigned threads = 1;
  double value = 0;  // rows/s (wall clock) for batch, ns for latency
  std::string unit;
  double per_cpu_second = 0;  // batch: rows per CPU-second of the process
};

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, rows_csv, dump_path, threads_arg;
  size_t rows = 1'000'000, calls = 100'000, dump_rows = 2000;
  int runs = 3;
  double missing = 0.0;
  uint64_t seed = 42;
  for (int i = 1; i < argc; ++i) {
    auto next = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "engine_bench: %s needs a value\n", flag);
        std::exit(2);
      }
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--model")) model_path = next("--model");
    else if (!std::strcmp(argv[i], "--rows")) rows = std::strtoull(next("--rows"), nullptr, 10);
    else if (!std::strcmp(argv[i], "--calls")) calls = std::strtoull(next("--calls"), nullptr, 10);
    else if (!std::strcmp(argv[i], "--missing")) missing = std::strtod(next("--missing"), nullptr);
    else if (!std::strcmp(argv[i], "--seed")) seed = std::strtoull(next("--seed"), nullptr, 10);
    else if (!std::strcmp(argv[i], "--rows-csv")) rows_csv = next("--rows-csv");
    else if (!std::strcmp(argv[i], "--threads-list")) threads_arg = next("--threads-list");
    else if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(next("--runs"));
    else if (!std::strcmp(argv[i], "--dump")) dump_path = next("--dump");
    else if (!std::strcmp(argv[i], "--dump-rows")) dump_rows = std::strtoull(next("--dump-rows"), nullptr, 10);
    else {
      std::fprintf(stderr,
                   "usage: engine_bench [--model FILE] [--rows N] [--calls N] [--missing FRACTION] [--seed S]\n"
                   "                    [--rows-csv FILE] [--threads-list 1,2] [--runs N] [--dump FILE] [--dump-rows N]\n");
      return 2;
    }
  }
  const std::vector<unsigned> threads_list = bench::parse_list(threads_arg);
  if ((!threads_arg.empty() && threads_list.empty()) || runs < 1 || rows == 0 || calls == 0) {
    std::fprintf(stderr, "engine_bench: --threads-list takes positive counts (1,2); --runs, --rows, --calls >= 1\n");
    return 2;
  }

  Model model;
  std::string model_name = "synthetic-500x6-28f";
  if (!model_path.empty()) {
    auto imported = import_model(model_path);
    if (!imported.ok()) {
      std::fprintf(stderr, "engine_bench: %s\n", imported.status().message().c_str());
      return 1;
    }
    model = std::move(imported).value();
    model_name = model_path;
  } else {
    model = synthetic_model(seed);
  }
  const size_t nf = model.n_features(), no = model.n_outputs();
  std::vector<float> x;
  if (!rows_csv.empty()) {
    if (!load_csv_rows(model, rows_csv, rows, &x, &rows)) return 1;
  } else {
    x.resize(rows * nf);
    std::mt19937_64 rng(seed + 1);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (float& v : x) v = missing > 0 && u(rng) < missing ? NAN : normal(rng);
  }
  std::vector<float> out(rows * no);

  std::vector<Result> results;
  using Isa = PredictorOptions::Isa;
  auto batch = [&](Isa isa, unsigned threads) -> bool {
    PredictorOptions options;
    options.isa = isa;
    options.threads = threads;
    auto p = Predictor::create(model, options);
    if (!p.ok()) return false;
    (*p)->predict(x.data(), std::min<size_t>(rows, 20000), out.data());  // warm up
    std::vector<double> rates, cpu_rates;
    for (int run = 0; run < runs; ++run) {
      auto t0 = Clock::now();
      double c0 = cpu_seconds();
      (*p)->predict(x.data(), rows, out.data());
      double cpu = cpu_seconds() - c0;
      double s = std::chrono::duration<double>(Clock::now() - t0).count();
      rates.push_back(static_cast<double>(rows) / s);
      cpu_rates.push_back(static_cast<double>(rows) / cpu);
    }
    results.push_back({"batch", (*p)->isa_name(), threads, median(rates), "rows/s", median(cpu_rates)});
    return true;
  };
  if (threads_list.empty()) {
    for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) batch(isa, 1);
    batch(Isa::kAuto, 2);
  } else {
    for (unsigned t : threads_list) batch(Isa::kAuto, t);
  }

  {
    auto p = Predictor::create(model);
    if (!p.ok()) {
      std::fprintf(stderr, "engine_bench: %s\n", p.status().message().c_str());
      return 1;
    }
    const Predictor& pred = **p;
    std::vector<float> row_out(no);
    const size_t distinct = std::min<size_t>(rows, 4096);
    for (size_t i = 0; i < 1000; ++i) pred.predict_row(x.data() + (i % distinct) * nf, row_out.data());
    std::vector<double> ns(calls);
    const double c0 = cpu_seconds();
    for (size_t i = 0; i < calls; ++i) {
      const float* r = x.data() + (i % distinct) * nf;
      auto t0 = Clock::now();
      pred.predict_row(r, row_out.data());
      ns[i] = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    }
    const double cpu_ns_per_call = (cpu_seconds() - c0) * 1e9 / static_cast<double>(calls);
    std::sort(ns.begin(), ns.end());
    results.push_back({"single_row_p50", pred.isa_name(), 1, ns[ns.size() / 2], "ns"});
    results.push_back({"single_row_p99", pred.isa_name(), 1, ns[ns.size() * 99 / 100], "ns"});
    results.push_back({"single_row_cpu", pred.isa_name(), 1, cpu_ns_per_call, "ns"});  // mean CPU time per call
  }

  double row_vs_batch = -1;  // max |predict_row - predict| over the dumped rows; -1: not measured
  if (!dump_path.empty()) {
    auto p = Predictor::create(model);
    if (!p.ok()) return 1;
    const size_t n = std::min(dump_rows, rows);
    std::vector<float> got(n * no), one(no);
    (*p)->predict(x.data(), n, got.data());
    row_vs_batch = 0;
    for (size_t r = 0; r < n; ++r) {
      (*p)->predict_row(x.data() + r * nf, one.data());
      for (size_t k = 0; k < no; ++k) row_vs_batch = std::max<double>(row_vs_batch, std::fabs(one[k] - got[r * no + k]));
    }
    FILE* f = std::fopen(dump_path.c_str(), "w");
    if (!f) {
      std::fprintf(stderr, "engine_bench: cannot write %s\n", dump_path.c_str());
      return 1;
    }
    for (size_t k = 0; k < no; ++k) std::fprintf(f, "%sout%zu", k ? "," : "", k);
    std::fputc('\n', f);
    for (size_t r = 0; r < n; ++r) {
      for (size_t k = 0; k < no; ++k) std::fprintf(f, "%s%.9g", k ? "," : "", got[r * no + k]);
      std::fputc('\n', f);
    }
    std::fclose(f);
  }

  const std::string rows_source = rows_csv.empty() ? "normal" : rows_csv;
  std::printf("engine_bench  model=%s  features=%zu  outputs=%zu  rows=%zu (%s)  missing=%.2f\n", model_name.c_str(), nf,
              no, rows, rows_source.c_str(), missing);
  std::printf("%-16s %-8s %8s %16s %24s\n", "what", "isa", "threads", "value", "rows per CPU-second");
  for (const auto& r : results) {
    std::printf("%-16s %-8s %8u %14.0f %-6s %14.0f\n", r.what.c_str(), r.isa.c_str(), r.threads, r.value,
                r.unit.c_str(), r.per_cpu_second);
  }
  for (const auto& r : results) {
    std::printf(
        "{\"bench\":\"engine\",\"model\":\"%s\",\"what\":\"%s\",\"isa\":\"%s\",\"threads\":%u,\"value\":%.1f,"
        "\"unit\":\"%s\",\"rows_per_cpu_second\":%.1f,\"rows\":%zu,\"rows_source\":\"%s\",\"runs\":%d,\"calls\":%zu}\n",
        model_name.c_str(), r.what.c_str(), r.isa.c_str(), r.threads, r.value, r.unit.c_str(), r.per_cpu_second, rows,
        rows_source.c_str(), runs, calls);
  }
  if (row_vs_batch >= 0) {
    std::printf("{\"bench\":\"engine\",\"model\":\"%s\",\"what\":\"row_vs_batch_max_abs_diff\",\"value\":%.3g,"
                "\"rows\":%zu,\"dump\":\"%s\"}\n",
                model_name.c_str(), row_vs_batch, std::min(dump_rows, rows), dump_path.c_str());
  }
  return 0;
}
