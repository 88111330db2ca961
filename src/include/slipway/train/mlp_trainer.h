// Dense networks (multi-layer perceptrons) trained with libtorch, returned as the engine's model::Mlp.
//
// libtorch is big and slow to load (~0.45 s of static initialisation on every process start), so
// it never links into slipway itself: the torch code is a separate module, libslipway_mlp.so,
// built when CMake finds libtorch (option SLIPWAY_WITH_TORCH) and loaded with dlopen the first
// time an MLP is trained, through a versioned C entry point (src/train/detail/mlp_module_abi.h).
// Other commands never pay for torch. Parameters, defaults and determinism: docs/trainers.md.
#pragma once

#include <nlohmann/json.hpp>

#include "slipway/core/status.h"
#include "slipway/model/model.h"
#include "slipway/train/trainer.h"

namespace slipway::train {

// Checks `model.params` without training (names, types, ranges); kInvalidArgument
// "model.params.<key>: ...". Needs no libtorch.
Status validate_mlp_params(const nlohmann::json& params, model::Task task);

// kFailedPrecondition when slipway was built without libtorch or the module cannot be loaded (the
// message says what to install or where it looked). Same data, params, seed and threads give
// bit-identical weights. result.details holds: library, torch_version, loss, params (resolved,
// defaults filled in), epochs_run, best_epoch, module (the path loaded).
Result<TrainResult> train_mlp(const TrainRequest& request, const TrainContext& context);

// OK when the MLP trainer can run here (built with libtorch and the module loads); otherwise the
// error train_mlp would return. Loads the module on first call.
Status mlp_trainer_available();

}  // namespace slipway::train
