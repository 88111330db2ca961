// A fresh store per test in the temp folder, and a Tracking over it.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <memory>

#include "slipway/store/store.h"
#include "slipway/track/tracking.h"

namespace slipway::track {

#define ASSERT_OK(expr)                                        \
  do {                                                         \
    const ::slipway::Status slipway_st_ = (expr);              \
    ASSERT_TRUE(slipway_st_.ok()) << slipway_st_.message();    \
  } while (0)

class TrackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            fmt::format("slipway_track_test_{}_{}", ::getpid(),
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    auto created = store::Store::create(root_);
    ASSERT_TRUE(created.ok()) << created.status().message();
    store_ = std::move(*created);
    tracking_ = std::make_unique<Tracking>(*store_);
  }
  void TearDown() override {
    tracking_.reset();
    store_.reset();
    std::filesystem::remove_all(root_);
  }

  std::string new_run(int64_t experiment = 0, const std::string& name = "") {
    CreateRunRequest request;
    request.experiment_id = experiment;
    request.run_name = name;
    auto info = tracking_->create_run(request);
    EXPECT_TRUE(info.ok()) << info.status().message();
    return info.ok() ? info->run_id : std::string();
  }

  std::filesystem::path root_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Tracking> tracking_;
};

}  // namespace slipway::track
