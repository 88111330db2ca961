// MLflow's JSON <-> slipway's tracking types, request parameter reading, and the error mapping.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../../src/server/detail/errors.h"
#include "../../../src/server/detail/experiment_search.h"
#include "../../../src/server/detail/json_writer.h"
#include "../../../src/server/detail/mlflow_json.h"

namespace slipway::server::detail {
namespace {

Params parse(std::string_view text) {
  auto p = Params::from_json_text(text);
  EXPECT_TRUE(p.ok()) << p.status().message();
  return std::move(p).value();
}

TEST(Params, MissingAndWrongTypesNameTheField) {
  auto p = parse(R"({"run_id": 123, "key": "", "value": "abc", "step": 1.5})");
  EXPECT_EQ(p.required_string("run_id").status().message(),
            "Invalid value 123 for parameter 'run_id' supplied: expected a string, got a number");
  EXPECT_EQ(p.required_string("key").status().message(), "Missing value for required parameter 'key'.");
  EXPECT_EQ(p.required_string("nope").status().message(), "Missing value for required parameter 'nope'.");
  EXPECT_EQ(p.required_double("value").status().message(),
            "Invalid value \"abc\" for parameter 'value' supplied: expected a number, got a string");
  EXPECT_EQ(p.optional_int64("step").status().message(),
            "Invalid value 1.5 for parameter 'step' supplied: expected an integer, got a number");
  EXPECT_EQ(p.required_string("run_id").status().code(), ErrorCode::kInvalidArgument);
}

TEST(Params, Int64AsNumberOrStringAndDoublesAsProtobufWritesThem) {
  auto p = parse(R"({"a": 5, "b": "-7", "c": "NaN", "d": "Infinity", "e": "-Infinity", "f": 2.5, "g": "1e3"})");
  EXPECT_EQ(*p.required_int64("a"), 5);
  EXPECT_EQ(*p.required_int64("b"), -7);
  EXPECT_TRUE(std::isnan(*p.required_double("c")));
  EXPECT_EQ(*p.required_double("d"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(*p.required_double("e"), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(*p.required_double("f"), 2.5);
  EXPECT_EQ(*p.required_double("g"), 1000.0);
}

TEST(Params, MalformedJsonAndNonObjects) {
  auto bad = Params::from_json_text("{\"run_id\": ");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kParseError);
  EXPECT_EQ(bad.status().message(),
            "Malformed JSON in the request body at line 1, column 12: syntax error while parsing value - unexpected "
            "end of input; expected '[', '{', or a literal");
  auto array = Params::from_json_text("[1,2]");
  EXPECT_EQ(array.status().message(), "Invalid request body: expected a JSON object, got an array");
  EXPECT_TRUE(Params::from_json_text("  ").ok());
  // Old clients send the document as a JSON string.
  auto doubled = Params::from_json_text(R"("{\"run_id\": \"abc\"}")");
  ASSERT_TRUE(doubled.ok());
  EXPECT_EQ(*doubled->required_string("run_id"), "abc");
}

TEST(Params, QueryStringForGet) {
  Request r;
  r.method = Method::kGet;
  r.query = "run_id=abc&metric_key=loss%2Fval&max_results=10";
  auto p = Params::from_request(r);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p->required_string("metric_key"), "loss/val");
  EXPECT_EQ(*p->required_int64("max_results"), 10);
}

TEST(MlflowJson, LogBatchNamesNestedFields) {
  auto p = parse(R"({"run_id": "r", "metrics": [{"key": "a", "value": 1, "timestamp": 5},
                                                  {"key": "b", "value": "x", "timestamp": 5}]})");
  auto batch = mlflow_log_batch(p);
  EXPECT_EQ(batch.status().message(),
            "Invalid value \"x\" for parameter 'metrics[1].value' supplied: expected a number, got a string");
  p = parse(R"({"metrics": [{"key": "a", "value": 1}]})");
  EXPECT_EQ(mlflow_log_batch(p).status().message(),
            "Missing value for required parameter 'metrics[0].timestamp'.");
  p = parse(R"({"params": [{"value": "1"}]})");
  EXPECT_EQ(mlflow_log_batch(p).status().message(), "Missing value for required parameter 'params[0].key'.");
  p = parse(R"({"metrics": {"key": "a"}})");
  EXPECT_EQ(mlflow_log_batch(p).status().message(),
            "Invalid value {\"key\":\"a\"} for parameter 'metrics' supplied: expected an array, got an object");

  p = parse(R"({"metrics": [{"key": "loss", "value": "NaN", "timestamp": "17", "step": "3"}],
                "params": [{"key": "lr", "value": "0.1"}], "tags": [{"key": "t", "value": "v"}]})");
  auto ok = mlflow_log_batch(p);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  ASSERT_EQ(ok->metrics.size(), 1u);
  EXPECT_TRUE(std::isnan(ok->metrics[0].value));
  EXPECT_EQ(ok->metrics[0].timestamp_ms, 17);
  EXPECT_EQ(ok->metrics[0].step, 3);
  EXPECT_EQ(ok->params[0], (std::pair<std::string, std::string>{"lr", "0.1"}));
  EXPECT_EQ(ok->tags[0], (std::pair<std::string, std::string>{"t", "v"}));
}

TEST(MlflowJson, RunIdOrLegacyRunUuid) {
  EXPECT_EQ(*mlflow_run_id(parse(R"({"run_uuid": "u"})")), "u");
  EXPECT_EQ(*mlflow_run_id(parse(R"({"run_id": "a", "run_uuid": "u"})")), "a");
  EXPECT_EQ(mlflow_run_id(parse("{}")).status().message(), "Missing value for required parameter 'run_id'.");
}

TEST(MlflowJson, StatusAndViewType) {
  EXPECT_EQ(*mlflow_run_status(parse(R"({"status": "FINISHED"})")), track::RunStatus::kFinished);
  EXPECT_EQ(*mlflow_run_status(parse(R"({"status": 4})")), track::RunStatus::kFailed);
  EXPECT_EQ(mlflow_run_status(parse(R"({"status": "DONE"})")).status().message(),
            "Invalid value \"DONE\" for parameter 'status' supplied: expected one of RUNNING, SCHEDULED, FINISHED, "
            "FAILED, KILLED");
  EXPECT_EQ(*mlflow_view_type(parse(R"({"run_view_type": "ALL"})"), "run_view_type"),
            track::SearchRunsRequest::ViewType::kAll);
  EXPECT_EQ(*mlflow_view_type(parse(R"({"run_view_type": 2})"), "run_view_type"),
            track::SearchRunsRequest::ViewType::kDeletedOnly);
  EXPECT_EQ(*mlflow_view_type(parse("{}"), "run_view_type"), track::SearchRunsRequest::ViewType::kActiveOnly);
}

TEST(MlflowJson, RunShapeMatchesServiceProto) {
  track::Run run;
  run.info.run_id = "0123456789abcdef0123456789abcdef";
  run.info.experiment_id = 3;
  run.info.run_name = "brave-owl-1";
  run.info.user = "ann";
  run.info.status = track::RunStatus::kFinished;
  run.info.start_time_ms = 1000;
  run.info.end_time_ms = 2000;
  run.info.artifact_uri = "mlflow-artifacts:/3/0123456789abcdef0123456789abcdef/artifacts";
  run.params = {{"lr", "0.1"}};
  run.tags = {{"mlflow.runName", "brave-owl-1"}};
  run.latest_metrics = {{"loss", std::numeric_limits<double>::quiet_NaN(), 1500, 7},
                        {"auc", 0.25, 1501, 2},
                        {"big", -std::numeric_limits<double>::infinity(), 1, 0}};
  run.inputs = {{"flights", "abcd", "training"}};
  std::string out;
  append_mlflow_run(out, run);
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["info"]["run_id"], run.info.run_id);
  EXPECT_EQ(j["info"]["run_uuid"], run.info.run_id);
  EXPECT_EQ(j["info"]["experiment_id"], "3");
  EXPECT_EQ(j["info"]["status"], "FINISHED");
  EXPECT_EQ(j["info"]["start_time"], 1000);
  EXPECT_EQ(j["info"]["end_time"], 2000);
  EXPECT_EQ(j["info"]["lifecycle_stage"], "active");
  EXPECT_EQ(j["info"]["user_id"], "ann");
  EXPECT_EQ(j["data"]["metrics"][0], (nlohmann::json{{"key", "loss"}, {"value", "NaN"}, {"timestamp", 1500}, {"step", 7}}));
  EXPECT_EQ(j["data"]["metrics"][1]["value"], 0.25);
  EXPECT_EQ(j["data"]["metrics"][2]["value"], "-Infinity");
  EXPECT_EQ(j["data"]["params"][0], (nlohmann::json{{"key", "lr"}, {"value", "0.1"}}));
  EXPECT_EQ(j["data"]["tags"][0]["key"], "mlflow.runName");
  EXPECT_EQ(j["inputs"]["dataset_inputs"][0]["dataset"]["name"], "flights");
  EXPECT_EQ(j["inputs"]["dataset_inputs"][0]["dataset"]["digest"], "abcd");
  EXPECT_EQ(j["inputs"]["dataset_inputs"][0]["tags"][0]["value"], "training");

