// XGBoost trainer: model.params -> XGBoost parameters (validated against an allow-list, because
// XGBoost itself only warns about unknown names), boosting rounds with per-round evaluation and
// early stopping, then the booster's JSON through the engine's XGBoost importer.
#include "slipway/train/xgboost_trainer.h"

#include <fmt/format.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "slipway/model/importers.h"

namespace slipway::train {
namespace {

using json = nlohmann::json;

// Trainer-level parameters (not XGBoost's own): the number of rounds and early stopping.
constexpr std::string_view kRoundsKeys[] = {"n_estimators", "num_boost_round"};
constexpr std::string_view kEarlyStoppingKey = "early_stopping_rounds";
constexpr int64_t kDefaultRounds = 100;
constexpr int64_t kMaxRounds = 1'000'000;

// XGBoost 1.7's documented learner, tree booster, DART, linear booster and objective parameters
// (doc/parameter.rst). seed, nthread and num_class come from the run and the data (see below).
constexpr std::string_view kXgboostParams[] = {
    // learner / general
    "booster",
    "objective",
    "eval_metric",
    "base_score",
    "disable_default_eval_metric",
    "seed_per_iteration",
    "validate_parameters",
    "verbosity",
    "predictor",
    // tree booster
    "eta",
    "learning_rate",
    "gamma",
    "min_split_loss",
    "max_depth",
    "min_child_weight",
    "max_delta_step",
    "subsample",
    "sampling_method",
    "colsample_bytree",
    "colsample_bylevel",
    "colsample_bynode",
    "lambda",
    "reg_lambda",
    "alpha",
    "reg_alpha",
    "tree_method",
    "sketch_eps",
    "scale_pos_weight",
    "updater",
    "refresh_leaf",
    "process_type",
    "grow_policy",
    "max_leaves",
    "max_bin",
    "num_parallel_tree",
    "monotone_constraints",
    "interaction_constraints",
    "max_cat_to_onehot",
    "max_cat_threshold",
    // DART
    "sample_type",
    "normalize_type",
    "rate_drop",
    "one_drop",
    "skip_drop",
    // linear booster
    "feature_selector",
    "top_k",
    // objectives
    "tweedie_variance_power",
    "huber_slope",
};

// Names that mean the same XGBoost parameter; giving both is ambiguous.
constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
    {"eta", "learning_rate"}, {"gamma", "min_split_loss"},         {"lambda", "reg_lambda"},
    {"alpha", "reg_alpha"},   {"n_estimators", "num_boost_round"},
};

// Objectives whose models the engine runs, per task (the importer's table, minus those needing
// query groups or survival labels that a TrainRequest does not carry).
constexpr std::string_view kRegressionObjectives[] = {
    "reg:squarederror", "reg:squaredlogerror", "reg:pseudohubererror", "reg:absoluteerror", "reg:logistic",
    "count:poisson",    "reg:gamma",           "reg:tweedie",          "reg:linear",
};
constexpr std::string_view kBinaryObjectives[] = {"binary:logistic"};
constexpr std::string_view kMulticlassObjectives[] = {"multi:softprob", "multi:softmax"};

template <size_t N>
bool contains(const std::string_view (&list)[N], std::string_view name) {
  return std::find(std::begin(list), std::end(list), name) != std::end(list);
}

std::string default_objective(model::Task task) {
  switch (task) {
    case model::Task::kRegression:
      return "reg:squarederror";
    case model::Task::kBinary:
      return "binary:logistic";
    case model::Task::kMulticlass:
      return "multi:softprob";
  }
  return "reg:squarederror";
}

template <size_t N>
std::string joined(const std::string_view (&list)[N]) {
  std::string out;
  for (std::string_view s : list) out += (out.empty() ? "" : ", ") + std::string(s);
  return out;
}

Status bad_param(std::string_view key, const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, "model.params.{}: {}", key, what);
}

