// Streaming summaries used by the profiler (private to slipway::data): an open-addressing hash
// index for exact distinct counting, HyperLogLog for distinct counts above the exact limit, a
// deterministic mergeable quantile sketch with a tracked rank-error bound, and SpaceSaving heavy
// hitters for the most frequent values of high-cardinality columns.
#pragma once

#include <bit>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace slipway::data::detail {

// Maps 64-bit hashes to dense ids 0, 1, 2, ... in insertion order. Flat open addressing with linear
// probing and load factor <= 1/2: one cache line per lookup, no allocation per insert.
class FlatHashIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  FlatHashIndex() { rehash(64); }

  size_t size() const { return size_; }

  // Returns the id of `key`, inserting it (id = size() before the call) when new.
  uint32_t insert(uint64_t key) {
    if (key == 0) {
      if (zero_id_ == kNone) zero_id_ = static_cast<uint32_t>(size_++);
      return zero_id_;
    }
    size_t i = slot_of(key);
    while (true) {
      const Slot& slot = slots_[i];
      if (slot.key == key) return slot.id;
      if (slot.key == 0) break;
      i = (i + 1) & mask_;
    }
    const auto id = static_cast<uint32_t>(size_++);
    slots_[i] = {key, id};
    if (2 * size_ > slots_.size()) rehash(2 * slots_.size());
    return id;
  }

  // Lookups miss the cache once the table outgrows it; callers prefetch a few keys ahead.
  void prefetch(uint64_t key) const { __builtin_prefetch(&slots_[slot_of(key)]); }

  // Calls f(key, id) for every entry.
  template <typename F>
  void for_each(F&& f) const {
    if (zero_id_ != kNone) f(uint64_t{0}, zero_id_);
    for (const Slot& slot : slots_) {
      if (slot.key != 0) f(slot.key, slot.id);
    }
  }

  void release() {
    std::vector<Slot>().swap(slots_);
    size_ = 0;
    zero_id_ = kNone;
  }

 private:
  size_t slot_of(uint64_t key) const { return (key * 0x9e3779b97f4a7c15ULL) >> shift_ & mask_; }
  void rehash(size_t capacity);

  struct Slot {
    uint64_t key;  // 0 = empty; the key 0 itself lives in zero_id_
    uint32_t id;
  };
  std::vector<Slot> slots_;  // key and id side by side: one cache miss per lookup
  size_t mask_ = 0;
  unsigned shift_ = 0;
  size_t size_ = 0;
  uint32_t zero_id_ = kNone;
};

// HyperLogLog (Flajolet et al. 2007) with precision p = 14: 16384 one-byte registers, relative
// standard error 1.04 / sqrt(2^14) = 0.81%. The estimate uses Ertl's improved estimator ("New
// cardinality estimation algorithms for HyperLogLog sketches", 2017), which is unbiased from 0 to
// far beyond 2^50 without the empirical bias tables of HLL++. Merging is a register-wise max, so a
// merged sketch equals the sketch of the combined stream.
class HyperLogLog {
 public:
  static constexpr unsigned kPrecision = 14;
  static constexpr size_t kRegisters = size_t{1} << kPrecision;
  static constexpr double kRelativeStandardError = 1.04 / 128.0;  // 1.04 / sqrt(2^14)

  HyperLogLog() : registers_(kRegisters, 0) {}

  // `hash` must be a well-mixed 64-bit hash (xxh3_64).
  void add_hash(uint64_t hash) {
    const size_t index = hash >> (64 - kPrecision);
    const uint64_t rest = hash << kPrecision;  // the remaining 50 bits, left-aligned
    const auto rank = static_cast<uint8_t>(rest == 0 ? 64 - kPrecision + 1 : std::countl_zero(rest) + 1);
    if (rank > registers_[index]) registers_[index] = rank;
  }
  void merge(const HyperLogLog& other);
  double estimate() const;

 private:
  std::vector<uint8_t> registers_;
};

// Deterministic mergeable quantile sketch: a stack of compactors (Manku, Rajagopalan & Lindsay
// 1998; the compactor view of Karnin, Lang & Liberty 2016, but with equal capacities and
// alternating instead of random offsets, so results are reproducible). Level h holds items of
// weight 2^h. When a level reaches `capacity` items it is sorted and every other item (offset
// alternating between compactions) moves up with twice the weight.
//
// Error bound: for any y, one compaction at level h changes the estimated number of items <= y
// (or < y) by at most 2^h. The sketch adds up these weights over every compaction it (and every
// sketch merged into it) performed, so rank_error_bound() is a proven worst-case bound on
// |estimated rank - true rank|, not an expectation. Each level contributes about n / capacity, so
// the bound is about log2(n / capacity) / capacity of n: ~0.22% at n = 2M, ~0.45% at n = 1e9
// with the default capacity 4096 (at most ~20 levels * 32 KiB of memory).
class QuantileSketch {
 public:
  explicit QuantileSketch(size_t capacity = 4096);

  void add(double value) {
    levels_[0].push_back(value);
    ++count_;
    if (levels_[0].size() >= capacity_) compact_from(0);
  }
  void merge(const QuantileSketch& other);

