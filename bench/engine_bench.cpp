// engine_bench: throughput and latency of slipway's native inference engine.
//
//   engine_bench [--model FILE] [--rows N] [--calls N] [--missing FRACTION] [--seed S]
//
// Without --model it generates (seeded) the reference shape: a binary model of 500 trees of
// depth 6 over 28 numeric features. With --model it imports any supported file (bundle, XGBoost
// JSON/UBJSON, LightGBM text, ONNX). Inputs are N(0, 1) rows with an optional fraction of missing
// values. Reports batch rows/s for every ISA on 1 thread and for the best ISA on 2 threads (median of
// 3 runs over --rows rows), and single-row predict_row latency p50/p99 over --calls calls. Prints a
// table, then one JSON line per result.
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

#include "slipway/model/engine.h"
#include "slipway/model/importers.h"

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

struct Result {
  std::string what, isa;
  unsigned threads = 1;
  double value = 0;  // rows/s (wall clock) for batch, ns for latency
  std::string unit;
  double per_cpu_second = 0;  // batch: rows per CPU-second of the process
};

}  // namespace

int main(int argc, char** argv) {
  std::string model_path;
  size_t rows = 1'000'000, calls = 100'000;
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
    else {
      std::fprintf(stderr, "usage: engine_bench [--model FILE] [--rows N] [--calls N] [--missing FRACTION] [--seed S]\n");
      return 2;
    }
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
  std::vector<float> x(rows * nf);
  {
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
    for (int run = 0; run < 3; ++run) {
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
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) batch(isa, 1);
  batch(Isa::kAuto, 2);

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

  std::printf("engine_bench  model=%s  features=%zu  outputs=%zu  rows=%zu  missing=%.2f\n", model_name.c_str(), nf, no,
              rows, missing);
  std::printf("%-16s %-8s %8s %16s %24s\n", "what", "isa", "threads", "value", "rows per CPU-second");
  for (const auto& r : results) {
    std::printf("%-16s %-8s %8u %14.0f %-6s %14.0f\n", r.what.c_str(), r.isa.c_str(), r.threads, r.value,
                r.unit.c_str(), r.per_cpu_second);
  }
  for (const auto& r : results) {
    std::printf(
        "{\"bench\":\"engine\",\"model\":\"%s\",\"what\":\"%s\",\"isa\":\"%s\",\"threads\":%u,\"value\":%.1f,"
        "\"unit\":\"%s\",\"rows_per_cpu_second\":%.1f,\"rows\":%zu}\n",
        model_name.c_str(), r.what.c_str(), r.isa.c_str(), r.threads, r.value, r.unit.c_str(), r.per_cpu_second, rows);
  }
  return 0;
}
