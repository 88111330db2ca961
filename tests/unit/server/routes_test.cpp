// Every route the tracking server registers is described in docs/api/tracking.openapi.yaml and
// every path there is registered (the /ajax-api/ aliases of the MLflow routes are described once).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <set>
#include <thread>
#include <vector>

#include "slipway/server/tracking_server.h"
#include "slipway/store/store.h"

namespace slipway::server {
namespace {

std::string normalize(std::string path) {
  static const std::regex param(R"(\{[^}]*\})");
  return std::regex_replace(path, param, "{}");
}

std::set<std::string> documented_routes() {
  std::ifstream in(std::string(SLIPWAY_TEST_DATA) + "/../../docs/api/tracking.openapi.yaml");
  EXPECT_TRUE(in.good());
  std::set<std::string> out;
  std::string line, path;
  bool in_paths = false;
  static const std::regex path_line(R"(^  (/[^:]*):\s*$)");
  static const std::regex method_line(R"(^    (get|post|put|patch|delete):)");
  while (std::getline(in, line)) {
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (in_paths && !line.empty() && line[0] != ' ' && line[0] != '#') break;
    std::smatch m;
    if (in_paths && std::regex_match(line, m, path_line)) path = m[1];
    if (in_paths && std::regex_search(line, m, method_line)) {
      std::string method = m[1];
      for (auto& c : method) c = static_cast<char>(std::toupper(c));
      out.insert(method + " " + normalize(path));
    }
  }
  return out;
}

TEST(Routes, ServedRoutesAndTheOpenApiFileAgree) {
  auto root = std::filesystem::temp_directory_path() / fmt::format("slipway_routes_test_{}", ::getpid());
  std::filesystem::remove_all(root);
  ASSERT_TRUE(store::Store::create(root).ok());
  auto service = TrackingService::open(root);
  ASSERT_TRUE(service.ok()) << service.status().message();
  Router router;
  ASSERT_TRUE((*service)->add_routes(router).ok());

  std::set<std::string> served;
  for (const auto& r : router.routes()) {
    if (r.pattern.starts_with("/ajax-api/")) continue;
    served.insert(std::string(method_name(r.method)) + " " + normalize(r.pattern));
  }
  auto documented = documented_routes();
  for (const auto& r : served) EXPECT_TRUE(documented.count(r)) << r << " is served but not in the OpenAPI file";
  for (const auto& r : documented) EXPECT_TRUE(served.count(r)) << r << " is documented but not served";
  EXPECT_GE(served.size(), 40u);
  std::filesystem::remove_all(root);
}

// Concurrent log-batch requests are written in groups sharing one transaction; each request still
// gets its own answer, and a bad one (a param conflict) writes nothing while the others commit.
TEST(Routes, ConcurrentLogBatchesAnswerOneByOne) {
  auto root = std::filesystem::temp_directory_path() / fmt::format("slipway_routes_group_test_{}", ::getpid());
  std::filesystem::remove_all(root);
  ASSERT_TRUE(store::Store::create(root).ok());
  auto service = TrackingService::open(root);
  ASSERT_TRUE(service.ok()) << service.status().message();
  Router router;
  ASSERT_TRUE((*service)->add_routes(router).ok());
  auto call = [&](Method method, const std::string& path, const std::string& body) {
    Request request;
    request.method = method;
    request.path = path;
    request.body = body;
    request.headers.push_back({"Content-Type", "application/json"});
    Response response;
    EXPECT_EQ(router.dispatch(request, response), nullptr);
    return response;
  };
  Response created = call(Method::kPost, "/api/2.0/mlflow/runs/create", R"({"experiment_id": "0"})");
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string run = created.body.substr(created.body.find("\"run_id\":\"") + 10, 32);
  ASSERT_EQ(call(Method::kPost, "/api/2.0/mlflow/runs/log-parameter",
                 fmt::format(R"({{"run_id": "{}", "key": "lr", "value": "0.1"}})", run))
                .status,
            200);

  constexpr int kThreads = 8, kBatches = 20;
  std::vector<std::thread> threads;
  std::vector<int> bad_answers(kThreads, 0), good_answers(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        const int step = t * kBatches + b;
        // Every fifth request of thread 0 also logs lr with another value: refused as a whole.
        const bool bad = t == 0 && b % 5 == 0;
        std::string body = fmt::format(R"({{"run_id": "{}", "metrics": [{{"key": "loss", "value": {}, )"
                                       R"("timestamp": 1, "step": {}}}]{}}})",
                                       run, step, step, bad ? R"(, "params": [{"key": "lr", "value": "0.2"}])" : "");
        Response r = call(Method::kPost, "/api/2.0/mlflow/runs/log-batch", body);
        if (bad) {
          bad_answers[t] += r.status == 400 && r.body.find("params are immutable") != std::string::npos;
        } else {
          good_answers[t] += r.status == 200;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  int bad = 0, good = 0;
  for (int t = 0; t < kThreads; ++t) {
    bad += bad_answers[t];
    good += good_answers[t];
  }
  EXPECT_EQ(bad, kBatches / 5);
  EXPECT_EQ(good, kThreads * kBatches - kBatches / 5);
  Request get;
  get.method = Method::kGet;
  get.path = "/api/2.0/mlflow/metrics/get-history";
  get.query = fmt::format("run_id={}&metric_key=loss", run);
  Response got;
  router.dispatch(get, got);
  ASSERT_EQ(got.status, 200) << got.body;
  size_t points = 0;
  for (size_t at = got.body.find("\"step\""); at != std::string::npos; at = got.body.find("\"step\"", at + 1)) ++points;
  EXPECT_EQ(points, static_cast<size_t>(kThreads * kBatches - kBatches / 5));
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace slipway::server
