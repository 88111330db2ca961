#include "slipway/train/config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace slipway::train {
namespace {

Result<TrainConfig> parse(const std::string& text, const std::vector<std::string>& sets = {}) {
  return parse_train_config(text, "t.yaml", sets, "/base");
}

std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  auto r = parse(text, sets);
  EXPECT_FALSE(r.ok()) << "expected an error for:\n" << text;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), ErrorCode::kParseError);
  return r.status().message();
}

const char* kFull = R"(data:
  dataset: flights@q1
  target: {column: arr_delay, threshold: 15}
  features: [distance, carrier, temp]
  categorical: [carrier]
  join:
    - dataset: weather@main
      on: [origin, time_hour]
      columns: [temp]
  segment: carrier
features:
  default: {impute: median}
  columns:
    distance: {log1p: true, clip: [0, 5000], standardize: true}
    carrier: {encode: onehot}
split: {method: stratified, train: 0.6, validation: 0.2, test: 0.2, seed: 9}
model:
  kind: xgboost
  task: binary
  params: {max_depth: 4, eta: 0.1, objective: "binary:logistic", verbose: true}
seed: 42
threads: 2
experiment: flights
run_name: first
output: out/model.slw
)";

TEST(TrainConfig, ReadsEveryKey) {
  auto r = parse(kFull);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const TrainConfig& c = *r;
  EXPECT_EQ(c.data.source.dataset, "flights@q1");
  EXPECT_EQ(c.data.target.column, "arr_delay");
  ASSERT_TRUE(c.data.target.threshold.has_value());
  EXPECT_EQ(*c.data.target.threshold, 15);
  EXPECT_EQ(*c.data.features, (std::vector<std::string>{"distance", "carrier", "temp"}));
  EXPECT_EQ(*c.data.categorical, (std::vector<std::string>{"carrier"}));
  ASSERT_EQ(c.data.join.size(), 1u);
  EXPECT_EQ(c.data.join[0].source.dataset, "weather@main");
  EXPECT_EQ(c.data.join[0].on, (std::vector<std::string>{"origin", "time_hour"}));
  EXPECT_EQ(c.data.join[0].columns, (std::vector<std::string>{"temp"}));
  EXPECT_EQ(c.data.segment, "carrier");
  EXPECT_EQ(c.features.defaults.impute, Impute::kMedian);
  const ColumnTransforms& d = c.features.columns.at("distance");
  EXPECT_TRUE(*d.log1p);
  EXPECT_EQ(d.clip->first, 0);
  EXPECT_EQ(d.clip->second, 5000);
  EXPECT_EQ(c.features.columns.at("carrier").encode, Encoding::kOneHot);
  EXPECT_EQ(c.split.method, "stratified");
  EXPECT_DOUBLE_EQ(c.split.train, 0.6);
  EXPECT_EQ(*c.split.seed, 9u);
  EXPECT_EQ(c.model.kind, "xgboost");
  EXPECT_EQ(*c.model.task, model::Task::kBinary);
  EXPECT_EQ(c.model.params["max_depth"], 4);
  EXPECT_EQ(c.model.params["eta"], 0.1);
  EXPECT_EQ(c.model.params["objective"], "binary:logistic");
  EXPECT_EQ(c.model.params["verbose"], true);
  EXPECT_EQ(c.seed, 42u);
  EXPECT_EQ(c.threads, 2);
  EXPECT_EQ(c.experiment, "flights");
  EXPECT_EQ(c.run_name, "first");
  EXPECT_EQ(c.output, "/base/out/model.slw");
}