Status check_objective(std::string_view objective, model::Task task) {
  bool fits = false;
  std::string allowed;
  switch (task) {
    case model::Task::kRegression:
      fits = contains(kRegressionObjectives, objective);
      allowed = joined(kRegressionObjectives);
      break;
    case model::Task::kBinary:
      fits = contains(kBinaryObjectives, objective);
      allowed = joined(kBinaryObjectives);
      break;
    case model::Task::kMulticlass:
      fits = contains(kMulticlassObjectives, objective);
      allowed = joined(kMulticlassObjectives);
      break;
  }
  if (fits) return {};
  return bad_param("objective", fmt::format("'{}' is not an objective for a {} task (use one of: {})", objective,
                                            model::task_name(task), allowed));
}

// A positive integer trainer parameter (n_estimators, early_stopping_rounds).
Result<int64_t> positive_int(const json& params, std::string_view key) {
  const json& v = params.at(std::string(key));
  if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > kMaxRounds) {
    return bad_param(key, fmt::format("must be an integer from 1 to {}, got {}", kMaxRounds, v.dump()));
  }
  return v.get<int64_t>();
}

// JSON scalar -> the text XGBoost parses. Numbers print in their shortest round-trip form.
Result<std::string> scalar_text(std::string_view key, const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return std::string(v.get<bool>() ? "1" : "0");
  if (v.is_number_integer()) return v.dump();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d)) return bad_param(key, "must be a finite number");
    return fmt::format("{}", d);
  }
  return bad_param(key, fmt::format("must be a number, a string or a boolean, got {}", v.dump()));
}

// One model.params entry -> the (name, value) pairs handed to XGBoosterSetParam. eval_metric may
// list several metrics (XGBoost appends one per call); the constraint parameters take JSON arrays.
Result<std::vector<std::pair<std::string, std::string>>> xgboost_values(const std::string& key, const json& v) {
  std::vector<std::pair<std::string, std::string>> out;
  if (key == "eval_metric" && v.is_array()) {
    if (v.empty()) return bad_param(key, "must name at least one metric");
    for (const json& m : v) {
      if (!m.is_string())
        return bad_param(key, fmt::format("must be a metric name or a list of them, got {}", v.dump()));
      out.emplace_back(key, m.get<std::string>());
    }
    return out;
  }
  if (key == "monotone_constraints" && v.is_array()) {
    std::string text = "(";
    for (const json& c : v) {
      if (!c.is_number_integer() || c.get<int64_t>() < -1 || c.get<int64_t>() > 1) {
        return bad_param(key, fmt::format("must be a list of -1, 0 or 1 per feature, got {}", v.dump()));
      }
      text += (text.size() > 1 ? "," : "") + c.dump();
    }
    out.emplace_back(key, text + ")");
    return out;
  }
  if (key == "interaction_constraints" && v.is_array()) {
    for (const json& group : v) {
      bool ok = group.is_array();
      for (const json& f : group) ok = ok && f.is_number_integer() && f.get<int64_t>() >= 0;
      if (!ok) return bad_param(key, fmt::format("must be a list of lists of feature indices, got {}", v.dump()));
    }
    out.emplace_back(key, v.dump());
    return out;
  }
  SLIPWAY_ASSIGN_OR_RETURN(std::string text, scalar_text(key, v));
  out.emplace_back(key, std::move(text));
  return out;
}

struct ResolvedParams {
  std::vector<std::pair<std::string, std::string>> xgboost;  // in the order they are set
  int64_t rounds = kDefaultRounds;
  int64_t early_stopping_rounds = 0;  // 0: off
  std::string objective;
};

