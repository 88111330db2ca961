// GrpcServer against a fake InferenceApi, through a real loopback channel: translation of typed and
// raw contents, raw-in/raw-out, and the mapping of the core's error codes to gRPC status codes.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "kserve/grpc_predict_v2.grpc.pb.h"
#include "slipway/serve/grpc_server.h"

namespace slipway::serve {
namespace {

// Echoes every input back as an output of the same name and type; the request id picks an error.
class EchoApi final : public InferenceApi {
 public:
  bool live() const override { return true; }
  bool ready() const override { return true; }
  Result<bool> model_ready(std::string_view name, std::string_view) const override {
    if (name != "echo") return make_error(ErrorCode::kNotFound, "unknown model '{}'", name);
    return true;
  }
  ServerMetadata server_metadata() const override {
    ServerMetadata m;
    m.version = "9.9";
    m.extensions = {"binary_tensor_data"};
    return m;
  }
  Result<ModelMetadata> model_metadata(std::string_view name, std::string_view) const override {
    if (name != "echo") return make_error(ErrorCode::kNotFound, "unknown model '{}'", name);
    ModelMetadata m;
    m.name = "echo";
    m.versions = {"3"};
    m.platform = "slipway_test";
    m.inputs = {{"x", DataType::kFp32, {-1, 2}}};
    m.outputs = {{"y", DataType::kFp64, {-1}}};
    return m;
  }
  std::vector<std::string> model_names() const override { return {"echo"}; }

  void infer(InferRequest request, InferCallback done) override {
    if (request.id == "queue-full") {
      done(make_error(ErrorCode::kFailedPrecondition, "queue of model 'echo' is full (1024 requests)"));
      return;
    }
    if (request.id == "bad") {
      done(make_error(ErrorCode::kInvalidArgument, "input 'x' is bad"));
      return;
    }
    if (request.id == "boom") {
      done(make_error(ErrorCode::kInternal, "boom"));
      return;
    }
    last_timeout = request.timeout;
    InferResponse response;
    response.id = request.id;
    response.model_name = request.model;
    response.model_version = "3";
    response.parameters = request.parameters;
    for (auto& t : request.inputs) response.outputs.push_back(std::move(t));
    if (request.id == "later") {
      // Answer from another thread after the handler returned, as a batch thread does.
      std::thread([r = std::move(response), d = std::move(done)]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        d(std::move(r));
      }).detach();
      return;
    }
    done(std::move(response));
  }

  std::chrono::microseconds last_timeout{0};
};

class GrpcServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_ = std::make_shared<EchoApi>();
    GrpcServerOptions options;
    options.port = 0;
    options.threads = 2;
    options.max_message_bytes = 1 << 20;
    auto server = GrpcServer::start(api_, options);
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(server).value();
    channel_ = grpc::CreateChannel(fmt::format("127.0.0.1:{}", server_->port()), grpc::InsecureChannelCredentials());
    stub_ = inference::GRPCInferenceService::NewStub(channel_);
  }

  grpc::Status infer(const inference::ModelInferRequest& request, inference::ModelInferResponse& response) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return stub_->ModelInfer(&ctx, request, &response);
  }

  std::shared_ptr<EchoApi> api_;
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

TEST_F(GrpcServerTest, HealthAndMetadata) {
  {
    grpc::ClientContext ctx;
    inference::ServerLiveResponse r;
    ASSERT_TRUE(stub_->ServerLive(&ctx, {}, &r).ok());
    EXPECT_TRUE(r.live());
  }
  {
    grpc::ClientContext ctx;
    inference::ServerMetadataResponse r;
    ASSERT_TRUE(stub_->ServerMetadata(&ctx, {}, &r).ok());
    EXPECT_EQ(r.name(), "slipway");
    EXPECT_EQ(r.version(), "9.9");
    ASSERT_EQ(r.extensions_size(), 1);
  }
  {
    grpc::ClientContext ctx;
    inference::ModelMetadataRequest q;
    q.set_name("echo");
    inference::ModelMetadataResponse r;
    ASSERT_TRUE(stub_->ModelMetadata(&ctx, q, &r).ok());
    EXPECT_EQ(r.platform(), "slipway_test");
    ASSERT_EQ(r.inputs_size(), 1);
    EXPECT_EQ(r.inputs(0).datatype(), "FP32");
    EXPECT_EQ(r.inputs(0).shape(0), -1);
    EXPECT_EQ(r.inputs(0).shape(1), 2);
    EXPECT_EQ(r.outputs(0).datatype(), "FP64");
  }
  {
    grpc::ClientContext ctx;
    inference::ModelReadyRequest q;
    q.set_name("other");
    inference::ModelReadyResponse r;
    grpc::Status st = stub_->ModelReady(&ctx, q, &r);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(st.error_message(), "unknown model 'other'");
  }
}

