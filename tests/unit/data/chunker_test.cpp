#include "slipway/data/chunker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "slipway/core/hash.h"

namespace slipway::data {
namespace {

// Small sizes so a few hundred KiB exercise many chunks.
const ChunkerOptions kSmall{.min_size = 2048, .avg_size = 8192, .max_size = 32768};

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<char>(v >> (8 * j));
  }
  return out;
}

std::vector<uint64_t> chunk_hashes(std::string_view data, const std::vector<size_t>& lengths) {
  std::vector<uint64_t> hashes;
  size_t offset = 0;
  for (size_t len : lengths) {
    hashes.push_back(xxh3_64(data.substr(offset, len)));
    offset += len;
  }
  return hashes;
}

// Drives the streaming API the way an ingest loop does: append pieces of arbitrary size to a
// buffer and cut every boundary the chunker can already decide.
std::vector<size_t> chunk_streaming(std::string_view data, const ChunkerOptions& options, uint64_t seed) {
  Chunker chunker(options);
  std::mt19937_64 rng(seed);
  std::vector<size_t> lengths;
  std::string pending;
  size_t fed = 0;
  while (fed < data.size()) {
    size_t piece = std::min<size_t>(1 + rng() % 20000, data.size() - fed);
    pending.append(data.substr(fed, piece));
    fed += piece;
    while (size_t len = chunker.next_boundary(pending, /*final=*/false)) {
      lengths.push_back(len);
      pending.erase(0, len);
    }
  }
  while (!pending.empty()) {
    size_t len = chunker.next_boundary(pending, /*final=*/true);
    lengths.push_back(len);
    pending.erase(0, len);
  }
  return lengths;
}

TEST(Chunker, EmptyInputHasNoChunks) {
  EXPECT_TRUE(chunk_buffer("", kSmall).empty());
  Chunker chunker(kSmall);
  EXPECT_EQ(chunker.next_boundary("", true), 0u);
  EXPECT_EQ(chunker.next_boundary("", false), 0u);
}

TEST(Chunker, ShortInputIsOneChunkOnlyAtEnd) {
  Chunker chunker(kSmall);
  std::string data = random_bytes(1000, 1);
  EXPECT_EQ(chunker.next_boundary(data, false), 0u);
  EXPECT_EQ(chunker.next_boundary(data, true), 1000u);
  EXPECT_EQ(chunk_buffer(data, kSmall), std::vector<size_t>{1000});
}

TEST(Chunker, DeterministicAndPinned) {
  std::string data = random_bytes(1 << 20, 42);
  auto a = chunk_buffer(data, kSmall);
  auto b = chunk_buffer(data, kSmall);
  EXPECT_EQ(a, b);
  EXPECT_EQ(std::accumulate(a.begin(), a.end(), size_t{0}), data.size());
  // Cut points are part of the dataset format (chunk ids): the gear table and masks must not
  // change silently. These are the first cuts of this input with the current table.
  ASSERT_GE(a.size(), 6u);
  EXPECT_EQ(std::vector<size_t>(a.begin(), a.begin() + 6), (std::vector<size_t>{3151, 19303, 9347, 9809, 9729, 10942}));
}

TEST(Chunker, RespectsMinAndMaxSize) {
  for (uint64_t seed : {1, 2, 3}) {
    std::string data = random_bytes(2 << 20, seed);
    auto lengths = chunk_buffer(data, kSmall);
    for (size_t i = 0; i + 1 < lengths.size(); ++i) {
      EXPECT_GT(lengths[i], kSmall.min_size);
      EXPECT_LE(lengths[i], kSmall.max_size);
    }
    EXPECT_LE(lengths.back(), kSmall.max_size);
    // Normalized chunking keeps the mean near the target average.
    double mean = static_cast<double>(data.size()) / static_cast<double>(lengths.size());
    EXPECT_GT(mean, 0.6 * kSmall.avg_size);
    EXPECT_LT(mean, 1.6 * kSmall.avg_size);
  }
  // Content with no boundaries (all zeros) is cut at exactly max_size.
  std::string zeros(200000, '\0');
  auto lengths = chunk_buffer(zeros, kSmall);
  for (size_t i = 0; i + 1 < lengths.size(); ++i) EXPECT_EQ(lengths[i], kSmall.max_size);
  EXPECT_EQ(std::accumulate(lengths.begin(), lengths.end(), size_t{0}), zeros.size());
}

TEST(Chunker, StreamingEqualsWholeBuffer) {
  std::string data = random_bytes(3 << 20, 7);
  auto whole = chunk_buffer(data, kSmall);
  for (uint64_t seed : {11, 12, 13}) EXPECT_EQ(chunk_streaming(data, kSmall, seed), whole);
  // Also with the default (large) sizes, where pieces are much smaller than a chunk.
  std::string big = random_bytes(5 << 20, 8);
  EXPECT_EQ(chunk_streaming(big, {}, 5), chunk_buffer(big));
}

TEST(Chunker, InsertNearStartChangesOnlyFirstChunks) {
  std::string data = random_bytes(2 << 20, 21);
  std::string edited = data;
  edited.insert(100, "some inserted bytes");
  auto before = chunk_hashes(data, chunk_buffer(data, kSmall));
  auto after = chunk_hashes(edited, chunk_buffer(edited, kSmall));
  // Everything after the first two chunks of the edited file is shared, in order.
  ASSERT_GT(after.size(), 10u);
  size_t shared_from = 2;
  std::vector<uint64_t> tail(after.begin() + shared_from, after.end());
  ASSERT_LE(tail.size(), before.size());
  EXPECT_TRUE(std::equal(tail.rbegin(), tail.rend(), before.rbegin()));
  EXPECT_NE(after.front(), before.front());
}

TEST(Chunker, AppendChangesOnlyLastChunk) {
  std::string data = random_bytes(2 << 20, 31);
  std::string appended = data + random_bytes(data.size() / 100, 32);
  auto before = chunk_hashes(data, chunk_buffer(data, kSmall));
  auto after = chunk_hashes(appended, chunk_buffer(appended, kSmall));
  ASSERT_GT(after.size(), before.size());
  EXPECT_TRUE(std::equal(before.begin(), before.end() - 1, after.begin()));
}

}  // namespace
}  // namespace slipway::data