Result<ResolvedParams> resolve_params(const json& params, model::Task task, size_t n_classes) {
  if (!params.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "model.params: must be a mapping, got {}", params.dump());
  }
  for (const auto& [a, b] : kAliases) {
    if (params.contains(std::string(a)) && params.contains(std::string(b))) {
      return bad_param(b, fmt::format("is another name for {}; give only one of them", a));
    }
  }
  ResolvedParams out;
  out.objective = default_objective(task);
  bool has_tree_method = false, has_verbosity = false;
  std::vector<std::pair<std::string, std::string>> user;
  for (const auto& [key, value] : params.items()) {
    if (contains(kRoundsKeys, key)) {
      SLIPWAY_ASSIGN_OR_RETURN(out.rounds, positive_int(params, key));
      continue;
    }
    if (key == kEarlyStoppingKey) {
      SLIPWAY_ASSIGN_OR_RETURN(out.early_stopping_rounds, positive_int(params, key));
      continue;
    }
    if (key == "seed" || key == "random_state") {
      return bad_param(key, "XGBoost's seed is the run's seed; set the top-level seed instead");
    }
    if (key == "nthread" || key == "n_jobs") {
      return bad_param(key, "XGBoost's thread count is the run's; set the top-level threads instead");
    }
    if (key == "num_class") {
      if (task != model::Task::kMulticlass) return bad_param(key, "only applies to a multiclass task");
      if (!value.is_number_integer() || value.get<int64_t>() != static_cast<int64_t>(n_classes)) {
        return bad_param(key, fmt::format("{} does not match the {} classes of the target (leave it out: it is "
                                          "set from the data)",
                                          value.dump(), n_classes));
      }
      continue;
    }
    if (!contains(kXgboostParams, key)) return bad_param(key, "unknown XGBoost parameter");
    SLIPWAY_ASSIGN_OR_RETURN(auto values, xgboost_values(key, value));
    if (key == "objective") {
      out.objective = values.front().second;
      SLIPWAY_RETURN_IF_ERROR(check_objective(out.objective, task));
      continue;  // set first, below
    }
    if (key == "booster" && values.front().second != "gbtree" && values.front().second != "dart" &&
        values.front().second != "gblinear") {
      return bad_param(key, fmt::format("'{}' is not a booster (use gbtree, dart or gblinear)", values.front().second));
    }
    has_tree_method = has_tree_method || key == "tree_method";
    has_verbosity = has_verbosity || key == "verbosity";
    for (auto& kv : values) user.push_back(std::move(kv));
  }
  // The objective first: XGBoost configures the objective's own parameters after it.
  out.xgboost.emplace_back("objective", out.objective);
  if (task == model::Task::kMulticlass) out.xgboost.emplace_back("num_class", std::to_string(n_classes));
  if (!has_tree_method) out.xgboost.emplace_back("tree_method", "hist");
  // Library code does not print: XGBoost's warnings stay off unless asked for.
  if (!has_verbosity) out.xgboost.emplace_back("verbosity", "0");
  for (auto& kv : user) out.xgboost.push_back(std::move(kv));
  return out;
}

// XGBGetLastError() is "[hh:mm:ss] ../src/file.cc:123: message\nmore lines\nStack trace: ...";
// keep the first line of the message.
std::string xgboost_error() {
  std::string text = XGBGetLastError();
  if (!text.empty() && text.front() == '[') {
    if (const size_t close = text.find("] "); close != std::string::npos) text = text.substr(close + 2);
  }
  // A source location "path/file.h:239: " before the message.
  if (const size_t colon = text.find(": "); colon != std::string::npos && colon > 0) {
    const std::string_view head(text.data(), colon);
    const size_t line_at = head.rfind(':');
    const bool is_location = line_at != std::string_view::npos && line_at + 1 < head.size() &&
                             head.find(' ') == std::string_view::npos &&
                             head.find_first_not_of("0123456789", line_at + 1) == std::string_view::npos;
    if (is_location) text = text.substr(colon + 2);
  }
  if (const size_t eol = text.find('\n'); eol != std::string::npos) text.resize(eol);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) text.pop_back();
  return text;
}

Status xgb_check(int rc, std::string_view what) {
  if (rc == 0) return {};
  return make_error(ErrorCode::kInvalidArgument, "XGBoost {}: {}", what, xgboost_error());
}

