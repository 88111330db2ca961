// Labels, the feature plan, fitting it on the training rows and encoding rows (detail/pipeline_steps.h).
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>

#include "detail/pipeline_steps.h"

namespace slipway::train::detail {

namespace {

constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();
constexpr size_t kMaxInferredClasses = 20;
constexpr size_t kMaxClasses = 1000;

std::string join_names(const std::vector<std::string>& names, size_t max = 10) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < max; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > max) out += fmt::format(", ... ({} in all)", names.size());
  return out;
}

Status not_found(const TrainConfig& config, const std::string& key, const std::string& column, const LoadedTable& t) {
  return make_error(ErrorCode::kNotFound, "{}{}: column '{}' not found in {} (columns: {})", config.where(key), key,
                    column, t.source, t.column_list());
}

Status bad(const TrainConfig& config, const std::string& key, const std::string& message) {
  return Status(ErrorCode::kParseError, config.where(key) + key + ": " + message);
}

std::string format_class(double v) { return fmt::format("{}", v); }

}  // namespace

Result<Labels> make_labels(const LoadedTable& table, const TrainConfig& config) {
  const TargetSpec& target = config.data.target;
  auto index = table.index_of(target.column);
  const std::string key = target.threshold ? "data.target.column" : "data.target";
  if (!index) return not_found(config, key, target.column, table);
  const LoadedColumn& col = table.columns[*index];
  const size_t n = table.rows;
  Labels labels;
  labels.y.assign(n, kNaNf);
  labels.description = target.column;
  const auto task_given = config.model.task;

  if (target.threshold) {
    if (col.numbers.empty() || col.type == table::DataType::kTimestamp) {
      return bad(config, "data.target.threshold",
                 fmt::format("a threshold needs a numeric column; '{}' is {}", col.name, table::data_type_name(col.type)));
    }
    if (task_given && *task_given != model::Task::kBinary) {
      return bad(config, "model.task", "a target with a threshold is binary; remove model.task or set it to binary");
    }
    labels.task = model::Task::kBinary;
    labels.n_classes = 2;
    labels.class_labels = {"0", "1"};
    labels.description = fmt::format("{} > {}", col.name, *target.threshold);
    for (size_t r = 0; r < n; ++r) {
      const double v = col.numbers[r];
      if (!std::isnan(v)) labels.y[r] = v > *target.threshold ? 1.0f : 0.0f;
    }
    return labels;
  }
  if (col.type == table::DataType::kTimestamp) {
    return bad(config, key, fmt::format("column '{}' is a timestamp; a target must be numbers or categories", col.name));
  }
  const bool numeric = col.numeric();
  // Distinct values (numbers compare as numbers, text as bytes), capped so a regression target
  // does not build a huge set.
  std::set<double> numbers;
  std::set<std::string> texts;
  bool integers = true;
  bool capped = false;
  for (size_t r = 0; r < n && !capped; ++r) {
    if (col.missing[r]) continue;
    if (numeric) {
      const double v = col.numbers[r];
      if (std::isnan(v)) continue;
      integers &= v == std::floor(v);
      numbers.insert(v);
      capped = numbers.size() > kMaxClasses;
    } else {
      texts.emplace(col.text(r));
      capped = texts.size() > kMaxClasses;
    }
  }
  const size_t distinct = numeric ? numbers.size() : texts.size();
  model::Task task;
  if (task_given) {
    task = *task_given;
  } else if (!numeric) {
    task = distinct <= 2 ? model::Task::kBinary : model::Task::kMulticlass;
  } else if (distinct == 2) {
    task = model::Task::kBinary;
  } else if (integers && distinct >= 3 && distinct <= kMaxInferredClasses) {
    task = model::Task::kMulticlass;
  } else {
    task = model::Task::kRegression;
  }
  labels.task = task;
  if (task == model::Task::kRegression) {
    if (!numeric) {
      return bad(config, key,
                 fmt::format("model.task regression needs a numeric target; '{}' is {}", col.name,
                             table::data_type_name(col.type)));
    }
    for (size_t r = 0; r < n; ++r) labels.y[r] = static_cast<float>(col.numbers[r]);
    return labels;
  }
  std::vector<std::string> names;
  if (numeric) {
    for (double v : numbers) names.push_back(format_class(v));
  } else {
    names.assign(texts.begin(), texts.end());
  }
  if (capped) {
    return bad(config, key, fmt::format("column '{}' has more than {} distinct values; too many classes", col.name, kMaxClasses));
  }
  if (task == model::Task::kBinary && distinct != 2) {
    return bad(config, key,
               fmt::format("model.task binary needs 2 classes; column '{}' has {} ({})", col.name, distinct, join_names(names)));
  }
  if (task == model::Task::kMulticlass && distinct < 3) {
    return bad(config, key,
               fmt::format("model.task multiclass needs at least 3 classes; column '{}' has {} ({}){}", col.name, distinct,
                           join_names(names), distinct == 2 ? ": use model.task binary" : ""));
  }
  labels.n_classes = distinct;
  labels.class_labels = names;
  if (numeric) {
    std::map<double, float> code;
    float k = 0;
    for (double v : numbers) code[v] = k++;
    for (size_t r = 0; r < n; ++r) {
      const double v = col.numbers[r];
      if (!std::isnan(v)) labels.y[r] = code[v];
    }
  } else {
    std::map<std::string, float, std::less<>> code;
    float k = 0;
    for (const auto& s : texts) code[s] = k++;
    for (size_t r = 0; r < n; ++r) {
      if (!col.missing[r]) labels.y[r] = code.find(col.text(r))->second;
    }
  }
  return labels;
}

