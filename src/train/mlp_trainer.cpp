// MLP trainer, the torch-free half: model.params -> options, finding and loading the libtorch module
// (libslipway_mlp.so) on first use, and turning what it returns into a model::Mlp that the engine
// has checked against torch's own forward pass.
#include "slipway/train/mlp_trainer.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "detail/mlp_module_abi.h"
#include "slipway/model/engine.h"

namespace slipway::train {
namespace {

using json = nlohmann::json;

constexpr std::string_view kModuleFile = "libslipway_mlp.so";
// Rows of the check set: torch and the engine both predict them after training.
constexpr size_t kCheckRows = 1024;
// Beyond this the converted network is not the one torch trained (a bug, not rounding; the engine
// itself agrees with a float32 reference to 1e-5, see engine.h).
constexpr double kCheckFailure = 1e-3;

struct MlpOptions {
  std::vector<uint32_t> hidden = {64, 64};
  model::Activation activation = model::Activation::kRelu;
  double dropout = 0;
  std::string optimizer = "adam";
  double learning_rate = 0;  // default by optimizer
  double weight_decay = -1;  // default by optimizer
  double momentum = 0;
  int64_t batch_size = 128;
  int64_t epochs = 100;
  int64_t patience = 10;
  bool patience_given = false;
};

Status bad_param(std::string_view key, const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, "model.params.{}: {}", key, what);
}

Result<double> number_in(std::string_view key, const json& v, double lo, double hi, bool hi_open,
                         std::string_view range_text) {
  if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < lo ||
      (hi_open ? v.get<double>() >= hi : v.get<double>() > hi)) {
    return bad_param(key, fmt::format("must be a number {}, got {}", range_text, v.dump()));
  }
  return v.get<double>();
}

Result<int64_t> integer_in(std::string_view key, const json& v, int64_t lo, int64_t hi) {
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
    return bad_param(key, fmt::format("must be an integer from {} to {}, got {}", lo, hi, v.dump()));
  }
  return v.get<int64_t>();
}

Result<MlpOptions> parse_options(const json& params) {
  if (!params.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "model.params: must be a mapping, got {}", params.dump());
  }
  MlpOptions o;
  bool momentum_given = false;
  for (const auto& [key, v] : params.items()) {
    if (key == "hidden") {
      const json list = v.is_number_integer() ? json::array({v}) : v;
      if (!list.is_array() || list.size() > 64) {
        return bad_param(key, fmt::format("must be a list of layer sizes (at most 64 layers), got {}", v.dump()));
      }
      o.hidden.clear();
      for (const json& size : list) {
        if (!size.is_number_integer() || size.get<int64_t>() < 1 || size.get<int64_t>() > 65536) {
          return bad_param(key, fmt::format("layer sizes must be integers from 1 to 65536, got {}", v.dump()));
        }
        o.hidden.push_back(size.get<uint32_t>());
      }
    } else if (key == "activation") {
      const std::string name = v.is_string() ? v.get<std::string>() : "";
      if (name == "relu") {
        o.activation = model::Activation::kRelu;
      } else if (name == "tanh") {
        o.activation = model::Activation::kTanh;
      } else if (name == "sigmoid") {
        o.activation = model::Activation::kSigmoid;
      } else if (name == "gelu") {
        o.activation = model::Activation::kGelu;
      } else {
        return bad_param(key, fmt::format("must be one of relu, tanh, sigmoid, gelu, got {}", v.dump()));
      }
    } else if (key == "dropout") {
      SLIPWAY_ASSIGN_OR_RETURN(o.dropout, number_in(key, v, 0, 1, true, "from 0 up to (not including) 1"));
    } else if (key == "optimizer") {
      if (!v.is_string() || (v != "adam" && v != "sgd" && v != "adamw")) {
        return bad_param(key, fmt::format("must be one of adam, sgd, adamw, got {}", v.dump()));
      }
      o.optimizer = v.get<std::string>();
    } else if (key == "learning_rate") {
      SLIPWAY_ASSIGN_OR_RETURN(o.learning_rate, number_in(key, v, 0, 1e3, false, "above 0 (and at most 1000)"));
      if (o.learning_rate <= 0) return bad_param(key, fmt::format("must be a number above 0, got {}", v.dump()));
    } else if (key == "weight_decay") {
      SLIPWAY_ASSIGN_OR_RETURN(o.weight_decay, number_in(key, v, 0, 1e3, false, "from 0 to 1000"));
    } else if (key == "momentum") {
      SLIPWAY_ASSIGN_OR_RETURN(o.momentum, number_in(key, v, 0, 1, true, "from 0 up to (not including) 1"));
      momentum_given = true;
    } else if (key == "batch_size") {
      SLIPWAY_ASSIGN_OR_RETURN(o.batch_size, integer_in(key, v, 1, 10'000'000));
    } else if (key == "epochs") {
      SLIPWAY_ASSIGN_OR_RETURN(o.epochs, integer_in(key, v, 1, 1'000'000));
    } else if (key == "early_stopping_patience") {
      SLIPWAY_ASSIGN_OR_RETURN(o.patience, integer_in(key, v, 0, 1'000'000));
      o.patience_given = true;
    } else if (key == "seed" || key == "threads") {
      return bad_param(key, fmt::format("the MLP's {} is the run's; set the top-level {} instead", key, key));
    } else {
      return bad_param(key, "unknown MLP parameter");
    }
  }
  if (momentum_given && o.optimizer != "sgd") return bad_param("momentum", "only applies to optimizer sgd");
  // torch's defaults: AdamW decays weights by 0.01, the others not at all; SGD learns at 0.01.
  if (o.learning_rate == 0) o.learning_rate = o.optimizer == "sgd" ? 0.01 : 0.001;
  if (o.weight_decay < 0) o.weight_decay = o.optimizer == "adamw" ? 0.01 : 0.0;
  return o;
}

