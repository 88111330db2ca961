#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "detail/sketch.h"

namespace slipway::data::detail {

// ---- FlatHashIndex -------------------------------------------------------------------------

void FlatHashIndex::rehash(size_t capacity) {
  std::vector<Slot> old(capacity, Slot{0, 0});
  old.swap(slots_);
  mask_ = capacity - 1;
  shift_ = static_cast<unsigned>(64 - std::countr_zero(capacity));
  for (const Slot& slot : old) {
    if (slot.key == 0) continue;
    size_t s = slot_of(slot.key);
    while (slots_[s].key != 0) s = (s + 1) & mask_;
    slots_[s] = slot;
  }
}

// ---- HyperLogLog ---------------------------------------------------------------------------

void HyperLogLog::merge(const HyperLogLog& other) {
  for (size_t i = 0; i < kRegisters; ++i) registers_[i] = std::max(registers_[i], other.registers_[i]);
}

namespace {

// σ and τ from Ertl (2017), Algorithm 6: series that fold the registers at 0 and at the maximum
// value q + 1 into the estimate, replacing linear counting and the large-range correction.
double ertl_sigma(double x) {
  if (x == 1.0) return std::numeric_limits<double>::infinity();
  double y = 1.0, z = x, previous;
  do {
    x *= x;
    previous = z;
    z += x * y;
    y += y;
  } while (z != previous);
  return z;
}

double ertl_tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0, z = 1.0 - x, previous;
  do {
    x = std::sqrt(x);
    previous = z;
    y *= 0.5;
    z -= (1.0 - x) * (1.0 - x) * y;
  } while (z != previous);
  return z / 3.0;
}

}  // namespace

double HyperLogLog::estimate() const {
  constexpr unsigned q = 64 - kPrecision;
  uint64_t histogram[q + 2] = {};
  for (uint8_t r : registers_) ++histogram[r];
  const double m = static_cast<double>(kRegisters);
  double z = m * ertl_tau(1.0 - static_cast<double>(histogram[q + 1]) / m);
  for (unsigned k = q; k >= 1; --k) z = 0.5 * (z + static_cast<double>(histogram[k]));
  z += m * ertl_sigma(static_cast<double>(histogram[0]) / m);
  const double alpha_inf = 1.0 / (2.0 * std::log(2.0));
  return alpha_inf * m * m / z;
}

// ---- QuantileSketch ------------------------------------------------------------------------

QuantileSketch::QuantileSketch(size_t capacity) : capacity_(std::max<size_t>(capacity, 4)) {
  add_level();
  levels_[0].reserve(capacity_);
}

void QuantileSketch::add_level() {
  levels_.emplace_back();
  offsets_.push_back(0);
  runs_.push_back(levels_.size() == 1 ? kUnknownRuns : 0);
  second_run_.push_back(0);
}

namespace {

// Order-preserving map from double (not NaN) to uint64: flip all bits of negatives, the sign bit
// of the rest.
inline uint64_t sortable_bits(double v) {
  const auto u = std::bit_cast<uint64_t>(v);
  return u ^ (u >> 63 ? ~uint64_t{0} : uint64_t{1} << 63);
}
inline double from_sortable_bits(uint64_t u) {
  return std::bit_cast<double>(u ^ (u >> 63 ? uint64_t{1} << 63 : ~uint64_t{0}));
}

void insertion_sort(uint64_t* keys, size_t n) {
  for (size_t i = 1; i < n; ++i) {
    const uint64_t key = keys[i];
    size_t j = i;
    for (; j > 0 && keys[j - 1] > key; --j) keys[j] = keys[j - 1];
    keys[j] = key;
  }
}

void msd_radix_sort(uint64_t* keys, uint64_t* spare, size_t n, bool to_spare);

// One round of msd_radix_sort on the kBits bits below the top varying bit `top`.
template <unsigned kBits>
void radix_round(uint64_t* keys, uint64_t* spare, size_t n, bool to_spare, unsigned top) {
  constexpr uint32_t kBuckets = 1u << kBits;
  const unsigned shift = top >= kBits - 1 ? top - (kBits - 1) : 0;
  uint32_t offsets[kBuckets + 1] = {};
  for (size_t i = 0; i < n; ++i) ++offsets[((keys[i] >> shift) & (kBuckets - 1)) + 1];
  for (size_t b = 1; b <= kBuckets; ++b) offsets[b] += offsets[b - 1];
  uint32_t next[kBuckets];
  std::copy(offsets, offsets + kBuckets, next);
  for (size_t i = 0; i < n; ++i) spare[next[(keys[i] >> shift) & (kBuckets - 1)]++] = keys[i];
  // The data is now in `spare`, bucket by bucket; each bucket is finished there (or moved back to
  // `keys` when the caller wants it there) or sorted further with the buffers' roles swapped.
  const bool last_digit = shift == 0;  // the digit held the last varying bits
  for (size_t b = 0; b < kBuckets; ++b) {
    const uint32_t from = offsets[b], size = offsets[b + 1] - offsets[b];
    if (size == 0) continue;
    if (size == 1 || last_digit) {
      if (!to_spare) std::copy(spare + from, spare + from + size, keys + from);
    } else {
      msd_radix_sort(spare + from, keys + from, size, !to_spare);
    }
  }
}

// Most-significant-digit radix sort: each round buckets a range by the top bits in which its keys
// differ (so shared sign and exponent bits cost nothing), then recurses into buckets; small ranges
// get insertion sort. Several times faster than std::sort on a few thousand doubles, and sorting
// the compactor buffers is most of the sketch's per-value cost. Large ranges take an 11-bit digit:
// real columns vary in a narrow band of exponents, so a byte often splits a compactor buffer into
// only a handful of buckets. Rounds scatter from `keys` into `spare` and recurse with the roles
// swapped instead of copying back; `to_spare` says where the caller wants the sorted range.
void msd_radix_sort(uint64_t* keys, uint64_t* spare, size_t n, bool to_spare) {
  if (n <= 32) {
    insertion_sort(keys, n);
    if (to_spare) std::copy(keys, keys + n, spare);
    return;
  }
  uint64_t any = 0, all = ~uint64_t{0};
  for (size_t i = 0; i < n; ++i) {
    any |= keys[i];
    all &= keys[i];
  }
  const uint64_t varying = any & ~all;
  if (varying == 0) {  // all equal
    if (to_spare) std::copy(keys, keys + n, spare);
    return;
  }
  const unsigned top = 63 - static_cast<unsigned>(std::countl_zero(varying));
  if (n >= 1024) {
    radix_round<11>(keys, spare, n, to_spare, top);
  } else {
    radix_round<8>(keys, spare, n, to_spare, top);
  }
}

}  // namespace

