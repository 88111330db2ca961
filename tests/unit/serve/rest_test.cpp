// Decoding KServe v2 REST bodies (JSON and the binary tensor extension) and writing responses.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

#include "slipway/serve/rest.h"

namespace slipway::serve {
namespace {

std::string error_of(std::string_view body, std::optional<size_t> json_length = std::nullopt) {
  auto r = parse_infer_request(body, json_length);
  EXPECT_FALSE(r.ok());
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  return r.status().message();
}

TEST(RestDecode, JsonTensorsFlattenNestedDataRowMajor) {
  auto r = parse_infer_request(
      R"({"id":"7","inputs":[{"name":"x","shape":[2,2],"datatype":"FP64","data":[[1,2],[3,null]]},)"
      R"({"name":"c","shape":[2],"datatype":"BYTES","data":["UA",""]}],"outputs":[{"name":"p"}],)"
      R"("parameters":{"timeout":5000,"binary_data_output":true}})",
      std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->id, "7");
  ASSERT_EQ(r->inputs.size(), 2u);
  const Tensor& x = r->inputs[0];
  EXPECT_EQ(x.datatype, DataType::kFp64);
  EXPECT_EQ(x.shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(x.number_at(2), 3.0);
  EXPECT_TRUE(std::isnan(x.number_at(3)));  // null = missing
  EXPECT_EQ(r->inputs[1].strings, (std::vector<std::string>{"UA", ""}));
  ASSERT_EQ(r->outputs.size(), 1u);
  EXPECT_EQ(r->outputs[0].name, "p");
  EXPECT_EQ(r->timeout, std::chrono::microseconds(5000));
  BinaryOutputs b = binary_outputs_of(*r);
  EXPECT_TRUE(b.binary(0));
}

TEST(RestDecode, BinaryExtensionTakesBytesInInputOrder) {
  std::string header = R"({"inputs":[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}},)"
                       R"({"name":"s","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":6}}]})";
  std::string body = header;
  float values[2] = {1.5f, -2.0f};
  body.append(reinterpret_cast<const char*>(values), 8);
  uint32_t len = 2;
  body.append(reinterpret_cast<const char*>(&len), 4);
  body += "JF";
  auto r = parse_infer_request(body, header.size());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->inputs[0].at<float>(1), -2.0f);
  EXPECT_EQ(r->inputs[1].strings, (std::vector<std::string>{"JF"}));

  EXPECT_EQ(error_of(body, body.size() + 1),
            fmt::format("Inference-Header-Content-Length {} is larger than the body ({} bytes)", body.size() + 1,
                        body.size()));
  EXPECT_EQ(error_of(body + "x", header.size()), "the body has 1 bytes of binary data that no input claims");
  EXPECT_EQ(error_of(body.substr(0, body.size() - 3), header.size()),
            "input 's' needs 6 bytes of binary data but only 3 remain in the body");
  EXPECT_EQ(error_of(header), "input 'a' has 'binary_data_size' but the request has no Inference-Header-Content-Length header");
}

TEST(RestDecode, MalformedBodiesNameTheProblem) {
  EXPECT_EQ(error_of("{\"inputs\": [1,"),
            "malformed JSON in the request body: parse error at line 1, column 15: syntax error while parsing value - "
            "unexpected end of input; expected '[', '{', or a literal");
  EXPECT_EQ(error_of("[]"), "the request body must be a JSON object, got an array");
  EXPECT_EQ(error_of("{}"), "the request needs an 'inputs' array");
  EXPECT_EQ(error_of(R"({"inputs":[{"shape":[1],"datatype":"FP32","data":[1]}]})"), "inputs[0] needs a string 'name'");
  EXPECT_EQ(error_of(R"({"inputs":[{"name":"a","shape":[1],"datatype":"FLOAT","data":[1]}]})"),
            "input 'a' has unknown datatype 'FLOAT' (BOOL, INT8..INT64, UINT8..UINT64, FP16, FP32, FP64, BYTES)");
  EXPECT_EQ(error_of(R"({"inputs":[{"name":"a","shape":[-1],"datatype":"FP32","data":[1]}]})"),
            "input 'a' shape [-1] must hold non-negative integers");
  EXPECT_EQ(error_of(R"({"inputs":[{"name":"a","shape":[100000,100000],"datatype":"FP32","data":[1]}]})"),
            "input 'a' has shape [100000, 100000]: more than 67108864 elements");
  EXPECT_EQ(error_of(R"({"inputs":[{"name":"a","shape":[2],"datatype":"FP32","data":[1]}]})"),
            "input 'a' has 1 values, shape [2] needs 2");
  EXPECT_EQ(error_of(R"({"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1,2]}]})"),
            "input 'a' has more than 1 values, shape [1] needs 1");
  EXPECT_EQ(error_of(R"({"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":["x"]}]})"),
            "input 'a' value 0 is a string, expected a number or null (FP32)");
  EXPECT_EQ(error_of(R"({"inputs":[{"name":"a","shape":[1],"datatype":"INT8","data":[300]}]})"),
            "input 'a' value 0 (300) is out of range for INT8");
  EXPECT_EQ(error_of(R"({"inputs":[{"name":"a","shape":[1],"datatype":"BYTES","data":[1]}]})"),
            "input 'a' value 0 is a number, expected a string (BYTES)");
  EXPECT_EQ(error_of(R"({"inputs":[{"name":"a","shape":[1],"datatype":"FP32"}]})"), "input 'a' has no 'data'");
  EXPECT_EQ(error_of(R"({"id":3,"inputs":[]})"), "'id' must be a string, got a number");
}

