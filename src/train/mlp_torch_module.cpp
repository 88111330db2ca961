// libslipway_mlp.so: trains a dense network with libtorch behind the C entry point of
// detail/mlp_module_abi.h. The only translation unit that includes torch (≈15 s and 1.3 GB to
// compile); it is a separate module because loading libtorch costs ~0.45 s per process.
//
// Determinism: torch::manual_seed(seed) fixes the weight initialisation and dropout masks, the
// batch order comes from our own splitmix64 shuffle (std::shuffle's algorithm is unspecified),
// deterministic algorithms are required, and the intra-op thread count is set explicitly: the same
// data, parameters, seed and threads give bit-identical weights on the same machine.
#include <torch/torch.h>
#include <torch/version.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "detail/mlp_module_abi.h"

namespace {

struct InvalidArgument : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// splitmix64 (Steele, Lea, Flood 2014): small, fast, and the same on every platform.
class Shuffler {
 public:
  explicit Shuffler(uint64_t seed) : state_(seed ^ 0x6A09E667F3BCC909ull) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Fisher–Yates; the modulo bias (< 2^-40 for any realistic row count) does not matter here.
  void shuffle(std::vector<int64_t>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[next() % i]);
  }

 private:
  uint64_t state_;
};

torch::nn::Sequential build_network(const SlipwayMlpArgs& a, std::vector<torch::nn::Linear>& linears) {
  torch::nn::Sequential net;
  int64_t in = static_cast<int64_t>(a.train->cols);
  for (size_t i = 0; i <= a.n_hidden; ++i) {
    const bool last = i == a.n_hidden;
    const int64_t out = last ? static_cast<int64_t>(a.n_outputs) : static_cast<int64_t>(a.hidden[i]);
    torch::nn::Linear linear(in, out);
    linears.push_back(linear);
    net->push_back(linear);
    if (!last) {
      switch (a.activation) {
        case kSlipwayMlpRelu:
          net->push_back(torch::nn::ReLU());
          break;
        case kSlipwayMlpTanh:
          net->push_back(torch::nn::Tanh());
          break;
        case kSlipwayMlpSigmoid:
          net->push_back(torch::nn::Sigmoid());
          break;
        case kSlipwayMlpGelu:
          net->push_back(torch::nn::GELU());
          break;  // exact (erf) GELU, as the engine
        default:
          throw InvalidArgument("unknown activation " + std::to_string(a.activation));
      }
      if (a.dropout > 0) net->push_back(torch::nn::Dropout(a.dropout));
    }
    in = out;
  }
  return net;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const SlipwayMlpArgs& a,
                                                        const std::vector<torch::Tensor>& params) {
  switch (a.optimizer) {
    case kSlipwayMlpAdam:
      return std::make_unique<torch::optim::Adam>(
          params, torch::optim::AdamOptions(a.learning_rate).weight_decay(a.weight_decay));
    case kSlipwayMlpSgd:
      return std::make_unique<torch::optim::SGD>(
          params, torch::optim::SGDOptions(a.learning_rate).momentum(a.momentum).weight_decay(a.weight_decay));
    case kSlipwayMlpAdamw:
      return std::make_unique<torch::optim::AdamW>(
          params, torch::optim::AdamWOptions(a.learning_rate).weight_decay(a.weight_decay));
    default:
      throw InvalidArgument("unknown optimizer " + std::to_string(a.optimizer));
  }
}

struct Tensors {
  torch::Tensor x, y, weight;  // weight undefined when unweighted
};

// Views of the caller's arrays (from_blob does not copy; nothing writes to them).
Tensors tensors_of(const SlipwayMlpData& d, int task) {
  Tensors t;
  const auto rows = static_cast<int64_t>(d.rows);
  t.x = torch::from_blob(const_cast<float*>(d.x), {rows, static_cast<int64_t>(d.cols)}, torch::kFloat32);
  torch::Tensor y = torch::from_blob(const_cast<float*>(d.y), {rows}, torch::kFloat32);
  t.y = task == kSlipwayMlpTaskMulticlass ? y.to(torch::kInt64) : y.view({rows, 1});
  if (d.weight != nullptr) t.weight = torch::from_blob(const_cast<float*>(d.weight), {rows}, torch::kFloat32);
  return t;
}