TEST_F(GrpcServerTest, TypedContentsComeBackTyped) {
  inference::ModelInferRequest q;
  q.set_model_name("echo");
  q.set_id("t1");
  (*q.mutable_parameters())["timeout"].set_int64_param(2500);
  auto* x = q.add_inputs();
  x->set_name("x");
  x->set_datatype("FP32");
  x->add_shape(2);
  x->add_shape(2);
  for (float v : {1.5f, -2.0f, 3.25f, 0.0f}) x->mutable_contents()->add_fp32_contents(v);
  auto* s = q.add_inputs();
  s->set_name("s");
  s->set_datatype("BYTES");
  s->add_shape(2);
  s->mutable_contents()->add_bytes_contents("UA");
  s->mutable_contents()->add_bytes_contents("");
  auto* b = q.add_inputs();
  b->set_name("i16");
  b->set_datatype("INT16");
  b->add_shape(2);
  b->mutable_contents()->add_int_contents(-300);
  b->mutable_contents()->add_int_contents(7);

  inference::ModelInferResponse r;
  grpc::Status st = infer(q, r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(api_->last_timeout.count(), 2500);
  EXPECT_EQ(r.id(), "t1");
  EXPECT_EQ(r.model_version(), "3");
  EXPECT_EQ(r.raw_output_contents_size(), 0);
  ASSERT_EQ(r.outputs_size(), 3);
  EXPECT_EQ(r.outputs(0).datatype(), "FP32");
  ASSERT_EQ(r.outputs(0).contents().fp32_contents_size(), 4);
  EXPECT_EQ(r.outputs(0).contents().fp32_contents(2), 3.25f);
  EXPECT_EQ(r.outputs(1).contents().bytes_contents(0), "UA");
  EXPECT_EQ(r.outputs(1).contents().bytes_contents(1), "");
  EXPECT_EQ(r.outputs(2).contents().int_contents(0), -300);
  EXPECT_EQ(r.parameters().at("timeout").int64_param(), 2500);
}

TEST_F(GrpcServerTest, RawContentsComeBackRaw) {
  inference::ModelInferRequest q;
  q.set_model_name("echo");
  q.set_id("later");
  auto* x = q.add_inputs();
  x->set_name("x");
  x->set_datatype("FP64");
  x->add_shape(3);
  double values[3] = {1, 2, 3};
  q.add_raw_input_contents(std::string(reinterpret_cast<const char*>(values), sizeof values));
  auto* s = q.add_inputs();
  s->set_name("s");
  s->set_datatype("BYTES");
  s->add_shape(2);
  std::string bytes("\x02\0\0\0UA\x00\0\0\0", 10);
  q.add_raw_input_contents(bytes);

  inference::ModelInferResponse r;
  grpc::Status st = infer(q, r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(r.raw_output_contents_size(), 2);
  EXPECT_EQ(r.raw_output_contents(0), std::string(reinterpret_cast<const char*>(values), sizeof values));
  EXPECT_EQ(r.raw_output_contents(1), bytes);
  EXPECT_FALSE(r.outputs(0).has_contents());
}

TEST_F(GrpcServerTest, CoreErrorsMapToGrpcCodes) {
  struct Case {
    const char* id;
    grpc::StatusCode code;
    const char* message;
  };
  for (const Case& c : {Case{"queue-full", grpc::StatusCode::UNAVAILABLE, "queue of model 'echo' is full (1024 requests)"},
                        Case{"bad", grpc::StatusCode::INVALID_ARGUMENT, "input 'x' is bad"},
                        Case{"boom", grpc::StatusCode::INTERNAL, "boom"}}) {
    inference::ModelInferRequest q;
    q.set_model_name("echo");
    q.set_id(c.id);
    inference::ModelInferResponse r;
    grpc::Status st = infer(q, r);
    EXPECT_EQ(st.error_code(), c.code) << c.id;
    EXPECT_EQ(st.error_message(), c.message);
  }
}

TEST_F(GrpcServerTest, TranslationErrorsNameTheInput) {
  inference::ModelInferRequest q;
  q.set_model_name("echo");
  auto* x = q.add_inputs();
  x->set_name("x");
  x->set_datatype("UINT8");
  x->add_shape(2);
  x->mutable_contents()->add_uint_contents(1);
  x->mutable_contents()->add_uint_contents(256);
  inference::ModelInferResponse r;
  grpc::Status st = infer(q, r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "input 'x' value 1 (256) is out of range for UINT8");
}

TEST_F(GrpcServerTest, SecondServerOnTheSamePortIsRefused) {
  GrpcServerOptions options;
  options.port = server_->port();
  auto second = GrpcServer::start(api_, options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), ErrorCode::kIoError);
  EXPECT_EQ(second.status().message(),
            fmt::format("cannot listen for gRPC on 127.0.0.1:{} (is the port in use, or the address not local?)",
                        server_->port()));
}

}  // namespace
}  // namespace slipway::serve
