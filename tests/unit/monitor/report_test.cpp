// The monitoring report: built from a real prediction log with a planted shift (the shifted input
// drifts, overall and in the buckets after the shift; performance and business values per bucket),
// its JSON carries every section, and its HTML is one well-formed, self-contained page whose every
// chart has data.
#include "slipway/monitor/report.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "slipway/monitor/feedback.h"
#include "slipway/serve/prediction_log.h"
#include "slipway/store/store.h"

namespace slipway::monitor {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kHour = 3'600'000'000;
constexpr int64_t kStart = 1'700'006'400'000'000;  // a whole hour (2023-11-15T00:00:00Z)

// Every tag opened is closed in order (void elements and <x/> aside); <style> is skipped.
std::string unbalanced(const std::string& html) {
  std::vector<std::string> stack;
  size_t at = 0;
  while ((at = html.find('<', at)) != std::string::npos) {
    if (html.compare(at, 2, "<!") == 0) {
      at = html.find('>', at);
      continue;
    }
    const size_t end = html.find('>', at);
    if (end == std::string::npos) return "unterminated tag at " + std::to_string(at);
    std::string tag = html.substr(at + 1, end - at - 1);
    const bool closing = !tag.empty() && tag[0] == '/';
    const bool self_closing = !tag.empty() && tag.back() == '/';
    std::string name = tag.substr(closing ? 1 : 0);
    name = name.substr(0, name.find_first_of(" /"));
    at = end + 1;
    if (closing) {
      if (stack.empty() || stack.back() != name) {
        return fmt::format("</{}> at {} closes <{}>", name, at, stack.empty() ? "nothing" : stack.back());
      }
      stack.pop_back();
    } else if (!self_closing && name != "meta" && name != "br" && name != "hr" && name != "img" && name != "link") {
      stack.push_back(name);
      if (name == "style") {
        at = html.find("</style>", at);
        if (at == std::string::npos) return "unterminated <style>";
      }
    }
  }
  if (!stack.empty()) return "<" + stack.back() + "> never closed";
  return "";
}

std::vector<std::string> svgs(const std::string& html) {
  std::vector<std::string> out;
  size_t at = 0;
  while ((at = html.find("<svg", at)) != std::string::npos) {
    const size_t end = html.find("</svg>", at);
    if (end == std::string::npos) break;
    out.push_back(html.substr(at, end - at));
    at = end;
  }
  return out;
}

void expect_self_contained(const std::string& html) {
  EXPECT_EQ(unbalanced(html), "");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  // Links only to anchors of the page itself.
  size_t at = 0;
  while ((at = html.find("href=\"", at)) != std::string::npos) {
    at += 6;
    EXPECT_EQ(html[at], '#') << html.substr(at, 40);
  }
  for (const auto& svg : svgs(html)) {
    const bool marks = svg.find("<rect") != std::string::npos || svg.find("<path d=\"M") != std::string::npos ||
                       svg.find("<circle") != std::string::npos;
    EXPECT_TRUE(marks) << svg.substr(0, 300);
    EXPECT_EQ(svg.find("d=\"\""), std::string::npos);
    EXPECT_EQ(svg.find("nan"), std::string::npos) << svg.substr(0, 300);
    EXPECT_EQ(svg.find("inf"), std::string::npos) << svg.substr(0, 300);
  }
}

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) / fmt::format("report_test_{}", ::getpid());
    fs::remove_all(root_);
    auto store = store::Store::create(root_ / "store");
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(root_);
  }

  // 12 hours, 50 predictions an hour; from hour 6 on `x` is shifted by 1.5 standard deviations.
  // `c` keeps its mix. Every row gets a label (1 when x + noise > 0) and a revenue.
  void write_log(const std::string& model = "m") {
    std::mt19937_64 rng(7);
    std::normal_distribution<double> normal(0, 1);
    const char* cats[] = {"A", "B", "C"};
    std::vector<FeedbackItem> feedback;
    {
      auto log = serve::PredictionLog::open(serve::prediction_log_dir(store_->root()));
      ASSERT_TRUE(log.ok()) << log.status().message();
      for (int h = 0; h < 12; ++h) {
        for (int i = 0; i < 50; ++i) {
          const double x = normal(rng) + (h >= 6 ? 1.5 : 0);
          const char* c = cats[(i * 7 + h) % 3];
          const double p = 1 / (1 + std::exp(-x));
          serve::PredictionRecord r;
          r.request_id = fmt::format("r{}-{}", h, i);
          r.time_us = kStart + h * kHour + int64_t{i} * 60'000'000;
          r.model = model;
          r.version = h < 9 ? 1 : 2;
          r.inputs_json = fmt::format(
              R"([{{"name":"x","datatype":"FP64","shape":[1],"data":[{}]}},{{"name":"c","datatype":"BYTES","shape":[1],"data":["{}"]}}])",
              x, c);
          r.outputs_json = fmt::format(R"([{{"name":"probability","datatype":"FP64","shape":[1],"data":[{}]}}])", p);
          r.latency_us = 200 + i;
          ASSERT_TRUE((*log)->try_append(std::move(r)));
          FeedbackItem f;
          f.request_id = fmt::format("r{}-{}", h, i);
          const int label = x + normal(rng) > 0 ? 1 : 0;
          f.label = std::to_string(label);
          f.label_number = label;
          f.values = {{"revenue", 10 + 5 * p + normal(rng)}};
          feedback.push_back(std::move(f));
        }
      }
      (*log)->flush();
    }
    RequestIdIndex index(store_->root(), model);
    auto recorded = record_feedback(*store_, model, std::move(feedback), index, {}, kStart + 13 * kHour);
    ASSERT_TRUE(recorded.ok()) << recorded.status().message();
  }

  fs::path write_reference() {
    std::mt19937_64 rng(11);
    std::normal_distribution<double> normal(0, 1);
    const fs::path path = root_ / "reference.csv";
    std::ofstream out(path);
    out << "x,c,unused\n";
    const char* cats[] = {"A", "B", "C"};
    for (int i = 0; i < 800; ++i) out << fmt::format("{},{},{}\n", normal(rng), cats[i % 3], i);
    return path;
  }

  ReportOptions options(const std::string& reference = "") {
    ReportOptions o;
    o.window.model = "m";
    o.reference = reference;
    o.bucket_us = kHour;
    o.segments = {"c"};
    return o;
  }

  fs::path root_;
  std::unique_ptr<store::Store> store_;
};