  run.info.end_time_ms.reset();
  out.clear();
  append_mlflow_run_info(out, run.info);
  EXPECT_FALSE(nlohmann::json::parse(out).contains("end_time"));
}

TEST(JsonWriter, EscapesAndRoundTripsDoubles) {
  std::string out;
  append_json_string(out, std::string("a\"b\\c\n\x01 \xc3\xa9", 10));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001 \xc3\xa9\"");
  EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), std::string("a\"b\\c\n\x01 \xc3\xa9", 10));
  for (double v : {0.1, 1.0 / 3.0, 1e300, -2.5e-310, 123456789.0}) {
    out.clear();
    append_json_double(out, v);
    EXPECT_EQ(nlohmann::json::parse(out).get<double>(), v) << out;
  }
}

TEST(Errors, OneMappingForEveryCode) {
  EXPECT_EQ(http_error_for(ErrorCode::kInvalidArgument).status, 400);
  EXPECT_STREQ(http_error_for(ErrorCode::kInvalidArgument).code, "INVALID_PARAMETER_VALUE");
  EXPECT_EQ(http_error_for(ErrorCode::kNotFound).status, 404);
  EXPECT_STREQ(http_error_for(ErrorCode::kNotFound).code, "RESOURCE_DOES_NOT_EXIST");
  EXPECT_EQ(http_error_for(ErrorCode::kAlreadyExists).status, 400);
  EXPECT_STREQ(http_error_for(ErrorCode::kAlreadyExists).code, "RESOURCE_ALREADY_EXISTS");
  EXPECT_EQ(http_error_for(ErrorCode::kParseError).status, 400);
  EXPECT_STREQ(http_error_for(ErrorCode::kParseError).code, "MALFORMED_REQUEST");
  EXPECT_EQ(http_error_for(ErrorCode::kIoError).status, 500);
  EXPECT_EQ(http_error_for(ErrorCode::kInternal).status, 500);
  auto r = error_response(Status(ErrorCode::kNotFound, "run 'x' not found"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(nlohmann::json::parse(r.body),
            (nlohmann::json{{"error_code", "RESOURCE_DOES_NOT_EXIST"}, {"message", "run 'x' not found"}}));
}

std::vector<track::Experiment> experiments() {
  std::vector<track::Experiment> out;
  auto add = [&](int64_t id, std::string name, int64_t created, std::map<std::string, std::string> tags = {}) {
    track::Experiment e;
    e.id = id;
    e.name = std::move(name);
    e.creation_time_ms = created;
    e.last_update_time_ms = created;
    e.tags = std::move(tags);
    out.push_back(std::move(e));
  };
  add(0, "Default", 1);
  add(1, "flights-xgb", 3, {{"team", "ops"}});
  add(2, "flights-linear", 2, {{"team", "ml"}});
  add(3, "Wine", 4);
  return out;
}

std::vector<int64_t> ids(const ExperimentPage& page) {
  std::vector<int64_t> out;
  for (const auto& e : page.experiments) out.push_back(e.id);
  return out;
}

TEST(ExperimentSearch, FiltersOrdersAndPages) {
  ExperimentSearch s;
  EXPECT_EQ(ids(*search_experiments(experiments(), s)), (std::vector<int64_t>{3, 1, 2, 0}));
  s.filter = "name LIKE 'flights%' AND tags.team = 'ml'";
  EXPECT_EQ(ids(*search_experiments(experiments(), s)), (std::vector<int64_t>{2}));
  s.filter = "name ILIKE 'WINE'";
  EXPECT_EQ(ids(*search_experiments(experiments(), s)), (std::vector<int64_t>{3}));
  s.filter = "attribute.name != 'Default'";
  s.order_by = {"name ASC"};
  EXPECT_EQ(ids(*search_experiments(experiments(), s)), (std::vector<int64_t>{3, 2, 1}));
  s.filter.clear();
  s.order_by = {"experiment_id"};
  s.max_results = 3;
  auto page = search_experiments(experiments(), s);
  EXPECT_EQ(ids(*page), (std::vector<int64_t>{0, 1, 2}));
  s.page_token = page->next_page_token;
  page = search_experiments(experiments(), s);
  EXPECT_EQ(ids(*page), (std::vector<int64_t>{3}));
  EXPECT_EQ(page->next_page_token, "");
}

TEST(ExperimentSearch, ErrorsSayWhere) {
  ExperimentSearch s;
  s.filter = "owner = 'x'";
  EXPECT_EQ(search_experiments(experiments(), s).status().message(),
            "Invalid filter 'owner = 'x'': column 1: unsupported field 'owner' (supported: name, tags.KEY)");
  s.filter = "name = 'x' OR name = 'y'";
  EXPECT_EQ(search_experiments(experiments(), s).status().message(),
            "Invalid filter 'name = 'x' OR name = 'y'': column 12: expected AND, got 'OR'");
  s.filter = "name = 'x";
  EXPECT_EQ(search_experiments(experiments(), s).status().message(),
            "Invalid filter 'name = 'x': column 10: unterminated string");
  s.filter.clear();
  s.order_by = {"owner"};
  EXPECT_EQ(search_experiments(experiments(), s).status().message(),
            "Invalid order_by 'owner': order by name, experiment_id, creation_time or last_update_time, optionally "
            "followed by ASC or DESC");
}

TEST(LikeMatch, Wildcards) {
  EXPECT_TRUE(like_match("flights-xgb", "flights%", false));
  EXPECT_TRUE(like_match("flights-xgb", "%xgb", false));
  EXPECT_TRUE(like_match("abc", "a_c", false));
  EXPECT_FALSE(like_match("abc", "a_", false));
  EXPECT_TRUE(like_match("ABC", "abc", true));
  EXPECT_FALSE(like_match("ABC", "abc", false));
  EXPECT_TRUE(like_match("", "%", false));
}

}  // namespace
}  // namespace slipway::server::detail

