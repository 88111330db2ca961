// FeatureEncoder (every step kind, unknown and missing categories, bind and parse errors) and
// fit_inputs (statistics, vocabularies, steps fitted on what the previous step produced).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "slipway/model/transforms.h"

namespace slipway::model {
namespace {

using RawValue = FeatureEncoder::RawValue;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TransformStep step(StepKind kind, std::vector<double> params = {}, std::vector<std::string> categories = {},
                   bool unknown_bucket = false, std::string fitted_from = {}) {
  TransformStep s;
  s.kind = kind;
  s.params = std::move(params);
  s.categories = std::move(categories);
  s.unknown_bucket = unknown_bucket;
  s.fitted_from = std::move(fitted_from);
  return s;
}

// A model whose only purpose here is its signature; the body is a matching linear model.
Model model_with(std::vector<InputColumn> inputs) {
  Model m;
  m.inputs = std::move(inputs);
  size_t width = 0;
  for (const auto& in : m.inputs) width += in.width();
  for (size_t f = 0; f < width; ++f) m.feature_names.push_back("f" + std::to_string(f));
  m.body = LinearModel{std::vector<float>(width, 0.f), {0.f}};
  EXPECT_TRUE(validate_model(m).ok()) << validate_model(m).message();
  return m;
}

InputColumn num(std::string name, std::vector<TransformStep> steps) {
  return InputColumn{std::move(name), InputKind::kNumeric, std::move(steps)};
}

float encode_one(const InputColumn& input, double value) {
  Model m = model_with({input});
  FeatureEncoder enc(m);
  RawValue v{value, {}, std::isnan(value)};
  float out = -99;
  enc.encode_row(&v, &out);
  return out;
}

TEST(FeatureEncoder, NumericSteps) {
  EXPECT_FLOAT_EQ(encode_one(num("x", {}), 2.5), 2.5f);
  EXPECT_TRUE(std::isnan(encode_one(num("x", {}), kNaN)));
  const InputColumn impute = num("x", {step(StepKind::kImpute, {7})});
  EXPECT_FLOAT_EQ(encode_one(impute, kNaN), 7.f);
  EXPECT_FLOAT_EQ(encode_one(impute, 3), 3.f);
  EXPECT_FLOAT_EQ(encode_one(num("x", {step(StepKind::kStandardize, {10, 4})}), 18), 2.f);
  EXPECT_TRUE(std::isnan(encode_one(num("x", {step(StepKind::kStandardize, {10, 4})}), kNaN)));
  EXPECT_FLOAT_EQ(encode_one(num("x", {step(StepKind::kMinMax, {2, 0.25, 1})}), 6), 2.f);
  EXPECT_FLOAT_EQ(encode_one(num("x", {step(StepKind::kLog1p, {})}), std::exp(2.0) - 1), 2.f);
  const InputColumn clip = num("x", {step(StepKind::kClip, {-1, 1})});
  EXPECT_FLOAT_EQ(encode_one(clip, -5), -1.f);
  EXPECT_FLOAT_EQ(encode_one(clip, 0.5), 0.5f);
  EXPECT_FLOAT_EQ(encode_one(clip, 5), 1.f);
  EXPECT_TRUE(std::isnan(encode_one(clip, kNaN)));
  // Bucket index = number of edges <= x.
  const InputColumn buckets = num("x", {step(StepKind::kBucketize, {0, 10, 20})});
  EXPECT_FLOAT_EQ(encode_one(buckets, -1), 0.f);
  EXPECT_FLOAT_EQ(encode_one(buckets, 0), 1.f);
  EXPECT_FLOAT_EQ(encode_one(buckets, 15), 2.f);
  EXPECT_FLOAT_EQ(encode_one(buckets, 20), 3.f);
  EXPECT_TRUE(std::isnan(encode_one(buckets, kNaN)));
  // Steps run in order, in double: impute then standardize then clip.
  const InputColumn chain = num("x", {step(StepKind::kImpute, {4}), step(StepKind::kStandardize, {2, 2}), step(StepKind::kClip, {0, 0.5})});
  EXPECT_FLOAT_EQ(encode_one(chain, kNaN), 0.5f);
  EXPECT_FLOAT_EQ(encode_one(chain, 2.5), 0.25f);
  EXPECT_FLOAT_EQ(encode_one(chain, -10), 0.f);
}

TEST(FeatureEncoder, OrdinalAndOneHot) {
  InputColumn ordinal{"carrier", InputKind::kCategorical, {step(StepKind::kOrdinal, {-1}, {"UA", "AA", "DL"})}};
  InputColumn onehot{"origin", InputKind::kCategorical, {step(StepKind::kOneHot, {}, {"JFK", "LGA"}, true)}};
  InputColumn plain_onehot{"dest", InputKind::kCategorical, {step(StepKind::kOneHot, {}, {"SFO", "LAX"}, false)}};
  Model m = model_with({ordinal, onehot, plain_onehot});
  FeatureEncoder enc(m);
  ASSERT_EQ(enc.n_features(), 6u);
  ASSERT_EQ(enc.n_inputs(), 3u);
  auto row = [&](RawValue a, RawValue b, RawValue c) {
    RawValue values[] = {a, b, c};
    std::vector<float> out(6, -99);
    enc.encode_row(values, out.data());
    return out;
  };
  auto text = [](std::string_view s) { return RawValue{0, s, false}; };
  const RawValue missing{0, {}, true};
  EXPECT_EQ(row(text("DL"), text("LGA"), text("SFO")), (std::vector<float>{2, 0, 1, 0, 1, 0}));
  // Unknown: ordinal -> unknown_value; one-hot -> the unknown column, or all zeros without one.
  EXPECT_EQ(row(text("B6"), text("EWR"), text("ORD")), (std::vector<float>{-1, 0, 0, 1, 0, 0}));
  // Missing: ordinal -> NaN; one-hot treats it like an unknown category.
  auto out = row(missing, missing, missing);
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(std::vector<float>(out.begin() + 1, out.end()), (std::vector<float>{0, 0, 1, 0, 0}));
  // Categories match exact text.
  EXPECT_EQ(row(text("ua"), text("JFK"), text("LAX")), (std::vector<float>{-1, 1, 0, 0, 0, 1}));
}

TEST(FeatureEncoder, BindByName) {
  Model m = model_with({num("dep_delay", {}), InputColumn{"carrier", InputKind::kCategorical,
                                                          {step(StepKind::kOrdinal, {-1}, {"UA"})}},
                        num("distance", {})});
  FeatureEncoder enc(m);
  auto bound = enc.bind({"year", "distance", "carrier", "dep_delay"});
  ASSERT_TRUE(bound.ok());
  EXPECT_EQ(*bound, (std::vector<size_t>{3, 2, 1}));
  auto missing = enc.bind({"year", "distance"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(missing.status().message(),
            "the model needs input(s) dep_delay, carrier that the data does not have (columns: year, distance)");
}

TEST(FeatureEncoder, EncodeBatch) {
  Model m = model_with({num("x", {step(StepKind::kImpute, {-1})}),
                        InputColumn{"c", InputKind::kCategorical, {step(StepKind::kOneHot, {}, {"a", "b"}, false)}}});
  FeatureEncoder enc(m);
  table::RecordBatch batch;
  batch.num_rows = 4;
  batch.columns = {{"b", "a", "", "z"}, {"1.5", "", "x", "2e1"}};
  batch.nulls = {{0, 0, 1, 0}, {0, 1, 0, 0}};
  batch.row_numbers = {11, 12, 13, 14};
  batch.line_numbers = {12, 13, 14, 15};
  std::vector<float> out(4 * 3, -99);
  // Columns: 0 = c, 1 = x.
  Status s = enc.encode_batch(batch, {1, 0}, out.data());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "row 13, column 'x': 'x' is not a number");
  batch.columns[1][2] = "";  // empty = missing
  batch.nulls[1][2] = 0;
  ASSERT_TRUE(enc.encode_batch(batch, {1, 0}, out.data()).ok());
  EXPECT_EQ(out, (std::vector<float>{1.5f, 0, 1, -1, 1, 0, -1, 0, 0, 20, 0, 0}));
}

FitRequest fit_request(std::string input, std::vector<StepKind> steps, std::vector<double> clip = {},
                       std::vector<double> buckets = {}) {
  FitRequest r;
  r.input = std::move(input);
  r.steps = std::move(steps);
  r.clip = std::move(clip);
  r.buckets = std::move(buckets);
  return r;
}

std::unique_ptr<table::RecordReader> csv(const std::string& text) {
  static std::vector<std::unique_ptr<std::string>> keep;  // the reader views the text
  keep.push_back(std::make_unique<std::string>(text));
  auto r = table::open_csv_buffer(*keep.back(), "train.csv", table::CsvOptions{});
  EXPECT_TRUE(r.ok()) << r.status().message();
  return std::move(r).value();
}

TEST(FitInputs, NumericStatistics) {
  auto reader = csv("a,b,c\n1,10,x\n2,,y\n,30,x\n5,40,x\n");
  std::vector<FitRequest> requests(4);
  requests[0] = fit_request("a", {StepKind::kImpute, StepKind::kStandardize});
  requests[1] = fit_request("b", {StepKind::kImpute, StepKind::kMinMax});
  requests[1].impute_median = true;
  requests[2] = fit_request("c", {StepKind::kOneHot});
  requests[3] = fit_request("a", {StepKind::kClip, StepKind::kBucketize, StepKind::kLog1p}, {0, 3}, {2, 1, 2});
  auto fitted = fit_inputs(*reader, requests);
  ASSERT_TRUE(fitted.ok()) << fitted.status().message();
  const auto& in = *fitted;
  ASSERT_EQ(in.size(), 4u);
  // a: mean of {1, 2, 5} = 8/3 imputed; then the standardization sees {1, 2, 8/3, 5}.
  EXPECT_DOUBLE_EQ(in[0].steps[0].params[0], 8.0 / 3);
  const double mean = (1 + 2 + 8.0 / 3 + 5) / 4;
  const double var = ((1 - mean) * (1 - mean) + (2 - mean) * (2 - mean) + (8.0 / 3 - mean) * (8.0 / 3 - mean) +
                      (5 - mean) * (5 - mean)) / 4;
  EXPECT_DOUBLE_EQ(in[0].steps[1].params[0], mean);
  EXPECT_DOUBLE_EQ(in[0].steps[1].params[1], std::sqrt(var));
  EXPECT_EQ(in[0].steps[0].fitted_from, "mean of a over 4 rows");
  // b: median of {10, 30, 40} = 30; min-max over {10, 30, 30, 40}.
  EXPECT_DOUBLE_EQ(in[1].steps[0].params[0], 30);
  EXPECT_EQ(in[1].steps[1].params, (std::vector<double>{10, 1.0 / 30, 0}));
  // c: categories by frequency, then name; one-hot with an unknown bucket by default.
  EXPECT_EQ(in[2].kind, InputKind::kCategorical);
  EXPECT_EQ(in[2].steps[0].categories, (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(in[2].steps[0].unknown_bucket);
  EXPECT_EQ(in[3].steps[0].params, (std::vector<double>{0, 3}));
  EXPECT_EQ(in[3].steps[1].params, (std::vector<double>{1, 2}));  // sorted, deduplicated
  EXPECT_TRUE(in[3].steps[2].params.empty());
}

TEST(FitInputs, EvenMedianConstantColumnAndOrdinal) {
  auto reader = csv("a,k\n4,q\n1,p\n3,q\n2,p\n");
  std::vector<FitRequest> requests(3);
  requests[0] = fit_request("a", {StepKind::kImpute});
  requests[0].impute_median = true;
  requests[1] = fit_request("k", {StepKind::kOrdinal});
  requests[2] = fit_request("a", {StepKind::kClip, StepKind::kStandardize}, {5, 6});
  auto fitted = fit_inputs(*reader, requests);
  ASSERT_TRUE(fitted.ok()) << fitted.status().message();
  EXPECT_DOUBLE_EQ((*fitted)[0].steps[0].params[0], 2.5);
  EXPECT_EQ((*fitted)[1].steps[0].categories, (std::vector<std::string>{"p", "q"}));  // tie: by name
  EXPECT_TRUE(std::isnan((*fitted)[1].steps[0].params[0]));
  // Everything clipped to 5: standard deviation 0 -> scale 1.
  EXPECT_EQ((*fitted)[2].steps[1].params, (std::vector<double>{5, 1}));
}

TEST(FitInputs, Errors) {
  std::vector<FitRequest> requests(1);
  requests[0] = fit_request("nope", {StepKind::kImpute});
  auto r1 = fit_inputs(*csv("a,b\n1,2\n"), requests);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.status().message(), "train.csv: no column 'nope' to fit (columns: a, b)");
  requests[0] = fit_request("a", {StepKind::kImpute});
  auto r2 = fit_inputs(*csv("a,b\n1,2\nabc,3\n"), requests);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.status().message(), "train.csv: row 2, column 'a': 'abc' is not a number");
  requests[0] = fit_request("a", {StepKind::kImpute, StepKind::kOneHot});
  auto r3 = fit_inputs(*csv("a\n1\n"), requests);
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ(r3.status().message(), "input 'a': a categorical input takes exactly one step, ordinal or one_hot");
  requests[0] = fit_request("a", {StepKind::kClip});
  auto r4 = fit_inputs(*csv("a\n1\n"), requests);
  ASSERT_FALSE(r4.ok());
  EXPECT_EQ(r4.status().message(), "input 'a': clip needs {lo, hi}");
}

TEST(FitInputs, FittedColumnsEncodeLikeTraining) {
  auto reader = csv("x,c\n1,a\n,b\n3,a\n");
  std::vector<FitRequest> requests(2);
  requests[0] = fit_request("x", {StepKind::kImpute, StepKind::kStandardize});
  requests[1] = fit_request("c", {StepKind::kOneHot});
  auto fitted = fit_inputs(*reader, requests);
  ASSERT_TRUE(fitted.ok());
  Model m = model_with(*fitted);
  FeatureEncoder enc(m);
  RawValue values[] = {{kNaN, {}, true}, {0, "zzz", false}};
  std::vector<float> out(4);
  enc.encode_row(values, out.data());
  // Missing x -> the mean (2) -> standardized to 0; unseen category -> the unknown column.
  EXPECT_EQ(out, (std::vector<float>{0, 0, 0, 1}));
}

}  // namespace
}  // namespace slipway::model