Result<FeaturePlan> plan_features(const LoadedTable& table, const TrainConfig& config) {
  const DataSpec& d = config.data;
  FeaturePlan plan;
  for (const auto& name : d.exclude) {
    if (!table.index_of(name)) return not_found(config, "data.exclude", name, table);
  }
  std::vector<std::string> features;
  if (d.features) {
    for (const auto& name : *d.features) {
      auto i = table.index_of(name);
      if (!i) return not_found(config, "data.features", name, table);
      if (name == d.target.column) return bad(config, "data.features", fmt::format("'{}' is the target", name));
      if (table.columns[*i].type == table::DataType::kTimestamp) {
        return bad(config, "data.features",
                   fmt::format("column '{}' is a timestamp, which a model cannot take as an input (use it as "
                               "split.column for a time split, or as a join key)", name));
      }
      features.push_back(name);
    }
  } else {
    for (const auto& col : table.columns) {
      if (col.name == d.target.column || col.type == table::DataType::kTimestamp) continue;
      if (std::find(d.exclude.begin(), d.exclude.end(), col.name) != d.exclude.end()) continue;
      features.push_back(col.name);
    }
  }
  if (features.empty()) return bad(config, "data.features", "no feature columns are left");
  std::set<std::string> categorical;
  if (d.categorical) {
    for (const auto& name : *d.categorical) {
      if (!table.index_of(name)) return not_found(config, "data.categorical", name, table);
      if (std::find(features.begin(), features.end(), name) == features.end()) {
        return bad(config, "data.categorical", fmt::format("'{}' is not one of the features", name));
      }
      categorical.insert(name);
    }
  } else {
    for (const auto& name : features) {
      const auto t = table.columns[*table.index_of(name)].type;
      if (t == table::DataType::kString || t == table::DataType::kBool) categorical.insert(name);
    }
  }
  for (const auto& [name, _] : config.features.columns) {
    if (std::find(features.begin(), features.end(), name) == features.end()) {
      const std::string key = "features.columns." + name;
      if (!table.index_of(name)) return not_found(config, key, name, table);
      return bad(config, key, fmt::format("'{}' is not one of the features", name));
    }
  }
  if (!d.segment.empty()) {
    auto s = table.index_of(d.segment);
    if (!s) return not_found(config, "data.segment", d.segment, table);
    plan.segment = *s;
  }
  if (!config.split.column.empty() && !table.index_of(config.split.column)) {
    return not_found(config, "split.column", config.split.column, table);
  }

  const bool trees = config.model.kind == "xgboost";
  for (const auto& name : features) {
    const bool is_categorical = categorical.count(name) != 0;
    // Defaults of the model kind, then features.default, then features.columns.<name>.
    ColumnTransforms t;
    t.impute = trees ? Impute::kNone : Impute::kMean;
    t.standardize = !trees;
    t.encode = trees ? Encoding::kOrdinal : Encoding::kOneHot;
    auto merge = [](ColumnTransforms& into, const ColumnTransforms& from) {
      if (from.impute) into.impute = from.impute;
      if (from.fill_value) into.fill_value = from.fill_value;
      if (from.log1p) into.log1p = from.log1p;
      if (from.standardize) {
        into.standardize = from.standardize;
        if (*from.standardize && !from.minmax) into.minmax = false;
      }
      if (from.minmax) {
        into.minmax = from.minmax;
        if (*from.minmax && !from.standardize) into.standardize = false;
      }
      if (from.clip) into.clip = from.clip;
      if (from.bucketize) into.bucketize = from.bucketize;
      if (from.encode) into.encode = from.encode;
    };
    merge(t, config.features.defaults);
    const std::string key = "features.columns." + name;
    if (auto it = config.features.columns.find(name); it != config.features.columns.end()) {
      const ColumnTransforms& own = it->second;
      if (is_categorical) {
        const char* numeric_only = own.impute ? "impute" : own.fill_value ? "fill_value" : own.log1p ? "log1p"
                                 : own.standardize ? "standardize" : own.minmax ? "minmax" : own.clip ? "clip"
                                 : own.bucketize ? "bucketize" : nullptr;
        if (numeric_only != nullptr) {
          return bad(config, key + "." + numeric_only,
                     fmt::format("'{}' is categorical; {} applies to numeric columns (categorical columns take encode: "
                                 "onehot or ordinal)", name, numeric_only));
        }
      } else if (own.encode) {
        return bad(config, key + ".encode",
                   fmt::format("'{}' is numeric; list it in data.categorical to encode it as categories", name));
      }
      merge(t, own);
    }
    model::FitRequest req;
    req.input = name;
    req.unknown_bucket = true;
    std::optional<double> fill;
    if (is_categorical) {
      req.steps.push_back(*t.encode == Encoding::kOneHot ? model::StepKind::kOneHot : model::StepKind::kOrdinal);
    } else {
      const LoadedColumn& col = table.columns[*table.index_of(name)];
      if (col.numbers.empty()) {
        return bad(config, "data.categorical",
                   fmt::format("column '{}' is {}, not numeric: list it in data.categorical", name,
                               table::data_type_name(col.type)));
      }
      const Impute impute = t.impute.value_or(Impute::kNone);
      if (impute != Impute::kNone) {
        req.steps.push_back(model::StepKind::kImpute);
        req.impute_median = impute == Impute::kMedian;
        if (impute == Impute::kConstant) {
          if (!t.fill_value) {
            return bad(config, key + ".impute", "impute: constant needs fill_value");
          }
          fill = *t.fill_value;
        }
      }
      if (t.clip) {
        req.steps.push_back(model::StepKind::kClip);
        req.clip = {t.clip->first, t.clip->second};
      }
      if (t.log1p.value_or(false)) req.steps.push_back(model::StepKind::kLog1p);
      if (t.bucketize) {
        req.steps.push_back(model::StepKind::kBucketize);
        req.buckets = *t.bucketize;
      }
      if (t.standardize.value_or(false)) req.steps.push_back(model::StepKind::kStandardize);
      if (t.minmax.value_or(false)) req.steps.push_back(model::StepKind::kMinMax);
    }
    plan.columns.push_back(*table.index_of(name));
    plan.requests.push_back(std::move(req));
    plan.fill.push_back(fill);
  }
  return plan;
}

