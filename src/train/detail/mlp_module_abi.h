// The C interface between slipway_train (src/train/mlp_trainer.cpp) and the libtorch module
// libslipway_mlp.so (src/train/mlp_torch_module.cpp). The module is found and loaded at run time,
// so it may come from another build: the entry point's name carries the interface version, and any
// change to a struct below is a new version (slipway_mlp_train_v2), never an edit of v1.
// Plain C types only: no C++ object crosses the boundary, and the module keeps every libtorch
// symbol to itself (built with -fvisibility=hidden; only the entry point is exported).
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { kSlipwayMlpTaskRegression = 0, kSlipwayMlpTaskBinary = 1, kSlipwayMlpTaskMulticlass = 2 };
enum { kSlipwayMlpRelu = 0, kSlipwayMlpTanh = 1, kSlipwayMlpSigmoid = 2, kSlipwayMlpGelu = 3 };
enum { kSlipwayMlpAdam = 0, kSlipwayMlpSgd = 1, kSlipwayMlpAdamw = 2 };

// Row-major float32 features (complete: no NaN), labels (class indices for classification) and
// optional sample weights (NULL: all 1).
typedef struct SlipwayMlpData {
  size_t rows;
  size_t cols;
  const float* x;
  const float* y;
  const float* weight;
} SlipwayMlpData;

typedef struct SlipwayMlpArgs {
  int task;
  size_t n_outputs;  // 1, or the number of classes
  const SlipwayMlpData* train;
  const SlipwayMlpData* validation;  // NULL: no validation loss, no early stopping
  const uint32_t* hidden;            // hidden layer sizes, n_hidden of them (0 = a linear model)
  size_t n_hidden;
  int activation;
  double dropout;
  int optimizer;
  double learning_rate;
  double weight_decay;
  double momentum;  // SGD only
  int64_t batch_size;
  int64_t epochs;
  int64_t patience;  // epochs without a lower validation loss before stopping; 0 = off
  uint64_t seed;
  int threads;
  // After training, the network in eval mode predicts these rows into check_margins / check_outputs
  // (check->rows * n_outputs each; outputs after sigmoid / softmax), so the caller can compare the
  // engine with torch. NULL: skipped.
  const SlipwayMlpData* check;
  float* check_margins;
  float* check_outputs;
  void* user;
  // Once per epoch; validation_loss is NaN without validation data.
  void (*on_epoch)(void* user, int64_t epoch, double train_loss, double validation_loss);
  // Once per layer, in order, after training: weights are out x in, row-major.
  void (*on_layer)(void* user, uint32_t in, uint32_t out, const float* weights, const float* bias);
} SlipwayMlpArgs;

typedef struct SlipwayMlpOutcome {
  int64_t epochs_run;
  int64_t best_epoch;  // the epoch whose weights were kept; -1 without early stopping
  char torch_version[64];
  char error[1024];  // set when the entry point returns non-zero
} SlipwayMlpOutcome;

// Returns 0 on success; otherwise 1 for a bad argument, 2 for a failure inside libtorch, with
// outcome->error saying what happened.
typedef int (*SlipwayMlpTrainV1)(const SlipwayMlpArgs* args, SlipwayMlpOutcome* outcome);
#define SLIPWAY_MLP_TRAIN_V1_SYMBOL "slipway_mlp_train_v1"

#ifdef __cplusplus
}
#endif