void QuantileSketch::sort_level(std::vector<double>& values) {
  const size_t n = values.size();
  keys_.resize(n);
  keys_spare_.resize(n);
  for (size_t i = 0; i < n; ++i) keys_[i] = sortable_bits(values[i]);
  msd_radix_sort(keys_.data(), keys_spare_.data(), n, /*to_spare=*/false);
  for (size_t i = 0; i < n; ++i) values[i] = from_sortable_bits(keys_[i]);
}

void QuantileSketch::compact_from(size_t level) {
  for (size_t h = level; h < levels_.size() && levels_[h].size() >= capacity_; ++h) {
    if (h + 1 == levels_.size()) add_level();
    std::vector<double>& buffer = levels_[h];
    std::vector<double>& upper = levels_[h + 1];
    if (runs_[h] == 2) {
      const auto middle = buffer.begin() + static_cast<ptrdiff_t>(second_run_[h]);
      scratch_.clear();
      std::merge(buffer.begin(), middle, middle, buffer.end(), std::back_inserter(scratch_));
      buffer.swap(scratch_);
    } else if (runs_[h] > 2) {
      sort_level(buffer);
    }
    const size_t even = buffer.size() & ~size_t{1};
    const size_t offset = offsets_[h];
    offsets_[h] ^= 1;
    const size_t upper_before = upper.size();
    for (size_t i = offset; i < even; i += 2) upper.push_back(buffer[i]);
    if (runs_[h + 1] == 0) {
      runs_[h + 1] = 1;
    } else if (runs_[h + 1] == 1) {
      runs_[h + 1] = 2;
      second_run_[h + 1] = upper_before;
    } else {
      runs_[h + 1] = kUnknownRuns;
    }
    // An odd item out (the largest) stays behind, a sorted run of one.
    if (even < buffer.size()) {
      const double last = buffer.back();
      buffer.clear();
      buffer.push_back(last);
    } else {
      buffer.clear();
    }
    if (h > 0) runs_[h] = buffer.empty() ? 0 : 1;
    error_ += uint64_t{1} << h;
  }
}

void QuantileSketch::merge(const QuantileSketch& other) {
  count_ += other.count_;
  error_ += other.error_;
  while (levels_.size() < other.levels_.size()) add_level();
  for (size_t h = 0; h < other.levels_.size(); ++h) {
    if (other.levels_[h].empty()) continue;
    levels_[h].insert(levels_[h].end(), other.levels_[h].begin(), other.levels_[h].end());
    runs_[h] = kUnknownRuns;
  }
  // Compacting an over-full level all at once still costs only 2^h of rank error.
  for (size_t h = 0; h < levels_.size(); ++h) {
    if (levels_[h].size() >= capacity_) compact_from(h);
  }
}