namespace {

// Reads the training rows with missing values of constant-imputed inputs replaced by the
// constant, so the steps after the imputation are fitted on what serving will compute.
class FillingReader final : public table::RecordReader {
 public:
  FillingReader(RowsReader& inner, const std::vector<std::optional<double>>& fill) : inner_(inner) {
    for (const auto& f : fill) texts_.push_back(f ? std::optional(fmt::format("{}", *f)) : std::nullopt);
  }
  const std::vector<std::string>& column_names() const override { return inner_.column_names(); }
  Result<bool> next(table::RecordBatch& batch, size_t max_rows) override {
    SLIPWAY_ASSIGN_OR_RETURN(bool more, inner_.next(batch, max_rows));
    if (!more) return false;
    for (size_t c = 0; c < texts_.size(); ++c) {
      if (!texts_[c]) continue;
      for (size_t r = 0; r < batch.num_rows; ++r) {
        if (batch.nulls[c][r] != 0 || batch.columns[c][r].empty()) {
          batch.columns[c][r] = *texts_[c];
          batch.nulls[c][r] = 0;
        }
      }
    }
    return true;
  }
  const std::string& source_name() const override { return inner_.source_name(); }
  uint64_t bytes_consumed() const override { return 0; }

 private:
  RowsReader& inner_;
  std::vector<std::optional<std::string>> texts_;
};

}  // namespace