  uint64_t count() const { return count_; }
  uint64_t rank_error_bound() const { return error_; }
  double rank_error_fraction() const {
    return count_ == 0 ? 0.0 : static_cast<double>(error_) / static_cast<double>(count_);
  }
  // For each q in [0, 1] (ascending), the smallest retained value whose estimated rank reaches
  // q * (count - 1) + 1. Its true rank is within rank_error_bound() of that target.
  std::vector<double> quantiles(const std::vector<double>& qs) const;

 private:
  void compact_from(size_t level);
  void sort_level(std::vector<double>& values);
  void add_level();

  size_t capacity_;
  std::vector<std::vector<double>> levels_;  // unsorted; sorted when compacted
  std::vector<uint8_t> offsets_;             // next compaction offset per level (0 or 1)
  // Levels above 0 receive whole sorted runs; with at most two runs a compaction merges them
  // instead of sorting. kUnknownRuns after a sketch merge appended arbitrary data.
  static constexpr uint8_t kUnknownRuns = 3;
  std::vector<uint8_t> runs_;
  std::vector<size_t> second_run_;
  uint64_t count_ = 0;
  uint64_t error_ = 0;
  std::vector<uint64_t> keys_, keys_spare_;  // radix sort buffers
  std::vector<double> scratch_;
};

// SpaceSaving (Metwally, Agrawal & El Abbadi 2005) with `capacity` counters. Every value whose true
// frequency exceeds n / capacity is monitored, and each reported count overestimates the true
// count by at most the smallest counter (<= n / capacity). Merging follows Agarwal et al.
// ("Mergeable summaries", 2012): counts add, a value missing from a full summary is charged that
// summary's minimum, then the largest `capacity` counters are kept — counts stay upper bounds.
class HeavyHitters {
 public:
  struct Entry {
    uint64_t key = 0;
    uint64_t count = 0;
    std::string text;
  };

  explicit HeavyHitters(size_t capacity) : capacity_(capacity) {}

  // `key` identifies the value (its hash); `text` is stored only when the value becomes monitored.
  void add(uint64_t key, std::string_view text, uint64_t count = 1);
  void merge(const HeavyHitters& other);
  // Entries by count descending, then text ascending.
  std::vector<Entry> top(size_t n) const;
  size_t capacity() const { return capacity_; }

 private:
  uint64_t min_count() const { return heap_.empty() ? 0 : entries_[heap_[0]].count; }
  void sift_down(size_t pos);
  void sift_up(size_t pos);
  void rebuild(std::vector<Entry> entries);

  size_t capacity_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> heap_;      // min-heap of entry indices by count
  std::vector<uint32_t> heap_pos_;  // entry index -> position in heap_
  std::unordered_map<uint64_t, uint32_t> index_;
};

// Exact quantiles of kept values (bucket, then select): doubles map to order keys (unsigned,
// ordered like the doubles, -0 before +0, NaN never stored), keys are counted in buckets that split a
// key range evenly, and only the values of the buckets holding the wanted ranks are gathered.
inline uint64_t order_key(double v) {
  const uint64_t u = std::bit_cast<uint64_t>(v);
  return (u >> 63) ? ~u : (u | (uint64_t{1} << 63));
}
inline double from_order_key(uint64_t k) {
  return std::bit_cast<double>((k >> 63) ? (k & ~(uint64_t{1} << 63)) : ~k);
}

// `n` buckets splitting the keys [lo, hi] evenly; keys below lo fall in the first, keys above hi in
// the last. Monotone in the key.
struct KeyBuckets {
  uint64_t lo = 0, hi = UINT64_MAX;
  size_t n = 0;
  uint64_t scale = 0;  // 2^64 * n / (hi - lo + 1), 0 when the range has no more keys than buckets

  KeyBuckets() = default;
  KeyBuckets(uint64_t lo_key, uint64_t hi_key, size_t buckets) : lo(lo_key), hi(hi_key), n(buckets) {
    __extension__ using u128 = unsigned __int128;
    const u128 width = static_cast<u128>(hi - lo) + 1;
    if (width > n) scale = static_cast<uint64_t>((static_cast<u128>(n) << 64) / width);
  }
  bool operator==(const KeyBuckets& o) const { return lo == o.lo && hi == o.hi && n == o.n; }

  size_t of(uint64_t k) const {
    __extension__ using u128 = unsigned __int128;
    if (k <= lo) return 0;
    if (k > hi) return n - 1;
    if (scale == 0) return static_cast<size_t>(k - lo);
    return static_cast<size_t>((static_cast<u128>(k - lo) * scale) >> 64);
  }
  // The smallest key in [a, b] whose bucket is >= j, or b + 1 (as a wider number) when none is.
  uint64_t first_key(size_t j, uint64_t a, uint64_t b, bool* none) const {
    *none = false;
    if (of(a) >= j) return a;
    if (of(b) < j) {
      *none = true;
      return b;
    }
    uint64_t low = a, high = b;  // of(low) < j <= of(high)
    while (high - low > 1) {
      const uint64_t mid = low + (high - low) / 2;
      (of(mid) >= j ? high : low) = mid;
    }
    return high;
  }
};

}  // namespace slipway::data::detail
