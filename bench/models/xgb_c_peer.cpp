// xgb_c_peer: XGBoost's own predictor through its C API, the C-level peer of engine_bench.
//
//   xgb_c_peer --lib libxgboost.so --model MODEL.json --rows-csv FILE [--rows N] [--calls N]
//              [--threads-list 1,2] [--runs N] [--dump FILE] [--dump-rows N]
//
// The library is loaded with dlopen (the Python wheel's libxgboost.so, the same build that
// inplace_predict calls into) so nothing links against a system XGBoost of another version.
// Batch: XGBoosterPredictFromDense over all rows (what Booster.inplace_predict does under its thin
// Python layer), nthread set per thread count, median of --runs runs after a warm-up. Single row:
// one PredictFromDense call per row on a booster with nthread=1, each call on a different row; the
// array-interface strings are prepared before timing, so the peer pays only XGBoost's own work.
// The CSV columns are taken in order (the model's features must be the file's columns, in order).
// Output format follows engine_bench: a table, then one JSON line per result.
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "rows_csv.h"

namespace {

using Clock = std::chrono::steady_clock;
using BoosterHandle = void*;
using bst_ulong = uint64_t;

struct XgbApi {
  const char* (*get_last_error)();
  int (*create)(const void* const* dmats, bst_ulong len, BoosterHandle* out);
  int (*free_booster)(BoosterHandle);
  int (*load_model)(BoosterHandle, const char* fname);
  int (*set_param)(BoosterHandle, const char* name, const char* value);
  int (*num_feature)(BoosterHandle, bst_ulong* out);
  int (*predict_from_dense)(BoosterHandle, const char* values, const char* config, void* proxy,
                            const bst_ulong** out_shape, bst_ulong* out_dim, const float** out_result);
  void (*version)(int* major, int* minor, int* patch);
};

template <typename F>
bool bind_symbol(void* lib, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
  if (!*out) std::fprintf(stderr, "xgb_c_peer: %s not found in the library\n", name);
  return *out != nullptr;
}

bool load_api(const std::string& path, XgbApi* api) {
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "xgb_c_peer: %s\n", dlerror());
    return false;
  }
  return bind_symbol(lib, "XGBGetLastError", &api->get_last_error) &&
         bind_symbol(lib, "XGBoosterCreate", &api->create) && bind_symbol(lib, "XGBoosterFree", &api->free_booster) &&
         bind_symbol(lib, "XGBoosterLoadModel", &api->load_model) &&
         bind_symbol(lib, "XGBoosterSetParam", &api->set_param) &&
         bind_symbol(lib, "XGBoosterGetNumFeature", &api->num_feature) &&
         bind_symbol(lib, "XGBoosterPredictFromDense", &api->predict_from_dense) &&
         bind_symbol(lib, "XGBoostVersion", &api->version);
}

const XgbApi* g_api = nullptr;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "xgb_c_peer: %s: %s\n", what, g_api->get_last_error());
  std::exit(1);
}

BoosterHandle open_booster(const std::string& model, unsigned threads) {
  BoosterHandle h = nullptr;
  if (g_api->create(nullptr, 0, &h) != 0) die("XGBoosterCreate");
  if (g_api->load_model(h, model.c_str()) != 0) die("XGBoosterLoadModel");
  if (g_api->set_param(h, "nthread", std::to_string(threads).c_str()) != 0) die("XGBoosterSetParam");
  return h;
}

// The __array_interface__ JSON XGBoost reads a dense float32 matrix from (what the Python layer builds).
std::string array_interface(const float* data, size_t rows, size_t cols) {
  return "{\"data\":[" + std::to_string(reinterpret_cast<uintptr_t>(data)) + ",true],\"shape\":[" +
         std::to_string(rows) + "," + std::to_string(cols) + "],\"typestr\":\"<f4\",\"version\":3,\"strides\":null}";
}

// inplace_predict's own config: value predictions, all trees, NaN is missing.
constexpr const char* kConfig =
    "{\"type\":0,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,\"missing\":NaN,"
    "\"strict_shape\":false,\"cache_id\":0}";