Result<std::vector<model::InputColumn>> fit_features(const LoadedTable& table, const FeaturePlan& plan,
                                                     const std::vector<uint32_t>& train_rows) {
  RowsReader rows(table, plan.columns, train_rows, "the training split of " + table.source);
  FillingReader reader(rows, plan.fill);
  SLIPWAY_ASSIGN_OR_RETURN(auto inputs, model::fit_inputs(reader, plan.requests));
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!plan.fill[i]) continue;
    for (auto& step : inputs[i].steps) {
      if (step.kind != model::StepKind::kImpute) continue;
      step.params = {*plan.fill[i]};
      step.fitted_from = "constant from the config";
    }
  }
  for (auto& input : inputs) {
    for (auto& step : input.steps) {
      if (!step.fitted_from.empty() && step.fitted_from != "constant from the config") {
        step.fitted_from += " (training split)";
      }
    }
  }
  return inputs;
}

std::vector<std::string> feature_names_of(const std::vector<model::InputColumn>& inputs) {
  std::vector<std::string> names;
  for (const auto& input : inputs) {
    const model::TransformStep* onehot = nullptr;
    for (const auto& s : input.steps) {
      if (s.kind == model::StepKind::kOneHot) onehot = &s;
    }
    if (onehot == nullptr) {
      names.push_back(input.name);
      continue;
    }
    for (const auto& c : onehot->categories) names.push_back(input.name + "=" + c);
    if (onehot->unknown_bucket) names.push_back(input.name + "=<unknown>");
  }
  return names;
}

Result<Matrix> encode_rows(const LoadedTable& table, const FeaturePlan& plan, const model::Model& model,
                           const Labels& labels, const std::vector<uint32_t>& rows) {
  model::FeatureEncoder encoder(model);
  std::vector<std::string> names;
  for (size_t c : plan.columns) names.push_back(table.columns[c].name);
  SLIPWAY_ASSIGN_OR_RETURN(std::vector<size_t> column_of_input, encoder.bind(names));
  Matrix m;
  m.rows = rows.size();
  m.cols = encoder.n_features();
  m.x.resize(m.rows * m.cols);
  m.y.resize(m.rows);
  table::RecordBatch batch;
  constexpr size_t kBatch = 65536;
  for (size_t begin = 0; begin < rows.size(); begin += kBatch) {
    const size_t end = std::min(rows.size(), begin + kBatch);
    fill_batch(table, plan.columns, rows, begin, end, batch);
    SLIPWAY_RETURN_IF_ERROR(encoder.encode_batch(batch, column_of_input, m.x.data() + begin * m.cols));
  }
  for (size_t i = 0; i < rows.size(); ++i) m.y[i] = labels.y[rows[i]];
  return m;
}

}  // namespace slipway::train::detail