// The fast JSON path (plain bodies) must read exactly what the general parser reads; a header length
// covering the whole body forces the general parser.
TEST(RestDecode, FastPathAgreesWithTheGeneralParser) {
  const char* bodies[] = {
      R"({"inputs":[{"name":"a","shape":[2],"datatype":"FP32","data":[1.5,-2e-3]}]})",
      R"({"id":"x","inputs":[{"data":[[1,2],[3,4]],"datatype":"FP64","name":"b","shape":[2,2]}],"outputs":[{"name":"o","parameters":{"binary_data":false}}],"parameters":{"timeout":7}})",
      R"( { "inputs" : [ {"name":"c","shape":[3],"datatype":"BYTES","data":["UA","","x y"]},)"
      R"({"name":"i","shape":[3,1],"datatype":"INT64","data":[[1],[-2],[9007199254740993]]},)"
      R"({"name":"j","shape":[1],"datatype":"INT32","data":[2147483647]}] } )",
      R"({"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[0.1000000000000000055511151231257827]}]})",
      R"({"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[null]}]})",
      R"({"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1],"name":"b"}]})",
      R"({"inputs":[{"name":"\u0041","shape":[1],"datatype":"FP32","data":[1]}]})",
  };
  for (const char* body : bodies) {
    SCOPED_TRACE(body);
    auto fast = parse_infer_request(body, std::nullopt);
    auto general = parse_infer_request(body, std::strlen(body));
    ASSERT_EQ(fast.ok(), general.ok());
    if (!fast.ok()) {
      EXPECT_EQ(fast.status().message(), general.status().message());
      continue;
    }
    EXPECT_EQ(fast->id, general->id);
    EXPECT_EQ(fast->timeout, general->timeout);
    ASSERT_EQ(fast->inputs.size(), general->inputs.size());
    for (size_t i = 0; i < fast->inputs.size(); ++i) {
      EXPECT_EQ(fast->inputs[i].name, general->inputs[i].name);
      EXPECT_EQ(fast->inputs[i].datatype, general->inputs[i].datatype);
      EXPECT_EQ(fast->inputs[i].shape, general->inputs[i].shape);
      EXPECT_EQ(fast->inputs[i].raw, general->inputs[i].raw);
      EXPECT_EQ(fast->inputs[i].strings, general->inputs[i].strings);
    }
    ASSERT_EQ(fast->outputs.size(), general->outputs.size());
    for (size_t i = 0; i < fast->outputs.size(); ++i) {
      EXPECT_EQ(fast->outputs[i].name, general->outputs[i].name);
      EXPECT_EQ(fast->outputs[i].parameters.size(), general->outputs[i].parameters.size());
    }
  }
}

TEST(RestEncode, JsonAndBinaryOutputs) {
  InferResponse response;
  response.id = "q\"1";
  response.model_name = "m";
  response.model_version = "2";
  Tensor t;
  t.name = "probability";
  t.shape = {2};
  float v[2] = {0.25f, 1.0f};
  t.raw.assign(reinterpret_cast<const char*>(v), 8);
  response.outputs.push_back(t);
  std::string body;
  EXPECT_EQ(write_infer_response(response, {}, body), std::nullopt);
  EXPECT_EQ(body, R"({"id":"q\"1","model_name":"m","model_version":"2","outputs":[{"name":"probability","datatype":"FP32","shape":[2],"data":[0.25,1]}]})");
  BinaryOutputs binary;
  binary.all = true;
  auto header = write_infer_response(response, binary, body);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(body.substr(0, *header),
            R"({"id":"q\"1","model_name":"m","model_version":"2","outputs":[{"name":"probability","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}}]})");
  ASSERT_EQ(body.size(), *header + 8);
  EXPECT_EQ(std::memcmp(body.data() + *header, v, 8), 0);
}

}  // namespace
}  // namespace slipway::serve

namespace slipway::serve {
namespace {

// The fast number path (Clinger: <= 15 significant digits, 10^-22..) and the fallback give exactly
// the doubles the general parser gives, for numbers as clients print them.
TEST(RestDecode, FastNumbersAreBitIdenticalToTheGeneralParser) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  std::uniform_int_distribution<int> exp10(-30, 30), precision(1, 19);
  std::string body = R"({"inputs":[{"name":"a","shape":[2000],"datatype":"FP64","data":[)";
  const char* fixed[] = {"0", "-0", "0.0", "1", "-1", "0.1", "123456789012345", "1234567890123456", "0.30000000000000004",
                         "9007199254740993", "1e-3", "2.5E+4", "100.000000000000000000001", "0.0000000000000000000001"};
  size_t n = 0;
  for (const char* f : fixed) {
    body += (n++ ? "," : "");
    body += f;
  }
  char buf[64];
  while (n < 2000) {
    double v = unit(rng) * std::pow(10.0, exp10(rng));
    std::snprintf(buf, sizeof(buf), n % 2 ? "%.*g" : "%.*f", precision(rng), v);
    if (std::strchr(buf, 'n') || std::strchr(buf, 'i')) continue;
    body += ",";
    body += buf;
    ++n;
  }
  body += "]}]}";
  auto fast = parse_infer_request(body, std::nullopt);
  auto general = parse_infer_request(body, body.size());
  ASSERT_TRUE(fast.ok()) << fast.status().message();
  ASSERT_TRUE(general.ok());
  ASSERT_EQ(fast->inputs[0].raw.size(), general->inputs[0].raw.size());
  for (size_t i = 0; i < 2000; ++i) {
    ASSERT_EQ(fast->inputs[0].at<uint64_t>(i), general->inputs[0].at<uint64_t>(i)) << "element " << i;
  }
}

}  // namespace
}  // namespace slipway::serve
