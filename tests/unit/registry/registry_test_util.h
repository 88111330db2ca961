// A fresh store per test in the temp folder, a Registry and a Tracking over it, and the golden
// linear bundle from tests/data.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <memory>

#include "slipway/core/fs.h"
#include "slipway/model/bundle.h"
#include "slipway/registry/registry.h"
#include "slipway/store/store.h"
#include "slipway/track/tracking.h"

namespace slipway::registry {

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    const ::slipway::Status slipway_st_ = (expr);           \
    ASSERT_TRUE(slipway_st_.ok()) << slipway_st_.message(); \
  } while (0)

inline const std::filesystem::path kLinearBundle =
    std::filesystem::path(SLIPWAY_TEST_DATA) / "models" / "bundles" / "linear_v1.slw";

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            fmt::format("slipway_registry_test_{}_{}", ::getpid(),
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    auto created = store::Store::create(root_);
    ASSERT_TRUE(created.ok()) << created.status().message();
    store_ = std::move(*created);
    registry_ = std::make_unique<Registry>(*store_);
    tracking_ = std::make_unique<track::Tracking>(*store_);
  }
  void TearDown() override {
    registry_.reset();
    tracking_.reset();
    store_.reset();
    std::filesystem::remove_all(root_);
  }

  Actor alice(const std::string& reason = "testing") { return {"alice", reason}; }

  // Registers the golden linear bundle as a new version of `name`.
  ModelVersion register_file(const std::string& name, std::vector<std::string> aliases = {}) {
    auto v = registry_->version_from_bundle_file(kLinearBundle);
    EXPECT_TRUE(v.ok()) << v.status().message();
    if (!v.ok()) return {};
    v->name = name;
    v->aliases = std::move(aliases);
    auto created = registry_->register_version(*v, alice());
    EXPECT_TRUE(created.ok()) << created.status().message();
    return created.ok() ? *created : ModelVersion{};
  }

  std::filesystem::path root_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<track::Tracking> tracking_;
};

}  // namespace slipway::registry
