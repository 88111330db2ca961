// Times slipway's drift statistics on the columns bench/monitor/compare.py writes (raw little-endian
// float64 per numeric column, uint8 category codes per categorical column) and prints one JSON
// object. Loading the files is not timed; each timing includes dropping NaN and sorting.
//
//   drift_bench DIR ROWS NUMERIC CATEGORICAL [--ks-columns K] [--threads T] [--no-dataset]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slipway/monitor/drift.h"
#include "slipway/monitor/stats.h"

using namespace slipway::monitor;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

template <typename T>
std::vector<T> read_file(const std::string& path, size_t rows) {
  std::vector<T> out(rows);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(rows * sizeof(T)));
  if (!in) {
    std::fprintf(stderr, "cannot read %zu values from %s\n", rows, path.c_str());
    std::exit(3);
  }
  return out;
}

Column categorical_column(const std::string& name, const std::vector<uint8_t>& codes) {
  static const std::vector<std::string> kLabels = [] {
    std::vector<std::string> l;
    for (int i = 0; i < 256; ++i) l.push_back("cat" + std::to_string(i));
    return l;
  }();
  Column c;
  c.name = name;
  c.kind = ColumnKind::kCategorical;
  c.strings.reserve(codes.size());
  for (uint8_t v : codes) c.strings.push_back(kLabels[v]);
  return c;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: drift_bench DIR ROWS NUMERIC CATEGORICAL [--ks-columns K] [--threads T] [--no-dataset]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const auto rows = static_cast<size_t>(std::stoull(argv[2]));
  const int numeric = std::stoi(argv[3]);
  const int categorical = std::stoi(argv[4]);
  int ks_columns = numeric;
  unsigned threads = 0;
  bool dataset = true;
  for (int i = 5; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--ks-columns" && i + 1 < argc) ks_columns = std::stoi(argv[++i]);
    if (a == "--threads" && i + 1 < argc) threads = static_cast<unsigned>(std::stoul(argv[++i]));
    if (a == "--no-dataset") dataset = false;
  }
  nlohmann::json out = {{"rows", rows}, {"numeric", numeric}, {"categorical", categorical}};

  // Per column: KS (drop NaN, radix sort both samples on two threads, merge walk, p-value).
  std::vector<double> ks_times, ks_p;
  for (int k = 0; k < ks_columns; ++k) {
    auto a = read_file<double>(dir + "/ref_num_" + std::to_string(k) + ".f64", rows);
    auto b = read_file<double>(dir + "/cur_num_" + std::to_string(k) + ".f64", rows);
    const double t0 = now_s();
    KsResult r = ks_2samp(a, b);
    ks_times.push_back(now_s() - t0);
    ks_p.push_back(r.p_value);
    out["ks"].push_back({{"column", k}, {"seconds", ks_times.back()}, {"statistic", r.statistic}, {"p_value", r.p_value}});
  }
  out["ks_median_s"] = median(ks_times);

  // Per column: chi-squared from the raw strings (count, pool, test).
  std::vector<double> chi_times;
  for (int k = 0; k < categorical; ++k) {
    Frame ref, cur;
    ref.columns.push_back(categorical_column("c", read_file<uint8_t>(dir + "/ref_cat_" + std::to_string(k) + ".u8", rows)));
    cur.columns.push_back(categorical_column("c", read_file<uint8_t>(dir + "/cur_cat_" + std::to_string(k) + ".u8", rows)));
    ref.rows = cur.rows = rows;
    DriftOptions options;
    options.tests["c"] = DriftTest::kChiSquared;
    options.threads = 1;
    const double t0 = now_s();
    auto report = detect_drift(ref, cur, options);
    chi_times.push_back(now_s() - t0);
    out["chi2"].push_back({{"column", k},
                           {"seconds", chi_times.back()},
                           {"statistic", report->columns[0].statistic},
                           {"p_value", *report->columns[0].p_value}});
  }
  out["chi2_median_s"] = median(chi_times);
  out["peak_rss_mb_per_column"] = peak_rss_mb();

  if (dataset) {
    // The whole dataset, default tests (Wasserstein / Jensen-Shannon at this size), columns in parallel.
    Frame ref, cur;
    for (int k = 0; k < numeric; ++k) {
      Column a, b;
      a.name = b.name = "num_" + std::to_string(k);
      a.numbers = read_file<double>(dir + "/ref_num_" + std::to_string(k) + ".f64", rows);
      b.numbers = read_file<double>(dir + "/cur_num_" + std::to_string(k) + ".f64", rows);
      ref.columns.push_back(std::move(a));
      cur.columns.push_back(std::move(b));
    }
    for (int k = 0; k < categorical; ++k) {
      ref.columns.push_back(
          categorical_column("cat_" + std::to_string(k), read_file<uint8_t>(dir + "/ref_cat_" + std::to_string(k) + ".u8", rows)));
      cur.columns.push_back(
          categorical_column("cat_" + std::to_string(k), read_file<uint8_t>(dir + "/cur_cat_" + std::to_string(k) + ".u8", rows)));
    }
    ref.rows = cur.rows = rows;
    DriftOptions options;
    options.threads = threads;
    double t0 = now_s();
    auto report = detect_drift(ref, cur, options);
    out["dataset_s"] = now_s() - t0;
    out["dataset_drifted_columns"] = report->drifted_columns;
    out["dataset_drift"] = report->dataset_drift;
    // Streaming: the reference's bins, then the current data counted in 64k-row chunks.
    t0 = now_s();
    FrameSummary layout = summary_layout(ref);
    FrameSummary rs = layout;
    (void)rs.add(ref);
    out["summary_reference_s"] = now_s() - t0;
    t0 = now_s();
    FrameSummary cs = layout;
    const size_t chunk = 65536;
    for (size_t at = 0; at < rows; at += chunk) {
      Frame part;
      const size_t n = std::min(chunk, rows - at);
      part.rows = n;
      for (const auto& c : cur.columns) {
        Column p;
        p.name = c.name;
        p.kind = c.kind;
        if (c.kind == ColumnKind::kNumeric) {
          p.numbers.assign(c.numbers.begin() + static_cast<std::ptrdiff_t>(at), c.numbers.begin() + static_cast<std::ptrdiff_t>(at + n));
        } else {
          p.strings.assign(c.strings.begin() + static_cast<std::ptrdiff_t>(at), c.strings.begin() + static_cast<std::ptrdiff_t>(at + n));
        }
        part.columns.push_back(std::move(p));
      }
      (void)cs.add(part);
    }
    out["summary_current_s"] = now_s() - t0;
    t0 = now_s();
    auto streamed = detect_drift(rs, cs, options);
    out["summary_drift_s"] = now_s() - t0;
    out["summary_drifted_columns"] = streamed->drifted_columns;
    out["peak_rss_mb"] = peak_rss_mb();
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
