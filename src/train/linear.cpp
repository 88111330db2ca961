#include "slipway/train/linear.h"

#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

#include "detail/linear_lbfgs.h"

namespace slipway::train {
namespace {

constexpr const char* kKnownParams = "l2, l1, fit_intercept, max_iter, tol";

struct LinearParams {
  double l2 = 1.0;
  double l1 = 0.0;
  bool fit_intercept = true;
  int64_t max_iter = 1000;
  double tol = 1e-6;
};

std::string shown(const nlohmann::json& value) {
  return value.dump();
}

Result<LinearParams> parse_params(const nlohmann::json& params) {
  LinearParams p;
  if (params.is_null()) return p;
  if (!params.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "model.params must be a mapping, got {}", shown(params));
  }
  const auto number = [](const std::string& key, const nlohmann::json& v, bool strictly_positive,
                         double& out) -> Status {
    const bool ok = v.is_number() && std::isfinite(v.get<double>()) &&
                    (strictly_positive ? v.get<double>() > 0 : v.get<double>() >= 0);
    if (!ok) {
      return make_error(ErrorCode::kInvalidArgument, "model.params.{} must be a number {} 0, got {}", key,
                        strictly_positive ? ">" : ">=", shown(v));
    }
    out = v.get<double>();
    return {};
  };
  for (const auto& [key, v] : params.items()) {
    if (key == "l2") {
      SLIPWAY_RETURN_IF_ERROR(number(key, v, false, p.l2));
    } else if (key == "l1") {
      SLIPWAY_RETURN_IF_ERROR(number(key, v, false, p.l1));
    } else if (key == "tol") {
      SLIPWAY_RETURN_IF_ERROR(number(key, v, true, p.tol));
    } else if (key == "fit_intercept") {
      if (!v.is_boolean()) {
        return make_error(ErrorCode::kInvalidArgument, "model.params.fit_intercept must be true or false, got {}",
                          shown(v));
      }
      p.fit_intercept = v.get<bool>();
    } else if (key == "max_iter") {
      const bool integral = v.is_number_integer() ||
                            (v.is_number_float() && std::isfinite(v.get<double>()) &&
                             v.get<double>() == std::floor(v.get<double>()) && std::fabs(v.get<double>()) < 1e15);
      if (!integral || v.get<double>() < 1) {
        return make_error(ErrorCode::kInvalidArgument, "model.params.max_iter must be an integer >= 1, got {}",
                          shown(v));
      }
      p.max_iter = static_cast<int64_t>(std::min(v.get<double>(), 1e9));
    } else {
      return make_error(ErrorCode::kInvalidArgument, "model.params.{}: unknown parameter for linear (known: {})", key,
                        kKnownParams);
    }
  }
  return p;
}

enum class Loss { kSquared, kLogistic, kSoftmax };

// w . x with four running sums (fixed order, so still deterministic) to hide the add latency.
double dot(const double* w, const float* x, size_t n) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  size_t f = 0;
  for (; f + 4 <= n; f += 4) {
    a0 += w[f] * x[f];
    a1 += w[f + 1] * x[f + 1];
    a2 += w[f + 2] * x[f + 2];
    a3 += w[f + 3] * x[f + 3];
  }
  for (; f < n; ++f) a0 += w[f] * x[f];
  return (a0 + a1) + (a2 + a3);
}

// One split's data as the objective reads it: features with NaN replaced by 0 (copied only when a
// NaN is present), labels, sample weights (empty = all 1) and their sum.
struct Data {
  size_t rows = 0, cols = 0;
  std::vector<float> cleaned;
  const float* x = nullptr;
  const float* y = nullptr;
  const float* weight = nullptr;
  double weight_sum = 0;
};

Result<Data> prepare(const Matrix& m, const char* split, Loss loss, size_t n_classes, size_t cols) {
  Data d;
  d.rows = m.rows;
  d.cols = m.cols;
  if (m.cols != cols) {
    return make_error(ErrorCode::kInvalidArgument, "linear: the {} split has {} feature columns, the training split {}",
                      split, m.cols, cols);
  }
  if (m.x.size() != m.rows * m.cols || m.y.size() != m.rows || (!m.weight.empty() && m.weight.size() != m.rows)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "linear: the {} split's arrays do not match its shape ({} rows x {} columns: {} values, {} "
                      "labels, {} weights)",
                      split, m.rows, m.cols, m.x.size(), m.y.size(), m.weight.size());
  }
  for (size_t r = 0; r < m.rows; ++r) {
    const float label = m.y[r];
    if (loss == Loss::kSquared) {
      if (!std::isfinite(label)) {
        return make_error(ErrorCode::kInvalidArgument, "linear: {} label at row {} is missing or infinite", split, r);
      }
    } else if (!(label >= 0) || label != std::floor(label) || label >= static_cast<float>(n_classes)) {
      return make_error(ErrorCode::kInvalidArgument, "linear: {} label {} at row {} is not a class index in [0, {})",
                        split, label, r, n_classes);
    }
  }
  if (std::any_of(m.x.begin(), m.x.end(), [](float v) { return std::isnan(v); })) {
    d.cleaned = m.x;
    for (float& v : d.cleaned) {
      if (std::isnan(v)) v = 0.0f;
    }
    d.x = d.cleaned.data();
  } else {
    d.x = m.x.data();
  }
  d.y = m.y.data();
  if (m.weight.empty()) {
    d.weight_sum = static_cast<double>(m.rows);
  } else {
    d.weight = m.weight.data();
    for (size_t r = 0; r < m.rows; ++r) {
      if (!(m.weight[r] >= 0) || !std::isfinite(m.weight[r])) {
        return make_error(ErrorCode::kInvalidArgument, "linear: {} sample weight {} at row {} is not a number >= 0",
                          split, m.weight[r], r);
      }
      d.weight_sum += m.weight[r];
    }
  }
  return d;
}

