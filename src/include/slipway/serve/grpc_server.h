// The KServe Open Inference Protocol v2 over gRPC (service inference.GRPCInferenceService, defined in
// proto/kserve/grpc_predict_v2.proto): ServerLive, ServerReady, ModelReady, ServerMetadata,
// ModelMetadata and ModelInfer, translated to and from the protocol-independent core (inference.h).
// No gRPC or protobuf type appears here; they stay inside src/serve/grpc_*.cpp.
//
// ModelInfer runs on grpc++'s callback API: the handler translates the request, hands it to
// InferenceApi::infer() and returns; the reply is sent from the InferCallback on whichever thread
// finishes the prediction, so a request waiting in a batch holds no thread. A client that cancels or
// vanishes costs nothing beyond the prediction already queued.
//
// Inputs arrive either as typed contents (InferTensorContents) or as raw_input_contents. Outputs go
// back the same way the inputs came: raw_output_contents for a raw request (what tritonclient
// sends), typed contents otherwise. Errors map through protocol_error(): kInvalidArgument ->
// INVALID_ARGUMENT, kNotFound -> NOT_FOUND, queue full / timed out / not ready / shutting down ->
// UNAVAILABLE, anything else -> INTERNAL, each with the core's message.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "slipway/core/status.h"
#include "slipway/serve/inference.h"

namespace slipway::serve {

struct GrpcServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8081;  // 0 picks a free port (see GrpcServer::port())
  // Threads polling the sockets and running handlers; 0 = one per core.
  size_t threads = 0;
  // Largest request accepted; a larger one is refused with RESOURCE_EXHAUSTED before it is read.
  size_t max_message_bytes = size_t{64} << 20;
};

class GrpcServer {
 public:
  // Binds and starts serving `api` (which must outlive the server). kIoError when the address
  // cannot be bound (in use, not local).
  static Result<std::unique_ptr<GrpcServer>> start(std::shared_ptr<InferenceApi> api, GrpcServerOptions options);
  ~GrpcServer();  // shutdown()
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  const std::string& host() const;
  uint16_t port() const;  // the bound port
  // Stops accepting calls, lets calls in flight finish for up to `grace`, then cancels the rest.
  // Idempotent.
  void shutdown(std::chrono::milliseconds grace = std::chrono::seconds(30));
  // Blocks until shutdown() has completed (from another thread or a signal handler's thread).
  void wait();

  struct Impl;

 private:
  explicit GrpcServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace slipway::serve