struct DMatrixDeleter {
  void operator()(void* h) const { XGDMatrixFree(h); }
};
struct BoosterDeleter {
  void operator()(void* h) const { XGBoosterFree(h); }
};
using DMatrix = std::unique_ptr<void, DMatrixDeleter>;
using Booster = std::unique_ptr<void, BoosterDeleter>;

Status check_matrix(const Matrix& m, std::string_view name, size_t cols) {
  if (m.x.size() != m.rows * m.cols || m.y.size() != m.rows || (!m.weight.empty() && m.weight.size() != m.rows)) {
    return make_error(ErrorCode::kInternal, "{} matrix: {} rows x {} columns but {} values, {} labels, {} weights",
                      name, m.rows, m.cols, m.x.size(), m.y.size(), m.weight.size());
  }
  if (m.cols != cols) {
    return make_error(ErrorCode::kInternal, "{} matrix has {} columns, the training matrix {}", name, m.cols, cols);
  }
  return {};
}

Result<DMatrix> make_dmatrix(const Matrix& m, int threads, std::string_view name) {
  DMatrixHandle handle = nullptr;
  SLIPWAY_RETURN_IF_ERROR(xgb_check(
      XGDMatrixCreateFromMat_omp(m.x.data(), m.rows, m.cols, std::numeric_limits<float>::quiet_NaN(), &handle, threads),
      fmt::format("({} data)", name)));
  DMatrix dm(handle);
  SLIPWAY_RETURN_IF_ERROR(
      xgb_check(XGDMatrixSetFloatInfo(handle, "label", m.y.data(), m.rows), fmt::format("({} labels)", name)));
  if (!m.weight.empty()) {
    SLIPWAY_RETURN_IF_ERROR(
        xgb_check(XGDMatrixSetFloatInfo(handle, "weight", m.weight.data(), m.rows), fmt::format("({} weights)", name)));
  }
  return dm;
}

// "[3]\ttrain-rmse:0.51\tvalidation-rmse:0.62" -> {("train-rmse", 0.51), ("validation-rmse", 0.62)}.
std::vector<std::pair<std::string, double>> parse_eval(std::string_view text) {
  std::vector<std::pair<std::string, double>> out;
  size_t pos = text.find('\t');
  while (pos != std::string_view::npos) {
    const size_t next = text.find('\t', pos + 1);
    const std::string_view item = text.substr(pos + 1, next == std::string_view::npos ? next : next - pos - 1);
    const size_t colon = item.rfind(':');
    if (colon != std::string_view::npos) {
      const std::string value(item.substr(colon + 1));
      out.emplace_back(std::string(item.substr(0, colon)), std::strtod(value.c_str(), nullptr));
    }
    pos = next;
  }
  return out;
}

