// InferenceService: signature validation, the inline path, dynamic batching, queue limit, timeouts,
// hot swap of a bundle file, metrics text.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <future>
#include <thread>

#include "slipway/serve/service.h"

namespace slipway::serve {
namespace {

const std::string kBundles = std::string(SLIPWAY_TEST_DATA) + "/models/bundles/";

Tensor fp64(std::string name, std::vector<double> values, std::vector<int64_t> shape = {}) {
  Tensor t;
  t.name = std::move(name);
  t.datatype = DataType::kFp64;
  t.shape = shape.empty() ? std::vector<int64_t>{static_cast<int64_t>(values.size())} : shape;
  t.raw.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(double));
  return t;
}

Tensor bytes(std::string name, std::vector<std::string> values) {
  Tensor t;
  t.name = std::move(name);
  t.datatype = DataType::kBytes;
  t.shape = {static_cast<int64_t>(values.size())};
  t.strings = std::move(values);
  return t;
}

std::shared_ptr<InferenceService> serve_file(const std::string& file, BatchingOptions batching = {},
                                             std::string name = "m") {
  std::vector<ServedModelSpec> specs;
  specs.push_back({std::move(name), bundle_file_source(file), batching});
  auto s = InferenceService::create(std::move(specs), {});
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? *s : nullptr;
}

InferRequest linear_request(size_t rows = 1) {
  InferRequest r;
  r.model = "m";
  r.id = "req";
  std::vector<double> delay(rows, 10), distance(rows, 500);
  std::vector<std::string> carrier(rows, "UA");
  r.inputs = {fp64("dep_delay", delay), fp64("distance", distance), bytes("carrier", carrier)};
  return r;
}

std::future<Result<InferResponse>> infer_async(InferenceService& s, InferRequest r) {
  auto promise = std::make_shared<std::promise<Result<InferResponse>>>();
  auto future = promise->get_future();
  s.infer(std::move(r), [promise](Result<InferResponse> result) { promise->set_value(std::move(result)); });
  return future;
}

Result<InferResponse> infer(InferenceService& s, InferRequest r) { return infer_async(s, std::move(r)).get(); }

std::string error_of(InferenceService& s, InferRequest r) {
  auto result = infer(s, std::move(r));
  EXPECT_FALSE(result.ok());
  return result.ok() ? "" : result.status().message();
}

TEST(InferenceService, MetadataAndPrediction) {
  auto s = serve_file(kBundles + "linear_v1.slw");
  ASSERT_TRUE(s);
  auto md = s->model_metadata("m", "");
  ASSERT_TRUE(md.ok());
  EXPECT_EQ(md->versions, std::vector<std::string>{"1"});
  EXPECT_EQ(md->platform, "slipway_linear");
  ASSERT_EQ(md->inputs.size(), 3u);
  EXPECT_EQ(md->inputs[2].name, "carrier");
  EXPECT_EQ(md->inputs[2].datatype, DataType::kBytes);
  EXPECT_EQ(md->inputs[0].shape, std::vector<int64_t>{-1});
  EXPECT_EQ(s->model_metadata("nope", "").status().message(), "unknown model 'nope'");
  EXPECT_EQ(s->model_metadata("m", "9").status().message(), "model 'm' has no version '9' (serving version 1)");
  EXPECT_EQ(s->model_metadata("m", "9").status().code(), ErrorCode::kNotFound);

  auto r = infer(*s, linear_request(3));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->id, "req");
  EXPECT_EQ(r->model_version, "1");
  ASSERT_EQ(r->outputs.size(), 1u);
  EXPECT_EQ(r->outputs[0].name, "probability");
  EXPECT_EQ(r->outputs[0].shape, std::vector<int64_t>{3});
  float p = r->outputs[0].at<float>(0);
  EXPECT_GT(p, 0.0f);
  EXPECT_LT(p, 1.0f);
  EXPECT_EQ(r->outputs[0].at<float>(2), p);
}

