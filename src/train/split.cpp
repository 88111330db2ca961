#include "slipway/train/split.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "detail/split_random.h"

namespace slipway::train {
namespace {

// Where train ends and where test begins among n ordered items: train takes round(train * n) and test
// round(test * n) (halves round up); validation takes the rest. Rounding each cut from its own end
// makes a zero fraction give exactly zero rows.
std::pair<size_t, size_t> cut_points(const SplitSpec& spec, size_t n) {
  const auto round_count = [n](double fraction) {
    return std::min(n, static_cast<size_t>(std::floor(fraction * static_cast<double>(n) + 0.5)));
  };
  const size_t train_end = round_count(spec.train);
  const size_t test_begin = std::max(train_end, n - round_count(spec.test));
  return {train_end, test_begin};
}

Status check_fraction(const char* field, double value) {
  if (!(value >= 0.0 && value <= 1.0)) {
    return make_error(ErrorCode::kInvalidArgument, "split.{} must be between 0 and 1, got {}", field, value);
  }
  return {};
}

Status check_spec(const SplitSpec& spec, size_t n_rows, std::span<const float> labels,
                  std::span<const std::string> groups, std::span<const double> times) {
  SLIPWAY_RETURN_IF_ERROR(check_fraction("train", spec.train));
  SLIPWAY_RETURN_IF_ERROR(check_fraction("validation", spec.validation));
  SLIPWAY_RETURN_IF_ERROR(check_fraction("test", spec.test));
  const double sum = spec.train + spec.validation + spec.test;
  if (std::fabs(sum - 1.0) > 1e-9) {
    return make_error(ErrorCode::kInvalidArgument,
                      "split.train + split.validation + split.test must sum to 1, got {} + {} + {} = {:.10g}",
                      spec.train, spec.validation, spec.test, sum);
  }
  if (n_rows > std::numeric_limits<uint32_t>::max()) {
    return make_error(ErrorCode::kInvalidArgument, "split: {} rows is more than the 4294967295 a split can hold",
                      n_rows);
  }
  const auto check_size = [&](size_t size, const char* what) -> Status {
    if (size != n_rows) {
      return make_error(ErrorCode::kInvalidArgument, "split.method {}: {} {} for {} rows",
                        split_method_name(spec.method), size, what, n_rows);
    }
    return {};
  };
  switch (spec.method) {
    case SplitMethod::kRandom:
      break;
    case SplitMethod::kStratified:
      SLIPWAY_RETURN_IF_ERROR(check_size(labels.size(), "labels"));
      break;
    case SplitMethod::kGroup:
      SLIPWAY_RETURN_IF_ERROR(check_size(groups.size(), "group values"));
      break;
    case SplitMethod::kTime:
      SLIPWAY_RETURN_IF_ERROR(check_size(times.size(), "time values"));
      for (size_t r = 0; r < n_rows; ++r) {
        if (std::isnan(times[r])) {
          return make_error(ErrorCode::kInvalidArgument, "split.method time: row {} has no time value", r);
        }
      }
      break;
  }
  return {};
}

// Appends ordered[begin, end) to `out`.
void take(const std::vector<uint32_t>& ordered, size_t begin, size_t end, std::vector<uint32_t>& out) {
  out.insert(out.end(), ordered.begin() + static_cast<ptrdiff_t>(begin), ordered.begin() + static_cast<ptrdiff_t>(end));
}

void cut(const SplitSpec& spec, const std::vector<uint32_t>& ordered, SplitIndices& out) {
  const auto [train_end, test_begin] = cut_points(spec, ordered.size());
  take(ordered, 0, train_end, out.train);
  take(ordered, train_end, test_begin, out.validation);
  take(ordered, test_begin, ordered.size(), out.test);
}

std::vector<uint32_t> all_rows(size_t n) {
  std::vector<uint32_t> rows(n);
  std::iota(rows.begin(), rows.end(), uint32_t{0});
  return rows;
}

// Strata are the distinct label values in ascending order (NaN last, as one stratum); each is shuffled
// by the one PRNG stream in that order and cut with the same fractions.
void split_stratified(const SplitSpec& spec, size_t n_rows, std::span<const float> labels, SplitIndices& out) {
  std::vector<uint32_t> order = all_rows(n_rows);
  const auto key = [&](uint32_t r) {
    const float v = labels[r];
    return std::isnan(v) ? std::numeric_limits<double>::infinity() : static_cast<double>(v);
  };
  const auto is_nan = [&](uint32_t r) { return std::isnan(labels[r]); };
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (is_nan(a) != is_nan(b)) return is_nan(b);
    return key(a) < key(b);
  });
  detail::SplitRandom random(spec.seed);
  std::vector<uint32_t> stratum;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && is_nan(order[j]) == is_nan(order[i]) &&
           (is_nan(order[i]) || labels[order[j]] == labels[order[i]])) {
      ++j;
    }
    stratum.assign(order.begin() + static_cast<ptrdiff_t>(i), order.begin() + static_cast<ptrdiff_t>(j));
    random.shuffle(stratum);
    cut(spec, stratum, out);
    i = j;
  }
}

