// XGBoost JSON / UBJSON import: every golden model against XGBoost's own predictions, the split
// semantics on hand-made trees (x < t, default directions, categories going right, DART weights,
// gblinear), and the exact errors for damaged files.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "import_golden.h"
#include "slipway/model/engine.h"
#include "slipway/model/importers.h"

namespace slipway::model {
namespace {

using nlohmann::json;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// One tree: x0 < 0.5 ? -1 : 2, missing goes left; base_score 0.5 (margin 0 under logit).
const char* kTinyModel = R"({"version":[2,1,0],"learner":{
 "feature_names":["a","b"],"feature_types":["float","float"],
 "learner_model_param":{"base_score":"5E-1","num_class":"0","num_feature":"2","num_target":"1"},
 "objective":{"name":"binary:logistic","reg_loss_param":{"scale_pos_weight":"1"}},
 "gradient_booster":{"name":"gbtree","model":{"gbtree_model_param":{"num_trees":"1","num_parallel_tree":"1"},
  "tree_info":[0],"trees":[{"id":0,"tree_param":{"num_nodes":"3","size_leaf_vector":"1","num_feature":"2"},
   "left_children":[1,-1,-1],"right_children":[2,-1,-1],"split_indices":[0,0,0],
   "split_conditions":[0.5,-1.0,2.0],"default_left":[1,0,0],"split_type":[0,0,0],
   "categories":[],"categories_nodes":[],"categories_segments":[],"categories_sizes":[]}]}}}})";

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::vector<float> margins_of(const Model& model, const std::vector<float>& x) {
  const size_t rows = x.size() / model.n_features();
  std::vector<float> out(rows * model.n_margins());
  reference_predict(model, x.data(), rows, out.data(), /*margins=*/true);
  return out;
}

std::string error_of(std::string_view text) {
  auto model = import_xgboost_json(text, "m.json");
  EXPECT_FALSE(model.ok());
  return model.ok() ? std::string() : model.status().message();
}

TEST(ImportXgboost, GoldenModelsMatchXgboost) { testing::check_golden_models("xgboost", 10); }

TEST(ImportXgboost, NumericSplitsGoLeftWhenLessAndMissingFollowsDefault) {
  auto model = import_xgboost_json(kTinyModel, "m.json");
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(model->task, Task::kBinary);
  EXPECT_EQ(model->output_transform, OutputTransform::kSigmoid);
  EXPECT_EQ(model->feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(model->provenance.producer, "import:xgboost-json");
  EXPECT_EQ(model->provenance.producer_version, "2.1.0");
  EXPECT_EQ(model->provenance.extra["objective"], "binary:logistic");
  // x == threshold goes right (x < t is false); NaN takes default_left.
  EXPECT_EQ(margins_of(*model, {0.25f, 0, 0.5f, 0, kNaN, 0}), (std::vector<float>{-1.0f, 2.0f, -1.0f}));
}

TEST(ImportXgboost, BaseScoreIsConvertedToAMargin) {
  // logit(0.8) for logistic objectives, log for Poisson, as-is for squared error; 3.x vector form.
  auto logistic = import_xgboost_json(replaced(kTinyModel, "\"5E-1\"", "\"[8E-1]\""), "m.json");
  ASSERT_TRUE(logistic.ok()) << logistic.status().message();
  EXPECT_FLOAT_EQ(std::get<TreeEnsemble>(logistic->body).base_score[0], -std::log(1.0f / 0.8f - 1.0f));
  auto poisson = import_xgboost_json(
      replaced(replaced(kTinyModel, "\"5E-1\"", "\"2E0\""), "binary:logistic", "count:poisson"), "m.json");
  ASSERT_TRUE(poisson.ok()) << poisson.status().message();
  EXPECT_EQ(poisson->task, Task::kRegression);
  EXPECT_EQ(poisson->output_transform, OutputTransform::kExp);
  EXPECT_FLOAT_EQ(std::get<TreeEnsemble>(poisson->body).base_score[0], std::log(2.0f));
  auto ranking = import_xgboost_json(
      replaced(replaced(kTinyModel, "\"5E-1\"", "\"2E0\""), "binary:logistic", "rank:pairwise"), "m.json");
  ASSERT_TRUE(ranking.ok()) << ranking.status().message();
  EXPECT_EQ(ranking->output_transform, OutputTransform::kIdentity);
  EXPECT_DOUBLE_EQ(std::get<TreeEnsemble>(ranking->body).base_score[0], 2.0);
}

TEST(ImportXgboost, CategoriesInTheSetGoRight) {
  std::string text = replaced(kTinyModel, R"("split_type":[0,0,0])", R"("split_type":[1,0,0])");
  text = replaced(text, R"("categories":[],"categories_nodes":[],"categories_segments":[],"categories_sizes":[])",
                  R"("categories":[1,3],"categories_nodes":[0],"categories_segments":[0],"categories_sizes":[2])");
  auto model = import_xgboost_json(text, "m.json");
  ASSERT_TRUE(model.ok()) << model.status().message();
  // codes 1 and 3 are in the set -> right (2); 0, 2, 40, -1 and 1.5 are not -> left; NaN -> default (left).
  EXPECT_EQ(margins_of(*model, {1, 0, 3, 0, 0, 0, 2, 0, 40, 0, -1, 0, kNaN, 0}),
            (std::vector<float>{2, 2, -1, -1, -1, -1, -1}));
}

TEST(ImportXgboost, DartWeightsScaleTheTrees) {
  std::string text = replaced(kTinyModel, R"("gradient_booster":{"name":"gbtree","model":)",
                              R"("gradient_booster":{"name":"dart","weight_drop":[0.5],"gbtree":{"name":"gbtree","model":)");
  text = replaced(text, "]}}}}", "]}}}}}");
  auto model = import_xgboost_json(text, "m.json");
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(margins_of(*model, {0, 0, 1, 0}), (std::vector<float>{-0.5f, 1.0f}));
}

TEST(ImportXgboost, GblinearBecomesALinearModel) {
  const char* text = R"({"version":[1,7,6],"learner":{"feature_names":[],"feature_types":[],
   "learner_model_param":{"base_score":"5E-1","num_class":"0","num_feature":"2"},
   "objective":{"name":"reg:squarederror"},
   "gradient_booster":{"name":"gblinear","model":{"weights":[2.0,-1.0,0.25]}}}})";
  auto model = import_xgboost_json(text, "m.json");
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(model->feature_names, (std::vector<std::string>{"f0", "f1"}));
  // 0.5 + 0.25 + 2 * 1 - 1 * 3; a missing feature counts as 0 (XGBoost skips it).
  EXPECT_EQ(margins_of(*model, {1, 3, kNaN, 3}), (std::vector<float>{-0.25f, -2.25f}));
}