// Parameters theta = [W (k x cols, row-major), b (k, only when fitting an intercept)].
//   value = (sum_i s_i loss_i + l2 / 2 ||W||^2) / S,  S = sum_i s_i
// Dividing by S (as sklearn does) makes tol independent of the number of rows.
// Rows are summed in fixed chunks whose partial sums are added in chunk order, so the result does not
// depend on how many threads computed the chunks.
class Objective {
 public:
  Objective(const Data& data, Loss loss, size_t k, bool fit_intercept, double l2, int threads)
      : data_(data), loss_(loss), k_(k), fit_intercept_(fit_intercept), l2_(l2), threads_(std::max(1, threads)) {
    chunk_rows_ = std::max<size_t>(2048, (data.rows + 63) / 64);
    n_chunks_ = data.rows == 0 ? 0 : (data.rows + chunk_rows_ - 1) / chunk_rows_;
  }

  size_t n_params() const { return k_ * data_.cols + (fit_intercept_ ? k_ : 0); }

  // Smooth objective and its gradient (when grad is non-null); data_loss gets sum_i s_i loss_i / S.
  double evaluate(const std::vector<double>& theta, std::vector<double>* grad, double* data_loss) const {
    const size_t p = n_params();
    // Chunks are computed in waves of `workers` (one buffer each) and added to the totals in chunk
    // order, so memory stays at workers x parameters and the sums never depend on the thread count.
    const size_t workers = std::max<size_t>(1, std::min(static_cast<size_t>(threads_), n_chunks_));
    std::vector<double> partial_loss(workers, 0.0);
    std::vector<std::vector<double>> partial_grad(grad ? workers : 0, std::vector<double>(grad ? p : 0));
    std::vector<std::vector<double>> z(workers, std::vector<double>(k_));
    const auto run = [&](size_t c, size_t slot) {
      if (grad) std::fill(partial_grad[slot].begin(), partial_grad[slot].end(), 0.0);
      partial_loss[slot] = chunk(theta, c, grad ? partial_grad[slot].data() : nullptr, z[slot]);
    };
    double loss = 0;
    if (grad) grad->assign(p, 0.0);
    for (size_t wave = 0; wave < n_chunks_; wave += workers) {
      const size_t count = std::min(workers, n_chunks_ - wave);
      if (count == 1) {
        run(wave, 0);
      } else {
        std::vector<std::thread> pool;
        for (size_t t = 0; t < count; ++t) pool.emplace_back(run, wave + t, t);
        for (auto& th : pool) th.join();
      }
      for (size_t t = 0; t < count; ++t) {
        loss += partial_loss[t];
        if (grad) {
          for (size_t i = 0; i < p; ++i) (*grad)[i] += partial_grad[t][i];
        }
      }
    }
    const double scale = 1.0 / data_.weight_sum;
    double penalty = 0;
    for (size_t i = 0; i < k_ * data_.cols; ++i) penalty += theta[i] * theta[i];
    if (data_loss) *data_loss = loss * scale;
    if (grad) {
      for (size_t i = 0; i < p; ++i) {
        (*grad)[i] = ((*grad)[i] + (i < k_ * data_.cols ? l2_ * theta[i] : 0.0)) * scale;
      }
    }
    return (loss + 0.5 * l2_ * penalty) * scale;
  }

