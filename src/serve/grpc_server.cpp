// GrpcServer: inference.GRPCInferenceService on grpc++'s callback API (see grpc_server.h).
#include "slipway/serve/grpc_server.h"

#include <grpc/support/log.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/resource_quota.h>

#include <cstdlib>
#include <mutex>
#include <thread>

#include "detail/grpc_translate.h"
#include "kserve/grpc_predict_v2.grpc.pb.h"

namespace slipway::serve {

namespace {

grpc::Status to_grpc_status(const Status& status) {
  switch (protocol_error(status)) {
    case ProtocolError::kNone: return grpc::Status::OK;
    case ProtocolError::kInvalidArgument: return {grpc::StatusCode::INVALID_ARGUMENT, status.message()};
    case ProtocolError::kNotFound: return {grpc::StatusCode::NOT_FOUND, status.message()};
    case ProtocolError::kUnavailable: return {grpc::StatusCode::UNAVAILABLE, status.message()};
    case ProtocolError::kInternal: break;
  }
  return {grpc::StatusCode::INTERNAL, status.message()};
}

class InferenceGrpcService final : public inference::GRPCInferenceService::CallbackService {
 public:
  explicit InferenceGrpcService(std::shared_ptr<InferenceApi> api) : api_(std::move(api)) {}

  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* ctx, const inference::ServerLiveRequest*,
                                       inference::ServerLiveResponse* response) override {
    response->set_live(api_->live());
    return finish(ctx, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* ServerReady(grpc::CallbackServerContext* ctx, const inference::ServerReadyRequest*,
                                        inference::ServerReadyResponse* response) override {
    response->set_ready(api_->ready());
    return finish(ctx, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* ModelReady(grpc::CallbackServerContext* ctx, const inference::ModelReadyRequest* request,
                                       inference::ModelReadyResponse* response) override {
    auto ready = api_->model_ready(request->name(), request->version());
    if (!ready.ok()) return finish(ctx, to_grpc_status(ready.status()));
    response->set_ready(*ready);
    return finish(ctx, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* ServerMetadata(grpc::CallbackServerContext* ctx, const inference::ServerMetadataRequest*,
                                           inference::ServerMetadataResponse* response) override {
    serve::ServerMetadata meta = api_->server_metadata();
    response->set_name(meta.name);
    response->set_version(meta.version);
    for (const auto& e : meta.extensions) response->add_extensions(e);
    return finish(ctx, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* ctx,
                                          const inference::ModelMetadataRequest* request,
                                          inference::ModelMetadataResponse* response) override {
    auto meta = api_->model_metadata(request->name(), request->version());
    if (!meta.ok()) return finish(ctx, to_grpc_status(meta.status()));
    detail::to_grpc(*meta, *response);
    return finish(ctx, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* ctx, const inference::ModelInferRequest* request,
                                       inference::ModelInferResponse* response) override {
    auto* reactor = ctx->DefaultReactor();
    InferRequest core;
    core.received_at = std::chrono::steady_clock::now();
    Status parsed = detail::from_grpc(*request, core);
    if (!parsed.ok()) {
      reactor->Finish(to_grpc_status(parsed));
      return reactor;
    }
    const bool raw = request->raw_input_contents_size() > 0;
    // The response and reactor stay valid until Finish(), whichever thread calls it, even when the
    // client has gone away meanwhile.
    api_->infer(std::move(core), [reactor, response, raw](Result<InferResponse> result) {
      if (!result.ok()) {
        reactor->Finish(to_grpc_status(result.status()));
        return;
      }
      detail::to_grpc(std::move(result).value(), raw, *response);
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

 private:
  static grpc::ServerUnaryReactor* finish(grpc::CallbackServerContext* ctx, const grpc::Status& status) {
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(status);
    return reactor;
  }

  std::shared_ptr<InferenceApi> api_;
};

// Library code does not print: gRPC's own log lines (e.g. the bind failure start() reports as a
// Status) are dropped unless the user asks for them with GRPC_VERBOSITY.
void quiet_grpc_logging() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (std::getenv("GRPC_VERBOSITY") == nullptr) gpr_set_log_function([](gpr_log_func_args*) {});
  });
}

}  // namespace

struct GrpcServer::Impl {
  std::shared_ptr<InferenceApi> api;
  std::string host;
  uint16_t port = 0;
  std::unique_ptr<InferenceGrpcService> service;
  std::unique_ptr<grpc::Server> server;
  std::once_flag shutdown_once;
};

GrpcServer::GrpcServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GrpcServer::~GrpcServer() {
  if (impl_) {
    shutdown(std::chrono::seconds(5));
    impl_->server->Wait();
  }
}

Result<std::unique_ptr<GrpcServer>> GrpcServer::start(std::shared_ptr<InferenceApi> api, GrpcServerOptions options) {
  if (!api) return make_error(ErrorCode::kInvalidArgument, "gRPC server needs an inference service");
  quiet_grpc_logging();
  auto impl = std::make_unique<Impl>();
  impl->api = api;
  impl->host = options.host;
  impl->service = std::make_unique<InferenceGrpcService>(std::move(api));
  std::string address = options.host.find(':') != std::string::npos
                            ? fmt::format("[{}]:{}", options.host, options.port)
                            : fmt::format("{}:{}", options.host, options.port);
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &bound);
  builder.RegisterService(impl->service.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<size_t>(options.max_message_bytes, INT32_MAX)));
  builder.SetMaxSendMessageSize(-1);
  // gRPC turns SO_REUSEPORT on by default, which would let a second server bind a port in use.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  size_t threads = options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  grpc::ResourceQuota quota("slipway-grpc");
  // Handlers never block (predictions finish on the batch threads), so a few threads per core
  // beyond the pollers are enough; the quota stops gRPC from growing its pool without bound.
  quota.SetMaxThreads(static_cast<int>(threads * 2 + 2));
  builder.SetResourceQuota(quota);
  impl->server = builder.BuildAndStart();
  if (!impl->server || bound == 0) {
    return make_error(ErrorCode::kIoError, "cannot listen for gRPC on {} (is the port in use, or the address not local?)",
                      address);
  }
  impl->port = static_cast<uint16_t>(bound);
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(impl)));
}

const std::string& GrpcServer::host() const { return impl_->host; }
uint16_t GrpcServer::port() const { return impl_->port; }

void GrpcServer::shutdown(std::chrono::milliseconds grace) {
  std::call_once(impl_->shutdown_once, [&] { impl_->server->Shutdown(std::chrono::system_clock::now() + grace); });
}

void GrpcServer::wait() { impl_->server->Wait(); }

}  // namespace slipway::serve