namespace slipway::server::detail {
namespace {

// The fast log-batch reader either declines a body or reads exactly what the general path reads.
TEST(FastLogBatch, AgreesWithTheGeneralPathOrDeclines) {
  const std::vector<std::string> bodies = {
      R"({"run_id":"abc","metrics":[{"key":"loss","value":0.5,"timestamp":1700000000000,"step":3}]})",
      R"({"run_id":"abc","metrics":[{"key":"m","value":-0,"timestamp":"1700000000001","step":"9007199254740993"}],"params":[{"key":"lr","value":"0.1"}],"tags":[{"key":"t","value":"x"}]})",
      R"({"run_id":"abc","metrics":[{"key":"m","value":"NaN","timestamp":1,"step":0}]})",
      R"({"run_id":"a\u0062c","metrics":[]})",
      R"({"run_id":"abc","run_id":"def"})",
      R"({"metrics":[{"key":"m","value":1,"timestamp":1,"step":0}]})",
      R"({"run_id":"abc","metrics":[{"key":"m","value":null,"timestamp":1}]})",
  };
  for (const auto& body : bodies) {
    auto fast = fast_mlflow_log_batch(body);
    if (!fast) continue;
    auto params = Params::from_json_text(body);
    ASSERT_TRUE(params.ok()) << body;
    auto general = mlflow_log_batch(*params);
    ASSERT_TRUE(general.ok()) << body << ": " << general.status().message();
    ASSERT_EQ(fast->batch.metrics.size(), general->metrics.size()) << body;
    for (size_t i = 0; i < general->metrics.size(); ++i) {
      const auto& a = fast->batch.metrics[i];
      const auto& b = general->metrics[i];
      EXPECT_EQ(a.key, b.key) << body;
      EXPECT_EQ(a.step, b.step) << body;
      EXPECT_EQ(a.timestamp_ms, b.timestamp_ms) << body;
      EXPECT_TRUE((std::isnan(a.value) && std::isnan(b.value)) || a.value == b.value) << body;
    }
    EXPECT_EQ(fast->batch.params, general->params) << body;
    EXPECT_EQ(fast->batch.tags, general->tags) << body;
  }
  // The plain shape MLflow's client sends is taken by the fast path.
  EXPECT_TRUE(fast_mlflow_log_batch(bodies[0]).has_value());
}

// A number beyond double's range used to escape as an exception and end the server process.
TEST(Params, NumberOverflowIsAMalformedBodyNotACrash) {
  auto p = Params::from_json_text(R"({"v":1e400})");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), ErrorCode::kParseError);
  EXPECT_NE(p.status().message().find("Malformed JSON in the request body: number overflow parsing '1e400'"),
            std::string::npos)
      << p.status().message();
}

}  // namespace
}  // namespace slipway::server::detail
