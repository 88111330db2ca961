// Splitting the rows of a dataset into train / validation / test. Every method is deterministic for a
// seed on every platform: it uses its own PRNG (xoshiro256** seeded by splitmix64) and Fisher-Yates,
// never the standard library's distributions (their output is implementation-defined).
// Methods and rounding rules: docs/training-metrics.md#splits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "slipway/core/status.h"

namespace slipway::train {

enum class SplitMethod {
  kRandom,      // rows shuffled with the seed
  kStratified,  // rows shuffled within each label value; per-class proportions kept within one row
  kGroup,       // groups shuffled with the seed; all rows of a group land in one split
  kTime,        // sorted by time: earliest -> train, then validation, then test; ties never straddle
};
const char* split_method_name(SplitMethod method);  // "random", "stratified", "group", "time"
// "random" | "stratified" | "group" | "time"; anything else -> kInvalidArgument naming split.method.
Result<SplitMethod> parse_split_method(std::string_view name);

struct SplitSpec {
  SplitMethod method = SplitMethod::kRandom;
  double train = 0.7, validation = 0.15, test = 0.15;  // each in [0, 1], summing to 1 (+-1e-9)
  uint64_t seed = 0;
};

struct SplitIndices {
  std::vector<uint32_t> train, validation, test;  // ascending row indices; together every row once
};

// labels: one per row for kStratified (ignored otherwise); groups: one per row for kGroup; times: one
// per row for kTime (NaN is an error). Spans a method does not use may be empty.
// Errors (kInvalidArgument) name the field: "split.train must be between 0 and 1, got 1.2".
Result<SplitIndices> split_rows(const SplitSpec& spec, size_t n_rows, std::span<const float> labels,
                                std::span<const std::string> groups, std::span<const double> times);

}  // namespace slipway::train