const ColumnDrift* column(const DriftReport& d, const std::string& name) {
  for (const auto& c : d.columns) {
    if (c.column == name) return &c;
  }
  return nullptr;
}

TEST_F(ReportTest, ShiftedInputDriftsOverallAndInTheBucketsAfterTheShift) {
  write_log();
  const fs::path reference = write_reference();
  auto report = build_report(*store_, options(reference.string()), kStart + 20 * kHour);
  ASSERT_TRUE(report.ok()) << report.status().message();
  const MonitorReport& r = *report;
  EXPECT_EQ(r.predictions, 600u);
  EXPECT_EQ(r.versions, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(r.first_us, kStart);
  EXPECT_EQ(r.last_us, kStart + 11 * kHour + int64_t{49} * 60'000'000);
  EXPECT_EQ(r.reference.kind, "file");
  EXPECT_EQ(r.reference.rows, 800u);
  EXPECT_EQ(r.reference.columns, (std::vector<std::string>{"x", "c"}));  // "unused" is no model input
  ASSERT_TRUE(r.drift.has_value()) << r.drift_note;
  ASSERT_NE(column(*r.drift, "x"), nullptr);
  EXPECT_TRUE(column(*r.drift, "x")->drifted);
  EXPECT_FALSE(column(*r.drift, "c")->drifted);
  EXPECT_EQ(r.top_columns.front(), "x");
  ASSERT_TRUE(r.prediction_drift.has_value()) << r.prediction_drift_note;
  EXPECT_TRUE(column(*r.prediction_drift, "probability")->drifted);

  ASSERT_EQ(r.buckets.size(), 12u);
  EXPECT_EQ(r.bucket_us, kHour);
  for (size_t b = 0; b < 12; ++b) {
    const DriftBucket& bucket = r.buckets[b];
    EXPECT_EQ(bucket.start_us, kStart + static_cast<int64_t>(b) * kHour);
    EXPECT_EQ(bucket.rows, 50u);
    ASSERT_TRUE(bucket.tested) << b;
    ASSERT_TRUE(bucket.scores.contains("x"));
    if (b < 6) {
      EXPECT_LT(bucket.scores.at("x"), 0.4) << b;
    } else {
      EXPECT_GT(bucket.scores.at("x"), 0.4) << b;
      EXPECT_GE(bucket.share, 0.5) << b;
    }
    EXPECT_EQ(bucket.prediction_scores.empty(), b == 0) << b;  // the first bucket is the prediction reference
  }

  ASSERT_TRUE(r.performance.has_value()) << r.performance_note;
  EXPECT_EQ(r.performance->task, "binary");
  EXPECT_EQ(r.performance->overall.labelled, 600u);
  EXPECT_EQ(r.performance->by_time.size(), 12u);
  EXPECT_EQ(r.performance->by_version.size(), 2u);
  EXPECT_EQ(r.performance->by_segment.size(), 3u);
  ASSERT_EQ(r.performance->overall.values.size(), 1u);
  EXPECT_EQ(r.performance->overall.values[0].name, "revenue");

  const nlohmann::json j = to_json(r);
  for (const char* key : {"model", "window", "generated", "versions", "first_prediction", "last_prediction",
                          "predictions", "labelled", "reference", "drift", "prediction_drift", "drift_over_time",
                          "performance", "alerts", "notes"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["labelled"], 600);
  EXPECT_EQ(j["first_prediction"], "2023-11-15T00:00:00Z");
  EXPECT_EQ(j["drift_over_time"]["bucket_seconds"], 3600);
  EXPECT_EQ(j["drift_over_time"]["buckets"].size(), 12u);
  EXPECT_EQ(j["drift"]["columns"].size(), 2u);
  EXPECT_TRUE(j["drift"]["columns"][0].contains("histogram"));
  EXPECT_EQ(j["performance"]["by_time"].size(), 12u);
  EXPECT_TRUE(j["performance"]["overall"]["values"].contains("revenue"));

  const std::string html = render_report_html(r);
  expect_self_contained(html);
  // A distribution per input and output, plus the time and segment charts.
  EXPECT_GE(svgs(html).size(), 3u + 4u + 2u + 1u + 2u);
  EXPECT_NE(html.find("drifted</span>"), std::string::npos);
  EXPECT_NE(html.find(">x<"), std::string::npos);
}

TEST_F(ReportTest, WithoutTrainingDataTheFirstBucketIsTheReference) {
  write_log();
  auto report = build_report(*store_, options(), kStart + 20 * kHour);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->reference.kind, "reference period");
  EXPECT_EQ(report->reference.rows, 50u);
  EXPECT_EQ(report->reference.note, "no training data found: registered model 'm' not found");
  ASSERT_EQ(report->notes.size(), 1u);
  ASSERT_TRUE(report->drift.has_value());
  EXPECT_EQ(column(*report->drift, "x")->current_rows, 550u);  // everything after the reference period
  EXPECT_FALSE(report->buckets[0].tested);
  EXPECT_TRUE(report->buckets[1].tested);
  expect_self_contained(render_report_html(*report));
}

TEST_F(ReportTest, DefaultBucketsCoverTheWindowInWholeSeconds) {
  write_log();
  ReportOptions o = options();
  o.bucket_us.reset();
  o.buckets = 5;
  auto report = build_report(*store_, o, kStart + 20 * kHour);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->bucket_us % 1'000'000, 0);
  EXPECT_GE(report->buckets.size(), 5u);
  EXPECT_LE(report->buckets.size(), 6u);
  uint64_t rows = 0;
  for (const auto& b : report->buckets) rows += b.rows;
  EXPECT_EQ(rows, 600u);
  EXPECT_EQ(report->performance->by_time.size(), report->buckets.size());
}