// Per-row loss: squared error, binary cross-entropy on logits, or softmax cross-entropy.
torch::Tensor row_losses(int task, const torch::Tensor& margins, const torch::Tensor& y) {
  namespace F = torch::nn::functional;
  switch (task) {
    case kSlipwayMlpTaskRegression:
      return F::mse_loss(margins, y, F::MSELossFuncOptions().reduction(torch::kNone)).view({-1});
    case kSlipwayMlpTaskBinary:
      return F::binary_cross_entropy_with_logits(margins, y,
                                                 F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone))
          .view({-1});
    default:
      return F::cross_entropy(margins, y, F::CrossEntropyFuncOptions().reduction(torch::kNone));
  }
}

// Weighted sum of the row losses and the sum of weights, for a (weighted) mean.
std::pair<torch::Tensor, double> loss_sum(int task, const torch::Tensor& margins, const torch::Tensor& y,
                                          const torch::Tensor& weight) {
  torch::Tensor losses = row_losses(task, margins, y);
  if (!weight.defined()) return {losses.sum(), static_cast<double>(losses.size(0))};
  return {(losses * weight).sum(), weight.sum().item<double>()};
}

// Mean loss over a whole split in eval mode, in chunks to bound memory.
double evaluate(torch::nn::Sequential& net, int task, const Tensors& data) {
  torch::NoGradGuard no_grad;
  constexpr int64_t kChunk = 65536;
  double total = 0, weight = 0;
  const int64_t rows = data.x.size(0);
  for (int64_t begin = 0; begin < rows; begin += kChunk) {
    const int64_t end = std::min(rows, begin + kChunk);
    auto [sum, w] = loss_sum(task, net->forward(data.x.slice(0, begin, end)), data.y.slice(0, begin, end),
                             data.weight.defined() ? data.weight.slice(0, begin, end) : torch::Tensor());
    total += sum.item<double>();
    weight += w;
  }
  return weight > 0 ? total / weight : std::numeric_limits<double>::quiet_NaN();
}