#ifdef SLIPWAY_MLP_MODULE_BUILD_PATH

json options_json(const MlpOptions& o) {
  return {{"hidden", o.hidden},
          {"activation", model::activation_name(o.activation)},
          {"dropout", o.dropout},
          {"optimizer", o.optimizer},
          {"learning_rate", o.learning_rate},
          {"weight_decay", o.weight_decay},
          {"momentum", o.momentum},
          {"batch_size", o.batch_size},
          {"epochs", o.epochs},
          {"early_stopping_patience", o.patience}};
}

Status check_matrix(const Matrix& m, std::string_view name, size_t cols, const std::vector<std::string>& features,
                    model::Task task, size_t n_classes) {
  if (m.x.size() != m.rows * m.cols || m.y.size() != m.rows || (!m.weight.empty() && m.weight.size() != m.rows)) {
    return make_error(ErrorCode::kInternal, "{} matrix: {} rows x {} columns but {} values, {} labels, {} weights",
                      name, m.rows, m.cols, m.x.size(), m.y.size(), m.weight.size());
  }
  if (m.cols != cols) {
    return make_error(ErrorCode::kInternal, "{} matrix has {} columns, the training matrix {}", name, m.cols, cols);
  }
  for (size_t i = 0; i < m.x.size(); ++i) {
    if (!std::isfinite(m.x[i])) {
      const size_t c = i % cols;
      return make_error(ErrorCode::kInvalidArgument,
                        "the MLP trainer needs complete, finite features: {} row {}, feature '{}' is {} (add an "
                        "impute step for it)",
                        name, i / cols, c < features.size() ? features[c] : std::to_string(c),
                        std::isnan(m.x[i]) ? "missing" : "infinite");
    }
  }
  for (size_t r = 0; r < m.rows; ++r) {
    const float y = m.y[r];
    const bool ok = task == model::Task::kRegression ? std::isfinite(y)
                    : task == model::Task::kBinary
                        ? (y == 0.0f || y == 1.0f)
                        : (y >= 0 && y < static_cast<float>(n_classes) && y == std::floor(y));
    if (!ok) {
      return make_error(ErrorCode::kInvalidArgument, "{} row {}: label {} is not valid for a {} task", name, r, y,
                        model::task_name(task));
    }
    if (!m.weight.empty() && !(m.weight[r] >= 0 && std::isfinite(m.weight[r]))) {
      return make_error(ErrorCode::kInvalidArgument, "{} row {}: weight {} must be finite and >= 0", name, r,
                        m.weight[r]);
    }
  }
  return {};
}

