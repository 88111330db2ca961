#include "slipway/data/chunker.h"

#include <algorithm>
#include <array>
#include <bit>

namespace slipway::data {

namespace {

// FastCDC's gear table: 256 random 64-bit values. Generated at compile time by SplitMix64 from the
// fixed seed below, so every build cuts at the same places. The table (and the seed) is part of
// the dataset format: changing it changes every chunk id, which defeats deduplication against
// versions already stored.
constexpr uint64_t kGearSeed = 0x736c6970776179ULL;  // "slipway"

constexpr std::array<uint64_t, 256> make_gear_table() {
  std::array<uint64_t, 256> table{};
  uint64_t state = kGearSeed;
  for (auto& entry : table) {
    state += 0x9e3779b97f4a7c15ULL;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    entry = z ^ (z >> 31);
  }
  return table;
}

constexpr std::array<uint64_t, 256> kGear = make_gear_table();

// The gear hash is fp = (fp << 1) + gear[byte], so bit k of fp depends on the last k + 1 bytes.
// The masks therefore select the TOP bits: a cut decision depends on (nearly) the last 64 bytes.
constexpr uint64_t top_bits(unsigned n) { return n == 0 ? 0 : ~uint64_t{0} << (64 - n); }

// Hashing restarts this many bytes before min_size so the window is full at the first candidate
// cut, making a cut a function of the content around it only (not of where the chunk began).
constexpr size_t kWindow = 64;

// Scans positions [i, end) and returns the index one past the first byte at which
// (fp & mask) == 0, or 0 when there is none. Unrolled by four: the four candidate fingerprints are
// computed from the same fp so the loop-carried dependency is one shift and one add per four bytes.
inline size_t scan(const uint8_t* p, size_t i, size_t end, uint64_t mask, uint64_t& fp) {
  while (i + 4 <= end) {
    const uint64_t g0 = kGear[p[i]], g1 = kGear[p[i + 1]], g2 = kGear[p[i + 2]], g3 = kGear[p[i + 3]];
    const uint64_t t1 = (g0 << 1) + g1;
    const uint64_t t2 = (t1 << 1) + g2;
    const uint64_t t3 = (t2 << 1) + g3;
    const uint64_t f0 = (fp << 1) + g0;
    const uint64_t f1 = (fp << 2) + t1;
    const uint64_t f2 = (fp << 3) + t2;
    const uint64_t f3 = (fp << 4) + t3;
    if (((f0 & mask) == 0) | ((f1 & mask) == 0) | ((f2 & mask) == 0) | ((f3 & mask) == 0)) {
      if ((f0 & mask) == 0) return fp = f0, i + 1;
      if ((f1 & mask) == 0) return fp = f1, i + 2;
      if ((f2 & mask) == 0) return fp = f2, i + 3;
      return fp = f3, i + 4;
    }
    fp = f3;
    i += 4;
  }
  for (; i < end; ++i) {
    fp = (fp << 1) + kGear[p[i]];
    if ((fp & mask) == 0) return i + 1;
  }
  return 0;
}

}  // namespace

Chunker::Chunker(ChunkerOptions options) : options_(options) {
  // Keep the sizes consistent (1 <= min <= avg <= max) whatever the caller passed.
  options_.max_size = std::max<size_t>(options_.max_size, 1);
  options_.min_size = std::min(options_.min_size, options_.max_size);
  options_.avg_size = std::clamp(options_.avg_size, options_.min_size, options_.max_size);
  // Normalized chunking, level 2 (FastCDC §3.3): before the average size a cut needs two more zero
  // bits than log2(avg), after it two fewer, which narrows the chunk-size distribution around avg.
  const unsigned bits = std::clamp<unsigned>(std::bit_width(std::max<size_t>(options_.avg_size, 1)) - 1, 4, 60);
  mask_small_ = top_bits(bits + 2);
  mask_large_ = top_bits(bits - 2);
}

size_t Chunker::next_boundary(std::string_view data, bool final) const {
  const size_t n = data.size();
  if (n == 0) return 0;
  const size_t min_size = options_.min_size;
  if (n <= min_size) return final || n >= options_.max_size ? n : 0;
  const size_t limit = std::min(n, options_.max_size);
  const size_t normal = std::min(options_.avg_size, limit);
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());

  uint64_t fp = 0;
  for (size_t i = min_size > kWindow ? min_size - kWindow : 0; i < min_size; ++i) fp = (fp << 1) + kGear[p[i]];
  size_t cut = scan(p, min_size, normal, mask_small_, fp);
  if (cut == 0) cut = scan(p, std::max(min_size, normal), limit, mask_large_, fp);
  if (cut != 0) return cut;
  if (limit == options_.max_size) return limit;  // forced cut: no content boundary within max_size
  return final ? n : 0;
}

std::vector<size_t> chunk_buffer(std::string_view data, const ChunkerOptions& options) {
  Chunker chunker(options);
  std::vector<size_t> lengths;
  lengths.reserve(data.size() / chunker.options().avg_size + 1);
  while (!data.empty()) {
    const size_t len = chunker.next_boundary(data, /*final=*/true);
    lengths.push_back(len);
    data.remove_prefix(len);
  }
  return lengths;
}

}  // namespace slipway::data