const float* predict(BoosterHandle h, const std::string& values, size_t* n_out) {
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  if (g_api->predict_from_dense(h, values.c_str(), kConfig, nullptr, &shape, &dim, &result) != 0) {
    die("XGBoosterPredictFromDense");
  }
  *n_out = 1;
  for (bst_ulong d = 0; d < dim; ++d) *n_out *= shape[d];
  return result;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string lib_path, model_path, rows_csv, dump_path, threads_arg = "1,2";
  size_t rows = 1'000'000, calls = 10'000, dump_rows = 2000;
  int runs = 3;
  for (int i = 1; i < argc; ++i) {
    auto next = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "xgb_c_peer: %s needs a value\n", flag);
        std::exit(2);
      }
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--lib")) lib_path = next("--lib");
    else if (!std::strcmp(argv[i], "--model")) model_path = next("--model");
    else if (!std::strcmp(argv[i], "--rows-csv")) rows_csv = next("--rows-csv");
    else if (!std::strcmp(argv[i], "--rows")) rows = std::strtoull(next("--rows"), nullptr, 10);
    else if (!std::strcmp(argv[i], "--calls")) calls = std::strtoull(next("--calls"), nullptr, 10);
    else if (!std::strcmp(argv[i], "--threads-list")) threads_arg = next("--threads-list");
    else if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(next("--runs"));
    else if (!std::strcmp(argv[i], "--dump")) dump_path = next("--dump");
    else if (!std::strcmp(argv[i], "--dump-rows")) dump_rows = std::strtoull(next("--dump-rows"), nullptr, 10);
    else {
      lib_path.clear();
      break;
    }
  }
  const std::vector<unsigned> threads_list = bench::parse_list(threads_arg);
  if (lib_path.empty() || model_path.empty() || rows_csv.empty() || threads_list.empty() || runs < 1 || calls == 0) {
    std::fprintf(stderr,
                 "usage: xgb_c_peer --lib libxgboost.so --model MODEL.json --rows-csv FILE [--rows N] [--calls N]\n"
                 "                  [--threads-list 1,2] [--runs N] [--dump FILE] [--dump-rows N]\n");
    return 2;
  }
  XgbApi api{};
  if (!load_api(lib_path, &api)) return 1;
  g_api = &api;
  int major = 0, minor = 0, patch = 0;
  api.version(&major, &minor, &patch);

  bench::CsvMatrix m;
  if (!bench::read_csv_matrix(rows_csv, rows, &m) || m.rows == 0) return 1;
  rows = m.rows;
  const size_t nc = m.names.size();
  {
    BoosterHandle h = open_booster(model_path, 1);
    bst_ulong nf = 0;
    if (api.num_feature(h, &nf) != 0) die("XGBoosterGetNumFeature");
    api.free_booster(h);
    if (nf != nc) {
      std::fprintf(stderr, "xgb_c_peer: the model has %llu features, %s has %zu columns\n",
                   static_cast<unsigned long long>(nf), rows_csv.c_str(), nc);
      return 1;
    }
  }

  struct Row {
    std::string what;
    unsigned threads;
    double value;
    const char* unit;
  };
  std::vector<Row> results;
  const std::string all = array_interface(m.values.data(), rows, nc);
  for (unsigned t : threads_list) {
    BoosterHandle h = open_booster(model_path, t);
    size_t n_out = 0;
    predict(h, array_interface(m.values.data(), std::min<size_t>(rows, 10000), nc), &n_out);  // warm up
    std::vector<double> rates;
    for (int run = 0; run < runs; ++run) {
      auto t0 = Clock::now();
      predict(h, all, &n_out);
      rates.push_back(static_cast<double>(rows) / std::chrono::duration<double>(Clock::now() - t0).count());
    }
    api.free_booster(h);
    results.push_back({"batch", t, median(rates), "rows/s"});
  }

  BoosterHandle one = open_booster(model_path, 1);
  if (!dump_path.empty()) {
    const size_t n = std::min(dump_rows, rows);
    size_t n_out = 0;
    const float* got = predict(one, array_interface(m.values.data(), n, nc), &n_out);
    const size_t per_row = n_out / n;
    FILE* f = std::fopen(dump_path.c_str(), "w");
    if (!f) {
      std::fprintf(stderr, "xgb_c_peer: cannot write %s\n", dump_path.c_str());
      return 1;
    }
    for (size_t k = 0; k < per_row; ++k) std::fprintf(f, "%sout%zu", k ? "," : "", k);
    std::fputc('\n', f);
    for (size_t r = 0; r < n; ++r) {
      for (size_t k = 0; k < per_row; ++k) std::fprintf(f, "%s%.9g", k ? "," : "", got[r * per_row + k]);
      std::fputc('\n', f);
    }
    std::fclose(f);
  }
  const size_t distinct = std::min<size_t>(rows, 4096);
  std::vector<std::string> row_json;
  row_json.reserve(distinct);
  for (size_t r = 0; r < distinct; ++r) row_json.push_back(array_interface(m.values.data() + r * nc, 1, nc));
  size_t n_out = 0;
  for (size_t i = 0; i < std::min<size_t>(calls, 1000); ++i) predict(one, row_json[i % distinct], &n_out);
  std::vector<double> ns(calls);
  for (size_t i = 0; i < calls; ++i) {
    const std::string& r = row_json[i % distinct];
    auto t0 = Clock::now();
    predict(one, r, &n_out);
    ns[i] = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
  }
  api.free_booster(one);
  std::sort(ns.begin(), ns.end());
  results.push_back({"single_row_p50", 1, ns[ns.size() / 2], "ns"});
  results.push_back({"single_row_p99", 1, ns[ns.size() * 99 / 100], "ns"});

  std::printf("xgb_c_peer  xgboost=%d.%d.%d  model=%s  rows=%zu (%s)  calls=%zu\n", major, minor, patch,
              model_path.c_str(), rows, rows_csv.c_str(), calls);
  std::printf("%-16s %8s %16s\n", "what", "threads", "value");
  for (const auto& r : results) std::printf("%-16s %8u %14.0f %s\n", r.what.c_str(), r.threads, r.value, r.unit);
  for (const auto& r : results) {
    std::printf(
        "{\"bench\":\"xgb_c_peer\",\"xgboost\":\"%d.%d.%d\",\"model\":\"%s\",\"what\":\"%s\",\"threads\":%u,"
        "\"value\":%.1f,\"unit\":\"%s\",\"rows\":%zu,\"runs\":%d,\"calls\":%zu}\n",
        major, minor, patch, model_path.c_str(), r.what.c_str(), r.threads, r.value, r.unit, rows, runs, calls);
  }
  return 0;
}
