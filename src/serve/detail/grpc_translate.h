// Translation between the KServe v2 gRPC messages (generated from proto/kserve/grpc_predict_v2.proto)
// and the inference core's types. Private to src/serve: only grpc_*.cpp and their tests include it.
#pragma once

#include "kserve/grpc_predict_v2.pb.h"
#include "slipway/core/status.h"
#include "slipway/serve/inference.h"

namespace slipway::serve::detail {

// kInvalidArgument names the input and the problem (unknown datatype, element count that does not
// match the shape, contents and raw_input_contents mixed, ...).
Status from_grpc(const inference::ModelInferRequest& in, InferRequest& out);
// `raw`: put the elements in raw_output_contents (else typed contents; FP16 always goes raw).
void to_grpc(InferResponse&& in, bool raw, inference::ModelInferResponse& out);
void to_grpc(const ModelMetadata& in, inference::ModelMetadataResponse& out);

}  // namespace slipway::serve::detail
