// Random and tiny hand-made models for the engine and C-export tests (seeded; valid by
// construction: every model passes validate_model).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "slipway/model/model.h"

namespace slipway::model::testing_models {

inline void numeric_signature(Model& model, size_t n_features) {
  for (size_t f = 0; f < n_features; ++f) {
    InputColumn c;
    c.name = "f" + std::to_string(f);
    model.inputs.push_back(c);
    model.feature_names.push_back(c.name);
  }
}

inline OutputTransform transform_for(Task task, std::mt19937_64& rng) {
  switch (task) {
    case Task::kBinary: return OutputTransform::kSigmoid;
    case Task::kMulticlass: return OutputTransform::kSoftmax;
    case Task::kRegression: return rng() % 2 ? OutputTransform::kExp : OutputTransform::kIdentity;
  }
  return OutputTransform::kIdentity;
}

struct TreeSpec {
  size_t n_features = 5;
  size_t n_trees = 3;
  int max_depth = 4;
  bool full_depth = false;     // every path reaches max_depth
  double p_categorical = 0.0;  // chance that an inner node is a categorical split
  bool less_equal = false;
  Task task = Task::kRegression;
  size_t n_classes = 3;
  bool multi_output_leaves = false;  // leaf_width = n_outputs (forest-style)
  bool average = false;
};

// Thresholds on a quarter grid, so random inputs often hit them exactly (tests < versus <=).
inline float grid_value(std::mt19937_64& rng) { return static_cast<float>(static_cast<int>(rng() % 17) - 8) * 0.25f; }

struct TreeBuilder {
  const TreeSpec& spec;
  std::mt19937_64& rng;
  TreeEnsemble& ens;
  size_t leaf_width;
  uint64_t n_bits = 0;

  int32_t node(Tree& t, int depth) {
    const int32_t id = static_cast<int32_t>(t.left.size());
    t.left.push_back(-1);
    t.right.push_back(-1);
    t.feature.push_back(0);
    t.threshold.push_back(0.0f);
    t.default_left.push_back(static_cast<uint8_t>(rng() % 2));
    t.is_categorical.push_back(0);
    t.cat_offset.push_back(0);
    t.cat_size.push_back(0);
    for (size_t k = 0; k < leaf_width; ++k) t.leaf_values.push_back(static_cast<float>(rng() % 20001) / 10000.0f - 1.0f);
    const bool leaf = depth >= spec.max_depth || (!spec.full_depth && rng() % 10 < 3);
    if (leaf) return id;
    t.feature[id] = static_cast<int32_t>(rng() % spec.n_features);
    const int kind = static_cast<int>(rng() % 20);
    t.threshold[id] = kind == 0 ? std::numeric_limits<float>::infinity()
                      : kind == 1 ? -std::numeric_limits<float>::infinity()
                                  : grid_value(rng);
    if (std::uniform_real_distribution<double>(0, 1)(rng) < spec.p_categorical) {
      const uint32_t size = 1 + static_cast<uint32_t>(rng() % 40);
      t.is_categorical[id] = 1;
      t.cat_offset[id] = static_cast<uint32_t>(n_bits);
      t.cat_size[id] = size;
      for (uint32_t b = 0; b < size; ++b, ++n_bits) {
        if (ens.category_bits.size() * 32 <= n_bits) ens.category_bits.push_back(0);
        if (rng() % 2) ens.category_bits[n_bits / 32] |= 1u << (n_bits % 32);
      }
    }
    const int32_t l = node(t, depth + 1);
    const int32_t r = node(t, depth + 1);
    t.left[id] = l;
    t.right[id] = r;
    return id;
  }
};

inline Model random_trees(const TreeSpec& spec, std::mt19937_64& rng) {
  Model model;
  model.task = spec.task;
  numeric_signature(model, spec.n_features);
  const size_t n_margins = spec.task == Task::kMulticlass ? spec.n_classes : 1;
  model.output_transform = transform_for(spec.task, rng);
  TreeEnsemble ens;
  ens.comparison = spec.less_equal ? Comparison::kLessEqual : Comparison::kLess;
  ens.category_in_set_goes_left = rng() % 2 == 0;
  ens.average = spec.average;
  ens.leaf_width = spec.multi_output_leaves ? static_cast<uint32_t>(n_margins) : 1;
  for (size_t o = 0; o < n_margins; ++o) ens.base_score.push_back(static_cast<double>(rng() % 1000) / 1000.0 - 0.5);
  const size_t n_trees = std::max(spec.n_trees, n_margins);
  TreeBuilder b{spec, rng, ens, ens.leaf_width};
  for (size_t t = 0; t < n_trees; ++t) {
    Tree tree;
    b.node(tree, 0);
    ens.trees.push_back(std::move(tree));
    if (ens.leaf_width == 1 && n_margins > 1) ens.tree_output.push_back(static_cast<int32_t>(t % n_margins));
  }
  model.body = std::move(ens);
  return model;
}

// Row-major rows: NaNs, exact grid values, small integers (category codes, in and out of range),
// non-integers, infinities and ordinary values.
inline std::vector<float> random_inputs(size_t n_features, size_t n_rows, std::mt19937_64& rng,
                                        bool infinities = true) {
  std::vector<float> x(n_features * n_rows);
  std::uniform_real_distribution<float> uniform(-3.0f, 3.0f);
  for (float& v : x) {
    const int kind = static_cast<int>(rng() % 100);
    if (kind < 10) {
      v = std::numeric_limits<float>::quiet_NaN();
    } else if (kind < 40) {
      v = grid_value(rng);
    } else if (kind < 60) {
      v = static_cast<float>(static_cast<int>(rng() % 48) - 3);
    } else if (kind < 64) {
      v = static_cast<float>(rng() % 40) + 0.5f;
    } else if (kind < 66 && infinities) {
      v = rng() % 2 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
    } else {
      v = uniform(rng);
    }
  }
  return x;
}

inline std::vector<float> random_weights(size_t n, double scale, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0.0, scale);
  std::vector<float> w(n);
  for (float& v : w) v = static_cast<float>(normal(rng));
  return w;
}