// Distinct groups (in byte order) are shuffled; walking them in that order, a group goes to the split
// its middle row would fall in, so whole groups land in one split and sizes follow the fractions.
void split_group(const SplitSpec& spec, size_t n_rows, std::span<const std::string> groups, SplitIndices& out) {
  std::map<std::string_view, std::vector<uint32_t>> by_group;
  for (size_t r = 0; r < n_rows; ++r) by_group[groups[r]].push_back(static_cast<uint32_t>(r));
  std::vector<const std::vector<uint32_t>*> shuffled;
  shuffled.reserve(by_group.size());
  for (const auto& [name, rows] : by_group) shuffled.push_back(&rows);
  detail::SplitRandom random(spec.seed);
  random.shuffle(shuffled);
  const auto [train_end, test_begin] = cut_points(spec, n_rows);
  size_t before = 0;
  for (const auto* rows : shuffled) {
    // Compare 2 * middle with 2 * cut to stay in integers.
    const size_t middle2 = 2 * before + rows->size();
    auto& dest = middle2 < 2 * train_end ? out.train : middle2 < 2 * test_begin ? out.validation : out.test;
    dest.insert(dest.end(), rows->begin(), rows->end());
    before += rows->size();
  }
}

// Rows sorted by time (ties by row index); a cut that falls inside a run of equal times moves to the
// nearer end of the run (the later end on a draw), so equal times always share a split.
void split_time(const SplitSpec& spec, size_t n_rows, std::span<const double> times, SplitIndices& out) {
  std::vector<uint32_t> order = all_rows(n_rows);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return times[a] < times[b]; });
  const auto snap = [&](size_t pos) {
    if (pos == 0 || pos >= n_rows || times[order[pos - 1]] != times[order[pos]]) return pos;
    size_t begin = pos, end = pos;
    while (begin > 0 && times[order[begin - 1]] == times[order[pos]]) --begin;
    while (end < n_rows && times[order[end]] == times[order[pos]]) ++end;
    return pos - begin < end - pos ? begin : end;
  };
  auto [train_end, test_begin] = cut_points(spec, n_rows);
  const bool empty_validation = train_end == test_begin;
  train_end = snap(train_end);
  test_begin = empty_validation ? train_end : std::max(train_end, snap(test_begin));
  take(order, 0, train_end, out.train);
  take(order, train_end, test_begin, out.validation);
  take(order, test_begin, n_rows, out.test);
}

}  // namespace

const char* split_method_name(SplitMethod method) {
  switch (method) {
    case SplitMethod::kRandom:
      return "random";
    case SplitMethod::kStratified:
      return "stratified";
    case SplitMethod::kGroup:
      return "group";
    case SplitMethod::kTime:
      return "time";
  }
  return "?";
}

Result<SplitMethod> parse_split_method(std::string_view name) {
  for (SplitMethod m : {SplitMethod::kRandom, SplitMethod::kStratified, SplitMethod::kGroup, SplitMethod::kTime}) {
    if (name == split_method_name(m)) return m;
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "split.method must be one of random, stratified, group, time; got '{}'", name);
}

Result<SplitIndices> split_rows(const SplitSpec& spec, size_t n_rows, std::span<const float> labels,
                                std::span<const std::string> groups, std::span<const double> times) {
  SLIPWAY_RETURN_IF_ERROR(check_spec(spec, n_rows, labels, groups, times));
  SplitIndices out;
  switch (spec.method) {
    case SplitMethod::kRandom: {
      std::vector<uint32_t> rows = all_rows(n_rows);
      detail::SplitRandom random(spec.seed);
      random.shuffle(rows);
      cut(spec, rows, out);
      break;
    }
    case SplitMethod::kStratified:
      split_stratified(spec, n_rows, labels, out);
      break;
    case SplitMethod::kGroup:
      split_group(spec, n_rows, groups, out);
      break;
    case SplitMethod::kTime:
      split_time(spec, n_rows, times, out);
      break;
  }
  std::sort(out.train.begin(), out.train.end());
  std::sort(out.validation.begin(), out.validation.end());
  std::sort(out.test.begin(), out.test.end());
  return out;
}

}  // namespace slipway::train
