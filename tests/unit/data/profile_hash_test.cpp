// The profiler hashes each numeric value with XXH3's 4-to-8-byte path called directly (inlined);
// distinct counts and HyperLogLog estimates in stored profiles depend on it being exactly
// XXH3-64 of the value's 8 bytes with seed 0.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <limits>
#include <random>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "slipway/core/hash.h"

namespace {

uint64_t direct(uint64_t v) {
  return XXH3_len_4to8_64b(reinterpret_cast<const xxh_u8*>(&v), sizeof v, XXH3_kSecret, 0);
}

TEST(ProfileHash, DirectPathEqualsXxh3Of8Bytes) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = rng();
    ASSERT_EQ(direct(v), slipway::xxh3_64(&v, sizeof v, 0)) << v;
  }
  for (double d : {0.0, 1.0, -1.0, 0.1, 1e300, std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::quiet_NaN()}) {
    const auto v = std::bit_cast<uint64_t>(d);
    EXPECT_EQ(direct(v), slipway::xxh3_64(&v, sizeof v, 0)) << d;
  }
}

}  // namespace
