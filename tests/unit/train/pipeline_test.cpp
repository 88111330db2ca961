// The training pipeline's pieces (join, labels, feature plan) and one whole run through a real
// store: recorded, and reproduced bit for bit.
#include "slipway/train/pipeline.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "../../../src/train/detail/pipeline_data.h"
#include "../../../src/train/detail/pipeline_steps.h"
#include "slipway/track/tracking.h"

namespace slipway::train {
namespace {

using detail::LoadedColumn;
using detail::LoadedTable;

LoadedColumn text_column(const std::string& name, const std::vector<std::string>& values,
                         table::DataType type = table::DataType::kString) {
  LoadedColumn c;
  c.name = name;
  c.type = type;
  for (const auto& v : values) c.append(v, v.empty());
  if (table::is_numeric(type)) {
    for (const auto& v : values) c.numbers.push_back(v.empty() ? NAN : std::stod(v));
  }
  return c;
}

LoadedColumn number_column(const std::string& name, const std::vector<std::string>& values) {
  return text_column(name, values, table::DataType::kFloat64);
}

TrainConfig config_of(const std::string& yaml) {
  auto c = parse_train_config(yaml, "c.yaml", {});
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? *c : TrainConfig{};
}

TEST(LeftJoin, MatchesOnKeysKeepsEveryLeftRowAndComparesNumbersAsNumbers) {
  LoadedTable left;
  left.source = "flights@main";
  left.rows = 4;
  left.columns = {text_column("origin", {"EWR", "JFK", "LGA", ""}), number_column("hour", {"5", "6", "5", "5"}),
                  number_column("temp", {"1", "2", "3", "4"})};
  LoadedTable right;
  right.source = "weather@main";
  right.dataset = "weather";
  right.rows = 3;
  right.columns = {text_column("origin", {"EWR", "JFK", "EWR"}), number_column("hour", {"5.0", "6", "6"}),
                   number_column("temp", {"39", "41", "40"}), number_column("wind", {"10", "", "12"})};
  JoinSpec spec;
  spec.on = {"origin", "hour"};
  TrainConfig config = config_of("data: {file: f.csv, target: y}\n");
  ASSERT_TRUE(detail::left_join(left, right, spec, "data.join[0]", config).ok());
  ASSERT_EQ(left.columns.size(), 5u);
  // temp exists on the left: the right one is suffixed with the right source's name.
  EXPECT_EQ(left.columns[3].name, "temp_weather");
  EXPECT_EQ(left.columns[4].name, "wind");
  EXPECT_EQ(left.columns[3].text(0), "39");  // "5" matches "5.0" as numbers
  EXPECT_EQ(left.columns[3].text(1), "41");
  EXPECT_TRUE(left.columns[3].missing[2]);  // LGA: no match
  EXPECT_TRUE(left.columns[3].missing[3]);  // missing key: no match
  EXPECT_TRUE(left.columns[4].missing[1]);  // matched, but the value is missing
  EXPECT_EQ(left.columns[3].numbers[0], 39);
}

TEST(LeftJoin, DuplicateRightKeysAreAnErrorNamingTheKey) {
  LoadedTable left;
  left.source = "flights@main";
  left.rows = 1;
  left.columns = {text_column("origin", {"EWR"})};
  LoadedTable right;
  right.source = "weather@main";
  right.rows = 2;
  right.columns = {text_column("origin", {"EWR", "EWR"}), number_column("temp", {"1", "2"})};
  JoinSpec spec;
  spec.on = {"origin"};
  TrainConfig config = config_of("data: {file: f.csv, target: y}\n");
  Status s = detail::left_join(left, right, spec, "data.join[0]", config);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "c.yaml:1:7: data.join[0]: weather@main has more than one row with origin=EWR (rows 1 and 2); join keys must be "
            "unique on the right side: add key columns to data.join[0].on");
  spec.on = {"airport"};
  s = detail::left_join(left, right, spec, "data.join[0]", config);
  EXPECT_EQ(s.message(), "c.yaml:1:7: data.join[0].on: column 'airport' not found in flights@main (columns: origin)");
}

LoadedTable table_with_target(const std::vector<std::string>& y, table::DataType type) {
  LoadedTable t;
  t.source = "t.csv";
  t.rows = y.size();
  t.columns = {text_column("y", y, type), number_column("x", std::vector<std::string>(y.size(), "1"))};
  return t;
}

TEST(Labels, TaskIsInferredFromTheTarget) {
  TrainConfig config = config_of("data: {file: f.csv, target: y}\n");
  auto binary = detail::make_labels(table_with_target({"1", "0", "", "1"}, table::DataType::kInt64), config);
  ASSERT_TRUE(binary.ok()) << binary.status().message();
  EXPECT_EQ(binary->task, model::Task::kBinary);
  EXPECT_EQ(binary->class_labels, (std::vector<std::string>{"0", "1"}));
  EXPECT_TRUE(std::isnan(binary->y[2]));
  auto multi = detail::make_labels(table_with_target({"b", "a", "c"}, table::DataType::kString), config);
  ASSERT_TRUE(multi.ok());
  EXPECT_EQ(multi->task, model::Task::kMulticlass);
  EXPECT_EQ(multi->y, (std::vector<float>{1, 0, 2}));
  auto reg = detail::make_labels(table_with_target({"1.5", "2", "3", "4"}, table::DataType::kFloat64), config);
  ASSERT_TRUE(reg.ok());
  EXPECT_EQ(reg->task, model::Task::kRegression);

  TrainConfig threshold = config_of("data: {file: f.csv, target: {column: y, threshold: 2}}\n");
  auto derived = detail::make_labels(table_with_target({"1", "3", "", "2"}, table::DataType::kInt64), threshold);
  ASSERT_TRUE(derived.ok());
  EXPECT_EQ(derived->task, model::Task::kBinary);
  EXPECT_EQ(derived->y[0], 0);
  EXPECT_EQ(derived->y[1], 1);
  EXPECT_TRUE(std::isnan(derived->y[2]));
  EXPECT_EQ(derived->y[3], 0);  // > threshold, not >=
}

TEST(Labels, WrongClassCountsAreLocated) {
  TrainConfig config = config_of("data: {file: f.csv, target: y}\nmodel: {task: binary}\n");
  auto r = detail::make_labels(table_with_target({"a", "b", "c"}, table::DataType::kString), config);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "c.yaml:1:29: data.target: model.task binary needs 2 classes; column 'y' has 3 (a, b, c)");
  TrainConfig missing = config_of("data: {file: f.csv, target: nope}\n");
  auto m = detail::make_labels(table_with_target({"1"}, table::DataType::kInt64), missing);
  EXPECT_EQ(m.status().message(), "c.yaml:1:29: data.target: column 'nope' not found in t.csv (columns: y, x)");
}