 private:
  // sum over the chunk's rows of s_i * loss_i; adds s_i * dloss_i/dtheta to grad when non-null.
  double chunk(const std::vector<double>& theta, size_t c, double* grad, std::vector<double>& z) const {
    const size_t cols = data_.cols, begin = c * chunk_rows_, end = std::min(data_.rows, begin + chunk_rows_);
    const double* bias = fit_intercept_ ? theta.data() + k_ * cols : nullptr;
    double total = 0;
    for (size_t r = begin; r < end; ++r) {
      const float* x = data_.x + r * cols;
      const double s = data_.weight ? data_.weight[r] : 1.0;
      for (size_t o = 0; o < k_; ++o) {
        const double* w = theta.data() + o * cols;
        z[o] = (bias ? bias[o] : 0.0) + dot(w, x, cols);
      }
      const double y = data_.y[r];
      double loss = 0;
      switch (loss_) {
        case Loss::kSquared:
          z[0] -= y;  // residual = dloss/dz
          loss = 0.5 * z[0] * z[0];
          break;
        case Loss::kLogistic: {
          // log(1 + e^z) - y z, and dloss/dz = sigmoid(z) - y, both without overflow.
          const double m = z[0];
          loss = std::max(m, 0.0) + std::log1p(std::exp(-std::fabs(m))) - y * m;
          z[0] = (m >= 0 ? 1.0 / (1.0 + std::exp(-m)) : std::exp(m) / (1.0 + std::exp(m))) - y;
          break;
        }
        case Loss::kSoftmax: {
          // logsumexp(z) - z_y, and dloss/dz_o = softmax_o - [o == y].
          const double top = *std::max_element(z.begin(), z.end());
          double sum = 0;
          for (size_t o = 0; o < k_; ++o) sum += std::exp(z[o] - top);
          const size_t label = static_cast<size_t>(y);
          loss = top + std::log(sum) - z[label];
          for (size_t o = 0; o < k_; ++o) z[o] = std::exp(z[o] - top) / sum - (o == label ? 1.0 : 0.0);
          break;
        }
      }
      total += s * loss;
      if (grad) {
        for (size_t o = 0; o < k_; ++o) {
          const double dz = s * z[o];
          if (dz == 0) continue;
          double* g = grad + o * cols;
          for (size_t f = 0; f < cols; ++f) g[f] += dz * x[f];
          if (bias) grad[k_ * cols + o] += dz;
        }
      }
    }
    return total;
  }

  const Data& data_;
  Loss loss_;
  size_t k_;
  bool fit_intercept_;
  double l2_;
  int threads_;
  size_t chunk_rows_ = 0, n_chunks_ = 0;
};

// Intercepts that fit the labels alone (mean, log-odds, centred log class frequencies): a start
// close to the optimum for unstandardised targets. Clamped so all-one-class data stays finite.
void initial_intercepts(const Data& data, Loss loss, size_t k, std::vector<double>& theta) {
  double* b = theta.data() + k * data.cols;
  std::vector<double> mass(std::max<size_t>(k, 2), 0.0);
  double mean = 0;
  for (size_t r = 0; r < data.rows; ++r) {
    const double s = data.weight ? data.weight[r] : 1.0;
    mean += s * data.y[r];
    if (loss != Loss::kSquared) mass[static_cast<size_t>(data.y[r])] += s;
  }
  const auto log_share = [&](double part) { return std::log(std::clamp(part / data.weight_sum, 1e-6, 1.0)); };
  switch (loss) {
    case Loss::kSquared:
      b[0] = mean / data.weight_sum;
      break;
    case Loss::kLogistic:
      b[0] = log_share(mass[1]) - log_share(mass[0]);
      break;
    case Loss::kSoftmax: {
      double centre = 0;
      for (size_t o = 0; o < k; ++o) centre += log_share(mass[o]) / static_cast<double>(k);
      for (size_t o = 0; o < k; ++o) b[o] = log_share(mass[o]) - centre;
      break;
    }
  }
}

const char* metric_name(Loss loss) {
  switch (loss) {
    case Loss::kSquared:
      return "rmse";
    case Loss::kLogistic:
      return "logloss";
    case Loss::kSoftmax:
      return "mlogloss";
  }
  return "loss";
}

// The reported metric from the mean per-row loss: log loss as is, RMSE = sqrt(2 * mean(half squared error)).
double metric_from_loss(Loss loss, double mean_loss) {
  return loss == Loss::kSquared ? std::sqrt(2.0 * mean_loss) : mean_loss;
}

}  // namespace

