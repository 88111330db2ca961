// Shared by the alert tests: a fresh store per test, snapshots in one line, reading firings back.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "slipway/monitor/alerts.h"
#include "slipway/store/store.h"

namespace slipway::monitor::testing {

class AlertStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            fmt::format("slipway_alert_test_{}_{}", ::getpid(),
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    auto created = store::Store::create(root_);
    ASSERT_TRUE(created.ok()) << created.status().message();
    store_ = std::move(*created);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(root_);
  }

  std::vector<AlertRule> rules(const std::string& yaml) {
    auto parsed = parse_alert_rules(yaml, "rules.yaml");
    EXPECT_TRUE(parsed.ok()) << parsed.status().message();
    return parsed.ok() ? *parsed : std::vector<AlertRule>{};
  }

  std::unique_ptr<AlertEngine> engine(const std::string& yaml, AlertEngineOptions options = {}) {
    options.webhook_backoff_base_ms = 10;  // retries in tests need not wait long
    if (!options.clock) options.clock = [] { return int64_t{42}; };
    auto e = AlertEngine::open(root_, rules(yaml), options);
    EXPECT_TRUE(e.ok()) << e.status().message();
    return e.ok() ? std::move(*e) : nullptr;
  }

  std::vector<AlertFiring> firings(const AlertFiringFilter& filter = {}) {
    auto list = list_alert_firings(store_->db(), filter);
    EXPECT_TRUE(list.ok()) << list.status().message();
    return list.ok() ? *list : std::vector<AlertFiring>{};
  }

  AlertFiring firing(int64_t id) {
    auto f = get_alert_firing(store_->db(), id);
    EXPECT_TRUE(f.ok()) << f.status().message();
    return f.ok() ? *f : AlertFiring{};
  }

  std::filesystem::path root_;
  std::unique_ptr<store::Store> store_;
};

inline MetricSample sample(std::string metric, double value, std::string model = "flights",
                           std::map<std::string, std::string> labels = {}) {
  return {std::move(metric), std::move(labels), std::move(model), value};
}

inline MetricSnapshot snapshot(std::vector<MetricSample> samples) {
  MetricSnapshot s;
  s.samples = std::move(samples);
  return s;
}

}  // namespace slipway::monitor::testing
