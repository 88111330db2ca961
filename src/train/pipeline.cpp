// run_training: data -> split -> transforms -> trainer -> model -> evaluation -> bundle -> run.
// Recording into the run lives in pipeline_record.cpp; reproduction in pipeline_reproduce.cpp.
#include "slipway/train/pipeline.h"

#include <chrono>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "detail/pipeline_data.h"
#include "detail/pipeline_env.h"
#include "detail/pipeline_record.h"
#include "detail/pipeline_steps.h"
#include "slipway/core/hash.h"
#include "slipway/model/bundle.h"
#include "slipway/model/engine.h"
#include "slipway/train/linear.h"
#include "slipway/train/metrics.h"
#include "slipway/train/mlp_trainer.h"
#include "slipway/train/split.h"
#include "slipway/train/xgboost_trainer.h"

namespace slipway::train {

namespace {

using detail::LoadedTable;

// "LOCATION: key: message" for an error about config key `key`, keeping the error's code.
Status at_key(const TrainConfig& config, const std::string& key, const Status& status) {
  return Status(status.code(), config.where(key) + key + ": " + status.message());
}

// Trainer and split errors about the config ("model.params.eta: ...", "split.train must be ...")
// are bad input, located at the key they name.
Status config_error(const TrainConfig& config, const Status& status) {
  if (status.code() != ErrorCode::kInvalidArgument) return status;
  const std::string& m = status.message();
  size_t end = 0;
  while (end < m.size() && m[end] != ':' && m[end] != ' ') ++end;
  const std::string key = m.substr(0, end);
  const bool is_key = key.starts_with("model.") || key.starts_with("split.") || key.starts_with("data.");
  return Status(ErrorCode::kParseError, (is_key ? config.where(key) : config.where("model")) + m);
}

std::vector<std::string> output_names_of(const model::Model& m) {
  if (m.task == model::Task::kRegression) return {"value"};
  if (m.task == model::Task::kBinary) return {"probability"};
  std::vector<std::string> names;
  for (const auto& label : m.class_labels) names.push_back("prob_" + label);
  return names;
}

struct Prepared {
  LoadedTable table;
  std::vector<std::pair<std::string, std::string>> sources;  // (source key, spec) in load order
  std::vector<std::pair<std::string, std::string>> versions;  // (source description, version id)
  std::vector<track::DatasetInput> inputs;
  detail::Labels labels;
  detail::FeaturePlan plan;
  size_t rows_read = 0;
  std::vector<uint32_t> train, validation, test;
};

Status check_version(const TrainConfig& config, const TrainOptions& options, const std::string& key,
                     const LoadedTable& t) {
  auto it = options.expected_versions.find(key);
  if (it == options.expected_versions.end() || it->second == t.version_id) return {};
  return make_error(ErrorCode::kFailedPrecondition, "{}{}: {} changed since run {} ({} was recorded, it is now {})",
                    config.where(key), key, t.source, options.reproduces.value_or("?"), it->second, t.version_id);
}

Result<Prepared> prepare(store::Store& store, const TrainConfig& config, const TrainOptions& options) {
  auto stage = [&](const std::string& s) {
    if (options.on_stage) options.on_stage(s);
  };
  Prepared p;
  const std::string main_key = config.data.source.dataset.empty() ? "data.file" : "data.dataset";
  stage("reading " + config.data.source.describe());
  auto loaded = detail::load_source(store, config.data.source);
  if (!loaded.ok()) return at_key(config, main_key, loaded.status());
  p.table = std::move(loaded).value();
  SLIPWAY_RETURN_IF_ERROR(check_version(config, options, "data", p.table));
  p.rows_read = p.table.rows;
  p.versions.emplace_back(p.table.source, p.table.version_id);
  p.inputs.push_back({p.table.dataset, p.table.version_id, "training"});
  for (size_t i = 0; i < config.data.join.size(); ++i) {
    const JoinSpec& join = config.data.join[i];
    const std::string key = fmt::format("data.join[{}]", i);
    stage("reading " + join.source.describe() + " to join");
    auto right = detail::load_source(store, join.source);
    if (!right.ok()) return at_key(config, key + (join.source.dataset.empty() ? ".file" : ".dataset"), right.status());
    SLIPWAY_RETURN_IF_ERROR(check_version(config, options, key, *right));
    SLIPWAY_RETURN_IF_ERROR(detail::left_join(p.table, *right, join, key, config));
    p.versions.emplace_back(right->source, right->version_id);
    p.inputs.push_back({right->dataset, right->version_id, "join"});
  }
  SLIPWAY_ASSIGN_OR_RETURN(p.labels, detail::make_labels(p.table, config));
  SLIPWAY_ASSIGN_OR_RETURN(p.plan, detail::plan_features(p.table, config));
  // Parameters are checked before anything is trained or recorded.
  if (config.model.kind == "xgboost") {
    Status s = validate_xgboost_params(config.model.params, p.labels.task);
    if (!s.ok()) return config_error(config, s);
  } else if (config.model.kind == "mlp") {
    Status s = validate_mlp_params(config.model.params, p.labels.task);
    if (!s.ok()) return config_error(config, s);
    SLIPWAY_RETURN_IF_ERROR(mlp_trainer_available());
  }

  // Rows with a missing target are dropped (counted in the outcome).
  std::vector<uint32_t> kept;
  kept.reserve(p.table.rows);
  for (size_t r = 0; r < p.table.rows; ++r) {
    if (!std::isnan(p.labels.y[r])) kept.push_back(static_cast<uint32_t>(r));
  }
  if (kept.empty()) {
    return at_key(config, "data.target",
                  Status(ErrorCode::kParseError, fmt::format("every value of '{}' is missing in {}",
                                                             config.data.target.column, p.table.source)));
  }
  SplitSpec spec;
  SLIPWAY_ASSIGN_OR_RETURN(spec.method, parse_split_method(config.split.method));
  spec.train = config.split.train;
  spec.validation = config.split.validation;
  spec.test = config.split.test;
  spec.seed = config.split.seed.value_or(config.seed);
  std::vector<float> labels;
  std::vector<std::string> groups;
  std::vector<double> times;
  if (spec.method == SplitMethod::kStratified) {
    if (p.labels.task == model::Task::kRegression) {
      return at_key(config, "split.method",
                    Status(ErrorCode::kParseError, "stratified needs a classification target; this one is regression"));
    }
    for (uint32_t r : kept) labels.push_back(p.labels.y[r]);
  } else if (spec.method == SplitMethod::kGroup) {
    const auto& col = p.table.columns[*p.table.index_of(config.split.column)];
    for (uint32_t r : kept) groups.emplace_back(col.text(r));
  } else if (spec.method == SplitMethod::kTime) {
    const auto& col = p.table.columns[*p.table.index_of(config.split.column)];
    if (col.numbers.empty()) {
      return at_key(config, "split.column",
                    Status(ErrorCode::kParseError, fmt::format("the time column '{}' must hold numbers or timestamps; it is {}",
                                                               col.name, table::data_type_name(col.type))));
    }
    for (uint32_t r : kept) times.push_back(col.numbers[r]);
  }
  auto split = split_rows(spec, kept.size(), labels, groups, times);
  if (!split.ok()) return config_error(config, split.status());
  auto map_rows = [&](const std::vector<uint32_t>& idx, std::vector<uint32_t>& out) {
    out.reserve(idx.size());
    for (uint32_t i : idx) out.push_back(kept[i]);
  };
  map_rows(split->train, p.train);
  map_rows(split->validation, p.validation);
  map_rows(split->test, p.test);
  if (p.train.empty()) {
    return at_key(config, "split.train", Status(ErrorCode::kParseError,
                                                fmt::format("the training split is empty ({} rows in all)", kept.size())));
  }
  return p;
}

}  // namespace

Result<TrainOutcome> run_training(store::Store& store, const TrainConfig& config, const TrainOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  auto stage = [&](const std::string& s) {
    if (options.on_stage) options.on_stage(s);
  };
  SLIPWAY_ASSIGN_OR_RETURN(Prepared p, prepare(store, config, options));

  TrainOutcome out;
  out.model_kind = config.model.kind;
  out.task = p.labels.task;
  out.class_labels = p.labels.class_labels;
  out.rows_read = p.rows_read;
  out.rows_train = p.train.size();
  out.rows_validation = p.validation.size();
  out.rows_test = p.test.size();
  out.rows_dropped = p.rows_read - (out.rows_train + out.rows_validation + out.rows_test);
  out.dataset_versions = p.versions;

  stage(fmt::format("fitting feature transforms on {} training rows", p.train.size()));
  SLIPWAY_ASSIGN_OR_RETURN(auto inputs, detail::fit_features(p.table, p.plan, p.train));
  model::Model m;
  m.task = p.labels.task;
  m.inputs = std::move(inputs);
  m.feature_names = detail::feature_names_of(m.inputs);
  m.class_labels = p.labels.class_labels;
  out.n_inputs = m.inputs.size();
  out.n_features = m.feature_names.size();
  SLIPWAY_ASSIGN_OR_RETURN(Matrix train_x, detail::encode_rows(p.table, p.plan, m, p.labels, p.train));
  SLIPWAY_ASSIGN_OR_RETURN(Matrix valid_x, detail::encode_rows(p.table, p.plan, m, p.labels, p.validation));
  SLIPWAY_ASSIGN_OR_RETURN(Matrix test_x, detail::encode_rows(p.table, p.plan, m, p.labels, p.test));

  // From here on the work is recorded as a run.
  detail::RunRecorder recorder(store, config, options);
  SLIPWAY_RETURN_IF_ERROR(recorder.start(p.labels.task, p.inputs));
  out.run_id = recorder.run_id();
  out.run_name = recorder.run_name();
  out.experiment_id = recorder.experiment_id();
  out.experiment = config.experiment;

  auto body = [&]() -> Status {
    TrainRequest request;
    request.task = p.labels.task;
    request.n_classes = p.labels.task == model::Task::kMulticlass ? p.labels.n_classes : 0;
    request.train = &train_x;
    request.validation = valid_x.rows > 0 ? &valid_x : nullptr;
    request.feature_names = m.feature_names;
    request.params = config.model.params;
    TrainContext context;
    context.seed = config.seed;
    context.threads = config.threads;
    context.on_step = [&](int64_t step, const std::vector<std::pair<std::string, double>>& metrics) {
      recorder.log_step(step, metrics);
      if (options.on_step) options.on_step(step, metrics);
    };
    stage(fmt::format("training {} on {} rows x {} features ({} validation rows, {} thread(s))", config.model.kind,
                      train_x.rows, train_x.cols, valid_x.rows, config.threads));
    TrainResult result;
    std::string xgboost_json;
    if (config.model.kind == "xgboost") {
      auto trained = train_xgboost_model(request, context);
      if (!trained.ok()) return config_error(config, trained.status());
      result = std::move(trained->result);
      xgboost_json = std::move(trained->model_json);
    } else if (config.model.kind == "linear") {
      auto trained = train_linear(request, context);
      if (!trained.ok()) return config_error(config, trained.status());
      result = std::move(trained).value();
    } else {
      auto trained = train_mlp(request, context);
      if (!trained.ok()) return config_error(config, trained.status());
      result = std::move(trained).value();
    }
    SLIPWAY_RETURN_IF_ERROR(recorder.flush_steps());
    out.best_iteration = result.best_iteration;

    m.body = std::move(result.body);
    m.output_transform = result.output_transform;
    m.output_names = output_names_of(m);
    model::Provenance& prov = m.provenance;
    prov.producer = "train:" + config.model.kind;
    prov.producer_version = SLIPWAY_VERSION_STRING;
    prov.run_id = options.reproduces.value_or(out.run_id);
    for (const auto& [source, id] : p.versions) prov.dataset_versions.push_back(id);
    prov.created_at = recorder.created_at();
    // Nothing here may depend on how the data was named (flights@q1 vs its version id): a
    // reproduction names the versions directly and must give the same bytes.
    prov.extra = nlohmann::json{{"trainer", result.details},
                                {"target", p.labels.description},
                                {"best_iteration", result.best_iteration}};
    SLIPWAY_RETURN_IF_ERROR(model::validate_model(m));

    // Evaluation with the engine, on the test split (or what there is when it is empty).
    const Matrix* eval = &test_x;
    const std::vector<uint32_t>* eval_rows = &p.test;
    out.evaluated_on = "test";
    if (test_x.rows == 0) {
      eval = valid_x.rows > 0 ? &valid_x : &train_x;
      eval_rows = valid_x.rows > 0 ? &p.validation : &p.train;
      out.evaluated_on = valid_x.rows > 0 ? "validation" : "train";
    }
    stage(fmt::format("evaluating on {} {} rows", eval->rows, out.evaluated_on));
    model::PredictorOptions popts;
    popts.threads = static_cast<unsigned>(config.threads);
    SLIPWAY_ASSIGN_OR_RETURN(auto predictor, model::Predictor::create(m, popts));
    std::vector<float> predictions(eval->rows * predictor->n_outputs());
    if (eval->rows > 0) predictor->predict(eval->x.data(), eval->rows, predictions.data());
    std::vector<std::string> segments;
    std::string segment_name;
    if (p.plan.segment) {
      const auto& col = p.table.columns[*p.plan.segment];
      segment_name = col.name;
      for (uint32_t r : *eval_rows) segments.emplace_back(col.missing[r] ? std::string("(missing)") : std::string(col.text(r)));
    }
    detail::evaluate(m.task, p.labels.n_classes, eval->y, predictions, segment_name, segments, out.evaluated_on, out);

    SLIPWAY_ASSIGN_OR_RETURN(std::string bytes, model::serialize_bundle(m));
    if (!config.output.empty()) {
      stage("writing " + config.output.string());
      SLIPWAY_RETURN_IF_ERROR(model::save_bundle(m, config.output));
      out.bundle_path = config.output;
    }
    out.bundle_bytes = bytes.size();
    SLIPWAY_ASSIGN_OR_RETURN(out.bundle_object_id, recorder.finish(bytes, xgboost_json, result.details, out));
    return {};
  };
  Status s = body();
  if (!s.ok()) return recorder.fail(s);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return out;
}

}  // namespace slipway::train