inline Model random_linear(Task task, size_t n_features, size_t n_classes, std::mt19937_64& rng) {
  Model model;
  model.task = task;
  numeric_signature(model, n_features);
  model.output_transform = transform_for(task, rng);
  const size_t n_margins = task == Task::kMulticlass ? n_classes : 1;
  LinearModel linear;
  linear.weights = random_weights(n_margins * n_features, 0.3, rng);
  linear.bias = random_weights(n_margins, 0.5, rng);
  model.body = std::move(linear);
  return model;
}

inline Model random_mlp(Task task, size_t n_features, size_t n_classes, Activation hidden, std::mt19937_64& rng) {
  Model model;
  model.task = task;
  numeric_signature(model, n_features);
  model.output_transform = transform_for(task, rng);
  const size_t n_margins = task == Task::kMulticlass ? n_classes : 1;
  Mlp mlp;
  std::vector<uint32_t> widths{static_cast<uint32_t>(n_features), 1 + static_cast<uint32_t>(rng() % 40),
                               1 + static_cast<uint32_t>(rng() % 40), static_cast<uint32_t>(n_margins)};
  for (size_t l = 0; l + 1 < widths.size(); ++l) {
    DenseLayer layer;
    layer.in = widths[l];
    layer.out = widths[l + 1];
    layer.weights = random_weights(size_t{layer.in} * layer.out, 1.0 / std::sqrt(static_cast<double>(layer.in)), rng);
    layer.bias = random_weights(layer.out, 0.1, rng);
    layer.activation = l + 2 < widths.size() ? hidden : Activation::kIdentity;
    mlp.layers.push_back(std::move(layer));
  }
  model.body = std::move(mlp);
  return model;
}

// One split on feature 0: left leaf 1.0, right leaf 2.0; regression, identity, base score 0.
inline Model stump(float threshold, bool default_left, Comparison comparison) {
  Model model;
  numeric_signature(model, 1);
  TreeEnsemble ens;
  ens.comparison = comparison;
  ens.base_score = {0.0};
  Tree t;
  t.left = {1, -1, -1};
  t.right = {2, -1, -1};
  t.feature = {0, 0, 0};
  t.threshold = {threshold, 0.0f, 0.0f};
  t.default_left = {static_cast<uint8_t>(default_left), 0, 0};
  t.leaf_values = {0.0f, 1.0f, 2.0f};
  ens.trees.push_back(std::move(t));
  model.body = std::move(ens);
  return model;
}

}  // namespace slipway::model::testing_models