TEST(ImportXgboost, UbjsonGivesTheSameModelAsJson) {
  const json parsed = json::parse(kTinyModel);
  const std::vector<uint8_t> typed = json::to_ubjson(parsed, /*use_size=*/true, /*use_type=*/true);
  const std::vector<uint8_t> plain = json::to_ubjson(parsed);
  for (const auto& bytes : {typed, plain}) {
    const std::string_view view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    EXPECT_EQ(detect_format(view), SourceFormat::kXgboostUbjson);
    auto model = import_xgboost_ubjson(view, "m.ubj");
    ASSERT_TRUE(model.ok()) << model.status().message();
    EXPECT_EQ(model->provenance.producer, "import:xgboost-ubjson");
    EXPECT_EQ(margins_of(*model, {0.25f, 0, 0.5f, 0, kNaN, 0}), (std::vector<float>{-1.0f, 2.0f, -1.0f}));
  }
}

TEST(ImportXgboost, DamagedJsonGivesExactErrors) {
  EXPECT_EQ(error_of(std::string(kTinyModel).substr(0, 40)),
            "m.json: invalid JSON at line 2, column 10: syntax error while parsing object key - invalid string: "
            "missing closing quote; last read: '\"feature'; expected string literal");
  EXPECT_EQ(error_of(replaced(kTinyModel, R"("left_children":[1,-1,-1])", R"("left_children":"1,-1,-1")")),
            "m.json: learner.gradient_booster.model.trees[0].left_children: expected an array, found string");
  EXPECT_EQ(error_of(replaced(kTinyModel, R"("split_conditions":[0.5,-1.0,2.0])", R"("split_conditions":[0.5,"x",2.0])")),
            "m.json: learner.gradient_booster.model.trees[0].split_conditions[1]: expected a number, found string");
  EXPECT_EQ(error_of(replaced(kTinyModel, R"("num_trees":"1")", R"("num_trees":"1000000000000")")),
            "m.json: learner.gradient_booster.model: gbtree_model_param.num_trees = 1000000000000 but the model "
            "holds 1 trees");
  EXPECT_EQ(error_of(replaced(kTinyModel, R"("num_nodes":"3")", R"("num_nodes":"1000000000000")")),
            "m.json: learner.gradient_booster.model.trees[0]: tree_param.num_nodes = 1000000000000 but "
            "left_children has 3 entries");
  EXPECT_EQ(error_of(replaced(kTinyModel, R"("num_feature":"2","num_target")", R"("num_feature":"99999999999","num_target")")),
            "m.json: learner.learner_model_param.num_feature: 99999999999 is out of range [0, 16777216]");
  EXPECT_EQ(error_of(replaced(kTinyModel, R"("left_children":[1,-1,-1])", R"("left_children":[7,-1,-1])")),
            "m.json: learner.gradient_booster.model.trees[0]: left_children[0] = 7 is out of range (the tree has 3 nodes)");
  EXPECT_EQ(error_of(replaced(kTinyModel, R"("left_children":[1,-1,-1])", R"("left_children":[0,-1,-1])")),
            "m.json: learner.gradient_booster.model.trees[0]: node 0 is reached twice (a cycle or a shared child)");
  EXPECT_EQ(error_of(replaced(kTinyModel, R"("split_indices":[0,0,0])", R"("split_indices":[5,0,0])")),
            "m.json: learner.gradient_booster.model.trees[0]: split_indices[0] = 5 is out of range (the model has 2 features)");
  EXPECT_EQ(error_of(replaced(kTinyModel, R"("tree_info":[0])", R"("tree_info":[3])")),
            "m.json: learner.gradient_booster.model: tree_info[0] = 3 is out of range (the model has 1 outputs)");
  EXPECT_EQ(error_of(replaced(kTinyModel, "binary:logistic", "survival:cox")),
            "m.json: unsupported XGBoost objective 'survival:cox'");
  EXPECT_EQ(error_of(replaced(kTinyModel, R"("name":"gbtree")", R"("name":"gbforest")")),
            "m.json: unsupported XGBoost booster 'gbforest'");
  EXPECT_EQ(error_of(replaced(kTinyModel, R"("size_leaf_vector":"1")", R"("size_leaf_vector":"3")")),
            "m.json: learner.gradient_booster.model.trees[0]: multi-target trees (size_leaf_vector = 3) are not supported");
  EXPECT_EQ(error_of(R"({"version":[3,0,0]})"), "m.json: model: missing field 'learner'");
  EXPECT_EQ(error_of("[1,2]"), "m.json: model: expected an object");
}