Result<TrainResult> train_linear(const TrainRequest& request, const TrainContext& context) {
  SLIPWAY_ASSIGN_OR_RETURN(const LinearParams params, parse_params(request.params));
  if (request.train == nullptr || request.train->rows == 0) {
    return make_error(ErrorCode::kInvalidArgument, "linear: the training split has no rows");
  }
  Loss loss = Loss::kSquared;
  size_t k = 1, n_classes = 0;
  switch (request.task) {
    case model::Task::kRegression:
      break;
    case model::Task::kBinary:
      loss = Loss::kLogistic;
      n_classes = 2;
      break;
    case model::Task::kMulticlass:
      if (request.n_classes < 2) {
        return make_error(ErrorCode::kInvalidArgument, "linear: multiclass needs at least 2 classes, got {}",
                          request.n_classes);
      }
      loss = Loss::kSoftmax;
      k = n_classes = request.n_classes;
      break;
  }
  const size_t cols = request.train->cols;
  SLIPWAY_ASSIGN_OR_RETURN(const Data train, prepare(*request.train, "training", loss, n_classes, cols));
  if (!(train.weight_sum > 0)) {
    return make_error(ErrorCode::kInvalidArgument, "linear: the training sample weights sum to 0");
  }
  const bool has_validation = request.validation != nullptr && request.validation->rows > 0;
  Data validation;
  if (has_validation) {
    SLIPWAY_ASSIGN_OR_RETURN(validation, prepare(*request.validation, "validation", loss, n_classes, cols));
  }

  const Objective objective(train, loss, k, params.fit_intercept, params.l2, context.threads);
  const Objective validation_objective(validation, loss, k, params.fit_intercept, 0.0, context.threads);
  std::vector<double> theta(objective.n_params(), 0.0);
  if (params.fit_intercept) initial_intercepts(train, loss, k, theta);
  // The L1 term over S like the rest of the objective; intercepts are not penalised.
  std::vector<double> l1;
  if (params.l1 > 0) {
    l1.assign(theta.size(), 0.0);
    std::fill(l1.begin(), l1.begin() + static_cast<ptrdiff_t>(k * cols), params.l1 / train.weight_sum);
  }

  const detail::ObjectiveFn fn = [&](const std::vector<double>& at, std::vector<double>& grad) {
    return objective.evaluate(at, &grad, nullptr);
  };
  const std::string train_metric = std::string("train-") + metric_name(loss);
  const std::string validation_metric = std::string("validation-") + metric_name(loss);
  const auto on_iteration = [&](int iteration, double value) {
    if (!context.on_step) return;
    // The training loss without re-reading the data: the objective less its penalty terms.
    double squares = 0, absolutes = 0;
    for (size_t i = 0; i < k * cols; ++i) {
      squares += theta[i] * theta[i];
      absolutes += std::fabs(theta[i]);
    }
    const double mean_loss = std::max(
        0.0, value - (0.5 * params.l2 * squares + (l1.empty() ? 0.0 : params.l1 * absolutes)) / train.weight_sum);
    std::vector<std::pair<std::string, double>> metrics{{train_metric, metric_from_loss(loss, mean_loss)}};
    if (has_validation && validation.weight_sum > 0) {
      double validation_loss = 0;
      validation_objective.evaluate(theta, nullptr, &validation_loss);
      metrics.emplace_back(validation_metric, metric_from_loss(loss, validation_loss));
    }
    context.on_step(iteration, metrics);
  };

  detail::LbfgsOptions options;
  options.max_iter = static_cast<int>(std::min<int64_t>(params.max_iter, 1'000'000'000));
  options.tol = params.tol;
  const detail::LbfgsResult fit = detail::minimize_lbfgs(fn, theta, l1, options, on_iteration);

  model::LinearModel body;
  body.weights.resize(k * cols);
  body.bias.assign(k, 0.0f);
  for (size_t i = 0; i < k * cols; ++i) body.weights[i] = static_cast<float>(theta[i]);
  if (params.fit_intercept) {
    for (size_t o = 0; o < k; ++o) body.bias[o] = static_cast<float>(theta[k * cols + o]);
  }
  const auto finite = [](float v) { return std::isfinite(v); };
  if (!std::all_of(body.weights.begin(), body.weights.end(), finite) ||
      !std::all_of(body.bias.begin(), body.bias.end(), finite)) {
    return make_error(ErrorCode::kInternal,
                      "linear: the fit diverged (weights are not finite after {} iterations); raise model.params.l2 "
                      "or standardize the features",
                      fit.iterations);
  }

  TrainResult result;
  result.body = std::move(body);
  result.output_transform = loss == Loss::kSquared    ? model::OutputTransform::kIdentity
                            : loss == Loss::kLogistic ? model::OutputTransform::kSigmoid
                                                      : model::OutputTransform::kSoftmax;
  result.details = {
      {"objective", loss == Loss::kSquared    ? "squared_error"
                    : loss == Loss::kLogistic ? "logistic"
                                              : "softmax"},
      {"solver", l1.empty() ? "lbfgs" : "owlqn"},
      {"iterations", fit.iterations},
      {"converged", fit.converged},
      {"stop", fit.stop},
      {"objective_value", fit.value},
      {"params",
       {{"l2", params.l2},
        {"l1", params.l1},
        {"fit_intercept", params.fit_intercept},
        {"max_iter", params.max_iter},
        {"tol", params.tol}}},
  };
  return result;
}

}  // namespace slipway::train
