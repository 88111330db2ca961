// The protocol-independent inference core behind slipway's KServe Open Inference Protocol v2 front
// ends (REST in rest.h, gRPC in grpc*.h). Both adapters translate their wire format into the
// InferRequest below, call InferenceService, and translate the InferResponse or Status back, so
// validation, batching, metrics and hot swaps behave the same whichever protocol a client speaks.
//
// Tensor mapping of a slipway model (model.h) — what model_metadata() reports:
//   inputs  — one tensor per model input, named as the input, shape [-1] or [-1, 1]:
//               numeric input: FP32, FP64, INT32 or INT64 (also INT8/16, UINT8..64, BOOL accepted);
//                 NaN means missing (the model's impute step or the trees' missing branch handles it);
//                 +-Inf is refused (kInvalidArgument naming the input)
//               categorical input: BYTES (the category as UTF-8; an empty string is missing)
//             or, for a model whose inputs are all numeric, ONE tensor named kPackedInputName
//             ("input__0") of shape [-1, n_inputs], FP32 or FP64, columns in model-input order.
//   outputs — one tensor per model.output_names entry, FP32, shape [batch] (e.g. "probability"),
//             plus kPackedOutputName ("output__0") of shape [batch, n_outputs] when asked for by name.
//             With no `outputs` in the request every per-name output is returned.
//
// Errors (Status codes; adapters map them with protocol_error() so both answer alike):
//   kInvalidArgument    -> 400 / INVALID_ARGUMENT  bad input; the message names the input and problem
//   kNotFound           -> 404 / NOT_FOUND         unknown model or version
//   kFailedPrecondition -> 503 / UNAVAILABLE       queue full, request timed out, model not ready,
//                                                  server shutting down
//   anything else       -> 500 / INTERNAL
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "slipway/core/status.h"

namespace slipway::serve {

// ---- Tensors ----

// The KServe v2 tensor data types (spelled as in the spec: "BOOL", "UINT8", ..., "FP32", "BYTES").
enum class DataType : uint8_t {
  kBool, kUint8, kUint16, kUint32, kUint64, kInt8, kInt16, kInt32, kInt64, kFp16, kFp32, kFp64, kBytes,
};
const char* datatype_name(DataType type);
std::optional<DataType> parse_datatype(std::string_view name);
// Bytes per element of a fixed-size type; 0 for BYTES.
size_t datatype_size(DataType type);

inline constexpr const char* kPackedInputName = "input__0";
inline constexpr const char* kPackedOutputName = "output__0";

// The largest element count one tensor may declare (shape product); more is kInvalidArgument before
// anything is allocated, so a "huge shape" costs the server nothing.
inline constexpr int64_t kMaxTensorElements = int64_t{1} << 26;

// One named tensor. Fixed-size types keep their elements little-endian and packed in `raw`
// (element_count() * datatype_size() bytes, row-major), exactly as KServe's binary extension and
// gRPC's raw_input_contents carry them. BYTES tensors keep one string per element in `strings`.
struct Tensor {
  std::string name;
  DataType datatype = DataType::kFp32;
  std::vector<int64_t> shape;
  std::string raw;
  std::vector<std::string> strings;

  // Product of the shape; -1 when a dimension is negative or the product exceeds kMaxTensorElements.
  int64_t element_count() const;

  // Element i of a fixed-size tensor as a double (FP16 converted, BOOL as 0/1). No bounds check.
  double number_at(size_t i) const;
  template <typename T>
  T at(size_t i) const {
    T v;
    std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));
    return v;
  }
};

// A request or response parameter (KServe: bool, int64, double or string).
using ParameterValue = std::variant<bool, int64_t, double, std::string>;
struct Parameter {
  std::string name;
  ParameterValue value;
};
using Parameters = std::vector<Parameter>;
const ParameterValue* find_parameter(const Parameters& parameters, std::string_view name);

// Appends `tensors` as a KServe v2 JSON array ([{"name", "datatype", "shape", "data"}], data flat,
// non-finite numbers as null) — the form the prediction log keeps inputs and outputs in.
void append_tensors_json(const std::vector<Tensor>& tensors, std::string& out);

struct RequestedOutput {
  std::string name;
  Parameters parameters;  // e.g. REST's "binary_data": true (the adapter acts on it)
};

