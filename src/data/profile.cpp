// Dataset profiling: one streaming pass, per-column statistics, mergeable across threads.
//
// What each statistic means (the contract drift detection relies on):
// - count / missing: non-missing and missing values. NaN (float64) is a value: it counts in
//   `count` and `distinct` but is left out of min/max/mean/stddev/quantiles/histogram.
// - distinct: exact (a hash set of 64-bit value hashes) up to exact_distinct_limit distinct values;
//   above it a HyperLogLog estimate (p = 14, relative standard error 1.04/sqrt(2^14) = 0.81%) and
//   distinct_exact = false. Numbers are compared by value ("1.0" and "1" are one float64 value),
//   strings by their bytes.
// - min/max/mean/stddev: bool as 0/1, timestamps as microseconds since the epoch; stddev is the
//   sample standard deviation (n - 1), absent for fewer than two values. Per batch the sums are
//   taken around the batch's first value (shifted data), batches and threads are combined with
//   Chan et al.'s pairwise formula, so the result does not depend on how rows are split.
// - quantiles: q = 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, computed like numpy.quantile's default
//   ("linear": interpolate at position q * (n - 1)). Exact wherever the values are kept: up to
//   exact_quantile_limit values in memory, and beyond it for profilers with a spill
//   (with_kept_values, with_deferred_histograms), selected by bucket-then-select over the spill
//   (select_spilled). Values are ordered by their order key (-0 before +0), so the result depends
//   only on the multiset. A profiler without a spill switches to a deterministic quantile sketch
//   above the limit, quantile_rank_error then being its proven worst-case rank error as a fraction
//   of the count (about 0.2-0.5%).
// - histogram: histogram_bins equal-width bins over the inferred [min, max] (numpy.histogram's
//   rules: bins half-open, the last one closed); one bin when min == max. Numeric and timestamp only.
// - top_values: string, bool and int64 columns, count descending then value ascending. Exact while
//   the column has at most exact_distinct_limit distinct values. Above that, string columns switch
//   to SpaceSaving heavy hitters (capacity max(1024, 32 * top_values)): counts are then upper bounds
//   that overestimate by at most count / capacity, and top_values_exact = false; int64 columns
//   above the limit are not low-cardinality, so they report no top values (top_values_exact = false).
// - min_length / max_length: string columns, in bytes.
//
// JSON layout (stored in dataset manifests; every key is always written, absent optionals as null;
// doubles as shortest round-trip numbers, non-finite ones as the strings "inf", "-inf", "nan"):
//   {"row_count": 3,
//    "columns": [{"name": "fare", "type": "float64", "count": 3, "missing": 0,
//                 "distinct": 3, "distinct_exact": true,
//                 "min": 1.5, "max": 9.0, "mean": 4.0, "stddev": 2.1,
//                 "quantiles": [{"q": 0.01, "value": 1.53}, ...], "quantile_rank_error": 0,
//                 "histogram": {"edges": [1.5, ..., 9.0], "counts": [1, ...]},
//                 "top_values": [{"value": "a", "count": 2}], "top_values_exact": true,
//                 "min_length": null, "max_length": null}]}
// Unknown keys are ignored when reading, so later versions may add fields.

#include "slipway/data/profile.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <atomic>
#include <functional>
#include <future>
#include <limits>
#include <map>

#include "detail/sketch.h"
#include "detail/value_spill.h"
#include "slipway/core/hash.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace slipway::data {

using table::DataType;

namespace {

constexpr double kQuantileLevels[] = {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99};

// XXH3-64 (seed 0) of the 8 bytes of `v`, inlined: identical to xxh3_64(&v, 8), which it replaces
// on the per-value path because a call per value costs as much as the hash itself. XXH3's own
// 4-to-8-byte path is called directly (GCC leaves XXH3_64bits_withSeed an out-of-line call);
// profile_hash_test checks that the two agree.
inline uint64_t hash_8_bytes(uint64_t v) {
  return XXH3_len_4to8_64b(reinterpret_cast<const xxh_u8*>(&v), sizeof v, XXH3_kSecret, 0);
}
inline uint64_t hash_int(int64_t v) { return hash_8_bytes(static_cast<uint64_t>(v)); }
inline uint64_t hash_double(double v) {
  if (v == 0) v = 0.0;  // -0.0 == 0.0
  if (std::isnan(v)) v = std::numeric_limits<double>::quiet_NaN();
  return hash_8_bytes(std::bit_cast<uint64_t>(v));
}

struct NumericStats {
  uint64_t n = 0;
  double mean = 0, m2 = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();

  // Chan, Golub & LeVeque (1979): combine (n, mean, M2) of two disjoint parts.
  void merge(const NumericStats& o) {
    if (o.n == 0) return;
    if (n == 0) {
      *this = o;
      return;
    }
    const double na = static_cast<double>(n), nb = static_cast<double>(o.n), total = na + nb;
    const double delta = o.mean - mean;
    mean += delta * (nb / total);
    m2 += o.m2 + delta * delta * (na * nb / total);
    n += o.n;
    min = std::min(min, o.min);
    max = std::max(max, o.max);
  }
};

}  // namespace

struct ColumnState {
  std::string name;
  DataType type = DataType::kString;
  bool track_top = false;
  uint64_t count = 0, missing = 0;