SlipwayMlpData data_of(const Matrix& m) {
  return SlipwayMlpData{m.rows, m.cols, m.x.data(), m.y.data(), m.weight.empty() ? nullptr : m.weight.data()};
}

// Where the module may be: $SLIPWAY_MLP_MODULE, next to the running binary, ../lib/slipway from it
// (an installed layout), and where this build tree put it.
std::vector<std::filesystem::path> module_candidates() {
  std::vector<std::filesystem::path> out;
  if (const char* env = std::getenv("SLIPWAY_MLP_MODULE"); env != nullptr && *env != '\0') {
    out.emplace_back(env);
    return out;
  }
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    out.push_back(exe.parent_path() / kModuleFile);
    out.push_back(exe.parent_path().parent_path() / "lib" / "slipway" / kModuleFile);
  }
  out.emplace_back(SLIPWAY_MLP_MODULE_BUILD_PATH);
  return out;
}

struct LoadedModule {
  Status status;
  SlipwayMlpTrainV1 train = nullptr;
  std::string path;
};

// Loaded once per process and never unloaded (libtorch does not support dlclose).
const LoadedModule& loaded_module() {
  static const LoadedModule module = [] {
    LoadedModule m;
    const auto candidates = module_candidates();
    std::string looked;
    for (const auto& path : candidates) {
      looked += (looked.empty() ? "" : ", ") + path.string();
      std::error_code ec;
      if (!std::filesystem::exists(path, ec)) continue;
      void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (handle == nullptr) {
        m.status = make_error(ErrorCode::kFailedPrecondition, "the MLP trainer module {} does not load: {}",
                              path.string(), dlerror());
        return m;
      }
      m.train = reinterpret_cast<SlipwayMlpTrainV1>(dlsym(handle, SLIPWAY_MLP_TRAIN_V1_SYMBOL));
      if (m.train == nullptr) {
        m.status = make_error(ErrorCode::kFailedPrecondition,
                              "the MLP trainer module {} is from another slipway version (it has no {}); rebuild it",
                              path.string(), SLIPWAY_MLP_TRAIN_V1_SYMBOL);
        return m;
      }
      m.path = path.string();
      return m;
    }
    const char* env = std::getenv("SLIPWAY_MLP_MODULE");
    if (env != nullptr && *env != '\0') {
      m.status = make_error(ErrorCode::kFailedPrecondition,
                            "the MLP trainer module {} (from SLIPWAY_MLP_MODULE) does not exist", env);
    } else {
      m.status =
          make_error(ErrorCode::kFailedPrecondition,
                     "the MLP trainer module {} was not found (looked in: {}); set SLIPWAY_MLP_MODULE to its path",
                     kModuleFile, looked);
    }
    return m;
  }();
  return module;
}

// Collects what the module reports, on this side of the C boundary.
struct Collector {
  const TrainContext* context = nullptr;
  model::Mlp mlp;
  model::Activation activation = model::Activation::kRelu;
  size_t n_hidden = 0;
  std::string loss_name;

  static void on_epoch(void* user, int64_t epoch, double train_loss, double validation_loss) {
    auto* self = static_cast<Collector*>(user);
    if (!self->context->on_step) return;
    std::vector<std::pair<std::string, double>> metrics = {{"train-loss", train_loss}};
    if (!std::isnan(validation_loss)) metrics.emplace_back("validation-loss", validation_loss);
    self->context->on_step(epoch, metrics);
  }
  static void on_layer(void* user, uint32_t in, uint32_t out, const float* weights, const float* bias) {
    auto* self = static_cast<Collector*>(user);
    model::DenseLayer layer;
    layer.in = in;
    layer.out = out;
    layer.weights.assign(weights, weights + size_t{in} * out);
    layer.bias.assign(bias, bias + out);
    layer.activation = self->mlp.layers.size() < self->n_hidden ? self->activation : model::Activation::kIdentity;
    self->mlp.layers.push_back(std::move(layer));
  }
};