TEST_F(ReportTest, ErrorsNameWhatWasWrong) {
  write_log();
  ReportOptions o = options();
  o.window.since_us = kStart + 100 * kHour;
  auto empty = build_report(*store_, o, kStart + 200 * kHour);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(empty.status().message(), "no predictions of 'm' in the window m (since 2023-11-19T04:00:00Z)");

  o = options();
  o.window.model = "nope";
  auto unknown = build_report(*store_, o, kStart);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), ErrorCode::kNotFound);

  o = options();
  o.bucket_us = 1'000'000;
  auto many = build_report(*store_, o, kStart);
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.status().message(),
            "buckets of 1s over 2023-11-15T00:00:00Z .. 2023-11-15T11:49:00Z make 42541 buckets; at most 500 "
            "(choose a wider bucket)");

  o = options();
  o.segments = {"carrier"};
  auto segment = build_report(*store_, o, kStart);
  ASSERT_FALSE(segment.ok());
  EXPECT_EQ(segment.status().message(), "segment 'carrier': no input or tag of that name in the log of 'm' (have: x, c)");

  const fs::path bad = root_ / "bad.csv";
  std::ofstream(bad) << "y,z\n1,2\n";
  auto none = build_report(*store_, options(bad.string()), kStart);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(), fmt::format("--reference '{}': has none of the model's inputs (x, c)", bad.string()));
}

