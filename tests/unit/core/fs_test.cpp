#include <gtest/gtest.h>

#include <unistd.h>

#include "slipway/core/fs.h"

namespace slipway {
namespace {

TEST(Fs, AtomicWriteReplacesAndLeavesNoTemp) {
  fs::path dir = fs::temp_directory_path() / ("slipway_fs_test_" + std::to_string(::getpid()));
  ASSERT_TRUE(make_directories(dir).ok());
  fs::path file = dir / "a.txt";
  ASSERT_TRUE(write_file_atomic(file, "one").ok());
  ASSERT_TRUE(write_file_atomic(file, "two").ok());
  auto text = read_file(file);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "two");
  size_t entries = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1u);
  fs::remove_all(dir);
}

TEST(Fs, ReadMissingFileIsNotFound) {
  auto r = read_file("/nonexistent/slipway/file");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.status().message(), "no such file: /nonexistent/slipway/file");
}

}  // namespace
}  // namespace slipway
