// Every route the tracking server registers is described in docs/api/tracking.openapi.yaml and
// every path there is registered (the /ajax-api/ aliases of the MLflow routes are described once).
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

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

}  // namespace
}  // namespace slipway::server