model::OutputTransform output_transform_of(model::Task task) {
  switch (task) {
    case model::Task::kBinary:
      return model::OutputTransform::kSigmoid;
    case model::Task::kMulticlass:
      return model::OutputTransform::kSoftmax;
    case model::Task::kRegression:
      break;
  }
  return model::OutputTransform::kIdentity;
}

// The largest |engine - torch| / max(1, |torch|) over the check rows, margins and outputs.
Result<double> disagreement(const TrainRequest& request, const TrainResult& result, const Matrix& check,
                            const std::vector<float>& torch_margins, const std::vector<float>& torch_outputs) {
  model::Model m;
  m.task = request.task;
  for (size_t c = 0; c < check.cols; ++c) {
    model::InputColumn input;
    input.name = c < request.feature_names.size() ? request.feature_names[c] : fmt::format("f{}", c);
    m.feature_names.push_back(input.name);
    m.inputs.push_back(std::move(input));
  }
  m.body = result.body;
  m.output_transform = result.output_transform;
  double worst = 0;
  for (const bool margins : {true, false}) {
    model::PredictorOptions options;
    options.margins = margins;
    SLIPWAY_ASSIGN_OR_RETURN(auto predictor, model::Predictor::create(m, options));
    std::vector<float> ours(check.rows * predictor->n_outputs());
    predictor->predict(check.x.data(), check.rows, ours.data());
    const std::vector<float>& theirs = margins ? torch_margins : torch_outputs;
    for (size_t i = 0; i < ours.size(); ++i) {
      worst = std::max(worst, std::fabs(double{ours[i]} - theirs[i]) / std::max(1.0, std::fabs(double{theirs[i]})));
    }
  }
  return worst;
}