TEST(TrainConfig, Defaults) {
  auto r = parse("data: {file: f.csv, target: y}\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->data.source.file, "/base/f.csv");  // relative to the config's folder
  EXPECT_FALSE(r->data.features.has_value());
  EXPECT_EQ(r->split.method, "random");
  EXPECT_DOUBLE_EQ(r->split.train, 0.7);
  EXPECT_DOUBLE_EQ(r->split.validation, 0.15);
  EXPECT_DOUBLE_EQ(r->split.test, 0.15);
  EXPECT_EQ(r->model.kind, "xgboost");
  EXPECT_FALSE(r->model.task.has_value());
  EXPECT_EQ(r->seed, 0u);
  EXPECT_EQ(r->threads, 1);
  EXPECT_EQ(r->experiment, "Default");
  EXPECT_TRUE(r->output.empty());
}

TEST(TrainConfig, TrainFractionAloneSplitsTheRestEvenly) {
  auto r = parse("data: {file: f.csv, target: y}\nsplit: {train: 0.8}\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_DOUBLE_EQ(r->split.validation, 0.1);
  EXPECT_DOUBLE_EQ(r->split.test, 0.1);
}

TEST(TrainConfig, UnknownKeySuggestsTheNearest) {
  EXPECT_EQ(error_of("data: {file: f.csv, target: y}\nmodle: {kind: linear}\n"),
            "t.yaml:2:1: unknown key 'modle' (did you mean 'model'?)");
  EXPECT_EQ(error_of("data: {file: f.csv, target: y}\nsplit:\n  method: random\n  tran: 0.5\n"),
            "t.yaml:4:3: unknown key 'tran' in split (did you mean 'train'?)");
  EXPECT_EQ(error_of("data: {file: f.csv, target: y}\nzzz: 1\n"),
            "t.yaml:2:1: unknown key 'zzz' (known: data, features, split, model, seed, threads, experiment, run_name, "
            "output)");
}

TEST(TrainConfig, WrongTypesNameTheKeyAndTheValue) {
  EXPECT_EQ(error_of("data: {file: f.csv, target: y}\nsplit:\n  train: abc\n"),
            "t.yaml:3:10: split.train must be a number, got 'abc'");
  EXPECT_EQ(error_of("data: {file: f.csv, target: y}\nseed: -1\n"),
            "t.yaml:2:7: seed must be a non-negative integer, got '-1'");
  EXPECT_EQ(error_of("data: {file: f.csv, target: y}\nmodel: {kind: forest}\n"),
            "t.yaml:2:15: model.kind must be one of xgboost, linear, mlp, got 'forest'");
  EXPECT_EQ(error_of("data: {file: f.csv, target: [a, b]}\n"),
            "t.yaml:1:29: data.target must be a column name or {column: NAME, threshold: NUMBER}, got a list");
  EXPECT_EQ(error_of("data: {file: f.csv, target: y}\nfeatures: {default: {standardize: maybe}}\n"),
            "t.yaml:2:35: features.default.standardize must be true or false, got 'maybe'");
}

TEST(TrainConfig, MissingPieces) {
  EXPECT_EQ(error_of("model: {kind: linear}\n"),
            "t.yaml:1:1: missing key 'data' (the table to train on: data.dataset or data.file)");
  EXPECT_EQ(error_of("data: {file: f.csv}\n"), "t.yaml:1:7: missing key data.target (the column to predict)");
  EXPECT_EQ(error_of("data: {target: y}\n"),
            "t.yaml:1:7: data needs dataset (NAME@REF of a dataset in the store) or file (a CSV or JSON Lines path)");
  EXPECT_EQ(error_of("data: {file: f.csv, target: y}\nsplit: {method: group}\n"),
            "t.yaml:2:17: split.method group needs split.column (the group column)");
  EXPECT_EQ(error_of("data: {file: f.csv, target: y}\nsplit: {train: 0.9, validation: 0.2}\n"),
            "t.yaml:2:8: split: train + validation + test must be 1, got 0.9 + 0.2 + -0.1");
}

TEST(TrainConfig, SetOverridesTheFile) {
  auto r = parse("data: {file: f.csv, target: y}\nsplit: {seed: 1}\n",
                 {"split.seed=7", "model.params.max_depth=3", "data.features=[a, b]", "model.kind=linear"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r->split.seed, 7u);
  EXPECT_EQ(r->model.params["max_depth"], 3);
  EXPECT_EQ(*r->data.features, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r->model.kind, "linear");
  // The effective config (recorded with the run) has the overrides.
  EXPECT_NE(r->effective_yaml.find("max_depth: 3"), std::string::npos) << r->effective_yaml;
}

TEST(TrainConfig, SetReachesIntoLists) {
  auto r = parse(kFull, {"data.join[0].dataset=weather@abc123"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->data.join[0].source.dataset, "weather@abc123");
}

TEST(TrainConfig, SetErrorsNameTheArgument) {
  EXPECT_EQ(error_of("data: {file: f.csv, target: y}\n", {"split.train=abc"}),
            "--set split.train=abc: split.train must be a number, got 'abc'");
  EXPECT_EQ(error_of("data: {file: f.csv, target: y}\n", {"spilt.seed=3"}),
            "--set spilt.seed=3: unknown key 'spilt' (did you mean 'split'?)");
  EXPECT_EQ(error_of("data: {file: f.csv, target: y}\n", {"seed"}),
            "--set seed: no '=' (expected KEY=VALUE, e.g. --set split.seed=7)");
  EXPECT_EQ(error_of("data: {file: f.csv, target: y}\n", {"=3"}),
            "--set =3: empty key (expected KEY=VALUE, e.g. --set split.seed=7)");
  EXPECT_EQ(error_of("data: {file: f.csv, target: y}\n", {"data.join[2].on=[a]"}),
            "--set data.join[2].on=[a]: list index [2] is out of range (the list has 0 item(s))");
}

TEST(TrainConfig, InvalidYamlIsLocated) {
  const std::string e = error_of("data: {file: f.csv\n");
  EXPECT_EQ(e.rfind("t.yaml:", 0), 0u) << e;
  EXPECT_NE(e.find("invalid YAML"), std::string::npos) << e;
}

TEST(TrainConfig, LocationsAndFlatParams) {
  auto r = parse(kFull);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->where("data.target"), "t.yaml:3:11: ");
  EXPECT_EQ(r->where("data.join[0].on"), "t.yaml:8:11: ");
  EXPECT_EQ(r->where("model.params.max_depth"), "t.yaml:20:12: ");
  auto find = [&](const std::string& key) {
    for (const auto& [k, v] : r->flat) {
      if (k == key) return v;
    }
    return std::string("<absent>");
  };
  EXPECT_EQ(find("data.dataset"), "flights@q1");
  EXPECT_EQ(find("data.features"), "[distance, carrier, temp]");
  EXPECT_EQ(find("data.join.0.on"), "[origin, time_hour]");
  EXPECT_EQ(find("model.params.max_depth"), "4");
  EXPECT_EQ(find("split.train"), "0.6");
}

TEST(TrainConfig, TransformConflicts) {
  EXPECT_EQ(error_of("data: {file: f.csv, target: y}\nfeatures: {columns: {x: {standardize: true, minmax: true}}}\n"),
            "t.yaml:2:53: features.columns.x: standardize and minmax exclude each other");
  EXPECT_EQ(error_of("data: {file: f.csv, target: y}\nfeatures: {columns: {x: {impute: constant}}}\n"),
            "t.yaml:2:34: features.columns.x.impute: constant needs features.columns.x.fill_value");
  EXPECT_EQ(error_of("data: {file: f.csv, target: y}\nfeatures: {columns: {x: {bucketize: [3, 1]}}}\n"),
            "t.yaml:2:37: features.columns.x.bucketize must be a non-empty list of ascending edges, got [3, 1]");
}

}  // namespace
}  // namespace slipway::train