std::vector<double> QuantileSketch::quantiles(const std::vector<double>& qs) const {
  std::vector<double> out(qs.size(), std::numeric_limits<double>::quiet_NaN());
  if (count_ == 0) return out;
  std::vector<std::pair<double, uint64_t>> items;
  for (size_t h = 0; h < levels_.size(); ++h) {
    for (double v : levels_[h]) items.emplace_back(v, uint64_t{1} << h);
  }
  std::sort(items.begin(), items.end());
  std::vector<size_t> order(qs.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return qs[a] < qs[b]; });
  const double n = static_cast<double>(count_);
  size_t j = 0;
  double cumulative = 0;
  for (const auto& [value, weight] : items) {
    cumulative += static_cast<double>(weight);
    while (j < order.size() && cumulative >= qs[order[j]] * (n - 1) + 1) out[order[j++]] = value;
  }
  for (; j < order.size(); ++j) out[order[j]] = items.back().first;
  return out;
}

// ---- HeavyHitters --------------------------------------------------------------------------

void HeavyHitters::sift_up(size_t pos) {
  while (pos > 0) {
    const size_t parent = (pos - 1) / 2;
    if (entries_[heap_[parent]].count <= entries_[heap_[pos]].count) break;
    std::swap(heap_[parent], heap_[pos]);
    heap_pos_[heap_[parent]] = static_cast<uint32_t>(parent);
    heap_pos_[heap_[pos]] = static_cast<uint32_t>(pos);
    pos = parent;
  }
}

void HeavyHitters::sift_down(size_t pos) {
  const size_t n = heap_.size();
  while (true) {
    size_t smallest = pos;
    const size_t l = 2 * pos + 1, r = l + 1;
    if (l < n && entries_[heap_[l]].count < entries_[heap_[smallest]].count) smallest = l;
    if (r < n && entries_[heap_[r]].count < entries_[heap_[smallest]].count) smallest = r;
    if (smallest == pos) return;
    std::swap(heap_[smallest], heap_[pos]);
    heap_pos_[heap_[smallest]] = static_cast<uint32_t>(smallest);
    heap_pos_[heap_[pos]] = static_cast<uint32_t>(pos);
    pos = smallest;
  }
}

void HeavyHitters::add(uint64_t key, std::string_view text, uint64_t count) {
  if (capacity_ == 0) return;
  if (auto it = index_.find(key); it != index_.end()) {
    entries_[it->second].count += count;
    sift_down(heap_pos_[it->second]);
    return;
  }
  if (entries_.size() < capacity_) {
    const auto i = static_cast<uint32_t>(entries_.size());
    entries_.push_back({key, count, std::string(text)});
    heap_.push_back(i);
    heap_pos_.push_back(static_cast<uint32_t>(heap_.size() - 1));
    index_.emplace(key, i);
    sift_up(heap_.size() - 1);
    return;
  }
  // Replace the minimum: the newcomer inherits its count as the (over)estimate of what it missed.
  const uint32_t i = heap_[0];
  index_.erase(entries_[i].key);
  entries_[i].key = key;
  entries_[i].count += count;
  entries_[i].text.assign(text);
  index_.emplace(key, i);
  sift_down(0);
}

void HeavyHitters::rebuild(std::vector<Entry> entries) {
  entries_ = std::move(entries);
  index_.clear();
  heap_.resize(entries_.size());
  heap_pos_.resize(entries_.size());
  for (size_t i = 0; i < entries_.size(); ++i) {
    index_.emplace(entries_[i].key, static_cast<uint32_t>(i));
    heap_[i] = static_cast<uint32_t>(i);
    heap_pos_[i] = static_cast<uint32_t>(i);
  }
  for (size_t i = heap_.size() / 2; i-- > 0;) sift_down(i);
}

namespace {
bool by_count_then_text(const HeavyHitters::Entry& a, const HeavyHitters::Entry& b) {
  return a.count != b.count ? a.count > b.count : a.text < b.text;
}
}  // namespace

void HeavyHitters::merge(const HeavyHitters& other) {
  const uint64_t own_floor = entries_.size() >= capacity_ ? min_count() : 0;
  const uint64_t other_floor = other.entries_.size() >= other.capacity_ ? other.min_count() : 0;
  std::vector<Entry> combined;
  combined.reserve(entries_.size() + other.entries_.size());
  for (const Entry& e : entries_) {
    auto it = other.index_.find(e.key);
    combined.push_back({e.key, e.count + (it != other.index_.end() ? other.entries_[it->second].count : other_floor),
                        e.text});
  }
  for (const Entry& e : other.entries_) {
    if (index_.count(e.key) == 0) combined.push_back({e.key, e.count + own_floor, e.text});
  }
  std::sort(combined.begin(), combined.end(), by_count_then_text);
  if (combined.size() > capacity_) combined.resize(capacity_);
  rebuild(std::move(combined));
}

std::vector<HeavyHitters::Entry> HeavyHitters::top(size_t n) const {
  std::vector<Entry> sorted = entries_;
  std::sort(sorted.begin(), sorted.end(), by_count_then_text);
  if (sorted.size() > n) sorted.resize(n);
  return sorted;
}

}  // namespace slipway::data::detail