void train(const SlipwayMlpArgs& a, SlipwayMlpOutcome& outcome) {
  if (a.train == nullptr || a.train->rows == 0) throw InvalidArgument("the training split is empty");
  if (a.batch_size < 1 || a.epochs < 1 || a.threads < 1 || a.n_outputs < 1) {
    throw InvalidArgument("batch_size, epochs, threads and n_outputs must be positive");
  }
  torch::set_num_threads(a.threads);
  torch::manual_seed(a.seed);
  at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/false);

  std::vector<torch::nn::Linear> linears;
  torch::nn::Sequential net = build_network(a, linears);
  auto optimizer = make_optimizer(a, net->parameters());
  const Tensors train = tensors_of(*a.train, a.task);
  const bool has_validation = a.validation != nullptr && a.validation->rows > 0;
  Tensors validation;
  if (has_validation) validation = tensors_of(*a.validation, a.task);

  Shuffler shuffler(a.seed);
  std::vector<int64_t> order(a.train->rows);
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  const auto rows = static_cast<int64_t>(order.size());

  double best_loss = std::numeric_limits<double>::infinity();
  int64_t stale = 0;
  outcome.best_epoch = -1;
  std::vector<torch::Tensor> best_state;  // clones of the parameters at best_epoch
  for (int64_t epoch = 0; epoch < a.epochs; ++epoch) {
    net->train();
    shuffler.shuffle(order);
    const torch::Tensor index_all = torch::from_blob(order.data(), {rows}, torch::kInt64);
    double epoch_loss = 0, epoch_weight = 0;
    for (int64_t begin = 0; begin < rows; begin += a.batch_size) {
      const torch::Tensor index = index_all.slice(0, begin, std::min(rows, begin + a.batch_size));
      const torch::Tensor weight = train.weight.defined() ? train.weight.index_select(0, index) : torch::Tensor();
      optimizer->zero_grad();
      auto [sum, w] =
          loss_sum(a.task, net->forward(train.x.index_select(0, index)), train.y.index_select(0, index), weight);
      if (!(w > 0)) continue;  // a batch of zero-weight rows teaches nothing
      torch::Tensor loss = sum / w;
      loss.backward();
      optimizer->step();
      epoch_loss += loss.item<double>() * w;
      epoch_weight += w;
    }
    const double train_loss = epoch_weight > 0 ? epoch_loss / epoch_weight : std::numeric_limits<double>::quiet_NaN();
    if (!std::isfinite(train_loss)) {
      throw std::runtime_error("training diverged in epoch " + std::to_string(epoch) +
                               " (the training loss is not finite); lower learning_rate or standardize the features");
    }
    net->eval();
    const double validation_loss =
        has_validation ? evaluate(net, a.task, validation) : std::numeric_limits<double>::quiet_NaN();
    outcome.epochs_run = epoch + 1;
    if (a.on_epoch != nullptr) a.on_epoch(a.user, epoch, train_loss, validation_loss);
    if (has_validation && a.patience > 0) {
      if (validation_loss < best_loss) {
        best_loss = validation_loss;
        outcome.best_epoch = epoch;
        stale = 0;
        best_state.clear();
        for (const auto& p : net->parameters()) best_state.push_back(p.detach().clone());
      } else if (++stale >= a.patience) {
        break;
      }
    }
  }
  if (!best_state.empty()) {
    torch::NoGradGuard no_grad;
    auto params = net->parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(best_state[i]);
  }

  net->eval();
  if (a.check != nullptr && a.check->rows > 0) {
    torch::NoGradGuard no_grad;
    const Tensors check = tensors_of(*a.check, a.task);
    const torch::Tensor margins = net->forward(check.x).contiguous();
    const torch::Tensor outputs = (a.task == kSlipwayMlpTaskBinary       ? torch::sigmoid(margins)
                                   : a.task == kSlipwayMlpTaskMulticlass ? torch::softmax(margins, 1)
                                                                         : margins)
                                      .contiguous();
    std::memcpy(a.check_margins, margins.data_ptr<float>(), sizeof(float) * margins.numel());
    std::memcpy(a.check_outputs, outputs.data_ptr<float>(), sizeof(float) * outputs.numel());
  }
  for (const auto& linear : linears) {
    const torch::Tensor w = linear->weight.detach().contiguous();
    const torch::Tensor b = linear->bias.detach().contiguous();
    a.on_layer(a.user, static_cast<uint32_t>(w.size(1)), static_cast<uint32_t>(w.size(0)), w.data_ptr<float>(),
               b.data_ptr<float>());
  }
}

void set_error(SlipwayMlpOutcome& outcome, const char* what) {
  // c10::Error messages end in a C++ backtrace; the first line is the message.
  std::string text = what;
  if (const size_t eol = text.find('\n'); eol != std::string::npos) text.resize(eol);
  std::snprintf(outcome.error, sizeof(outcome.error), "%s", text.c_str());
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int slipway_mlp_train_v1(const SlipwayMlpArgs* args,
                                                                           SlipwayMlpOutcome* outcome) {
  std::snprintf(outcome->torch_version, sizeof(outcome->torch_version), "%s", TORCH_VERSION);
  outcome->error[0] = '\0';
  outcome->epochs_run = 0;
  outcome->best_epoch = -1;
  try {
    train(*args, *outcome);
    return 0;
  } catch (const InvalidArgument& e) {
    set_error(*outcome, e.what());
    return 1;
  } catch (const std::exception& e) {
    set_error(*outcome, e.what());
    return 2;
  } catch (...) {
    set_error(*outcome, "unknown exception");
    return 2;
  }
}
