#include <gtest/gtest.h>

#include "slipway/core/hash.h"

namespace slipway {
namespace {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, IncrementalEqualsOneShot) {
  Sha256 h;
  h.update("a");
  h.update("bc");
  EXPECT_EQ(to_hex(h.finish()), sha256_hex("abc"));
  // finish() resets the state.
  h.update("abc");
  EXPECT_EQ(to_hex(h.finish()), sha256_hex("abc"));
}

TEST(Sha256, HexRoundTripAndErrors) {
  auto d = sha256("abc");
  auto back = digest_from_hex(to_hex(d));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, d);
  auto bad = digest_from_hex("xyz");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "'xyz' is not a SHA-256 id (64 hex characters)");
}

}  // namespace
}  // namespace slipway
