#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include "slipway/core/fs.h"
#include "slipway/store/store.h"

namespace slipway::store {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            fmt::format("slipway_store_test_{}_{}", ::getpid(),
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::filesystem::path root_;
};

TEST_F(StoreTest, CreateThenOpen) {
  auto created = Store::create(root_);
  ASSERT_TRUE(created.ok()) << created.status().message();
  auto again = Store::create(root_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().message(), fmt::format("a slipway store already exists at {}", root_.string()));
  created->reset();
  auto opened = Store::open(root_);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ((*opened)->schema_version(), current_schema_version());
}

TEST_F(StoreTest, OpenMissingStoreSaysWhatToDo) {
  auto opened = Store::open(root_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(opened.status().message().find("run `slipway init`"), std::string::npos);
}

TEST_F(StoreTest, NewerSchemaIsRefused) {
  ASSERT_TRUE(Store::create(root_).ok());
  {
    auto db = Database::open(root_ / "metadata.db", false);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->exec("PRAGMA user_version = 999").ok());
  }
  auto opened = Store::open(root_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kUnsupportedVersion);
  EXPECT_NE(opened.status().message().find("written by a newer slipway (metadata schema 999"), std::string::npos);
}

TEST_F(StoreTest, ObjectsRoundTripDedupAndVerify) {
  auto store = Store::create(root_);
  ASSERT_TRUE(store.ok());
  auto& objects = (*store)->objects();
  std::string big(100000, 'a');  // compressible: stored with zstd
  auto put1 = objects.put(big);
  ASSERT_TRUE(put1.ok());
  EXPECT_TRUE(put1->written);
  EXPECT_LT(put1->stored_bytes, big.size() / 10);
  auto put2 = objects.put(big);
  ASSERT_TRUE(put2.ok());
  EXPECT_FALSE(put2->written);
  EXPECT_EQ(put1->id, put2->id);
  auto got = objects.get(put1->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, big);

  auto small = objects.put("hello");
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(*objects.get(small->id), "hello");

  FsckReport clean = fsck_objects(**store);
  EXPECT_EQ(clean.objects_checked, 2u);
  EXPECT_TRUE(clean.problems.empty());

  // Flip a byte in the raw object: the read and fsck both name it.
  {
    std::fstream f(objects.path_for(small->id), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(17);
    f.put('X');
  }
  auto bad = objects.get(small->id);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kCorrupt);
  EXPECT_NE(bad.status().message().find("content does not match its id"), std::string::npos);
  FsckReport dirty = fsck_objects(**store);
  ASSERT_EQ(dirty.problems.size(), 1u);
  EXPECT_NE(dirty.problems[0].what.find(small->id), std::string::npos);
}

// Objects written with either match finder are ordinary zstd frames: any store reads them, and
// numeric text (the common data file) compresses with both.
TEST_F(StoreTest, SmallMatchTableAndPlainLevelReadEachOther) {
  std::string csv;
  uint64_t x = 12345;
  while (csv.size() < 300000) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    csv += fmt::format("{}.{:06d},{}\n", (x >> 40) % 1000, (x >> 8) % 1000000, (x >> 20) % 7 == 0 ? "NA" : "ok");
  }
  ObjectStoreOptions plain;
  plain.small_match_table = false;
  ObjectStore fast_store(root_ / "fast"), plain_store(root_ / "plain", plain);
  auto fast_put = fast_store.put(csv);
  auto plain_put = plain_store.put(csv);
  ASSERT_TRUE(fast_put.ok() && plain_put.ok());
  EXPECT_EQ(fast_put->id, plain_put->id);
  EXPECT_LT(fast_put->stored_bytes, csv.size() * 6 / 10);
  EXPECT_LT(plain_put->stored_bytes, csv.size() * 6 / 10);
  std::filesystem::create_directories(root_ / "swapped");
  std::filesystem::rename(root_ / "fast", root_ / "swapped" / "plain");
  std::filesystem::rename(root_ / "plain", root_ / "fast");
  std::filesystem::rename(root_ / "swapped" / "plain", root_ / "plain");
  EXPECT_EQ(*fast_store.get(fast_put->id), csv);   // written by the plain store
  EXPECT_EQ(*plain_store.get(plain_put->id), csv);  // written by the fast store
}

TEST_F(StoreTest, TruncatedObjectIsCorrupt) {
  auto store = Store::create(root_);
  ASSERT_TRUE(store.ok());
  auto put = (*store)->objects().put(std::string(5000, 'z'));
  ASSERT_TRUE(put.ok());
  std::filesystem::resize_file((*store)->objects().path_for(put->id), 20);
  auto got = (*store)->objects().get(put->id);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), ErrorCode::kCorrupt);
}

}  // namespace
}  // namespace slipway::store
