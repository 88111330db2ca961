#include <fstream>

#include "track_test_util.h"

namespace slipway::track {
namespace {

TEST_F(TrackTest, ArtifactsRoundTripListAndReplace) {
  std::string run = new_run();
  ASSERT_OK(tracking_->put_artifact(run, "model/config.json", "{\"a\": 1}"));
  ASSERT_OK(tracking_->put_artifact(run, "model/weights.bin", std::string(1000, 'w')));
  ASSERT_OK(tracking_->put_artifact(run, "plots/roc/roc.png", "png"));
  ASSERT_OK(tracking_->put_artifact(run, "notes.txt", "first"));
  ASSERT_OK(tracking_->put_artifact(run, "notes.txt", "second"));  // replaced
  EXPECT_EQ(*tracking_->get_artifact(run, "notes.txt"), "second");
  EXPECT_EQ(*tracking_->get_artifact(run, "model/weights.bin"), std::string(1000, 'w'));

  auto top = tracking_->list_artifacts(run);
  ASSERT_TRUE(top.ok()) << top.status().message();
  ASSERT_EQ(top->size(), 3u);
  EXPECT_EQ((*top)[0].path, "model");
  EXPECT_TRUE((*top)[0].is_dir);
  EXPECT_EQ((*top)[1].path, "notes.txt");
  EXPECT_EQ((*top)[1].size, 6);
  EXPECT_EQ((*top)[2].path, "plots");
  auto model = tracking_->list_artifacts(run, "model");
  ASSERT_EQ(model->size(), 2u);
  EXPECT_EQ((*model)[1].path, "model/weights.bin");
  EXPECT_EQ((*model)[1].size, 1000);
  auto plots = tracking_->list_artifacts(run, "plots/");
  ASSERT_EQ(plots->size(), 1u);
  EXPECT_EQ((*plots)[0].path, "plots/roc");
  EXPECT_TRUE((*plots)[0].is_dir);
  EXPECT_TRUE(tracking_->list_artifacts(run, "nothing")->empty());

  // The content is an object in the store, verified on read.
  auto again = store_->objects().put("second");
  EXPECT_FALSE(again->written);

  auto file = root_ / "upload.txt";
  std::ofstream(file) << "from a file";
  ASSERT_OK(tracking_->put_artifact_file(run, "upload.txt", file));
  EXPECT_EQ(*tracking_->get_artifact(run, "upload.txt"), "from a file");
}

TEST_F(TrackTest, ArtifactPathsAreValidated) {
  std::string run = new_run();
  EXPECT_EQ(tracking_->put_artifact(run, "../etc/passwd", "x").message(),
            "invalid artifact path '../etc/passwd': it must not contain '..'");
  EXPECT_EQ(tracking_->put_artifact(run, "/abs", "x").message(),
            "invalid artifact path '/abs': it must be relative (no leading '/')");
  EXPECT_EQ(tracking_->put_artifact(run, "a//b", "x").message(),
            "invalid artifact path 'a//b': it must not contain empty parts ('//' or a trailing '/')");
  EXPECT_EQ(tracking_->put_artifact(run, "", "x").message(), "invalid artifact path '': it must not be empty");
  ASSERT_OK(tracking_->put_artifact(run, "a/b", "x"));
  EXPECT_EQ(tracking_->put_artifact(run, "a/b/c", "x").message(),
            "artifact path 'a/b/c': 'a/b' is already a file of run " + run);
  EXPECT_EQ(tracking_->put_artifact(run, "a", "x").message(), "artifact path 'a' is a folder of run " + run);
  EXPECT_EQ(tracking_->get_artifact(run, "a/c").status().message(), "run " + run + " has no artifact 'a/c'");
  EXPECT_EQ(tracking_->put_artifact("nope", "x", "x").message(), "run 'nope' not found");
}

}  // namespace
}  // namespace slipway::track