TEST(FeaturePlan, DefaultsByModelKindAndOverrides) {
  LoadedTable t;
  t.source = "t.csv";
  t.rows = 2;
  t.columns = {number_column("y", {"1", "2"}), number_column("a", {"1", "2"}), text_column("c", {"x", "y"}),
               text_column("when", {"2013-01-01", "2013-01-02"}, table::DataType::kTimestamp)};
  auto linear = detail::plan_features(t, config_of("data: {file: f.csv, target: y}\nmodel: {kind: linear}\n"));
  ASSERT_TRUE(linear.ok()) << linear.status().message();
  ASSERT_EQ(linear->requests.size(), 2u);  // the timestamp is not a default feature
  EXPECT_EQ(linear->requests[0].steps,
            (std::vector<model::StepKind>{model::StepKind::kImpute, model::StepKind::kStandardize}));
  EXPECT_EQ(linear->requests[1].steps, (std::vector<model::StepKind>{model::StepKind::kOneHot}));
  auto trees = detail::plan_features(
      t, config_of("data: {file: f.csv, target: y}\nfeatures: {columns: {a: {log1p: true, clip: [0, 9]}}}\n"));
  ASSERT_TRUE(trees.ok());
  EXPECT_EQ(trees->requests[0].steps, (std::vector<model::StepKind>{model::StepKind::kClip, model::StepKind::kLog1p}));
  EXPECT_EQ(trees->requests[1].steps, (std::vector<model::StepKind>{model::StepKind::kOrdinal}));

  auto bad = detail::plan_features(t, config_of("data: {file: f.csv, target: y}\nfeatures: {columns: {c: {log1p: true}}}\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "c.yaml:2:33: features.columns.c.log1p: 'c' is categorical; log1p applies to numeric columns (categorical "
            "columns take encode: onehot or ordinal)");
  auto ts = detail::plan_features(t, config_of("data: {file: f.csv, target: y, features: [a, when]}\n"));
  ASSERT_FALSE(ts.ok());
  EXPECT_NE(ts.status().message().find("column 'when' is a timestamp"), std::string::npos) << ts.status().message();
}

class PipelineRun : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / fmt::format("slipway_pipeline_test_{}", ::getpid());
    std::filesystem::remove_all(root_);
    auto created = store::Store::create(root_ / "store");
    ASSERT_TRUE(created.ok()) << created.status().message();
    store_ = std::move(*created);
    std::ofstream csv(root_ / "d.csv");
    csv << "x1,x2,color,y\n";
    for (int i = 0; i < 300; ++i) {
      const double x1 = (i * 37 % 101) / 10.0, x2 = (i * 53 % 97) / 10.0;
      const char* color = i % 3 == 0 ? "red" : i % 3 == 1 ? "green" : "blue";
      const int y = x1 + 0.5 * x2 + (i % 3 == 0 ? 2 : 0) + (i % 7) * 0.3 > 8 ? 1 : 0;
      csv << x1 << "," << (i % 11 == 0 ? std::string() : std::to_string(x2)) << "," << color << "," << y << "\n";
    }
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(root_);
  }
  std::filesystem::path root_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(PipelineRun, TrainsRecordsAndReproduces) {
  auto config = parse_train_config(
      "data: {file: d.csv, target: y, segment: color}\nmodel: {kind: linear}\nseed: 5\nexperiment: unit\n", "c.yaml", {},
      root_);
  ASSERT_TRUE(config.ok()) << config.status().message();
  std::vector<std::string> stages;
  TrainOptions options;
  options.on_stage = [&](const std::string& s) { stages.push_back(s); };
  auto out = run_training(*store_, *config, options);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->task, model::Task::kBinary);
  EXPECT_EQ(out->rows_train + out->rows_validation + out->rows_test, 300u);
  EXPECT_FALSE(stages.empty());
  double auc = -1;
  bool segment = false;
  for (const auto& [k, v] : out->metrics) {
    if (k == "test-auc") auc = v;
    segment |= k == "test-auc/color/red";
  }
  EXPECT_GT(auc, 0.8);
  EXPECT_TRUE(segment);

  track::Tracking tracking(*store_);
  auto run = tracking.get_run(out->run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->info.status, track::RunStatus::kFinished);
  EXPECT_EQ(run->output_model, out->bundle_object_id);
  EXPECT_EQ(run->params.at("model.kind"), "linear");
  EXPECT_EQ(run->params.at("model.task"), "binary");  // inferred, recorded
  EXPECT_EQ(run->tags.at("slipway.seed"), "5");
  ASSERT_EQ(run->inputs.size(), 1u);
  EXPECT_EQ(run->inputs[0].version_id, out->dataset_versions[0].second);

  auto again = reproduce_run(*store_, out->run_id, {});
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(again->identical());
  EXPECT_EQ(again->rerun.bundle_object_id, out->bundle_object_id);
  auto rerun = tracking.get_run(again->rerun.run_id);
  ASSERT_TRUE(rerun.ok());
  EXPECT_EQ(rerun->tags.at("slipway.reproduces"), out->run_id);
}

TEST_F(PipelineRun, AFailureAfterTheRunStartedMarksItFailed) {
  auto config = parse_train_config("data: {file: d.csv, target: y}\nmodel: {kind: linear, params: {l3: 1}}\n", "c.yaml",
                                   {}, root_);
  ASSERT_TRUE(config.ok());
  auto out = run_training(*store_, *config, {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kParseError);
  EXPECT_NE(out.status().message().find("model.params.l3"), std::string::npos) << out.status().message();
  EXPECT_NE(out.status().message().find("marked FAILED"), std::string::npos) << out.status().message();
  track::Tracking tracking(*store_);
  track::SearchRunsRequest all;
  all.experiment_ids = {0};
  auto runs = tracking.search_runs(all);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->runs.size(), 1u);
  EXPECT_EQ(runs->runs[0].info.status, track::RunStatus::kFailed);
  EXPECT_NE(runs->runs[0].tags.at("slipway.error").find("model.params.l3"), std::string::npos);
}

}  // namespace
}  // namespace slipway::train