Result<TrainResult> train_with_module(const MlpOptions& options, const TrainRequest& request,
                                      const TrainContext& context) {
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
  SLIPWAY_RETURN_IF_ERROR(
      check_matrix(train, "training", train.cols, request.feature_names, request.task, request.n_classes));
  if (has_validation) {
    SLIPWAY_RETURN_IF_ERROR(check_matrix(*request.validation, "validation", train.cols, request.feature_names,
                                         request.task, request.n_classes));
  } else if (options.patience_given && options.patience > 0) {
    return bad_param("early_stopping_patience", "early stopping needs a validation split, and this run has none");
  }
  const size_t n_outputs = request.task == model::Task::kMulticlass ? request.n_classes : 1;

  // The check set: the first rows of the validation split (else of the training split).
  const Matrix& source = has_validation ? *request.validation : train;
  Matrix check;
  check.rows = std::min(source.rows, kCheckRows);
  check.cols = source.cols;
  check.x.assign(source.x.begin(), source.x.begin() + static_cast<std::ptrdiff_t>(check.rows * check.cols));
  check.y.assign(source.y.begin(), source.y.begin() + static_cast<std::ptrdiff_t>(check.rows));
  std::vector<float> check_margins(check.rows * n_outputs), check_outputs(check.rows * n_outputs);

  Collector collector;
  collector.context = &context;
  collector.activation = options.activation;
  collector.n_hidden = options.hidden.size();
  const SlipwayMlpData train_data = data_of(train);
  const SlipwayMlpData validation_data = has_validation ? data_of(*request.validation) : SlipwayMlpData{};
  const SlipwayMlpData check_data = data_of(check);
  SlipwayMlpArgs args{};
  args.task = request.task == model::Task::kRegression ? kSlipwayMlpTaskRegression
              : request.task == model::Task::kBinary   ? kSlipwayMlpTaskBinary
                                                       : kSlipwayMlpTaskMulticlass;
  args.n_outputs = n_outputs;
  args.train = &train_data;
  args.validation = has_validation ? &validation_data : nullptr;
  args.hidden = options.hidden.data();
  args.n_hidden = options.hidden.size();
  args.activation = options.activation == model::Activation::kRelu      ? kSlipwayMlpRelu
                    : options.activation == model::Activation::kTanh    ? kSlipwayMlpTanh
                    : options.activation == model::Activation::kSigmoid ? kSlipwayMlpSigmoid
                                                                        : kSlipwayMlpGelu;
  args.dropout = options.dropout;
  args.optimizer = options.optimizer == "adam"  ? kSlipwayMlpAdam
                   : options.optimizer == "sgd" ? kSlipwayMlpSgd
                                                : kSlipwayMlpAdamw;
  args.learning_rate = options.learning_rate;
  args.weight_decay = options.weight_decay;
  args.momentum = options.momentum;
  args.batch_size = options.batch_size;
  args.epochs = options.epochs;
  args.patience = options.patience;
  args.seed = context.seed;
  args.threads = context.threads;
  args.check = &check_data;
  args.check_margins = check_margins.data();
  args.check_outputs = check_outputs.data();
  args.user = &collector;
  args.on_epoch = &Collector::on_epoch;
  args.on_layer = &Collector::on_layer;
  SlipwayMlpOutcome outcome{};
  const LoadedModule& module = loaded_module();
  const int rc = module.train(&args, &outcome);
  if (rc != 0) {
    return make_error(rc == 1 ? ErrorCode::kInvalidArgument : ErrorCode::kInternal, "MLP training (libtorch {}): {}",
                      outcome.torch_version, outcome.error);
  }

  TrainResult result;
  result.body = std::move(collector.mlp);
  result.output_transform = output_transform_of(request.task);
  result.best_iteration = outcome.best_epoch;
  SLIPWAY_ASSIGN_OR_RETURN(const double worst, disagreement(request, result, check, check_margins, check_outputs));
  if (!(worst <= kCheckFailure)) {
    return make_error(ErrorCode::kInternal,
                      "the converted MLP does not predict what torch predicts (relative difference {:.3g} on the "
                      "check rows)",
                      worst);
  }
  json& d = result.details;
  d["library"] = "torch";
  d["torch_version"] = outcome.torch_version;
  d["loss"] = request.task == model::Task::kRegression ? "mse"
              : request.task == model::Task::kBinary   ? "binary_cross_entropy"
                                                       : "cross_entropy";
  d["params"] = options_json(options);
  d["epochs_run"] = outcome.epochs_run;
  d["best_epoch"] = outcome.best_epoch;
  d["module"] = module.path;
  d["torch_check"] = {{"rows", check.rows}, {"max_relative_difference", worst}};
  return result;
}

#endif  // SLIPWAY_MLP_MODULE_BUILD_PATH

}  // namespace

Status validate_mlp_params(const json& params, model::Task /*task*/) {
  return parse_options(params).status();
}

Status mlp_trainer_available() {
#ifdef SLIPWAY_MLP_MODULE_BUILD_PATH
  return loaded_module().status;
#else
  return Status(ErrorCode::kFailedPrecondition,
                "the MLP trainer was built without libtorch: apt install libtorch-dev and rebuild (cmake "
                "-DSLIPWAY_WITH_TORCH=ON)");
#endif
}

Result<TrainResult> train_mlp(const TrainRequest& request, const TrainContext& context) {
  SLIPWAY_ASSIGN_OR_RETURN(MlpOptions options, parse_options(request.params));
  SLIPWAY_RETURN_IF_ERROR(mlp_trainer_available());
#ifdef SLIPWAY_MLP_MODULE_BUILD_PATH
  return train_with_module(options, request, context);
#else
  (void)options;
  (void)context;
  return make_error(ErrorCode::kInternal, "unreachable: mlp_trainer_available() failed above");
#endif
}

}  // namespace slipway::train
