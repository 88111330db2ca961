// The training config (`slipway train CONFIG.yaml`): what to read, which columns are features and
// how they are transformed, how rows are split, which model to fit. Every key can also be given on
// the command line as `--set key.path=value` (the value is read as YAML: a number, text, a list
// `[a, b]`), which overrides the file. Reference with every key, type and default: docs/training.md.
//
// Errors are kParseError (exit code 3) and say where: "train.yaml:7:3: unknown key 'modle' (did
// you mean 'model'?)", "train.yaml:12:10: split.train must be a number, got 'abc'",
// "--set split.seed=x: seed must be a non-negative integer, got 'x'".
// Column names are checked later, against the data (pipeline.h), with the key's location.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "slipway/core/status.h"
#include "slipway/model/model.h"

namespace slipway::train {

// A table to read: a dataset version in the store (NAME@REF) or a CSV / JSON Lines file.
struct DataSource {
  std::string dataset;            // "flights@q1"; empty when `file` is set
  std::filesystem::path file;     // absolute after parsing (relative paths resolved, see docs)
  std::string describe() const;   // "flights@q1" or the file path
};

// The label. `threshold` derives a binary label from a numeric column: 1 when value > threshold,
// 0 otherwise (missing stays missing), e.g. {column: arr_delay, threshold: 15}.
struct TargetSpec {
  std::string column;
  std::optional<double> threshold;
};

// A left join: every row of the main table keeps its place; the right side's columns are added
// where all `on` keys match (missing otherwise). Keys must be unique on the right side.
struct JoinSpec {
  DataSource source;
  std::vector<std::string> on;
  std::vector<std::string> columns;  // empty: every right-side column except the keys
};

struct DataSpec {
  DataSource source;
  TargetSpec target;
  std::optional<std::vector<std::string>> features;     // unset: every column but the target and excluded
  std::vector<std::string> exclude;                     // left out of the default feature list
  std::optional<std::vector<std::string>> categorical;  // unset: text and bool feature columns
  std::vector<JoinSpec> join;
  std::string segment;  // metrics are also computed per value of this column ("" = none)
};

enum class Impute { kNone, kMean, kMedian, kConstant };
enum class Encoding { kOneHot, kOrdinal };

// Transforms of one input column. Every field is optional so that a per-column entry overrides
// only what it names of `features.default`, which overrides the defaults of the model kind.
struct ColumnTransforms {
  std::optional<Impute> impute;
  std::optional<double> fill_value;  // impute: constant
  std::optional<bool> log1p, standardize, minmax;
  std::optional<std::pair<double, double>> clip;
  std::optional<std::vector<double>> bucketize;  // ascending edges
  std::optional<Encoding> encode;                // categorical columns only
};

struct FeatureSpec {
  ColumnTransforms defaults;                       // `features.default`
  std::map<std::string, ColumnTransforms> columns; // `features.columns.<name>`
};

struct SplitConfig {
  std::string method = "random";  // random | stratified | group | time
  double train = 0.7, validation = 0.15, test = 0.15;
  std::optional<uint64_t> seed;   // unset: the top-level seed
  std::string column;             // group: the group column; time: the time column (number or timestamp)
};

struct ModelConfig {
  std::string kind = "xgboost";        // xgboost | linear | mlp
  std::optional<model::Task> task;     // unset: inferred from the target (docs/training.md)
  nlohmann::json params = nlohmann::json::object();  // passed through to the trainer
};

struct TrainConfig {
  DataSpec data;
  FeatureSpec features;
  SplitConfig split;
  ModelConfig model;
  uint64_t seed = 0;
  int threads = 1;
  std::string experiment = "Default";
  std::string run_name;
  std::filesystem::path output;  // a bundle file to write besides the store ("" = none)

  // Where each key came from: "train.yaml:7:3" or "--set split.train=0.8". Keys are paths
  // like "data.target", "data.join[0].on".
  std::string source_name;
  std::map<std::string, std::string> locations;
  // The effective config (file + --set) as YAML, recorded with the run as config.yaml, and the
  // same flattened to key paths for the run's params: lists of values as "[a, b]", lists of
  // mappings by index ("data.join.0.on": tracking keys allow no brackets).
  std::string effective_yaml;
  std::vector<std::pair<std::string, std::string>> flat;

  // "LOCATION: " for messages about `key` (the nearest recorded enclosing key), or "" if unknown.
  std::string where(const std::string& key) const;
};

// `base_dir` resolves relative file paths written in the config text (data.file, join files,
// output); paths given with --set are resolved against the current directory.
Result<TrainConfig> parse_train_config(std::string_view yaml_text, const std::string& source_name,
                                       const std::vector<std::string>& sets,
                                       const std::filesystem::path& base_dir = {});
// Reads the file (kNotFound naming it when absent) and parses it.
Result<TrainConfig> load_train_config(const std::filesystem::path& path, const std::vector<std::string>& sets);

const char* impute_name(Impute impute);      // "none", "mean", "median", "constant"
const char* encoding_name(Encoding encoding);  // "onehot", "ordinal"

}  // namespace slipway::train