struct InferRequest {
  std::string id;          // echoed in the response
  std::string model;       // the served name
  std::string version;     // empty: the version being served now; else must equal it
  std::vector<Tensor> inputs;
  std::vector<RequestedOutput> outputs;  // empty: every per-name output
  Parameters parameters;
  // When the front end received the request (request-duration metrics start here). Unset: at infer().
  std::chrono::steady_clock::time_point received_at{};
  // Overrides the server's --timeout-ms for this request when > 0 (KServe "timeout" parameter, µs).
  std::chrono::microseconds timeout{0};
};

struct InferResponse {
  std::string id;
  std::string model_name;
  std::string model_version;
  std::vector<Tensor> outputs;  // FP32, in the order requested (or model.output_names order)
  Parameters parameters;
};

// ---- Metadata ----

struct TensorMetadata {
  std::string name;
  DataType datatype = DataType::kFp32;
  std::vector<int64_t> shape;  // -1 for the batch dimension
};

struct ModelMetadata {
  std::string name;
  std::vector<std::string> versions;  // the version served now (one entry)
  std::string platform;               // "slipway_<body kind>", e.g. "slipway_tree_ensemble"
  std::vector<TensorMetadata> inputs;
  std::vector<TensorMetadata> outputs;
};

struct ServerMetadata {
  std::string name = "slipway";
  std::string version;
  std::vector<std::string> extensions;  // e.g. "binary_tensor_data", "statistics"? (what is supported)
};

// ---- Error mapping, in one place for every front end ----

enum class ProtocolError { kNone, kInvalidArgument, kNotFound, kUnavailable, kInternal };
ProtocolError protocol_error(const Status& status);
int http_status(ProtocolError error);  // 200, 400, 404, 503, 500

// ---- The service ----

// A move-only callable run exactly once with the outcome of infer(), on a batching thread or (fast
// path, or an error found before queueing) on the caller's thread before infer() returns. It must not
// block: answer the client and return.
class InferCallback {
 public:
  InferCallback() = default;
  template <typename F>
  InferCallback(F f) : impl_(std::make_unique<Impl<F>>(std::move(f))) {}  // NOLINT(google-explicit-constructor)
  InferCallback(InferCallback&&) noexcept = default;
  InferCallback& operator=(InferCallback&&) noexcept = default;
  explicit operator bool() const { return impl_ != nullptr; }
  void operator()(Result<InferResponse> result) {
    auto impl = std::move(impl_);
    impl->call(std::move(result));
  }

 private:
  struct Base {
    virtual ~Base() = default;
    virtual void call(Result<InferResponse> result) = 0;
  };
  template <typename F>
  struct Impl final : Base {
    explicit Impl(F f) : f(std::move(f)) {}
    void call(Result<InferResponse> result) override { f(std::move(result)); }
    F f;
  };
  std::unique_ptr<Base> impl_;
};

// Per-model serving settings (`slipway serve` flags, deploy.yaml). Triton's dynamic batcher:
// requests arriving within max_queue_delay_us of the first queued one are merged up to
// max_batch_size rows and predicted together; with an empty queue a request is predicted at once on
// the caller's thread (no hand-off: the lowest latency).
struct BatchingOptions {
  size_t max_batch_size = 64;            // rows per predict() call; also the largest request accepted
  int64_t max_queue_delay_us = 100;      // 0: never wait for more requests
  size_t queue_limit = 1024;             // queued requests beyond which infer() answers "queue full"
  std::chrono::milliseconds timeout{0};  // per request, from arrival to prediction; 0: none
  size_t batch_threads = 1;              // threads running queued batches for this model
  bool inline_fast_path = true;          // false: every request goes through the queue (tests)
};

class InferenceService;  // defined in service.h; adapters only need the interface below

class InferenceApi {
 public:
  virtual ~InferenceApi() = default;

  virtual bool live() const = 0;
  virtual bool ready() const = 0;  // every model has a version loaded, and not shutting down
  // kNotFound for an unknown model or a version other than the served one; ok(false) while loading.
  virtual Result<bool> model_ready(std::string_view name, std::string_view version) const = 0;
  virtual ServerMetadata server_metadata() const = 0;
  virtual Result<ModelMetadata> model_metadata(std::string_view name, std::string_view version) const = 0;
  virtual std::vector<std::string> model_names() const = 0;

  // Validates, queues or runs, and calls `done` exactly once (see InferCallback).
  virtual void infer(InferRequest request, InferCallback done) = 0;
};

}  // namespace slipway::serve