// XGBoost's Python API (callback.EarlyStopping): these metrics improve upwards, all others downwards.
bool metric_maximizes(std::string_view metric) {
  constexpr std::string_view kMaximize[] = {"auc",  "aucpr", "pre",    "pre@", "map",
                                            "ndcg", "auc@",  "aucpr@", "map@", "ndcg@"};
  if (metric == "mape") return false;
  for (std::string_view prefix : kMaximize) {
    if (metric.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

// Tracks the validation split's last metric as XGBoost's Python API does: stop once it has not
// improved for `rounds` rounds in a row; the best round is the last one that improved it.
class EarlyStopping {
 public:
  explicit EarlyStopping(int64_t rounds) : rounds_(rounds) {}

  // Returns true when training should stop after `iteration`.
  bool update(int64_t iteration, const std::string& name, double score) {
    if (best_iteration_ < 0) {
      metric_ = name;
      maximize_ = metric_maximizes(name.substr(name.find('-') + 1));
      best_iteration_ = iteration;
      best_score_ = score;
      return false;
    }
    const bool improved = maximize_ ? score > best_score_ : score < best_score_;
    if (improved) {
      best_iteration_ = iteration;
      best_score_ = score;
      stale_ = 0;
    } else {
      ++stale_;
    }
    return stale_ >= rounds_;
  }
  int64_t best_iteration() const { return best_iteration_; }
  double best_score() const { return best_score_; }
  const std::string& metric() const { return metric_; }

 private:
  int64_t rounds_;
  int64_t best_iteration_ = -1;
  int64_t stale_ = 0;
  double best_score_ = 0;
  bool maximize_ = false;
  std::string metric_;
};

}  // namespace

std::string xgboost_version() {
  int major = 0, minor = 0, patch = 0;
  XGBoostVersion(&major, &minor, &patch);
  return fmt::format("{}.{}.{}", major, minor, patch);
}

Status validate_xgboost_params(const json& params, model::Task task) {
  // num_class is checked against the data at training time; any count passes here.
  const size_t n_classes = task == model::Task::kMulticlass && params.is_object() && params.contains("num_class") &&
                                   params["num_class"].is_number_integer() && params["num_class"].get<int64_t>() > 0
                               ? params["num_class"].get<size_t>()
                               : 0;
  return resolve_params(params, task, n_classes).status();
}

Result<XgboostTraining> train_xgboost_model(const TrainRequest& request, const TrainContext& context) {
  if (request.train == nullptr || request.train->rows == 0) {
    return make_error(ErrorCode::kInvalidArgument, "the training split is empty");
  }
  if (context.threads < 1) {
    return make_error(ErrorCode::kInvalidArgument, "threads must be at least 1, got {}", context.threads);
  }
  if (request.task == model::Task::kMulticlass && request.n_classes < 2) {
    return make_error(ErrorCode::kInvalidArgument, "a multiclass task needs at least 2 classes, got {}",
                      request.n_classes);
  }
  const Matrix& train = *request.train;
  const bool has_validation = request.validation != nullptr && request.validation->rows > 0;
  SLIPWAY_RETURN_IF_ERROR(check_matrix(train, "training", train.cols));
  if (has_validation) SLIPWAY_RETURN_IF_ERROR(check_matrix(*request.validation, "validation", train.cols));
  SLIPWAY_ASSIGN_OR_RETURN(ResolvedParams params, resolve_params(request.params, request.task, request.n_classes));
  if (params.early_stopping_rounds > 0 && !has_validation) {
    return bad_param(kEarlyStoppingKey, "early stopping needs a validation split, and this run has none");
  }

  SLIPWAY_ASSIGN_OR_RETURN(DMatrix dtrain, make_dmatrix(train, context.threads, "training"));
  DMatrix dvalid;
  if (has_validation) {
    SLIPWAY_ASSIGN_OR_RETURN(dvalid, make_dmatrix(*request.validation, context.threads, "validation"));
  }
  DMatrixHandle cache[] = {dtrain.get(), dvalid.get()};
  const bst_ulong n_eval = has_validation ? 2 : 1;
  BoosterHandle booster_handle = nullptr;
  SLIPWAY_RETURN_IF_ERROR(xgb_check(XGBoosterCreate(cache, n_eval, &booster_handle), "(create booster)"));
  Booster booster(booster_handle);
  std::vector<std::pair<std::string, std::string>> all = params.xgboost;
  all.emplace_back("nthread", std::to_string(context.threads));
  // XGBoost's seed is an int64; run seeds above 2^63 wrap to negative values, which it accepts.
  all.emplace_back("seed", std::to_string(static_cast<int64_t>(context.seed)));
  for (const auto& [name, value] : all) {
    if (XGBoosterSetParam(booster_handle, name.c_str(), value.c_str()) != 0) {
      return bad_param(name, fmt::format("XGBoost rejected '{}': {}", value, xgboost_error()));
    }
  }

  const char* eval_names[] = {"train", "validation"};
  EarlyStopping stopping(params.early_stopping_rounds);
  int64_t rounds_trained = 0;
  for (int64_t it = 0; it < params.rounds; ++it) {
    if (XGBoosterUpdateOneIter(booster_handle, static_cast<int>(it), dtrain.get()) != 0) {
      // Parameter values are checked when the first round configures the learner.
      return make_error(ErrorCode::kInvalidArgument, "XGBoost training failed at round {}: {}", it, xgboost_error());
    }
    rounds_trained = it + 1;
    const char* eval_text = nullptr;
    SLIPWAY_RETURN_IF_ERROR(
        xgb_check(XGBoosterEvalOneIter(booster_handle, static_cast<int>(it), cache, eval_names, n_eval, &eval_text),
                  "(evaluation)"));
    const auto metrics = parse_eval(eval_text);
    if (context.on_step) context.on_step(it, metrics);
    if (params.early_stopping_rounds > 0) {
      const auto last = std::find_if(metrics.rbegin(), metrics.rend(),
                                     [](const auto& m) { return m.first.rfind("validation-", 0) == 0; });
      if (last != metrics.rend() && stopping.update(it, last->first, last->second)) break;
    }
  }

  // Keep rounds [0, best_iteration]: the model the early-stopping metric liked best.
  Booster kept;
  int64_t kept_rounds = rounds_trained;
  if (params.early_stopping_rounds > 0 && stopping.best_iteration() >= 0 &&
      stopping.best_iteration() + 1 < rounds_trained) {
    kept_rounds = stopping.best_iteration() + 1;
    BoosterHandle sliced = nullptr;
    SLIPWAY_RETURN_IF_ERROR(
        xgb_check(XGBoosterSlice(booster_handle, 0, static_cast<int>(kept_rounds), 1, &sliced), "(keep best rounds)"));
    kept.reset(sliced);
  }
  BoosterHandle final_booster = kept ? kept.get() : booster_handle;

  bst_ulong length = 0;
  const char* bytes = nullptr;
  SLIPWAY_RETURN_IF_ERROR(
      xgb_check(XGBoosterSaveModelToBuffer(final_booster, R"({"format": "json"})", &length, &bytes), "(save model)"));
  XgboostTraining out;
  out.model_json.assign(bytes, length);

  auto imported = model::import_xgboost_json(out.model_json, "the trained XGBoost model");
  if (!imported.ok()) {
    return Status(ErrorCode::kInternal, "converting the trained XGBoost model: " + imported.status().message());
  }
  if (imported->task != request.task) {
    return make_error(ErrorCode::kInternal, "the trained XGBoost model is a {} model, the task is {}",
                      model::task_name(imported->task), model::task_name(request.task));
  }
  TrainResult& result = out.result;
  result.body = std::move(imported->body);
  result.output_transform = imported->output_transform;
  result.best_iteration = params.early_stopping_rounds > 0 ? stopping.best_iteration() : -1;
  json& d = result.details;
  d["library"] = "xgboost";
  d["xgboost_version"] = xgboost_version();
  d["objective"] = params.objective;
  json set = json::object();
  for (const auto& [name, value] : all) {
    if (name == "eval_metric" && set.contains(name)) {
      set[name] = set[name].get<std::string>() + "," + value;
    } else {
      set[name] = value;
    }
  }
  d["params"] = std::move(set);
  d["n_estimators"] = params.rounds;
  d["rounds_trained"] = rounds_trained;
  d["rounds_kept"] = kept_rounds;
  d["best_iteration"] = result.best_iteration;
  if (params.early_stopping_rounds > 0) {
    d["early_stopping_rounds"] = params.early_stopping_rounds;
    d["early_stopping_metric"] = stopping.metric();
    d["best_score"] = stopping.best_score();
  }
  if (const auto* trees = std::get_if<model::TreeEnsemble>(&result.body)) d["num_trees"] = trees->trees.size();
  return out;
}

Result<TrainResult> train_xgboost(const TrainRequest& request, const TrainContext& context) {
  SLIPWAY_ASSIGN_OR_RETURN(XgboostTraining training, train_xgboost_model(request, context));
  return std::move(training.result);
}

}  // namespace slipway::train