TEST(InferenceService, InputsAreCheckedAgainstTheSignature) {
  auto s = serve_file(kBundles + "linear_v1.slw");
  ASSERT_TRUE(s);
  auto with = [](auto edit) {
    InferRequest r = linear_request(2);
    edit(r);
    return r;
  };
  EXPECT_EQ(error_of(*s, with([](InferRequest& r) { r.inputs.pop_back(); })),
            "missing input 'carrier': model 'm' takes dep_delay, distance, carrier");
  EXPECT_EQ(error_of(*s, with([](InferRequest& r) { r.inputs.push_back(fp64("speed", {1, 2})); })),
            "unknown input 'speed': model 'm' takes dep_delay, distance, carrier");
  EXPECT_EQ(error_of(*s, with([](InferRequest& r) { r.inputs.push_back(fp64("distance", {1, 2})); })),
            "input 'distance' is given twice");
  EXPECT_EQ(error_of(*s, with([](InferRequest& r) { r.inputs[2] = fp64("carrier", {1, 2}); })),
            "input 'carrier' has datatype FP64, expected BYTES (a categorical input)");
  EXPECT_EQ(error_of(*s, with([](InferRequest& r) { r.inputs[0] = bytes("dep_delay", {"a", "b"}); })),
            "input 'dep_delay' has datatype BYTES, expected a number type (FP32, FP64, INT32, INT64, ...)");
  EXPECT_EQ(error_of(*s, with([](InferRequest& r) { r.inputs[0] = fp64("dep_delay", {1, 2}, {1, 2}); })),
            "input 'dep_delay' has shape [1, 2], expected [-1] or [-1, 1]");
  EXPECT_EQ(error_of(*s, with([](InferRequest& r) { r.inputs[1] = fp64("distance", {1, 2, 3}); })),
            "input 'distance' has 3 rows but input 'dep_delay' has 2");
  EXPECT_EQ(error_of(*s, with([](InferRequest& r) { r.inputs[0].raw.resize(12); })),
            "input 'dep_delay' has 12 bytes of data, shape [2] of FP64 needs 16");
  EXPECT_EQ(error_of(*s, with([](InferRequest& r) { r.inputs[1] = fp64("distance", {1, INFINITY}); })),
            "input 'distance' row 1 is infinite; send NaN (or null in JSON) for a missing value");
  EXPECT_EQ(error_of(*s, with([](InferRequest& r) { r.outputs.push_back({"prob", {}}); })),
            "unknown output 'prob': model 'm' has probability, output__0");
  EXPECT_EQ(error_of(*s, with([](InferRequest& r) { r.model = "x"; })), "unknown model 'x'");
  // NaN is a missing value, not an error (the model imputes it).
  auto nan_ok = infer(*s, with([](InferRequest& r) { r.inputs[0] = fp64("dep_delay", {NAN, 1}); }));
  EXPECT_TRUE(nan_ok.ok()) << nan_ok.status().message();
  std::string metrics = s->render_metrics();
  EXPECT_NE(metrics.find("nv_inference_request_failure_total{model=\"m\",version=\"1\"} 10\n"), std::string::npos)
      << metrics;
}

TEST(InferenceService, PackedInputForAllNumericModels) {
  auto s = serve_file(kBundles + "mlp_v1.slw");
  ASSERT_TRUE(s);
  InferRequest packed;
  packed.model = "m";
  packed.inputs = {fp64(kPackedInputName, {0.5, -1, 2, 3}, {2, 2})};
  packed.outputs = {{kPackedOutputName, {}}};
  auto a = infer(*s, packed);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->outputs[0].shape, (std::vector<int64_t>{2, 3}));
  InferRequest named;
  named.model = "m";
  named.inputs = {fp64("a", {0.5, 2}), fp64("b", {-1, 3})};
  auto b = infer(*s, named);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->outputs.size(), 3u);
  EXPECT_EQ(b->outputs[1].name, "prob_versicolor");
  EXPECT_EQ(b->outputs[1].at<float>(1), a->outputs[0].at<float>(4));  // row 1, column 1
  packed.inputs = {fp64(kPackedInputName, {0.5, -1, 2}, {1, 3})};
  EXPECT_EQ(error_of(*s, packed), "input 'input__0' has shape [1, 3], expected [-1, 2] (one column per input)");
}

