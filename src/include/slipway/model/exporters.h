// Exporters: ONNX (onnxruntime loads it and agrees with slipway) and dependency-free C source for
// edge devices (compiles with `cc -O2`, same outputs).
#pragma once

#include <string>

#include "slipway/core/status.h"
#include "slipway/model/model.h"

namespace slipway::model {

Result<std::string> export_onnx(const Model& model);  // serialized ModelProto bytes

struct CExportOptions {
  std::string prefix = "slipway_model";  // symbol prefix: <prefix>_predict, <prefix>_n_features, ...
};
// One self-contained .c file (plus the header text it documents inline): see docs/model-format.md.
Result<std::string> export_c_source(const Model& model, const CExportOptions& options = {});

}  // namespace slipway::model
