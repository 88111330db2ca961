// Small pieces shared by the XGBoost and LightGBM importers (import.cpp implements them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "slipway/model/model.h"

namespace slipway::model::detail {

// Sets model.task's output columns: regression -> "value"; binary -> "probability" with class
// labels "0", "1"; multiclass -> "prob_0".."prob_{k-1}" with labels "0".."k-1".
void set_outputs(Model& model, size_t n_classes);

// A numeric input with no transform steps: one feature column named `name`.
InputColumn numeric_input(std::string name);

// double -> float that saturates to +-infinity instead of being undefined out of float's range.
inline float saturate_to_float(double v) {
  constexpr double kMax = std::numeric_limits<float>::max();
  if (v > kMax) return std::numeric_limits<float>::infinity();
  if (v < -kMax) return -std::numeric_limits<float>::infinity();
  return static_cast<float>(v);
}

// Offset of the first byte that is not part of valid UTF-8, or npos.
size_t invalid_utf8_at(std::string_view text);

// Appends a leaf (value 0, leaf_width 1) to every per-node array of `tree`; returns its index.
inline int32_t append_empty_node(Tree& tree) {
  tree.left.push_back(-1);
  tree.right.push_back(-1);
  tree.feature.push_back(0);
  tree.threshold.push_back(0.0f);
  tree.default_left.push_back(0);
  tree.is_categorical.push_back(0);
  tree.cat_offset.push_back(0);
  tree.cat_size.push_back(0);
  tree.leaf_values.push_back(0.0f);
  return static_cast<int32_t>(tree.left.size() - 1);
}

}  // namespace slipway::model::detail