TEST(InferenceService, QueuedRequestsAreBatchedUpToMaxBatchSize) {
  BatchingOptions batching;
  batching.inline_fast_path = false;
  batching.max_batch_size = 4;
  batching.max_queue_delay_us = 10'000'000;  // only a full batch (or shutdown) starts it
  auto s = serve_file(kBundles + "linear_v1.slw", batching);
  ASSERT_TRUE(s);
  std::vector<std::future<Result<InferResponse>>> futures;
  futures.push_back(infer_async(*s, linear_request(1)));
  futures.push_back(infer_async(*s, linear_request(2)));
  futures.push_back(infer_async(*s, linear_request(1)));
  for (auto& f : futures) {
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.status().message();
  }
  EXPECT_EQ(futures.size(), 3u);
  std::string metrics = s->render_metrics();
  EXPECT_NE(metrics.find("nv_inference_exec_count_total{model=\"m\",version=\"1\"} 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("nv_inference_count_total{model=\"m\",version=\"1\"} 4\n"), std::string::npos);
  EXPECT_NE(metrics.find("nv_inference_batch_size_bucket{model=\"m\",version=\"1\",le=\"2\"} 0\n"), std::string::npos);
  EXPECT_NE(metrics.find("nv_inference_batch_size_bucket{model=\"m\",version=\"1\",le=\"4\"} 1\n"), std::string::npos);
}

TEST(InferenceService, QueueLimitTimeoutAndShutdownDrain) {
  BatchingOptions batching;
  batching.inline_fast_path = false;
  batching.max_batch_size = 100;
  batching.max_queue_delay_us = 10'000'000;
  batching.queue_limit = 2;
  auto s = serve_file(kBundles + "linear_v1.slw", batching);
  ASSERT_TRUE(s);
  auto first = infer_async(*s, linear_request());
  auto second = infer_async(*s, linear_request());
  auto full = infer(*s, linear_request());
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(full.status().message(), "queue full: model 'm' already has 2 requests waiting (--queue-limit)");
  EXPECT_EQ(protocol_error(full.status()), ProtocolError::kUnavailable);
  s->shutdown();  // answers the queued ones
  EXPECT_TRUE(first.get().ok());
  EXPECT_TRUE(second.get().ok());
  EXPECT_EQ(infer(*s, linear_request()).status().message(), "server is shutting down");

  batching.queue_limit = 10;
  batching.max_queue_delay_us = 50'000;
  batching.timeout = std::chrono::milliseconds(1);
  auto t = serve_file(kBundles + "linear_v1.slw", batching);
  ASSERT_TRUE(t);
  EXPECT_EQ(infer(*t, linear_request()).status().message(),
            "request timed out after 1 ms waiting in the queue of model 'm'");
}

TEST(InferenceService, HotSwapOfABundleFileAndAFailedVersion) {
  auto dir = std::filesystem::temp_directory_path() / ("slipway_serve_swap_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto file = dir / "model.slw";
  std::filesystem::copy_file(kBundles + "linear_v1.slw", file, std::filesystem::copy_options::overwrite_existing);
  std::vector<std::string> logged;
  std::mutex log_mutex;
  std::vector<ServedModelSpec> specs;
  specs.push_back({"m", bundle_file_source(file.string()), {}});
  ServiceOptions options;
  options.poll_interval = std::chrono::hours(1);  // the test polls
  options.log = [&](std::string_view m) {
    std::lock_guard lock(log_mutex);
    logged.emplace_back(m);
  };
  auto s = InferenceService::create(std::move(specs), options);
  ASSERT_TRUE(s.ok());
  // A broken file moved over it: the old version keeps serving, the log says why.
  auto broken = dir / "broken.slw";
  { std::ofstream(broken) << "not a bundle"; }
  std::filesystem::rename(broken, file);
  (*s)->poll_sources_now();
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0].rfind("model 'm': version 2 failed to load, still serving version 1: ", 0), 0u) << logged[0];
  EXPECT_EQ(infer(**s, linear_request())->model_version, "1");
  // A good one: swapped.
  auto next = dir / "next.slw";
  std::filesystem::copy_file(kBundles + "linear_l1_v2.slw", next);
  std::filesystem::rename(next, file);
  (*s)->poll_sources_now();
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_EQ(logged[1], "model 'm': now serving version 3 (was 1)");
  EXPECT_EQ(infer(**s, linear_request())->model_version, "3");
  std::string metrics = (*s)->render_metrics();
  EXPECT_NE(metrics.find("nv_inference_request_success_total{model=\"m\",version=\"1\"} 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("nv_inference_request_success_total{model=\"m\",version=\"3\"} 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("nv_model_serving_version{model=\"m\",version=\"3\"} 1\n"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace slipway::serve

namespace slipway::serve {
namespace {

struct LoggedService {
  std::filesystem::path dir;
  std::shared_ptr<PredictionLog> log;
  std::shared_ptr<InferenceService> service;
};

LoggedService serve_logged(const std::string& name, BatchingOptions batching, bool log_inputs = true,
                           PredictionLogOptions log_options = {}) {
  LoggedService out;
  out.dir = std::filesystem::temp_directory_path() / ("slipway-svc-log-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(out.dir);
  auto log = PredictionLog::open(out.dir, log_options);
  EXPECT_TRUE(log.ok()) << log.status().message();
  out.log = std::move(log).value();
  std::vector<ServedModelSpec> specs;
  specs.push_back({"m", bundle_file_source(kBundles + "linear_v1.slw"), batching});
  ServiceOptions options;
  options.prediction_log = out.log;
  options.log_inputs = log_inputs;
  auto s = InferenceService::create(std::move(specs), options);
  EXPECT_TRUE(s.ok()) << s.status().message();
  out.service = *s;
  return out;
}

std::vector<PredictionRecord> read_all(const std::filesystem::path& dir) {
  std::vector<PredictionRecord> records;
  auto reader = PredictionLogReader::open(dir, "m");
  EXPECT_TRUE(reader.ok()) << reader.status().message();
  PredictionRecord r;
  while (reader.ok()) {
    auto more = reader->next(r);
    EXPECT_TRUE(more.ok());
    if (!more.ok() || !*more) break;
    records.push_back(r);
  }
  return records;
}

// Every answered request is logged, inline or batched: the id (generated when the client sent
// none, and echoed), arrival time, version, inputs and outputs as KServe v2 JSON, parameters as tags.
TEST(InferenceServiceLog, EveryPredictionIsLoggedWithItsIdInputsOutputsAndTags) {
  for (bool inline_path : {true, false}) {
    BatchingOptions batching;
    batching.inline_fast_path = inline_path;
    batching.max_queue_delay_us = 0;
    auto served = serve_logged(inline_path ? "inline" : "queued", batching);
    ASSERT_TRUE(served.service);
    auto with_id = linear_request(2);
    with_id.parameters.push_back({"segment", std::string("east")});
    with_id.parameters.push_back({"priority", int64_t{3}});
    auto r1 = infer(*served.service, std::move(with_id));
    ASSERT_TRUE(r1.ok()) << r1.status().message();
    auto no_id = linear_request(1);
    no_id.id.clear();
    auto r2 = infer(*served.service, std::move(no_id));
    ASSERT_TRUE(r2.ok());
    ASSERT_FALSE(r2->id.empty());  // generated and echoed
    EXPECT_NE(r2->id.find('-'), std::string::npos);
    auto bad = linear_request(1);
    bad.inputs.pop_back();  // missing input: a failed request is not logged
    EXPECT_FALSE(infer(*served.service, std::move(bad)).ok());
    served.service->shutdown();
    served.log->flush();
    auto records = read_all(served.dir);
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].request_id, "req");
    EXPECT_EQ(records[0].model, "m");
    EXPECT_EQ(records[0].version, 1);
    EXPECT_GT(records[0].time_us, 1'700'000'000'000'000);
    EXPECT_GE(records[0].latency_us, 0);
    EXPECT_TRUE(records[0].inputs_json.empty());  // kept as tensors (raw bytes), not as text
    EXPECT_EQ(records[0].inputs.size(), 3u);
    EXPECT_EQ(records[0].inputs_as_json(),
              R"([{"name":"dep_delay","datatype":"FP64","shape":[2],"data":[10,10]},)"
              R"({"name":"distance","datatype":"FP64","shape":[2],"data":[500,500]},)"
              R"({"name":"carrier","datatype":"BYTES","shape":[2],"data":["UA","UA"]}])");
    EXPECT_EQ(records[0].outputs_as_json().rfind(R"([{"name":"probability","datatype":"FP32","shape":[2],"data":[)", 0), 0u)
        << records[0].outputs_as_json();
    ASSERT_EQ(records[0].tags.size(), 2u);
    EXPECT_EQ(records[0].tags[0], (std::pair<std::string, std::string>{"segment", "east"}));
    EXPECT_EQ(records[0].tags[1], (std::pair<std::string, std::string>{"priority", "3"}));
    EXPECT_EQ(records[1].request_id, r2->id);
    std::filesystem::remove_all(served.dir);
  }
}

TEST(InferenceServiceLog, InputsCanBeLeftOutAndAFullQueueDropsAndCounts) {
  PredictionLogOptions small;
  small.queue_capacity = 1;
  auto served = serve_logged("noinputs", {}, /*log_inputs=*/false, small);
  ASSERT_TRUE(served.service);
  served.log->pause();  // nothing drains: the queue fills after one record
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(infer(*served.service, linear_request(1)).ok());  // never blocked
  served.log->resume();
  served.service->shutdown();
  served.log->flush();
  auto records = read_all(served.dir);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].inputs_as_json(), "");
  EXPECT_TRUE(records[0].inputs.empty());
  EXPECT_EQ(records[0].outputs.size(), 1u);
  std::string metrics = served.service->render_metrics();
  EXPECT_NE(metrics.find("slipway_prediction_log_records_total{outcome=\"appended\"} 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("slipway_prediction_log_records_total{outcome=\"dropped\"} 2\n"), std::string::npos);
  std::filesystem::remove_all(served.dir);
}

}  // namespace
}  // namespace slipway::serve

namespace slipway::serve {
namespace {

TEST(InferenceServiceLog, ASampleRateLogsThatShareOfRequestsEvenly) {
  auto dir = std::filesystem::temp_directory_path() / ("slipway-svc-sample-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto log = PredictionLog::open(dir);
  ASSERT_TRUE(log.ok());
  std::shared_ptr<PredictionLog> shared = std::move(log).value();
  std::vector<ServedModelSpec> specs;
  specs.push_back({"m", bundle_file_source(kBundles + "linear_v1.slw"), {}});
  ServiceOptions options;
  options.prediction_log = shared;
  options.log_sample_rate = 0.25;
  auto s = InferenceService::create(std::move(specs), options);
  ASSERT_TRUE(s.ok()) << s.status().message();
  size_t with_generated_id = 0;
  for (int i = 0; i < 40; ++i) {
    auto r = linear_request(1);
    r.id.clear();
    auto out = infer(**s, std::move(r));
    ASSERT_TRUE(out.ok());
    with_generated_id += out->id.empty() ? 0 : 1;
  }
  (*s)->shutdown();
  shared->flush();
  EXPECT_EQ(shared->stats().appended, 10u);  // exactly a quarter
  EXPECT_EQ(with_generated_id, 10u);         // ids are for logged requests (feedback joins them)
  std::vector<ServedModelSpec> bad;
  bad.push_back({"m", bundle_file_source(kBundles + "linear_v1.slw"), {}});
  ServiceOptions zero;
  zero.log_sample_rate = 0;
  EXPECT_EQ(InferenceService::create(std::move(bad), zero).status().message(), "log sample rate must be in (0, 1], got 0");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace slipway::serve
