#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "slipway/server/http.h"

namespace slipway::server {
namespace {

Request make(Method method, std::string path) {
  Request r;
  r.method = method;
  r.path = std::move(path);
  return r;
}

Handler echo(std::string name) {
  return [name](const Request& request, Response& response) {
    nlohmann::json params = nlohmann::json::object();
    for (const auto& [k, v] : request.path_params) params[k] = v;
    response.body = nlohmann::json{{"route", name}, {"params", params}}.dump();
  };
}

nlohmann::json body_of(const Response& r) { return nlohmann::json::parse(r.body); }

TEST(Router, LiteralBeatsParameterAndRestTakesTheTail) {
  Router router;
  ASSERT_TRUE(router.add(Method::kGet, "/api/v1/runs/{run_id}", echo("run")).ok());
  ASSERT_TRUE(router.add(Method::kPost, "/api/v1/runs/search", echo("search")).ok());
  ASSERT_TRUE(router.add(Method::kGet, "/api/v1/runs/{run_id}/metrics/{key...}", echo("history")).ok());
  ASSERT_TRUE(router.add(Method::kGet, "/files/{path...}", echo("files")).ok());

  Response response;
  auto request = make(Method::kGet, "/api/v1/runs/abc123");
  EXPECT_EQ(router.dispatch(request, response), nullptr);
  EXPECT_EQ(body_of(response)["route"], "run");
  EXPECT_EQ(request.param("run_id"), "abc123");

  request = make(Method::kPost, "/api/v1/runs/search");
  response = {};
  router.dispatch(request, response);
  EXPECT_EQ(body_of(response)["route"], "search");

  request = make(Method::kGet, "/api/v1/runs/abc/metrics/train/loss%20avg");
  response = {};
  router.dispatch(request, response);
  EXPECT_EQ(body_of(response)["route"], "history");
  EXPECT_EQ(request.param("key"), "train/loss avg");
  EXPECT_EQ(request.param("run_id"), "abc");

  request = make(Method::kGet, "/files/a/b/c.txt");
  response = {};
  router.dispatch(request, response);
  EXPECT_EQ(request.param("path"), "a/b/c.txt");
}

TEST(Router, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  Router router;
  ASSERT_TRUE(router.add(Method::kPost, "/api/2.0/mlflow/runs/create", echo("create")).ok());
  ASSERT_TRUE(router.add(Method::kPut, "/api/2.0/mlflow/runs/create", echo("create-put")).ok());

  Response response;
  auto request = make(Method::kGet, "/api/2.0/mlflow/runs/nope");
  router.dispatch(request, response);
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(body_of(response)["error_code"], "ENDPOINT_NOT_FOUND");
  EXPECT_EQ(body_of(response)["message"], "no endpoint GET /api/2.0/mlflow/runs/nope");

  request = make(Method::kGet, "/api/2.0/mlflow/runs/create");
  response = {};
  router.dispatch(request, response);
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(body_of(response)["message"], "GET is not allowed on /api/2.0/mlflow/runs/create (allowed: POST, PUT)");
  ASSERT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.headers[0].name, "Allow");
  EXPECT_EQ(response.headers[0].value, "POST, PUT");
}

TEST(Router, TrailingSlashAndHeadFallBack) {
  Router router;
  ASSERT_TRUE(router.add(Method::kGet, "/api/v1/runs", echo("list")).ok());
  Response response;
  auto request = make(Method::kGet, "/api/v1/runs/");
  router.dispatch(request, response);
  EXPECT_EQ(body_of(response)["route"], "list");
  request = make(Method::kHead, "/api/v1/runs");
  response = {};
  router.dispatch(request, response);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(body_of(response)["route"], "list");
}

TEST(Router, RejectsBadPatternsAndDuplicates) {
  Router router;
  EXPECT_EQ(router.add(Method::kGet, "api/v1", echo("x")).message(), "route pattern 'api/v1' must start with '/'");
  EXPECT_EQ(router.add(Method::kGet, "/a/{rest...}/b", echo("x")).message(),
            "route pattern '/a/{rest...}/b': '{rest...}' must be the last segment");
  EXPECT_EQ(router.add(Method::kGet, "/a/x{id}", echo("x")).message(),
            "route pattern '/a/x{id}': a parameter must be a whole segment");
  ASSERT_TRUE(router.add(Method::kGet, "/a/{id}", echo("x")).ok());
  EXPECT_EQ(router.add(Method::kGet, "/a/{id}", echo("x")).message(), "route GET /a/{id} is registered twice");
  EXPECT_EQ(router.add(Method::kGet, "/a/{name}/b", echo("x")).message(),
            "route pattern '/a/{name}/b': parameter '{name}' conflicts with '{id}' at the same place");
  EXPECT_EQ(router.routes().size(), 1u);
}

TEST(Router, BadPercentEncodingIs400AndThrowingHandlerIs500) {
  Router router;
  ASSERT_TRUE(router.add(Method::kGet, "/a/{id}", echo("x")).ok());
  ASSERT_TRUE(router.add(Method::kGet, "/boom", [](const Request&, Response&) {
                throw std::runtime_error("kaboom");
              }).ok());
  Response response;
  auto request = make(Method::kGet, "/a/%zz");
  router.dispatch(request, response);
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(body_of(response)["message"], "malformed percent-encoding in '%zz'");
  request = make(Method::kGet, "/boom");
  response = {};
  router.dispatch(request, response);
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(body_of(response)["message"], "internal error: kaboom");
}

TEST(Router, ErrorFormatByLongestPrefix) {
  Router router;
  router.set_error_format("/v2", [](int status, std::string_view, std::string_view message) {
    return Response::json(status, nlohmann::json{{"error", message}}.dump());
  });
  Response response;
  auto request = make(Method::kGet, "/v2/models/x");
  router.dispatch(request, response);
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(body_of(response), (nlohmann::json{{"error", "no endpoint GET /v2/models/x"}}));
  request = make(Method::kGet, "/api/x");
  response = {};
  router.dispatch(request, response);
  EXPECT_EQ(body_of(response)["error_code"], "ENDPOINT_NOT_FOUND");
}

TEST(Router, AsyncHandlersAreReturnedForTheCaller) {
  Router router;
  ASSERT_TRUE(router.add_async(Method::kPost, "/infer", [](const Request&, Responder) {}).ok());
  Response response;
  auto request = make(Method::kPost, "/infer");
  EXPECT_NE(router.dispatch(request, response), nullptr);
}

TEST(Query, ParsesAndDecodes) {
  auto q = parse_query("path=1%2Fabc%2Fartifacts&x=a+b&flag&x=2&");
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"path", "1/abc/artifacts"}));
  EXPECT_EQ(q[1], (std::pair<std::string, std::string>{"x", "a b"}));
  EXPECT_EQ(q[2], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_EQ(q[3], (std::pair<std::string, std::string>{"x", "2"}));
  EXPECT_EQ(percent_decode("a%2"), std::nullopt);
  EXPECT_EQ(percent_decode("a+b"), "a+b");
}

TEST(Request, HeadersAreCaseInsensitive) {
  Request r;
  r.headers.push_back({"Content-Type", "application/json"});
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("accept"), "");
}

}  // namespace
}  // namespace slipway::server