TEST(ReportHtml, EscapesNamesAndSaysWhyASectionIsEmpty) {
  MonitorReport r;
  r.model = "<b>m&m</b>";
  r.window = "m (the whole log)";
  r.versions = {1};
  r.first_us = kStart;
  r.last_us = kStart + 10'000'000;
  r.predictions = 3;
  r.bucket_us = 1'000'000;
  DriftBucket bucket;
  bucket.start_us = kStart;
  bucket.end_us = kStart + 1'000'000;
  bucket.rows = 3;
  r.buckets.push_back(bucket);
  r.reference.source = "x.csv";
  r.reference.kind = "file";
  r.reference.rows = 10;
  r.drift_note = "the window is one bucket";
  r.prediction_drift_note = "the window is one bucket";
  r.performance_note = "feedback table missing";
  r.notes = {"a note with <angle> brackets"};
  AlertFiring f;
  f.rule = "drift";
  f.expression = "drift_share > 0.3";
  f.state = "firing";
  f.value = 0.5;
  f.started_time = kStart;
  r.alerts.push_back(f);
  const std::string html = render_report_html(r);
  expect_self_contained(html);
  EXPECT_EQ(html.find("<b>m&m</b>"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;m&amp;m&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(html.find("the window is one bucket"), std::string::npos);
  EXPECT_NE(html.find("feedback table missing"), std::string::npos);
  EXPECT_NE(html.find("<code>drift_share &gt; 0.3</code>"), std::string::npos);
  const nlohmann::json j = to_json(r);
  EXPECT_EQ(j["drift"]["note"], "the window is one bucket");
  EXPECT_EQ(j["alerts"][0]["state"], "firing");
  EXPECT_EQ(j["performance"]["note"], "feedback table missing");
}

TEST(ReportHtml, SystemHealthIsPlottedAndSummarised) {
  MonitorReport r;
  r.model = "m";
  r.first_us = kStart;
  r.last_us = kStart + 10'000'000;
  r.health_note = "no system health recorded in this window";
  EXPECT_NE(render_report_html(r).find("no system health recorded in this window"), std::string::npos);
  for (int i = 0; i < 3; ++i) {
    HealthSample h;
    h.time_us = kStart + i * 5'000'000;
    h.process_cpu_cores = 0.5 + i;
    h.process_rss_bytes = 100'000'000u * static_cast<uint64_t>(i + 1);
    h.host_cpus = 2;
    h.host_cpu_busy = 0.25 * i;
    h.host_memory_total_bytes = 8'000'000'000;
    h.host_memory_available_bytes = 4'000'000'000;
    h.open_sockets = 10 + static_cast<uint64_t>(i);
    h.gpu_reason = "libnvidia-ml.so.1 not found (no NVIDIA driver)";
    r.health.push_back(h);
  }
  r.health_note.clear();
  const std::string html = render_report_html(r);
  expect_self_contained(html);
  const size_t section = html.find("<section id=\"system-health\">");
  ASSERT_NE(section, std::string::npos);
  const std::string part = html.substr(section, html.find("</section>", section) - section);
  EXPECT_NE(part.find("<svg"), std::string::npos);
  EXPECT_NE(part.find("server CPU, cores"), std::string::npos);
  EXPECT_NE(part.find(">1.5<"), std::string::npos) << part;  // the median of 0.5, 1.5, 2.5
  EXPECT_NE(part.find(">2.5<"), std::string::npos);          // the peak
  EXPECT_NE(part.find("No GPU metrics: libnvidia-ml.so.1 not found"), std::string::npos);
  EXPECT_NE(part.find("3 samples"), std::string::npos);
  const nlohmann::json j = to_json(r);
  ASSERT_EQ(j["system_health"]["samples"].size(), 3u);
  EXPECT_EQ(j["system_health"]["samples"][1]["process_cpu_cores"], 1.5);
  EXPECT_EQ(j["system_health"]["samples"][2]["open_sockets"], 12);
}

TEST(ReportTime, WholeSecondsOrMicroseconds) {
  EXPECT_EQ(report_time(kStart), "2023-11-15T00:00:00Z");
  EXPECT_EQ(report_time(kStart + 1), "2023-11-15T00:00:00.000001Z");
  EXPECT_EQ(report_time(-1), "1969-12-31T23:59:59.999999Z");
}

}  // namespace
}  // namespace slipway::monitor
