// Writes a synthetic prediction log (the format `slipway serve` writes) and a reference CSV from the
// same distributions, for timing the streaming drift path over a log of N records:
//   make_log STORE_ROOT MODEL RECORDS REFERENCE_ROWS REFERENCE.csv
// Inputs: x0..x29 numeric (normal; x0..x2 shifted by 0.05..0.15 sd in the log), c0..c4 categorical
// (8 categories; c0's mix changes in the log). One row per record, one output "probability".
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "slipway/serve/prediction_log.h"

using slipway::serve::PredictionLog;
using slipway::serve::PredictionRecord;

namespace {

constexpr int kNumeric = 30;
constexpr int kCategorical = 5;

struct Row {
  double x[kNumeric];
  int c[kCategorical];
};

Row draw(std::mt19937_64& rng, bool shifted) {
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Row r{};
  for (int k = 0; k < kNumeric; ++k) r.x[k] = normal(rng) + (shifted && k < 3 ? 0.05 * (k + 1) : 0.0);
  for (int k = 0; k < kCategorical; ++k) {
    double u = unit(rng);
    if (shifted && k == 0) u = u * u;  // more mass on the first categories
    r.c[k] = static_cast<int>(u * 8);
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: make_log STORE_ROOT MODEL RECORDS REFERENCE_ROWS REFERENCE.csv\n");
    return 2;
  }
  const std::string root = argv[1], model = argv[2];
  const long records = std::atol(argv[3]), ref_rows = std::atol(argv[4]);
  std::mt19937_64 rng(42);
  {
    FILE* f = std::fopen(argv[5], "w");
    if (f == nullptr) return 3;
    for (int k = 0; k < kNumeric; ++k) std::fprintf(f, "x%d,", k);
    for (int k = 0; k < kCategorical; ++k) std::fprintf(f, "c%d%s", k, k + 1 < kCategorical ? "," : "\n");
    for (long i = 0; i < ref_rows; ++i) {
      Row r = draw(rng, false);
      for (double v : r.x) std::fprintf(f, "%.9g,", v);
      for (int k = 0; k < kCategorical; ++k) std::fprintf(f, "cat%d%s", r.c[k], k + 1 < kCategorical ? "," : "\n");
    }
    std::fclose(f);
  }
  slipway::serve::PredictionLogOptions options;
  options.fsync = slipway::serve::FsyncPolicy::kNever;
  options.queue_capacity = 1 << 20;
  auto log = PredictionLog::open(slipway::serve::prediction_log_dir(root), options);
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", log.status().message().c_str());
    return 3;
  }
  const long t0 = 1'767'225'600'000'000;  // 2026-01-01
  for (long i = 0; i < records; ++i) {
    Row r = draw(rng, true);
    PredictionRecord rec;
    rec.request_id = "r" + std::to_string(i);
    rec.time_us = t0 + i * 1000;
    rec.model = model;
    rec.version = 1;
    rec.latency_us = 40;
    // As the server logs them: typed tensors, stored as raw bytes.
    auto tensor = [](std::string name, slipway::serve::DataType type) {
      slipway::serve::Tensor t;
      t.name = std::move(name);
      t.datatype = type;
      t.shape = {1};
      return t;
    };
    rec.inputs.reserve(kNumeric + kCategorical);
    for (int k = 0; k < kNumeric; ++k) {
      auto t = tensor("x" + std::to_string(k), slipway::serve::DataType::kFp64);
      t.raw.assign(reinterpret_cast<const char*>(&r.x[k]), sizeof(double));
      rec.inputs.push_back(std::move(t));
    }
    for (int k = 0; k < kCategorical; ++k) {
      auto t = tensor("c" + std::to_string(k), slipway::serve::DataType::kBytes);
      t.strings.push_back("cat" + std::to_string(r.c[k]));
      rec.inputs.push_back(std::move(t));
    }
    auto out = tensor("probability", slipway::serve::DataType::kFp32);
    const auto p = static_cast<float>(1.0 / (1.0 + std::exp(-r.x[0])));
    out.raw.assign(reinterpret_cast<const char*>(&p), sizeof(float));
    rec.outputs.push_back(std::move(out));
    while (!(*log)->try_append(std::move(rec))) (*log)->flush();  // the queue is full: let it drain
  }
  (*log)->flush();
  std::printf("%ld records, %lu bytes\n", records, static_cast<unsigned long>((*log)->stats().bytes_written));
  return 0;
}