  // Distinct values: exact index of value hashes, then HyperLogLog.
  detail::FlatHashIndex index;
  bool overflowed = false;
  std::unique_ptr<detail::HyperLogLog> hll;
  // Exact counts and texts by index id while !overflowed (track_top columns).
  std::vector<uint64_t> counts;
  std::string arena;
  std::vector<std::pair<size_t, uint32_t>> spans;
  std::unique_ptr<detail::HeavyHitters> heavy;  // string columns after overflow

  NumericStats stats;
  std::vector<double> exact_values;
  std::unique_ptr<detail::QuantileSketch> sketch;  // only where values are not kept (no spill)
  // Deferred histograms: values past exact_values, on their way to the spill.
  bool spilling = false;
  // Values kept for exact quantiles (the profiler has a spill): past exact_quantile_limit they go
  // to the spill instead of a sketch.
  bool keep = false;
  bool spilled = false;  // some of the column's values are in a spill (this profiler's or a merged one's)
  std::vector<double> spill_pending;
  // Counts of every kept value by bucket of its order key (empty: not counted yet).
  detail::KeyBuckets buckets;
  std::vector<uint64_t> bucket_counts;
  std::vector<double> edges;
  std::vector<uint64_t> histogram;
  double hist_lo = 0, hist_scale = 0;

  uint64_t min_len = UINT64_MAX, max_len = 0;

  std::string_view text_of(uint32_t id) const { return std::string_view(arena).substr(spans[id].first, spans[id].second); }
};

struct Profiler::State {
  ProfileOptions options;
  uint64_t rows = 0;
  std::vector<ColumnState> columns;
  std::vector<uint8_t> active;                // empty: every column
  std::unique_ptr<detail::ValueSpill> spill;  // deferred histograms and kept values
  std::vector<std::unique_ptr<detail::ValueSpill>> merged_spills;  // spills of profilers merged in
};