TEST(ImportXgboost, DamagedUbjsonGivesExactErrors) {
  auto bytes = read_file(testing::kModelsDir + "xgb_binary_logistic_flights.ubj");
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  auto truncated = import_xgboost_ubjson(std::string_view(*bytes).substr(0, bytes->size() / 2), "m.ubj");
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().code(), ErrorCode::kParseError);
  EXPECT_TRUE(truncated.status().message().starts_with("m.ubj: invalid UBJSON at byte ")) << truncated.status().message();

  // A typed float array claiming 10^12 elements in a 20-byte file.
  const std::string huge = std::string("{i\x01" "a[$d#L", 9) + std::string("\x00\x00\x00\xe8\xd4\xa5\x10\x00", 8) + "}";
  auto absurd = import_xgboost_ubjson(huge, "m.ubj");
  ASSERT_FALSE(absurd.ok());
  EXPECT_EQ(absurd.status().message(),
            "m.ubj: invalid UBJSON at byte 8: count 1000000000000 is larger than the rest of the file can hold");

  std::string deep(200, '[');
  auto nested = import_xgboost_ubjson(deep, "m.ubj");
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.status().message(), "m.ubj: invalid UBJSON at byte 64: nesting deeper than 64 levels");
  EXPECT_EQ(import_xgboost_ubjson("", "m.ubj").status().message(), "m.ubj: invalid UBJSON: the file is empty");
  EXPECT_EQ(import_xgboost_ubjson("{i\x01\xff" "Z}", "m.ubj").status().message(),
            "m.ubj: invalid UBJSON at byte 3: a string is not valid UTF-8");
  EXPECT_EQ(import_xgboost_ubjson("{i\x01" "aX}", "m.ubj").status().message(),
            "m.ubj: invalid UBJSON at byte 4: unknown marker 'X'");
}

TEST(ImportFormats, DetectsAndNamesFormats) {
  EXPECT_EQ(detect_format("  {\"learner\": {}}"), SourceFormat::kXgboostJson);
  EXPECT_EQ(detect_format("{L\0\0\0\0\0\0\0\x07learner"), SourceFormat::kXgboostUbjson);
  EXPECT_EQ(detect_format("tree\nversion=v4\n"), SourceFormat::kLightgbmText);
  EXPECT_EQ(detect_format("SLWMODEL\x01"), SourceFormat::kBundle);
  EXPECT_EQ(detect_format(std::string_view("\x08\x07\x12\x07skl2onnx", 11)), SourceFormat::kOnnx);
  EXPECT_EQ(detect_format("hello"), SourceFormat::kAuto);
  for (auto f : {SourceFormat::kXgboostJson, SourceFormat::kXgboostUbjson, SourceFormat::kLightgbmText,
                 SourceFormat::kOnnx, SourceFormat::kBundle}) {
    auto parsed = parse_source_format(source_format_name(f));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, f);
  }
  EXPECT_EQ(parse_source_format("pickle").status().message(),
            "unknown model format 'pickle' (expected one of: auto, xgboost, xgboost-ubj, lightgbm, onnx, bundle)");
}

TEST(ImportFormats, ImportModelFillsProvenanceAndReportsUnknownFiles) {
  auto model = import_model(testing::kModelsDir + "xgb_reg_squarederror_diabetes.json");
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(model->provenance.source_file, testing::kModelsDir + "xgb_reg_squarederror_diabetes.json");
  EXPECT_EQ(model->provenance.source_sha256.size(), 64u);
  EXPECT_EQ(model->provenance.producer, "import:xgboost-json");
  EXPECT_EQ(model->provenance.producer_version, "3.2.0");
  EXPECT_FALSE(model->provenance.created_at.empty());
  auto unknown = import_model(testing::kModelsDir + "README.md");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(), testing::kModelsDir +
                                            "README.md: cannot tell the model format from its first bytes (give it: "
                                            "xgboost, xgboost-ubj, lightgbm, onnx or bundle)");
  EXPECT_EQ(import_model(testing::kModelsDir + "nope.json").status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace slipway::model