namespace {

size_t heavy_capacity(const ProfileOptions& options) { return std::max<size_t>(1024, 32 * options.top_values); }

void overflow_distinct(ColumnState& c, const ProfileOptions& options) {
  c.overflowed = true;
  c.hll = std::make_unique<detail::HyperLogLog>();
  std::vector<std::pair<uint64_t, uint32_t>> entries;  // (key, id)
  c.index.for_each([&](uint64_t key, uint32_t id) {
    c.hll->add_hash(key);
    if (c.track_top) entries.emplace_back(key, id);
  });
  if (c.type == DataType::kString) {
    // Seed SpaceSaving with the largest exact counts: every value left out has a count no larger
    // than the smallest kept one, which is SpaceSaving's invariant.
    c.heavy = std::make_unique<detail::HeavyHitters>(heavy_capacity(options));
    const size_t keep = std::min(entries.size(), c.heavy->capacity());
    std::partial_sort(entries.begin(), entries.begin() + static_cast<ptrdiff_t>(keep), entries.end(),
                      [&](const auto& a, const auto& b) {
                        return c.counts[a.second] != c.counts[b.second] ? c.counts[a.second] > c.counts[b.second]
                                                                        : c.text_of(a.second) < c.text_of(b.second);
                      });
    for (size_t i = 0; i < keep; ++i) c.heavy->add(entries[i].first, c.text_of(entries[i].second), c.counts[entries[i].second]);
  }
  c.index.release();
  std::vector<uint64_t>().swap(c.counts);
  std::string().swap(c.arena);
  std::vector<std::pair<size_t, uint32_t>>().swap(c.spans);
}

// Records one value by its hash. `text` yields the value's display text; it is called only when a
// value is seen for the first time (or enters the heavy hitters), so the common case costs nothing.
template <typename TextFn>
inline void observe(ColumnState& c, uint64_t hash, const ProfileOptions& options, TextFn&& text) {
  if (!c.overflowed) {
    const uint32_t id = c.index.insert(hash);
    if (c.track_top) {
      if (id == c.counts.size()) {
        std::string_view t = text();
        c.spans.emplace_back(c.arena.size(), static_cast<uint32_t>(t.size()));
        c.arena.append(t);
        c.counts.push_back(0);
      }
      ++c.counts[id];
    }
    if (c.index.size() > options.exact_distinct_limit) overflow_distinct(c, options);
  } else {
    c.hll->add_hash(hash);
    if (c.heavy) c.heavy->add(hash, text());
  }
}

void switch_to_sketch(ColumnState& c) {
  if (c.keep) {
    // Values are kept: past the limit they wait in the spill.
    c.spilled = true;
    c.spill_pending.insert(c.spill_pending.end(), c.exact_values.begin(), c.exact_values.end());
    std::vector<double>().swap(c.exact_values);
    return;
  }
  c.sketch = std::make_unique<detail::QuantileSketch>();
  for (double v : c.exact_values) c.sketch->add(v);
  if (c.spilling) c.spill_pending.insert(c.spill_pending.end(), c.exact_values.begin(), c.exact_values.end());
  std::vector<double>().swap(c.exact_values);
}

inline void add_quantile_value(ColumnState& c, double v, const ProfileOptions& options) {
  if (c.spilled) {
    c.spill_pending.push_back(v);
    return;
  }
  if (c.sketch) {
    c.sketch->add(v);
    if (c.spilling) c.spill_pending.push_back(v);
    return;
  }
  // Reserving up front (virtual memory, touched as it fills) avoids copying a growing buffer.
  if (c.exact_values.capacity() == 0) c.exact_values.reserve(std::min<size_t>(options.exact_quantile_limit + 1, 1u << 20));
  c.exact_values.push_back(v);
  if (c.exact_values.size() > options.exact_quantile_limit) switch_to_sketch(c);
}

inline void add_histogram_value(ColumnState& c, double v) {
  const size_t bins = c.histogram.size();
  const double t = (v - c.hist_lo) * c.hist_scale;
  size_t i = t <= 0 ? 0 : (t >= static_cast<double>(bins) ? bins - 1 : static_cast<size_t>(t));
  // Rounding in the scaled position can land one bin off; the edges decide, as in numpy.
  if (i > 0 && v < c.edges[i]) {
    --i;
  } else if (i + 1 < bins && v >= c.edges[i + 1]) {
    ++i;
  }
  ++c.histogram[i];
}

Status parse_error(const ColumnState& c, const table::RecordBatch& batch, size_t r, uint64_t rows_before,
                   std::string_view text) {
  const uint64_t row = r < batch.row_numbers.size() ? batch.row_numbers[r] : rows_before + r + 1;
  return make_error(ErrorCode::kParseError, "row {}: value '{}' in column '{}' is not a valid {}", row, text, c.name,
                    table::data_type_name(c.type));
}

// `value_of(r, &v, &iv)` reads row r's value (as a double, and as an integer for the integer
// types); false when it does not parse.
template <DataType kType, typename ValueOf>
Status add_numeric(ColumnState& c, const table::RecordBatch& batch, size_t col, uint64_t rows_before,
                   const ProfileOptions& options, detail::ValueSpill* spill, ValueOf&& value_of) {
  const auto& values = batch.columns[col];
  const std::vector<uint8_t>* nulls = col < batch.nulls.size() && !batch.nulls[col].empty() ? &batch.nulls[col] : nullptr;
  const bool histogram = !c.histogram.empty();
  // Sums around the batch's first value (shifted data) keep the variance accurate; the batch is
  // then folded into the running totals with Chan's formula.
  NumericStats part;
  double shift = 0, s1 = 0, s2 = 0;
  // Rows go in groups: parse and hash a group, prefetch the distinct-index slots, then update, so
  // the index's cache misses overlap instead of stalling one value at a time.
  constexpr size_t kGroup = 16;
  double group_values[kGroup];
  int64_t group_ints[kGroup];
  uint64_t group_hashes[kGroup];
  for (size_t base = 0; base < batch.num_rows; base += kGroup) {
    const size_t end = std::min(batch.num_rows, base + kGroup);
    size_t m = 0;
    for (size_t r = base; r < end; ++r) {
      if (nulls && (*nulls)[r]) {
        ++c.missing;
        continue;
      }
      double v;
      int64_t iv = 0;
      if (!value_of(r, &v, &iv)) return parse_error(c, batch, r, rows_before, values[r]);
      uint64_t hash;
      if constexpr (kType == DataType::kFloat64) {
        hash = hash_double(v);
      } else {
        v = static_cast<double>(iv);
        hash = hash_int(iv);
      }
      if (!c.overflowed) c.index.prefetch(hash);
      group_values[m] = v;
      group_ints[m] = iv;
      group_hashes[m] = hash;
      ++m;
    }
    for (size_t j = 0; j < m; ++j) {
      const double v = group_values[j];
      const int64_t iv = group_ints[j];
      observe(c, group_hashes[j], options, [&]() -> std::string_view {
        if constexpr (kType == DataType::kBool) {
          return iv ? "true" : "false";
        } else {
          // Canonical decimal text, so "007" and "7" are shown as the one value they are.
          static thread_local char buffer[24];
          auto text_end = std::to_chars(buffer, buffer + sizeof buffer, iv).ptr;
          return std::string_view(buffer, static_cast<size_t>(text_end - buffer));
        }
      });
      if (std::isnan(v)) continue;
      if (part.n == 0) shift = v;
      const double d = v - shift;
      s1 += d;
      s2 += d * d;
      ++part.n;
      part.min = std::min(part.min, v);
      part.max = std::max(part.max, v);
      add_quantile_value(c, v, options);
      if (histogram) add_histogram_value(c, v);
    }
    c.count += m;
  }
  if (part.n > 0) {
    const double n = static_cast<double>(part.n);
    part.mean = shift + s1 / n;
    part.m2 = std::max(0.0, s2 - s1 * s1 / n);
    c.stats.merge(part);
  }
  if (!c.spill_pending.empty()) {
    SLIPWAY_RETURN_IF_ERROR(spill->append(static_cast<uint32_t>(col), c.spill_pending.data(), c.spill_pending.size()));
    c.spill_pending.clear();
  }
  return Status::ok_status();
}

// The text parsers for add_numeric, by type.
template <DataType kType>
Status add_numeric_text(ColumnState& c, const table::RecordBatch& batch, size_t col, uint64_t rows_before,
                        const ProfileOptions& options, detail::ValueSpill* spill) {
  const auto& values = batch.columns[col];
  return add_numeric<kType>(c, batch, col, rows_before, options, spill, [&](size_t r, double* v, int64_t* iv) {
    const std::string_view text = values[r];
    if constexpr (kType == DataType::kFloat64) {
      return table::parse_float64(text, v);
    } else if constexpr (kType == DataType::kInt64) {
      return table::parse_int64(text, iv);
    } else if constexpr (kType == DataType::kTimestamp) {
      return table::parse_timestamp(text, iv);
    } else {
      bool b;
      if (!table::parse_bool(text, &b)) return false;
      *iv = b ? 1 : 0;
      return true;
    }
  });
}

void add_strings(ColumnState& c, const table::RecordBatch& batch, size_t col, const ProfileOptions& options) {
  const auto& values = batch.columns[col];
  const std::vector<uint8_t>* nulls = col < batch.nulls.size() && !batch.nulls[col].empty() ? &batch.nulls[col] : nullptr;
  for (size_t r = 0; r < batch.num_rows; ++r) {
    if (nulls && (*nulls)[r]) {
      ++c.missing;
      continue;
    }
    const std::string_view text = values[r];
    ++c.count;
    c.min_len = std::min<uint64_t>(c.min_len, text.size());
    c.max_len = std::max<uint64_t>(c.max_len, text.size());
    observe(c, XXH3_64bits_withSeed(text.data(), text.size(), 0), options, [&] { return text; });
  }
}

// numpy's "linear" method, including its choice of formula on each side of t = 0.5 (numpy
// _lerp), so exact quantiles match numpy.quantile bit for bit.
double lerp(double a, double b, double t) {
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

// The linear quantiles of n values from the values at the ranks they need (0-based, ascending).
std::vector<uint64_t> quantile_ranks(uint64_t n) {
  std::vector<uint64_t> ranks;
  for (double q : kQuantileLevels) {
    const auto lo = static_cast<uint64_t>(q * static_cast<double>(n - 1));
    ranks.push_back(lo);
    if (lo + 1 < n) ranks.push_back(lo + 1);
  }
  std::sort(ranks.begin(), ranks.end());
  ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
  return ranks;
}

std::vector<std::pair<double, double>> linear_quantiles(uint64_t n, const std::map<uint64_t, double>& at_rank) {
  std::vector<std::pair<double, double>> out;
  for (double q : kQuantileLevels) {
    const double position = q * static_cast<double>(n - 1);
    const auto lo = static_cast<uint64_t>(position);
    const double t = position - static_cast<double>(lo);
    const double a = at_rank.at(lo);
    const double b = lo + 1 < n ? at_rank.at(lo + 1) : a;
    out.emplace_back(q, t == 0 ? a : lerp(a, b, t));
  }
  return out;
}

// Selects `ranks` (ascending) among `keys` (order keys); `base` is the rank of keys' smallest.
void select_ranks(std::vector<uint64_t>& keys, uint64_t base, const std::vector<uint64_t>& ranks,
                  std::map<uint64_t, double>* found) {
  size_t start = 0;
  for (uint64_t r : ranks) {
    if (r < base || r - base >= keys.size()) continue;
    const size_t i = static_cast<size_t>(r - base);
    std::nth_element(keys.begin() + static_cast<ptrdiff_t>(start), keys.begin() + static_cast<ptrdiff_t>(i), keys.end());
    (*found)[r] = detail::from_order_key(keys[i]);
    start = i;
  }
}

// Exact quantiles of values held in memory. Values are ordered by their order key (-0 before +0),
// so the result depends only on the values, not on their order.
std::vector<std::pair<double, double>> exact_quantiles(const std::vector<double>& values) {
  std::vector<uint64_t> keys(values.size());
  for (size_t i = 0; i < values.size(); ++i) keys[i] = detail::order_key(values[i]);
  std::map<uint64_t, double> found;
  select_ranks(keys, 0, quantile_ranks(values.size()), &found);
  return linear_quantiles(values.size(), found);
}

void merge_distinct(ColumnState& c, ColumnState& o, const ProfileOptions& options) {
  if (!c.overflowed && o.overflowed) overflow_distinct(c, options);
  if (!o.overflowed) {
    o.index.for_each([&](uint64_t key, uint32_t id) {
      const uint64_t n = c.track_top ? o.counts[id] : 0;
      if (!c.overflowed) {
        const uint32_t mine = c.index.insert(key);
        if (!c.track_top) return;
        if (mine == c.counts.size()) {
          const std::string_view t = o.text_of(id);
          c.spans.emplace_back(c.arena.size(), static_cast<uint32_t>(t.size()));
          c.arena.append(t);
          c.counts.push_back(0);
        }
        c.counts[mine] += n;
      } else {
        c.hll->add_hash(key);
        if (c.heavy) c.heavy->add(key, o.text_of(id), n);
      }
    });
    if (!c.overflowed && c.index.size() > options.exact_distinct_limit) overflow_distinct(c, options);
    return;
  }
  c.hll->merge(*o.hll);
  if (c.heavy && o.heavy) c.heavy->merge(*o.heavy);
}

constexpr size_t kKeyBuckets = 1u << 16;    // first level of bucket-then-select
constexpr size_t kRefineBuckets = 1u << 12;  // a bucket too full to gather is split this finely

void count_keys(ColumnState& c, const double* values, size_t n) {
  for (size_t k = 0; k < n; ++k) ++c.bucket_counts[c.buckets.of(detail::order_key(values[k]))];
}

// Starts counting the column's kept values by key bucket over [min, max].
void start_counts(ColumnState& c, std::optional<double> min, std::optional<double> max) {
  uint64_t lo = 0, hi = UINT64_MAX;
  if (min && max && !std::isnan(*min) && !std::isnan(*max) && *min <= *max) {
    lo = detail::order_key(*min);
    hi = detail::order_key(*max);
  }
  c.buckets = detail::KeyBuckets(lo, hi, kKeyBuckets);
  c.bucket_counts.assign(kKeyBuckets, 0);
  count_keys(c, c.exact_values.data(), c.exact_values.size());
}

// Kept values: the parts' in-memory values join (at most exact_quantile_limit per part), their
// spills are adopted by Profiler::merge, and bucket counts add up where both parts have them.
void merge_kept(ColumnState& c, ColumnState& o) {
  const bool mine = !c.bucket_counts.empty(), theirs = !o.bucket_counts.empty();
  if (mine && theirs && c.buckets == o.buckets) {
    for (size_t b = 0; b < c.bucket_counts.size(); ++b) c.bucket_counts[b] += o.bucket_counts[b];
  } else if (mine && !theirs && !o.spilled) {
    count_keys(c, o.exact_values.data(), o.exact_values.size());
  } else if (!mine && theirs && !c.spilled) {
    c.buckets = o.buckets;
    c.bucket_counts = std::move(o.bucket_counts);
    count_keys(c, c.exact_values.data(), c.exact_values.size());
  } else {
    std::vector<uint64_t>().swap(c.bucket_counts);  // counted again when needed
  }
  c.spilled = c.spilled || o.spilled;
  c.exact_values.insert(c.exact_values.end(), o.exact_values.begin(), o.exact_values.end());
  std::vector<double>().swap(o.exact_values);
}

void merge_quantiles(ColumnState& c, ColumnState& o, const ProfileOptions& options) {
  if (c.keep && o.keep) {
    merge_kept(c, o);
    return;
  }
  if (o.sketch && !c.sketch) switch_to_sketch(c);
  if (c.sketch) {
    if (o.sketch) {
      c.sketch->merge(*o.sketch);
    } else {
      for (double v : o.exact_values) c.sketch->add(v);
    }
    return;
  }
  c.exact_values.insert(c.exact_values.end(), o.exact_values.begin(), o.exact_values.end());
  if (c.exact_values.size() > options.exact_quantile_limit) switch_to_sketch(c);
}

bool has_histogram(DataType type) { return is_numeric(type) || type == DataType::kTimestamp; }

// Histogram edges and bins over the inferred [min, max] of a numeric or timestamp column.
void init_histogram(ColumnState& c, const table::InferredColumn& in, const ProfileOptions& options) {
  if (!has_histogram(c.type) || !in.min || !in.max || options.histogram_bins == 0) return;
  const double lo = *in.min, hi = *in.max;
  if (!std::isfinite(lo) || !std::isfinite(hi) || hi < lo) return;
  const size_t bins = lo == hi ? 1 : options.histogram_bins;
  // Edges as numpy.linspace computes them: lo + i * step, the last one exactly hi.
  const double step = (hi - lo) / static_cast<double>(bins);
  c.edges.clear();
  for (size_t b = 0; b < bins; ++b) c.edges.push_back(static_cast<double>(b) * step + lo);
  c.edges.push_back(hi);
  c.histogram.assign(bins, 0);
  c.hist_lo = lo;
  c.hist_scale = lo == hi ? 0.0 : static_cast<double>(bins) / (hi - lo);
}

}  // namespace

const ColumnProfile* DatasetProfile::find(std::string_view name) const {
  for (const ColumnProfile& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

Profiler::Profiler(const std::vector<table::InferredColumn>& columns, ProfileOptions options)
    : state_(std::make_unique<State>()) {
  state_->options = options;
  state_->columns.resize(columns.size());
  for (size_t i = 0; i < columns.size(); ++i) {
    const table::InferredColumn& in = columns[i];
    ColumnState& c = state_->columns[i];
    c.name = in.spec.name;
    c.type = in.spec.type;
    c.track_top = c.type == DataType::kString || c.type == DataType::kBool || c.type == DataType::kInt64;
    init_histogram(c, in, options);
  }
}

Profiler Profiler::with_deferred_histograms(const std::vector<table::InferredColumn>& columns, ProfileOptions options,
                                            std::filesystem::path spill_dir) {
  std::vector<table::InferredColumn> no_ranges = columns;
  for (auto& c : no_ranges) c.min = c.max = std::nullopt;
  Profiler p(no_ranges, options);
  p.state_->spill = std::make_unique<detail::ValueSpill>(std::move(spill_dir), options.spill_memory_bytes);
  for (ColumnState& c : p.state_->columns) c.spilling = c.keep = has_histogram(c.type);
  return p;
}

Profiler Profiler::with_kept_values(const std::vector<table::InferredColumn>& columns, ProfileOptions options,
                                    std::filesystem::path spill_dir) {
  Profiler p(columns, options);
  p.state_->spill = std::make_unique<detail::ValueSpill>(std::move(spill_dir), options.spill_memory_bytes);
  for (ColumnState& c : p.state_->columns) c.keep = c.type != DataType::kString;
  return p;
}

Status Profiler::add_float64(const table::RecordBatch& batch, const table::FloatValues& values,
                             const std::vector<uint8_t>& columns) {
  State& s = *state_;
  for (size_t col = 0; col < s.columns.size() && col < columns.size(); ++col) {
    if (!columns[col] || col >= values.valid.size() || !values.valid[col]) continue;
    ColumnState& c = s.columns[col];
    if (c.type != DataType::kFloat64) {
      return make_error(ErrorCode::kInternal, "column '{}' is profiled as {}, not float64", c.name,
                        table::data_type_name(c.type));
    }
    const double* parsed = values.columns[col].data();
    SLIPWAY_RETURN_IF_ERROR(add_numeric<DataType::kFloat64>(c, batch, col, s.rows, s.options, s.spill.get(),
                                                            [parsed](size_t r, double* v, int64_t*) {
                                                              *v = parsed[r];
                                                              return true;
                                                            }));
  }
  s.rows += batch.num_rows;
  return Status::ok_status();
}

void Profiler::restrict_to(std::vector<uint8_t> columns) { state_->active = std::move(columns); }

Status Profiler::finish_histograms(const std::vector<table::InferredColumn>& columns) {
  State& s = *state_;
  bool replay = false;
  for (size_t i = 0; i < s.columns.size() && i < columns.size(); ++i) {
    ColumnState& c = s.columns[i];
    if (!c.spilling) continue;
    c.spilling = false;
    init_histogram(c, columns[i], s.options);
    // Counting the kept values by key bucket now saves a read of the spill when the quantiles are
    // selected; a column far below the exact limit is likely selected in memory and skips it.
    if (c.keep && (c.spilled || c.exact_values.size() * 8 >= s.options.exact_quantile_limit)) {
      start_counts(c, columns[i].min, columns[i].max);
    }
    // Values not spilled are all still here; the rest are in the spill.
    if (!c.histogram.empty()) {
      for (double v : c.exact_values) add_histogram_value(c, v);
    }
    replay = replay || c.spilled;
  }
  if (s.spill && replay) {
    SLIPWAY_RETURN_IF_ERROR(s.spill->replay([&](uint32_t col, const double* values, size_t n) {
      if (col >= s.columns.size()) return;
      ColumnState& c = s.columns[col];
      if (!c.bucket_counts.empty()) count_keys(c, values, n);
      if (c.histogram.empty()) return;
      for (size_t k = 0; k < n; ++k) add_histogram_value(c, values[k]);
    }));
  }
  return Status::ok_status();
}

Profiler::~Profiler() = default;
Profiler::Profiler(Profiler&&) noexcept = default;
Profiler& Profiler::operator=(Profiler&&) noexcept = default;

Status Profiler::add(const table::RecordBatch& batch) {
  State& s = *state_;
  if (batch.columns.size() != s.columns.size()) {
    return make_error(ErrorCode::kInvalidArgument, "batch has {} columns but the profile has {}", batch.columns.size(),
                      s.columns.size());
  }
  detail::ValueSpill* spill = s.spill.get();
  for (size_t col = 0; col < s.columns.size(); ++col) {
    if (!s.active.empty() && !s.active[col]) continue;
    ColumnState& c = s.columns[col];
    Status status;
    switch (c.type) {
      case DataType::kBool: status = add_numeric_text<DataType::kBool>(c, batch, col, s.rows, s.options, spill); break;
      case DataType::kInt64: status = add_numeric_text<DataType::kInt64>(c, batch, col, s.rows, s.options, spill); break;
      case DataType::kFloat64:
        status = add_numeric_text<DataType::kFloat64>(c, batch, col, s.rows, s.options, spill);
        break;
      case DataType::kTimestamp:
        status = add_numeric_text<DataType::kTimestamp>(c, batch, col, s.rows, s.options, spill);
        break;
      case DataType::kString: add_strings(c, batch, col, s.options); break;
    }
    SLIPWAY_RETURN_IF_ERROR(status);
  }
  s.rows += batch.num_rows;
  return Status::ok_status();
}

void Profiler::merge(Profiler&& other) {
  State& s = *state_;
  State& o = *other.state_;
  s.rows += o.rows;
  const size_t n = std::min(s.columns.size(), o.columns.size());
  for (size_t i = 0; i < n; ++i) {
    ColumnState& c = s.columns[i];
    ColumnState& oc = o.columns[i];
    c.count += oc.count;
    c.missing += oc.missing;
    c.stats.merge(oc.stats);
    c.min_len = std::min(c.min_len, oc.min_len);
    c.max_len = std::max(c.max_len, oc.max_len);
    for (size_t b = 0; b < c.histogram.size() && b < oc.histogram.size(); ++b) c.histogram[b] += oc.histogram[b];
    merge_distinct(c, oc, s.options);
    merge_quantiles(c, oc, s.options);
  }
  if (o.spill) s.merged_spills.push_back(std::move(o.spill));
  for (auto& spill : o.merged_spills) s.merged_spills.push_back(std::move(spill));
  o.merged_spills.clear();
}

namespace {

using KeptFn = std::function<void(uint32_t, const double*, size_t)>;
// Reads one part of what is kept (the values in memory, or one spill), column by column.
using ReadKept = std::function<Status(const KeptFn&)>;

// Bucket-then-select for the columns with spilled values: the key buckets (counted already, or in
// a first read) say which buckets hold the wanted ranks; a read gathers those buckets' values
// (at most about 16M values over all columns) and selects in them. A bucket too full to gather is
// split by another counting read instead, until the ranks are found. Each read goes over the
// `sources` in parallel (one thread each): gathered keys go to slots claimed atomically in vectors
// sized by the counts, counts are added atomically; the selected values do not depend on the
// order in which keys arrive.
Status select_spilled(std::vector<ColumnState>& columns, const std::vector<ReadKept>& sources,
                      std::vector<std::map<uint64_t, double>>* found) {
  struct Gather {  // the keys [a, b] of one bucket; `base` kept values have smaller keys
    uint64_t a, b, base, count;
    std::vector<uint64_t> keys;  // count slots, the first `filled` of them gathered
    size_t filled = 0;
  };
  // Keys [a, b] by `buckets`: counted (`counts`), or gathered where `slot` names a Gather.
  struct Window {
    uint64_t a = 0, b = UINT64_MAX, base = 0;
    detail::KeyBuckets buckets;
    std::vector<uint64_t> counts;
    std::vector<int32_t> slot;
    std::vector<Gather> gathers;
  };
  struct Select {
    bool active = false;
    std::vector<uint64_t> ranks;
    std::vector<Window> counted, counting, gathering;
  };
  std::vector<Select> sel(columns.size());
  size_t spilled = 0;
  bool read = false;
  for (size_t i = 0; i < columns.size(); ++i) {
    ColumnState& c = columns[i];
    if (!c.keep || !c.spilled || c.stats.n == 0) continue;
    ++spilled;
    Select& x = sel[i];
    x.active = true;
    x.ranks = quantile_ranks(c.stats.n);
    Window w;
    if (c.bucket_counts.empty()) {
      w.buckets = detail::KeyBuckets(detail::order_key(c.stats.min), detail::order_key(c.stats.max), kKeyBuckets);
      w.counts.assign(kKeyBuckets, 0);
      x.counting.push_back(std::move(w));
      read = true;
    } else {
      w.buckets = c.buckets;
      w.counts = std::move(c.bucket_counts);
      x.counted.push_back(std::move(w));
    }
  }
  const size_t gather_cap = std::max<size_t>(1u << 16, (size_t{1} << 24) / std::max<size_t>(1, spilled));
  std::atomic<bool> overfull{false};
  const KeptFn visit = [&](uint32_t col, const double* values, size_t n) {
    if (col >= sel.size()) return;
    Select& x = sel[col];
    if (!x.active) return;
    for (Window& w : x.gathering) {
      for (size_t k = 0; k < n; ++k) {
        const uint64_t key = detail::order_key(values[k]);
        if (key < w.a || key > w.b) continue;
        const int32_t slot = w.slot[w.buckets.of(key)];
        if (slot < 0) continue;
        Gather& g = w.gathers[static_cast<size_t>(slot)];
        const size_t at = std::atomic_ref<size_t>(g.filled).fetch_add(1, std::memory_order_relaxed);
        if (at < g.keys.size()) {
          g.keys[at] = key;
        } else {
          overfull.store(true, std::memory_order_relaxed);
        }
      }
    }
    for (Window& w : x.counting) {
      for (size_t k = 0; k < n; ++k) {
        const uint64_t key = detail::order_key(values[k]);
        if (key >= w.a && key <= w.b) {
          std::atomic_ref<uint64_t>(w.counts[w.buckets.of(key)]).fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
  };
  while (true) {
    if (read) {
      std::vector<std::future<Status>> others;
      for (size_t i = 1; i < sources.size(); ++i) {
        others.push_back(std::async(std::launch::async, [&sources, &visit, i] { return sources[i](visit); }));
      }
      Status first = sources.empty() ? Status{} : sources[0](visit);
      for (auto& other : others) {
        Status st = other.get();
        if (first.ok() && !st.ok()) first = st;
      }
      SLIPWAY_RETURN_IF_ERROR(first);
      if (overfull.load()) {
        return make_error(ErrorCode::kInternal, "a quantile bucket holds more kept values than were counted in it");
      }
      read = false;
    }
    for (size_t i = 0; i < sel.size(); ++i) {
      Select& x = sel[i];
      if (!x.active) continue;
      for (Window& w : x.gathering) {
        for (Gather& g : w.gathers) {
          g.keys.resize(std::min(g.filled, g.keys.size()));
          select_ranks(g.keys, g.base, x.ranks, &(*found)[i]);
        }
      }
      x.gathering.clear();
      for (Window& w : x.counting) x.counted.push_back(std::move(w));
      x.counting.clear();
      if (x.counted.size() == 1 && x.counted[0].a == 0 && x.counted[0].b == UINT64_MAX) {
        uint64_t sum = 0;
        for (uint64_t n : x.counted[0].counts) sum += n;
        if (sum != columns[i].stats.n) {
          return make_error(ErrorCode::kInternal, "column '{}': {} values kept for its quantiles, {} counted",
                            columns[i].name, columns[i].stats.n, sum);
        }
      }
      // The bucket of each window that holds each rank not found yet.
      uint64_t total = 0;
      std::vector<Window> next;
      for (Window& w : x.counted) {
        Window parent;
        parent.a = w.a;
        parent.b = w.b;
        parent.buckets = w.buckets;
        uint64_t below = w.base;
        for (size_t j = 0; j < w.counts.size(); ++j) {
          const uint64_t n = w.counts[j];
          if (n == 0) continue;
          bool wanted = false;
          for (uint64_t r : x.ranks) wanted = wanted || (r >= below && r < below + n && !(*found)[i].contains(r));
          if (wanted) {
            bool none = false;
            const uint64_t first = w.buckets.first_key(j, w.a, w.b, &none);
            uint64_t last = w.b;
            if (j + 1 < w.counts.size()) {
              const uint64_t next_first = w.buckets.first_key(j + 1, w.a, w.b, &none);
              if (!none) last = next_first - 1;
            }
            if (first == last) {  // one key: every rank in it is that value
              for (uint64_t r : x.ranks) {
                if (r >= below && r < below + n) (*found)[i][r] = detail::from_order_key(first);
              }
            } else {
              if (parent.slot.empty()) parent.slot.assign(w.counts.size(), -1);
              parent.slot[j] = static_cast<int32_t>(parent.gathers.size());
              parent.gathers.push_back({first, last, below, n, {}});
              total += n;
            }
          }
          below += n;
        }
        if (!parent.gathers.empty()) next.push_back(std::move(parent));
      }
      x.counted.clear();
      if (next.empty()) continue;
      read = true;
      if (total <= gather_cap) {
        for (Window& parent : next) {
          for (Gather& g : parent.gathers) g.keys.resize(static_cast<size_t>(g.count));
        }
        x.gathering = std::move(next);
        continue;
      }
      // Too many values to gather: split each bucket finely and count again.
      for (Window& parent : next) {
        for (const Gather& g : parent.gathers) {
          Window w;
          w.a = g.a;
          w.b = g.b;
          w.base = g.base;
          w.buckets = detail::KeyBuckets(g.a, g.b, kRefineBuckets);
          w.counts.assign(kRefineBuckets, 0);
          x.counting.push_back(std::move(w));
        }
      }
    }
    if (!read) break;
  }
  return Status::ok_status();
}

}  // namespace

Result<DatasetProfile> Profiler::finish() {
  State& s = *state_;
  std::vector<std::map<uint64_t, double>> spilled_ranks(s.columns.size());
  // The kept values: those in memory, then each spill (read in parallel by select_spilled).
  std::vector<ReadKept> sources;
  sources.push_back([&s](const KeptFn& f) -> Status {
    for (size_t i = 0; i < s.columns.size(); ++i) {
      const auto& values = s.columns[i].exact_values;
      if (!values.empty()) f(static_cast<uint32_t>(i), values.data(), values.size());
    }
    return Status::ok_status();
  });
  if (s.spill) sources.push_back([&s](const KeptFn& f) { return s.spill->replay(f); });
  for (auto& spill : s.merged_spills) {
    detail::ValueSpill* p = spill.get();
    sources.push_back([p](const KeptFn& f) { return p->replay(f); });
  }
  SLIPWAY_RETURN_IF_ERROR(select_spilled(s.columns, sources, &spilled_ranks));
  DatasetProfile profile;
  profile.row_count = s.rows;
  for (ColumnState& c : s.columns) {
    ColumnProfile p;
    p.name = c.name;
    p.type = c.type;
    p.count = c.count;
    p.missing = c.missing;
    p.distinct_exact = !c.overflowed;
    p.distinct = c.overflowed ? static_cast<uint64_t>(std::llround(c.hll->estimate())) : c.index.size();
    if (c.type != DataType::kString && c.stats.n > 0) {
      p.min = c.stats.min;
      p.max = c.stats.max;
      p.mean = c.stats.mean;
      if (c.stats.n >= 2) p.stddev = std::sqrt(c.stats.m2 / static_cast<double>(c.stats.n - 1));
      if (c.keep && c.spilled) {
        p.quantiles = linear_quantiles(c.stats.n, spilled_ranks[&c - s.columns.data()]);
      } else if (c.sketch) {
        std::vector<double> qs(std::begin(kQuantileLevels), std::end(kQuantileLevels));
        std::vector<double> values = c.sketch->quantiles(qs);
        for (size_t i = 0; i < qs.size(); ++i) p.quantiles.emplace_back(qs[i], values[i]);
        p.quantile_rank_error = c.sketch->rank_error_fraction();
      } else {
        p.quantiles = exact_quantiles(c.exact_values);
      }
    }
    if (!c.histogram.empty()) p.histogram = {c.edges, c.histogram};
    if (c.track_top) {
      if (!c.overflowed) {
        std::vector<uint32_t> ids(c.counts.size());
        for (uint32_t id = 0; id < ids.size(); ++id) ids[id] = id;
        const size_t keep = std::min(ids.size(), s.options.top_values);
        auto by_count = [&](uint32_t a, uint32_t b) {
          return c.counts[a] != c.counts[b] ? c.counts[a] > c.counts[b] : c.text_of(a) < c.text_of(b);
        };
        std::partial_sort(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(keep), ids.end(), by_count);
        for (size_t i = 0; i < keep; ++i) p.top_values.push_back({std::string(c.text_of(ids[i])), c.counts[ids[i]]});
      } else {
        p.top_values_exact = false;
        if (c.heavy) {
          for (auto& e : c.heavy->top(s.options.top_values)) p.top_values.push_back({std::move(e.text), e.count});
        }
      }
    }
    if (c.type == DataType::kString && c.count > 0) {
      p.min_length = c.min_len;
      p.max_length = c.max_len;
    }
    profile.columns.push_back(std::move(p));
  }
  return profile;
}

}  // namespace slipway::data
